//! Shared helpers of the registry tests: temp state dirs, entries, and the
//! re-exec trick (the test binary runs one of its own tests as a child
//! process, selected by `--exact NAME` and a role env var).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use cadre::registry::{Entry, ProcessId, Registry, State, StateDir};

pub const ROLE: &str = "CADRE_REG_TEST_ROLE";
pub const DIR: &str = "CADRE_REG_TEST_DIR";
pub const ARG: &str = "CADRE_REG_TEST_ARG";

/// A fresh state dir inside a temp dir (the state dir itself is created by
/// the registry, so its mode is the registry's doing).
pub fn temp_state() -> (tempfile::TempDir, StateDir) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = StateDir::resolve(Some(&tmp.path().join("state"))).unwrap();
    (tmp, dir)
}

/// Same on tmpfs when available: the stress tests measure locking, not
/// this disk's ~5-10 ms fsync.
pub fn temp_state_fast() -> (tempfile::TempDir, StateDir) {
    let shm = Path::new("/dev/shm");
    let tmp = if shm.is_dir() {
        tempfile::tempdir_in(shm).unwrap()
    } else {
        tempfile::tempdir().unwrap()
    };
    let dir = StateDir::resolve(Some(&tmp.path().join("state"))).unwrap();
    (tmp, dir)
}

pub fn entry(name: &str, port: u16, owner: ProcessId) -> Entry {
    Entry {
        name: name.parse().unwrap(),
        component: "test".into(),
        host: "127.0.0.1".into(),
        port,
        pid: owner.pid,
        pid_start: owner.start,
        owner: PathBuf::from("/tmp/specialists.d"),
        model: "m".into(),
        provider: "p".into(),
        state: State::Ready,
        generation: "0".into(),
        last_error: None,
        revision: None,
        started_at: "2026-01-01T00:00:00Z".into(),
        updated_at: "2026-01-01T00:00:00Z".into(),
    }
}

/// `Some((role, registry, arg))` when this process is a child.
pub fn child_role() -> Option<(String, Registry, String)> {
    let role = std::env::var(ROLE).ok()?;
    let dir = PathBuf::from(std::env::var(DIR).unwrap());
    let reg = Registry::open(StateDir(dir)).unwrap();
    Some((role, reg, std::env::var(ARG).unwrap_or_default()))
}

/// Spawn this test binary running only `test` (its full path in the binary,
/// e.g. `concurrency::NAME`) in `role`.
pub fn spawn_child(test: &str, role: &str, dir: &StateDir, arg: &str, piped: bool) -> Child {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(ROLE, role)
        .env(DIR, dir.path())
        .env(ARG, arg)
        .stdin(Stdio::null());
    if piped {
        cmd.stdout(Stdio::piped());
    }
    cmd.spawn().unwrap()
}

/// Parse the raw file as a reader without the lock would.
pub fn raw(reg: &Registry) -> Option<cadre::registry::RegistryData> {
    let bytes = std::fs::read(reg.file_path()).ok()?;
    Some(serde_json::from_slice(&bytes).expect("registry.json must always parse"))
}
