//! Following the cluster's entries with an etcd watch that survives the
//! member it is on. The follower remembers the last revision it delivered;
//! when the stream breaks (member killed, member lost its leader, network)
//! it opens a new one on the next endpoint from that revision + 1, so no
//! change is lost or delivered twice. If etcd compacted those revisions
//! away meanwhile, it reads the whole list again and delivers a
//! [`Change::Reset`] before following on.

use super::frames::FrameReader;
use super::store::Consistency;
use super::wire::{self, prefix_end};
use super::{EtcdError, EtcdStore, Registered};

/// One change to the cluster's entries.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// An entry was created or changed.
    Put(Box<Registered>),
    /// An entry was deleted (deregistered, or its lease ended).
    Delete { host: String, name: String },
    /// The history was compacted while disconnected: this is the whole
    /// current list; replace everything known with it.
    Reset(Vec<Registered>),
    /// A key under the prefix that is not a valid entry (ignored).
    Skipped { key: String, reason: String },
}

/// A resumable watch on every entry of the cluster.
pub struct Follower {
    store: EtcdStore,
    /// The next revision to deliver.
    next: i64,
    stream: Option<(FrameReader, usize)>,
}

impl Follower {
    pub(crate) fn new(store: EtcdStore, from: i64) -> Follower {
        Follower {
            store,
            next: from.max(1),
            stream: None,
        }
    }

    /// Wait for the next batch of changes (all of one revision or more).
    /// A broken stream is reopened elsewhere, transparently; only when no
    /// endpoint can be reached does this fail, with
    /// [`EtcdError::Unavailable`]. Calling again after that resumes.
    pub async fn next(&mut self) -> Result<Vec<Change>, EtcdError> {
        loop {
            let (reader, idx) = match &mut self.stream {
                Some(s) => s,
                None => {
                    let s = self.open().await?;
                    self.stream.insert(s)
                }
            };
            let idx = *idx;
            match reader.next::<wire::WatchResponse>().await {
                Ok(Some(wire::Frame {
                    result: Some(resp), ..
                })) => {
                    if let Some(changes) = self.absorb(resp, idx).await? {
                        return Ok(changes);
                    }
                }
                Ok(other) => {
                    let why = match other.and_then(|f| f.error) {
                        Some(st) => st.text().to_string(),
                        None => "stream ended".into(),
                    };
                    self.broken(idx, &why);
                }
                Err(why) => self.broken(idx, &why),
            }
        }
    }

    async fn open(&self) -> Result<(FrameReader, usize), EtcdError> {
        let prefix = self.store.keys.specialists();
        let req = wire::WatchRequest {
            create_request: wire::WatchCreateRequest {
                key: prefix.as_str().into(),
                range_end: wire::Bytes(prefix_end(prefix.as_bytes())),
                start_revision: self.next,
            },
        };
        self.store.client.open_watch(&req).await
    }

    fn broken(&mut self, idx: usize, why: &str) {
        tracing::debug!(
            endpoint = %self.store.client.endpoint_name(idx),
            "etcd watch broke ({why}); resuming at revision {}",
            self.next
        );
        self.store.client.demote(idx);
        self.stream = None;
    }

    /// Turn one watch response into changes; `None` when it carries none
    /// (created, progress) and reading should go on.
    async fn absorb(
        &mut self,
        resp: wire::WatchResponse,
        idx: usize,
    ) -> Result<Option<Vec<Change>>, EtcdError> {
        if resp.compact_revision > 0 {
            // Our revision was compacted: start over from a fresh list.
            let snap = self.store.list(Consistency::Linearizable).await?;
            self.next = snap.revision + 1;
            self.stream = None;
            let mut changes = vec![Change::Reset(snap.entries)];
            changes.extend(
                snap.skipped
                    .into_iter()
                    .map(|(key, reason)| Change::Skipped { key, reason }),
            );
            return Ok(Some(changes));
        }
        if resp.canceled {
            let why = format!("canceled: {}", resp.cancel_reason);
            self.broken(idx, &why);
            return Ok(None);
        }
        if resp.events.is_empty() {
            return Ok(None);
        }
        let mut changes = Vec::with_capacity(resp.events.len());
        for ev in &resp.events {
            self.next = self.next.max(ev.kv.mod_revision + 1);
            changes.push(self.change(ev));
        }
        Ok(Some(changes))
    }

    fn change(&self, ev: &wire::WatchEvent) -> Change {
        if ev.kind == "DELETE" {
            let key = String::from_utf8_lossy(&ev.kv.key.0).into_owned();
            return match self.store.keys.parse_specialist(&key) {
                Some((host, name)) => Change::Delete {
                    host: host.to_string(),
                    name: name.to_string(),
                },
                None => Change::Skipped {
                    key,
                    reason: "not a specialist key".into(),
                },
            };
        }
        match self.store.decode(&ev.kv) {
            Ok(r) => Change::Put(Box::new(r)),
            Err((key, reason)) => Change::Skipped { key, reason },
        }
    }
}
