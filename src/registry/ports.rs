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
///
/// A bitset, not a set: a cold start of N specialists allocates N times in
/// one transaction, each time against every entry, and building an 8 KiB
/// bitset costs a few microseconds where a `BTreeSet` of 1000 ports cost
/// ~50 (tens of milliseconds per 1000-specialist start).
pub(crate) fn taken(data: &RegistryData, granted: &BTreeSet<u16>) -> PortSet {
    let mut set = PortSet::default();
    for port in data
        .specialists
        .values()
        .map(|e| e.port)
        .chain(granted.iter().copied())
    {
        set.insert(port);
    }
    set
}

/// A set of TCP ports, one bit each.
pub(crate) struct PortSet(Box<[u64; 1024]>);

impl Default for PortSet {
    fn default() -> Self {
        PortSet(Box::new([0; 1024]))
    }
}

impl PortSet {
    fn insert(&mut self, port: u16) {
        self.0[usize::from(port >> 6)] |= 1 << (port & 63);
    }

    pub(crate) fn contains(&self, port: u16) -> bool {
        self.0[usize::from(port >> 6)] & (1 << (port & 63)) != 0
    }
}

#[cfg(test)]
mod tests {
    use super::PortSet;

    #[test]
    fn port_set_holds_exactly_what_was_inserted() {
        let mut set = PortSet::default();
        let ports = [0u16, 1, 63, 64, 45000, 65534, 65535];
        for p in ports {
            set.insert(p);
        }
        for p in 0..=u16::MAX {
            assert_eq!(set.contains(p), ports.contains(&p), "port {p}");
        }
    }
}
