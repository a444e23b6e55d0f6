//! Ollama's native API: POST {base_url}/api/chat, NDJSON streaming.
//! <https://github.com/ollama/ollama/blob/main/docs/api.md#generate-a-chat-completion>

use reqwest::header::HeaderMap;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::secret::ApiKey;
use super::tools::{self, ToolCall, ToolTurn};
use super::wire::{
    DecodeError, HealthProbe, RawMessage, StreamDecoder, Wire, extra_json, fix_base_url, short,
    to_body,
};
use super::{ChatRequest, Completion, Message, ProviderError, Role, Usage};
use crate::config::{ResolvedProvider, SystemPrompt};
use crate::health::Severity;
use tools::ollama::{gather, tool_json, turn_json};

pub struct Ollama;

/// A model name with its tag: Ollama reads `llama3` as `llama3:latest`.
fn tagged(model: &str) -> std::borrow::Cow<'_, str> {
    if model.contains(':') {
        model.into()
    } else {
        format!("{model}:latest").into()
    }
}

/// One NDJSON record (streamed) or the whole answer (non-streamed).
#[derive(Debug, Default, Deserialize)]
struct Record {
    #[serde(default)]
    model: String,
    #[serde(default)]
    message: Option<Msg>,
    #[serde(default)]
    done: bool,
    #[serde(default)]
    prompt_eval_count: Option<u64>,
    #[serde(default)]
    eval_count: Option<u64>,
    /// Nanoseconds.
    #[serde(default)]
    total_duration: Option<u64>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Msg {
    #[serde(default)]
    content: String,
    /// Whole calls: Ollama parses the model's output itself and streams
    /// each call complete, in a `done: false` line of its own.
    #[serde(default)]
    tool_calls: Vec<tools::ollama::WireCall>,
}

impl Record {
    fn parse(line: &str) -> Result<Record, DecodeError> {
        let r: Record = serde_json::from_str(line).map_err(|e| {
            DecodeError::Malformed(format!("bad NDJSON line {:?}: {e}", short(line)))
        })?;
        match &r.error {
            Some(err) => Err(DecodeError::Provider(err.clone())),
            None => Ok(r),
        }
    }

    fn completion(&self) -> Completion {
        Completion {
            content: String::new(),
            model: self.model.clone(),
            // Ollama leaves `prompt_eval_count` out when the prompt was cached.
            usage: (self.prompt_eval_count.is_some() || self.eval_count.is_some()).then(|| Usage {
                prompt_tokens: self.prompt_eval_count.unwrap_or(0),
                completion_tokens: self.eval_count.unwrap_or(0),
                estimated: false,
            }),
            provider_ms: self.total_duration.map(|ns| ns / 1_000_000),
            tool_calls: Vec::new(),
        }
    }
}

#[derive(Default)]
struct Decoder {
    last: Option<Record>,
    calls: Vec<ToolCall>,
}

impl StreamDecoder for Decoder {
    fn line(&mut self, line: &str) -> Result<Vec<String>, DecodeError> {
        if line.trim().is_empty() {
            return Ok(Vec::new());
        }
        let mut r = Record::parse(line)?;
        let (text, calls) = r
            .message
            .take()
            .map(|m| (m.content, m.tool_calls))
            .unwrap_or_default();
        gather(&mut self.calls, calls);
        self.last = Some(r);
        Ok(vec![text])
    }

    fn calling(&self) -> bool {
        !self.calls.is_empty()
    }

    fn is_done(&self) -> bool {
        self.last.as_ref().is_some_and(|r| r.done)
    }

    fn at_eof(&mut self) -> Result<(), DecodeError> {
        if self.is_done() {
            Ok(())
        } else {
            Err(DecodeError::Malformed(
                "stream ended before the final `done: true` record".into(),
            ))
        }
    }

    fn completion(&self) -> Completion {
        let mut c = self
            .last
            .as_ref()
            .map(Record::completion)
            .unwrap_or_default();
        c.tool_calls = self.calls.clone();
        c
    }
}

/// A chat body, serialized straight from borrowed fields: building a
/// `serde_json::Value` first copied the system prompt and every message into a
/// tree of maps, then serialized and freed it, on every chat.
#[derive(Serialize)]
struct Body<'a> {
    model: &'a str,
    messages: Messages<'a>,
    stream: bool,
    #[serde(skip_serializing_if = "Map::is_empty")]
    options: Map<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    keep_alive: Option<&'a str>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    tools: Vec<Value>,
}

/// The system prompt (when not empty) as the first message, then the
/// history, then each tool round: the assistant's calls and a `tool` message
/// per result.
struct Messages<'a> {
    system: &'a SystemPrompt,
    history: &'a [Message],
    turns: &'a [ToolTurn],
}

#[derive(Serialize)]
#[serde(untagged)]
enum Out<'a> {
    System(RawMessage<'a>),
    Plain(OutMsg<'a>),
    Json(Value),
}

#[derive(Serialize)]
struct OutMsg<'a> {
    role: Role,
    content: &'a str,
}

