//! First run and daily operation (issue 16) on the real binary: what `up`
//! says without a provider or a model, `cadre doctor`'s verdicts, logs
//! without colour off a terminal, and `[limits]`: requests per minute,
//! tokens per day across a restart, chats at once at the provider, usage as
//! the provider reported it, and `status` not counted as chats.
//! Port range of this file: 48300-48349 (and, for doctor, ports from port 0).

use std::time::Duration;

use serde_json::{Value, json};

use crate::fixture::ollama::{Behaviour, OllamaServer};
use crate::fixture::provider::server::refused_base;
use crate::fixture::{Conn, Daemon, Project, poll};

const WITHIN: Duration = Duration::from_secs(20);

/// A project on `base_url` with one specialist `a` whose file ends in `tail`.
fn project(range: [u16; 2], base_url: &str, tail: &str) -> Project {
    let p = Project::new(range, base_url);
    let toml = Project::specialist_toml("a", "A counts.", None) + tail;
    std::fs::write(p.file("a"), toml).unwrap();
    p
}

/// Wait until the log holds `needle`; the log.
fn wait_log(d: &mut Daemon, needle: &str) -> String {
    let mut log = String::new();
    let found = poll(WITHIN, || {
        d.assert_running();
        log = d.log();
        log.contains(needle)
    });
    assert!(found, "the log never said {needle:?}:\n{log}");
    log
}

/// The time stamp a text log line starts with.
fn stamp(line: &str) -> std::time::SystemTime {
    let word = line.split_whitespace().next().unwrap_or_default();
    humantime::parse_rfc3339(word).unwrap_or_else(|e| panic!("no time stamp in {line:?}: {e}"))
}

/// No Ollama: the WARN naming provider, url and fix comes within a second of
/// the daemon's first log line (both times are the daemon's own clock, so a
/// loaded test machine does not blur them), and the log, a file, holds no
/// ESC byte — with `NO_COLOR` unset and with `NO_COLOR=1`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_without_a_provider_says_how_to_start_it_in_plain_text() {
    let base = refused_base().await;
    for no_color in [None, Some("1")] {
        let p = project([48300, 48304], &base, "");
        let mut d = p.up_env(&[], &[("NO_COLOR", no_color)]);
        let log = wait_log(&mut d, "`ollama serve`");
        let lines: Vec<&str> = log.lines().filter(|l| l.starts_with("20")).collect();
        let hint = lines.iter().find(|l| l.contains("`ollama serve`")).unwrap();
        assert!(hint.contains("WARN"), "{hint}");
        assert!(
            hint.contains("provider local") && hint.contains(&base),
            "{hint}"
        );
        let after = stamp(hint).duration_since(stamp(lines[0])).unwrap();
        assert!(
            after <= Duration::from_secs(1),
            "the hint came {after:?} after start:\n{log}"
        );
        let bytes = std::fs::read(&d.log).unwrap();
        assert!(
            !bytes.contains(&0x1b),
            "NO_COLOR={no_color:?}: an ESC byte in a log written to a file:\n{log}"
        );
        // The chat itself still fails plainly; the specialist is up.
        p.wait_ready(&["a"], &mut d);
        let row = p.status_of("a").unwrap();
        assert_eq!(row["provider_health"]["status"], "unreachable", "{row}");
        let out = p.run(&["status"]);
        assert!(out.stdout.contains("unreachable"), "{}", out.stdout);
    }
}

/// Ollama answers, but `/api/tags` does not list the model: the pull hint,
/// and `model missing` in `status`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_that_is_not_pulled_gets_the_pull_hint() {
    let server = OllamaServer::start(Behaviour {
        models: Some(vec!["other-model:latest".into()]),
        ..Behaviour::default()
    })
    .await;
    let p = project([48305, 48309], &server.base_url, "");
    let mut d = p.up();
    let log = wait_log(&mut d, "`ollama pull test-model`");
    assert!(!log.contains("`ollama serve`"), "{log}");
    p.wait_ready(&["a"], &mut d);
    let ok = poll(WITHIN, || {
        p.status_of("a").unwrap()["provider_health"]["status"] == "model_missing"
    });
    assert!(ok, "{:#?}", p.status_of("a"));
    let out = p.run(&["status"]);
    assert!(out.stdout.contains("model missing"), "{}", out.stdout);
}

