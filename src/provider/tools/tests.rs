//! Tool calling in each wire format: the bodies cadre sends (tools offered,
//! earlier rounds as the vendor documents them) and the calls it reads from
//! whole answers. Streamed answers: [`super::streams`].

use serde_json::{Value, json};

use super::{Tool, ToolCall, ToolResult, ToolTurn, Tools};
use crate::config::{Params, ProviderKind, ResolvedProvider, ResolvedTimeouts};
use crate::provider::anthropic::Anthropic;
use crate::provider::ollama::Ollama;
use crate::provider::openai::OpenAi;
use crate::provider::wire::Wire;
use crate::provider::{ChatRequest, Message, Role};

/// A provider of `kind` on a dead loopback port (bodies are built, never sent).
pub(in crate::provider) fn cfg(kind: ProviderKind) -> ResolvedProvider {
    ResolvedProvider {
        name: "t".into(),
        kind,
        base_url: "http://127.0.0.1:1".into(),
        api_key_env: None,
        timeouts: ResolvedTimeouts::default(),
        max_retries: 0,
        keep_alive: None,
    }
}

fn tool() -> Tool {
    Tool {
        name: "ask_colleague".into(),
        description: "Ask a colleague.".into(),
        parameters: json!({"type": "object", "properties": {"name": {"type": "string"}}}),
    }
}

pub(super) fn call(id: &str, args: Value) -> ToolCall {
    ToolCall {
        id: id.into(),
        name: "ask_colleague".into(),
        arguments: args,
    }
}

/// A request in the middle of a consultation: one round already answered.
fn request() -> ChatRequest {
    ChatRequest {
        model: "m".into(),
        system: "You are numa.".into(),
        messages: vec![Message {
            role: Role::User,
            content: "what now?".into(),
        }],
        params: Params::default(),
        stream: true,
        tools: Tools {
            offered: vec![tool()],
            turns: vec![ToolTurn {
                text: "Let me ask.".into(),
                calls: vec![call("c1", json!({"name": "penia", "question": "q?"}))],
                results: vec![ToolResult {
                    call_id: "c1".into(),
                    name: "ask_colleague".into(),
                    content: "penia is busy".into(),
                    is_error: true,
                }],
            }],
        },
    }
}

fn body(w: &dyn Wire, kind: ProviderKind) -> Value {
    serde_json::from_slice(&w.chat_body(&cfg(kind), &request())).expect("JSON body")
}

#[test]
fn ollama_body_carries_tools_calls_and_results() {
    let b = body(&Ollama, ProviderKind::Ollama);
    assert_eq!(b["tools"][0]["type"], "function");
    assert_eq!(b["tools"][0]["function"]["name"], "ask_colleague");
    assert_eq!(b["tools"][0]["function"]["parameters"]["type"], "object");
    let m = b["messages"].as_array().unwrap();
    assert_eq!(m.len(), 4, "{m:?}");
    assert_eq!(
        m[2],
        json!({"role": "assistant", "content": "Let me ask.", "tool_calls": [{"id": "c1",
            "function": {"index": 0, "name": "ask_colleague",
                         "arguments": {"name": "penia", "question": "q?"}}}]})
    );
    assert_eq!(
        m[3],
        json!({"role": "tool", "content": "error: penia is busy", "tool_name": "ask_colleague",
               "tool_call_id": "c1"})
    );
}

