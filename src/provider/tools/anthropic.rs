//! Anthropic's side of tool calling: `tools` with `input_schema`, `tool_use`
//! content blocks (streamed as `content_block_start` then `input_json_delta`
//! pieces), and `tool_result` blocks in the next user message.
//! <https://docs.anthropic.com/en/docs/agents-and-tools/tool-use/implement-tool-use>

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::{Tool, ToolCall, ToolTurn, parse_arguments};

/// `tool_use` blocks being streamed, by their content index.
#[derive(Debug, Default)]
pub struct Uses(BTreeMap<usize, PartialUse>);

#[derive(Debug, Default)]
struct PartialUse {
    id: String,
    name: String,
    /// The `input` of `content_block_start` (`{}` in practice); used when no
    /// delta follows.
    start: Option<Value>,
    json: String,
}

impl Uses {
    /// A `content_block_start` of type `tool_use`.
    pub fn start(&mut self, index: Option<usize>, id: String, name: String, input: Option<Value>) {
        let index = index.unwrap_or(self.0.len());
        let u = PartialUse {
            id,
            name,
            start: input,
            json: String::new(),
        };
        self.0.insert(index, u);
    }

    /// An `input_json_delta`; false when block `index` is not a `tool_use`.
    pub fn delta(&mut self, index: usize, partial_json: &str) -> bool {
        match self.0.get_mut(&index) {
            Some(u) => {
                u.json.push_str(partial_json);
                true
            }
            None => false,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Every call, in content order.
    pub fn calls(&self) -> Vec<ToolCall> {
        self.0
            .values()
            .map(|u| {
                let arguments = match (&u.start, u.json.trim().is_empty()) {
                    (Some(v @ Value::Object(_)), true) => v.clone(),
                    _ => parse_arguments(&u.json),
                };
                ToolCall {
                    id: u.id.clone(),
                    name: u.name.clone(),
                    arguments,
                }
            })
            .collect()
    }
}

/// A whole `tool_use` block of a non-streamed answer.
pub fn block_call(id: String, name: String, input: Option<Value>) -> ToolCall {
    ToolCall {
        id,
        name,
        arguments: match input {
            Some(v @ Value::Object(_)) => v,
            _ => Value::Object(Map::new()),
        },
    }
}

/// `{name, description, input_schema}`.
pub fn tool_json(t: &Tool) -> Value {
    json!({"name": t.name, "description": t.description, "input_schema": t.parameters})
}

/// One round: the assistant's text and `tool_use` blocks, then one user
/// message holding a `tool_result` block per call (the API requires every
/// result in the message right after the calls).
pub fn turn_json(turn: &ToolTurn) -> [Value; 2] {
    let mut blocks = Vec::new();
    if !turn.text.is_empty() {
        blocks.push(json!({"type": "text", "text": turn.text}));
    }
    blocks.extend(turn.calls.iter().map(
        |c| json!({"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments_object()}),
    ));
    let results: Vec<Value> = turn
        .results
        .iter()
        .map(|r| {
            let mut b =
                json!({"type": "tool_result", "tool_use_id": r.call_id, "content": r.content});
            if r.is_error {
                b["is_error"] = json!(true);
            }
            b
        })
        .collect();
    [
        json!({"role": "assistant", "content": blocks}),
        json!({"role": "user", "content": results}),
    ]
}
