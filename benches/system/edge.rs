//! `edge`: what a chat costs through the specialist's socket and through
//! `/v1/chat/completions`, side by side in one daemon, against a lean
//! loopback backend; with `CADRE_BENCH_BIN_B=path` (label
//! `CADRE_BENCH_LABEL_B`) a second build's daemon runs beside this one's, on
//! its own half of the port range, and every run alternates between them.
//!
//! - The backend speaks just enough HTTP/1.1 (keep-alive, Content-Length) to
//!   answer Ollama's non-streamed `/api/chat` with a fixed body, on one thread
//!   of its own; the client speaks the socket protocol and HTTP/1.1 the same
//!   way, on one thread of its own, one kept-alive connection per worker. Both
//!   threads' CPU is measured (`/proc/thread-self` schedstat), so their own
//!   cost is known; `direct` (client → backend, the body cadre sends) is the
//!   floor that "added" figures subtract.
//! - Per team size (`CADRE_BENCH_N`, default 18 and 1000): 3 rounds, each
//!   running every build's paths and direct at concurrency 1 and 16, the
//!   order rotating per round; each figure is the median of its 3 runs. Per run: latency p50/p99,
//!   chats/s, and the daemon's CPU per chat (schedstat of all its threads).
//! - TIME_WAIT: sockets in TIME_WAIT on a build's specialists' ports before the
//!   chats and after them (the bench's own connections stay open until then,
//!   and its pings close with RST), i.e. what the daemon's chats left behind.
//!
//! `CADRE_BENCH_EDGE_CHATS` (default 2000): chats per run at concurrency 1;
//! twice that at 16.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};

use super::protocols::{Web, up_http_with};
use super::{Project, RANGE, pct};

const WORKERS: usize = 16;

// ------------------------------------------------------------ CPU accounting

/// Nanoseconds on CPU of one thread, from its `schedstat` file.
fn thread_ns(path: &str) -> u64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Nanoseconds on CPU of every thread of `pid` now.
fn process_ns(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .filter_map(Result::ok)
        .map(|t| thread_ns(&format!("{}/schedstat", t.path().display())))
        .sum()
}

/// This thread's schedstat path, readable from any thread.
fn this_thread() -> String {
    let link = std::fs::read_link("/proc/thread-self").unwrap();
    format!("/proc/{}/schedstat", link.display())
}

/// Run `task` on a thread of its own with a one-thread runtime, so its CPU
/// is that thread's and nothing else's.
fn own_thread<F>(task: impl FnOnce() -> F + Send + 'static)
where
    F: std::future::Future<Output = ()>,
{
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(task())
    });
}

