//! MCP sessions of the streamable HTTP transport: created by `initialize`,
//! named by the `Mcp-Session-Id` header, bounded in number (the least
//! recently used one goes) and dropped after an idle TTL or a DELETE. Each
//! remembers its protocol version and its requests in flight, so
//! `notifications/cancelled` can stop one.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

struct Session {
    version: String,
    last: Instant,
    inflight: HashMap<String, CancellationToken>,
}

pub struct Sessions {
    inner: Mutex<HashMap<String, Session>>,
    max: usize,
    idle: Duration,
}

impl Sessions {
    pub fn new(max: usize, idle: Duration) -> Sessions {
        Sessions {
            inner: Mutex::default(),
            max,
            idle,
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Session>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new session speaking `version`; returns its id (128 random bits, hex).
    pub fn create(&self, version: &str) -> String {
        let id = format!("{:032x}", rand::random::<u128>());
        let now = Instant::now();
        let mut all = self.lock();
        all.retain(|_, s| now.duration_since(s.last) < self.idle);
        if all.len() >= self.max
            && let Some(oldest) = all
                .iter()
                .min_by_key(|(_, s)| s.last)
                .map(|(k, _)| k.clone())
        {
            all.remove(&oldest);
        }
        all.insert(
            id.clone(),
            Session {
                version: version.to_owned(),
                last: now,
                inflight: HashMap::new(),
            },
        );
        id
    }

    /// The session's version, marking it used; `None` if unknown or expired.
    pub fn touch(&self, id: &str) -> Option<String> {
        let now = Instant::now();
        let mut all = self.lock();
        let s = all.get_mut(id)?;
        if now.duration_since(s.last) >= self.idle {
            all.remove(id);
            return None;
        }
        s.last = now;
        Some(s.version.clone())
    }

    pub fn remove(&self, id: &str) -> bool {
        let gone = self.lock().remove(id);
        if let Some(s) = &gone {
            s.inflight.values().for_each(CancellationToken::cancel);
        }
        gone.is_some()
    }

    /// Track request `rid` of session `sid`; the token fires on cancellation.
    pub fn begin(&self, sid: &str, rid: &str) -> CancellationToken {
        let token = CancellationToken::new();
        if let Some(s) = self.lock().get_mut(sid) {
            s.inflight.insert(rid.to_owned(), token.clone());
        }
        token
    }

    pub fn end(&self, sid: &str, rid: &str) {
        if let Some(s) = self.lock().get_mut(sid) {
            s.inflight.remove(rid);
        }
    }

    pub fn cancel(&self, sid: &str, rid: &str) {
        if let Some(t) = self
            .lock()
            .get_mut(sid)
            .and_then(|s| s.inflight.remove(rid))
        {
            t.cancel();
        }
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_are_bounded_expire_and_cancel_their_requests() {
        let s = Sessions::new(2, Duration::from_secs(60));
        let a = s.create("2025-11-25");
        let b = s.create("2025-06-18");
        assert_eq!(s.touch(&a).as_deref(), Some("2025-11-25"));
        let c = s.create("2025-11-25");
        assert_eq!(s.len(), 2);
        assert!(s.touch(&b).is_none(), "the least recently used one went");
        let t = s.begin(&c, "7");
        s.cancel(&c, "7");
        assert!(t.is_cancelled());
        let t = s.begin(&a, "8");
        assert!(s.remove(&a));
        assert!(t.is_cancelled());
        let quick = Sessions::new(2, Duration::ZERO);
        let q = quick.create("2025-11-25");
        assert!(quick.touch(&q).is_none());
    }
}
