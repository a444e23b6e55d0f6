//! Anthropic's Messages API: POST {base_url}/v1/messages, SSE with named events.
//! <https://docs.anthropic.com/en/api/messages-streaming>

use reqwest::header::{HeaderMap, HeaderValue};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::secret::ApiKey;
use super::sse::SseParser;
use super::tools::anthropic::{Uses, block_call, tool_json, turn_json};
use super::wire::{
    DecodeError, HealthProbe, Spliced, StreamDecoder, Wire, extra_json, fix_base_url, short,
    to_body,
};
use super::{ChatRequest, Completion, ProviderError, Role, Usage};
use crate::config::ResolvedProvider;
use crate::health::Severity;

pub struct Anthropic;

/// `max_tokens` is required by the API; this is used when params give none.
pub const DEFAULT_MAX_TOKENS: u32 = 1024;
pub const API_VERSION: &str = "2023-06-01";

#[derive(Debug, Default, Deserialize)]
struct ApiUsage {
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
}

impl ApiUsage {
    fn usage(&self) -> Usage {
        Usage {
            prompt_tokens: self.input_tokens.unwrap_or(0),
            completion_tokens: self.output_tokens.unwrap_or(0),
            estimated: false,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct ApiError {
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    message: String,
}

impl ApiError {
    fn text(&self) -> String {
        if self.kind.is_empty() {
            self.message.clone()
        } else {
            format!("{} ({})", self.message, self.kind)
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct MessageObj {
    #[serde(default)]
    model: String,
    #[serde(default)]
    usage: Option<ApiUsage>,
    #[serde(default)]
    content: Vec<Block>,
}

/// A content block: `text`, or `tool_use` (`id`, `name`, `input`).
#[derive(Debug, Default, Deserialize)]
struct Block {
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    input: Option<Value>,
}

/// One streamed event's data (fields used by any event type).
#[derive(Debug, Default, Deserialize)]
struct Event {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    message: Option<MessageObj>,
    #[serde(default)]
    delta: Option<Delta>,
    #[serde(default)]
    usage: Option<ApiUsage>,
    #[serde(default)]
    error: Option<ApiError>,
    #[serde(default)]
    index: Option<usize>,
    #[serde(default)]
    content_block: Option<Block>,
}

#[derive(Debug, Default, Deserialize)]
struct Delta {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    partial_json: Option<String>,
}

#[derive(Default)]
struct Decoder {
    sse: SseParser,
    done: bool,
    model: String,
    /// `None` until an event carries a `usage` object.
    usage: Option<Usage>,
    /// `tool_use` blocks being streamed.
    uses: Uses,
}

impl Decoder {
    fn event(&mut self, data: &str) -> Result<Vec<String>, DecodeError> {
        let ev: Event = serde_json::from_str(data)
            .map_err(|e| DecodeError::Malformed(format!("bad SSE data {:?}: {e}", short(data))))?;
        match ev.kind.as_str() {
            "message_start" => {
                if let Some(m) = ev.message {
                    self.model = m.model;
                    if let Some(u) = m.usage {
                        self.usage = Some(u.usage());
                    }
                }
            }
            "content_block_start" => {
                if let Some(b) = ev.content_block
                    && b.kind == "tool_use"
                {
                    self.uses.start(ev.index, b.id, b.name, b.input);
                }
            }
            "content_block_delta" => match ev.delta {
                Some(d) if d.kind.as_deref() == Some("text_delta") => {
                    return Ok(d.text.into_iter().collect());
                }
                Some(d) if d.kind.as_deref() == Some("input_json_delta") => {
                    let index = ev.index.unwrap_or(0);
                    let json = d.partial_json.as_deref().unwrap_or("");
                    if !self.uses.delta(index, json) {
                        return Err(DecodeError::Malformed(format!(
                            "input_json_delta for content block {index}, which is not a tool_use"
                        )));
                    }
                }
                _ => {}
            },
            "message_delta" => {
                if let Some(u) = ev.usage {
                    let usage = self.usage.get_or_insert_default();
                    if let Some(n) = u.output_tokens {
                        usage.completion_tokens = n;
                    }
                    if let Some(n) = u.input_tokens {
                        usage.prompt_tokens = n;
                    }
                }
            }
            "message_stop" => self.done = true,
            "error" => {
                let e = ev.error.unwrap_or_default();
                return Err(DecodeError::Provider(e.text()));
            }
            // ping, content_block_stop and future event types carry no text.
            _ => {}
        }
        Ok(Vec::new())
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
        !self.uses.is_empty()
    }

    fn at_eof(&mut self) -> Result<(), DecodeError> {
        if let Some(ev) = self.sse.finish() {
            self.event(&ev.data)?;
        }
        if self.done {
            Ok(())
        } else {
            Err(DecodeError::Malformed(
                "stream ended before `message_stop`".into(),
            ))
        }
    }

    fn completion(&self) -> Completion {
        Completion {
            content: String::new(),
            model: self.model.clone(),
            usage: self.usage,
            provider_ms: None,
            tool_calls: self.uses.calls(),
        }
    }
}

/// The chat body as JSON, but for `system` when it is the prompt alone:
/// [`chat_body`] writes that from the prompt's escaped form.
fn chat_json(req: &ChatRequest) -> Map<String, Value> {
    // The API takes the system prompt top-level; system turns in history join it.
    let mut joined: Option<String> = None;
    let mut messages = Vec::new();
    for m in &req.messages {
        if m.role == Role::System {
            let system = joined.get_or_insert_with(|| req.system.to_string());
            if !system.is_empty() {
                system.push_str("\n\n");
            }
            system.push_str(&m.content);
        } else {
            messages.push(json!({"role": m.role, "content": m.content}));
        }
    }
    messages.extend(req.tools.turns.iter().flat_map(turn_json));
    let p = &req.params;
    let mut body = Map::new();
    body.insert("model".into(), json!(req.model));
    body.insert("messages".into(), Value::Array(messages));
    body.insert(
        "max_tokens".into(),
        json!(p.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS)),
    );
    body.insert("stream".into(), json!(req.stream));
    if let Some(system) = joined.filter(|s| !s.is_empty()) {
        body.insert("system".into(), json!(system));
    }
    if !req.tools.offered.is_empty() {
        body.insert(
            "tools".into(),
            req.tools.offered.iter().map(tool_json).collect(),
        );
    }
    if let Some(t) = p.temperature {
        body.insert("temperature".into(), json!(t));
    }
    if let Some(t) = p.top_p {
        body.insert("top_p".into(), json!(t));
    }
    if let Some(s) = &p.stop {
        body.insert("stop_sequences".into(), json!(s));
    }
    body.extend(extra_json(&p.extra));
    body
}

fn chat_body(req: &ChatRequest) -> Vec<u8> {
    let rest = chat_json(req);
    // Joined with history turns (or empty), `system` is already in `rest`.
    if rest.contains_key("system") || req.system.is_empty() {
        return to_body(&rest);
    }
    to_body(&Spliced {
        key: "system",
        value: req.system.json(),
        rest: &rest,
    })
}

impl Wire for Anthropic {
    fn chat_url(&self, cfg: &ResolvedProvider) -> String {
        format!("{}/v1/messages", cfg.base_url)
    }

    fn chat_body(&self, _cfg: &ResolvedProvider, req: &ChatRequest) -> Vec<u8> {
        chat_body(req)
    }

    fn headers(
        &self,
        cfg: &ResolvedProvider,
        key: Option<&ApiKey>,
    ) -> Result<HeaderMap, ProviderError> {
        let mut h = HeaderMap::new();
        let key = key
            .and_then(|k| k.header(""))
            .ok_or_else(|| ProviderError::Unavailable {
                provider: cfg.name.clone(),
                url: cfg.base_url.clone(),
                reason: "no API key: set api_key_env to the name of the variable holding it".into(),
            })?;
        h.insert("x-api-key", key);
        h.insert("anthropic-version", HeaderValue::from_static(API_VERSION));
        Ok(h)
    }

    fn decoder(&self) -> Box<dyn StreamDecoder> {
        Box::new(Decoder::default())
    }

    fn parse_whole(&self, body: &str) -> Result<Completion, DecodeError> {
        #[derive(Deserialize)]
        struct Maybe {
            #[serde(default)]
            error: Option<ApiError>,
        }
        if let Ok(Maybe { error: Some(e) }) = serde_json::from_str::<Maybe>(body) {
            return Err(DecodeError::Provider(e.text()));
        }
        let m: MessageObj = serde_json::from_str(body).map_err(|e| {
            DecodeError::Malformed(format!("bad message body {:?}: {e}", short(body)))
        })?;
        let content: String = m
            .content
            .iter()
            .filter(|b| b.kind == "text")
            .map(|b| b.text.as_str())
            .collect();
        let tool_calls = m
            .content
            .into_iter()
            .filter(|b| b.kind == "tool_use")
            .map(|b| block_call(b.id, b.name, b.input))
            .collect();
        Ok(Completion {
            tool_calls,
            content,
            model: m.model,
            usage: m.usage.map(|u| u.usage()),
            provider_ms: None,
        })
    }

    fn error_message(&self, status: u16, body: &str, model: &str) -> String {
        #[derive(Deserialize)]
        struct Wrapped {
            error: ApiError,
        }
        let msg = serde_json::from_str::<Wrapped>(body)
            .map(|w| w.error.text())
            .unwrap_or_else(|_| short(body));
        if status == 404 && !msg.contains(model) {
            format!("{msg} (model `{model}`)")
        } else {
            msg
        }
    }

    fn health_probe(&self, _cfg: &ResolvedProvider) -> HealthProbe {
        HealthProbe::KeyPresent
    }

    /// Not asked: the key is what is checked (as `health` does).
    fn models_url(&self, _cfg: &ResolvedProvider) -> Option<String> {
        None
    }

    fn parse_models(&self, _body: &str) -> Result<Vec<String>, DecodeError> {
        Ok(Vec::new())
    }

    fn missing_model(&self, _cfg: &ResolvedProvider, _model: &str) -> (String, Severity) {
        ("check `model`".to_owned(), Severity::Warn)
    }

    fn unreachable_fix(&self, cfg: &ResolvedProvider) -> String {
        fix_base_url(cfg)
    }
}
