//! Pinned ports inside the kernel's ephemeral range, held by clients'
//! sockets: cadre's own clients never keep its listeners from binding, and a
//! port held by anyone else's TIME_WAIT is explained and taken once freed.
//! Port range of this file: 46600-46699 (pinned on purpose: inside the
//! ephemeral range, where clients are given local ports).

use crate::fixture;
use crate::fixture::ollama;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use cadre::net::tcp_table::{self, TcpState};
use fixture::{Project, pings, poll, say};
use futures::StreamExt;

/// Even ports: Linux gives connect() even local ports first and bind(0)
/// odd ones, so these are the ports a churn of clients lands on.
fn pinned() -> Vec<u16> {
    (0..18).map(|i| 46600 + 2 * i).collect()
}

fn names() -> Vec<String> {
    (0..18).map(|i| format!("s{i:02}")).collect()
}

const CHURN: usize = 10_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_10000_cadre_client_connections_a_restart_binds_every_pinned_port_at_once() {
    let server = ollama::OllamaServer::start(ollama::Behaviour::default()).await;
    // The churn's target lives in a daemon of its own, so the pinned team can be down meanwhile.
    let target = Project::new([46690, 46699], &server.base_url);
    target.write("target", "Target.", None);
    let mut t = target.up();
    target.wait_ready(&["target"], &mut t);
    let target_port = target.port_of("target").unwrap();

    let team = Project::new([46600, 46689], &server.base_url);
    let names = names();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    for (name, port) in names.iter().zip(pinned()) {
        team.write(name, "Pinned.", Some(port));
    }
    let mut d = team.up();
    team.wait_ready(&refs, &mut d);
    d.signal("TERM");
    assert_eq!(d.wait(Duration::from_secs(30)), Some(0));

    // While the team listens, the kernel gives no client its ports; in the
    // gap of a restart it may, which is what happens here: 10 000
    // connections by cadre's own client to the other daemon's specialist.
    churn(target_port).await;
    let held = time_waits_on(&pinned(), target_port);
    eprintln!(
        "{} of {} pinned ports are held by a TIME_WAIT of those connections: {held:?}",
        held.len(),
        pinned().len()
    );
    assert!(
        !held.is_empty(),
        "no churn connection landed on a pinned port: the restart below would prove nothing"
    );

    // A port that another program's socket holds (a client without
    // SO_REUSEADDR, on a busy host) binds for nobody: leave it out, say so.
    let foreign: Vec<u16> = pinned()
        .into_iter()
        .filter(|&p| std::net::TcpListener::bind(("127.0.0.1", p)).is_err())
        .collect();
    let measured: Vec<(&str, u16)> = refs
        .iter()
        .copied()
        .zip(pinned())
        .filter(|(_, p)| !foreign.contains(p))
        .collect();
    if !foreign.is_empty() {
        say(&format!(
            "left out of the restart measure: pinned ports {foreign:?}, held by other programs' sockets"
        ));
    }
    assert!(
        held.iter().any(|p| !foreign.contains(p)),
        "every pinned port the churn landed on is also held by another program: nothing to measure"
    );

    // Restart on the same pinned ports, measured from the spawn to every
    // measured specialist answering on its port and `ready` in the registry.
    let restarted = Instant::now();
    let mut d = team.up();
    let mut waiting = measured.clone();
    while !waiting.is_empty() && restarted.elapsed() < Duration::from_secs(30) {
        d.assert_running();
        let registry = team.registry();
        waiting.retain(|&(name, port)| {
            registry["specialists"][name]["state"] != "ready" || !pings(port)
        });
        std::thread::sleep(Duration::from_millis(5));
    }
    let took = restarted.elapsed();
    eprintln!(
        "restart: {} pinned specialists ready and answering {took:?} after the spawn",
        measured.len()
    );
    assert!(waiting.is_empty(), "not ready: {waiting:?}\n{}", d.log());
    for (name, _) in &measured {
        assert!(
            !d.log().contains(&format!("failed {name}:")),
            "{name} failed to start:\n{}",
            d.log()
        );
    }
    assert!(
        took < Duration::from_secs(1),
        "ready after {took:?} (bound: 1 s from the spawn)\n{}",
        d.log()
    );
}

/// [`CHURN`] pings by `cadre::client`, 16 at a time, each connection closed
/// by the client first: its end stays in TIME_WAIT for 60 s on its
/// ephemeral port.
async fn churn(port: u16) {
    let started = Instant::now();
    let failures = futures::stream::iter(0..CHURN)
        .map(|_| cadre::client::ping("127.0.0.1", port, Duration::from_secs(10)))
        .buffer_unordered(16)
        .filter(|r| std::future::ready(r.is_err()))
        .count()
        .await;
    assert_eq!(failures, 0, "pings to the target failed");
    eprintln!(
        "{CHURN} cadre client connections took {:?}",
        started.elapsed()
    );
}

