//! Which endpoint a chat goes to, and failing over (DESIGN §13): the live
//! endpoint with the fewest chats in flight, the local one on a tie (no
//! network in between), then at random so clients spread; on a connect
//! error, a connection closed before any reply, or `shutting_down` before
//! the first token, the next one. After the first token a failure is the
//! chat's: the answer cannot be restarted without the client seeing it.
//!
//! In flight is what the picker knows: a local endpoint's own counter (every
//! client's chats) and, for any endpoint, the chats this process has open to
//! it. An endpoint that just failed is tried last for a few seconds, so a
//! dead host costs one connect error, not one per chat.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rand::seq::SliceRandom;

use crate::client::{Client, ClientError};
use crate::protocol::{ErrorCode, Reply, ReplyBody, Request};

/// How long an endpoint that failed is tried last.
pub const SUSPECT_FOR: Duration = Duration::from_secs(5);

/// One endpoint a chat can go to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Where to connect (a wildcard bind is reached over loopback).
    pub host: String,
    pub port: u16,
    /// Served by this process: the in-process path, no network.
    pub local: bool,
    /// Chats in flight as the endpoint itself counts them, when known.
    pub in_flight: u64,
}

impl Target {
    pub fn addr(&self) -> String {
        crate::net::socket::host_port(&self.host, self.port)
    }
}

#[derive(Debug, Default)]
struct Stats {
    open: u64,
    failed_at: Option<Instant>,
}

/// Chats this process has open per endpoint, and recent failures. Share one
/// per process (`Arc`).
#[derive(Debug, Default)]
pub struct Balancer {
    stats: Mutex<HashMap<(String, u16), Stats>>,
}

/// One chat counted as in flight to its endpoint until dropped.
pub struct InFlight {
    balancer: Arc<Balancer>,
    key: (String, u16),
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut stats = self.balancer.lock();
        if let Some(s) = stats.get_mut(&self.key) {
            s.open = s.open.saturating_sub(1);
        }
    }
}

impl Balancer {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, u16), Stats>> {
        self.stats.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `targets` in the order to try them.
    pub fn order(&self, mut targets: Vec<Target>) -> Vec<Target> {
        targets.shuffle(&mut rand::rng());
        let stats = self.lock();
        let now = Instant::now();
        let key = |t: &Target| {
            let s = stats.get(&(t.host.clone(), t.port));
            let suspect = s
                .and_then(|s| s.failed_at)
                .is_some_and(|at| now.duration_since(at) < SUSPECT_FOR);
            let load = t.in_flight + s.map_or(0, |s| s.open);
            (suspect, load, !t.local)
        };
        // A stable sort keeps the shuffle among equals.
        targets.sort_by_cached_key(key);
        targets
    }

    /// Count a chat to `t` until the guard is dropped.
    pub fn start(self: &Arc<Self>, t: &Target) -> InFlight {
        let key = (t.host.clone(), t.port);
        self.lock().entry(key.clone()).or_default().open += 1;
        InFlight {
            balancer: self.clone(),
            key,
        }
    }

    /// `t` failed: try it last for a while.
    pub fn failed(&self, t: &Target) {
        self.lock()
            .entry((t.host.clone(), t.port))
            .or_default()
            .failed_at = Some(Instant::now());
    }

    /// `t` answered: forget an earlier failure.
    pub fn answered(&self, t: &Target) {
        if let Some(s) = self.lock().get_mut(&(t.host.clone(), t.port)) {
            s.failed_at = None;
        }
    }
}

/// How opening a chat on one endpoint went.
pub enum Open<S> {
    /// The first reply is in: stay with this endpoint.
    Ready(S),
    /// Nothing reached the client: try the next endpoint.
    Retry(String),
}

impl<S> Open<S> {
    pub fn map<T>(self, f: impl FnOnce(S) -> T) -> Open<T> {
        match self {
            Open::Ready(s) => Open::Ready(f(s)),
            Open::Retry(e) => Open::Retry(e),
        }
    }
}

/// The endpoints tried and why each failed, as errors name them
/// (`host:port: why; …`).
pub fn tried(attempts: &[Attempt]) -> String {
    attempts
        .iter()
        .map(|a| format!("{}: {}", a.target.addr(), a.error))
        .collect::<Vec<_>>()
        .join("; ")
}

/// An endpoint that was tried and failed over from.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub target: Target,
    pub error: String,
    pub at: Instant,
}

/// The endpoint a chat stays with.
pub struct Chosen<S> {
    pub stream: S,
    pub target: Target,
    pub in_flight: InFlight,
    /// The endpoints failed over from, in order.
    pub attempts: Vec<Attempt>,
}

