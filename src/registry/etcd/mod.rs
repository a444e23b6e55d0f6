//! The registry on etcd (DESIGN §13, issue 17): many daemons on many hosts
//! share one registry. Not yet wired into `cadre up`; this is the store the
//! daemon will use when `[registry] backend = "etcd"`.
//!
//! # Guarantees
//! - One lease per daemon ([`Lease`]), refreshed in the background; every
//!   key the daemon writes hangs on it, so a crashed or partitioned
//!   daemon's entries vanish one TTL after its last refresh.
//! - Port allocation per host in the same transaction as registration
//!   ([`EtcdStore::register`]): a per-host port key created only if absent,
//!   compared with the name's key in one transaction, so no two daemons on
//!   a host ever hold one port and a name is served once per host.
//! - [`EtcdStore::list`] gives the cluster view at one revision and
//!   [`Follower`] follows it from there, resuming after a disconnect from
//!   the last delivered revision on another member.
//! - Any member will do: calls fail over among the endpoints; with no
//!   quorum they fail with [`EtcdError::Unavailable`], typed so the daemon
//!   can keep serving and report "registry unavailable".
//!
//! # Why the JSON gateway and not the `etcd-client` crate
//! etcd serves its v3 API as JSON over HTTP/1.1 on the client port
//! (grpc-gateway, documented in etcd's "gRPC gateway" page, stable under
//! `/v3/` since 3.4). Speaking it with the reqwest client cadre already
//! links costs no new dependency (base64 was already in the tree), no
//! build-time `protoc` (the `etcd-client` crate compiles its protos with
//! `tonic-prost-build`, which fails on a machine with only the Rust
//! toolchain unless a vendored protoc is added), and none of tonic, prost
//! and h2's compile time and binary size on CI's two cores. What cadre needs
//! maps one-to-one onto gateway calls: range/put/deleterange/txn, lease
//! grant/keepalive/revoke, and watch as a streamed reply. The price:
//! base64 and decimal-string encoding (a few microseconds per call), and
//! a keep-alive is one short request per refresh instead of one
//! long-lived bidirectional stream (at TTL/3, ~0.3 requests/s per daemon).
//!
//! # Layout
//! - [`config`]: the settings (`endpoints`, `prefix`, `lease_ttl`, TLS, auth).
//! - [`error`]: the typed [`EtcdError`], free of secrets.
//! - `connect`: the HTTP client (TLS) and the secrets read from the environment.
//! - [`client`]: [`EtcdClient`], gateway calls with endpoint failover.
//! - `auth`: the token exchanged for user and password, renewed when refused.
//! - `frames`: reading streamed replies.
//! - `wire`: the gateway's JSON shapes.
//! - [`keys`]: the key layout; port claims and daemon records.
//! - [`lease`]: [`Lease`], the daemon's lease and its keep-alive.
//! - [`store`]: [`EtcdStore`]: list, update, deregister, daemons.
//! - `alloc`: registration with port allocation in one transaction.
//! - [`watch`]: [`Follower`], the resumable watch.

mod alloc;
mod auth;
pub mod client;
pub mod config;
mod connect;
pub mod error;
mod frames;
pub mod keys;
pub mod lease;
#[cfg(test)]
mod proptests;
pub mod store;
pub mod watch;
#[doc(hidden)]
pub mod wire;

pub use alloc::{PortRequest, Registration};
pub use client::EtcdClient;
pub use config::{AuthSettings, EtcdSettings, TlsSettings};
pub use error::EtcdError;
pub use keys::{DaemonRecord, PortClaim};
pub use lease::{Lease, LeaseState};
pub use store::{Consistency, EtcdStore, Registered, Snapshot};
pub use watch::{Change, Follower};
