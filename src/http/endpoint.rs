//! `http.json` in the state directory: where the running daemon serves HTTP,
//! so `cadre mcp` (and any local tool) finds it the way the CLI finds the
//! control socket. Holds the URL and the owning process (pid + start time,
//! so a file left by a crash is recognised as stale); never the token.
//! Written 0600 via a temp file and rename; removed when the daemon stops.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::registry::ProcessId;

pub const FILE: &str = "http.json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    /// `http://HOST:PORT` (no trailing slash).
    pub url: String,
    pub pid: u32,
    pub start: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    #[error(
        "no `cadre up` serving HTTP is recorded in {dir} (no {FILE}); start `cadre up` \
         (without --no-http), or pass --url"
    )]
    Missing { dir: PathBuf },
    #[error("{path} is unreadable or not an endpoint record: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    #[error(
        "the daemon that served {url} (pid {pid}) is gone; start `cadre up` again, or pass --url"
    )]
    Stale { url: String, pid: u32 },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Removes the record when dropped.
pub struct Published(PathBuf);

impl Drop for Published {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Record that this process serves `url`.
pub fn publish(state_dir: &Path, url: &str) -> Result<Published, EndpointError> {
    let me = ProcessId::current();
    let record = Endpoint {
        url: url.trim_end_matches('/').to_owned(),
        pid: me.pid,
        start: me.start,
    };
    let path = state_dir.join(FILE);
    let tmp = state_dir.join(format!(".{FILE}.{}.tmp", me.pid));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(&serde_json::to_vec(&record).unwrap_or_default())?;
        std::fs::rename(&tmp, &path)
    };
    write().map_err(|source| EndpointError::Write {
        path: path.clone(),
        source,
    })?;
    Ok(Published(path))
}

/// The live daemon's endpoint.
pub fn read(state_dir: &Path) -> Result<Endpoint, EndpointError> {
    let path = state_dir.join(FILE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(EndpointError::Missing {
                dir: state_dir.to_owned(),
            });
        }
        Err(e) => {
            return Err(EndpointError::Corrupt {
                path,
                reason: e.to_string(),
            });
        }
    };
    let e: Endpoint = serde_json::from_slice(&bytes).map_err(|e| EndpointError::Corrupt {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    let owner = ProcessId {
        pid: e.pid,
        start: e.start,
    };
    if !owner.is_alive() {
        return Err(EndpointError::Stale {
            url: e.url,
            pid: e.pid,
        });
    }
    Ok(e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn published_records_read_back_and_vanish_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            read(dir.path()),
            Err(EndpointError::Missing { .. })
        ));
        let p = publish(dir.path(), "http://127.0.0.1:1/").unwrap();
        let e = read(dir.path()).unwrap();
        assert_eq!(e.url, "http://127.0.0.1:1");
        let mode = std::fs::metadata(dir.path().join(FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        drop(p);
        assert!(matches!(
            read(dir.path()),
            Err(EndpointError::Missing { .. })
        ));
        std::fs::write(
            dir.path().join(FILE),
            "{\"url\":\"u\",\"pid\":999999999,\"start\":1}",
        )
        .unwrap();
        assert!(matches!(read(dir.path()), Err(EndpointError::Stale { .. })));
        std::fs::write(dir.path().join(FILE), "nonsense").unwrap();
        assert!(matches!(
            read(dir.path()),
            Err(EndpointError::Corrupt { .. })
        ));
    }
}
