//! The MCP tools: `list_specialists`, `ask` and `ask_team`, with JSON
//! Schemas for their input and output. A tool that fails (bad arguments, an unknown
//! specialist, a provider error) answers a result with `isError: true` and a
//! text saying what to do, never a protocol error: the model reading it can
//! correct itself.

use std::sync::Arc;

use futures::StreamExt;
use futures::stream::BoxStream;
use serde_json::{Map, Value, json};

use crate::agent::{self, AgentError, AgentId, Backend, ChatEvent, Turn};
use crate::provider::{Message, Role};

/// The tools' definitions for `tools/list`.
pub fn definitions() -> Value {
    let agent_item = json!({"type": "object", "properties": {
        "name": {"type": "string"}, "title": {"type": "string"}, "description": {"type": "string"},
        "role": {"type": "string"}, "expertise": {"type": "array", "items": {"type": "string"}},
        "focus": {"type": "array", "items": {"type": "string"}}, "model": {"type": "string"},
        "state": {"type": "string"}, "generation": {"type": "string"}, "serving": {"type": "boolean"}},
        "required": ["name", "state", "serving"]});
    json!([
        {
            "name": "list_specialists",
            "title": "List specialists",
            "description": "The team's specialists: name, title, role, expertise, focus, model and \
                whether each is serving now. Use a name with `ask`.",
            "inputSchema": {"type": "object", "properties": {}, "additionalProperties": false},
            "outputSchema": {"type": "object", "properties": {
                "specialists": {"type": "array", "items": agent_item}}, "required": ["specialists"]},
            "annotations": {"readOnlyHint": true, "openWorldHint": false},
        },
        {
            "name": "ask",
            "title": "Ask a specialist",
            "description": "Ask one specialist a question; it answers in its own personality. \
                Pass earlier turns of the conversation as `history` to continue one.",
            "inputSchema": {"type": "object", "properties": {
                "specialist": {"type": "string", "description": "a name from list_specialists"},
                "question": {"type": "string", "minLength": 1},
                "history": {"type": "array", "description": "earlier turns, oldest first",
                    "items": {"type": "object", "properties": {
                        "role": {"type": "string", "enum": ["user", "assistant"]},
                        "content": {"type": "string"}},
                        "required": ["role", "content"], "additionalProperties": false}}},
                "required": ["specialist", "question"], "additionalProperties": false},
            "outputSchema": {"type": "object", "properties": {
                "specialist": {"type": "string"}, "answer": {"type": "string"},
                "model": {"type": "string"}}, "required": ["specialist", "answer", "model"]},
            "annotations": {"readOnlyHint": true, "openWorldHint": true},
        },
        {
            "name": "ask_team",
            "title": "Ask a team",
            "description": "Ask a team of specialists (teams.d) a question: its members answer, \
                in rounds when it discusses, and its moderator writes the team's answer. \
                Progress is reported per round and per answer; the teams are listed in the \
                cadre://roster resource and by `cadre teams`.",
            "inputSchema": {"type": "object", "properties": {
                "team": {"type": "string", "description": "a team's name, e.g. council"},
                "question": {"type": "string", "minLength": 1}},
                "required": ["team", "question"], "additionalProperties": false},
            "outputSchema": {"type": "object", "properties": {
                "team": {"type": "string"}, "answer": {"type": "string"},
                "model": {"type": "string"}}, "required": ["team", "answer", "model"]},
            "annotations": {"readOnlyHint": true, "openWorldHint": true},
        },
    ])
}

/// A tool result with `isError: true`.
pub fn tool_error(text: impl Into<String>) -> Value {
    json!({"content": [{"type": "text", "text": text.into()}], "isError": true})
}

fn structured(data: Value, text: String) -> Value {
    json!({"content": [{"type": "text", "text": text}], "structuredContent": data, "isError": false})
}

/// What a tool call yields: progress while it runs, then its result.
pub enum Step {
    Progress { done: u64, message: String },
    Result(Value),
}

