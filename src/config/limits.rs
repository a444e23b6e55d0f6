//! `[limits]`: what a specialist may spend (applied by [`crate::usage`]).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What a specialist may spend: per specialist in its `[limits]`, or for
/// every specialist in `[defaults.limits]` of cadre.toml (a specialist's own
/// value wins, field by field). Unset means unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatLimits {
    /// Chats answered at once; further chats wait their turn (first come, first served).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrent: Option<std::num::NonZeroU32>,
    /// Chats accepted in any 60 s; beyond it a chat gets `rate_limited` with `retry_after_ms`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_minute: Option<std::num::NonZeroU32>,
    /// Prompt plus completion tokens per UTC day; once reached, chats get `budget_exceeded` until midnight UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_per_day: Option<std::num::NonZeroU64>,
}

impl ChatLimits {
    /// `self`'s values, with `defaults` where `self` sets none.
    pub fn or(self, defaults: ChatLimits) -> ChatLimits {
        ChatLimits {
            max_concurrent: self.max_concurrent.or(defaults.max_concurrent),
            requests_per_minute: self.requests_per_minute.or(defaults.requests_per_minute),
            tokens_per_day: self.tokens_per_day.or(defaults.tokens_per_day),
        }
    }

    /// No limit at all: the chat path skips the limiter entirely.
    pub fn is_unlimited(&self) -> bool {
        *self == ChatLimits::default()
    }
}
