//! A2A (Agent2Agent) v1.0 over its JSON-RPC binding, for every agent of the
//! daemon: `POST /a2a/NAME` takes JSON-RPC, `GET /a2a/NAME/.well-known/agent-card.json`
//! is its card, `/.well-known/agent-card.json` describes the whole team.
//!
//! # Versions
//! The `A2A-Version` header (or the `A2A-Version` query parameter) selects
//! the semantics, `Major.Minor` only; absent or empty means `0.3` (spec §3.6.2).
//! `1.0` and `0.3` are served; anything else is `VersionNotSupportedError`
//! (-32009). The v1.0 method names and the v0.3 ones (`message/send`,
//! `message/stream`, `tasks/get`, `tasks/cancel`, `tasks/resubscribe`, …) are
//! aliases of one method table; the version decides the JSON spelling of
//! results (see [`wire`]).
//!
//! # Tasks
//! Every message starts a task whose answer is one artifact (`answer`),
//! streamed as chunks. Tasks live in memory ([`store`]): bounded in number,
//! terminal ones dropped after a TTL. A `contextId` carries a conversation:
//! a later message with the same one gets the earlier exchanges as history
//! (bounded). A provider failure is a `TASK_STATE_FAILED` task whose status
//! message carries the socket protocol's error code, never a completed task
//! whose text is an error. CancelTask drops the chat, which closes the
//! specialist's provider request.
//!
//! # Why the wire is written here
//! The A2A project's Rust crates (`a2a-lf`, `a2a-server-lf`) bring their own
//! task executor, store and axum router, and v1.0 only; cadre needs both
//! versions' spellings on one endpoint, its own chat path and the daemon's
//! auth. The surface used is six methods over a JSON-RPC core shared with the
//! MCP server ([`crate::jsonrpc`]), ~1 kLoC without a new dependency (no
//! extra compile time or `target/` size on the 2-core CI). The official
//! Python SDK (`a2a-sdk`) is the judge: `tests/sdk/a2a_client.py`.

pub mod card;
pub mod methods;
mod runner;
pub mod store;
pub mod wire;

use serde_json::{Value, json};

use crate::jsonrpc::{INTERNAL_ERROR, INVALID_PARAMS, RpcError};

pub use methods::{Reply, Server};

/// The protocol versions served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V0_3,
    V1_0,
}

impl Version {
    /// From the `A2A-Version` header, else the query parameter.
    pub fn select(header: Option<&str>, query: Option<&str>) -> Result<Version, A2aError> {
        let given = header.or(query).map(str::trim).unwrap_or("");
        if given.is_empty() {
            return Ok(Version::V0_3);
        }
        let mut nums = given.split('.');
        let major = nums.next().and_then(|n| n.parse::<u32>().ok());
        let minor = match nums.next() {
            None => Some(0),
            Some(n) => n.parse::<u32>().ok(),
        };
        let patch_ok = nums.all(|n| n.parse::<u32>().is_ok());
        match (major, minor, patch_ok) {
            (Some(1), Some(0), true) => Ok(Version::V1_0),
            (Some(0), Some(3), true) => Ok(Version::V0_3),
            _ => Err(A2aError::VersionNotSupported(given.to_owned())),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Version::V0_3 => "0.3",
            Version::V1_0 => "1.0",
        }
    }
}

/// The errors of A2A §3.3.2, as JSON-RPC errors (§5.4).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum A2aError {
    #[error("task {0:?} not found")]
    TaskNotFound(String),
    #[error("task {id:?} is {state} and cannot be canceled")]
    TaskNotCancelable { id: String, state: &'static str },
    #[error("push notifications are not supported by this agent")]
    PushNotSupported,
    #[error("{0}")]
    Unsupported(String),
    #[error("{0}")]
    ContentType(String),
    #[error("A2A version {0:?} is not supported; use 1.0 or 0.3")]
    VersionNotSupported(String),
    #[error("{0}")]
    InvalidParams(String),
    #[error("{0}")]
    Internal(String),
}

impl A2aError {
    fn code_and_reason(&self) -> (i64, &'static str) {
        match self {
            A2aError::TaskNotFound(_) => (-32001, "TASK_NOT_FOUND"),
            A2aError::TaskNotCancelable { .. } => (-32002, "TASK_NOT_CANCELABLE"),
            A2aError::PushNotSupported => (-32003, "PUSH_NOTIFICATION_NOT_SUPPORTED"),
            A2aError::Unsupported(_) => (-32004, "UNSUPPORTED_OPERATION"),
            A2aError::ContentType(_) => (-32005, "CONTENT_TYPE_NOT_SUPPORTED"),
            A2aError::VersionNotSupported(_) => (-32009, "VERSION_NOT_SUPPORTED"),
            A2aError::InvalidParams(_) => (INVALID_PARAMS, "INVALID_PARAMS"),
            A2aError::Internal(_) => (INTERNAL_ERROR, "INTERNAL"),
        }
    }

    /// The JSON-RPC error, with a `google.rpc.ErrorInfo` detail (§9.5).
    pub fn to_rpc(&self) -> RpcError {
        let (code, reason) = self.code_and_reason();
        let mut metadata = json!({});
        match self {
            A2aError::TaskNotFound(id) | A2aError::TaskNotCancelable { id, .. } => {
                metadata["taskId"] = json!(id);
            }
            A2aError::VersionNotSupported(v) => {
                metadata["requestedVersion"] = json!(v);
                metadata["supportedVersions"] = json!("1.0,0.3");
            }
            _ => {}
        }
        RpcError::new(code, self.to_string()).with_data(Value::Array(vec![json!({
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": reason,
            "domain": "a2a-protocol.org",
            "metadata": metadata,
        })]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_select_as_the_spec_says() {
        assert_eq!(Version::select(None, None), Ok(Version::V0_3));
        assert_eq!(Version::select(Some(""), None), Ok(Version::V0_3));
        assert_eq!(Version::select(Some("1.0"), None), Ok(Version::V1_0));
        assert_eq!(Version::select(Some("1.0.3"), None), Ok(Version::V1_0));
        assert_eq!(Version::select(None, Some("1.0")), Ok(Version::V1_0));
        assert_eq!(Version::select(Some("0.3.0"), None), Ok(Version::V0_3));
        for bad in ["0.5", "2.0", "1.1", "x", "1.0.x"] {
            let e = Version::select(Some(bad), None).unwrap_err();
            assert_eq!(e.to_rpc().code, -32009, "{bad}");
        }
    }
}
