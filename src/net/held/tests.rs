use std::net::{IpAddr, SocketAddr, TcpListener};
use std::time::Duration;

use super::*;
use crate::net::tcp_table::{TcpSocket, TcpState, TimerKind};

fn row(local: &str, remote: &str, state: TcpState, left: u64, inode: u64) -> TcpSocket {
    TcpSocket {
        local: local.parse().unwrap(),
        remote: remote.parse().unwrap(),
        state,
        timer: if state == TcpState::TimeWait {
            TimerKind::TimeWait
        } else {
            TimerKind::None
        },
        timer_left: Duration::from_millis(left),
        uid: 0,
        inode,
    }
}

fn lo() -> IpAddr {
    "127.0.0.1".parse().unwrap()
}

fn nobody(_: u64) -> Option<Process> {
    None
}

#[test]
fn a_listener_wins_over_connections_and_time_waits() {
    let rows = [
        row(
            "127.0.0.1:45012",
            "127.0.0.1:11434",
            TcpState::TimeWait,
            30_000,
            0,
        ),
        row("0.0.0.0:45012", "0.0.0.0:0", TcpState::Listen, 0, 99),
        row(
            "127.0.0.1:45012",
            "127.0.0.1:80",
            TcpState::Established,
            0,
            98,
        ),
    ];
    let found = |inode: u64| {
        (inode == 99).then(|| Process {
            pid: 4242,
            name: "python3".into(),
        })
    };
    let h = classify(&rows, lo(), 45012, found);
    assert_eq!(
        h.to_string(),
        "another program listens on 0.0.0.0:45012: pid 4242 (python3)"
    );
}

#[test]
fn an_open_connection_comes_before_a_time_wait() {
    let rows = [
        row(
            "127.0.0.1:45012",
            "127.0.0.1:11434",
            TcpState::TimeWait,
            30_000,
            0,
        ),
        row(
            "127.0.0.1:45012",
            "10.1.2.3:443",
            TcpState::Established,
            0,
            98,
        ),
    ];
    let h = classify(&rows, lo(), 45012, nobody);
    assert_eq!(
        h.to_string(),
        "an open connection 127.0.0.1:45012 -> 10.1.2.3:443 (ESTABLISHED) uses it as its local port: \
         a process this user cannot see"
    );
}

#[test]
fn the_longest_time_wait_is_told_with_the_count() {
    let rows = [
        row(
            "127.0.0.1:45012",
            "127.0.0.1:11434",
            TcpState::TimeWait,
            12_000,
            0,
        ),
        row(
            "127.0.0.1:45012",
            "127.0.0.1:47001",
            TcpState::TimeWait,
            41_200,
            0,
        ),
        row("127.0.0.1:45013", "127.0.0.1:47001", TcpState::Listen, 0, 5),
    ];
    let h = classify(&rows, lo(), 45012, nobody);
    assert_eq!(
        h,
        Holder::TimeWait {
            local: "127.0.0.1:45012".parse().unwrap(),
            remote: "127.0.0.1:47001".parse().unwrap(),
            left: Duration::from_millis(41_200),
            count: 2,
        }
    );
    assert_eq!(
        h.to_string(),
        "held by a closed connection in TIME_WAIT (127.0.0.1:45012 -> 127.0.0.1:47001: a client on this \
         host was given the port as its ephemeral port), which the kernel frees in 42s (2 such connections)"
    );
    let advised = PortHeld {
        holder: h,
        advice: Some("sysctl -w net.ipv4.ip_local_reserved_ports=45012".into()),
    };
    assert!(advised.to_string().ends_with(
        "(2 such connections); `sysctl -w net.ipv4.ip_local_reserved_ports=45012` (as root) keeps \
         the kernel from giving it to clients"
    ));
}

#[test]
fn other_addresses_and_ports_do_not_count() {
    let rows = [
        row("10.0.0.1:45012", "10.0.0.2:80", TcpState::TimeWait, 1000, 0),
        row(
            "127.0.0.1:45013",
            "127.0.0.1:80",
            TcpState::TimeWait,
            1000,
            0,
        ),
    ];
    assert_eq!(classify(&rows, lo(), 45012, nobody), Holder::Unknown);
    // A wildcard bind conflicts with every address; a v4-mapped v6 socket with its v4.
    let wild: IpAddr = "0.0.0.0".parse().unwrap();
    assert!(matches!(
        classify(&rows, wild, 45012, nobody),
        Holder::TimeWait { .. }
    ));
    let mapped = [row(
        "[::ffff:127.0.0.1]:45012",
        "[::ffff:127.0.0.1]:80",
        TcpState::Listen,
        0,
        0,
    )];
    assert!(matches!(
        classify(&mapped, lo(), 45012, nobody),
        Holder::Listener { process: None, .. }
    ));
}

#[test]
fn a_live_listener_of_this_process_is_named() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr: SocketAddr = l.local_addr().unwrap();
    let d = diagnose(addr.ip(), addr.port());
    match &d.holder {
        Holder::Listener {
            local,
            process: Some(p),
        } => {
            assert_eq!(*local, addr);
            assert_eq!(p.pid, std::process::id(), "{d}");
        }
        other => panic!("expected this process's listener, got {other}"),
    }
}
