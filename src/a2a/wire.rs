//! The A2A data model cadre uses (text messages, one answer artifact) and its
//! two JSON spellings: v1.0 (ProtoJSON: `TASK_STATE_COMPLETED`, `ROLE_AGENT`,
//! `{"text": …}` parts, results wrapped as `{"task": …}` / `{"statusUpdate": …}`)
//! and v0.3 (`kind` discriminators, `completed`, `agent`, `final` on status
//! updates, results unwrapped). Input is read leniently in either spelling;
//! output follows the request's [`Version`].

use serde_json::{Map, Value, json};

use super::{A2aError, Version};

/// A task's lifecycle state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskState {
    Submitted,
    Working,
    Completed,
    Failed,
    Canceled,
    Rejected,
    InputRequired,
    AuthRequired,
}

const STATES: [(TaskState, &str, &str); 8] = [
    (TaskState::Submitted, "TASK_STATE_SUBMITTED", "submitted"),
    (TaskState::Working, "TASK_STATE_WORKING", "working"),
    (TaskState::Completed, "TASK_STATE_COMPLETED", "completed"),
    (TaskState::Failed, "TASK_STATE_FAILED", "failed"),
    (TaskState::Canceled, "TASK_STATE_CANCELED", "canceled"),
    (TaskState::Rejected, "TASK_STATE_REJECTED", "rejected"),
    (
        TaskState::InputRequired,
        "TASK_STATE_INPUT_REQUIRED",
        "input-required",
    ),
    (
        TaskState::AuthRequired,
        "TASK_STATE_AUTH_REQUIRED",
        "auth-required",
    ),
];

impl TaskState {
    pub fn as_str(self, v: Version) -> &'static str {
        let (_, v1, v03) = STATES[STATES.iter().position(|s| s.0 == self).unwrap_or(0)];
        match v {
            Version::V1_0 => v1,
            Version::V0_3 => v03,
        }
    }

    /// Either spelling.
    pub fn parse(s: &str) -> Option<TaskState> {
        STATES
            .iter()
            .find(|(_, v1, v03)| *v1 == s || *v03 == s)
            .map(|s| s.0)
    }

    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            TaskState::Completed | TaskState::Failed | TaskState::Canceled | TaskState::Rejected
        )
    }
}

/// Who sent a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    User,
    Agent,
}

/// A message with text parts (the only kind cadre's agents take or give).
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub id: String,
    pub context_id: Option<String>,
    pub task_id: Option<String>,
    pub role: Role,
    pub parts: Vec<String>,
    pub metadata: Option<Value>,
}

impl Message {
    pub fn agent(text: String, metadata: Option<Value>) -> Message {
        Message {
            id: new_id(),
            context_id: None,
            task_id: None,
            role: Role::Agent,
            parts: vec![text],
            metadata,
        }
    }

