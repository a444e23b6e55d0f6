//! Per-specialist counters: lock-free, read by `info`, `status` and `/metrics`.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

/// Counters for `info`, `status` and `/metrics`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CountersSnapshot {
    pub requests: u64,
    pub errors: u64,
    pub in_flight: u64,
    pub last_latency_ms: Option<u64>,
}

const NO_LATENCY: u64 = u64::MAX;

#[derive(Debug)]
pub(crate) struct Counters {
    requests: AtomicU64,
    errors: AtomicU64,
    in_flight: AtomicU64,
    last_latency_ms: AtomicU64,
}

impl Default for Counters {
    fn default() -> Self {
        Counters {
            requests: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            in_flight: AtomicU64::new(0),
            last_latency_ms: AtomicU64::new(NO_LATENCY),
        }
    }
}

impl Counters {
    pub(crate) fn request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn error(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn latency(&self, ms: u64) {
        self.last_latency_ms
            .store(ms.min(NO_LATENCY - 1), Ordering::Relaxed);
    }

    /// Counts one request in flight until the guard drops (also on cancel or panic).
    pub(crate) fn in_flight(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self)
    }

    pub(crate) fn snapshot(&self) -> CountersSnapshot {
        let last = self.last_latency_ms.load(Ordering::Relaxed);
        CountersSnapshot {
            requests: self.requests.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            in_flight: self.in_flight.load(Ordering::Relaxed),
            last_latency_ms: (last != NO_LATENCY).then_some(last),
        }
    }
}

pub(crate) struct InFlight<'a>(&'a Counters);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}
