//! Binding a granted port. The listener is bound inside the registry
//! transaction and handed to the caller, so nothing can take the port
//! between the check and its use.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr, TcpListener, ToSocketAddrs};

use socket2::{Domain, Protocol, Socket, Type};

use super::{RegistryData, RegistryError};

/// Resolve `host` once per allocation (a literal IP needs no lookup).
pub(crate) fn resolve(host: &str) -> Result<IpAddr, RegistryError> {
    if let Ok(ip) = host.trim_matches(['[', ']']).parse::<IpAddr>() {
        return Ok(ip);
    }
    let err = |source| RegistryError::Host {
        host: host.to_string(),
        source,
    };
    (host, 0)
        .to_socket_addrs()
        .map_err(err)?
        .next()
        .map(|a| a.ip())
        .ok_or_else(|| err(std::io::Error::other("no address")))
}

/// Bind and listen with SO_REUSEADDR, so a restart never waits for
/// TIME_WAIT. On Linux SO_REUSEADDR still refuses a port that another socket
/// listens on, so a foreign listener is detected by the bind failing.
/// The listener is blocking; tokio callers set it non-blocking before
/// `tokio::net::TcpListener::from_std`.
pub(crate) fn bind(ip: IpAddr, port: u16) -> std::io::Result<TcpListener> {
    let addr = SocketAddr::new(ip, port);
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_cloexec(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    Ok(socket.into())
}

/// Ports the registry already grants to live entries, plus those granted
/// earlier in the same transaction. Ports are compared regardless of host:
/// a wildcard listener and a loopback one on the same port conflict.
pub(crate) fn taken(data: &RegistryData, granted: &BTreeSet<u16>) -> BTreeSet<u16> {
    data.specialists
        .values()
        .map(|e| e.port)
        .chain(granted.iter().copied())
        .collect()
}