/// Run tool `name`; `None` if there is no such tool (a protocol error).
pub async fn call(
    backend: &Arc<dyn Backend>,
    name: &str,
    args: &Map<String, Value>,
) -> Option<BoxStream<'static, Step>> {
    let once = |v: Value| futures::stream::once(async move { Step::Result(v) }).boxed();
    match name {
        "list_specialists" => Some(once(match backend.agents().await {
            Ok(all) => {
                let data = json!({"specialists": all});
                let text = serde_json::to_string_pretty(&data).unwrap_or_default();
                structured(data, text)
            }
            Err(e) => tool_error(e.to_string()),
        })),
        "ask" => Some(match ask_args(args) {
            Ok((id, turn)) => ask(backend.clone(), id, turn).await,
            Err(e) => once(tool_error(e)),
        }),
        "ask_team" => Some(match team_args(args) {
            Ok((id, turn)) => ask(backend.clone(), id, turn).await,
            Err(e) => once(tool_error(e)),
        }),
        _ => None,
    }
}

fn ask_args(args: &Map<String, Value>) -> Result<(AgentId, Turn), String> {
    let text = |k: &str| args.get(k).and_then(Value::as_str).map(str::to_owned);
    let name = text("specialist")
        .ok_or("`specialist` (a name from list_specialists) is required and must be a string")?;
    let question = text("question")
        .filter(|q| !q.trim().is_empty())
        .ok_or("`question` is required and must be a non-empty string")?;
    let history = match args.get("history") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(turns)) => turns
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let role = match t.get("role").and_then(Value::as_str) {
                    Some("user") => Role::User,
                    Some("assistant") => Role::Assistant,
                    _ => {
                        return Err(format!(
                            "`history[{i}].role` must be \"user\" or \"assistant\""
                        ));
                    }
                };
                let content = t
                    .get("content")
                    .and_then(Value::as_str)
                    .ok_or(format!("`history[{i}].content` must be a string"))?;
                Ok(Message {
                    role,
                    content: content.to_owned(),
                })
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err("`history` must be an array of {role, content}".into()),
    };
    Ok((
        AgentId::Specialist(name),
        Turn {
            content: question,
            history,
        },
    ))
}

fn team_args(args: &Map<String, Value>) -> Result<(AgentId, Turn), String> {
    let text = |k: &str| args.get(k).and_then(Value::as_str).map(str::to_owned);
    let name = text("team").ok_or("`team` (a team's name) is required and must be a string")?;
    let question = text("question")
        .filter(|q| !q.trim().is_empty())
        .ok_or("`question` is required and must be a non-empty string")?;
    let turn = Turn {
        content: question,
        history: Vec::new(),
    };
    Ok((AgentId::Team(name), turn))
}

fn unknown(e: &AgentError, id: &AgentId) -> String {
    let name = id.name();
    match e {
        AgentError::NotFound(_) if id.is_team() => {
            format!("there is no team named {name:?}; the cadre://roster resource lists the teams")
        }
        AgentError::NotFound(_) => {
            format!("there is no specialist named {name:?}; call list_specialists for the names")
        }
        other => format!("{name} cannot answer now: {other}"),
    }
}

async fn ask(backend: Arc<dyn Backend>, id: AgentId, turn: Turn) -> BoxStream<'static, Step> {
    let once = |v: Value| futures::stream::once(async move { Step::Result(v) }).boxed();
    let name = id.name().to_owned();
    let key = if id.is_team() { "team" } else { "specialist" };
    if let Err(e) = agent::find(backend.as_ref(), &id).await {
        return once(tool_error(unknown(&e, &id)));
    }
    let chat = match backend.chat(&id, turn).await {
        Ok(c) => c,
        Err(e) => return once(tool_error(unknown(&e, &id))),
    };
    let mut n = 0u64;
    chat.map(move |ev| match ev {
        ChatEvent::Chunk(text) | ChatEvent::Progress(text) => {
            n += 1;
            Step::Progress {
                done: n,
                message: text,
            }
        }
        ChatEvent::Done { content, model } => Step::Result(structured(
            json!({key: name, "answer": content, "model": model}),
            content,
        )),
        ChatEvent::Failed { code, message } => Step::Result(tool_error(format!(
            "{name} failed ({}): {message}",
            code.as_str()
        ))),
    })
    .boxed()
}