#[test]
fn openai_body_carries_tools_calls_and_results() {
    let b = body(&OpenAi, ProviderKind::Openai);
    assert_eq!(b["tools"][0]["function"]["name"], "ask_colleague");
    let m = b["messages"].as_array().unwrap();
    assert_eq!(m.len(), 4, "{m:?}");
    assert_eq!(m[2]["role"], "assistant");
    assert_eq!(m[2]["content"], "Let me ask.");
    let tc = &m[2]["tool_calls"][0];
    assert_eq!(tc["id"], "c1");
    assert_eq!(tc["type"], "function");
    let args: Value = serde_json::from_str(tc["function"]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(args, json!({"name": "penia", "question": "q?"}));
    assert_eq!(
        m[3],
        json!({"role": "tool", "tool_call_id": "c1", "content": "error: penia is busy"})
    );
}

#[test]
fn anthropic_body_carries_tools_calls_and_results() {
    let b = body(&Anthropic, ProviderKind::Anthropic);
    assert_eq!(
        b["tools"][0],
        json!({"name": "ask_colleague", "description": "Ask a colleague.",
               "input_schema": tool().parameters})
    );
    let m = b["messages"].as_array().unwrap();
    assert_eq!(m.len(), 3, "{m:?}");
    assert_eq!(
        m[1],
        json!({"role": "assistant", "content": [
            {"type": "text", "text": "Let me ask."},
            {"type": "tool_use", "id": "c1", "name": "ask_colleague",
             "input": {"name": "penia", "question": "q?"}}]})
    );
    assert_eq!(
        m[2],
        json!({"role": "user", "content": [{"type": "tool_result", "tool_use_id": "c1",
            "content": "penia is busy", "is_error": true}]})
    );
}

#[test]
fn plain_chats_carry_no_tool_fields() {
    let mut req = request();
    req.tools = Tools::default();
    for (w, kind) in wires() {
        let b: Value = serde_json::from_slice(&w.chat_body(&cfg(kind), &req)).unwrap();
        assert!(b.get("tools").is_none(), "{kind}: {b}");
        assert!(!b.to_string().contains("tool_"), "{kind}: {b}");
    }
}

pub(super) fn wires() -> Vec<(Box<dyn Wire>, ProviderKind)> {
    vec![
        (Box::new(Ollama), ProviderKind::Ollama),
        (Box::new(OpenAi), ProviderKind::Openai),
        (Box::new(Anthropic), ProviderKind::Anthropic),
    ]
}

#[test]
fn non_streamed_answers_carry_their_calls() {
    let ollama = json!({"model": "m", "message": {"role": "assistant", "content": "",
        "tool_calls": [{"function": {"name": "ask_colleague", "arguments": {"name": "penia"}}}]},
        "done": true, "done_reason": "stop"});
    let c = Ollama.parse_whole(&ollama.to_string()).unwrap();
    assert_eq!(c.tool_calls, vec![call("call_0", json!({"name": "penia"}))]);

    let openai = json!({"id": "chatcmpl-1", "object": "chat.completion", "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": null,
            "tool_calls": [{"id": "call_9", "type": "function",
                "function": {"name": "ask_colleague", "arguments": "{\"name\":\"penia\"}"}}]},
            "finish_reason": "tool_calls"}]});
    let c = OpenAi.parse_whole(&openai.to_string()).unwrap();
    assert_eq!(c.content, "");
    assert_eq!(c.tool_calls, vec![call("call_9", json!({"name": "penia"}))]);

    let anthropic = json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "m",
        "content": [{"type": "text", "text": "Asking."},
                    {"type": "tool_use", "id": "toolu_1", "name": "ask_colleague",
                     "input": {"name": "penia"}}],
        "stop_reason": "tool_use", "usage": {"input_tokens": 1, "output_tokens": 2}});
    let c = Anthropic.parse_whole(&anthropic.to_string()).unwrap();
    assert_eq!(c.content, "Asking.");
    assert_eq!(
        c.tool_calls,
        vec![call("toolu_1", json!({"name": "penia"}))]
    );
}

#[test]
fn anthropic_json_delta_for_a_text_block_is_malformed() {
    let body = "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":3,\
                \"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\"}}\n\n";
    let mut d = Anthropic.decoder();
    let mut err = None;
    for line in body.lines() {
        if let Err(e) = d.line(line) {
            err = Some(e);
        }
    }
    assert!(err.is_some());
}
