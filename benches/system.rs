//! Whole-system benchmarks: the real `cadre up` binary against a loopback
//! provider that speaks Ollama's `/api/chat` with a configurable latency.
//!
//! Sections (all by default; name some to run only those):
//! - `cold`: `up` until every specialist answers `ping` (shipped 18, then
//!   N = 100 and N = 1000 generated files with allocated ports) and the
//!   daemon's RSS growth per specialist (VmRSS of /proc/PID/status).
//! - `reload`: file write until the first chat whose provider request carries
//!   the new prompt, p50/p99 over `CADRE_BENCH_EDITS` edits (default 200) at
//!   N = 18 and N = 1000.
//! - `overhead`: chat round trip through cadre vs a direct request to the same
//!   provider, 1 and 64 concurrent connections, p50/p99 and chats/s.
//! - `team`: 18 specialists, provider latency 200 ms, time until all answered.
//! - `protocols`: what an A2A `SendMessage` and an MCP `ask` add over a socket chat
//!   (not in the default run; name it).
//! - `teams`: a discussion of 18 × 3 rounds + synthesis, and a broadcast to 1000
//!   members, through `POST /api/teams/NAME` (not in the default run; name it).
//! - `consult`: what a consultation (`ask_colleague`, three provider requests)
//!   costs over those requests made directly (not in the default run; name it).
//! - `edge`: socket vs `/v1` against a lean loopback backend, concurrency 1 and
//!   16, N = 18 and 1000: added latency, daemon CPU per chat, TIME_WAIT left
//!   (not in the default run; `CADRE_BENCH_BIN_B` alternates a second build; see `system/edge.rs`).
//! - `idle`: wake-ups and CPU per second of a daemon left alone, N = 18 and
//!   1000 (not in the default run; see `system/idle.rs`).
//!
//! Run: `cargo bench --bench system [-- SECTION...]`; `CADRE_BENCH_N=18,1000`
//! picks the team sizes of `reload`; `CADRE_BENCH_BIN=path` runs another
//! `cadre` binary (a saved build of an older commit) for before/after figures. The state dir and the
//! project live under `CADRE_BENCH_TMP` (default the system temp dir, i.e. a
//! disk, as `~/.local/state` would be). Ports 28000-30999 are used (below the ephemeral range, so no client socket holds one).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

#[path = "system/consult.rs"]
mod consult;
#[path = "system/edge.rs"]
mod edge;
#[path = "system/idle.rs"]
mod idle;
#[path = "system/protocols.rs"]
mod protocols;
#[path = "system/teams.rs"]
mod teams;

const BIN: &str = env!("CARGO_BIN_EXE_cadre");

/// The `cadre` binary under test: `CADRE_BENCH_BIN` (e.g. a copy of an older
/// build, for before/after figures on the same machine) or this build's.
fn bin() -> String {
    std::env::var("CADRE_BENCH_BIN").unwrap_or_else(|_| BIN.to_owned())
}
const RANGE: [u16; 2] = [28000, 30999];
/// Shipped pinned ports 45000.. are moved here so a concurrently running test
/// suite on 45000-45099 does not collide with the bench.
const SHIPPED_BASE: u16 = 30900;

// ---------------------------------------------------------------- provider

/// A loopback Ollama: answers `mark=<token>` where token follows `MARK-` in
/// the system prompt (or `none`), after `latency_ms`.
#[derive(Clone)]
struct Provider {
    base_url: String,
    latency_ms: Arc<AtomicU64>,
}

