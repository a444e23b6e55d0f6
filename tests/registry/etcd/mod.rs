//! The registry on etcd, against a real 3-member cluster on loopback
//! (`fixture/etcd_cluster.rs`): leases, per-host port allocation
//! under a storm, member and quorum loss, the resumable watch, auth and TLS.
//! Skipped outside CI when etcd is not installed (scripts/ci-etcd.sh).
//!
//! No socket is bound for the specialists: their "hosts" are keys only and
//! the bind probe grants every port, so only etcd keeps ports apart.

mod auth_tls;
mod lease;
mod ports;
mod quorum;
mod watch;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use cadre::registry::etcd::{EtcdError, EtcdSettings, EtcdStore, PortRequest, Registration};
use cadre::registry::{Entry, ProcessId};

use crate::fixture::etcd_cluster::EtcdCluster;

/// Env vars of a child process run by a test (the re-exec trick).
const CHILD_ROLE: &str = "CADRE_ETCD_TEST_ROLE";
const CHILD_SETTINGS: &str = "CADRE_ETCD_TEST_SETTINGS";
const CHILD_ARG: &str = "CADRE_ETCD_TEST_ARG";

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// An entry of this process for `name` on `host`.
pub fn entry_on(host: &str, name: &str) -> Entry {
    let mut e = crate::fixture::registry::entry(name, 0, ProcessId::current());
    e.host = host.into();
    e
}

/// The bind probe of a "host" that exists only in etcd: every port binds.
pub fn any_port(_: u16) -> Option<()> {
    Some(())
}

/// Register `name` on `host` for `lease` (bind probe: [`any_port`]).
pub async fn register(
    store: &EtcdStore,
    lease: i64,
    host: &str,
    name: &str,
    want: PortRequest,
) -> Result<Registration<()>, EtcdError> {
    store
        .register(lease, entry_on(host, name), want, any_port)
        .await
}

pub fn store(c: &EtcdCluster) -> EtcdStore {
    EtcdStore::new(&c.settings()).unwrap()
}

/// Poll `f` every 50 ms until it is true or `within` passes.
pub async fn eventually<F, Fut>(within: Duration, mut f: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    loop {
        if f().await {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What a child process was asked to do, when this process is one.
pub struct ChildTask {
    pub role: String,
    pub settings: EtcdSettings,
    pub arg: String,
}

pub fn child_task() -> Option<ChildTask> {
    let role = std::env::var(CHILD_ROLE).ok()?;
    let settings = serde_json::from_str(&std::env::var(CHILD_SETTINGS).ok()?).ok()?;
    Some(ChildTask {
        role,
        settings,
        arg: std::env::var(CHILD_ARG).unwrap_or_default(),
    })
}

/// A child process running one test of this binary in a role; killed on drop.
pub struct Worker {
    child: Child,
    pub stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl Worker {
    /// Run `test` (its path in this binary) as a child in `role`, with
    /// `settings` and `arg`; `env` adds variables (secrets, in the auth test).
    pub fn spawn(
        test: &str,
        role: &str,
        settings: &EtcdSettings,
        arg: &str,
        env: &[(&str, &str)],
    ) -> Worker {
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.args([test, "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_ROLE, role)
            .env(CHILD_SETTINGS, serde_json::to_string(settings).unwrap())
            .env(CHILD_ARG, arg)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Worker {
            stdin: child.stdin.take(),
            stdout,
            child,
        }
    }

    /// What follows `@@ ` in the next line the child printed that has it
    /// (the test harness prints its own text too, on the same line).
    pub fn line(&mut self) -> String {
        loop {
            let mut line = String::new();
            let n = self.stdout.read_line(&mut line).unwrap();
            assert!(n > 0, "the child ended before reporting");
            if let Some((_, rest)) = line.split_once("@@ ") {
                return rest.trim_end().to_string();
            }
        }
    }

    /// Close its stdin (the signal to finish) and wait for success.
    pub fn finish(mut self) {
        drop(self.stdin.take());
        let status = self.child.wait().unwrap();
        assert!(status.success(), "child failed: {status}");
    }

    /// SIGKILL it, as a crash.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// In a child: report a line to the parent.
pub fn report(line: &str) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "@@ {line}").unwrap();
    out.flush().unwrap();
}

/// In a child: block until the parent closes stdin.
pub fn wait_for_parent() {
    let mut sink = String::new();
    let _ = std::io::stdin().read_line(&mut sink);
}
