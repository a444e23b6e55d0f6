use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use proptest::prelude::*;

use super::*;

/// Format a row exactly as the kernel's `get_tcp4_sock`/`get_tcp6_sock` do.
fn kernel_line(sl: u32, s: &TcpSocket, state_code: u8, tr: u8, when: u64) -> String {
    fn addr(a: &SocketAddr) -> String {
        let ip = match a.ip() {
            IpAddr::V4(v4) => format!("{:08X}", u32::from_ne_bytes(v4.octets())),
            IpAddr::V6(v6) => v6
                .octets()
                .chunks_exact(4)
                .map(|c| format!("{:08X}", u32::from_ne_bytes([c[0], c[1], c[2], c[3]])))
                .collect(),
        };
        format!("{ip}:{:04X}", a.port())
    }
    format!(
        "{sl:4}: {} {} {state_code:02X} 00000000:00000000 {tr:02X}:{when:08X} 00000000 {:5} {:8} {} 1 0000000000000000 100 0 0 10 0",
        addr(&s.local),
        addr(&s.remote),
        s.uid,
        0,
        s.inode
    )
}

const HEADER: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode";

#[cfg(target_endian = "little")]
#[test]
fn parses_lines_as_this_kernel_printed_them() {
    let listen = "   1: 0100007F:B0E3 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 53290 1 00000000a4b493f9 100 0 0 10 0";
    let tw = "   3: 0100007F:BB7E 0100007F:E37C 06 00000000:00000000 03:00000E7F 00000000     0        0 0 3 00000000e9ba4e2c";
    let l = parse_line(listen, 100).unwrap();
    assert_eq!(l.local, "127.0.0.1:45283".parse().unwrap());
    assert_eq!(l.remote, "0.0.0.0:0".parse().unwrap());
    assert_eq!(l.state, TcpState::Listen);
    assert_eq!(l.timer, TimerKind::None);
    assert_eq!(l.inode, 53290);
    let t = parse_line(tw, 100).unwrap();
    assert_eq!(t.local, "127.0.0.1:47998".parse().unwrap());
    assert_eq!(t.remote, "127.0.0.1:58236".parse().unwrap());
    assert_eq!(t.state, TcpState::TimeWait);
    assert_eq!(t.timer, TimerKind::TimeWait);
    assert_eq!(t.timer_left, Duration::from_millis(37_110));
    assert_eq!(t.inode, 0);
    let v6 = "   0: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 777 1 0000000000000000 100 0 0 10 0";
    let s = parse_line(v6, 100).unwrap();
    assert_eq!(s.local, "[::1]:8080".parse().unwrap());
    assert_eq!(s.uid, 1000);
}

#[test]
fn round_trips_rows_formatted_as_the_kernel_does() {
    let rows = [
        (
            TcpSocket {
                local: "127.0.0.1:45012".parse().unwrap(),
                remote: "127.0.0.1:11434".parse().unwrap(),
                state: TcpState::TimeWait,
                timer: TimerKind::TimeWait,
                timer_left: Duration::from_secs(59),
                uid: 0,
                inode: 0,
            },
            0x06,
            3,
            5900,
        ),
        (
            TcpSocket {
                local: SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 45000),
                remote: SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0),
                state: TcpState::Listen,
                timer: TimerKind::None,
                timer_left: Duration::ZERO,
                uid: 1000,
                inode: 4_000_000_000,
            },
            0x0A,
            0,
            0,
        ),
    ];
    let mut table = String::from(HEADER);
    for (i, (row, st, tr, when)) in rows.iter().enumerate() {
        table.push('\n');
        table.push_str(&kernel_line(i as u32, row, *st, *tr, *when));
    }
    let got = parse_table(Path::new("/proc/net/tcp"), &table, 100).unwrap();
    let want: Vec<TcpSocket> = rows.iter().map(|r| r.0.clone()).collect();
    assert_eq!(got, want);
}

