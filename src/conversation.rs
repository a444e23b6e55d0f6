//! The words both ends of a chat share: who said what ([`Message`], [`Role`]),
//! what it cost ([`Usage`]) and whether the model is reachable
//! ([`ProviderHealth`]). A leaf module, so the socket protocol and the
//! providers both speak it without depending on each other.

use serde::{Deserialize, Serialize};

/// Who said a message in the conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

/// One message of history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

/// Token counts of one chat: as the provider reported them, or, when it
/// reported none, estimated by cadre (`estimated: true`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub estimated: bool,
}

/// Reachability of a provider, as `health` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderHealth {
    pub name: String,
    pub kind: String,
    pub reachable: bool,
    /// Why it is not reachable (never contains a secret).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}