impl Serialize for Messages<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let system = (!self.system.is_empty()).then(|| {
            Out::System(RawMessage {
                role: Role::System,
                content: self.system.json(),
            })
        });
        s.collect_seq(
            system
                .into_iter()
                .chain(self.history.iter().map(|m| {
                    Out::Plain(OutMsg {
                        role: m.role,
                        content: &m.content,
                    })
                }))
                .chain(self.turns.iter().flat_map(turn_json).map(Out::Json)),
        )
    }
}

impl Wire for Ollama {
    fn chat_url(&self, cfg: &ResolvedProvider) -> String {
        format!("{}/api/chat", cfg.base_url)
    }

    fn chat_body(&self, cfg: &ResolvedProvider, req: &ChatRequest) -> Vec<u8> {
        let p = &req.params;
        let mut options = Map::new();
        if let Some(t) = p.temperature {
            options.insert("temperature".into(), json!(t));
        }
        if let Some(t) = p.top_p {
            options.insert("top_p".into(), json!(t));
        }
        if let Some(n) = p.max_tokens {
            options.insert("num_predict".into(), json!(n));
        }
        if let Some(s) = &p.stop {
            options.insert("stop".into(), json!(s));
        }
        options.extend(extra_json(&p.extra));
        to_body(&Body {
            model: &req.model,
            messages: Messages {
                system: &req.system,
                history: &req.messages,
                turns: &req.tools.turns,
            },
            stream: req.stream,
            options,
            keep_alive: cfg.keep_alive.as_deref(),
            tools: req.tools.offered.iter().map(tool_json).collect(),
        })
    }

    fn headers(
        &self,
        _cfg: &ResolvedProvider,
        key: Option<&ApiKey>,
    ) -> Result<HeaderMap, ProviderError> {
        // Ollama needs no key; one behind an authenticating proxy gets a bearer token.
        let mut h = HeaderMap::new();
        if let Some(v) = key.and_then(|k| k.header("Bearer ")) {
            h.insert(reqwest::header::AUTHORIZATION, v);
        }
        Ok(h)
    }

    fn decoder(&self) -> Box<dyn StreamDecoder> {
        Box::new(Decoder::default())
    }

    fn parse_whole(&self, body: &str) -> Result<Completion, DecodeError> {
        let mut r = Record::parse(body.trim())?;
        let m = r
            .message
            .take()
            .ok_or_else(|| DecodeError::Malformed("answer has no `message`".into()))?;
        let mut tool_calls = Vec::new();
        gather(&mut tool_calls, m.tool_calls);
        Ok(Completion {
            content: m.content,
            tool_calls,
            ..r.completion()
        })
    }

    fn error_message(&self, status: u16, body: &str, model: &str) -> String {
        #[derive(Deserialize)]
        struct Err {
            error: String,
        }
        let msg = serde_json::from_str::<Err>(body)
            .map(|e| e.error)
            .unwrap_or_else(|_| short(body));
        if status == 404 {
            format!("{msg} (model `{model}` is not available; `ollama pull {model}` fetches it)")
        } else {
            msg
        }
    }

    fn health_probe(&self, cfg: &ResolvedProvider) -> HealthProbe {
        HealthProbe::Get(format!("{}/api/version", cfg.base_url))
    }

    fn models_url(&self, cfg: &ResolvedProvider) -> Option<String> {
        Some(format!("{}/api/tags", cfg.base_url))
    }

    /// `{"models": [{"name": "llama3.3:70b", "model": "llama3.3:70b", …}]}`.
    fn parse_models(&self, body: &str) -> Result<Vec<String>, DecodeError> {
        #[derive(Deserialize)]
        struct Tags {
            models: Vec<Tag>,
        }
        #[derive(Deserialize)]
        struct Tag {
            #[serde(default)]
            name: Option<String>,
            #[serde(default)]
            model: Option<String>,
        }
        let tags: Tags = serde_json::from_str(body).map_err(|e| {
            DecodeError::Malformed(format!("/api/tags is not Ollama's model list: {e}"))
        })?;
        Ok(tags
            .models
            .into_iter()
            .flat_map(|t| [t.name, t.model])
            .flatten()
            .collect())
    }

    fn lists(&self, listed: &[String], model: &str) -> bool {
        let want = tagged(model);
        listed.iter().any(|m| tagged(m) == want)
    }

    fn missing_model(&self, _cfg: &ResolvedProvider, model: &str) -> (String, Severity) {
        (format!("`ollama pull {model}` fetches it"), Severity::Fail)
    }

    fn unreachable_fix(&self, cfg: &ResolvedProvider) -> String {
        if crate::net::url::is_loopback(&cfg.base_url) {
            "start Ollama with `ollama serve` (or install it from https://ollama.com)".to_owned()
        } else {
            fix_base_url(cfg)
        }
    }
}