/// Try `targets` in the balancer's order until one opens.
pub async fn first_open<S, F, Fut>(
    balancer: &Arc<Balancer>,
    targets: Vec<Target>,
    mut open: F,
) -> Result<Chosen<S>, Vec<Attempt>>
where
    F: FnMut(Target) -> Fut,
    Fut: std::future::Future<Output = Open<S>>,
{
    let mut attempts = Vec::new();
    for target in balancer.order(targets) {
        let in_flight = balancer.start(&target);
        match open(target.clone()).await {
            Open::Ready(stream) => {
                balancer.answered(&target);
                return Ok(Chosen {
                    stream,
                    target,
                    in_flight,
                    attempts,
                });
            }
            Open::Retry(error) => {
                balancer.failed(&target);
                tracing::debug!(endpoint = %target.addr(), "failing over: {error}");
                attempts.push(Attempt {
                    target,
                    error,
                    at: Instant::now(),
                });
            }
        }
    }
    Err(attempts)
}

/// A reply that means "not here, try another": the endpoint is shutting down.
pub fn fails_over(reply: &Reply) -> bool {
    matches!(
        reply.body,
        ReplyBody::Error {
            code: ErrorCode::ShuttingDown,
            ..
        }
    )
}

/// Open a chat over the socket protocol: connect, send `request`, read the
/// first reply. `connect` bounds the connect, `reply` every later wait. A
/// first reply that timed out stays with the endpoint (the provider is slow,
/// and another replica would likely wait as long): it is the chat's error.
pub async fn open_socket(
    target: &Target,
    request: &Request,
    connect: Duration,
    reply: Duration,
) -> Open<(Client, Result<Reply, ClientError>)> {
    let mut client = match Client::connect(&target.host, target.port, connect).await {
        Ok(c) => c,
        Err(e) => return Open::Retry(e.to_string()),
    };
    client.set_timeout(reply);
    if let Err(e) = client.send(request).await {
        return Open::Retry(e.to_string());
    }
    match client.next_reply().await {
        Ok(r) if fails_over(&r) => Open::Retry(format!("{} is shutting down", target.addr())),
        Ok(r) => Open::Ready((client, Ok(r))),
        Err(e @ ClientError::Timeout { .. }) => Open::Ready((client, Err(e))),
        Err(e) => Open::Retry(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(host: &str, local: bool, in_flight: u64) -> Target {
        Target {
            host: host.into(),
            port: 1,
            local,
            in_flight,
        }
    }

    #[test]
    fn fewest_in_flight_first_local_on_a_tie_failed_last() {
        let b = Arc::new(Balancer::default());
        let order =
            |ts: Vec<Target>| -> Vec<String> { b.order(ts).into_iter().map(|t| t.host).collect() };
        assert_eq!(order(vec![t("a", false, 3), t("b", false, 1)]), ["b", "a"]);
        assert_eq!(order(vec![t("r", false, 0), t("l", true, 0)]), ["l", "r"]);
        // Chats this process has open count too.
        let _open = [b.start(&t("l", true, 0)), b.start(&t("l", true, 0))];
        assert_eq!(order(vec![t("r", false, 1), t("l", true, 0)]), ["r", "l"]);
        b.failed(&t("r", false, 0));
        assert_eq!(order(vec![t("r", false, 0), t("l", true, 0)]), ["l", "r"]);
        b.answered(&t("r", false, 0));
        assert_eq!(order(vec![t("r", false, 0), t("l", true, 0)]), ["r", "l"]);
    }

    #[test]
    fn in_flight_guards_count_down_when_dropped() {
        let b = Arc::new(Balancer::default());
        let g = b.start(&t("a", false, 0));
        assert_eq!(b.lock()[&("a".into(), 1)].open, 1);
        drop(g);
        assert_eq!(b.lock()[&("a".into(), 1)].open, 0);
    }

    #[tokio::test]
    async fn the_first_endpoint_that_opens_is_chosen_after_the_others_failed() {
        let b = Arc::new(Balancer::default());
        let targets = vec![t("dead", true, 0), t("live", false, 5)];
        let chosen = first_open(&b, targets, |t| async move {
            if t.host == "dead" {
                Open::Retry("connection refused".into())
            } else {
                Open::Ready(t.host.clone())
            }
        })
        .await
        .ok()
        .unwrap();
        assert_eq!(chosen.stream, "live");
        assert_eq!(chosen.attempts.len(), 1);
        assert_eq!(chosen.attempts[0].target.host, "dead");
        let none = first_open(&b, vec![t("dead", true, 0)], |_| async {
            Open::<()>::Retry("refused".into())
        })
        .await;
        assert!(matches!(none, Err(a) if a.len() == 1));
    }
}
