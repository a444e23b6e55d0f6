//! What a transaction closure sees: the data to edit, who and when it is,
//! and port allocation that shares the transaction's lock.

use std::collections::BTreeSet;
use std::net::{IpAddr, TcpListener};
use std::path::{Path, PathBuf};

use super::{ProcessId, RegistryData, RegistryError, ports};

/// What a transaction closure can do beyond editing the data.
pub struct Txn<'a> {
    /// The registry as of this transaction, dead owners' entries already
    /// removed. Changes are written when the closure returns `Ok`.
    pub data: &'a mut RegistryData,
    /// The calling process, to record as `pid`/`pid_start` of its entries.
    pub me: ProcessId,
    /// RFC 3339 time of the transaction, for `started_at`/`updated_at`.
    pub now: String,
    pub(crate) granted: BTreeSet<u16>,
    pub(crate) recovered: Option<PathBuf>,
}

impl Txn<'_> {
    /// Grant a port inside this transaction and return its bound listener
    /// (SO_REUSEADDR set, blocking). `pinned`: granted if no live entry
    /// holds it and it binds, else an error naming the port (call
    /// [`RegistryError::explain_held_port`] on it once the transaction is
    /// over to say who holds it). Otherwise the
    /// lowest free port of `range` (inclusive) that binds; ports held by
    /// foreign programs are skipped.
    ///
    /// Ports of entries in `data` count as held, so to re-grant a port to
    /// the entry that holds it, remove that entry first (and drop its old
    /// listener) in the same transaction. Record the port in an entry before
    /// the transaction ends, or the next transaction may grant it again once
    /// the listener is dropped.
    pub fn allocate(
        &mut self,
        host: &str,
        pinned: Option<u16>,
        range: [u16; 2],
    ) -> Result<TcpListener, RegistryError> {
        let ip: IpAddr = ports::resolve(host)?;
        if let Some(port) = pinned {
            if let Some(e) = self.data.specialists.values().find(|e| e.port == port) {
                return Err(RegistryError::PortHeld {
                    port,
                    name: e.name.to_string(),
                    pid: e.pid,
                });
            }
            if self.granted.contains(&port) {
                return Err(RegistryError::PortHeld {
                    port,
                    name: "(granted earlier in this transaction)".into(),
                    pid: self.me.pid,
                });
            }
            let listener =
                ports::bind(ip, port).map_err(|source| RegistryError::PinnedPortInUse {
                    host: host.to_string(),
                    ip,
                    port,
                    source,
                    held: None,
                })?;
            self.granted.insert(port);
            return Ok(listener);
        }
        let [start, end] = range;
        if start > end || start == 0 {
            return Err(RegistryError::InvalidRange { start, end });
        }
        let taken = ports::taken(self.data, &self.granted);
        for port in start..=end {
            if taken.contains(port) {
                continue;
            }
            // Any bind error (in use, no permission) means "not ours": skip.
            if let Ok(listener) = ports::bind(ip, port) {
                self.granted.insert(port);
                return Ok(listener);
            }
        }
        Err(RegistryError::NoFreePort {
            host: host.to_string(),
            start,
            end,
        })
    }

    /// If `registry.json` was corrupt, where it was moved. Surface it to the
    /// user: the registry restarted empty and live owners re-register.
    pub fn recovered_from(&self) -> Option<&Path> {
        self.recovered.as_deref()
    }
}