async fn start_provider() -> Provider {
    let latency_ms = Arc::new(AtomicU64::new(0));
    let app = Router::new()
        .route("/api/chat", post(provider_chat))
        .route(
            "/api/tags",
            get(|| async { axum::Json(json!({"models": []})) }),
        )
        .route(
            "/api/version",
            get(|| async { axum::Json(json!({"version": "0.0.0-bench"})) }),
        )
        .with_state(latency_ms.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Provider {
        base_url: format!("http://{addr}"),
        latency_ms,
    }
}

fn mark_of(req: &Value) -> String {
    let system = req["messages"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["role"] == "system"))
        .and_then(|m| m["content"].as_str())
        .unwrap_or("");
    match system.find("MARK-") {
        Some(i) => system[i + 5..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect(),
        None => "none".into(),
    }
}

async fn provider_chat(State(latency): State<Arc<AtomicU64>>, body: axum::body::Bytes) -> Response {
    let req: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let ms = latency.load(Ordering::Relaxed);
    if ms > 0 {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let text = format!("mark={}", mark_of(&req));
    let model = req["model"].as_str().unwrap_or("m").to_owned();
    // A request offering `ask_colleague` gets a call (see `consult`).
    let message =
        consult::tool_call(&req).unwrap_or_else(|| json!({"role": "assistant", "content": text}));
    let chunk = json!({"model": model, "created_at": "2026-11-24T00:00:00Z",
        "message": message, "done": false});
    let done = json!({"model": model, "created_at": "2026-11-24T00:00:00Z",
        "message": {"role": "assistant", "content": ""}, "done": true, "done_reason": "stop",
        "prompt_eval_count": 7, "eval_count": 3});
    let out = if req["stream"].as_bool().unwrap_or(true) {
        format!("{chunk}\n{done}\n")
    } else {
        let mut d = done.clone();
        d["message"] = message;
        d.to_string()
    };
    Response::builder()
        .header("content-type", "application/x-ndjson")
        .body(Body::from(out))
        .unwrap()
}

// ---------------------------------------------------------------- project

struct Project {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    dir: PathBuf,
    state: PathBuf,
}

impl Project {
    fn new(base_url: &str) -> Project {
        Project::with_range(base_url, RANGE)
    }

    /// A project whose specialists take ports in `range` (within [`RANGE`]).
    fn with_range(base_url: &str, range: [u16; 2]) -> Project {
        let tmp = match std::env::var_os("CADRE_BENCH_TMP") {
            Some(d) => tempfile::tempdir_in(d).unwrap(),
            None => tempfile::tempdir().unwrap(),
        };
        let root = tmp.path().to_path_buf();
        let dir = root.join("specialists.d");
        std::fs::create_dir(&dir).unwrap();
        let templates = root.join("templates");
        std::fs::create_dir(&templates).unwrap();
        let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        for f in std::fs::read_dir(shipped).unwrap() {
            let f = f.unwrap();
            std::fs::copy(f.path(), templates.join(f.file_name())).unwrap();
        }
        let toml = format!(
            "[defaults]\nprovider = \"local\"\nmodel = \"bench-model\"\n\n\
             [providers.local]\nkind = \"ollama\"\nbase_url = \"{base_url}\"\n\n\
             [ports]\nrange = [{}, {}]\n\n[limits]\nmax_connections = 4096\n",
            range[0], range[1]
        );
        std::fs::write(root.join("cadre.toml"), toml).unwrap();
        let state = root.join("state");
        Project {
            _tmp: tmp,
            root,
            dir,
            state,
        }
    }

    /// The shipped team, provider pointed at the loopback, ports moved.
    fn copy_shipped(&self) -> Vec<String> {
        let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("specialists.d");
        let mut names = Vec::new();
        for f in std::fs::read_dir(shipped).unwrap() {
            let p = f.unwrap().path();
            if p.extension().is_none_or(|e| e != "toml") {
                continue;
            }
            let text = std::fs::read_to_string(&p).unwrap();
            let text: String = text
                .lines()
                .map(|l| match l.strip_prefix("port = ") {
                    Some(n) => format!(
                        "port = {}",
                        SHIPPED_BASE + (n.trim().parse::<u16>().unwrap() - 45000)
                    ),
                    None => l.replace("provider = \"ollama\"", "provider = \"local\""),
                })
                .collect::<Vec<_>>()
                .join("\n");
            std::fs::write(self.dir.join(p.file_name().unwrap()), text + "\n").unwrap();
            names.push(p.file_stem().unwrap().to_string_lossy().into_owned());
        }
        names.sort();
        names
    }

    fn write(&self, name: &str, mark: &str) {
        let text = format!(
            "component = \"{name}\"\ntitle = \"{name}\"\ndescription = \"Bench {name}.\"\n\n\
             [personality]\nrole = \"bench\"\nprompt = \"Answer briefly. MARK-{mark}\"\n"
        );
        // Write-then-rename, as editors and git do: the watcher sees one change.
        let tmp = self.dir.join(format!(".{name}.toml.tmp"));
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, self.dir.join(format!("{name}.toml"))).unwrap();
    }

    fn generate(&self, n: usize) -> Vec<String> {
        (0..n)
            .map(|i| {
                let name = format!("gen-{i:04}");
                self.write(&name, "v0");
                name
            })
            .collect()
    }

    fn up(&self) -> Daemon {
        let log = std::fs::File::create(self.root.join("up.log")).unwrap();
        let child = Command::new(bin())
            .arg("--dir")
            .arg(&self.dir)
            .arg("--state-dir")
            .arg(&self.state)
            .args(["up", "--no-http"])
            .env_remove("CADRE_DIR")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        Daemon { child }
    }

    /// Ready entries of the registry file (written atomically: no lock needed).
    fn ready_ports(&self) -> Vec<(String, u16)> {
        let Ok(text) = std::fs::read_to_string(self.state.join("registry.json")) else {
            return Vec::new();
        };
        let Ok(v) = serde_json::from_str::<Value>(&text) else {
            return Vec::new();
        };
        let Some(map) = v["specialists"].as_object() else {
            return Vec::new();
        };
        map.values()
            .filter(|e| e["state"] == "ready")
            .filter_map(|e| Some((e["name"].as_str()?.to_owned(), e["port"].as_u64()? as u16)))
            .collect()
    }

    /// Identifies one version of registry.json: it is replaced by rename, so
    /// every write is a new inode.
    fn registry_version(&self) -> Option<(u64, u64, Option<std::time::SystemTime>)> {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(self.state.join("registry.json")).ok()?;
        Some((m.ino(), m.len(), m.modified().ok()))
    }

    /// Poll until `n` entries are ready and each answers ping; the ports by name.
    ///
    /// Polls every millisecond, but parses registry.json only when a new
    /// version of it appears: at N = 1000 the file is ~400 KB, and parsing it
    /// every millisecond kept one of the machine's two cores busy in the
    /// bench itself, slowing the daemon it measures.
    async fn wait_all_ping(&self, n: usize, within: Duration) -> Vec<(String, u16)> {
        let deadline = Instant::now() + within;
        let mut seen = None;
        let mut ready = Vec::new();
        let mut read_at = Instant::now();
        loop {
            let version = self.registry_version();
            // Re-read every 50 ms anyway, in case a freed inode number was
            // reused for a file of the same size within one mtime tick.
            if version != seen || ready.len() >= n || read_at.elapsed() > Duration::from_millis(50)
            {
                seen = version;
                ready = self.ready_ports();
                read_at = Instant::now();
            }
            if ready.len() >= n {
                let pings = futures::future::join_all(ready.iter().map(|(_, p)| ping(*p))).await;
                if pings.iter().all(|ok| *ok) {
                    return ready;
                }
            }
            assert!(
                Instant::now() < deadline,
                "only {} of {n} ready after {within:?}; log:\n{}",
                ready.len(),
                std::fs::read_to_string(self.root.join("up.log")).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
}

struct Daemon {
    child: Child,
}

impl Daemon {
    fn rss_kb(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

// ---------------------------------------------------------------- clients

struct Conn {
    reader: BufReader<TcpStream>,
    line: String,
}

impl Conn {
    async fn open(port: u16) -> std::io::Result<Conn> {
        let s = TcpStream::connect(("127.0.0.1", port)).await?;
        s.set_nodelay(true)?;
        Ok(Conn {
            reader: BufReader::new(s),
            line: String::new(),
        })
    }

    async fn ask(&mut self, req: &str) -> std::io::Result<Value> {
        self.reader.get_mut().write_all(req.as_bytes()).await?;
        self.line.clear();
        self.reader.read_line(&mut self.line).await?;
        serde_json::from_str(&self.line).map_err(std::io::Error::other)
    }
}

async fn ping(port: u16) -> bool {
    let Ok(mut c) = Conn::open(port).await else {
        return false;
    };
    // Closed with a reset: no TIME_WAIT of the bench's own on the range.
    let _ = c.reader.get_ref().set_zero_linger();
    matches!(c.ask("{\"type\":\"ping\"}\n").await, Ok(v) if v["type"] == "pong")
}

const CHAT: &str = "{\"type\":\"chat\",\"content\":\"hello\"}\n";

// ---------------------------------------------------------------- stats

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn summary(mut d: Vec<Duration>) -> String {
    d.sort();
    format!(
        "n={} p50={:.3}ms p99={:.3}ms max={:.3}ms",
        d.len(),
        pct(&d, 0.5).as_secs_f64() * 1e3,
        pct(&d, 0.99).as_secs_f64() * 1e3,
        d.last().unwrap().as_secs_f64() * 1e3
    )
}

// ---------------------------------------------------------------- sections

async fn cold(provider: &Provider) {
    // Baseline RSS: a daemon with no specialists.
    let p = Project::new(&provider.base_url);
    let d = p.up();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss0 = d.rss_kb();
    d.stop();
    println!("cold: empty daemon RSS {rss0} kB");

    for run in 0..3 {
        let p = Project::new(&provider.base_url);
        let names = p.copy_shipped();
        let t = Instant::now();
        let d = p.up();
        p.wait_all_ping(names.len(), Duration::from_secs(30)).await;
        let took = t.elapsed();
        println!(
            "cold: shipped {} up->all ping {:.1} ms (run {run}), RSS {} kB",
            names.len(),
            took.as_secs_f64() * 1e3,
            d.rss_kb()
        );
        d.stop();
    }

    for n in [100usize, 1000] {
        let p = Project::new(&provider.base_url);
        p.generate(n);
        let t = Instant::now();
        let d = p.up();
        p.wait_all_ping(n, Duration::from_secs(120)).await;
        let took = t.elapsed();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let rss = d.rss_kb();
        println!(
            "cold: N={n} up->all ping {:.1} ms, RSS {rss} kB, growth {:.1} kB/specialist",
            took.as_secs_f64() * 1e3,
            (rss.saturating_sub(rss0)) as f64 / n as f64
        );
        d.stop();
    }
}

/// Team sizes of `reload`, `edge` and `idle`: `CADRE_BENCH_N`, default 18 and 1000.
fn sizes() -> Vec<usize> {
    std::env::var("CADRE_BENCH_N")
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.parse().ok()).collect())
        .unwrap_or_else(|| vec![18, 1000])
}

async fn reload(provider: &Provider) {
    let edits: usize = std::env::var("CADRE_BENCH_EDITS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    for n in sizes() {
        let p = Project::new(&provider.base_url);
        let names = p.generate(n);
        let d = p.up();
        let ports = p.wait_all_ping(n, Duration::from_secs(120)).await;
        let target = &names[n / 2];
        let port = ports.iter().find(|(name, _)| name == target).unwrap().1;
        let mut conn = Conn::open(port).await.unwrap();
        let mut times = Vec::with_capacity(edits);
        let mut chats = 0u64;
        for i in 1..=edits {
            let mark = format!("v{i}");
            let want = format!("mark={mark}");
            let t = Instant::now();
            p.write(target, &mark);
            loop {
                let r = conn.ask(CHAT).await.unwrap();
                chats += 1;
                if r["content"] == want.as_str() {
                    break;
                }
                assert!(
                    t.elapsed() < Duration::from_secs(30),
                    "edit {i} never reached the provider: {r}"
                );
            }
            times.push(t.elapsed());
            // Let the debouncer settle so edits do not coalesce.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        println!(
            "reload: N={n} write->first chat with new prompt: {} ({chats} chats)",
            summary(times)
        );
        d.stop();
    }
}

async fn overhead(provider: &Provider) {
    let p = Project::new(&provider.base_url);
    p.generate(1);
    let d = p.up();
    let port = p.wait_all_ping(1, Duration::from_secs(30)).await[0].1;
    let http = reqwest::Client::builder().build().unwrap();
    let url = format!("{}/api/chat", provider.base_url);
    let body = json!({"model": "bench-model", "stream": true,
        "messages": [{"role": "system", "content": "Answer briefly. MARK-v0"},
                     {"role": "user", "content": "hello"}]});

    for conns in [1usize, 64] {
        let per = if conns == 1 { 3000 } else { 100 };
        // Warm-up of both paths.
        let mut c = Conn::open(port).await.unwrap();
        for _ in 0..200 {
            c.ask(CHAT).await.unwrap();
            http.post(&url)
                .json(&body)
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
        }

        let t = Instant::now();
        let tasks: Vec<_> = (0..conns)
            .map(|_| {
                tokio::spawn(async move {
                    let mut c = Conn::open(port).await.unwrap();
                    let mut v = Vec::with_capacity(per);
                    for _ in 0..per {
                        let s = Instant::now();
                        let r = c.ask(CHAT).await.unwrap();
                        assert_eq!(r["type"], "response", "{r}");
                        v.push(s.elapsed());
                    }
                    v
                })
            })
            .collect();
        let mut via = Vec::new();
        for t in tasks {
            via.extend(t.await.unwrap());
        }
        let via_rate = via.len() as f64 / t.elapsed().as_secs_f64();

        let t = Instant::now();
        let tasks: Vec<_> = (0..conns)
            .map(|_| {
                let (http, url, body) = (http.clone(), url.clone(), body.clone());
                tokio::spawn(async move {
                    let mut v = Vec::with_capacity(per);
                    for _ in 0..per {
                        let s = Instant::now();
                        let r = http.post(&url).json(&body).send().await.unwrap();
                        let b = r.bytes().await.unwrap();
                        assert!(!b.is_empty());
                        v.push(s.elapsed());
                    }
                    v
                })
            })
            .collect();
        let mut direct = Vec::new();
        for t in tasks {
            direct.extend(t.await.unwrap());
        }
        let direct_rate = direct.len() as f64 / t.elapsed().as_secs_f64();
        println!(
            "overhead: {conns} conn(s) via cadre:  {} {via_rate:.0} chats/s",
            summary(via)
        );
        println!(
            "overhead: {conns} conn(s) direct:     {} {direct_rate:.0} req/s",
            summary(direct)
        );
    }
    d.stop();
}

async fn team(provider: &Provider) {
    let p = Project::new(&provider.base_url);
    let names = p.copy_shipped();
    let d = p.up();
    let ports = p.wait_all_ping(names.len(), Duration::from_secs(30)).await;
    provider.latency_ms.store(200, Ordering::Relaxed);
    let mut rounds = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        let answers = futures::future::join_all(ports.iter().map(|(_, port)| async move {
            let mut c = Conn::open(*port).await.unwrap();
            c.ask(CHAT).await.unwrap()
        }))
        .await;
        rounds.push(t.elapsed());
        for a in answers {
            assert_eq!(a["type"], "response", "{a}");
        }
    }
    provider.latency_ms.store(0, Ordering::Relaxed);
    println!(
        "team: {} specialists, provider latency 200 ms, all answered: {}",
        ports.len(),
        summary(rounds)
    );
    if std::env::var_os("CADRE_BENCH_HOLD").is_some() {
        // Keep the team up for process-level measurements of `cadre team`.
        println!(
            "team: holding; run e.g. `{} --dir {} --state-dir {} team hi`",
            bin(),
            p.dir.display(),
            p.state.display()
        );
        provider.latency_ms.store(200, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_secs(600)).await;
    }
    d.stop();
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let all = [
        "cold",
        "reload",
        "overhead",
        "team",
        "protocols",
        "teams",
        "consult",
        "edge",
        "idle",
    ];
    let run: Vec<&str> = if args.is_empty() {
        all[..4].to_vec()
    } else {
        all.iter()
            .copied()
            .filter(|s| args.iter().any(|a| a == s))
            .collect()
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let provider = start_provider().await;
        for s in run {
            match s {
                "cold" => cold(&provider).await,
                "reload" => reload(&provider).await,
                "overhead" => overhead(&provider).await,
                "team" => team(&provider).await,
                "protocols" => protocols::protocols(&provider).await,
                "teams" => teams::teams(&provider).await,
                "consult" => consult::consult(&provider).await,
                "edge" => edge::edge(&sizes()).await,
                "idle" => idle::idle(&provider.base_url, &sizes()).await,
                _ => unreachable!(),
            }
        }
    });
}
