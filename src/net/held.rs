//! Why a port does not bind: which socket of this host holds it, told from
//! the kernel's TCP table, and what would prevent it.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use super::ephemeral;
use super::tcp_table::{self, TcpSocket, TcpState};

/// The socket that keeps a port from binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    /// A closed connection waiting out TIME_WAIT: a client on this host was
    /// given the port as its ephemeral local port. Freed after `left`.
    TimeWait {
        local: SocketAddr,
        remote: SocketAddr,
        left: Duration,
        /// How many such connections hold the port (the one shown lasts longest).
        count: usize,
    },
    /// Another program listens on it.
    Listener {
        local: SocketAddr,
        process: Option<Process>,
    },
    /// An open connection uses it as its local port.
    Connection {
        local: SocketAddr,
        remote: SocketAddr,
        state: TcpState,
        process: Option<Process>,
    },
    /// Nothing in the table explains it (freed since, or another namespace).
    Unknown,
    /// The table could not be read.
    Unreadable(String),
}

/// A process found holding a socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Process {
    pub pid: u32,
    pub name: String,
}

/// A held port explained: who holds it, and the sysctl line that keeps
/// clients off it (when the port is one the kernel gives to clients).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortHeld {
    pub holder: Holder,
    pub advice: Option<String>,
}

/// Explain why `ip:port` does not bind, from the live table.
pub fn diagnose(ip: IpAddr, port: u16) -> PortHeld {
    let holder = match tcp_table::read_all() {
        Ok(rows) => classify(&rows, ip, port, owner_of),
        Err(e) => Holder::Unreadable(e.to_string()),
    };
    PortHeld {
        holder,
        advice: ephemeral::reservation_advice(port),
    }
}

/// The holder among `rows` of a bind to `ip:port`: a listener first (it
/// never goes away by itself), then an open connection, then the TIME_WAIT
/// that lasts longest. `owner` finds the process of a socket inode.
pub fn classify(
    rows: &[TcpSocket],
    ip: IpAddr,
    port: u16,
    owner: impl Fn(u64) -> Option<Process>,
) -> Holder {
    let on_port: Vec<&TcpSocket> = rows
        .iter()
        .filter(|r| r.local.port() == port && overlaps(r.local.ip(), ip))
        .collect();
    let process = |r: &TcpSocket| (r.inode != 0).then(|| owner(r.inode)).flatten();
    if let Some(r) = on_port.iter().find(|r| r.state == TcpState::Listen) {
        return Holder::Listener {
            local: r.local,
            process: process(r),
        };
    }
    if let Some(r) = on_port.iter().find(|r| r.state != TcpState::TimeWait) {
        return Holder::Connection {
            local: r.local,
            remote: r.remote,
            state: r.state,
            process: process(r),
        };
    }
    let waits = on_port.iter().filter(|r| r.state == TcpState::TimeWait);
    match waits.clone().max_by_key(|r| r.timer_left) {
        Some(r) => Holder::TimeWait {
            local: r.local,
            remote: r.remote,
            left: r.timer_left,
            count: waits.count(),
        },
        None => Holder::Unknown,
    }
}

/// Two local addresses conflict for a bind when equal or when either is a
/// wildcard (an IPv6 wildcard covers IPv4 too unless V6ONLY, which the table
/// does not show).
fn overlaps(a: IpAddr, b: IpAddr) -> bool {
    let canon = |ip: IpAddr| match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    a.is_unspecified() || b.is_unspecified() || canon(a) == canon(b)
}

/// The process with an open file descriptor on socket `inode`, by scanning
/// `/proc/*/fd` (only processes this user may inspect).
pub fn owner_of(inode: u64) -> Option<Process> {
    let want = format!("socket:[{inode}]");
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        let holds = fds
            .flatten()
            .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|l| l.as_os_str() == want.as_str()));
        if holds {
            let name = crate::registry::proc::program_name(pid).unwrap_or_else(|| "?".into());
            return Some(Process { pid, name });
        }
    }
    None
}

/// Whole seconds, rounded up: "frees in 0s" would be wrong while it holds.
fn secs_up(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

impl fmt::Display for Process {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pid {} ({})", self.pid, self.name)
    }
}

fn who(process: &Option<Process>) -> String {
    match process {
        Some(p) => p.to_string(),
        None => "a process this user cannot see".into(),
    }
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Holder::TimeWait {
                local,
                remote,
                left,
                count,
            } => {
                write!(
                    f,
                    "held by a closed connection in TIME_WAIT ({local} -> {remote}: a client on this host \
                     was given the port as its ephemeral port), which the kernel frees in {}s",
                    secs_up(*left)
                )?;
                if *count > 1 {
                    write!(f, " ({count} such connections)")?;
                }
                Ok(())
            }
            Holder::Listener { local, process } => {
                write!(f, "another program listens on {local}: {}", who(process))
            }
            Holder::Connection {
                local,
                remote,
                state,
                process,
            } => write!(
                f,
                "an open connection {local} -> {remote} ({state}) uses it as its local port: {}",
                who(process)
            ),
            Holder::Unknown => f.write_str(
                "no socket in /proc/net/tcp explains it (freed since, or held in another network namespace)",
            ),
            Holder::Unreadable(e) => write!(f, "cannot tell who holds it: {e}"),
        }
    }
}

impl fmt::Display for PortHeld {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.holder)?;
        if let Some(cmd) = &self.advice {
            write!(
                f,
                "; `{cmd}` (as root) keeps the kernel from giving it to clients"
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
