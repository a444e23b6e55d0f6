//! Socket abuse: 2000 simultaneous idle connections, 64 clients sending
//! garbage and a slowloris client against one daemon. Well-behaved clients
//! keep being answered, the daemon's memory stays bounded, and idle and
//! slow connections are closed after `[limits] idle_timeout`.
//! Ports 47200-47299 belong to this file.

use crate::fixture;
use crate::fixture::ollama;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use fixture::{Conn, Project};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const RANGE: [u16; 2] = [47200, 47299];
const IDLE: usize = 2000;

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Enough descriptors for 2000 connections on both ends (the daemon inherits it).
fn raise_nofile() {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut l = getrlimit(Resource::Nofile);
    let want = 8192u64.min(l.maximum.unwrap_or(u64::MAX));
    if l.current.unwrap_or(0) < want {
        l.current = Some(want);
        setrlimit(Resource::Nofile, l).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_garbage_and_slowloris_clients_do_not_starve_good_ones() {
    let _turn = crate::ONE_AT_A_TIME.lock().await;
    raise_nofile();
    let server = ollama::OllamaServer::start(ollama::Behaviour::default()).await;
    let p = Project::new(RANGE, &server.base_url);
    let toml = std::fs::read_to_string(p.tmp.path().join("cadre.toml")).unwrap();
    let toml = toml.replace(
        "[limits]\n",
        "[limits]\nmax_connections = 2200\nidle_timeout = \"6s\"\n",
    );
    std::fs::write(p.tmp.path().join("cadre.toml"), toml).unwrap();
    p.write("target", "abused", None);
    let mut d = p.up();
    p.wait_ready(&["target"], &mut d);
    let port = p.port_of("target").unwrap();
    let pid = d.pid();
    // Warm the path once so the baseline includes the provider client.
    assert_eq!(Conn::open(port).unwrap().chat("warm")["type"], "response");
    let rss_before = rss_kb(pid);

    tokio::task::block_in_place(|| {
        let opened = Instant::now();
        let idle: Vec<TcpStream> = (0..IDLE)
            .map(|_| crate::fixture::tcp(port).unwrap())
            .collect();

        let stop = Arc::new(AtomicBool::new(false));
        let garbage_replies = Arc::new(AtomicUsize::new(0));
        let garbage: Vec<_> = (0..64u64)
            .map(|i| {
                let (stop, replies) = (stop.clone(), garbage_replies.clone());
                std::thread::spawn(move || {
                    let mut rng = StdRng::seed_from_u64(i);
                    while !stop.load(Ordering::Relaxed) {
                        let Ok(s) = crate::fixture::tcp(port) else {
                            continue;
                        };
                        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                        let mut r = BufReader::new(s);
                        for _ in 0..10 {
                            let n = rng.random_range(1..200);
                            let mut junk: Vec<u8> = (0..n)
                                .map(|_| rng.random::<u8>())
                                .filter(|b| *b != b'\n')
                                .collect();
                            junk.push(b'\n');
                            if r.get_mut().write_all(&junk).is_err() {
                                break;
                            }
                            let mut line = String::new();
                            match r.read_line(&mut line) {
                                Ok(n) if n > 0 => {
                                    let v: serde_json::Value = serde_json::from_str(&line)
                                        .unwrap_or_else(|e| {
                                            panic!("garbage got non-JSON {line:?}: {e}")
                                        });
                                    assert_eq!(v["type"], "error", "{v}");
                                    replies.fetch_add(1, Ordering::Relaxed);
                                }
                                _ => break,
                            }
                        }
                    }
                })
            })
            .collect();

        // Slowloris: half a request, one byte a second, never a newline.
        let slow = std::thread::spawn(move || {
            let mut s = crate::fixture::tcp(port).unwrap();
            s.set_read_timeout(Some(Duration::from_millis(900)))
                .unwrap();
            let started = Instant::now();
            let mut buf = [0u8; 4096];
            loop {
                if s.write_all(b" ").is_err() {
                    return started.elapsed();
                }
                match s.read(&mut buf) {
                    Ok(0) => return started.elapsed(),
                    Ok(_) => {} // the timeout error line; the close follows
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(_) => return started.elapsed(),
                }
                assert!(
                    started.elapsed() < Duration::from_secs(60),
                    "slowloris never cut off"
                );
            }
        });

        // Well-behaved clients keep being answered, each on a fresh connection.
        let mut worst = Duration::ZERO;
        for i in 0..40 {
            let t = Instant::now();
            let mut c = Conn::open(port).unwrap();
            let r = c.chat(&format!("good {i}"));
            assert_eq!(r["type"], "response", "{r}");
            assert_eq!(r["content"], ollama::answer_for(&format!("good {i}")));
            worst = worst.max(t.elapsed());
            std::thread::sleep(Duration::from_millis(50));
        }
        let rss_during = rss_kb(pid);
        eprintln!(
            "abuse: {IDLE} idle open after {:?}; worst good chat {worst:?}; RSS {rss_before} kB -> {rss_during} kB; {} garbage replies",
            opened.elapsed(),
            garbage_replies.load(Ordering::Relaxed)
        );
        assert!(
            worst < Duration::from_secs(5),
            "a good client waited {worst:?}"
        );
        assert!(
            rss_during < rss_before + 150 * 1024,
            "memory not bounded: {rss_before} kB -> {rss_during} kB"
        );
        stop.store(true, Ordering::Relaxed);
        for g in garbage {
            g.join().unwrap();
        }
        assert!(garbage_replies.load(Ordering::Relaxed) > 0);

        // The slowloris is cut off after idle_timeout.
        let cut = slow.join().unwrap();
        assert!(cut < Duration::from_secs(30), "slowloris lasted {cut:?}");

        // The idle connections are closed by the daemon after idle_timeout.
        let deadline = Instant::now() + Duration::from_secs(30);
        for mut s in idle {
            let left = deadline.saturating_duration_since(Instant::now());
            s.set_read_timeout(Some(left.max(Duration::from_millis(10))))
                .unwrap();
            let mut b = [0u8; 1];
            let n = s.read(&mut b);
            assert!(
                matches!(n, Ok(0))
                    || matches!(&n, Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset),
                "an idle connection was not closed: {n:?}"
            );
        }
    });
    // And the daemon still serves afterwards.
    assert_eq!(Conn::open(port).unwrap().chat("after")["type"], "response");
    d.assert_running();
}