/// The pinned ports that a TIME_WAIT socket to `remote_port` holds locally.
fn time_waits_on(ports: &[u16], remote_port: u16) -> Vec<u16> {
    let rows = tcp_table::read_all().unwrap();
    let mut held: Vec<u16> = rows
        .iter()
        .filter(|r| {
            r.state == TcpState::TimeWait
                && r.remote.port() == remote_port
                && ports.contains(&r.local.port())
        })
        .map(|r| r.local.port())
        .collect();
    held.sort_unstable();
    held.dedup();
    held
}

/// A TIME_WAIT on `127.0.0.1:PORT` from a plain client (no SO_REUSEADDR):
/// what a browser, a Python SDK or any other program on the host leaves.
/// PORT is the first of `candidates` that can be bound (an earlier run of
/// this test leaves its own TIME_WAIT for a minute). Returns PORT and the
/// server address the client talked to.
fn plain_time_wait(candidates: std::ops::RangeInclusive<u16>) -> (u16, SocketAddr) {
    use socket2::{Domain, Socket, Type};
    use std::io::Read;
    let server = ollama::loopback_listener();
    let to = server.local_addr().unwrap();
    let (port, client) = candidates
        .clone()
        .find_map(|port| {
            let client = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
            let at = SocketAddr::from(([127, 0, 0, 1], port));
            client.bind(&at.into()).ok().map(|()| (port, client))
        })
        .unwrap_or_else(|| panic!("every port of {candidates:?} is held"));
    client.connect(&to.into()).unwrap();
    let (accepted, _) = server.accept().unwrap();
    drop(client);
    let _ = (&accepted).read(&mut [0u8; 1]);
    drop(accepted);
    (port, to)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pinned_port_in_a_foreign_time_wait_is_explained_then_taken_when_freed() {
    let server = ollama::OllamaServer::start(ollama::Behaviour::default()).await;
    let p = Project::new([46650, 46659], &server.base_url);
    let (port, peer) = plain_time_wait(46651..=46658);
    let made = Instant::now();
    p.write("late", "Late.", Some(port));
    p.write("free", "Free.", None);
    let mut d = p.up();

    // Said at once: which socket, for how long, what prevents it, and that cadre keeps trying.
    let mut last_error = String::new();
    assert!(
        poll(Duration::from_secs(20), || {
            d.assert_running();
            last_error = p
                .status_of("late")
                .and_then(|r| r["last_error"].as_str().map(str::to_owned))
                .unwrap_or_default();
            !last_error.is_empty()
        }),
        "{}",
        d.log()
    );
    let want = format!(
        "pinned port {port} on 127.0.0.1 cannot be bound: Address already in use (os error 98): held by a \
         closed connection in TIME_WAIT (127.0.0.1:{port} -> {peer}: a client on this host was given the \
         port as its ephemeral port), which the kernel frees in "
    );
    assert!(last_error.starts_with(&want), "{last_error}\nwant: {want}…");
    let secs: u64 = last_error[want.len()..]
        .split('s')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no seconds in {last_error}"));
    assert!((1..=60).contains(&secs), "{last_error}");
    if let Some(cmd) = cadre::net::ephemeral::reservation_advice(port) {
        assert!(
            last_error.ends_with(&format!(
                "; `{cmd}` (as root) keeps the kernel from giving it to clients"
            )),
            "{last_error}"
        );
    }
    assert!(
        poll(Duration::from_secs(10), || d.log().contains(
            "retrying in 1s, then with a wait doubling up to 60s, for as long as cadre runs"
        )),
        "{}",
        d.log()
    );
    assert!(
        pings(p.port_of("free").unwrap()),
        "the rest of the team waits for nothing"
    );

    // The kernel frees it within 60 s of the close; the next retry takes it.
    // (The last retry before that comes 63 s after the start at the latest.)
    assert!(
        poll(Duration::from_secs(90), || {
            d.assert_running();
            pings(port) && p.is_in("late", "ready")
        }),
        "{:#?}\n{}",
        p.status(),
        d.log()
    );
    let freed_after = made.elapsed();
    eprintln!("the TIME_WAIT-held pinned port was taken {freed_after:?} after the close");
    assert!(
        freed_after > Duration::from_secs(50),
        "taken before the TIME_WAIT ended?"
    );
}
