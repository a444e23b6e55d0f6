//! Native tool calling, in the words all three wire formats share: the tools
//! offered ([`Tool`]), the calls a model made ([`ToolCall`]), cadre's answers
//! ([`ToolResult`]) and the exchanges of one chat so far ([`ToolTurn`]).
//!
//! Each wire module renders these in its own shape (Ollama `tools` and
//! `message.tool_calls`, OpenAI `tools` and `tool_calls` deltas, Anthropic
//! `tools` and `tool_use` / `tool_result` blocks) and assembles streamed calls
//! back into a [`ToolCall`]; nothing here knows a format.

pub(super) mod anthropic;
pub(super) mod ollama;
pub(super) mod openai;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A function the model may call: its name, what it is for, and a JSON
/// Schema of its arguments (an object schema).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    pub description: String,
    pub parameters: Value,
}

/// One call the model made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The provider's id of the call (`call_…`, `toolu_…`); the result names it.
    pub id: String,
    pub name: String,
    /// The arguments: an object when the model wrote valid JSON; otherwise
    /// the raw text as a string, so the caller can refuse it with a reason.
    pub arguments: Value,
}

impl ToolCall {
    /// The arguments as JSON text, exactly as a model wrote them where that
    /// was text (OpenAI sends a string; echoing it back unchanged keeps the
    /// conversation the model saw).
    pub fn arguments_text(&self) -> String {
        match &self.arguments {
            Value::String(raw) => raw.clone(),
            other => other.to_string(),
        }
    }

    /// The arguments as an object, for formats whose history needs one
    /// (Ollama `arguments`, Anthropic `input`); text that was not an object
    /// becomes `{}` (the tool result already told the model why).
    pub fn arguments_object(&self) -> Value {
        match &self.arguments {
            Value::Object(_) => self.arguments.clone(),
            _ => Value::Object(serde_json::Map::new()),
        }
    }
}

/// Arguments as streamed text → a [`ToolCall::arguments`] value. Empty text
/// is an empty object (a call without arguments streams none).
pub fn parse_arguments(raw: &str) -> Value {
    if raw.trim().is_empty() {
        return Value::Object(serde_json::Map::new());
    }
    match serde_json::from_str::<Value>(raw) {
        Ok(v @ Value::Object(_)) => v,
        _ => Value::String(raw.to_owned()),
    }
}

/// cadre's answer to one call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolResult {
    /// The [`ToolCall::id`] it answers.
    pub call_id: String,
    /// The tool's name (Ollama's `tool_name`).
    pub name: String,
    pub content: String,
    /// The call failed or was refused; Anthropic's `is_error`, and a prefix
    /// in the text for formats without such a flag.
    pub is_error: bool,
}

impl ToolResult {
    /// The text a format without an error flag carries.
    pub fn text(&self) -> String {
        if self.is_error {
            format!("error: {}", self.content)
        } else {
            self.content.clone()
        }
    }
}

/// One round of a chat that called tools: what the model said before its
/// calls, the calls, and an answer to each (same order).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ToolTurn {
    pub text: String,
    pub calls: Vec<ToolCall>,
    pub results: Vec<ToolResult>,
}

/// The tool side of a chat request: what is offered, and the rounds so far
/// (rendered after the messages, in order). Empty for an ordinary chat,
/// whose body then carries no tool fields at all.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Tools {
    pub offered: Vec<Tool>,
    pub turns: Vec<ToolTurn>,
}

impl Tools {
    pub fn is_empty(&self) -> bool {
        self.offered.is_empty() && self.turns.is_empty()
    }
}

#[cfg(test)]
mod streams;
#[cfg(test)]
pub(super) mod tests;

#[cfg(test)]
mod unit {
    use super::*;
    use serde_json::json;

    #[test]
    fn arguments_parse_to_objects_or_keep_their_text() {
        assert_eq!(parse_arguments(""), json!({}));
        assert_eq!(parse_arguments(" \n"), json!({}));
        assert_eq!(parse_arguments(r#"{"a":1}"#), json!({"a": 1}));
        assert_eq!(parse_arguments("[1]"), json!("[1]"));
        assert_eq!(parse_arguments(r#"{"a":"#), json!(r#"{"a":"#));
        let call = ToolCall {
            id: "c".into(),
            name: "n".into(),
            arguments: parse_arguments(r#"{"a":"#),
        };
        assert_eq!(call.arguments_text(), r#"{"a":"#);
        assert_eq!(call.arguments_object(), json!({}));
    }

    #[test]
    fn error_results_say_so_in_text() {
        let r = ToolResult {
            call_id: "c".into(),
            name: "ask_colleague".into(),
            content: "penia is not running".into(),
            is_error: true,
        };
        assert_eq!(r.text(), "error: penia is not running");
    }
}
