//! Special files in `specialists.d/`: a symlink to a FIFO blocked the reconcile
//! for ever (a plain read waits for a writer), a symlink to `/dev/zero` filled
//! memory, and a huge file was read whole. Each is now one diagnostic naming
//! the file; `/healthz` answers throughout, new files still start, `cadre
//! check` and `cadre plan` finish, and SIGTERM ends the daemon within its
//! drain time. Port range of this file: 49220-49229; HTTP on port 0.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use crate::fixture::http::up_http;
use crate::fixture::ollama::{Behaviour, OllamaServer};
use crate::fixture::{Project, poll};

/// `GET /healthz` answered 200 within a few seconds.
fn healthz(base: &str) -> bool {
    let addr = base.trim_start_matches("http://");
    let Ok(mut s) = std::net::TcpStream::connect(addr) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let req = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if s.write_all(req.as_bytes()).is_err() {
        return false;
    }
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    text.starts_with("HTTP/1.1 200")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fifo_dev_zero_and_a_huge_file_are_diagnostics_and_nothing_hangs() {
    let server = OllamaServer::start(Behaviour::default()).await;
    let p = Project::new([49220, 49229], &server.base_url);
    p.write("alpha", "Alpha speaks.", None);
    let mut web = up_http(&p, &[], &[]);
    web.wait_ready(&["alpha"]).await;

    let fifo = p.root().join("pipe");
    rustix::fs::mkfifoat(
        rustix::fs::CWD,
        &fifo,
        rustix::fs::Mode::RUSR | rustix::fs::Mode::WUSR,
    )
    .unwrap();
    std::os::unix::fs::symlink(&fifo, p.dir.join("pipe.toml")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", p.dir.join("zero.toml")).unwrap();
    let huge = format!(
        "{}\n# {}\n",
        Project::specialist_toml("huge", "Huge.", None),
        "x".repeat(2 << 20)
    );
    std::fs::write(p.file("huge"), huge).unwrap();
    p.write("beta", "Beta speaks.", None);

    // The new file starts while the special ones sit there; /healthz never stops answering.
    let started = Instant::now();
    let mut health_ok = true;
    let ready = poll(Duration::from_secs(30), || {
        health_ok &= healthz(&web.base);
        p.is_in("beta", "ready")
    });
    assert!(ready, "beta never started:\n{}", web.daemon.log());
    assert!(
        health_ok,
        "/healthz stopped answering:\n{}",
        web.daemon.log()
    );
    crate::fixture::say(&format!(
        "special files: beta ready {:?} after they appeared",
        started.elapsed()
    ));
    let log = web.daemon.log();
    for (name, what) in [
        ("pipe", "FIFO"),
        ("zero", "character device"),
        ("huge", "1024 KiB"),
    ] {
        assert!(
            poll(Duration::from_secs(10), || web.daemon.log().lines().any(
                |l| l.contains(&format!("config_error {name}: ")) && l.contains(what)
            )),
            "no diagnostic for {name} naming {what:?}:\n{log}"
        );
        assert!(p.status_of(name).is_none(), "{name} was started");
    }
    assert!(healthz(&web.base));

    // The CLI reads the same files and finishes: `check` names each.
    for cmd in [&["check"][..], &["plan"][..]] {
        let t = Instant::now();
        let out = p.run(cmd);
        let took = t.elapsed();
        assert!(took < Duration::from_secs(20), "{cmd:?} took {took:?}");
        if cmd == ["check"] {
            let text = out.all();
            for f in ["pipe.toml", "zero.toml", "huge.toml"] {
                assert!(text.contains(f), "check does not name {f}:\n{text}");
            }
        }
    }

    // SIGTERM: out within the drain time (5 s) plus slack, entries gone.
    let t = Instant::now();
    web.daemon.signal("TERM");
    web.daemon.wait(Duration::from_secs(12));
    assert!(t.elapsed() < Duration::from_secs(12));
    let reg = p.registry();
    let entries = reg["specialists"].as_object().map_or(0, |m| m.len());
    assert_eq!(entries, 0, "entries left after SIGTERM: {reg}");
}
