//! The registry on etcd: what a daemon does with it (register, update,
//! deregister, list, follow), in the key layout of [`super::keys`].
//! Registration with port allocation lives in `alloc`.

use std::collections::BTreeMap;
use std::time::Duration;

use super::keys::{DaemonRecord, Keys, PortClaim, check_part};
use super::wire::{self, Bytes, Compare, RequestOp, prefix_end};
use super::{EtcdClient, EtcdError, EtcdSettings, Follower, Lease};
use crate::registry::Entry;

/// A handle on the cadre keys of one cluster. Cheap to clone.
#[derive(Debug, Clone)]
pub struct EtcdStore {
    pub(crate) client: EtcdClient,
    pub(crate) keys: Keys,
    lease_ttl: Duration,
}

/// An entry as stored, with the lease it hangs on.
#[derive(Debug, Clone, PartialEq)]
pub struct Registered {
    pub entry: Entry,
    pub lease: i64,
    /// Revision of the entry's last change.
    pub mod_revision: i64,
}

/// The cluster's entries at one revision.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Watch from `revision + 1` to follow on without a gap.
    pub revision: i64,
    pub entries: Vec<Registered>,
    /// Keys under the prefix that do not hold a valid entry, with why; they
    /// are left out of `entries` rather than failing the whole list.
    pub skipped: Vec<(String, String)>,
}

/// How fresh a read must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consistency {
    /// Through the leader: current, but needs a quorum.
    Linearizable,
    /// One member's local copy: may be stale, but answers without a quorum
    /// (what `status` shows while the registry is unavailable).
    Serializable,
}

impl EtcdStore {
    /// Check the settings and build the client (no request yet).
    pub fn new(settings: &EtcdSettings) -> Result<EtcdStore, EtcdError> {
        Ok(EtcdStore {
            client: EtcdClient::new(settings)?,
            keys: Keys::new(&settings.prefix),
            lease_ttl: settings.lease_ttl,
        })
    }

    pub fn client(&self) -> &EtcdClient {
        &self.client
    }

    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// Grant this daemon's lease (the settings' `lease_ttl`) and keep it alive.
    pub async fn grant_lease(&self) -> Result<Lease, EtcdError> {
        Lease::grant(&self.client, self.lease_ttl).await
    }

    /// Every entry of the cluster, sorted by host then name.
    pub async fn list(&self, consistency: Consistency) -> Result<Snapshot, EtcdError> {
        let resp = self
            .client
            .range(&prefix_range(
                &self.keys.specialists(),
                consistency == Consistency::Serializable,
            ))
            .await?;
        let mut snap = Snapshot {
            revision: resp.header.revision,
            ..Snapshot::default()
        };
        for kv in resp.kvs {
            match self.decode(&kv) {
                Ok(r) => snap.entries.push(r),
                Err((key, why)) => snap.skipped.push((key, why)),
            }
        }
        Ok(snap)
    }

    /// An entry from a key-value, checked against its key.
    pub(crate) fn decode(&self, kv: &wire::KeyValue) -> Result<Registered, (String, String)> {
        let key = String::from_utf8_lossy(&kv.key.0).into_owned();
        let Some((host, name)) = self.keys.parse_specialist(&key) else {
            return Err((key, "not a specialist key".into()));
        };
        let entry: Entry = match serde_json::from_slice(&kv.value.0) {
            Ok(e) => e,
            Err(e) => return Err((key, format!("not an entry: {e}"))),
        };
        if entry.host != host || entry.name != name {
            let why = format!("holds {}/{}", entry.host, entry.name);
            return Err((key, why));
        }
        Ok(Registered {
            entry,
            lease: kv.lease,
            mod_revision: kv.mod_revision,
        })
    }

    /// Write a new version of an entry this lease registered (state,
    /// generation, last_error…). The port must stay the one granted; a new
    /// port is a new [`EtcdStore::register`].
    pub async fn update(&self, lease: i64, entry: &Entry) -> Result<i64, EtcdError> {
        check_part("host", &entry.host)?;
        check_part("name", entry.name.as_str())?;
        let key = self.keys.specialist(&entry.host, entry.name.as_str());
        let txn = wire::TxnRequest {
            compare: vec![Compare::lease_is(&key, lease)],
            success: vec![put(&key, entry_bytes(entry), lease)],
            failure: vec![RequestOp::RequestRange(wire::RangeRequest {
                key: key.as_str().into(),
                ..Default::default()
            })],
        };
        let resp = self.txn(&txn, lease).await?;
        if resp.succeeded {
            return Ok(resp.header.revision);
        }
        match first_range(&resp).and_then(|r| r.kvs.first().map(|kv| kv.lease)) {
            Some(holder) => Err(EtcdError::NameHeld {
                host: entry.host.clone(),
                name: entry.name.to_string(),
                lease: holder,
            }),
            None => Err(EtcdError::LeaseLost { lease }),
        }
    }

