//! Today's usage on disk, so `tokens_per_day` survives a restart of `up`.
//!
//! One file per daemon (`usage-<hash of its specialists.d>.json`, 0600, in
//! the state directory): the daemon lock already makes its writer the only
//! one, so no file lock is needed. Chats never wait for it: a chat only
//! notes the change ([`super::Meter`] tells a [`Notify`]); a background task
//! writes at most once a second, off the async workers, and once more at
//! shutdown. A file that does not parse is moved aside (its bytes kept) and
//! reported, and today starts from zero: a damaged file must not keep the
//! team from starting. Entries of an earlier day are ignored.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use super::{Meter, TokenUsage, today};
use crate::config::SpecialistName;

/// The file's format version.
pub const VERSION: u32 = 1;
/// Writes are at most this often.
pub const WRITE_EVERY: Duration = Duration::from_secs(1);

#[derive(Debug, Serialize, Deserialize)]
struct File {
    version: u32,
    /// The specialists.d this daemon serves.
    owner: PathBuf,
    /// `YYYY-MM-DD`, UTC.
    day: String,
    #[serde(default)]
    specialists: BTreeMap<String, TokenUsage>,
}

/// Every specialist's meter, and today's usage on disk.
pub struct Ledger {
    path: Option<PathBuf>,
    owner: PathBuf,
    meters: Mutex<BTreeMap<SpecialistName, Arc<Meter>>>,
    /// What the file held for the day the ledger opened, handed to each
    /// meter made on that day; from the next day on it is spent history.
    restored: BTreeMap<String, TokenUsage>,
    opened_on: time::Date,
    dirty: Arc<Notify>,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Ledger {
    /// The ledger of the daemon serving `owner`, today's usage read from
    /// `state_dir` (a corrupt file is moved aside and reported).
    pub fn open(state_dir: &Path, owner: &Path) -> Ledger {
        let path = file_for(state_dir, owner);
        let restored = restore(&path);
        Ledger {
            path: Some(path),
            owner: owner.to_path_buf(),
            meters: Mutex::default(),
            restored,
            opened_on: today(),
            dirty: Arc::new(Notify::new()),
        }
    }

    /// A ledger that keeps nothing on disk (tests, benches).
    pub fn in_memory() -> Ledger {
        Ledger {
            path: None,
            owner: PathBuf::new(),
            meters: Mutex::default(),
            restored: BTreeMap::new(),
            opened_on: today(),
            dirty: Arc::new(Notify::new()),
        }
    }

    /// What the file held, while it is still the day it was for.
    fn restored_today(&self) -> Option<&BTreeMap<String, TokenUsage>> {
        (today() == self.opened_on).then_some(&self.restored)
    }

    /// Where the usage of `owner` is kept.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The meter of `name`: the same one for as long as this daemon runs.
    pub fn meter(&self, name: &SpecialistName) -> Arc<Meter> {
        let mut meters = self.meters.lock().unwrap_or_else(PoisonError::into_inner);
        meters
            .entry(name.clone())
            .or_insert_with(|| {
                let start = self
                    .restored_today()
                    .and_then(|r| r.get(name.as_str()).copied())
                    .unwrap_or_default();
                Arc::new(Meter::new(start, Some(self.dirty.clone())))
            })
            .clone()
    }

    /// Write changes as they come, at most once per [`WRITE_EVERY`]; runs
    /// until the task is dropped. Call [`Ledger::flush`] at shutdown.
    pub async fn write_changes(self: Arc<Self>) {
        loop {
            self.dirty.notified().await;
            tokio::time::sleep(WRITE_EVERY).await;
            self.flush().await;
        }
    }

    /// Write today's usage now (off the async workers).
    pub async fn flush(self: &Arc<Self>) {
        let Some(path) = self.path.clone() else {
            return;
        };
        let bytes = self.encode();
        let written = tokio::task::spawn_blocking(move || {
            crate::registry::atomic::replace(&path, &bytes, false)
        })
        .await;
        match written {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!("cannot keep today's token usage: {e}"),
            Err(e) => tracing::warn!("cannot keep today's token usage: {e}"),
        }
    }

    fn encode(&self) -> Vec<u8> {
        let day = today();
        let meters = self.meters.lock().unwrap_or_else(PoisonError::into_inner);
        let mut specialists: BTreeMap<String, TokenUsage> = self
            .restored_today()
            .into_iter()
            .flatten()
            .filter(|(n, _)| !meters.contains_key(n.as_str()))
            .map(|(n, u)| (n.clone(), *u))
            .collect();
        for (name, meter) in meters.iter() {
            let (d, usage) = meter.today_usage();
            if d == day && usage != TokenUsage::default() {
                specialists.insert(name.to_string(), usage);
            }
        }
        let file = File {
            version: VERSION,
            owner: self.owner.clone(),
            day: day.to_string(),
            specialists,
        };
        let mut bytes = serde_json::to_vec_pretty(&file).unwrap_or_default();
        bytes.push(b'\n');
        bytes
    }
}

/// `usage-<16 hex>.json`: one file per specialists.d.
fn file_for(state_dir: &Path, owner: &Path) -> PathBuf {
    let hash = crate::config::generation::fnv1a64(owner.as_os_str().as_encoded_bytes());
    state_dir.join(format!("usage-{hash:016x}.json"))
}

/// Today's usage per specialist from `path`; empty when missing, stale or
/// unusable (then moved aside, with a warning).
fn restore(path: &Path) -> BTreeMap<String, TokenUsage> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return BTreeMap::new(),
        Err(e) => {
            tracing::warn!(
                "cannot read today's token usage from {}: {e}; starting from zero",
                path.display()
            );
            return BTreeMap::new();
        }
    };
    match serde_json::from_slice::<File>(&bytes) {
        Ok(f) if f.version == VERSION => {
            if f.day == today().to_string() {
                f.specialists
            } else {
                BTreeMap::new()
            }
        }
        Ok(f) => set_aside(path, &format!("unknown version {}", f.version)),
        Err(e) => set_aside(path, &e.to_string()),
    }
}

fn set_aside(path: &Path, why: &str) -> BTreeMap<String, TokenUsage> {
    let moved = crate::registry::corrupt::move_aside(path)
        .map(|p| format!("moved to {}", p.display()))
        .unwrap_or_else(|e| format!("could not be moved aside: {e}"));
    tracing::warn!(
        "token usage file {} is unusable ({why}); {moved}; today's usage starts from zero",
        path.display()
    );
    BTreeMap::new()
}
