//! Ollama's side of tool calling: `tools` in the request, whole calls in
//! `message.tool_calls` (streamed or not), `tool` messages naming the tool.
//! <https://github.com/ollama/ollama/blob/main/docs/capabilities/tool-calling.mdx>

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{ToolCall, ToolTurn, parse_arguments};

/// `{"id": "call_…", "function": {"index": 0, "name": "…", "arguments": {…}}}`;
/// servers before 0.12 send no `id` and no `index`.
#[derive(Debug, Default, Deserialize)]
pub struct WireCall {
    #[serde(default)]
    id: Option<String>,
    function: WireFunction,
}

#[derive(Debug, Default, Deserialize)]
struct WireFunction {
    #[serde(default)]
    name: String,
    #[serde(default)]
    arguments: Value,
}

/// Calls in arrival order; one without an id gets `call_N` (N its position
/// in this answer), so a result can still name the call it answers.
pub fn gather(into: &mut Vec<ToolCall>, calls: Vec<WireCall>) {
    for c in calls {
        let id =
            c.id.filter(|id| !id.is_empty())
                .unwrap_or_else(|| format!("call_{}", into.len()));
        let arguments = match c.function.arguments {
            Value::Null => Value::Object(Map::new()),
            Value::String(raw) => parse_arguments(&raw),
            v => v,
        };
        into.push(ToolCall {
            id,
            name: c.function.name,
            arguments,
        });
    }
}

/// Ollama offers tools in OpenAI's shape.
pub use super::openai::tool_json;

/// One round as Ollama's history holds it (docs/capabilities/tool-calling).
pub fn turn_json(turn: &ToolTurn) -> impl Iterator<Item = Value> + '_ {
    let calls: Vec<Value> = turn
        .calls
        .iter()
        .enumerate()
        .map(|(i, c)| {
            json!({"id": c.id, "function": {
                "index": i, "name": c.name, "arguments": c.arguments_object()}})
        })
        .collect();
    let assistant = json!({"role": "assistant", "content": turn.text, "tool_calls": calls});
    std::iter::once(assistant).chain(turn.results.iter().map(|r| {
        json!({"role": "tool", "content": r.text(), "tool_name": r.name, "tool_call_id": r.call_id})
    }))
}