    /// The parts joined, as one chat message.
    pub fn text(&self) -> String {
        self.parts.join("\n")
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    pub state: TaskState,
    pub message: Option<Message>,
    pub timestamp: String,
}

impl Status {
    pub fn now(state: TaskState, message: Option<Message>) -> Status {
        Status {
            state,
            message,
            timestamp: timestamp(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Artifact {
    pub id: String,
    pub name: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    pub id: String,
    pub context_id: String,
    pub status: Status,
    pub artifacts: Vec<Artifact>,
    pub history: Vec<Message>,
}

/// A streaming update of one task.
#[derive(Debug, Clone, PartialEq)]
pub enum Update {
    Status(Status),
    Chunk {
        artifact: Artifact,
        append: bool,
        last: bool,
    },
}

/// A fresh random identifier (UUID v4 layout).
pub fn new_id() -> String {
    let b: u128 = rand::random::<u128>() & !(0xf << 76) & !(0x3 << 62) | (0x4 << 76) | (0x2 << 62);
    let h = format!("{b:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Now as ISO 8601 UTC with milliseconds (A2A §5.6.1).
pub fn timestamp() -> String {
    let fmt = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    time::OffsetDateTime::now_utc()
        .format(&fmt)
        .unwrap_or_default()
}

// ------------------------------------------------------------------ input

fn field<'a>(m: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    m.get(name).filter(|v| !v.is_null())
}

/// An optional string field; another type is invalid params naming `path`.
pub fn opt_str(m: &Map<String, Value>, name: &str, path: &str) -> Result<Option<String>, A2aError> {
    match field(m, name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(A2aError::InvalidParams(format!(
            "`{path}` must be a string, not {}",
            crate::jsonrpc::kind(other)
        ))),
    }
}

/// The `message` of SendMessage params, in either spelling.
pub fn parse_message(params: &Map<String, Value>) -> Result<Message, A2aError> {
    let m = match field(params, "message") {
        Some(Value::Object(m)) => m,
        Some(other) => {
            return Err(A2aError::InvalidParams(format!(
                "`message` must be an object, not {}",
                crate::jsonrpc::kind(other)
            )));
        }
        None => return Err(A2aError::InvalidParams("`message` is required".into())),
    };
    let id = opt_str(m, "messageId", "message.messageId")?
        .filter(|s| !s.is_empty())
        .ok_or_else(|| A2aError::InvalidParams("`message.messageId` is required".into()))?;
    match opt_str(m, "role", "message.role")?.as_deref() {
        Some("ROLE_USER" | "user") => {}
        Some(other) => {
            return Err(A2aError::InvalidParams(format!(
                "`message.role` must be ROLE_USER (the client's side), not {other:?}"
            )));
        }
        None => return Err(A2aError::InvalidParams("`message.role` is required".into())),
    }
    let parts = match field(m, "parts") {
        Some(Value::Array(p)) if !p.is_empty() => p,
        Some(Value::Array(_)) | None => {
            return Err(A2aError::InvalidParams(
                "`message.parts` needs at least one part".into(),
            ));
        }
        Some(other) => {
            return Err(A2aError::InvalidParams(format!(
                "`message.parts` must be an array, not {}",
                crate::jsonrpc::kind(other)
            )));
        }
    };
    let parts = parts
        .iter()
        .enumerate()
        .map(|(i, p)| part_text(i, p))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Message {
        id,
        context_id: opt_str(m, "contextId", "message.contextId")?.filter(|s| !s.is_empty()),
        task_id: opt_str(m, "taskId", "message.taskId")?.filter(|s| !s.is_empty()),
        role: Role::User,
        parts,
        metadata: field(m, "metadata").cloned(),
    })
}

fn part_text(i: usize, p: &Value) -> Result<String, A2aError> {
    let Value::Object(p) = p else {
        return Err(A2aError::InvalidParams(format!(
            "`message.parts[{i}]` must be an object"
        )));
    };
    if let Some(t) = opt_str(p, "text", &format!("message.parts[{i}].text"))? {
        return Ok(t);
    }
    let what = ["raw", "url", "data", "file"]
        .into_iter()
        .find(|k| p.contains_key(*k))
        .or_else(|| p.get("kind").and_then(Value::as_str))
        .unwrap_or("empty");
    Err(A2aError::ContentType(format!(
        "`message.parts[{i}]` is a {what} part; this agent takes text parts only (text/plain)"
    )))
}

// ----------------------------------------------------------------- output

fn role_str(r: Role, v: Version) -> &'static str {
    match (r, v) {
        (Role::User, Version::V1_0) => "ROLE_USER",
        (Role::Agent, Version::V1_0) => "ROLE_AGENT",
        (Role::User, Version::V0_3) => "user",
        (Role::Agent, Version::V0_3) => "agent",
    }
}

fn parts_json(parts: &[String], v: Version) -> Value {
    parts
        .iter()
        .map(|t| match v {
            Version::V1_0 => json!({"text": t}),
            Version::V0_3 => json!({"kind": "text", "text": t}),
        })
        .collect()
}

pub fn message_json(m: &Message, v: Version) -> Value {
    let mut o = json!({
        "messageId": m.id,
        "role": role_str(m.role, v),
        "parts": parts_json(&m.parts, v),
    });
    if let Some(c) = &m.context_id {
        o["contextId"] = json!(c);
    }
    if let Some(t) = &m.task_id {
        o["taskId"] = json!(t);
    }
    if let Some(md) = &m.metadata {
        o["metadata"] = md.clone();
    }
    if v == Version::V0_3 {
        o["kind"] = json!("message");
    }
    o
}

pub fn status_json(s: &Status, v: Version) -> Value {
    let mut o = json!({"state": s.state.as_str(v), "timestamp": s.timestamp});
    if let Some(m) = &s.message {
        o["message"] = message_json(m, v);
    }
    o
}

pub fn artifact_json(a: &Artifact, v: Version) -> Value {
    json!({"artifactId": a.id, "name": a.name, "parts": parts_json(std::slice::from_ref(&a.text), v)})
}

/// What GetTask and friends return. `history`: at most this many recent
/// messages (`Some(0)` omits the field); `artifacts`: whether to include them.
pub fn task_json(t: &Task, v: Version, history: Option<usize>, artifacts: bool) -> Value {
    let mut o = json!({"id": t.id, "contextId": t.context_id, "status": status_json(&t.status, v)});
    if artifacts {
        o["artifacts"] = t.artifacts.iter().map(|a| artifact_json(a, v)).collect();
    }
    let keep = history.unwrap_or(usize::MAX).min(t.history.len());
    if keep > 0 {
        let h = &t.history[t.history.len() - keep..];
        o["history"] = h.iter().map(|m| message_json(m, v)).collect();
    }
    if v == Version::V0_3 {
        o["kind"] = json!("task");
    }
    o
}

/// A SendMessage result or the first event of a stream: the task, wrapped in v1.0.
pub fn task_result(t: &Task, v: Version, history: Option<usize>) -> Value {
    let task = task_json(t, v, history, true);
    match v {
        Version::V1_0 => json!({"task": task}),
        Version::V0_3 => task,
    }
}

/// One stream event after the first.
pub fn update_result(task_id: &str, context_id: &str, u: &Update, v: Version) -> Value {
    let (key, mut o) = match u {
        Update::Status(s) => {
            let mut o =
                json!({"taskId": task_id, "contextId": context_id, "status": status_json(s, v)});
            if v == Version::V0_3 {
                o["kind"] = json!("status-update");
                o["final"] = json!(s.state.is_terminal());
            }
            ("statusUpdate", o)
        }
        Update::Chunk {
            artifact,
            append,
            last,
        } => {
            let mut o = json!({"taskId": task_id, "contextId": context_id,
                "artifact": artifact_json(artifact, v), "append": append, "lastChunk": last});
            if v == Version::V0_3 {
                o["kind"] = json!("artifact-update");
            }
            ("artifactUpdate", o)
        }
    };
    match v {
        Version::V1_0 => json!({ key: o.take() }),
        Version::V0_3 => o,
    }
}

#[cfg(test)]
#[path = "wire_tests.rs"]
mod tests;
