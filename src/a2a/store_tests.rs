//! Unit tests of [`super`].
use super::*;
use crate::a2a::wire::new_id;

fn task(state: TaskState) -> Task {
    Task {
        id: new_id(),
        context_id: "c".into(),
        status: Status::now(state, None),
        artifacts: vec![],
        history: vec![],
    }
}

fn numa() -> AgentId {
    AgentId::Specialist("numa".into())
}

#[test]
fn a_full_store_drops_the_oldest_finished_task_and_refuses_when_all_run() {
    let s = Store::new(Limits {
        tasks: 2,
        ..Limits::default()
    });
    let old = task(TaskState::Completed);
    s.insert(numa(), old.clone()).unwrap();
    s.insert(numa(), task(TaskState::Working)).unwrap();
    s.insert(numa(), task(TaskState::Working)).unwrap();
    assert_eq!(s.len(), 2);
    assert!(matches!(
        s.get(&numa(), &old.id),
        Err(A2aError::TaskNotFound(_))
    ));
    assert!(matches!(
        s.insert(numa(), task(TaskState::Working)),
        Err(A2aError::Internal(_))
    ));
}

#[test]
fn finished_tasks_and_conversations_expire_after_the_ttl() {
    let s = Store::new(Limits::default());
    let done = task(TaskState::Completed);
    let running = task(TaskState::Working);
    s.insert(numa(), done.clone()).unwrap();
    s.insert(numa(), running.clone()).unwrap();
    s.remember(&numa(), "c", "q", "a");
    s.purge_at(Instant::now() + Duration::from_secs(3601));
    assert!(s.get(&numa(), &done.id).is_err());
    assert!(s.get(&numa(), &running.id).is_ok());
    assert!(s.history(&numa(), "c").is_empty());
}

#[test]
fn tasks_are_private_to_their_agent_and_cancel_once() {
    let s = Store::new(Limits::default());
    let t = task(TaskState::Working);
    let created = s.insert(numa(), t.clone()).unwrap();
    let other = AgentId::Specialist("hermes".into());
    assert!(s.get(&other, &t.id).is_err());
    let c = s.cancel(&numa(), &t.id).unwrap();
    assert_eq!(c.status.state, TaskState::Canceled);
    assert!(created.cancel.is_cancelled());
    assert!(matches!(
        s.cancel(&numa(), &t.id),
        Err(A2aError::TaskNotCancelable { .. })
    ));
    // A completion racing the cancel changes nothing.
    assert!(!s.update(
        &t.id,
        Update::Status(Status::now(TaskState::Completed, None))
    ));
}

#[test]
fn history_keeps_the_newest_turns_within_bounds() {
    let s = Store::new(Limits {
        history_messages: 4,
        history_bytes: 10,
        ..Limits::default()
    });
    for i in 0..5 {
        s.remember(&numa(), "c", &format!("q{i}"), &format!("a{i}"));
    }
    let h = s.history(&numa(), "c");
    assert_eq!(h.len(), 4);
    assert_eq!(h[0].content, "q3");
    assert_eq!(h[3].content, "a4");
    s.remember(&numa(), "c", "a long question", "x");
    assert!(
        s.history(&numa(), "c")
            .iter()
            .map(|m| m.content.len())
            .sum::<usize>()
            <= 10
    );
}
