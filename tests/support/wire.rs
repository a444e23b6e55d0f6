//! Each provider's documented wire format, as the test servers speak it.

use cadre::config::ProviderKind;
use serde_json::{Value, json};

use super::server::Recorded;

/// The env var holding the Anthropic test key (set by [`Kind::setup`]).
pub const ANTHROPIC_KEY_VAR: &str = "CADRE_TEST_ANTHROPIC_KEY";
pub const ANTHROPIC_KEY: &str = "test-anthropic-key";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Ollama,
    OpenAi,
    Anthropic,
}

/// One frame of a streamed body; `token` marks frames carrying text.
pub struct Frame {
    pub token: bool,
    pub text: String,
}

impl Kind {
    pub fn provider_kind(self) -> ProviderKind {
        match self {
            Kind::Ollama => ProviderKind::Ollama,
            Kind::OpenAi => ProviderKind::Openai,
            Kind::Anthropic => ProviderKind::Anthropic,
        }
    }

    /// Process-wide setup (the Anthropic key variable).
    pub fn setup(self) {
        static ONCE: std::sync::Once = std::sync::Once::new();
        // SAFETY: set once, before any provider reads it; every test sets the same value.
        ONCE.call_once(|| unsafe { std::env::set_var(ANTHROPIC_KEY_VAR, ANTHROPIC_KEY) });
    }

