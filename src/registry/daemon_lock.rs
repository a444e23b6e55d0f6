//! One daemon per state directory (its control socket lives there) and one
//! per specialists.d (even across state directories): each is a `flock` held
//! for the daemon's life, so a crashed daemon never blocks the next one. The
//! holder writes its pid and directory into the file, so the next one can
//! say who is in the way.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Why a daemon lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum DaemonLockError {
    #[error("cannot open {}", path.display())]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot create {}", path.display())]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "another cadre daemon (pid {pid}) already runs {}; stop it first with `cadre stop --all`",
        dir.display()
    )]
    SameDir { pid: String, dir: PathBuf },
    #[error(
        "state directory {} is in use by another cadre daemon (pid {pid}, running {other}); pass a different --state-dir",
        state_dir.display()
    )]
    StateDirInUse {
        state_dir: PathBuf,
        pid: String,
        other: String,
    },
}

/// A held daemon lock; released when dropped (and by the kernel if the process dies).
#[derive(Debug)]
pub struct DaemonLock {
    _file: File,
}

/// Who holds a lock: the first two lines of its file.
struct Holder {
    pid: String,
    dir: String,
}

impl DaemonLock {
    /// The lock of a state directory, for a daemon running `dir`.
    pub fn for_state_dir(state_dir: &Path, dir: &Path) -> Result<DaemonLock, DaemonLockError> {
        DaemonLock::acquire(&state_dir.join("daemon.lock"), dir).map_err(|held| match held {
            Err(e) => e,
            Ok(h) if Path::new(&h.dir) == dir => DaemonLockError::SameDir {
                pid: h.pid,
                dir: dir.to_path_buf(),
            },
            Ok(h) => DaemonLockError::StateDirInUse {
                state_dir: state_dir.to_path_buf(),
                pid: h.pid,
                other: h.dir,
            },
        })
    }

    /// The lock of a specialists directory (canonical), in a per-user
    /// runtime directory, under a name that is a stable hash of the path.
    pub fn for_specialists_dir(dir: &Path) -> Result<DaemonLock, DaemonLockError> {
        let base = std::env::var_os("XDG_RUNTIME_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir)
            .join(format!("cadre-{}", rustix::process::getuid().as_raw()));
        std::fs::create_dir_all(&base).map_err(|source| DaemonLockError::CreateDir {
            path: base.clone(),
            source,
        })?;
        let _ = std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o700));
        let path = base.join(lock_name(dir));
        DaemonLock::acquire(&path, dir).map_err(|held| match held {
            Err(e) => e,
            Ok(h) => DaemonLockError::SameDir {
                pid: h.pid,
                dir: dir.to_path_buf(),
            },
        })
    }

    /// Take the lock at `path`; `Err(Ok(holder))` when another process holds it.
    fn acquire(path: &Path, dir: &Path) -> Result<DaemonLock, Result<Holder, DaemonLockError>> {
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)
            .map_err(|source| {
                Err(DaemonLockError::Open {
                    path: path.to_path_buf(),
                    source,
                })
            })?;
        if let Err(holder) = lock(&mut file) {
            return Err(Ok(holder));
        }
        let write = |file: &mut File| -> std::io::Result<()> {
            file.set_len(0)?;
            file.rewind()?;
            writeln!(file, "{}\n{}", std::process::id(), dir.display())
        };
        write(&mut file).map_err(|source| {
            Err(DaemonLockError::Write {
                path: path.to_path_buf(),
                source,
            })
        })?;
        Ok(DaemonLock { _file: file })
    }
}

/// How long a lock whose recorded holder is dead is waited for.
const DEAD_HOLDER_GRACE: Duration = Duration::from_secs(2);

/// `flock` the file, or say who holds it. A holder that recorded itself and
/// died may still hold the lock for a moment through a child it forked just
/// before (until that child's `exec` closes the descriptor): such a lock is
/// waited for, briefly, rather than reported as a running daemon.
fn lock(file: &mut File) -> Result<(), Holder> {
    let started = Instant::now();
    loop {
        if file.try_lock().is_ok() {
            return Ok(());
        }
        let mut held = String::new();
        let _ = file.rewind();
        let _ = file.read_to_string(&mut held);
        let mut lines = held.lines();
        let pid = lines.next().unwrap_or("?").to_owned();
        let dir = lines.next().unwrap_or("?").to_owned();
        let dead = pid
            .parse::<u32>()
            .is_ok_and(|p| super::ProcessId::of(p).is_none());
        if !dead || started.elapsed() >= DEAD_HOLDER_GRACE {
            return Err(Holder { pid, dir });
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `<16 hex digits>.lock`: FNV-1a of the path's bytes, the same for every
/// cadre build (std's `DefaultHasher` may change between Rust releases, and
/// two builds would then run one directory twice).
fn lock_name(dir: &Path) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in dir.as_os_str().as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}.lock")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_name_is_fnv1a_of_the_path() {
        // FNV-1a 64 of "a" and of "" (published test vectors).
        assert_eq!(lock_name(Path::new("a")), "af63dc4c8601ec8c.lock");
        assert_eq!(lock_name(Path::new("")), "cbf29ce484222325.lock");
    }

    #[test]
    fn a_second_holder_is_told_who_holds_it() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("specialists.d");
        let _held = DaemonLock::for_state_dir(tmp.path(), &dir).unwrap();
        // flock locks belong to the open file: a second open in this process conflicts too.
        let e = DaemonLock::for_state_dir(tmp.path(), &dir).unwrap_err();
        assert!(
            matches!(&e, DaemonLockError::SameDir { pid, .. } if *pid == std::process::id().to_string()),
            "{e}"
        );
        let e = DaemonLock::for_state_dir(tmp.path(), Path::new("/elsewhere")).unwrap_err();
        assert!(
            e.to_string().contains("pass a different --state-dir"),
            "{e}"
        );
    }
}
