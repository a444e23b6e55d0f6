//! The OpenAI-compatible side of tool calling: `tools` in the request,
//! `tool_calls` deltas assembled across SSE chunks by `index` (the first
//! carries `id` and `function.name`, the rest append `function.arguments`),
//! and `tool` messages answering by `tool_call_id`.
//! <https://platform.openai.com/docs/guides/function-calling>

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Value, json};

use super::{Tool, ToolCall, ToolTurn, parse_arguments};

/// A call, or (streamed) a piece of one: the first delta of index N carries
/// `id` and `function.name`, later ones append to `function.arguments`.
#[derive(Debug, Default, Deserialize)]
pub struct CallPiece {
    #[serde(default)]
    index: Option<usize>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    function: Option<FunctionPiece>,
}

#[derive(Debug, Default, Deserialize)]
struct FunctionPiece {
    #[serde(default)]
    name: Option<String>,
    /// A string of JSON text per the API; a few servers send an object.
    #[serde(default)]
    arguments: Option<Value>,
}

/// Calls being assembled from deltas, by index.
#[derive(Debug, Default)]
pub struct Calls {
    by_index: BTreeMap<usize, Partial>,
    last: Option<usize>,
}

#[derive(Debug, Default)]
struct Partial {
    id: String,
    name: String,
    arguments: String,
}

impl Calls {
    pub fn push(&mut self, piece: CallPiece) {
        // No index (some servers): a new id starts a new call.
        let next = match (&piece.id, self.last) {
            (None, Some(last)) => last,
            _ => self.by_index.len(),
        };
        let index = piece.index.unwrap_or(next);
        self.last = Some(index);
        let p = self.by_index.entry(index).or_default();
        if let Some(id) = piece.id.filter(|id| !id.is_empty()) {
            p.id = id;
        }
        let Some(f) = piece.function else { return };
        if let Some(name) = f.name {
            p.name.push_str(&name);
        }
        match f.arguments {
            Some(Value::String(more)) => p.arguments.push_str(&more),
            Some(Value::Null) | None => {}
            Some(whole) => p.arguments = whole.to_string(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.by_index.is_empty()
    }

    pub fn finish(&self) -> Vec<ToolCall> {
        self.by_index
            .iter()
            .map(|(i, p)| ToolCall {
                id: if p.id.is_empty() {
                    format!("call_{i}")
                } else {
                    p.id.clone()
                },
                name: p.name.clone(),
                arguments: parse_arguments(&p.arguments),
            })
            .collect()
    }
}

/// `{"type": "function", "function": {name, description, parameters}}`.
pub fn tool_json(t: &Tool) -> Value {
    json!({"type": "function", "function": {
        "name": t.name, "description": t.description, "parameters": t.parameters}})
}

/// One round: the assistant message with its `tool_calls` (arguments as the
/// model wrote them), then one `tool` message per result, by `tool_call_id`.
pub fn turn_json(turn: &ToolTurn) -> impl Iterator<Item = Value> + '_ {
    let calls: Vec<Value> = turn
        .calls
        .iter()
        .map(|c| {
            json!({"id": c.id, "type": "function",
                   "function": {"name": c.name, "arguments": c.arguments_text()}})
        })
        .collect();
    let content = (!turn.text.is_empty()).then_some(turn.text.as_str());
    let assistant = json!({"role": "assistant", "content": content, "tool_calls": calls});
    std::iter::once(assistant).chain(
        turn.results
            .iter()
            .map(|r| json!({"role": "tool", "tool_call_id": r.call_id, "content": r.text()})),
    )
}
