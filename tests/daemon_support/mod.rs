//! Fixtures of the `cadre up` tests: a temporary project (specialists.d,
//! templates, cadre.toml pointing at a loopback Ollama and a port range of
//! its own), the real `cadre` binary running `up` on it, and small blocking
//! socket clients.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub const BIN: &str = env!("CARGO_BIN_EXE_cadre");

/// A temporary project and state dir.
pub struct Project {
    pub tmp: tempfile::TempDir,
    pub dir: PathBuf,
    pub state: PathBuf,
}

impl Project {
    /// `range`: this test's own port range; `base_url`: the loopback Ollama.
    pub fn new(range: [u16; 2], base_url: &str) -> Project {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("specialists.d");
        std::fs::create_dir(&dir).unwrap();
        let templates = tmp.path().join("templates");
        std::fs::create_dir(&templates).unwrap();
        let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        for f in std::fs::read_dir(shipped).unwrap() {
            let f = f.unwrap();
            std::fs::copy(f.path(), templates.join(f.file_name())).unwrap();
        }
        let state = tmp.path().join("state");
        let p = Project { tmp, dir, state };
        p.write_project(range, base_url);
        p
    }

    pub fn write_project(&self, range: [u16; 2], base_url: &str) {
        let toml = format!(
            "[defaults]\nprovider = \"local\"\nmodel = \"test-model\"\n\n\
             [providers.local]\nkind = \"ollama\"\nbase_url = \"{base_url}\"\n\n\
             [ports]\nrange = [{}, {}]\n\n[limits]\ndrain_timeout = \"5s\"\n",
            range[0], range[1]
        );
        std::fs::write(self.tmp.path().join("cadre.toml"), toml).unwrap();
    }

    /// Copy the shipped team in, with every provider pointed at the test server.
    pub fn copy_shipped(&self) {
        let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("specialists.d");
        for f in std::fs::read_dir(shipped).unwrap() {
            let f = f.unwrap();
            let text = std::fs::read_to_string(f.path()).unwrap();
            let text = text.replace("provider = \"ollama\"", "provider = \"local\"");
            std::fs::write(self.dir.join(f.file_name()), text).unwrap();
        }
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.toml"))
    }

    /// A valid specialist file; `port` pins it.
    pub fn specialist_toml(name: &str, prompt: &str, port: Option<u16>) -> String {
        let port = port.map(|p| format!("port = {p}\n")).unwrap_or_default();
        format!(
            "component = \"{name}\"\ntitle = \"{name} title\"\ndescription = \"Tests {name}.\"\n{port}\n\
             [personality]\nrole = \"tester\"\nprompt = \"{prompt}\"\n"
        )
    }

    pub fn write(&self, name: &str, prompt: &str, port: Option<u16>) {
        std::fs::write(self.file(name), Self::specialist_toml(name, prompt, port)).unwrap();
    }

    pub fn cadre(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .arg("--dir")
            .arg(&self.dir)
            .arg("--state-dir")
            .arg(&self.state)
            .args(args)
            .env_remove("CADRE_DIR")
            .output()
            .unwrap()
    }

