//! A name is unique per host: the table of what a daemon does with a name
//! another daemon on its host holds, fed back plan after plan as the
//! supervisor does (marks and `waiting` of one plan are the next `actual`).

use super::*;
use crate::plan::Holder;

fn holder(pid: u32) -> Holder {
    Holder {
        pid,
        dir: PathBuf::from(format!("/teams/{pid}/specialists.d")),
    }
}

/// The next `actual` after `p` was applied to `before`.
fn after(p: &Plan, mut before: Actual) -> Actual {
    before.marks = p.config_errors.clone();
    before.waiting = p.waiting.clone();
    before
}

#[test]
fn a_held_name_runs_nothing_and_names_the_holder_until_it_leaves() {
    let s = spec("s");
    let files = loaded(std::slice::from_ref(&s), &[]);
    let mut actual = Actual::default();
    actual.held.insert(name("s"), holder(4242));

    let p = super::super::plan(&files, &actual, &Operator::default());
    assert!(show(&p.actions).is_empty(), "{:?}", show(&p.actions));
    assert_eq!(
        p.config_errors.of_specialist(&name("s")),
        Some("name held by daemon 4242 (/teams/4242/specialists.d)")
    );
    assert_eq!(p.waiting.get(&name("s")), Some(&holder(4242)));
    assert!(
        p.notices.iter().any(|n| matches!(n,
            Notice::ConfigError { effect: Effect::NotStarted, message, .. }
                if message.contains("4242"))),
        "{:?}",
        p.notices
    );

    // Still held: nothing new to say.
    let actual = after(&p, actual);
    let again = super::super::plan(&files, &actual, &Operator::default());
    assert!(again.notices.is_empty(), "{:?}", again.notices);
    assert!(again.actions.is_empty());

    // The holder left: a takeover, the mark gone.
    let mut actual = after(&again, actual);
    actual.held.clear();
    let p = super::super::plan(&files, &actual, &Operator::default());
    assert_eq!(show(&p.actions), ["start s"]);
    assert_eq!(p.actions[0].cause, Cause::Takeover);
    assert!(p.config_errors.is_empty() && p.waiting.is_empty());
}

#[test]
fn a_name_we_serve_that_another_daemon_holds_is_stopped() {
    let s = spec("s");
    let files = loaded(std::slice::from_ref(&s), &[]);
    let mut actual = Actual::default();
    actual.specialists.insert(
        name("s"),
        instance(&Arc::new(s.clone()), 45001, Phase::Serving),
    );
    actual.held.insert(name("s"), holder(7));
    let p = super::super::plan(&files, &actual, &Operator::default());
    assert_eq!(show(&p.actions), ["stop s"]);
    assert_eq!(p.actions[0].cause, Cause::Held);
    assert_eq!(
        p.config_errors.of_specialist(&name("s")),
        Some("name held by daemon 7 (/teams/7/specialists.d)")
    );
}

#[test]
fn held_names_leave_disabled_stopped_and_other_names_alone() {
    let (a, b, mut off) = (spec("a"), spec("b"), spec("off"));
    off.enabled = false;
    let files = loaded(&[a, b, off], &[]);
    let mut actual = Actual::default();
    actual.held.insert(name("a"), holder(1));
    actual.held.insert(name("off"), holder(1));
    actual.held.insert(name("gone"), holder(1));
    let p = super::super::plan(&files, &actual, &Operator::default());
    // b starts as a new file; a is held; `off` is disabled (no mark); `gone` is not ours.
    assert_eq!(show(&p.actions), ["start b"]);
    assert_eq!(p.actions[0].cause, Cause::NewFile);
    assert_eq!(
        p.waiting.keys().map(|n| n.as_str()).collect::<Vec<_>>(),
        ["a"]
    );
    assert!(p.config_errors.of_specialist(&name("off")).is_none());
    assert!(p.config_errors.of_specialist(&name("gone")).is_none());
}

#[test]
fn a_broken_cadre_toml_keeps_what_waits_waiting() {
    let s = spec("s");
    let mut files = loaded(std::slice::from_ref(&s), &[]);
    files.project_ok = false;
    let mut actual = Actual::default();
    actual.waiting.insert(name("s"), holder(9));
    let p = super::super::plan(&files, &actual, &Operator::default());
    assert_eq!(p.waiting.get(&name("s")), Some(&holder(9)));
    assert!(p.actions.is_empty());
}
