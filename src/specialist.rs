//! One specialist: a TCP listener and its connections (DESIGN §5).
//!
//! The listener arrives already bound (the registry allocated it inside its
//! transaction). The current spec and provider sit behind an atomic swap, so a
//! reload never rebinds or closes a connection and a chat in flight finishes
//! on the spec it started with.
//!
//! STUB: the signatures are the contract; issue 4 implements the bodies.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::config::{Limits, Spec};
use crate::provider::Provider;

/// What a specialist serves right now; swapped whole on reload.
#[derive(Clone)]
pub struct Serving {
    pub spec: Arc<Spec>,
    pub provider: Arc<dyn Provider>,
}

/// Counters for `info`, `status` and `/metrics`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CountersSnapshot {
    pub requests: u64,
    pub errors: u64,
    pub in_flight: u64,
    pub last_latency_ms: Option<u64>,
}

/// A running specialist. Dropping it does not stop it; call [`SpecialistHandle::drain`].
pub struct SpecialistHandle {
    _private: (),
}

impl SpecialistHandle {
    /// Start serving on `listener` (must be bound; it is set non-blocking here).
    /// Must be called inside a tokio runtime.
    pub fn spawn(
        listener: std::net::TcpListener,
        serving: Serving,
        limits: Limits,
    ) -> std::io::Result<SpecialistHandle> {
        let _ = (listener, serving, limits);
        todo!("issue 4")
    }

    pub fn local_addr(&self) -> SocketAddr {
        todo!("issue 4")
    }

    /// Swap what is served; open connections keep working.
    pub fn reload(&self, serving: Serving) {
        let _ = serving;
        todo!("issue 4")
    }

    pub fn counters(&self) -> CountersSnapshot {
        todo!("issue 4")
    }

    /// Stop accepting, let in-flight chats finish up to `timeout`, close.
    pub async fn drain(self, timeout: Duration) {
        let _ = timeout;
        todo!("issue 4")
    }
}
