//! Provider chaos: the loopback provider flips between up, slow (past the
//! first-token timeout), HTTP 500 and down (connections dropped unanswered)
//! while 16 clients chat. Every reply is a response or a documented error,
//! each within the configured timeouts plus slack; nothing hangs; after the
//! chaos the team answers again. Ports 47300-47399 belong to this file.

use crate::fixture;
use crate::fixture::ollama;

use std::io::{BufRead, BufReader, Write};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fixture::{Conn, Project, poll};
use serde_json::Value;

const RANGE: [u16; 2] = [47300, 47399];
const DOCUMENTED: &[&str] = &[
    "bad_json",
    "bad_request",
    "unknown_type",
    "too_large",
    "provider_unavailable",
    "provider_error",
    "timeout",
    "shutting_down",
];
const UP: u8 = 0;
const SLOW: u8 = 1;
const FAIL: u8 = 2;
const DOWN: u8 = 3;

/// A front door to the loopback Ollama: proxies bytes, or drops every
/// connection unanswered while the mode is DOWN.
async fn front(backend: String, mode: Arc<AtomicU8>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let backend: std::net::SocketAddr = backend
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut inbound, _)) = listener.accept().await else {
                continue;
            };
            if mode.load(Ordering::Relaxed) == DOWN {
                drop(inbound);
                continue;
            }
            tokio::spawn(async move {
                if let Ok(mut out) = cadre::net::socket::connect_addr(backend).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut out).await;
                }
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chats_through_a_flapping_provider_always_get_an_answer_in_time() {
    let _turn = crate::ONE_AT_A_TIME.lock().await;
    let server = ollama::OllamaServer::start(ollama::Behaviour::default()).await;
    let mode = Arc::new(AtomicU8::new(UP));
    let url = front(server.base_url.clone(), mode.clone()).await;
    let p = Project::new(RANGE, &url);
    std::fs::write(
        p.tmp.path().join("cadre.toml"),
        format!(
            "[defaults]\nprovider = \"local\"\nmodel = \"test-model\"\n\n\
             [providers.local]\nkind = \"ollama\"\nbase_url = \"{url}\"\nmax_retries = 1\n\n\
             [providers.local.timeouts]\nconnect = \"1s\"\nfirst_token = \"1s\"\ntotal = \"3s\"\n\n\
             [ports]\nrange = [{}, {}]\n",
            RANGE[0], RANGE[1]
        ),
    )
    .unwrap();
    p.write("alpha", "chaos", None);
    p.write("beta", "chaos", None);
    let mut d = p.up();
    p.wait_ready(&["alpha", "beta"], &mut d);
    let ports = [p.port_of("alpha").unwrap(), p.port_of("beta").unwrap()];

    // Worst legitimate chat: total timeout, twice (one retry), plus backoff.
    let bound = Duration::from_secs(10);
    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Mutex::new((0usize, 0usize, Vec::<String>::new())));
    let clients: Vec<_> = (0..16)
        .map(|i| {
            let (stop, tally, port) = (stop.clone(), tally.clone(), ports[i % 2]);
            std::thread::spawn(move || {
                let s = crate::fixture::tcp(port).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
                let mut r = BufReader::new(s);
                while !stop.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    r.get_mut()
                        .write_all(b"{\"type\":\"chat\",\"content\":\"chaos\"}\n")
                        .unwrap();
                    let mut line = String::new();
                    let n = r.read_line(&mut line);
                    let took = t.elapsed();
                    let mut g = tally.lock().unwrap();
                    match n {
                        Ok(n) if n > 0 => {
                            let v: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
                            match v["type"].as_str() {
                                Some("response") => g.0 += 1,
                                Some("error")
                                    if DOCUMENTED.contains(&v["code"].as_str().unwrap_or("")) =>
                                {
                                    g.1 += 1
                                }
                                _ => g.2.push(format!("client {i}: undocumented reply {line:?}")),
                            }
                            if took > bound {
                                g.2.push(format!("client {i}: reply after {took:?}: {line:?}"));
                            }
                        }
                        other => {
                            g.2.push(format!("client {i}: no reply ({other:?}) after {took:?}"));
                            return;
                        }
                    }
                }
            })
        })
        .collect();

    // Flip the provider every 250 ms for 8 s through every mode, in a fixed shuffle.
    let order = [
        UP, SLOW, FAIL, DOWN, FAIL, UP, DOWN, SLOW, UP, FAIL, SLOW, DOWN,
    ];
    let started = Instant::now();
    let mut i = 0;
    while started.elapsed() < Duration::from_secs(8) {
        let m = order[i % order.len()];
        mode.store(m, Ordering::Relaxed);
        server.set_behaviour(ollama::Behaviour {
            latency: if m == SLOW {
                Duration::from_secs(2)
            } else {
                Duration::ZERO
            },
            fail_status: (m == FAIL).then_some(500),
            ..Default::default()
        });
        i += 1;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    mode.store(UP, Ordering::Relaxed);
    server.set_behaviour(ollama::Behaviour::default());
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        tokio::task::block_in_place(|| c.join().unwrap());
    }
    let (ok, errors, bad) = tally.lock().unwrap().clone();
    eprintln!("chaos: {ok} responses, {errors} documented errors");
    assert!(bad.is_empty(), "{bad:#?}\nlog:\n{}", d.log());
    assert!(
        ok > 0,
        "no chat succeeded while the provider was up at times"
    );
    assert!(errors > 0, "the chaos produced no error reply at all");

    // Once the provider is steady again, both specialists answer.
    for port in ports {
        let answered = poll(Duration::from_secs(15), || {
            Conn::open(port)
                .map(|mut c| c.chat("after")["type"] == "response")
                .unwrap_or(false)
        });
        assert!(answered, "port {port} did not recover:\n{}", d.log());
    }
    d.assert_running();
}
