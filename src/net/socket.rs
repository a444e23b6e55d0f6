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

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::net::{TcpListener, TcpStream};
    use std::time::Duration;

    /// A client connection to a fresh listener, closed by the client first so
    /// its local port is left in TIME_WAIT; returns that port.
    fn time_wait_port(connect: impl FnOnce(std::net::SocketAddr) -> TcpStream) -> u16 {
        let server = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = connect(server.local_addr().unwrap());
        let (accepted, _) = server.accept().unwrap();
        let port = client.local_addr().unwrap().port();
        drop(client);
        let _ = (&accepted).read(&mut [0u8; 1]);
        drop(accepted);
        port
    }

    /// std's `bind` sets SO_REUSEADDR on Unix, as cadre's own listeners do.
    fn rebind(port: u16) -> std::io::Result<TcpListener> {
        TcpListener::bind(("127.0.0.1", port))
    }

    /// The kernel behaviour this module exists for, checked on this kernel:
    /// a listener binds over the TIME_WAIT of a client that set
    /// SO_REUSEADDR, and not over one that did not.
    #[test]
    fn a_listener_binds_over_our_time_wait_but_not_over_a_plain_one() {
        let ours = time_wait_port(|a| super::connect_blocking(a, Duration::from_secs(5)).unwrap());
        rebind(ours).expect("bind over a TIME_WAIT of a SO_REUSEADDR client");

        let plain = time_wait_port(|a| TcpStream::connect(a).unwrap());
        let err = rebind(plain).expect_err("a plain client's TIME_WAIT holds its port");
        assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
    }

    #[tokio::test]
    async fn async_connect_sets_the_option_too() {
        let server = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = server.local_addr().unwrap();
        let client = super::connect("127.0.0.1", addr.port()).await.unwrap();
        let (accepted, _) = server.accept().unwrap();
        let port = client.local_addr().unwrap().port();
        // Open connection: a listener may share its local port.
        drop(rebind(port).expect("bind beside an open SO_REUSEADDR client"));
        drop(client);
        let _ = (&accepted).read(&mut [0u8; 1]);
        drop(accepted);
        rebind(port).expect("bind over its TIME_WAIT");
    }
}