/// `cadre doctor --json`: the exit code and the checks that failed.
fn doctor(p: &Project) -> (i32, Vec<String>, Value) {
    let out = p.run(&["doctor", "--json"]);
    let report: Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("doctor --json is not JSON ({e}): {out:#?}"));
    let failed = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["level"] == "fail")
        .map(|f| f["check"].as_str().unwrap().to_owned())
        .collect();
    (out.code, failed, report)
}

/// `cadre doctor` exits 0 on a healthy set-up, and 1 with the failing check
/// named for each fault: provider down, model missing, a pinned port in the
/// unreserved ephemeral range, a pinned port another program holds, a state
/// directory others can read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_passes_a_healthy_set_up_and_names_each_failure() {
    use std::os::unix::fs::PermissionsExt;
    let server = OllamaServer::start(Behaviour::default()).await;
    let healthy = |p: &Project| {
        // HTTP on port 0 always binds: the default port may be another test's.
        let path = p.root().join("cadre.toml");
        let toml = std::fs::read_to_string(&path).unwrap();
        std::fs::write(path, toml + "\n[http]\nlisten = \"127.0.0.1:0\"\n").unwrap();
    };
    let p = project([48310, 48314], &server.base_url, "");
    healthy(&p);
    let (code, failed, report) = doctor(&p);
    assert_eq!((code, &failed), (0, &vec![]), "{report:#}");
    let text = p.run(&["doctor"]);
    text.status(0);
    assert!(
        text.stdout.contains("doctor: all checks passed"),
        "{text:#?}"
    );

    // Each fault alone: exit 1, and exactly its check(s) failed.
    let refused = refused_base().await;
    let missing = OllamaServer::start(Behaviour {
        models: Some(vec![]),
        ..Behaviour::default()
    })
    .await;
    let (free, held) = (
        ephemeral_port(),
        std::net::TcpListener::bind("127.0.0.1:0").unwrap(),
    );
    let held_port = held.local_addr().unwrap().port();
    let cases: Vec<(&str, Project, &[&str])> = vec![
        (
            "provider down",
            project([48315, 48319], &refused, ""),
            &["provider"],
        ),
        (
            "model missing",
            project([48320, 48324], &missing.base_url, ""),
            &["model"],
        ),
        (
            "an unreserved ephemeral pinned port",
            pinned(&server.base_url, free),
            &["ephemeral_ports"],
        ),
        (
            // Port 0's ports come from the ephemeral range, so this one is both.
            "a port held by another program",
            pinned(&server.base_url, held_port),
            &["ephemeral_ports", "port_held"],
        ),
        (
            "state dir 0755",
            project([48325, 48329], &server.base_url, ""),
            &["state_dir"],
        ),
    ];
    for (what, p, expected) in cases {
        healthy(&p);
        if what == "state dir 0755" {
            std::fs::create_dir(&p.state).unwrap();
            std::fs::set_permissions(&p.state, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let (code, failed, report) = doctor(&p);
        assert_eq!(
            (code, failed),
            (1, expected.iter().map(|s| (*s).to_owned()).collect()),
            "{what}: {report:#}"
        );
        let text = p.run(&["doctor"]);
        text.status(1);
        let summary = text.stdout.lines().last().unwrap_or_default();
        for check in expected {
            assert!(summary.contains(check), "{what}: {summary}");
        }
        for f in report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["level"] == "fail")
        {
            if what == "state dir 0755" || what.contains("port") {
                assert!(f["fix"].is_string(), "{what}: a failure without a fix: {f}");
            }
        }
    }
    drop(held);
}

/// A loopback port the kernel would hand to clients, free now; the machine
/// must not reserve it (checked, not assumed).
fn ephemeral_port() -> u16 {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let reserved =
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_reserved_ports").unwrap_or_default();
    assert!(
        !reserved.contains(&port.to_string()),
        "port {port} from the ephemeral range is reserved: {reserved}"
    );
    port
}

