//! The registry (DESIGN §4): who runs where, in one JSON file that many
//! processes read and change at once, under `flock`, atomically replaced.
//!
//! # Layout
//! - `entry`: what the file holds: entries and their [`State`].
//! - [`state_dir`]: where the files live (0700 directory).
//! - `lock`: bounded `flock` waits that name the holder on timeout; `lock_table`: who
//!   holds a `flock`, from `/proc/locks`.
//! - `daemon`: the record of one daemon (pid, directory, control socket, HTTP).
//! - `daemon_lock`: one daemon per specialists.d.
//! - `atomic`: temp file + atomic swap of names (+ fsyncs with [`Durability::PowerLoss`]).
//! - [`proc`]: process identity (pid + start time) and liveness.
//! - `ports`: binding granted ports with SO_REUSEADDR.
//! - `corrupt`: telling valid, corrupt and newer files apart; moving aside.
//! - [`events`]: the append-only `events.jsonl`.
//! - [`txn`]: what a transaction closure sees, including port allocation.
//! - [`etcd`]: the registry on etcd, for many daemons on many hosts ([`crate::cluster`]
//!   puts either behind one interface).
//!
//! Every call of the file registry blocks (file locks, file I/O): from async code, run it in
//! `tokio::task::spawn_blocking`.

pub(crate) mod atomic;
pub(crate) mod corrupt;
mod daemon;
mod daemon_lock;
mod entry;
mod error;
pub mod etcd;
pub mod events;
mod lock;
mod lock_table;
pub(crate) mod ports;
pub mod proc;
pub mod state_dir;
pub mod txn;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use daemon::{DaemonRecord, Waiting};
pub use daemon_lock::{DaemonLock, DaemonLockError};
pub use entry::{Entry, RegistryData, State};
pub use error::{LockHolder, RegistryError};
pub use events::{Event, EventKind};
pub use lock_table::LockHolding;
pub use proc::ProcessId;
pub use state_dir::StateDir;
pub use txn::Txn;

use corrupt::Loaded;
use lock::{LockGuard, Mode};

/// The file format version this cadre reads and writes.
pub const VERSION: u32 = 1;

/// How long a transaction waits for the lock by default. Transactions
/// take milliseconds; ten seconds means a holder is stuck.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(10);

/// What a committed transaction survives.
///
/// The registry describes live processes: an entry is valid only while its
/// owner (pid + start time) runs. A power loss or kernel crash ends every
/// owner, so after one every entry is stale and is reclaimed by the next
/// transaction whatever the file holds; and a file left torn by it is moved
/// aside as corrupt while live owners re-register (DESIGN §4). fsync
/// therefore protects nothing a reader could use, and it costs two disk
/// flushes (~10 ms each on this machine's virtio disk) inside the exclusive
/// lock: with it, 16 contending processes reach a few hundred transactions/s;
/// without it, thousands (BENCHMARKS.md). Against a killed process the atomic
/// swap alone already guarantees the old or the new file, never a mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Atomic against any process dying at any instant (the default).
    #[default]
    ProcessCrash,
    /// Also fsync the file and its directory on every commit, for operators
    /// who read the registry after a reboot for post-mortems
    /// (`cadre up --registry-fsync`).
    PowerLoss,
}

/// A handle on the registry of one state directory. Cheap to clone; holds
/// no lock between calls.
#[derive(Debug, Clone)]
pub struct Registry {
    dir: StateDir,
    lock_timeout: Duration,
    events_cap: u64,
    durability: Durability,
}

impl Registry {
    /// Ensures the directory exists (0700); touches no registry file.
    pub fn open(dir: StateDir) -> Result<Registry, RegistryError> {
        dir.ensure()?;
        Ok(Registry {
            dir,
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
            events_cap: events::EVENTS_CAP_BYTES,
            durability: Durability::default(),
        })
    }

    /// Bound on the wait for the lock (default [`DEFAULT_LOCK_TIMEOUT`]).
    pub fn with_lock_timeout(mut self, timeout: Duration) -> Registry {
        self.lock_timeout = timeout;
        self
    }

    /// What commits survive (default [`Durability::ProcessCrash`]).
    pub fn with_durability(mut self, durability: Durability) -> Registry {
        self.durability = durability;
        self
    }

    /// Size at which `events.jsonl` rotates (default 1 MiB).
    pub fn with_events_cap(mut self, bytes: u64) -> Registry {
        self.events_cap = bytes;
        self
    }

    pub fn state_dir(&self) -> &StateDir {
        &self.dir
    }

    /// Path of `registry.json`.
    pub fn file_path(&self) -> PathBuf {
        self.dir.path().join("registry.json")
    }

