//! Reply lines: what a specialist answers, one JSON object a line; the
//! types a client reads back (chunks, the final response or error, the
//! consultation lines, pong, health and info; what `info` and `health`
//! carry is in `info.rs`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{ErrorCode, HealthStatus, Info};
use crate::config::SpecialistName;
use crate::conversation::{ProviderHealth, Usage};
use crate::health::ComponentHealth;

/// One reply line. Every reply names the specialist and echoes the request's `id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    pub specialist: SpecialistName,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Value>,
    #[serde(flatten)]
    pub body: ReplyBody,
}

/// The typed part of a reply; `type` on the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ReplyBody {
    /// A piece of a streamed answer.
    Chunk {
        content: String,
    },
    /// The whole answer.
    Response {
        content: String,
        model: String,
        usage: Usage,
        latency_ms: u64,
        /// The colleagues asked on the way (absent when none was).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        consulted: Vec<Consulted>,
    },
    /// The model asks colleague `to` (the `ask_colleague` tool); `specialist`
    /// is the one asking (a colleague's own consultations show up too).
    Consult {
        to: String,
        question: String,
    },
    /// What `to` answered, or why not: the tool result the asking model
    /// receives (an error is the model's to handle, not the chat's).
    ConsultResult {
        to: String,
        ok: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        content: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
        latency_ms: u64,
    },
    Pong,
    HealthResponse {
        status: HealthStatus,
        provider: ProviderHealth,
        /// The component's health as last polled; `null` without a `[health] url`.
        #[serde(default)]
        component: Option<ComponentHealth>,
    },
    InfoResponse(Box<Info>),
    Error {
        code: ErrorCode,
        error: String,
        /// `rate_limited` and `budget_exceeded`: when a retry can succeed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after_ms: Option<u64>,
    },
}

impl ReplyBody {
    /// A `consult` or `consult_result` line: what a chat shows of its
    /// specialist asking colleagues, which callers that want only the answer
    /// (`/v1`, A2A, MCP) skip.
    pub fn is_consultation(&self) -> bool {
        matches!(
            self,
            ReplyBody::Consult { .. } | ReplyBody::ConsultResult { .. }
        )
    }
}

/// One consultation of a chat, as the final `response` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consulted {
    pub to: String,
    pub question: String,
    pub latency_ms: u64,
    /// False when the colleague failed or the consultation was refused.
    pub ok: bool,
}

impl Reply {
    pub fn error(
        specialist: &SpecialistName,
        id: Option<Value>,
        code: ErrorCode,
        error: impl Into<String>,
    ) -> Reply {
        Reply {
            specialist: specialist.clone(),
            id,
            body: ReplyBody::Error {
                code,
                error: error.into(),
                retry_after_ms: None,
            },
        }
    }

    /// The reply as one line, newline included.
    pub fn to_line(&self) -> Vec<u8> {
        // Serializing these types cannot fail: every map key is a string and no
        // custom Serialize impl can error. Fall back to a fixed error line anyway.
        let mut v = serde_json::to_vec(self).unwrap_or_else(|_| {
            br#"{"type":"error","code":"provider_error","error":"reply could not be encoded"}"#
                .to_vec()
        });
        v.push(b'\n');
        v
    }
}
