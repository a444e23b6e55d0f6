//! The socket protocol (DESIGN §5): newline-delimited JSON over TCP.
//!
//! Requests are decoded by hand (not one serde enum) so every kind of bad
//! input maps to its own documented error code:
//! - not UTF-8, or not JSON at all → `bad_json`;
//! - JSON that is not an object (an array, a number, …) → `bad_request`;
//! - an object without a string `type` → `bad_request`; an unknown `type` → `unknown_type`;
//! - a known type with wrong fields (e.g. a chat without `content`) → `bad_request`;
//! - a line longer than [`MAX_LINE`] → `too_large`, and the connection is closed;
//! - a chat over its specialist's `[limits]` → `rate_limited` or `budget_exceeded`,
//!   with `retry_after_ms` (when a retry can succeed); the connection stays open.
//!
//! Unknown extra fields are ignored, so existing clients that send more than
//! cadre reads keep working.
//!
//! A chat of a specialist with `[consult]` may interleave `consult` and
//! `consult_result` lines with its chunks (one pair per colleague asked, its
//! colleagues' own included) before the final `response`, which then lists
//! them in `consulted`. Clients that know only `chunk` and `response` can
//! skip lines of other types.

pub mod codec;
mod info;
mod reply;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::conversation::Message;

pub use codec::{Line, LineReader, write_line};
pub use info::{HealthStatus, Info};
pub use reply::{Consulted, Reply, ReplyBody};

/// Error codes of error replies; the wire names are part of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    BadJson,
    BadRequest,
    UnknownType,
    TooLarge,
    ProviderUnavailable,
    ProviderError,
    Timeout,
    ShuttingDown,
    /// A team's member that is not serving (stopped, failed, starting, gone):
    /// the `error` a round reports for it. Never sent on a specialist's socket.
    NotReady,
    /// A team's moderator answered a routing request with something other
    /// than a JSON list of 1 to 3 of the team's members; the message carries
    /// its text. Never sent on a specialist's socket.
    RoutingFailed,
    /// Over `[limits] requests_per_minute`; the reply carries `retry_after_ms`.
    RateLimited,
    /// Over `[limits] tokens_per_day`; the reply carries `retry_after_ms` (midnight UTC).
    BudgetExceeded,
}

impl ErrorCode {
    /// Every code, in the order of the table above; [`ErrorCode::index`] is a position here.
    pub const ALL: [ErrorCode; 12] = [
        ErrorCode::BadJson,
        ErrorCode::BadRequest,
        ErrorCode::UnknownType,
        ErrorCode::TooLarge,
        ErrorCode::ProviderUnavailable,
        ErrorCode::ProviderError,
        ErrorCode::Timeout,
        ErrorCode::ShuttingDown,
        ErrorCode::NotReady,
        ErrorCode::RoutingFailed,
        ErrorCode::RateLimited,
        ErrorCode::BudgetExceeded,
    ];

    /// Position in [`ErrorCode::ALL`], for tables indexed by code (counters).
    pub fn index(self) -> usize {
        self as usize
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadJson => "bad_json",
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::UnknownType => "unknown_type",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::ProviderUnavailable => "provider_unavailable",
            ErrorCode::ProviderError => "provider_error",
            ErrorCode::Timeout => "timeout",
            ErrorCode::ShuttingDown => "shutting_down",
            ErrorCode::NotReady => "not_ready",
            ErrorCode::RoutingFailed => "routing_failed",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::BudgetExceeded => "budget_exceeded",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Longest accepted request line, newline excluded.
pub const MAX_LINE: usize = 1024 * 1024;

/// One request. `id` is any JSON value the client chose; it is echoed verbatim.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub id: Option<Value>,
    pub body: RequestBody,
}

/// What a request asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum RequestBody {
    Chat(ChatBody),
    Ping,
    Health,
    Info,
}

/// Which kind of request: [`RequestBody`] without its fields (counters, logs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    Chat,
    Ping,
    Health,
    Info,
}

impl RequestBody {
    pub fn kind(&self) -> RequestKind {
        match self {
            RequestBody::Chat(_) => RequestKind::Chat,
            RequestBody::Ping => RequestKind::Ping,
            RequestBody::Health => RequestKind::Health,
            RequestBody::Info => RequestKind::Info,
        }
    }
}

/// The fields of a chat request.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChatBody {
    /// The user's new message (`message` on the wire is accepted as an alias).
    pub content: String,
    /// Earlier turns, oldest first.
    pub history: Vec<Message>,
    /// Send `chunk` lines before the final `response`.
    pub stream: bool,
    /// Overrides the specialist's `params.temperature` for this request.
    pub temperature: Option<f64>,
    /// Overrides the specialist's `params.max_tokens` for this request.
    pub max_tokens: Option<u32>,
    /// Set in process only, never read from the wire: this chat answers a
    /// colleague's question, as part of that consultation.
    pub consultation: Option<crate::consult::Chain>,
}

/// Why a line is not a request; becomes an error reply.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodeError {
    pub code: ErrorCode,
    pub message: String,
    /// The request's `id`, when it could be read, so even errors are correlated.
    pub id: Option<Value>,
}

impl DecodeError {
    fn new(code: ErrorCode, message: impl Into<String>, id: Option<Value>) -> Self {
        DecodeError {
            code,
            message: message.into(),
            id,
        }
    }
}