    /// One transaction: exclusive lock, read (reclaiming dead owners'
    /// entries), run `f`, write atomically if `f` succeeded and changed
    /// anything. If `f` fails nothing of its changes is written (reclaims
    /// still are). A corrupt file is moved aside first (see
    /// [`Txn::recovered_from`]); a newer-version file is an error.
    ///
    /// Blocking (lock wait up to the timeout, file I/O): call from
    /// `spawn_blocking` in async code.
    pub fn transact<T, E>(&self, f: impl FnOnce(&mut Txn<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<RegistryError>,
    {
        let dir = self.dir.path();
        let _guard = LockGuard::acquire(&lock::lock_path(dir), Mode::Exclusive, self.lock_timeout)?;
        let me = ProcessId::current();
        let now = now_rfc3339();
        let mut log = Vec::new();
        let path = self.file_path();

        let (on_disk, recovered) = match corrupt::load(&path)? {
            Loaded::Missing => (None, None),
            Loaded::Valid(d) => (Some(d), None),
            Loaded::Corrupt { reason } => {
                let moved = corrupt::move_aside(&path)?;
                tracing::warn!(
                    path = %path.display(),
                    moved_to = %moved.display(),
                    %reason,
                    "corrupt registry moved aside; starting empty, live owners re-register"
                );
                log.push(event(
                    &now,
                    EventKind::Corrupt,
                    me,
                    None,
                    Some(format!(
                        "{} moved to {}: {reason}",
                        path.display(),
                        moved.display()
                    )),
                ));
                (None, Some(moved))
            }
        };
        let mut data = on_disk.clone().unwrap_or_default();
        for (entry, why) in reclaim(&mut data) {
            log.push(event(&now, EventKind::Reclaim, me, Some(&entry), Some(why)));
        }
        let before = data.clone();

        let mut txn = Txn {
            data: &mut data,
            me,
            now: now.clone(),
            granted: Default::default(),
            recovered,
        };
        let result = f(&mut txn);
        drop(txn);
        let after = match &result {
            Ok(_) => {
                log.extend(diff(&before, &data, &now, me));
                data
            }
            Err(_) => before,
        };
        self.commit(&path, on_disk.as_ref(), after, &log)?;
        result
    }

    fn commit(
        &self,
        path: &Path,
        on_disk: Option<&RegistryData>,
        mut after: RegistryData,
        log: &[Event],
    ) -> Result<(), RegistryError> {
        after.version = VERSION;
        let unchanged = match on_disk {
            Some(d) => *d == after,
            None => after.specialists.is_empty() && after.daemons.is_empty(),
        };
        if !unchanged {
            let mut bytes =
                serde_json::to_vec_pretty(&after).map_err(|source| RegistryError::Serialize {
                    path: path.to_path_buf(),
                    source,
                })?;
            bytes.push(b'\n');
            atomic::replace(path, &bytes, self.durability == Durability::PowerLoss)?;
        }
        // The registry is the truth; a failed log append must not undo a
        // committed transaction.
        if let Err(e) = events::append(self.dir.path(), log, self.events_cap) {
            tracing::warn!("{e}");
        }
        Ok(())
    }

    /// A consistent snapshot under a shared lock, without entries whose
    /// owner is gone (so a dead specialist is never reported). A corrupt
    /// file is moved aside by a short exclusive transaction first. Blocking.
    pub fn read(&self) -> Result<RegistryData, RegistryError> {
        for _ in 0..2 {
            let loaded = {
                let lock = lock::lock_path(self.dir.path());
                let _guard = LockGuard::acquire(&lock, Mode::Shared, self.lock_timeout)?;
                corrupt::load(&self.file_path())?
            };
            let mut data = match loaded {
                Loaded::Missing => RegistryData::default(),
                Loaded::Valid(d) => d,
                Loaded::Corrupt { .. } => {
                    self.transact(|_| Ok::<_, RegistryError>(()))?;
                    continue;
                }
            };
            reclaim(&mut data);
            return Ok(data);
        }
        // A second corruption between our two reads: report as empty view
        // of the fresh file rather than loop.
        Ok(RegistryData::default())
    }

    /// The event log, oldest first (includes the rotated file). Blocking.
    pub fn events(&self) -> Result<Vec<Event>, RegistryError> {
        let lock = lock::lock_path(self.dir.path());
        let _guard = LockGuard::acquire(&lock, Mode::Shared, self.lock_timeout)?;
        events::read_all(self.dir.path())
    }
}

/// Remove entries and daemons whose owner is gone; returns the entries with the reason.
fn reclaim(data: &mut RegistryData) -> Vec<(Entry, String)> {
    let mut alive: HashMap<u32, Option<ProcessId>> = HashMap::new();
    data.daemons.retain(|_, d| {
        let now = *alive.entry(d.pid).or_insert_with(|| ProcessId::of(d.pid));
        // Start time 0 is no process (as for entries below): a forged record.
        now.is_some_and(|p| d.pid_start != 0 && p.start == d.pid_start)
    });
    let mut gone = Vec::new();
    data.specialists.retain(|_, e| {
        let now = *alive.entry(e.pid).or_insert_with(|| ProcessId::of(e.pid));
        let why = match now {
            None => format!("owner pid {} is gone", e.pid),
            // No process has start time 0: a forged or hand-written entry.
            Some(_) if e.pid_start == 0 => format!(
                "pid {} with start time 0 is no process cadre registered",
                e.pid
            ),
            Some(p) if p.start != e.pid_start => format!(
                "pid {} was reused (start time {} != recorded {})",
                e.pid, p.start, e.pid_start
            ),
            Some(_) => return true,
        };
        gone.push((e.clone(), why));
        false
    });
    gone
}

/// Register/deregister events between the data before and after `f`.
fn diff(before: &RegistryData, after: &RegistryData, now: &str, me: ProcessId) -> Vec<Event> {
    let mut out = Vec::new();
    for (name, e) in &after.specialists {
        let changed = match before.specialists.get(name) {
            None => true,
            Some(old) => old.pid != e.pid || old.pid_start != e.pid_start || old.port != e.port,
        };
        if changed {
            out.push(event(now, EventKind::Register, me, Some(e), None));
        }
    }
    for (name, e) in &before.specialists {
        if !after.specialists.contains_key(name) {
            out.push(event(now, EventKind::Deregister, me, Some(e), None));
        }
    }
    out
}

fn event(
    now: &str,
    kind: EventKind,
    me: ProcessId,
    e: Option<&Entry>,
    detail: Option<String>,
) -> Event {
    Event {
        at: now.to_string(),
        kind,
        by_pid: me.pid,
        name: e.map(|e| e.name.to_string()),
        pid: e.map(|e| e.pid),
        port: e.map(|e| e.port),
        detail,
    }
}

/// Now, RFC 3339 UTC.
pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