    /// Remove an entry of this lease and its port claims. `Ok(false)` when
    /// there was nothing of this lease to remove.
    pub async fn deregister(&self, lease: i64, host: &str, name: &str) -> Result<bool, EtcdError> {
        check_part("host", host)?;
        check_part("name", name)?;
        let key = self.keys.specialist(host, name);
        for _ in 0..8 {
            let view = self.view(host, name).await?;
            if view.holder != Some(lease) {
                return Ok(false);
            }
            let mut txn = wire::TxnRequest {
                compare: vec![Compare::lease_is(&key, lease)],
                success: vec![delete(&key)],
                failure: vec![],
            };
            for port in view.ports_of(lease, name) {
                let claim = PortClaim {
                    name: name.to_string(),
                    lease,
                };
                let pkey = self.keys.port(host, port);
                txn.compare
                    .push(Compare::value_is(&pkey, &claim.to_bytes()));
                txn.success.push(delete(&pkey));
            }
            if self.txn(&txn, lease).await?.succeeded {
                return Ok(true);
            }
        }
        Err(EtcdError::Contended {
            host: host.to_string(),
            rounds: 8,
        })
    }

    /// Port claims on `host`, by port.
    pub async fn port_claims(&self, host: &str) -> Result<BTreeMap<u16, PortClaim>, EtcdError> {
        check_part("host", host)?;
        let resp = self
            .client
            .range(&prefix_range(&self.keys.ports_of(host), false))
            .await?;
        Ok(self.claims_from(host, &resp))
    }

    /// Record this daemon (on its lease).
    pub async fn put_daemon(&self, lease: i64, record: &DaemonRecord) -> Result<(), EtcdError> {
        check_part("host", &record.host)?;
        let key = self.keys.daemon(&record.host, lease);
        let value = serde_json::to_vec(record).unwrap_or_default();
        let req = wire::PutRequest {
            key: key.as_str().into(),
            value: Bytes(value),
            lease,
        };
        self.client
            .put(&req)
            .await
            .map(|_| ())
            .map_err(|e| lease_error(e, lease))
    }

    /// Every live daemon with its lease (records that do not parse are left out).
    pub async fn daemons(
        &self,
        consistency: Consistency,
    ) -> Result<Vec<(i64, DaemonRecord)>, EtcdError> {
        let serializable = consistency == Consistency::Serializable;
        let resp = self
            .client
            .range(&prefix_range(&self.keys.daemons(), serializable))
            .await?;
        Ok(resp
            .kvs
            .iter()
            .filter_map(|kv| Some((kv.lease, serde_json::from_slice(&kv.value.0).ok()?)))
            .collect())
    }

    /// Follow every change to the entries from `revision` on (use a
    /// [`Snapshot`]'s `revision + 1`).
    pub fn follow(&self, revision: i64) -> Follower {
        Follower::new(self.clone(), revision)
    }

    /// A transaction whose failure to find `lease` means the lease is gone.
    pub(crate) async fn txn(
        &self,
        txn: &wire::TxnRequest,
        lease: i64,
    ) -> Result<wire::TxnResponse, EtcdError> {
        self.client
            .txn(txn)
            .await
            .map_err(|e| lease_error(e, lease))
    }

    pub(crate) fn claims_from(
        &self,
        host: &str,
        resp: &wire::RangeResponse,
    ) -> BTreeMap<u16, PortClaim> {
        let mut out = BTreeMap::new();
        for kv in &resp.kvs {
            let key = String::from_utf8_lossy(&kv.key.0);
            if let (Some(port), Ok(claim)) = (
                self.keys.parse_port(host, &key),
                serde_json::from_slice::<PortClaim>(&kv.value.0),
            ) {
                out.insert(port, claim);
            } else if let Some(port) = self.keys.parse_port(host, &key) {
                // Unreadable claim: still a claim, of no one we know.
                out.insert(
                    port,
                    PortClaim {
                        name: "(unreadable claim)".into(),
                        lease: kv.lease,
                    },
                );
            }
        }
        out
    }
}

/// A read of all keys under `prefix`.
pub(crate) fn prefix_range(prefix: &str, serializable: bool) -> wire::RangeRequest {
    wire::RangeRequest {
        key: prefix.into(),
        range_end: Some(Bytes(prefix_end(prefix.as_bytes()))),
        serializable,
    }
}

pub(crate) fn put(key: &str, value: Vec<u8>, lease: i64) -> RequestOp {
    RequestOp::RequestPut(wire::PutRequest {
        key: key.into(),
        value: Bytes(value),
        lease,
    })
}

pub(crate) fn delete(key: &str) -> RequestOp {
    RequestOp::RequestDeleteRange(wire::DeleteRangeRequest {
        key: key.into(),
        range_end: None,
    })
}

pub(crate) fn entry_bytes(entry: &Entry) -> Vec<u8> {
    serde_json::to_vec(entry).unwrap_or_default()
}

pub(crate) fn first_range(resp: &wire::TxnResponse) -> Option<&wire::RangeResponse> {
    resp.responses.iter().find_map(|r| match r {
        wire::ResponseOp::ResponseRange(r) => Some(r),
        _ => None,
    })
}

/// etcd's "requested lease not found" on a write means our lease is gone.
fn lease_error(e: EtcdError, lease: i64) -> EtcdError {
    match e {
        EtcdError::Server { ref message, .. } if message.contains("lease not found") => {
            EtcdError::LeaseLost { lease }
        }
        e => e,
    }
}
