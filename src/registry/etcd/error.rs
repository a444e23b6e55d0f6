//! Typed errors of the etcd backend. None carries a secret: passwords and
//! tokens never enter a message, endpoints carry no credentials (refused at
//! parse), and etcd's own messages name keys and leases, never values.

use std::path::PathBuf;

/// Errors of the etcd client and store.
#[derive(Debug, thiserror::Error)]
pub enum EtcdError {
    /// No endpoint answered within its timeout, or every one that answered
    /// had no quorum (no leader, request timed out). The registry is
    /// unavailable; a running specialist keeps serving.
    #[error("etcd unavailable: none of {tried} endpoint(s) answered ({last})")]
    Unavailable { tried: usize, last: String },

    /// etcd refused the request (a gRPC status other than "unavailable").
    #[error("etcd at {endpoint} refused {call}: {message} (code {code})")]
    Server {
        endpoint: String,
        call: &'static str,
        code: i32,
        message: String,
    },

    /// The reply was not what the gateway documents.
    #[error("etcd at {endpoint} answered {call} with something unexpected: {detail}")]
    BadReply {
        endpoint: String,
        call: &'static str,
        detail: String,
    },

    /// The lease is gone (expired or revoked): every entry on it vanished.
    /// The daemon must grant a new lease and register again.
    #[error("etcd lease {lease:x} is gone (expired or revoked)")]
    LeaseLost { lease: i64 },

    /// Another live daemon on this host serves this name.
    #[error("specialist `{name}` on {host} is held by another daemon (lease {lease:x})")]
    NameHeld {
        host: String,
        name: String,
        lease: i64,
    },

    /// A pinned port is claimed by another specialist on this host.
    #[error("pinned port {port} on {host} is already held by specialist `{name}`")]
    PortHeld {
        host: String,
        port: u16,
        name: String,
    },

    /// A pinned port is free in etcd but could not be bound here.
    #[error("pinned port {port} on {host} is in use by another program")]
    PinnedPortInUse { host: String, port: u16 },

    /// Every port of the range is claimed or held by a foreign program.
    #[error("no free port in range {start}-{end} on {host}")]
    NoFreePort { host: String, start: u16, end: u16 },

    /// The range is empty or reversed.
    #[error("invalid port range {start}-{end}: need 1 <= start <= end")]
    InvalidRange { start: u16, end: u16 },

    /// A host or name that cannot be part of a key (empty, `/`, control characters).
    #[error("{what} `{value}` cannot be used in an etcd key: {reason}")]
    InvalidKeyPart {
        what: &'static str,
        value: String,
        reason: &'static str,
    },

    /// Many daemons kept winning the same ports: gave up after this many rounds.
    #[error("port allocation on {host} lost {rounds} races in a row; try again")]
    Contended { host: String, rounds: usize },

    /// The settings cannot work (checked before any request).
    #[error("etcd settings: {0}")]
    Config(String),

    /// A variable named by the settings is unset or empty.
    #[error("environment variable {var} (named by {field}) is not set or empty")]
    SecretEnv { var: String, field: &'static str },

    /// A TLS file could not be read or parsed.
    #[error("etcd tls {what} {path}: {reason}")]
    Tls {
        what: &'static str,
        path: PathBuf,
        reason: String,
    },

    /// etcd refused the user or password (the password is not shown).
    #[error("etcd refused the credentials of user `{user}`")]
    AuthFailed { user: String },

    /// Building the HTTP client failed.
    #[error("cannot build the etcd HTTP client: {0}")]
    Client(String),
}

impl EtcdError {
    /// Whether the failure means "etcd cannot be reached or has no quorum"
    /// (worth retrying later) rather than a refusal.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, EtcdError::Unavailable { .. })
    }
}
