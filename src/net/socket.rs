//! Outgoing TCP sockets with `SO_REUSEADDR` set before they connect.
//!
//! A client's local port comes from the kernel's ephemeral range, which on
//! Linux contains cadre's pinned ports (45000-45099 for the shipped team).
//! After the client closes first, its socket stays in TIME_WAIT for 60 s and
//! keeps the port. A listener with `SO_REUSEADDR` can bind over such a
//! TIME_WAIT (or over an open connection) only if that client socket had
//! `SO_REUSEADDR` too; otherwise `bind` fails with `EADDRINUSE` for up to a
//! minute. So every connection cadre opens goes through here, and its own
//! traffic can never keep its own listeners from binding. The option changes
//! nothing else for a client: its 4-tuple is still unique.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};

/// Connect to `host:port` (a name or an IP literal, brackets optional for
/// IPv6), trying each resolved address in turn.
pub async fn connect(host: &str, port: u16) -> io::Result<tokio::net::TcpStream> {
    let host = host.trim_matches(['[', ']']);
    let mut last = None;
    for addr in tokio::net::lookup_host((host, port)).await? {
        match connect_addr(addr).await {
            Ok(s) => return Ok(s),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        io::Error::new(io::ErrorKind::NotFound, format!("{host} has no address"))
    }))
}

/// Connect to one address.
pub async fn connect_addr(addr: SocketAddr) -> io::Result<tokio::net::TcpStream> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.connect(addr).await
}

/// Blocking connect within `timeout`.
pub fn connect_blocking(addr: SocketAddr, timeout: Duration) -> io::Result<std::net::TcpStream> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_cloexec(true)?;
    socket.connect_timeout(&addr.into(), timeout)?;
    Ok(socket.into())
}

/// `host:port` as an address is written, an IPv6 host in brackets
/// (`[::1]:45000`): what errors and logs name.
pub fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::net::{SocketAddr, TcpListener};
    use std::time::Duration;

    use socket2::{Domain, Socket, Type};

    /// A port nobody holds now: the kernel gave it to a listener, now closed.
    /// (A port a connect() picks may be shared with other programs' sockets
    /// to other destinations, which would decide the test instead.)
    fn free_port() -> u16 {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    }

    /// A client on `127.0.0.1:port` (SO_REUSEADDR as given) that connects to
    /// a fresh listener and closes first, leaving the port in TIME_WAIT.
    fn time_wait_on(port: u16, reuse: bool) {
        let server = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        client.set_reuse_address(reuse).unwrap();
        client
            .bind(&SocketAddr::from(([127, 0, 0, 1], port)).into())
            .unwrap();
        client
            .connect(&server.local_addr().unwrap().into())
            .unwrap();
        let (accepted, _) = server.accept().unwrap();
        drop(client);
        let _ = (&accepted).read(&mut [0u8; 1]);
        drop(accepted);
    }

    /// std's `bind` sets SO_REUSEADDR on Unix, as cadre's own listeners do.
    fn rebind(port: u16) -> std::io::Result<TcpListener> {
        TcpListener::bind(("127.0.0.1", port))
    }

    /// The kernel behaviour this module exists for, checked on this kernel:
    /// a listener binds over the TIME_WAIT of a client that set
    /// SO_REUSEADDR, and not over one that did not.
    #[test]
    fn a_listener_binds_over_a_reuse_clients_time_wait_but_not_over_a_plain_one() {
        let ours = free_port();
        time_wait_on(ours, true);
        rebind(ours).expect("bind over a TIME_WAIT of a SO_REUSEADDR client");

        let plain = free_port();
        time_wait_on(plain, false);
        let err = rebind(plain).expect_err("a plain client's TIME_WAIT holds its port");
        assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
    }

    #[tokio::test]
    async fn both_connects_set_so_reuseaddr() {
        let server = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = server.local_addr().unwrap();
        let blocking = super::connect_blocking(addr, Duration::from_secs(5)).unwrap();
        assert!(socket2::SockRef::from(&blocking).reuse_address().unwrap());
        let stream = super::connect("127.0.0.1", addr.port()).await.unwrap();
        assert!(socket2::SockRef::from(&stream).reuse_address().unwrap());
    }
}
