//! OpenAI-compatible chat completions: POST {base_url}/chat/completions, SSE.
//! Serves llama.cpp's server, vLLM, LM Studio, Ollama's /v1 and OpenAI itself.
//! <https://platform.openai.com/docs/api-reference/chat/create>

use reqwest::header::HeaderMap;
use serde::ser::SerializeSeq;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::secret::ApiKey;
use super::sse::SseParser;
use super::tools::openai::{CallPiece, Calls, tool_json, turn_json};
use super::wire::{
    DecodeError, HealthProbe, RawMessage, Spliced, StreamDecoder, Wire, extra_json, fix_base_url,
    short, to_body,
};
use super::{ChatRequest, Completion, ProviderError, Role, Usage};
use crate::config::ResolvedProvider;
use crate::health::Severity;

pub struct OpenAi;

#[derive(Debug, Default, Deserialize)]
struct Body {
    #[serde(default)]
    model: String,
    #[serde(default)]
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<ApiUsage>,
    #[serde(default)]
    error: Option<ApiError>,
}

#[derive(Debug, Default, Deserialize)]
struct Choice {
    #[serde(default)]
    delta: Option<Content>,
    #[serde(default)]
    message: Option<Content>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Content {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    tool_calls: Vec<CallPiece>,
}

#[derive(Debug, Default, Clone, Copy, Deserialize)]
struct ApiUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
}

impl ApiUsage {
    fn usage(self) -> Usage {
        Usage {
            prompt_tokens: self.prompt_tokens,
            completion_tokens: self.completion_tokens,
            estimated: false,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct ApiError {
    #[serde(default)]
    message: String,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    code: Option<Value>,
}

impl ApiError {
    fn text(&self) -> String {
        let mut s = self.message.clone();
        let extra: Vec<String> = [self.kind.clone(), self.code.as_ref().map(value_text)]
            .into_iter()
            .flatten()
            .collect();
        if !extra.is_empty() {
            s.push_str(&format!(" ({})", extra.join(", ")));
        }
        s
    }
}

fn value_text(v: &Value) -> String {
    v.as_str()
        .map(str::to_string)
        .unwrap_or_else(|| v.to_string())
}

fn parse(data: &str) -> Result<Body, DecodeError> {
    let b: Body = serde_json::from_str(data)
        .map_err(|e| DecodeError::Malformed(format!("bad SSE data {:?}: {e}", short(data))))?;
    match &b.error {
        Some(err) => Err(DecodeError::Provider(err.text())),
        None => Ok(b),
    }
}

#[derive(Default)]
struct Decoder {
    sse: SseParser,
    done: bool,
    finished: bool,
    model: String,
    usage: Option<ApiUsage>,
    calls: Calls,
}

impl Decoder {
    fn event(&mut self, data: &str) -> Result<Vec<String>, DecodeError> {
        if data.trim() == "[DONE]" {
            self.done = true;
            return Ok(Vec::new());
        }
        let b = parse(data)?;
        if !b.model.is_empty() {
            self.model = b.model;
        }
        if b.usage.is_some() {
            self.usage = b.usage;
        }
        let mut out = Vec::new();
        for c in b.choices.into_iter().take(1) {
            if c.finish_reason.is_some() {
                self.finished = true;
            }
            if let Some(d) = c.delta {
                for piece in d.tool_calls {
                    self.calls.push(piece);
                }
                out.extend(d.content);
            }
        }
        Ok(out)
    }
}

impl StreamDecoder for Decoder {
    fn line(&mut self, line: &str) -> Result<Vec<String>, DecodeError> {
        match self.sse.line(line) {
            Some(ev) => self.event(&ev.data),
            None => Ok(Vec::new()),
        }
    }

    fn is_done(&self) -> bool {
        self.done
    }

    fn calling(&self) -> bool {
        !self.calls.is_empty()
    }

    fn at_eof(&mut self) -> Result<(), DecodeError> {
        if let Some(ev) = self.sse.finish() {
            self.event(&ev.data)?;
        }
        // Some servers close after the finish_reason chunk without `[DONE]`.
        if self.done || self.finished {
            Ok(())
        } else {
            Err(DecodeError::Malformed(
                "stream ended before `data: [DONE]`".into(),
            ))
        }
    }

    fn completion(&self) -> Completion {
        Completion {
            content: String::new(),
            model: self.model.clone(),
            usage: self.usage.map(ApiUsage::usage),
            provider_ms: None,
            tool_calls: self.calls.finish(),
        }
    }
}

/// The chat body as JSON, but for `messages`: that is written from
/// [`Messages`] by [`chat_body`], with the system prompt's escaped form.
fn chat_json(req: &ChatRequest) -> Map<String, Value> {
    let mut body = Map::new();
    body.insert("model".into(), json!(req.model));
    body.insert("stream".into(), json!(req.stream));
    if !req.tools.offered.is_empty() {
        body.insert(
            "tools".into(),
            req.tools.offered.iter().map(tool_json).collect(),
        );
    }
    if req.stream {
        body.insert("stream_options".into(), json!({"include_usage": true}));
    }
    let p = &req.params;
    if let Some(t) = p.temperature {
        body.insert("temperature".into(), json!(t));
    }
    if let Some(t) = p.top_p {
        body.insert("top_p".into(), json!(t));
    }
    if let Some(n) = p.max_tokens {
        body.insert("max_tokens".into(), json!(n));
    }
    if let Some(s) = &p.stop {
        body.insert("stop".into(), json!(s));
    }
    body.extend(extra_json(&p.extra));
    body
}

/// The system prompt (when not empty), the history, then each tool round.
struct Messages<'a>(&'a ChatRequest);

impl Serialize for Messages<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let req = self.0;
        let mut seq = s.serialize_seq(None)?;
        if !req.system.is_empty() {
            seq.serialize_element(&RawMessage {
                role: Role::System,
                content: req.system.json(),
            })?;
        }
        for m in &req.messages {
            seq.serialize_element(&json!({"role": m.role, "content": m.content}))?;
        }
        for v in req.tools.turns.iter().flat_map(turn_json) {
            seq.serialize_element(&v)?;
        }
        seq.end()
    }
}

