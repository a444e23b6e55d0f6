//! Registration with port allocation in one etcd transaction (DESIGN §4
//! on a shared store): a port is granted only if its per-host claim key is
//! absent (or already this specialist's) *and* the name is free on the host
//! (or already this lease's), compared and written in the same transaction.
//! Two daemons can never both win one port: the loser's compare fails, its
//! failure branch returns the fresh claims, and it tries the next port.
//!
//! Before the transaction the caller's `bind` probe is asked for the port,
//! so a port held by a foreign program is skipped (as in the file registry)
//! and the caller gets the bound listener back with the grant.

use std::collections::{BTreeMap, BTreeSet};

use super::keys::{PortClaim, check_part};
use super::store::{delete, entry_bytes, prefix_range, put};
use super::wire::{self, Compare, RequestOp};
use super::{EtcdError, EtcdStore};
use crate::registry::Entry;

/// Lost races before giving up. Each lost round means another contender
/// won a port, so with N contenders on one host a round is lost at most
/// N - 1 times per port; 256 is far beyond any real start storm.
const MAX_ROUNDS: usize = 256;

/// Which port a specialist wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortRequest {
    /// This port or an error naming who holds it.
    Pinned(u16),
    /// The lowest free port of the inclusive range (this specialist's own
    /// earlier claim in the range first).
    Range([u16; 2]),
}

/// A granted registration.
#[derive(Debug)]
pub struct Registration<L> {
    /// The entry as written (its `port` is the granted one).
    pub entry: Entry,
    /// What `bind` returned for the port.
    pub listener: L,
    pub revision: i64,
}

/// The claims on a host and who holds a name there, read at one revision.
#[derive(Debug, Default)]
pub(crate) struct View {
    pub claims: BTreeMap<u16, PortClaim>,
    /// The lease of the name's entry, if any.
    pub holder: Option<i64>,
}

impl View {
    /// Ports claimed for `name` by `lease`.
    pub fn ports_of(&self, lease: i64, name: &str) -> Vec<u16> {
        self.claims
            .iter()
            .filter(|(_, c)| c.lease == lease && c.name == name)
            .map(|(p, _)| *p)
            .collect()
    }
}

impl EtcdStore {
    /// Register `entry` on `lease` with a port granted per `want` on
    /// `entry.host`, in one transaction. `bind(port)` is asked before the
    /// transaction for each candidate: `None` means a foreign program holds
    /// it (skipped for a range, an error when pinned). Any other claim this
    /// specialist held on the host (an old port) is released in the same
    /// transaction, as replacing a file-registry entry frees its old port.
    pub async fn register<L>(
        &self,
        lease: i64,
        mut entry: Entry,
        want: PortRequest,
        mut bind: impl FnMut(u16) -> Option<L>,
    ) -> Result<Registration<L>, EtcdError> {
        check_part("host", &entry.host)?;
        check_part("name", entry.name.as_str())?;
        if let PortRequest::Range([start, end]) = want
            && (start == 0 || start > end)
        {
            return Err(EtcdError::InvalidRange { start, end });
        }
        let host = entry.host.clone();
        let name = entry.name.to_string();
        let mut view = self.view(&host, &name).await?;
        let mut refused = BTreeSet::new();
        for _ in 0..MAX_ROUNDS {
            if let Some(holder) = view.holder.filter(|h| *h != lease) {
                return Err(EtcdError::NameHeld {
                    host,
                    name,
                    lease: holder,
                });
            }
            let port = pick(&view, &host, &name, lease, want, &refused)?;
            let Some(listener) = bind(port) else {
                if let PortRequest::Pinned(port) = want {
                    return Err(EtcdError::PinnedPortInUse { host, port });
                }
                refused.insert(port);
                continue;
            };
            entry.port = port;
            let resp = self
                .txn(&self.claim_txn(&view, &entry, lease), lease)
                .await?;
            if resp.succeeded {
                return Ok(Registration {
                    entry,
                    listener,
                    revision: resp.header.revision,
                });
            }
            // Lost a race: the failure branch read the fresh state.
            view = self.view_from(&host, &resp);
        }
        Err(EtcdError::Contended {
            host,
            rounds: MAX_ROUNDS,
        })
    }

    /// The claims on `host` and the holder of `name`, at one revision.
    pub(crate) async fn view(&self, host: &str, name: &str) -> Result<View, EtcdError> {
        let txn = wire::TxnRequest {
            compare: vec![],
            success: self.view_ops(host, name),
            failure: vec![],
        };
        let resp = self.client.txn(&txn).await?;
        Ok(self.view_from(host, &resp))
    }

