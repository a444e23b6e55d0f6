//! What differs between wire formats, as a trait the shared driver calls.
//! Each format (ollama, openai, anthropic) implements it in its own module.

use reqwest::header::HeaderMap;

use super::secret::ApiKey;
use super::{ChatRequest, Completion, ProviderError};
use crate::config::ResolvedProvider;
use crate::health::Severity;

/// Why a streamed line or a whole body could not be used.
#[derive(Debug, Clone, PartialEq)]
pub enum DecodeError {
    /// Not the documented format.
    Malformed(String),
    /// The provider reported an error inside a 200 stream.
    Provider(String),
}

/// Parses one streamed body, line by line.
pub trait StreamDecoder: Send {
    /// One complete line (no newline). Returns text to forward to the client.
    fn line(&mut self, line: &str) -> Result<Vec<String>, DecodeError>;
    /// The final record was seen: stop reading.
    fn is_done(&self) -> bool;
    /// The body ended; fail unless the stream was complete.
    fn at_eof(&mut self) -> Result<(), DecodeError>;
    /// Usage, model, timings and tool calls gathered so far (content is
    /// filled by the driver).
    fn completion(&self) -> Completion;
    /// A tool call has begun streaming: the model is producing output even
    /// though no text came, so the wait between pieces is a stall, not the
    /// first token.
    fn calling(&self) -> bool {
        false
    }
}

/// How to reach a provider's health, per kind.
pub enum HealthProbe {
    /// GET this url; 2xx is reachable.
    Get(String),
    /// Nothing to ask; reachable iff the key is configured (Anthropic).
    KeyPresent,
}

/// One wire format.
pub trait Wire: Send + Sync + 'static {
    /// Where chats are posted; depends on the provider's config only, so the
    /// driver parses it once per provider instead of once per chat.
    fn chat_url(&self, cfg: &ResolvedProvider) -> String;
    /// JSON body of a chat, serialized.
    fn chat_body(&self, cfg: &ResolvedProvider, req: &ChatRequest) -> Vec<u8>;
    /// Auth and version headers; the key was read at use by the caller.
    fn headers(
        &self,
        cfg: &ResolvedProvider,
        key: Option<&ApiKey>,
    ) -> Result<HeaderMap, ProviderError>;
    fn decoder(&self) -> Box<dyn StreamDecoder>;
    /// Parse a non-streamed answer.
    fn parse_whole(&self, body: &str) -> Result<Completion, DecodeError>;
    /// The provider's own words for an error status, with a hint where one helps.
    fn error_message(&self, status: u16, body: &str, model: &str) -> String;
    fn health_probe(&self, cfg: &ResolvedProvider) -> HealthProbe;
    /// Where the provider lists the models it serves; `None` when it cannot
    /// tell (then only the key and reachability are checked).
    fn models_url(&self, cfg: &ResolvedProvider) -> Option<String>;
    /// The model names in a model list's body.
    fn parse_models(&self, body: &str) -> Result<Vec<String>, DecodeError>;
    /// Whether `listed` holds `model`, as this provider spells model names.
    fn lists(&self, listed: &[String], model: &str) -> bool {
        listed.iter().any(|m| m == model)
    }
    /// What to do about a model the provider does not list, and whether a
    /// chat with it surely fails.
    fn missing_model(&self, cfg: &ResolvedProvider, model: &str) -> (String, Severity);
    /// What to do when nothing answers at the provider's url.
    fn unreachable_fix(&self, cfg: &ResolvedProvider) -> String;
}

/// The fix for a provider of a `[providers.NAME]` entry that does not answer.
pub fn fix_base_url(cfg: &ResolvedProvider) -> String {
    format!(
        "start it, or point `base_url` of [providers.{}] in cadre.toml at where it runs",
        cfg.name
    )
}

/// Convert `[params.extra]` TOML values to JSON for a request body.
pub fn extra_json(
    extra: &std::collections::BTreeMap<String, toml::Value>,
) -> serde_json::Map<String, serde_json::Value> {
    extra
        .iter()
        .filter_map(|(k, v)| serde_json::to_value(v).ok().map(|v| (k.clone(), v)))
        .collect()
}

/// Cut an error body to a readable size (some servers return HTML pages).
pub fn short(body: &str) -> String {
    const MAX: usize = 500;
    let body = body.trim();
    if body.len() <= MAX {
        return body.to_string();
    }
    let mut end = MAX;
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &body[..end])
}

/// A JSON object body with one field written from its own `Serialize`
/// (the one holding the system prompt, so its already-escaped form is copied
/// in, not escaped again on every chat), then the rest. A key in `rest` wins,
/// as `[params.extra]` overrides any field of the body.
pub struct Spliced<'a, T> {
    pub key: &'static str,
    pub value: T,
    pub rest: &'a serde_json::Map<String, serde_json::Value>,
}

impl<T: serde::Serialize> serde::Serialize for Spliced<'_, T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        if !self.rest.contains_key(self.key) {
            m.serialize_entry(self.key, &self.value)?;
        }
        for (k, v) in self.rest {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// A chat message whose content is an already-escaped JSON string (the system prompt).
#[derive(serde::Serialize)]
pub struct RawMessage<'a> {
    pub role: super::Role,
    pub content: &'a serde_json::value::RawValue,
}

/// Serialize a request body. Cannot fail for the bodies built here (string
/// keys, no fallible `Serialize` impls, floats already turned into JSON
/// numbers or null by `json!`); an empty body would be refused by the provider.
pub fn to_body(body: &impl serde::Serialize) -> Vec<u8> {
    serde_json::to_vec(body).unwrap_or_default()
}
