//! The registry lock: `flock` on `registry.lock`, taken with non-blocking
//! tries in a polling loop so the wait is bounded and never parks a thread
//! indefinitely. The exclusive holder writes its pid and the time it took
//! the lock into the lock file, so a waiter that gives up can say who is in
//! the way and for how long.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rustix::fs::{FlockOperation, flock};

use super::RegistryError;
use super::error::LockHolder;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Shared,
    Exclusive,
}

/// A held lock; released when dropped (and by the kernel if the process dies).
pub(crate) struct LockGuard {
    file: File,
    mode: Mode,
}

impl LockGuard {
    pub(crate) fn acquire(
        path: &Path,
        mode: Mode,
        timeout: Duration,
    ) -> Result<LockGuard, RegistryError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)
            .map_err(|e| RegistryError::io(path, "open lock file", e))?;
        let op = match mode {
            Mode::Shared => FlockOperation::NonBlockingLockShared,
            Mode::Exclusive => FlockOperation::NonBlockingLockExclusive,
        };
        let started = Instant::now();
        // Start with short sleeps: a transaction is usually sub-millisecond
        // on tmpfs and a few ms on disk; back off to 2 ms so 16 waiters do
        // not burn the CPU the holder needs, yet the lock is not left idle
        // for long after a release.
        let mut pause = Duration::from_micros(50);
        loop {
            match flock(&file, op) {
                Ok(()) => break,
                Err(e) if e == rustix::io::Errno::WOULDBLOCK || e == rustix::io::Errno::INTR => {}
                Err(e) => return Err(RegistryError::io(path, "flock", e.into())),
            }
            let waited = started.elapsed();
            if waited >= timeout {
                return Err(RegistryError::LockTimeout {
                    path: path.to_path_buf(),
                    waited,
                    holder: read_holder(path),
                });
            }
            std::thread::sleep(pause.min(timeout - waited));
            // Readers poll faster: writers queue back to back under load, and
            // a reader (`status`) must still get a turn within its timeout.
            let cap = match mode {
                Mode::Shared => Duration::from_micros(300),
                Mode::Exclusive => Duration::from_millis(2),
            };
            pause = (pause * 2).min(cap);
        }
        let mut guard = LockGuard { file, mode };
        if mode == Mode::Exclusive {
            // Best effort: the record only improves a timeout message.
            let _ = guard.record_holder();
        }
        Ok(guard)
    }

    fn record_holder(&mut self) -> std::io::Result<()> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis();
        let line = format!("{} {}\n", std::process::id(), now);
        self.file.seek(SeekFrom::Start(0))?;
        self.file.write_all(line.as_bytes())?;
        self.file.set_len(line.len() as u64)
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        if self.mode == Mode::Exclusive {
            let _ = self.file.set_len(0);
        }
        // Closing the file releases the flock too; unlocking first makes the
        // release independent of other descriptors sharing the open file.
        let _ = flock(&self.file, FlockOperation::Unlock);
    }
}

/// Who holds the lock at `path`: the record a cadre transaction wrote
/// ("PID MILLIS_SINCE_EPOCH") when the kernel agrees that pid holds it, else
/// the holders the kernel lists.
fn read_holder(path: &Path) -> LockHolder {
    let listed = super::lock_table::holders(path);
    let mut text = String::new();
    let record = File::open(path)
        .and_then(|mut f| f.read_to_string(&mut text))
        .ok()
        .and_then(|_| {
            let mut parts = text.split_ascii_whitespace();
            let pid = parts.next()?.parse::<u32>().ok()?;
            let ms = parts.next()?.parse::<u64>().ok()?;
            // A record left by a holder that died is stale: the kernel released its lock.
            super::ProcessId::of(pid)?;
            Some((pid, ms))
        });
    match record {
        Some((pid, ms))
            if listed.is_empty() || listed.iter().any(|h| h.pid == pid && h.exclusive) =>
        {
            let taken = UNIX_EPOCH + Duration::from_millis(ms);
            let held_for = SystemTime::now().duration_since(taken).unwrap_or_default();
            LockHolder::Known { pid, held_for }
        }
        _ if !listed.is_empty() => LockHolder::Listed(listed),
        _ => LockHolder::Unknown,
    }
}

/// Path of the lock file in a state directory.
pub(crate) fn lock_path(dir: &Path) -> PathBuf {
    dir.join("registry.lock")
}
