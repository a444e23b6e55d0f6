//! Streamed tool calls in each wire format. The property test cuts the same
//! answer into arbitrary pieces (deltas of the arguments text, then TCP
//! chunks of the body) and requires the very same calls and text every time.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::ToolCall;
use super::tests::{call, wires};
use crate::config::ProviderKind;
use crate::provider::openai::OpenAi;
use crate::provider::sse::LineSplitter;
use crate::provider::wire::Wire;

/// An answer as a model streams it: some text, then calls.
#[derive(Debug, Clone)]
struct Answer {
    text: Vec<String>,
    calls: Vec<ToolCall>,
}

/// `s` cut at char boundaries picked by `cuts` (each a fraction of the length).
fn pieces(s: &str, cuts: &[u16]) -> Vec<String> {
    let mut at: Vec<usize> = cuts
        .iter()
        .map(|c| usize::from(*c) * s.len() / usize::from(u16::MAX))
        .filter(|&i| s.is_char_boundary(i))
        .collect();
    at.sort_unstable();
    at.dedup();
    let mut out = Vec::new();
    let mut from = 0;
    for i in at {
        out.push(s[from..i].to_owned());
        from = i;
    }
    out.push(s[from..].to_owned());
    out
}

fn ollama_stream(a: &Answer, _cuts: &[u16]) -> String {
    let mut s = String::new();
    for t in &a.text {
        let v =
            json!({"model": "m", "message": {"role": "assistant", "content": t}, "done": false});
        s.push_str(&format!("{v}\n"));
    }
    for (i, c) in a.calls.iter().enumerate() {
        let v = json!({"model": "m", "message": {"role": "assistant", "content": "",
            "tool_calls": [{"id": c.id, "function": {"index": i, "name": c.name, "arguments": c.arguments}}]},
            "done": false});
        s.push_str(&format!("{v}\n"));
    }
    let v = json!({"model": "m", "message": {"role": "assistant", "content": ""}, "done": true,
                   "done_reason": "stop", "prompt_eval_count": 3, "eval_count": 2});
    s.push_str(&format!("{v}\n"));
    s
}

fn openai_stream(a: &Answer, cuts: &[u16]) -> String {
    let chunk = |delta: Value, finish: Value| {
        let v = json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1,
            "model": "m", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]});
        format!("data: {v}\n\n")
    };
    let mut s = chunk(json!({"role": "assistant", "content": ""}), Value::Null);
    for t in &a.text {
        s.push_str(&chunk(json!({"content": t}), Value::Null));
    }
    for (i, c) in a.calls.iter().enumerate() {
        s.push_str(&chunk(
            json!({"tool_calls": [{"index": i, "id": c.id, "type": "function",
                                   "function": {"name": c.name, "arguments": ""}}]}),
            Value::Null,
        ));
        for p in pieces(&c.arguments_text(), cuts) {
            s.push_str(&chunk(
                json!({"tool_calls": [{"index": i, "function": {"arguments": p}}]}),
                Value::Null,
            ));
        }
    }
    s.push_str(&chunk(json!({}), json!("tool_calls")));
    s.push_str("data: [DONE]\n\n");
    s
}

fn anthropic_stream(a: &Answer, cuts: &[u16]) -> String {
    let ev = |name: &str, v: Value| format!("event: {name}\ndata: {v}\n\n");
    let mut s = ev(
        "message_start",
        json!({"type": "message_start", "message": {"id": "msg_1", "type": "message",
            "role": "assistant", "model": "m", "content": [], "stop_reason": null,
            "usage": {"input_tokens": 3, "output_tokens": 1}}}),
    );
    let mut index = 0;
    if !a.text.is_empty() {
        s.push_str(&ev(
            "content_block_start",
            json!({"type": "content_block_start",
            "index": 0, "content_block": {"type": "text", "text": ""}}),
        ));
        for t in &a.text {
            s.push_str(&ev(
                "content_block_delta",
                json!({"type": "content_block_delta",
                "index": 0, "delta": {"type": "text_delta", "text": t}}),
            ));
        }
        s.push_str(&ev(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        ));
        index = 1;
    }
    for c in &a.calls {
        s.push_str(&ev(
            "content_block_start",
            json!({"type": "content_block_start",
            "index": index, "content_block": {"type": "tool_use", "id": c.id, "name": c.name,
            "input": {}}}),
        ));
        for p in pieces(&c.arguments_text(), cuts) {
            s.push_str(&ev(
                "content_block_delta",
                json!({"type": "content_block_delta",
                "index": index, "delta": {"type": "input_json_delta", "partial_json": p}}),
            ));
        }
        s.push_str(&ev(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": index}),
        ));
        index += 1;
    }
    s.push_str(&ev("message_delta", json!({"type": "message_delta",
        "delta": {"stop_reason": "tool_use", "stop_sequence": null}, "usage": {"output_tokens": 9}})));
    s.push_str(&ev("message_stop", json!({"type": "message_stop"})));
    s
}