/// A project whose specialist `a` pins `port` (its range is that one port:
/// a pinned port must lie in the range).
fn pinned(base_url: &str, port: u16) -> Project {
    let p = Project::new([port, port], base_url);
    p.write("a", "A counts.", Some(port));
    p
}

/// `up` on a project whose specialist `a` has `limits`, its provider a
/// loopback Ollama behaving as `b`; `a` ready, on its port.
async fn serve_a(
    range: [u16; 2],
    b: Behaviour,
    limits: &str,
) -> (OllamaServer, Project, Daemon, u16) {
    let server = OllamaServer::start(b).await;
    let p = project(range, &server.base_url, &format!("\n[limits]\n{limits}\n"));
    let mut d = p.up();
    p.wait_ready(&["a"], &mut d);
    let port = p.port_of("a").unwrap();
    (server, p, d, port)
}

fn chat(port: u16) -> Value {
    Conn::open(port).unwrap().chat("count")
}

/// `requests_per_minute = 60`: sixty chats are answered, the 61st in the
/// same minute is `rate_limited` with the wait in `retry_after_ms`; the
/// usage counted is exactly the provider's usage fields (Ollama's
/// `prompt_eval_count` 7, `eval_count` 3 per chat), `status` — pings and
/// info requests — never adds to REQUESTS, and a new limit in the file
/// applies to the next chat.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_61st_chat_in_a_minute_is_rate_limited() {
    let (server, p, d, port) = serve_a(
        [48335, 48339],
        Behaviour::default(),
        "requests_per_minute = 60",
    )
    .await;
    let mut c = Conn::open(port).unwrap();
    let started = std::time::Instant::now();
    for i in 0..60 {
        let r = c.chat("count");
        assert_eq!(r["type"], "response", "chat {}: {r}", i + 1);
    }
    let r = c.chat("count");
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "the machine took a minute for 60 chats; the window moved"
    );
    assert_eq!(
        (&r["type"], &r["code"]),
        (&json!("error"), &json!("rate_limited")),
        "{r}"
    );
    let wait = r["retry_after_ms"].as_u64().expect("retry_after_ms");
    assert!(wait > 0 && wait <= 60_000, "{r}");
    assert_eq!(
        server.requests().len(),
        60,
        "the refused chat never reached the provider"
    );

    let before = p.status_of("a").unwrap();
    for _ in 0..3 {
        p.status();
    }
    let after = p.status_of("a").unwrap();
    assert_eq!(before["requests"], 61, "{before}");
    assert_eq!(after["requests"], 61, "status counted as chats: {after}");
    assert_eq!(after["usage"]["prompt_tokens"], 60 * 7, "{after}");
    assert_eq!(after["usage"]["completion_tokens"], 60 * 3, "{after}");
    assert_eq!(after["usage"]["estimated_tokens"], 0, "{after}");
    assert_eq!(
        after["usage"]["by_provider"]["local"]["prompt_tokens"],
        60 * 7
    );
    let out = p.run(&["status"]);
    let line = out.stdout.lines().find(|l| l.starts_with("a ")).unwrap();
    assert!(line.contains(" 61 "), "{}", out.stdout);

    // Limits hot-reload: a higher limit in the file lets the next chat in,
    // on the same connection, without a restart.
    crate::fixture::project::edit(
        &p.file("a"),
        "requests_per_minute = 60",
        "requests_per_minute = 100",
    );
    let ok = poll(WITHIN, || c.chat("count")["type"] == "response");
    assert!(ok, "the new limit never applied:\n{}", d.log());
}