    pub fn key_env(self) -> Option<&'static str> {
        (self == Kind::Anthropic).then_some(ANTHROPIC_KEY_VAR)
    }

    /// The provider base url for a server at `root` (`http://127.0.0.1:PORT`).
    pub fn base(self, root: &str) -> String {
        match self {
            Kind::OpenAi => format!("{root}/v1"),
            _ => root.to_string(),
        }
    }

    pub fn chat_path(self) -> &'static str {
        match self {
            Kind::Ollama => "/api/chat",
            Kind::OpenAi => "/v1/chat/completions",
            Kind::Anthropic => "/v1/messages",
        }
    }

    pub fn health_path(self) -> Option<&'static str> {
        match self {
            Kind::Ollama => Some("/api/version"),
            Kind::OpenAi => Some("/v1/models"),
            Kind::Anthropic => None,
        }
    }

    pub fn health_body(self) -> &'static str {
        match self {
            Kind::Ollama => r#"{"version":"0.6.2"}"#,
            _ => r#"{"object":"list","data":[{"id":"tiny-model","object":"model"}]}"#,
        }
    }

    pub fn stream_content_type(self) -> &'static str {
        match self {
            Kind::Ollama => "application/x-ndjson",
            _ => "text/event-stream",
        }
    }

    /// A complete streamed answer; usage: 11 prompt tokens, one completion token per piece.
    pub fn frames(self, pieces: &[&str]) -> Vec<Frame> {
        let n = pieces.len();
        let f = |token: bool, text: String| Frame { token, text };
        let mut out = Vec::new();
        match self {
            Kind::Ollama => {
                for p in pieces {
                    let v = json!({"model":"tiny-model","created_at":"2026-11-24T17:00:00Z",
                        "message":{"role":"assistant","content":p},"done":false});
                    out.push(f(true, format!("{v}\n")));
                }
                let v = json!({"model":"tiny-model","created_at":"2026-11-24T17:00:01Z",
                    "message":{"role":"assistant","content":""},"done":true,"done_reason":"stop",
                    "total_duration":250_000_000u64,"load_duration":1_000_000u64,
                    "prompt_eval_count":11,"eval_count":n,"eval_duration":200_000_000u64});
                out.push(f(false, format!("{v}\n")));
            }
            Kind::OpenAi => {
                for (i, p) in pieces.iter().enumerate() {
                    let delta = if i == 0 {
                        json!({"role":"assistant","content":p})
                    } else {
                        json!({"content":p})
                    };
                    let v = json!({"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,
                        "model":"tiny-model","choices":[{"index":0,"delta":delta,"finish_reason":null}]});
                    out.push(f(true, format!("data: {v}\n\n")));
                }
                let v = json!({"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,
                    "model":"tiny-model","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]});
                out.push(f(false, format!("data: {v}\n\n")));
                let v = json!({"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"tiny-model",
                    "choices":[],"usage":{"prompt_tokens":11,"completion_tokens":n,"total_tokens":11 + n}});
                out.push(f(false, format!("data: {v}\n\n")));
                out.push(f(false, "data: [DONE]\n\n".into()));
            }
            Kind::Anthropic => {
                let ev = |name: &str, v: Value| format!("event: {name}\ndata: {v}\n\n");
                out.push(f(false, ev("message_start", json!({"type":"message_start","message":{
                    "id":"msg_1","type":"message","role":"assistant","model":"tiny-model","content":[],
                    "stop_reason":null,"usage":{"input_tokens":11,"output_tokens":1}}}))));
                out.push(f(false, ev("content_block_start",
                    json!({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}))));
                out.push(f(false, ev("ping", json!({"type":"ping"}))));
                for p in pieces {
                    out.push(f(true, ev("content_block_delta",
                        json!({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":p}}))));
                }
                out.push(f(
                    false,
                    ev(
                        "content_block_stop",
                        json!({"type":"content_block_stop","index":0}),
                    ),
                ));
                out.push(f(false, ev("message_delta", json!({"type":"message_delta",
                    "delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":n}}))));
                out.push(f(false, ev("message_stop", json!({"type":"message_stop"}))));
            }
        }
        out
    }

    pub fn stream_body(self, pieces: &[&str]) -> String {
        self.frames(pieces).into_iter().map(|f| f.text).collect()
    }

    /// The body up to and including the `tokens`-th token frame.
    pub fn stream_prefix(self, pieces: &[&str], tokens: usize) -> String {
        let mut seen = 0;
        let mut s = String::new();
        for f in self.frames(pieces) {
            if seen == tokens {
                break;
            }
            seen += f.token as usize;
            s.push_str(&f.text);
        }
        s
    }

    /// A line that breaks the format.
    pub fn garbage_frame(self) -> &'static str {
        match self {
            Kind::Ollama => "this is not json\n",
            Kind::OpenAi => "data: this is not json\n\n",
            Kind::Anthropic => "event: content_block_delta\ndata: this is not json\n\n",
        }
    }

    pub fn whole_body(self, text: &str) -> String {
        match self {
            Kind::Ollama => json!({"model":"tiny-model","created_at":"2026-11-24T17:00:00Z",
                "message":{"role":"assistant","content":text},"done":true,"done_reason":"stop",
                "total_duration":250_000_000u64,"prompt_eval_count":11,"eval_count":4}),
            Kind::OpenAi => json!({"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"tiny-model",
                "choices":[{"index":0,"message":{"role":"assistant","content":text},"finish_reason":"stop"}],
                "usage":{"prompt_tokens":11,"completion_tokens":4,"total_tokens":15}}),
            Kind::Anthropic => json!({"id":"msg_1","type":"message","role":"assistant","model":"tiny-model",
                "content":[{"type":"text","text":text}],"stop_reason":"end_turn",
                "usage":{"input_tokens":11,"output_tokens":4}}),
        }
        .to_string()
    }

    /// The provider's documented error body.
    pub fn error_body(self, message: &str) -> String {
        match self {
            Kind::Ollama => json!({"error": message}),
            Kind::OpenAi => json!({"error":{"message":message,"type":"invalid_request_error","code":"model_not_found"}}),
            Kind::Anthropic => json!({"type":"error","error":{"type":"not_found_error","message":message}}),
        }
        .to_string()
    }

    /// Check the request carries system prompt, history and params as the provider documents.
    pub fn check_request(self, r: &Recorded, stream: bool) {
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, self.chat_path());
        assert!(
            r.header("content-type")
                .unwrap_or("")
                .starts_with("application/json"),
            "{}",
            r.raw()
        );
        let b = r.json();
        assert_eq!(b["model"], "tiny-model");
        assert_eq!(b["stream"], stream);
        let history = json!([
            {"role":"user","content":"earlier question"},
            {"role":"assistant","content":"earlier answer"},
            {"role":"user","content":"what now?"}
        ]);
        let with_system = {
            let mut v = vec![json!({"role":"system","content":"You are the billing specialist."})];
            v.extend(history.as_array().unwrap().iter().cloned());
            Value::Array(v)
        };
        match self {
            Kind::Ollama => {
                assert_eq!(b["messages"], with_system);
                assert_eq!(
                    b["options"],
                    json!({"temperature":0.25,"top_p":0.5,"num_predict":77,"stop":["STOP"],"seed":42})
                );
            }
            Kind::OpenAi => {
                assert_eq!(b["messages"], with_system);
                assert_eq!(b["temperature"], 0.25);
                assert_eq!(b["top_p"], 0.5);
                assert_eq!(b["max_tokens"], 77);
                assert_eq!(b["stop"], json!(["STOP"]));
                assert_eq!(b["seed"], 42);
                if stream {
                    assert_eq!(b["stream_options"], json!({"include_usage": true}));
                }
            }
            Kind::Anthropic => {
                assert_eq!(b["system"], "You are the billing specialist.");
                assert_eq!(b["messages"], history);
                assert_eq!(b["max_tokens"], 77);
                assert_eq!(b["temperature"], 0.25);
                assert_eq!(b["top_p"], 0.5);
                assert_eq!(b["stop_sequences"], json!(["STOP"]));
                assert_eq!(b["seed"], 42);
                assert_eq!(r.header("x-api-key"), Some(ANTHROPIC_KEY));
                assert_eq!(r.header("anthropic-version"), Some("2023-06-01"));
            }
        }
    }
}
