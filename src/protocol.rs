//! The socket protocol (DESIGN §5): newline-delimited JSON over TCP.

use serde::{Deserialize, Serialize};

/// Error codes of error replies; the wire names are part of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    BadJson,
    BadRequest,
    UnknownType,
    TooLarge,
    ProviderUnavailable,
    ProviderError,
    Timeout,
    ShuttingDown,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadJson => "bad_json",
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::UnknownType => "unknown_type",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::ProviderUnavailable => "provider_unavailable",
            ErrorCode::ProviderError => "provider_error",
            ErrorCode::Timeout => "timeout",
            ErrorCode::ShuttingDown => "shutting_down",
        }
    }
}

/// Longest accepted request line, newline excluded.
pub const MAX_LINE: usize = 1024 * 1024;