    pub fn status(&self) -> Vec<Value> {
        let out = self.cadre(&["status", "--json"]);
        assert!(
            out.status.success(),
            "status failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Vec<Value>>(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "status --json is not JSON ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }

    pub fn status_of(&self, name: &str) -> Option<Value> {
        self.status().into_iter().find(|r| r["name"] == name)
    }

    pub fn port_of(&self, name: &str) -> Option<u16> {
        self.status_of(name)
            .and_then(|r| r["port"].as_u64())
            .map(|p| p as u16)
    }

    pub fn registry(&self) -> Value {
        let text = std::fs::read_to_string(self.state.join("registry.json"))
            .unwrap_or_else(|_| "{}".into());
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    pub fn up(&self) -> Daemon {
        self.up_with(&[])
    }

    pub fn up_with(&self, extra: &[&str]) -> Daemon {
        let log = self
            .tmp
            .path()
            .join(format!("up-{}.log", std::process::id()));
        let stderr = std::fs::File::create(&log).unwrap();
        let child = Command::new(BIN)
            .arg("--dir")
            .arg(&self.dir)
            .arg("--state-dir")
            .arg(&self.state)
            .args(["up", "--no-http"])
            .args(extra)
            .env_remove("CADRE_DIR")
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap();
        Daemon {
            child: Some(child),
            log,
        }
    }

    /// Wait until `status` shows exactly `names` ready and answering.
    ///
    /// 30 s, unless a pinned port turns out to be held by a socket that frees
    /// itself: a TIME_WAIT left by a client that was given the port as its
    /// ephemeral port (another test's, a browser's, a previous daemon's
    /// provider connection) lasts 60 s, an idle pooled connection up to a
    /// minute more, and `up` retries with backoff (…, 31 s, 63 s, then every
    /// 60 s). While a specialist's last try failed that way, the wait goes on
    /// (up to [`HELD_PORT_CAP`] in all), and says why on the terminal.
    pub fn wait_ready(&self, names: &[&str], daemon: &mut Daemon) {
        let started = Instant::now();
        let mut deadline = started + Duration::from_secs(30);
        let mut told = std::collections::HashSet::new();
        loop {
            daemon.assert_running();
            let rows = self.status();
            let ready = rows.len() == names.len()
                && names.iter().all(|n| {
                    rows.iter()
                        .any(|r| r["name"] == *n && r["state"] == "ready")
                });
            if ready {
                return;
            }
            for row in rows.iter().filter(|r| held_by_a_passing_socket(r)) {
                deadline = deadline
                    .max(Instant::now() + HELD_PORT_WAIT)
                    .min(started + HELD_PORT_CAP);
                if told.insert(row["name"].to_string()) {
                    say(&format!(
                        "waiting for {} (up to {}s in all): {} (such a port frees itself; \
                         cadre up retries until it binds)",
                        row["name"],
                        HELD_PORT_CAP.as_secs(),
                        row["last_error"].as_str().unwrap_or("")
                    ));
                }
            }
            assert!(
                Instant::now() < deadline,
                "not ready after {:?}: {rows:#?}\nlog:\n{}",
                started.elapsed(),
                daemon.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// How long [`Project::wait_ready`] goes on after it last saw a pinned port
/// held by a socket that frees itself: a TIME_WAIT's 60 s, plus a margin.
pub const HELD_PORT_WAIT: Duration = Duration::from_secs(75);
/// The most [`Project::wait_ready`] waits in all.
pub const HELD_PORT_CAP: Duration = Duration::from_secs(600);

/// A status row failed because its pinned port is held by a TIME_WAIT or an
/// open connection (as `cadre::net::held` words it), not by a listener.
fn held_by_a_passing_socket(row: &Value) -> bool {
    let err = row["last_error"].as_str().unwrap_or("");
    row["state"] == "failed" && (err.contains("in TIME_WAIT") || err.contains("an open connection"))
}

/// A line on the terminal even while the test harness captures the test's
/// output (it captures `eprintln!`, not writes to stderr itself): a user
/// watching `cargo test` sees why a test waits.
pub fn say(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// A running `cadre up`; killed on drop.
pub struct Daemon {
    pub child: Option<Child>,
    pub log: PathBuf,
}

impl Daemon {
    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn assert_running(&mut self) {
        if let Some(c) = self.child.as_mut()
            && let Ok(Some(status)) = c.try_wait()
        {
            panic!("cadre up exited early ({status}):\n{}", self.log());
        }
    }

    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.pid().to_string())
            .status()
            .unwrap();
        assert!(ok.success());
    }

    /// Wait for exit; returns the exit code.
    pub fn wait(&mut self, within: Duration) -> Option<i32> {
        let mut child = self.child.take().unwrap();
        let deadline = Instant::now() + within;
        loop {
            if let Ok(Some(s)) = child.try_wait() {
                return s.code();
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("cadre up did not exit within {within:?}:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Poll `f` every 50 ms until true or `within` passes.
pub fn poll(within: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if f() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A blocking line client on one connection.
pub struct Conn {
    reader: BufReader<TcpStream>,
}

/// A client connection to `127.0.0.1:port` with SO_REUSEADDR, as cadre's
/// own clients make: thousands of them (the fault tests) leave TIME_WAITs
/// that never keep a later test's pinned port from binding.
pub fn tcp(port: u16) -> std::io::Result<TcpStream> {
    tcp_within(port, Duration::from_secs(2))
}

pub fn tcp_within(port: u16, timeout: Duration) -> std::io::Result<TcpStream> {
    cadre::net::socket::connect_blocking(([127, 0, 0, 1], port).into(), timeout)
}

impl Conn {
    pub fn open(port: u16) -> std::io::Result<Conn> {
        let s = tcp(port)?;
        s.set_read_timeout(Some(Duration::from_secs(20)))?;
        Ok(Conn {
            reader: BufReader::new(s),
        })
    }

    pub fn ask(&mut self, req: Value) -> Value {
        let mut line = serde_json::to_string(&req).unwrap();
        line.push('\n');
        self.reader.get_mut().write_all(line.as_bytes()).unwrap();
        let mut reply = String::new();
        self.reader.read_line(&mut reply).unwrap();
        serde_json::from_str(&reply).unwrap_or_else(|e| panic!("bad reply {reply:?}: {e}"))
    }

    pub fn chat(&mut self, content: &str) -> Value {
        self.ask(json!({"type": "chat", "content": content}))
    }
}

/// True when something answers `ping` on `port`.
pub fn pings(port: u16) -> bool {
    Conn::open(port)
        .map(|mut c| c.ask(json!({"type": "ping"}))["type"] == "pong")
        .unwrap_or(false)
}

/// True when nothing accepts on `port`.
pub fn closed(port: u16) -> bool {
    tcp_within(port, Duration::from_millis(500)).is_err()
}

/// The system prompt of the last chat the test server received.
pub fn last_system_prompt(requests: &[Value]) -> String {
    let last = requests.last().expect("the provider received no chat");
    last["messages"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["role"] == "system"))
        .and_then(|m| m["content"].as_str())
        .unwrap_or("")
        .to_owned()
}