/// Feed `body` to `w`'s decoder in chunks ending at `cuts` (byte fractions).
fn decode(w: &dyn Wire, body: &str, cuts: &[u16]) -> (String, Vec<ToolCall>) {
    let bytes = body.as_bytes();
    let mut at: Vec<usize> = cuts
        .iter()
        .map(|c| usize::from(*c) * bytes.len() / usize::from(u16::MAX))
        .collect();
    at.sort_unstable();
    at.push(bytes.len());
    let mut splitter = LineSplitter::default();
    let mut d = w.decoder();
    let mut text = String::new();
    let mut from = 0;
    for to in at {
        for line in splitter.push(&bytes[from..to]).unwrap() {
            for t in d.line(&line).unwrap() {
                text.push_str(&t);
            }
        }
        from = to;
    }
    assert!(d.is_done(), "decoder saw the end");
    (text, d.completion().tool_calls)
}

fn stream_of(kind: ProviderKind) -> fn(&Answer, &[u16]) -> String {
    match kind {
        ProviderKind::Ollama => ollama_stream,
        ProviderKind::Openai => openai_stream,
        ProviderKind::Anthropic => anthropic_stream,
    }
}

#[test]
fn two_calls_after_text_in_every_format() {
    let a = Answer {
        text: vec!["Let me ".into(), "ask.".into()],
        calls: vec![
            call(
                "call_a",
                json!({"name": "penia", "question": "Wie geht's? 🌍"}),
            ),
            call("call_b", json!({"name": "telos", "question": "and you?"})),
        ],
    };
    for (w, kind) in wires() {
        let body = stream_of(kind)(&a, &[1000, 30000, 30001, 64000]);
        let (text, calls) = decode(w.as_ref(), &body, &[7, 500, 20000]);
        assert_eq!(text, "Let me ask.", "{kind}");
        assert_eq!(calls, a.calls, "{kind}");
    }
}

#[test]
fn a_call_without_arguments_has_an_empty_object() {
    let a = Answer {
        text: vec![],
        calls: vec![call("call_x", json!({}))],
    };
    for (w, kind) in wires() {
        let body = stream_of(kind)(&a, &[])
            .replace(r#""partial_json":"{}""#, r#""partial_json":"""#)
            .replace(r#""arguments":"{}""#, r#""arguments":"""#);
        let (_, calls) = decode(w.as_ref(), &body, &[]);
        assert_eq!(calls, a.calls, "{kind}");
    }
}

#[test]
fn openai_arguments_that_are_not_json_stay_text() {
    let a = Answer {
        text: vec![],
        calls: vec![call("call_x", Value::String(r#"{"name": "pen"#.into()))],
    };
    let (_, calls) = decode(&OpenAi, &openai_stream(&a, &[9000]), &[]);
    assert_eq!(calls[0].arguments, json!(r#"{"name": "pen"#));
}

fn arb_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 ,.?!]{0,24}",
        "[\\u{0}-\\u{7f}äöü€🌍\"\\\\\n\t{}:]{0,24}",
    ]
}

fn arb_call() -> impl Strategy<Value = ToolCall> {
    (
        "[a-zA-Z0-9_]{1,12}",
        arb_text(),
        arb_text(),
        proptest::option::of(any::<i64>()),
    )
        .prop_map(|(id, name, question, n)| {
            let mut args = json!({"name": name, "question": question});
            if let Some(n) = n {
                args["n"] = json!(n);
            }
            ToolCall {
                id: format!("call_{id}"),
                name: "ask_colleague".into(),
                arguments: args,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// However the arguments are cut into deltas and the body into TCP
    /// chunks, every format assembles the same calls and the same text.
    #[test]
    fn any_chunking_assembles_the_same_calls(
        text in proptest::collection::vec(arb_text(), 0..3),
        calls in proptest::collection::vec(arb_call(), 1..3),
        delta_cuts in proptest::collection::vec(any::<u16>(), 0..8),
        tcp_cuts in proptest::collection::vec(any::<u16>(), 0..24),
    ) {
        let a = Answer { text: text.clone(), calls };
        for (w, kind) in wires() {
            let body = stream_of(kind)(&a, &delta_cuts);
            let (got_text, got) = decode(w.as_ref(), &body, &tcp_cuts);
            prop_assert_eq!(&got_text, &text.concat(), "{}", kind);
            prop_assert_eq!(&got, &a.calls, "{}", kind);
        }
    }
}