fn chat_body(req: &ChatRequest) -> Vec<u8> {
    to_body(&Spliced {
        key: "messages",
        value: Messages(req),
        rest: &chat_json(req),
    })
}

impl Wire for OpenAi {
    fn chat_url(&self, cfg: &ResolvedProvider) -> String {
        format!("{}/chat/completions", cfg.base_url)
    }

    fn chat_body(&self, _cfg: &ResolvedProvider, req: &ChatRequest) -> Vec<u8> {
        chat_body(req)
    }

    fn headers(
        &self,
        _cfg: &ResolvedProvider,
        key: Option<&ApiKey>,
    ) -> Result<HeaderMap, ProviderError> {
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
        let b = parse(body)?;
        let message = b.choices.into_iter().next().and_then(|c| c.message);
        let mut calls = Calls::default();
        let content = match message {
            Some(m) => {
                m.tool_calls.into_iter().for_each(|p| calls.push(p));
                // `content` is null when the model only called tools.
                match m.content {
                    Some(c) => Some(c),
                    None if calls.is_empty() => None,
                    None => Some(String::new()),
                }
            }
            None => None,
        }
        .ok_or_else(|| {
            DecodeError::Malformed("answer has no `choices[0].message.content`".into())
        })?;
        Ok(Completion {
            tool_calls: calls.finish(),
            content,
            model: b.model,
            usage: b.usage.map(ApiUsage::usage),
            provider_ms: None,
        })
    }

    fn error_message(&self, status: u16, body: &str, model: &str) -> String {
        #[derive(Deserialize)]
        struct Wrapped {
            error: ApiError,
        }
        #[derive(Deserialize)]
        struct Detail {
            detail: Value,
        }
        let msg = if let Ok(w) = serde_json::from_str::<Wrapped>(body) {
            w.error.text()
        } else if let Ok(d) = serde_json::from_str::<Detail>(body) {
            value_text(&d.detail)
        } else {
            short(body)
        };
        if status == 404 && !msg.contains(model) {
            format!("{msg} (model `{model}`)")
        } else {
            msg
        }
    }

    fn health_probe(&self, cfg: &ResolvedProvider) -> HealthProbe {
        HealthProbe::Get(format!("{}/models", cfg.base_url))
    }

    fn models_url(&self, cfg: &ResolvedProvider) -> Option<String> {
        Some(format!("{}/models", cfg.base_url))
    }

    /// `{"object": "list", "data": [{"id": "gpt-4o", …}]}`.
    fn parse_models(&self, body: &str) -> Result<Vec<String>, DecodeError> {
        #[derive(Deserialize)]
        struct List {
            data: Vec<Model>,
        }
        #[derive(Deserialize)]
        struct Model {
            id: String,
        }
        let list: List = serde_json::from_str(body).map_err(|e| {
            DecodeError::Malformed(format!("/models is not an OpenAI model list: {e}"))
        })?;
        Ok(list.data.into_iter().map(|m| m.id).collect())
    }

    /// Only a warning: some servers (llama.cpp's) answer under any model name.
    fn missing_model(&self, cfg: &ResolvedProvider, _model: &str) -> (String, Severity) {
        (
            format!(
                "chats may fail; check `model` against what {}/models lists (some servers, \
                 llama.cpp's among them, answer under any name)",
                crate::net::url::shown(&cfg.base_url)
            ),
            Severity::Warn,
        )
    }

    fn unreachable_fix(&self, cfg: &ResolvedProvider) -> String {
        fix_base_url(cfg)
    }
}
