//! `events.jsonl`: an append-only log of what changed the registry, for
//! `status` and post-mortems. Written under the registry's exclusive lock,
//! so appends and rotation never interleave. Rotation keeps one previous
//! file (`events.jsonl.1`), bounding the disk used to twice the cap.

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::RegistryError;

/// Size at which `events.jsonl` is rotated.
pub const EVENTS_CAP_BYTES: u64 = 1024 * 1024;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A name appeared, or its owner or port changed.
    Register,
    /// A name was removed by its owner.
    Deregister,
    /// A name was removed because its owner process is gone.
    Reclaim,
    /// `registry.json` did not parse and was moved aside.
    Corrupt,
}

/// One line of `events.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// RFC 3339.
    pub at: String,
    pub kind: EventKind,
    /// Pid of the process whose transaction wrote the event.
    pub by_pid: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Free text: the path a corrupt file was moved to, why an entry went.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

pub(crate) fn path(dir: &Path) -> PathBuf {
    dir.join("events.jsonl")
}

fn rotated(dir: &Path) -> PathBuf {
    dir.join("events.jsonl.1")
}

/// Append `events`, rotating first if the file reached the cap. Caller
/// holds the exclusive registry lock.
pub(crate) fn append(dir: &Path, events: &[Event], cap: u64) -> Result<(), RegistryError> {
    if events.is_empty() {
        return Ok(());
    }
    let p = path(dir);
    if fs::metadata(&p).map(|m| m.len() >= cap).unwrap_or(false) {
        fs::rename(&p, rotated(dir)).map_err(|e| RegistryError::io(&p, "rotate events", e))?;
    }
    let mut buf = Vec::new();
    for ev in events {
        serde_json::to_writer(&mut buf, ev).map_err(|source| RegistryError::Serialize {
            path: p.clone(),
            source,
        })?;
        buf.push(b'\n');
    }
    let mut f = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(&p)
        .map_err(|e| RegistryError::io(&p, "open events", e))?;
    // One write call per transaction: a crash loses whole transactions'
    // events at worst, and a torn last line is skipped by the reader.
    f.write_all(&buf)
        .map_err(|e| RegistryError::io(&p, "append events", e))
}

/// All readable events, oldest first (rotated file, then current). Lines
/// that do not parse (a torn last line after a crash) are skipped.
pub(crate) fn read_all(dir: &Path) -> Result<Vec<Event>, RegistryError> {
    let mut out = Vec::new();
    for p in [rotated(dir), path(dir)] {
        let f = match File::open(&p) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(RegistryError::io(&p, "open events", e)),
        };
        for line in BufReader::new(f).lines() {
            let line = line.map_err(|e| RegistryError::io(&p, "read events", e))?;
            if let Ok(ev) = serde_json::from_str::<Event>(&line) {
                out.push(ev);
            }
        }
    }
    Ok(out)
}
