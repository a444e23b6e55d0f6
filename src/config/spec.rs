//! The resolved, validated form of a specialist: defaults merged, provider
//! resolved, prompt rendered. Everything downstream (plan, supervisor,
//! specialist, registry) works on this type and never re-reads files.

use std::fmt;
use std::ops::Deref;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde::Serialize;
use serde_json::value::RawValue;

use super::name::SpecialistName;
use super::types::{ChatLimits, Health, Params, Personality, ProviderKind};

/// A provider as a specialist will use it: built-in or `[providers.NAME]`, with defaults applied.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResolvedProvider {
    /// The name the specialist used (`ollama`, or a `[providers.*]` key).
    pub name: String,
    pub kind: ProviderKind,
    /// Base url with defaults applied and no trailing slash.
    pub base_url: String,
    /// Name of the environment variable holding the key; the key itself is read at use.
    pub api_key_env: Option<String>,
    pub timeouts: ResolvedTimeouts,
    pub max_retries: u32,
    pub keep_alive: Option<String>,
}

impl ResolvedProvider {
    /// What tells two providers apart: the whole resolved config (same
    /// settings, one provider and one connection pool; another timeout or
    /// key variable, another provider).
    pub fn identity(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| format!("{self:?}"))
    }
}

/// Timeouts with every default filled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ResolvedTimeouts {
    pub connect: Duration,
    pub first_token: Duration,
    pub total: Duration,
}

impl Default for ResolvedTimeouts {
    fn default() -> Self {
        ResolvedTimeouts {
            connect: Duration::from_secs(5),
            first_token: Duration::from_secs(120),
            total: Duration::from_secs(600),
        }
    }
}

/// One specialist, ready to run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spec {
    pub name: SpecialistName,
    /// The file it came from (for diagnostics and provenance).
    pub file: PathBuf,
    pub component: String,
    pub title: String,
    pub description: String,
    pub model: String,
    pub provider: ResolvedProvider,
    /// Host to bind (from `[listen] host`).
    pub host: String,
    /// The address other hosts use (from `[listen] advertise`); `host` when unset.
    pub advertise: Option<String>,
    /// Pinned port, or `None` to allocate from the range.
    pub port: Option<u16>,
    pub template: String,
    pub enabled: bool,
    pub personality: Personality,
    /// Params with `[defaults.params]` merged under the file's own.
    pub params: Params,
    pub health: Option<Health>,
    /// What it may spend: its own `[limits]` over `[defaults.limits]`.
    pub limits: ChatLimits,
    /// `[consult]`: the colleagues its model may ask, as the file says.
    pub consult: Option<super::consult::Consult>,
    /// The rendered system prompt, exactly as the provider receives it.
    pub system_prompt: SystemPrompt,
    /// The prompt came from cadre's built-in default template, because the
    /// project has no `templates/specialist.md.j2`: a running specialist whose
    /// prompt came from the file is not switched to it when `templates/` vanishes.
    #[serde(skip)]
    pub builtin_template: bool,
    /// Hash of everything that affects behaviour (hex); changes iff a reload is needed.
    pub generation: String,
}

impl Spec {
    /// The address other hosts use for it: `advertise`, else the bound `host`.
    pub fn address(&self) -> &str {
        self.advertise.as_deref().unwrap_or(&self.host)
    }
}

#[cfg(test)]
impl Spec {
    /// A plain valid spec for unit tests.
    pub(crate) fn example(name: &str) -> Spec {
        Spec {
            name: SpecialistName::parse(name).expect("a valid name"),
            file: PathBuf::from(format!("specialists.d/{name}.toml")),
            component: name.into(),
            title: format!("{name} title"),
            description: String::new(),
            model: "m".into(),
            provider: ResolvedProvider {
                name: "ollama".into(),
                kind: ProviderKind::Ollama,
                base_url: "http://127.0.0.1:11434".into(),
                api_key_env: None,
                timeouts: ResolvedTimeouts::default(),
                max_retries: 2,
                keep_alive: None,
            },
            host: "127.0.0.1".into(),
            advertise: None,
            port: None,
            template: "specialist.md.j2".into(),
            enabled: true,
            personality: Personality::default(),
            params: Params::default(),
            health: None,
            limits: ChatLimits::default(),
            consult: None,
            system_prompt: SystemPrompt::default(),
            builtin_template: false,
            generation: String::new(),
        }
    }
}

/// A rendered system prompt, shared rather than copied.
///
/// With the default template every prompt lists the whole team, so at 1000
/// specialists one prompt is ~46 KB. A spec is cloned on its way from the
/// loader through the plan to the supervisor's slot and the listener's
/// serving state; sharing the text keeps one copy per specialist (and lets
/// the render cache hand the same text to every later load). Equality
/// compares pointers first, so comparing an unchanged prompt is O(1).
#[derive(Clone, Default)]
pub struct SystemPrompt(Arc<Shared>);

#[derive(Default)]
struct Shared {
    text: Box<str>,
    /// The text as a JSON string literal, escaped on the first chat and kept:
    /// every provider request carries the prompt, and escaping 46 KB on each
    /// one was most of what a chat cost with 1000 specialists (issue 15).
    /// Made lazily so an idle specialist holds one copy, not two.
    json: OnceLock<Box<RawValue>>,
}

impl SystemPrompt {
    pub fn as_str(&self) -> &str {
        &self.0.text
    }

    /// Whether both are the same shared text (not just equal text): a render reused, not redone.
    pub fn shares(&self, other: &SystemPrompt) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// The text as a JSON string (quoted and escaped), ready to be written
    /// into a request body as is.
    pub fn json(&self) -> &RawValue {
        self.0.json.get_or_init(|| {
            // Neither can fail: serde_json writes any str as a valid JSON string.
            serde_json::to_string(&*self.0.text)
                .ok()
                .and_then(|quoted| RawValue::from_string(quoted).ok())
                .unwrap_or_else(empty_json)
        })
    }
}

fn empty_json() -> Box<RawValue> {
    RawValue::from_string("\"\"".into()).expect("a valid JSON string")
}

impl Deref for SystemPrompt {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0.text
    }
}

impl AsRef<str> for SystemPrompt {
    fn as_ref(&self) -> &str {
        &self.0.text
    }
}

impl From<String> for SystemPrompt {
    fn from(s: String) -> Self {
        SystemPrompt(Arc::new(Shared {
            text: s.into_boxed_str(),
            json: OnceLock::new(),
        }))
    }
}

impl From<&str> for SystemPrompt {
    fn from(s: &str) -> Self {
        SystemPrompt::from(s.to_owned())
    }
}

impl PartialEq for SystemPrompt {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0.text == other.0.text
    }
}

impl Eq for SystemPrompt {}

impl PartialEq<str> for SystemPrompt {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for SystemPrompt {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Debug for SystemPrompt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for SystemPrompt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for SystemPrompt {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}
