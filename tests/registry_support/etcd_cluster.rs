//! A real etcd cluster on loopback for the tests and the bench: members on
//! free ports with temporary data directories, each member stoppable,
//! killable and restartable; the whole group is killed when the value is
//! dropped (a panicking test included) and, through PDEATHSIG, when the
//! process that started it dies.
//!
//! Outside CI a missing `etcd` binary skips (a printed line says how to
//! install it); with `CI=true` it fails the test.
#![allow(dead_code)]

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How to get etcd, printed when it is missing.
pub const INSTALL: &str =
    "scripts/ci-etcd.sh (Debian packages etcd-server, etcd-client and openssl)";

/// One member: its ports, data and process.
struct Member {
    name: String,
    client: u16,
    peer: u16,
    data: PathBuf,
    log: PathBuf,
    child: Option<Child>,
}

/// A running cluster; every member is killed on drop.
pub struct EtcdCluster {
    members: Vec<Member>,
    initial: String,
    token: String,
    tls: Option<TlsFiles>,
    /// More flags for every member.
    extra: Vec<String>,
    _tmp: tempfile::TempDir,
}

/// Certificates for a cluster that serves clients over TLS and requires a
/// client certificate signed by the same CA (made with `openssl`).
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

/// `true` when `etcd` can be run; otherwise prints why the caller skips
/// (or panics under `CI=true`, where skipping would hide a broken set-up).
pub fn etcd_available() -> bool {
    let found = Command::new("etcd")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "etcd is not installed; CI must run the etcd tests: install it with {INSTALL}"
        );
        println!("skipping: etcd not found on PATH; install it with {INSTALL}");
    }
    found
}

impl EtcdCluster {
    /// Start `n` members (data on tmpfs when there is one) and wait until
    /// every member answers `/health`. `None` when etcd is not installed.
    pub fn start(n: usize) -> Option<EtcdCluster> {
        let base = if Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        EtcdCluster::start_in(n, &base, None, &[])
    }

    /// Same, with data directories under `base` (the bench measures disk
    /// too), with `tls` clients served over https only, and `extra` flags.
    pub fn start_in(
        n: usize,
        base: &Path,
        tls: Option<&TlsFiles>,
        extra: &[&str],
    ) -> Option<EtcdCluster> {
        if !etcd_available() {
            return None;
        }
        // A free port found by binding port 0 can be taken by someone else
        // before etcd binds it: start again on fresh ports when that happens.
        let mut last = String::new();
        for _ in 0..3 {
            match EtcdCluster::try_start(n, base, tls, extra) {
                Ok(c) => return Some(c),
                Err(e) => last = e,
            }
        }
        panic!("etcd cluster did not start: {last}");
    }

    fn try_start(
        n: usize,
        base: &Path,
        tls: Option<&TlsFiles>,
        extra: &[&str],
    ) -> Result<EtcdCluster, String> {
        let tmp = tempfile::Builder::new()
            .prefix("cadre-etcd-")
            .tempdir_in(base)
            .map_err(|e| e.to_string())?;
        let ports = free_ports(2 * n);
        let members: Vec<Member> = (0..n)
            .map(|i| Member {
                name: format!("m{i}"),
                client: ports[2 * i],
                peer: ports[2 * i + 1],
                data: tmp.path().join(format!("m{i}.etcd")),
                log: tmp.path().join(format!("m{i}.log")),
                child: None,
            })
            .collect();
        let initial = members
            .iter()
            .map(|m| format!("{}=http://127.0.0.1:{}", m.name, m.peer))
            .collect::<Vec<_>>()
            .join(",");
        let mut c = EtcdCluster {
            members,
            initial,
            token: format!("cadre-test-{}-{}", std::process::id(), ports[0]),
            tls: tls.cloned(),
            extra: extra.iter().map(|a| a.to_string()).collect(),
            _tmp: tmp,
        };
        for i in 0..n {
            c.spawn(i);
        }
        for i in 0..n {
            if let Err(e) = c.wait_healthy(i, Duration::from_secs(30)) {
                return Err(format!("{e}\n{}", c.log(i)));
            }
        }
        Ok(c)
    }

