//! Port grants: foreign listeners skipped, pinned conflicts named, granted
//! ports bound and distinct, SO_REUSEADDR restarts.
//!
//! Ports: 31200-31299 (this file only), one slice per test.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};

use crate::fixture::registry::*;
use cadre::registry::{Registry, RegistryError};

fn port(l: &TcpListener) -> u16 {
    l.local_addr().unwrap().port()
}

#[test]
fn a_foreign_listener_inside_the_range_is_skipped() {
    let (_tmp, dir) = temp_state();
    let reg = Registry::open(dir).unwrap();
    let foreign = TcpListener::bind("127.0.0.1:31200").unwrap();
    let l = reg
        .transact(|t| t.allocate("127.0.0.1", None, [31200, 31209]))
        .unwrap();
    assert_eq!(port(&l), 31201);
    drop(foreign);
}

#[test]
fn a_pinned_port_held_by_a_foreign_listener_is_an_error_naming_it() {
    let (_tmp, dir) = temp_state();
    let reg = Registry::open(dir).unwrap();
    let _foreign = TcpListener::bind("127.0.0.1:31210").unwrap();
    let mut err = reg
        .transact(|t| t.allocate("127.0.0.1", Some(31210), [31211, 31219]))
        .unwrap_err();
    assert!(
        matches!(err, RegistryError::PinnedPortInUse { port: 31210, .. }),
        "{err:?}"
    );
    assert!(err.to_string().ends_with("(os error 98)"), "{err}");
    err.explain_held_port();
    // The holder is named (this test process); 31210 is below the
    // ephemeral range, so no reservation is suggested.
    let comm = std::fs::read_to_string("/proc/self/comm").unwrap();
    assert_eq!(
        err.to_string(),
        format!(
            "pinned port 31210 on 127.0.0.1 cannot be bound: Address already in use (os error 98): \
             another program listens on 127.0.0.1:31210: pid {} ({})",
            std::process::id(),
            comm.trim()
        )
    );
}

#[test]
fn a_pinned_port_held_by_a_live_entry_is_refused_and_a_free_one_granted() {
    let (_tmp, dir) = temp_state();
    let reg = Registry::open(dir).unwrap();
    reg.transact(|t| {
        let e = entry("alpha", 31220, t.me);
        t.data.specialists.insert(e.name.clone(), e);
        Ok::<_, RegistryError>(())
    })
    .unwrap();
    let err = reg
        .transact(|t| t.allocate("127.0.0.1", Some(31220), [31221, 31229]))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "pinned port 31220 is already held by specialist `alpha` (pid {})",
            std::process::id()
        )
    );
    let l = reg
        .transact(|t| t.allocate("127.0.0.1", Some(31222), [31221, 31229]))
        .unwrap();
    assert_eq!(port(&l), 31222);
    // The range skips the port a live entry holds even though it would bind.
    let l2 = reg
        .transact(|t| t.allocate("127.0.0.1", None, [31220, 31229]))
        .unwrap();
    assert_eq!(port(&l2), 31221);
}

#[test]
fn two_grants_in_one_transaction_differ_and_accept_connections() {
    let (_tmp, dir) = temp_state();
    let reg = Registry::open(dir).unwrap();
    let (a, b) = reg
        .transact(|t| {
            let a = t.allocate("127.0.0.1", None, [31230, 31239])?;
            let b = t.allocate("localhost", None, [31230, 31239])?;
            Ok::<_, RegistryError>((a, b))
        })
        .unwrap();
    assert_ne!(port(&a), port(&b));
    for l in [&a, &b] {
        let mut c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (mut s, _) = l.accept().unwrap();
        c.write_all(b"hi").unwrap();
        let mut buf = [0u8; 2];
        s.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"hi");
    }
}

#[test]
fn an_exhausted_range_names_the_range() {
    let (_tmp, dir) = temp_state();
    let reg = Registry::open(dir).unwrap();
    let _a = TcpListener::bind("127.0.0.1:31240").unwrap();
    let _b = TcpListener::bind("127.0.0.1:31241").unwrap();
    let err = reg
        .transact(|t| t.allocate("127.0.0.1", None, [31240, 31241]))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "no free port in range 31240-31241 on 127.0.0.1"
    );
    let err = reg
        .transact(|t| t.allocate("127.0.0.1", None, [31245, 31244]))
        .unwrap_err();
    assert!(matches!(err, RegistryError::InvalidRange { .. }), "{err:?}");
}

#[test]
fn a_restart_rebinds_a_port_in_time_wait() {
    let (_tmp, dir) = temp_state();
    let reg = Registry::open(dir).unwrap();
    let l = reg
        .transact(|t| t.allocate("127.0.0.1", Some(31250), [31250, 31250]))
        .unwrap();
    // A served connection closed by the server side leaves TIME_WAIT on
    // the listener's port.
    let c = TcpStream::connect("127.0.0.1:31250").unwrap();
    let (s, _) = l.accept().unwrap();
    drop(s);
    drop(c);
    drop(l);
    let again = reg
        .transact(|t| t.allocate("127.0.0.1", Some(31250), [31250, 31250]))
        .unwrap();
    assert_eq!(port(&again), 31250);
}
