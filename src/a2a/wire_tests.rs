//! Unit tests of [`super`].
use super::*;

fn params(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

#[test]
fn messages_parse_in_either_spelling() {
    let v1 = parse_message(&params(
        json!({"message": {"messageId": "m", "role": "ROLE_USER",
        "parts": [{"text": "a"}, {"text": "b"}], "contextId": "c"}}),
    ))
    .unwrap();
    assert_eq!(v1.text(), "a\nb");
    assert_eq!(v1.context_id.as_deref(), Some("c"));
    let v03 = parse_message(&params(
        json!({"message": {"kind": "message", "messageId": "m",
        "role": "user", "parts": [{"kind": "text", "text": "a"}]}}),
    ))
    .unwrap();
    assert_eq!(v03.text(), "a");
}

#[test]
fn bad_messages_name_the_field() {
    let e = |v: Value| parse_message(&params(v)).unwrap_err();
    assert!(matches!(e(json!({})), A2aError::InvalidParams(m) if m.contains("`message`")));
    assert!(
        matches!(e(json!({"message": {"messageId": 5, "role": "user", "parts": []}})),
        A2aError::InvalidParams(m) if m.contains("messageId"))
    );
    assert!(
        matches!(e(json!({"message": {"messageId": "m", "role": "ROLE_AGENT", "parts": [{"text": "a"}]}})),
        A2aError::InvalidParams(m) if m.contains("role"))
    );
    assert!(
        matches!(e(json!({"message": {"messageId": "m", "role": "user", "parts": "x"}})),
        A2aError::InvalidParams(m) if m.contains("parts"))
    );
    assert!(matches!(
        e(json!({"message": {"messageId": "m", "role": "user", "parts": [{"url": "http://x"}]}})),
        A2aError::ContentType(_)
    ));
}

#[test]
fn tasks_render_in_each_version() {
    let t = Task {
        id: "t".into(),
        context_id: "c".into(),
        status: Status::now(TaskState::Completed, None),
        artifacts: vec![Artifact {
            id: "a".into(),
            name: "answer".into(),
            text: "hi".into(),
        }],
        history: vec![],
    };
    let v1 = task_result(&t, Version::V1_0, None);
    assert_eq!(v1["task"]["status"]["state"], "TASK_STATE_COMPLETED");
    assert_eq!(v1["task"]["artifacts"][0]["parts"][0]["text"], "hi");
    let v03 = task_result(&t, Version::V0_3, None);
    assert_eq!(v03["kind"], "task");
    assert_eq!(v03["status"]["state"], "completed");
    assert_eq!(v03["artifacts"][0]["parts"][0]["kind"], "text");
    let s = update_result("t", "c", &Update::Status(t.status.clone()), Version::V0_3);
    assert_eq!(s["final"], true);
    let s = update_result("t", "c", &Update::Status(t.status), Version::V1_0);
    assert_eq!(s["statusUpdate"]["status"]["state"], "TASK_STATE_COMPLETED");
    assert!(TaskState::parse("input-required") == Some(TaskState::InputRequired));
    assert_eq!(new_id().len(), 36);
}