    fn spawn(&mut self, i: usize) {
        let client = self.endpoint(i);
        let m = &self.members[i];
        let peer = format!("http://127.0.0.1:{}", m.peer);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&m.log)
            .expect("etcd log file");
        let mut cmd = Command::new("etcd");
        cmd.args(["--name", &m.name])
            .arg("--data-dir")
            .arg(&m.data)
            .args(["--listen-client-urls", &client])
            .args(["--advertise-client-urls", &client])
            .args(["--listen-peer-urls", &peer])
            .args(["--initial-advertise-peer-urls", &peer])
            .args(["--initial-cluster", &self.initial])
            .args(["--initial-cluster-token", &self.token])
            .args(["--initial-cluster-state", "new"])
            .args(["--logger", "zap", "--log-level", "warn"])
            .args(self.tls.iter().flat_map(|t| {
                [
                    "--cert-file".into(),
                    t.server_cert.clone().into_os_string(),
                    "--key-file".into(),
                    t.server_key.clone().into_os_string(),
                    "--trusted-ca-file".into(),
                    t.ca.clone().into_os_string(),
                    "--client-cert-auth".into(),
                ]
            }))
            .args(&self.extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                rustix::process::set_parent_process_death_signal(Some(
                    rustix::process::Signal::KILL,
                ))
                .map_err(std::io::Error::from)
            });
        }
        let child = cmd.spawn().expect("spawn etcd");
        self.members[i].child = Some(child);
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Client URL of member `i`.
    pub fn endpoint(&self, i: usize) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.members[i].client)
    }

    pub fn endpoints(&self) -> Vec<String> {
        (0..self.members.len()).map(|i| self.endpoint(i)).collect()
    }

    /// Settings for cadre's store on this cluster (a test prefix of its own).
    pub fn settings(&self) -> cadre::registry::etcd::EtcdSettings {
        let mut s = cadre::registry::etcd::EtcdSettings::new(self.endpoints());
        s.lease_ttl = Duration::from_secs(2);
        s.request_timeout = Duration::from_secs(2);
        s
    }

    /// SIGTERM member `i` and wait for it to exit.
    pub fn stop(&mut self, i: usize) {
        self.signal(i, rustix::process::Signal::TERM);
    }

    /// SIGKILL member `i` (a crash) and reap it.
    pub fn kill(&mut self, i: usize) {
        self.signal(i, rustix::process::Signal::KILL);
    }

    fn signal(&mut self, i: usize, sig: rustix::process::Signal) {
        let Some(mut child) = self.members[i].child.take() else {
            return;
        };
        if let Some(pid) = rustix::process::Pid::from_raw(child.id() as i32) {
            let _ = rustix::process::kill_process(pid, sig);
        }
        let _ = child.wait();
    }

    /// Start member `i` again on its data directory (it rejoins the cluster).
    pub fn restart(&mut self, i: usize) {
        assert!(self.members[i].child.is_none(), "member {i} is running");
        self.spawn(i);
    }

    /// Wait until member `i` answers `/health` with `true` (it has a leader).
    pub fn wait_healthy(&self, i: usize, within: Duration) -> Result<(), String> {
        let deadline = Instant::now() + within;
        loop {
            if self.healthy(i) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("etcd member m{i} not healthy within {within:?}"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn healthy(&self, i: usize) -> bool {
        match &self.tls {
            None => health(self.members[i].client),
            // etcdctl says so on stderr; its exit status is the answer.
            Some(_) => self.etcdctl(i, &["endpoint", "health"]).is_ok(),
        }
    }

    /// Run `etcdctl ARGS` against member `i` (with the client certificate
    /// on a TLS cluster); its stdout, or its stderr as the error.
    pub fn etcdctl(&self, i: usize, args: &[&str]) -> Result<String, String> {
        let mut cmd = Command::new("etcdctl");
        cmd.env("ETCDCTL_API", "3")
            .arg(format!("--endpoints={}", self.endpoint(i)))
            .args(["--dial-timeout", "2s", "--command-timeout", "5s"]);
        if let Some(t) = &self.tls {
            cmd.arg("--cacert").arg(&t.ca);
            cmd.arg("--cert").arg(&t.client_cert);
            cmd.arg("--key").arg(&t.client_key);
        }
        let out = cmd
            .args(args)
            .output()
            .map_err(|e| format!("etcdctl: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// Create user `root` with `password` and turn authentication on.
    pub fn enable_auth(&self, password: &str) {
        let pw = format!("--new-user-password={password}");
        self.etcdctl(0, &["user", "add", "root", &pw])
            .expect("user add");
        self.etcdctl(0, &["auth", "enable"]).expect("auth enable");
    }

    /// Member `i`'s log, for failure messages.
    pub fn log(&self, i: usize) -> String {
        let text = std::fs::read_to_string(&self.members[i].log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for EtcdCluster {
    fn drop(&mut self) {
        for i in 0..self.members.len() {
            self.kill(i);
        }
    }
}

/// `GET /health` answers `{"health":"true"}`.
fn health(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect_timeout(
        &([127, 0, 0, 1], port).into(),
        Duration::from_millis(500),
    ) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let req =
        format!("GET /health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    if s.write_all(req.as_bytes()).is_err() {
        return false;
    }
    let mut reply = String::new();
    let _ = s.read_to_string(&mut reply);
    reply.contains("\"health\":\"true\"")
}

/// `n` distinct ports free at this instant, from the kernel (port 0) and
/// held together while choosing. Ports in 44999-47999 are passed over: the
/// shipped team and other tests pin ports there.
pub fn free_ports(n: usize) -> Vec<u16> {
    let mut held: Vec<TcpListener> = Vec::new();
    let mut ports = Vec::new();
    while ports.len() < n {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
        let port = l.local_addr().expect("local addr").port();
        if !(44999..=47999).contains(&port) {
            ports.push(port);
        }
        held.push(l);
    }
    ports
}
