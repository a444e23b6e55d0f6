//! Per-specialist counters: lock-free, read by `info`, `status` and `/metrics`.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

use crate::protocol::{ErrorCode, RequestKind};

/// Upper bounds (ms) of the chat latency histogram buckets of `/metrics`.
pub const LATENCY_BUCKETS_MS: [u64; 12] =
    [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000];

/// Histogram buckets: one per bound, and one for slower answers.
pub const LATENCY_BUCKETS: usize = LATENCY_BUCKETS_MS.len() + 1;

/// One counter per error code.
const CODES: usize = ErrorCode::ALL.len();

/// Counters for `info`, `status` and `/metrics`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CountersSnapshot {
    /// Chats received (answered or not): what REQUESTS shows.
    pub requests: u64,
    /// `ping`, `health` and `info` requests, counted apart from chats so the
    /// probes of `status` and monitors never look like use.
    pub pings: u64,
    pub healths: u64,
    pub infos: u64,
    pub errors: u64,
    pub in_flight: u64,
    pub last_latency_ms: Option<u64>,
    /// Error replies per code, indexed by [`ErrorCode::index`]; errors without a
    /// reply (the client left mid-chat) are only in `errors`.
    #[serde(skip)]
    pub errors_by_code: [u64; CODES],
    /// Answered chats per latency bucket (non-cumulative), indexed like
    /// [`LATENCY_BUCKETS_MS`], the last one for slower answers.
    #[serde(skip)]
    pub latency_buckets: [u64; LATENCY_BUCKETS],
    #[serde(skip)]
    pub latency_sum_ms: u64,
}

impl CountersSnapshot {
    /// Error replies with `code`.
    pub fn errors_of(&self, code: ErrorCode) -> u64 {
        self.errors_by_code[code.index()]
    }
}

const NO_LATENCY: u64 = u64::MAX;

#[derive(Debug)]
pub(crate) struct Counters {
    requests: AtomicU64,
    pings: AtomicU64,
    healths: AtomicU64,
    infos: AtomicU64,
    errors: AtomicU64,
    in_flight: AtomicU64,
    last_latency_ms: AtomicU64,
    errors_by_code: [AtomicU64; CODES],
    latency_buckets: [AtomicU64; LATENCY_BUCKETS],
    latency_sum_ms: AtomicU64,
}

impl Default for Counters {
    fn default() -> Self {
        Counters {
            requests: AtomicU64::new(0),
            pings: AtomicU64::new(0),
            healths: AtomicU64::new(0),
            infos: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            in_flight: AtomicU64::new(0),
            last_latency_ms: AtomicU64::new(NO_LATENCY),
            errors_by_code: Default::default(),
            latency_buckets: Default::default(),
            latency_sum_ms: AtomicU64::new(0),
        }
    }
}

impl Counters {
    /// One request of `kind`: a chat counts in `requests`, the rest apart.
    pub(crate) fn request(&self, kind: RequestKind) {
        let counter = match kind {
            RequestKind::Chat => &self.requests,
            RequestKind::Ping => &self.pings,
            RequestKind::Health => &self.healths,
            RequestKind::Info => &self.infos,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn error(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }

    /// An error reply with `code` (also counted in `errors`).
    pub(crate) fn error_code(&self, code: ErrorCode) {
        self.error();
        self.errors_by_code[code.index()].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn latency(&self, ms: u64) {
        self.last_latency_ms
            .store(ms.min(NO_LATENCY - 1), Ordering::Relaxed);
        let bucket = LATENCY_BUCKETS_MS
            .iter()
            .position(|b| ms <= *b)
            .unwrap_or(LATENCY_BUCKETS_MS.len());
        self.latency_buckets[bucket].fetch_add(1, Ordering::Relaxed);
        self.latency_sum_ms.fetch_add(ms, Ordering::Relaxed);
    }

    /// Counts one request in flight until the guard drops (also on cancel or panic).
    pub(crate) fn in_flight(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self)
    }

    /// Chats in flight now (what a balancer needs, without the whole snapshot).
    pub(crate) fn in_flight_now(&self) -> u64 {
        self.in_flight.load(Ordering::Relaxed)
    }

    pub(crate) fn snapshot(&self) -> CountersSnapshot {
        let last = self.last_latency_ms.load(Ordering::Relaxed);
        CountersSnapshot {
            requests: self.requests.load(Ordering::Relaxed),
            pings: self.pings.load(Ordering::Relaxed),
            healths: self.healths.load(Ordering::Relaxed),
            infos: self.infos.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            in_flight: self.in_flight.load(Ordering::Relaxed),
            last_latency_ms: (last != NO_LATENCY).then_some(last),
            errors_by_code: std::array::from_fn(|i| self.errors_by_code[i].load(Ordering::Relaxed)),
            latency_buckets: std::array::from_fn(|i| {
                self.latency_buckets[i].load(Ordering::Relaxed)
            }),
            latency_sum_ms: self.latency_sum_ms.load(Ordering::Relaxed),
        }
    }
}

pub(crate) struct InFlight<'a>(&'a Counters);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}