#[test]
fn a_bad_line_names_the_file_line_and_field() {
    let good = "   0: 0100007F:B0E3 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0";
    let cases = [
        (good.replace(" 0A ", " 0Z "), "st"),
        (good.replace(" 0A ", " 42 "), "st"),
        (
            good.replace("0100007F:B0E3", "100007F:B0E3"),
            "local_address",
        ),
        (
            good.replace("0100007F:B0E3", "0100007F:B0E"),
            "local_address",
        ),
        (
            good.replace("0100007F:B0E3", "0100007FB0E3"),
            "local_address",
        ),
        (
            good.replace("0100007F:B0E3", "+100007F:B0E3"),
            "local_address",
        ),
        (
            good.replace(" 00:00000000 ", " 00-00000000 "),
            "tr:tm->when",
        ),
        (
            good.replace("0A 00000000:00000000", "0A 00000000"),
            "tx_queue:rx_queue",
        ),
        (good.replace("   0:", "   x:"), "sl"),
        ("   0: 0100007F:B0E3".to_owned(), "rem_address"),
    ];
    for (line, field) in cases {
        let table = format!("{HEADER}\n{good}\n{line}\n");
        let err = parse_table(Path::new("/proc/net/tcp"), &table, 100).unwrap_err();
        match &err {
            TableError::Line {
                line: n, source, ..
            } => {
                assert_eq!((*n, source.field), (3, field), "{line}: {err}");
            }
            other => panic!("{other}"),
        }
        assert!(
            err.to_string().starts_with("/proc/net/tcp:3: field `"),
            "{err}"
        );
    }
}

#[test]
fn the_live_table_shows_a_listener_and_a_time_wait_of_this_process() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let server = listener.local_addr().unwrap();
    // SO_REUSEADDR set: the TIME_WAIT this leaves can never block a listener.
    let client = crate::net::socket::connect_blocking(server, Duration::from_secs(5)).unwrap();
    let (accepted, _) = listener.accept().unwrap();
    let client_addr = client.local_addr().unwrap();
    // The client closes first, so the TIME_WAIT is on its side.
    drop(client);
    let mut buf = [0u8; 1];
    let _ = std::io::Read::read(&mut &accepted, &mut buf);
    drop(accepted);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let rows = loop {
        let rows = read_all().unwrap();
        let closed = rows
            .iter()
            .any(|r| r.local == client_addr && r.state == TcpState::TimeWait);
        if closed || std::time::Instant::now() > deadline {
            break rows;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let l = rows
        .iter()
        .find(|r| r.local == server && r.state == TcpState::Listen)
        .expect("own listener in /proc/net/tcp");
    assert_ne!(l.inode, 0);
    let tw = rows
        .iter()
        .find(|r| r.local == client_addr && r.remote == server)
        .expect("own closed client in /proc/net/tcp");
    assert_eq!(tw.state, TcpState::TimeWait, "{tw:?}");
    assert!(tw.timer_left <= Duration::from_secs(60), "{tw:?}");
    assert!(tw.timer_left > Duration::from_secs(30), "{tw:?}");
}

proptest! {
    #[test]
    fn any_line_parses_or_errs_without_panicking(line in "\\PC{0,200}") {
        let _ = parse_line(&line, 100);
    }

    #[test]
    fn mutated_kernel_lines_parse_or_err_without_panicking(
        cut in 0usize..160, junk in "[0-9A-Fa-f: x]{0,12}"
    ) {
        let good = "   0: 0100007F:B0E3 00000000:0000 0A 00000000:00000000 03:00000E7F 00000000     0        0 1 1 0 100 0 0 10 0";
        let cut = cut.min(good.len());
        let line = format!("{}{junk}{}", &good[..cut], &good[cut..]);
        let _ = parse_line(&line, 100);
    }

    #[test]
    fn generated_rows_round_trip(
        a in any::<[u8; 4]>(), b in any::<[u8; 16]>(), lp in any::<u16>(), rp in any::<u16>(),
        uid in any::<u32>(), inode in any::<u64>(), secs in 0u64..120,
    ) {
        for (local, remote) in [
            (SocketAddr::new(IpAddr::V4(a.into()), lp), SocketAddr::new(IpAddr::V4(a.into()), rp)),
            (SocketAddr::new(IpAddr::V6(b.into()), lp), SocketAddr::new(IpAddr::V6(b.into()), rp)),
        ] {
            let row = TcpSocket {
                local, remote, state: TcpState::TimeWait, timer: TimerKind::TimeWait,
                timer_left: Duration::from_secs(secs), uid, inode,
            };
            let line = kernel_line(7, &row, 0x06, 3, secs * 100);
            prop_assert_eq!(parse_line(&line, 100).unwrap(), row);
        }
    }
}
