//! Where a running daemon serves HTTP, for `cadre mcp` (and any local tool):
//! each daemon records its base URL in the registry with its record, so it
//! is found the way the CLI finds a daemon's control socket. Never the token.

use std::path::{Path, PathBuf};

use crate::cluster::Snapshot;
use crate::registry::DaemonRecord;

#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    #[error(
        "no `cadre up` serving HTTP is recorded in the registry; start `cadre up` \
         (without --no-http), or pass --url"
    )]
    Missing,
    #[error(
        "{} daemons of this registry serve HTTP and none runs {}: pass --url ({})",
        .urls.len(), .dir.display(), .urls.join(", ")
    )]
    Ambiguous { dir: PathBuf, urls: Vec<String> },
}

/// The HTTP base URL (`http://HOST:PORT`) of the daemon running `dir`, else
/// of the only daemon that serves HTTP.
pub fn find(snap: &Snapshot, dir: &Path) -> Result<String, EndpointError> {
    let serving: Vec<&DaemonRecord> = snap.daemons.iter().filter(|d| d.http.is_some()).collect();
    let url = |d: &DaemonRecord| d.http.clone().unwrap_or_default();
    if let Some(d) = serving.iter().find(|d| d.dir == dir) {
        return Ok(url(d));
    }
    match serving.as_slice() {
        [] => Err(EndpointError::Missing),
        [d] => Ok(url(d)),
        many => Err(EndpointError::Ambiguous {
            dir: dir.to_path_buf(),
            urls: many.iter().map(|d| url(d)).collect(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn daemon(pid: u32, dir: &str, http: Option<&str>) -> DaemonRecord {
        DaemonRecord {
            host: "127.0.0.1".into(),
            pid,
            pid_start: 1,
            dir: dir.into(),
            control: None,
            http: http.map(Into::into),
            started_at: String::new(),
            waiting: Vec::new(),
        }
    }

    #[test]
    fn the_daemon_of_the_dir_else_the_only_one() {
        let mut snap = Snapshot::default();
        assert!(matches!(
            find(&snap, Path::new("/a")),
            Err(EndpointError::Missing)
        ));
        snap.daemons
            .push(daemon(1, "/a", Some("http://127.0.0.1:1")));
        assert_eq!(find(&snap, Path::new("/b")).unwrap(), "http://127.0.0.1:1");
        snap.daemons
            .push(daemon(2, "/b", Some("http://127.0.0.1:2")));
        snap.daemons.push(daemon(3, "/c", None));
        assert_eq!(find(&snap, Path::new("/b")).unwrap(), "http://127.0.0.1:2");
        let e = find(&snap, Path::new("/c")).unwrap_err().to_string();
        assert!(
            e.contains("--url") && e.contains("http://127.0.0.1:1"),
            "{e}"
        );
    }
}