// ------------------------------------------------------------ lean HTTP

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn content_length(head: &[u8]) -> usize {
    let head = String::from_utf8_lossy(head).to_ascii_lowercase();
    head.lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// One HTTP/1.1 message (head and Content-Length body) at the front of
/// `buf`, reading as needed; returns (head length, body length).
async fn read_message(s: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<(usize, usize)> {
    loop {
        if let Some(h) = find(buf, b"\r\n\r\n") {
            let head = h + 4;
            let body = content_length(&buf[..head]);
            if buf.len() >= head + body {
                return Ok((head, body));
            }
        }
        buf.reserve(64 * 1024);
        if s.read_buf(buf).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
    }
}

// ------------------------------------------------------------ backend

const ANSWER: &str = "{\"model\":\"bench-model\",\"created_at\":\"2026-11-24T00:00:00Z\",\
\"message\":{\"role\":\"assistant\",\"content\":\"ok\"},\"done\":true,\"done_reason\":\"stop\",\
\"prompt_eval_count\":7,\"eval_count\":3}";

/// The lean Ollama: its URL, its thread's schedstat, and a one-shot capture
/// of the next request body.
pub struct Backend {
    pub base_url: String,
    cpu: String,
    capture: Arc<AtomicBool>,
    captured: Arc<std::sync::Mutex<Vec<u8>>>,
}

impl Backend {
    pub fn start() -> Backend {
        let (tx, rx) = std::sync::mpsc::channel();
        let capture = Arc::new(AtomicBool::new(false));
        let captured = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (cap, got) = (capture.clone(), captured.clone());
        own_thread(move || async move {
            let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send((l.local_addr().unwrap(), this_thread())).unwrap();
            loop {
                let (s, _) = l.accept().await.unwrap();
                let _ = s.set_nodelay(true);
                tokio::spawn(serve(s, cap.clone(), got.clone()));
            }
        });
        let (addr, cpu) = rx.recv().unwrap();
        Backend {
            base_url: format!("http://{addr}"),
            cpu,
            capture,
            captured,
        }
    }

    fn cpu_ns(&self) -> u64 {
        thread_ns(&self.cpu)
    }

    /// The body of the next chat request it receives (after `trigger` runs).
    async fn capture(&self, trigger: impl std::future::Future<Output = ()>) -> Vec<u8> {
        self.capture.store(true, Ordering::SeqCst);
        trigger.await;
        std::mem::take(&mut *self.captured.lock().unwrap())
    }
}

async fn serve(
    mut s: TcpStream,
    capture: Arc<AtomicBool>,
    captured: Arc<std::sync::Mutex<Vec<u8>>>,
) {
    let mut buf = Vec::new();
    let reply = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{ANSWER}",
        ANSWER.len()
    );
    while let Ok((head, body)) = read_message(&mut s, &mut buf).await {
        if capture.swap(false, Ordering::SeqCst) {
            *captured.lock().unwrap() = buf[head..head + body].to_vec();
        }
        buf.drain(..head + body);
        if s.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}

// ------------------------------------------------------------ client

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Path {
    Socket,
    V1,
    Direct,
}

impl Path {
    fn name(self) -> &'static str {
        match self {
            Path::Socket => "socket",
            Path::V1 => "/v1",
            Path::Direct => "direct",
        }
    }
}

/// A kept-alive connection and the request it repeats.
struct Conn {
    s: TcpStream,
    buf: Vec<u8>,
    request: Vec<u8>,
    path: Path,
}

impl Conn {
    async fn open(port: u16, request: Vec<u8>, path: Path) -> Conn {
        let s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        s.set_nodelay(true).unwrap();
        // Closed with a reset: the bench leaves no TIME_WAIT of its own.
        s.set_zero_linger().unwrap();
        Conn {
            s,
            buf: Vec::new(),
            request,
            path,
        }
    }

    async fn chat(&mut self) -> Duration {
        let t = Instant::now();
        self.s.write_all(&self.request).await.unwrap();
        if self.path == Path::Socket {
            loop {
                if let Some(i) = self.buf.iter().position(|b| *b == b'\n') {
                    let line: Vec<u8> = self.buf.drain(..=i).collect();
                    let line = String::from_utf8_lossy(&line);
                    assert!(line.contains("\"type\":\"response\""), "{line}");
                    break;
                }
                self.buf.reserve(64 * 1024);
                assert!(
                    self.s.read_buf(&mut self.buf).await.unwrap() > 0,
                    "socket closed"
                );
            }
        } else {
            let (head, body) = read_message(&mut self.s, &mut self.buf).await.unwrap();
            let ok = self.buf.starts_with(b"HTTP/1.1 200");
            let text = String::from_utf8_lossy(&self.buf[..head + body]).into_owned();
            assert!(ok, "{text}");
            if self.path == Path::V1 {
                assert!(text.contains("\"chat.completion\""), "{text}");
            }
            self.buf.drain(..head + body);
        }
        t.elapsed()
    }
}

fn http_post(port: u16, path: &str, body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "POST {path} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

struct Job {
    path: Path,
    workers: usize,
    chats: usize,
    reply: oneshot::Sender<(Vec<Duration>, Duration, u64)>,
}

/// The client thread: owns every connection; runs one job at a time.
struct Client {
    jobs: mpsc::Sender<Job>,
}

/// Where the client connects: each worker's socket port and name, the
/// daemon's HTTP port, the backend's port and the body to send it.
struct Targets {
    workers: Vec<(String, u16)>,
    http: u16,
    backend: u16,
    direct_body: Vec<u8>,
}

impl Client {
    fn start(t: Targets) -> Client {
        let (jobs, mut rx) = mpsc::channel::<Job>(1);
        own_thread(move || async move {
            let cpu = this_thread();
            let mut pools = Vec::new();
            for path in [Path::Socket, Path::V1, Path::Direct] {
                let mut pool = Vec::new();
                for (name, port) in &t.workers {
                    pool.push(match path {
                            Path::Socket => {
                                let line = b"{\"type\":\"chat\",\"content\":\"hello\"}\n".to_vec();
                                Conn::open(*port, line, path).await
                            }
                            Path::V1 => {
                                let body = format!(
                                    "{{\"model\":\"{name}\",\"messages\":[{{\"role\":\"user\",\"content\":\"hello\"}}]}}"
                                );
                                let req = http_post(t.http, "/v1/chat/completions", body.as_bytes());
                                Conn::open(t.http, req, path).await
                            }
                            Path::Direct => {
                                let req = http_post(t.backend, "/api/chat", &t.direct_body);
                                Conn::open(t.backend, req, path).await
                            }
                        });
                }
                pools.push((path, pool));
            }
            while let Some(job) = rx.recv().await {
                let pool = &mut pools.iter_mut().find(|(p, _)| *p == job.path).unwrap().1;
                let per = job.chats / job.workers;
                let cpu0 = thread_ns(&cpu);
                let t = Instant::now();
                let runs = pool[..job.workers].iter_mut().map(|c| async move {
                    let mut v = Vec::with_capacity(per);
                    for _ in 0..per {
                        v.push(c.chat().await);
                    }
                    v
                });
                let lat: Vec<Duration> = futures::future::join_all(runs).await.concat();
                let wall = t.elapsed();
                let _ = job.reply.send((lat, wall, thread_ns(&cpu) - cpu0));
            }
        });
        Client { jobs }
    }

    async fn run(
        &self,
        path: Path,
        workers: usize,
        chats: usize,
    ) -> (Vec<Duration>, Duration, u64) {
        let (reply, rx) = oneshot::channel();
        self.jobs
            .send(Job {
                path,
                workers,
                chats,
                reply,
            })
            .await
            .unwrap();
        rx.await.unwrap()
    }
}

// ------------------------------------------------------------ the section

/// One run's figures (times in µs).
#[derive(Clone, Copy, Default)]
struct Run {
    p50: f64,
    p99: f64,
    rate: f64,
    daemon_cpu: f64,
    client_cpu: f64,
    backend_cpu: f64,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Sockets in TIME_WAIT with a local or remote port in `range`.
fn time_wait(range: [u16; 2]) -> usize {
    let mut n = 0;
    for f in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = std::fs::read_to_string(f).unwrap_or_default();
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            if cols.len() < 4 || cols[3] != "06" {
                continue;
            }
            let port = |c: &str| {
                c.rsplit(':')
                    .next()
                    .and_then(|p| u16::from_str_radix(p, 16).ok())
            };
            let in_range = |p: Option<u16>| p.is_some_and(|p| (range[0]..=range[1]).contains(&p));
            if in_range(port(cols[1])) || in_range(port(cols[2])) {
                n += 1;
            }
        }
    }
    n
}

/// One build's daemon for one team size, and a client bound to it.
struct Up {
    label: String,
    range: [u16; 2],
    web: Web,
    client: Client,
    _project: Project,
}

/// What one run measured: a build's path, or `direct` (build `None`).
type Measured = (Option<usize>, Path, usize, Run);

async fn bring_up(
    backend: &Backend,
    n: usize,
    (label, bin): &(String, String),
    range: [u16; 2],
) -> (Up, Vec<u8>) {
    let p = Project::with_range(&backend.base_url, range);
    let names = p.generate(n);
    let web = up_http_with(&p, bin);
    let ports = p.wait_all_ping(n, Duration::from_secs(180)).await;
    let port_of = |name: &str| ports.iter().find(|(m, _)| m == name).unwrap().1;
    let workers: Vec<(String, u16)> = (0..WORKERS)
        .map(|i| names[(n / 2 + i * n / WORKERS) % n].clone())
        .map(|name| {
            let port = port_of(&name);
            (name, port)
        })
        .collect();
    let target = workers[0].1;
    let direct_body = backend
        .capture(async {
            let mut c = super::Conn::open(target).await.unwrap();
            c.ask(super::CHAT).await.unwrap();
            // Closed with a reset: the count of TIME_WAIT is the daemon's alone.
            let _ = c.reader.get_ref().set_zero_linger();
        })
        .await;
    let http: u16 = web.base.rsplit(':').next().unwrap().parse().unwrap();
    let backend_port: u16 = backend
        .base_url
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let client = Client::start(Targets {
        workers,
        http,
        backend: backend_port,
        direct_body: direct_body.clone(),
    });
    // Warm every connection and path before anything counts.
    for path in [Path::Socket, Path::V1, Path::Direct] {
        client.run(path, WORKERS, 400).await;
    }
    let up = Up {
        label: label.clone(),
        range,
        web,
        client,
        _project: p,
    };
    (up, direct_body)
}

async fn measure(up: &Up, backend: &Backend, path: Path, workers: usize, total: usize) -> Run {
    // Unmeasured chats first (half a run): the run before this one was
    // another path, build or direct, and the scheduler takes a while to
    // settle on the new pair of threads. Without this, the first build's
    // socket (which the rotation always puts right after `direct`) measured
    // 8-10 µs more CPU per chat at c=1 than the same binary as the second
    // build; with 200 chats first, still so; with half a run, the two agree.
    up.client.run(path, workers, total / 2).await;
    let pid = up.web.pid();
    let (d0, b0) = (process_ns(pid), backend.cpu_ns());
    let (mut lat, wall, client_ns) = up.client.run(path, workers, total).await;
    let (d1, b1) = (process_ns(pid), backend.cpu_ns());
    lat.sort();
    let k = lat.len() as f64;
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    Run {
        p50: us(pct(&lat, 0.5)),
        p99: us(pct(&lat, 0.99)),
        rate: k / wall.as_secs_f64(),
        daemon_cpu: if path == Path::Direct {
            0.0
        } else {
            (d1 - d0) as f64 / 1e3 / k
        },
        client_cpu: client_ns as f64 / 1e3 / k,
        backend_cpu: (b1 - b0) as f64 / 1e3 / k,
    }
}

pub async fn edge(sizes: &[usize]) {
    let chats: usize = std::env::var("CADRE_BENCH_EDGE_CHATS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let builds = builds();
    let backend = Backend::start();
    for &n in sizes {
        let mut ups = Vec::new();
        let mut direct_body = 0;
        for (i, b) in builds.iter().enumerate() {
            let (up, body) = bring_up(&backend, n, b, sub_range(i, builds.len())).await;
            direct_body = direct_body.max(body.len());
            ups.push(up);
        }
        let tw_before: Vec<usize> = ups.iter().map(|u| time_wait(u.range)).collect();
        // Every (build, path) and direct once per round and concurrency, in
        // an order that rotates with the round: A and B alternate.
        let mut variants: Vec<(Option<usize>, Path)> = vec![(None, Path::Direct)];
        for i in 0..ups.len() {
            variants.push((Some(i), Path::Socket));
            variants.push((Some(i), Path::V1));
        }
        let mut runs: Vec<Measured> = Vec::new();
        for round in 0..3 {
            for workers in [1, WORKERS] {
                let total = if workers == 1 { chats } else { chats * 2 };
                for k in 0..variants.len() {
                    let (build, path) = variants[(k + round * 2) % variants.len()];
                    let up = &ups[build.unwrap_or(0)];
                    let run = measure(up, &backend, path, workers, total).await;
                    runs.push((build, path, workers, run));
                }
            }
        }
        println!("edge: N={n}, provider request body {direct_body} bytes; medians of 3 runs (µs)");
        println!(
            "edge: | build | N | c | path | p50 | p99 | added p50 | added p99 | chats/s | daemon CPU/chat | client CPU/chat | backend CPU/chat |"
        );
        for (i, up) in ups.iter().enumerate() {
            report(&up.label, n, i, &runs);
        }
        for (i, up) in ups.iter().enumerate() {
            println!(
                "edge: {} N={n}: TIME_WAIT on its specialists' ports: {} before the chats, {} after",
                up.label,
                tw_before[i],
                time_wait(up.range)
            );
        }
    }
}

/// The builds to compare: this one, and `CADRE_BENCH_BIN_B` if set.
pub fn builds() -> Vec<(String, String)> {
    let mut b = vec![("this".to_owned(), super::bin())];
    if let Ok(other) = std::env::var("CADRE_BENCH_BIN_B") {
        let label = std::env::var("CADRE_BENCH_LABEL_B").unwrap_or_else(|_| "B".to_owned());
        b.push((label, other));
    }
    b
}

/// Build `i` of `of`'s share of the bench's port range, so their daemons
/// can run side by side.
pub fn sub_range(i: usize, of: usize) -> [u16; 2] {
    let span = (RANGE[1] - RANGE[0] + 1) / of as u16;
    let lo = RANGE[0] + span * i as u16;
    [lo, lo + span - 1]
}

/// Per round, a figure of a build's path minus the same figure of direct
/// in that round and concurrency (or of another of its paths).
fn per_round(
    runs: &[Measured],
    workers: usize,
    a: (Option<usize>, Path),
    b: (Option<usize>, Path),
    f: fn(&Run) -> f64,
) -> Vec<f64> {
    let of = |v: (Option<usize>, Path)| -> Vec<f64> {
        runs.iter()
            .filter(|(b, p, w, _)| (*b, *p) == v && *w == workers)
            .map(|(_, _, _, r)| f(r))
            .collect()
    };
    of(a).iter().zip(of(b)).map(|(x, y)| x - y).collect()
}

fn report(label: &str, n: usize, build: usize, runs: &[Measured]) {
    let me = Some(build);
    for workers in [1, WORKERS] {
        let of = |v: (Option<usize>, Path), f: fn(&Run) -> f64| {
            median(
                runs.iter()
                    .filter(|(b, p, w, _)| (*b, *p) == v && *w == workers)
                    .map(|(_, _, _, r)| f(r))
                    .collect(),
            )
        };
        let direct = (None, Path::Direct);
        for v in [direct, (me, Path::Socket), (me, Path::V1)] {
            let (a50, a99) = if v == direct {
                ("—".to_owned(), "—".to_owned())
            } else {
                let added = |f| median(per_round(runs, workers, v, direct, f));
                (
                    format!("{:.0}", added(|r| r.p50)),
                    format!("{:.0}", added(|r| r.p99)),
                )
            };
            let cpu = if v == direct {
                "—".to_owned()
            } else {
                format!("{:.1}", of(v, |r| r.daemon_cpu))
            };
            println!(
                "edge: | {label} | {n} | {workers} | {} | {:.0} | {:.0} | {a50} | {a99} | {:.0} | {cpu} | {:.1} | {:.1} |",
                v.1.name(),
                of(v, |r| r.p50),
                of(v, |r| r.p99),
                of(v, |r| r.rate),
                of(v, |r| r.client_cpu),
                of(v, |r| r.backend_cpu),
            );
        }
        let more = median(per_round(
            runs,
            workers,
            (me, Path::V1),
            (me, Path::Socket),
            |r| r.p50,
        ));
        let ratio = of((me, Path::V1), |r| r.daemon_cpu) / of((me, Path::Socket), |r| r.daemon_cpu);
        println!(
            "edge: {label} N={n} c={workers}: /v1 adds {more:.0} µs more than the socket at p50 (median of per-round differences); /v1 daemon CPU per chat = {ratio:.2}x the socket's"
        );
    }
}
