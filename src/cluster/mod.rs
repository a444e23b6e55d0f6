//! Many daemons, one registry (DESIGN §13): the registry backend behind one
//! interface, the cluster view every reader follows, replicas, and the
//! endpoint a client picks.
//!
//! The registry is either the flock-locked file of one machine
//! ([`crate::registry::Registry`]) or an etcd cluster
//! ([`crate::registry::etcd`]); `[registry] backend` in cadre.toml chooses.
//! Whichever it is, the supervisor registers through [`Backend`], and the
//! daemon's readers (the pages, `/api`, `/v1`, team rounds) and the CLI
//! (`status`, `chat`, `team`, `stop`) see the same [`Snapshot`]: every
//! daemon's entries. Losing the registry never stops a running specialist:
//! the backend reports [`Unavailable`] and catches up when it returns.
//!
//! # Layout
//! - [`backend`]: [`Backend`], what the supervisor calls (begin, assert, remove).
//! - `file`: the file backend (transactions on the blocking pool).
//! - `etcd`: the etcd backend: the daemon's lease, registering again when it is lost.
//! - [`view`]: [`Snapshot`] and [`View`], the cluster view a daemon follows
//!   (polling the file, watching etcd); [`view::read`] for one-shot readers.
//! - [`replicas`]: entries grouped by name: one specialist, its endpoints, `diverged`.
//! - [`pick`]: the endpoint to talk to (fewest chats in flight) and failover before
//!   the first token; [`failover`]: one whole chat that way, over the socket protocol.
//! - [`daemons`]: finding the daemons of a registry and their control sockets.

pub mod backend;
pub mod daemons;
mod etcd;
pub mod failover;
mod file;
pub mod pick;
pub mod replicas;
pub mod view;

pub use backend::{Alloc, Backend, BackendError, Identity, Refusal};
pub use replicas::Replicated;
pub use view::{Snapshot, Unavailable, View};