/// The chat fields as they travel; all optional so a missing one is a clear `bad_request`.
#[derive(Deserialize)]
struct ChatWire {
    #[serde(default, alias = "message")]
    content: Option<String>,
    #[serde(default)]
    history: Option<Vec<Message>>,
    #[serde(default)]
    stream: Option<bool>,
    #[serde(default)]
    temperature: Option<f64>,
    #[serde(default)]
    max_tokens: Option<u32>,
}

/// Decode one line (newline already stripped).
pub fn decode(line: &[u8]) -> Result<Request, DecodeError> {
    let text = std::str::from_utf8(line).map_err(|e| {
        DecodeError::new(
            ErrorCode::BadJson,
            format!("request is not valid UTF-8: {e}"),
            None,
        )
    })?;
    let value: Value = serde_json::from_str(text)
        .map_err(|e| DecodeError::new(ErrorCode::BadJson, format!("invalid JSON: {e}"), None))?;
    let Value::Object(mut obj) = value else {
        return Err(DecodeError::new(
            ErrorCode::BadRequest,
            format!("a request must be a JSON object, got {}", json_kind(&value)),
            None,
        ));
    };
    let id = obj.remove("id").filter(|v| !v.is_null());
    let kind = match obj.remove("type") {
        Some(Value::String(s)) => s,
        Some(other) => {
            return Err(DecodeError::new(
                ErrorCode::BadRequest,
                format!("`type` must be a string, got {}", json_kind(&other)),
                id,
            ));
        }
        None => {
            return Err(DecodeError::new(
                ErrorCode::BadRequest,
                "missing `type` (one of chat, ping, health, info)",
                id,
            ));
        }
    };
    let body = match kind.as_str() {
        "ping" => RequestBody::Ping,
        "health" => RequestBody::Health,
        "info" => RequestBody::Info,
        "chat" => RequestBody::Chat(chat_body(obj, &id)?),
        other => {
            return Err(DecodeError::new(
                ErrorCode::UnknownType,
                format!("unknown request type `{other}` (expected chat, ping, health or info)"),
                id,
            ));
        }
    };
    Ok(Request { id, body })
}

/// A chat request from a JSON object already parsed (an HTTP body): what
/// [`decode`] makes of a `chat` line with these fields, the same checks and
/// errors, without a line to encode and decode again. `stream` is the
/// caller's choice; a `type` field is ignored. Returns the `id` and the chat.
pub fn chat_from_object(
    mut obj: serde_json::Map<String, Value>,
    stream: bool,
) -> Result<(Option<Value>, ChatBody), DecodeError> {
    let id = obj.remove("id").filter(|v| !v.is_null());
    obj.remove("type");
    obj.insert("stream".into(), Value::Bool(stream));
    let body = chat_body(obj, &id)?;
    Ok((id, body))
}

/// The fields of a chat request, each checked.
fn chat_body(
    obj: serde_json::Map<String, Value>,
    id: &Option<Value>,
) -> Result<ChatBody, DecodeError> {
    let bad = |message: String| DecodeError::new(ErrorCode::BadRequest, message, id.clone());
    let wire: ChatWire = serde_json::from_value(Value::Object(obj))
        .map_err(|e| bad(format!("invalid chat request: {e}")))?;
    let content = chat_content(wire.content).map_err(|m| bad(m.into()))?;
    Ok(ChatBody {
        content,
        history: wire.history.unwrap_or_default(),
        stream: wire.stream.unwrap_or(false),
        temperature: wire.temperature,
        max_tokens: wire.max_tokens,
        consultation: None,
    })
}

/// The one rule on a chat's text, whoever sends it: present and not blank.
pub fn chat_content(content: Option<String>) -> Result<String, &'static str> {
    let c = content.ok_or("chat request without `content` (or `message`)")?;
    check_content(&c)?;
    Ok(c)
}

/// [`chat_content`] of a text that is there.
pub fn check_content(content: &str) -> Result<(), &'static str> {
    if content.trim().is_empty() {
        Err("chat `content` is empty")
    } else {
        Ok(())
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl Request {
    pub fn new(body: RequestBody) -> Request {
        Request { id: None, body }
    }

    /// The request as one JSON object (what a client sends, newline not included).
    pub fn to_json(&self) -> Value {
        let mut obj = serde_json::Map::new();
        let kind = match &self.body {
            RequestBody::Chat(c) => {
                obj.insert("content".into(), Value::String(c.content.clone()));
                if !c.history.is_empty() {
                    obj.insert(
                        "history".into(),
                        serde_json::to_value(&c.history).unwrap_or_default(),
                    );
                }
                if c.stream {
                    obj.insert("stream".into(), Value::Bool(true));
                }
                if let Some(t) = c.temperature {
                    obj.insert("temperature".into(), serde_json::json!(t));
                }
                if let Some(m) = c.max_tokens {
                    obj.insert("max_tokens".into(), serde_json::json!(m));
                }
                "chat"
            }
            RequestBody::Ping => "ping",
            RequestBody::Health => "health",
            RequestBody::Info => "info",
        };
        obj.insert("type".into(), Value::String(kind.into()));
        if let Some(id) = &self.id {
            obj.insert("id".into(), id.clone());
        }
        Value::Object(obj)
    }
}

#[cfg(test)]
mod tests;