/// `tokens_per_day = 15`: two chats of 10 tokens cross it, the third is
/// `budget_exceeded`; after a restart of `up` it still is (today's usage is
/// kept in a 0600 file of the state directory).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spent_budget_stays_spent_across_a_restart() {
    use std::os::unix::fs::PermissionsExt;
    let (server, p, mut d, port) =
        serve_a([48340, 48344], Behaviour::default(), "tokens_per_day = 15").await;
    assert_eq!(chat(port)["type"], "response");
    assert_eq!(
        chat(port)["type"],
        "response",
        "under the budget when it started"
    );
    let r = chat(port);
    assert_eq!(r["code"], "budget_exceeded", "{r}");
    assert!(
        r["retry_after_ms"]
            .as_u64()
            .is_some_and(|ms| ms <= 86_400_000),
        "{r}"
    );
    d.signal("TERM");
    assert_eq!(d.wait(WITHIN), Some(0));

    let kept: Vec<_> = std::fs::read_dir(&p.state)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("usage-"))
        .collect();
    assert_eq!(kept.len(), 1, "one usage file");
    let mode = kept[0].metadata().unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    let mut d = p.up();
    p.wait_ready(&["a"], &mut d);
    let port = p.port_of("a").unwrap();
    let r = chat(port);
    assert_eq!(r["code"], "budget_exceeded", "after a restart: {r}");
    let row = p.status_of("a").unwrap();
    assert_eq!(row["usage"]["today"]["prompt_tokens"], 14, "{row}");
    assert_eq!(server.requests().len(), 2);
}

/// `max_concurrent = 2`, five clients at once: all five are answered, and
/// the provider never had more than two of them at a time (and did have
/// two: each answer takes 0.8 s, so the first two overlap even on a loaded
/// machine).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_concurrent_two_holds_at_the_provider() {
    let (server, _p, _d, port) = serve_a(
        [48345, 48349],
        Behaviour {
            latency: Duration::from_millis(800),
            ..Behaviour::default()
        },
        "max_concurrent = 2",
    )
    .await;
    let clients: Vec<_> = (0..5)
        .map(|_| std::thread::spawn(move || chat(port)))
        .collect();
    for c in clients {
        let r = c.join().unwrap();
        assert_eq!(r["type"], "response", "{r}");
    }
    assert_eq!(server.requests().len(), 5);
    assert_eq!(server.most_at_once(), 2, "two at once, never more");
}

/// For each wire format, `up` against a loopback server answering with
/// that format's usage fields (11 prompt, 4 completion tokens): `status
/// --json` counts exactly those, none estimated, under the provider's name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_counts_the_usage_each_wire_format_reports() {
    use crate::fixture::provider::Kind;
    use crate::fixture::provider::server::{Reply, Server};
    for kind in [Kind::Ollama, Kind::OpenAi, Kind::Anthropic] {
        kind.setup();
        // Every chat gets the whole answer (the start-up model probe gets an
        // empty list: a warning, nothing more).
        let srv = Server::start(vec![Reply::json(
            200,
            &kind.whole_body("one two three four"),
        )])
        .await;
        let p = project([48330, 48334], "http://unused", "");
        let key = kind
            .key_env()
            .map(|k| format!("api_key_env = \"{k}\"\n"))
            .unwrap_or_default();
        let toml = format!(
            "[defaults]\nprovider = \"local\"\nmodel = \"tiny-model\"\n\n\
             [providers.local]\nkind = \"{}\"\nbase_url = \"{}\"\n{key}\n[ports]\nrange = [48330, 48334]\n",
            kind.provider_kind().as_str(),
            kind.base(&srv.base()),
        );
        p.put("cadre.toml", toml);
        let mut d = p.up();
        p.wait_ready(&["a"], &mut d);
        let port = p.port_of("a").unwrap();
        for _ in 0..2 {
            let r = chat(port);
            assert_eq!(r["type"], "response", "{kind:?}: {r}");
            assert_eq!(
                (
                    &r["usage"]["prompt_tokens"],
                    &r["usage"]["completion_tokens"]
                ),
                (&json!(11), &json!(4)),
                "{kind:?}: {r}"
            );
        }
        let row = p.status_of("a").unwrap();
        let u = &row["usage"];
        assert_eq!(
            (
                &u["prompt_tokens"],
                &u["completion_tokens"],
                &u["estimated_tokens"]
            ),
            (&json!(22), &json!(8), &json!(0)),
            "{kind:?}: {row}"
        );
        assert_eq!(
            u["by_provider"]["local"]["prompt_tokens"], 22,
            "{kind:?}: {row}"
        );
        assert_eq!(u["today"]["completion_tokens"], 8, "{kind:?}: {row}");
        assert_eq!(row["requests"], 2, "{kind:?}: {row}");
    }
}