    fn view_ops(&self, host: &str, name: &str) -> Vec<RequestOp> {
        vec![
            RequestOp::RequestRange(prefix_range(&self.keys.ports_of(host), false)),
            RequestOp::RequestRange(wire::RangeRequest {
                key: self.keys.specialist(host, name).as_str().into(),
                ..Default::default()
            }),
        ]
    }

    fn view_from(&self, host: &str, resp: &wire::TxnResponse) -> View {
        let mut ranges = resp.responses.iter().filter_map(|r| match r {
            wire::ResponseOp::ResponseRange(r) => Some(r),
            _ => None,
        });
        let claims = ranges
            .next()
            .map(|r| self.claims_from(host, r))
            .unwrap_or_default();
        let holder = ranges.next().and_then(|r| r.kvs.first()).map(|kv| kv.lease);
        View { claims, holder }
    }

    /// Claim `entry.port` and write the entry, if the view still holds.
    fn claim_txn(&self, view: &View, entry: &Entry, lease: i64) -> wire::TxnRequest {
        let (host, name) = (&entry.host, entry.name.as_str());
        let claim = PortClaim {
            name: name.to_owned(),
            lease,
        }
        .to_bytes();
        let port_key = self.keys.port(host, entry.port);
        let name_key = self.keys.specialist(host, name);
        let mut compare = vec![
            match view.claims.get(&entry.port) {
                Some(_) => Compare::value_is(&port_key, &claim),
                None => Compare::absent(&port_key),
            },
            match view.holder {
                Some(_) => Compare::lease_is(&name_key, lease),
                None => Compare::absent(&name_key),
            },
        ];
        let mut success = vec![
            put(&port_key, claim.clone(), lease),
            put(&name_key, entry_bytes(entry), lease),
        ];
        for old in view.ports_of(lease, name) {
            if old != entry.port {
                let key = self.keys.port(host, old);
                compare.push(Compare::value_is(&key, &claim));
                success.push(delete(&key));
            }
        }
        wire::TxnRequest {
            compare,
            success,
            failure: self.view_ops(host, name),
        }
    }
}

/// The port to try next, or why there is none.
fn pick(
    view: &View,
    host: &str,
    name: &str,
    lease: i64,
    want: PortRequest,
    refused: &BTreeSet<u16>,
) -> Result<u16, EtcdError> {
    let mine = |c: &PortClaim| c.lease == lease && c.name == name;
    match want {
        PortRequest::Pinned(port) => match view.claims.get(&port) {
            Some(c) if !mine(c) => Err(EtcdError::PortHeld {
                host: host.to_string(),
                port,
                name: c.name.clone(),
            }),
            _ => Ok(port),
        },
        PortRequest::Range([start, end]) => {
            let own = view
                .claims
                .range(start..=end)
                .find(|(p, c)| mine(c) && !refused.contains(p))
                .map(|(p, _)| *p);
            own.or_else(|| {
                (start..=end).find(|p| !view.claims.contains_key(p) && !refused.contains(p))
            })
            .ok_or_else(|| EtcdError::NoFreePort {
                host: host.to_string(),
                start,
                end,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(claims: &[(u16, &str, i64)], holder: Option<i64>) -> View {
        View {
            claims: claims
                .iter()
                .map(|(p, n, l)| {
                    (
                        *p,
                        PortClaim {
                            name: n.to_string(),
                            lease: *l,
                        },
                    )
                })
                .collect(),
            holder,
        }
    }

    #[test]
    fn the_lowest_free_port_or_our_own_claim_is_picked() {
        let none = BTreeSet::new();
        let v = view(&[(10, "a", 1), (11, "b", 2)], None);
        let r = PortRequest::Range([10, 20]);
        assert_eq!(pick(&v, "h", "c", 3, r, &none).unwrap(), 12);
        assert_eq!(pick(&v, "h", "b", 2, r, &none).unwrap(), 11);
        let refused = BTreeSet::from([12, 13]);
        assert_eq!(pick(&v, "h", "c", 3, r, &refused).unwrap(), 14);
        let full = PortRequest::Range([10, 11]);
        assert!(matches!(
            pick(&v, "h", "c", 3, full, &none),
            Err(EtcdError::NoFreePort { .. })
        ));
    }

    #[test]
    fn a_pinned_port_held_by_another_is_refused_naming_the_holder() {
        let v = view(&[(10, "a", 1)], None);
        let e = pick(&v, "h", "b", 2, PortRequest::Pinned(10), &BTreeSet::new()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "pinned port 10 on h is already held by specialist `a`"
        );
        assert_eq!(
            pick(&v, "h", "a", 1, PortRequest::Pinned(10), &BTreeSet::new()).unwrap(),
            10
        );
    }
}
