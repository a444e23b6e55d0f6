//! The kernel's table of TCP sockets (`/proc/net/tcp`, `/proc/net/tcp6`),
//! parsed: who holds which local port, in which state, and for how long a
//! TIME_WAIT still lasts. Used to explain why a port does not bind.
//!
//! The line format is the one `net/ipv4/tcp_ipv4.c` and `net/ipv6/tcp_ipv6.c`
//! print: addresses as the hex of the address's 32-bit words read in host
//! byte order, ports as plain hex, the timer as `kind:ticks` in clock ticks
//! (USER_HZ). A line that does not fit is an error naming the file, the line
//! and the field, never a silently wrong row.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A TCP state, numbered as in the kernel's `include/net/tcp_states.h`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TcpState {
    Established,
    SynSent,
    SynRecv,
    FinWait1,
    FinWait2,
    TimeWait,
    Close,
    CloseWait,
    LastAck,
    Listen,
    Closing,
    NewSynRecv,
}

impl TcpState {
    fn from_code(code: u8) -> Option<TcpState> {
        use TcpState::*;
        Some(match code {
            0x01 => Established,
            0x02 => SynSent,
            0x03 => SynRecv,
            0x04 => FinWait1,
            0x05 => FinWait2,
            0x06 => TimeWait,
            0x07 => Close,
            0x08 => CloseWait,
            0x09 => LastAck,
            0x0A => Listen,
            0x0B => Closing,
            0x0C => NewSynRecv,
            _ => return None,
        })
    }

    /// The kernel's (and `ss`'s) name of the state.
    pub fn as_str(self) -> &'static str {
        use TcpState::*;
        match self {
            Established => "ESTABLISHED",
            SynSent => "SYN_SENT",
            SynRecv => "SYN_RECV",
            FinWait1 => "FIN_WAIT1",
            FinWait2 => "FIN_WAIT2",
            TimeWait => "TIME_WAIT",
            Close => "CLOSE",
            CloseWait => "CLOSE_WAIT",
            LastAck => "LAST_ACK",
            Listen => "LISTEN",
            Closing => "CLOSING",
            NewSynRecv => "NEW_SYN_RECV",
        }
    }
}

impl std::fmt::Display for TcpState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which timer of the socket is pending (the `tr` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerKind {
    None,
    Retransmit,
    KeepAlive,
    TimeWait,
    ZeroWindowProbe,
    /// A code this parser does not know; kept rather than refused.
    Other(u8),
}

impl TimerKind {
    fn from_code(code: u8) -> TimerKind {
        match code {
            0 => TimerKind::None,
            1 => TimerKind::Retransmit,
            2 => TimerKind::KeepAlive,
            3 => TimerKind::TimeWait,
            4 => TimerKind::ZeroWindowProbe,
            n => TimerKind::Other(n),
        }
    }
}

/// One row of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpSocket {
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub state: TcpState,
    pub timer: TimerKind,
    /// Time until the pending timer fires: for a TIME_WAIT, until the
    /// kernel frees the port.
    pub timer_left: Duration,
    pub uid: u32,
    /// Socket inode, matched against `/proc/PID/fd` links (`socket:[N]`);
    /// 0 for TIME_WAIT sockets, which belong to no process.
    pub inode: u64,
}

/// A line of the table that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field `{field}`: {problem} (got {value:?})")]
pub struct LineError {
    pub field: &'static str,
    pub problem: &'static str,
    pub value: String,
}

/// Reading a table file failed.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("{path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {source}")]
    Line {
        path: PathBuf,
        line: usize,
        source: LineError,
    },
}

/// The files the kernel exposes, IPv4 first.
pub const TABLES: [&str; 2] = ["/proc/net/tcp", "/proc/net/tcp6"];

/// Every TCP socket of this network namespace, IPv4 and IPv6. A missing
/// `tcp6` (IPv6 disabled) is not an error.
pub fn read_all() -> Result<Vec<TcpSocket>, TableError> {
    let ticks = clock_ticks();
    let mut out = Vec::new();
    for path in TABLES {
        match std::fs::read_to_string(path) {
            Ok(text) => out.extend(parse_table(Path::new(path), &text, ticks)?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && path.ends_with('6') => {}
            Err(source) => {
                return Err(TableError::Read {
                    path: path.into(),
                    source,
                });
            }
        }
    }
    Ok(out)
}

/// The clock ticks per second the timer column counts in (USER_HZ).
pub fn clock_ticks() -> u64 {
    rustix::param::clock_ticks_per_second().max(1)
}

/// Parse a whole table (header line first, as the kernel prints it).
/// `path` only names the source in errors.
pub fn parse_table(path: &Path, text: &str, ticks: u64) -> Result<Vec<TcpSocket>, TableError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if i == 0 || line.trim().is_empty() {
            continue;
        }
        let row = parse_line(line, ticks).map_err(|source| TableError::Line {
            path: path.to_path_buf(),
            line: i + 1,
            source,
        })?;
        out.push(row);
    }
    Ok(out)
}

/// Parse one data line (`sl local rem st tx:rx tr:when retrnsmt uid timeout inode …`).
pub fn parse_line(line: &str, ticks: u64) -> Result<TcpSocket, LineError> {
    let mut f = line.split_ascii_whitespace();
    let mut next = |field: &'static str| {
        f.next().ok_or(LineError {
            field,
            problem: "missing",
            value: String::new(),
        })
    };
    let sl = next("sl")?;
    if sl
        .strip_suffix(':')
        .is_none_or(|n| n.parse::<u64>().is_err())
    {
        return Err(bad("sl", "not `N:`", sl));
    }
    let local = endpoint("local_address", next("local_address")?)?;
    let remote = endpoint("rem_address", next("rem_address")?)?;
    let st = next("st")?;
    let state = u8::from_str_radix(st, 16)
        .ok()
        .filter(|_| st.len() == 2)
        .and_then(TcpState::from_code)
        .ok_or_else(|| bad("st", "not a TCP state", st))?;
    let queues = next("tx_queue:rx_queue")?;
    if split_hex_pair(queues).is_none() {
        return Err(bad("tx_queue:rx_queue", "not `HEX:HEX`", queues));
    }
    let tr = next("tr:tm->when")?;
    let (kind, when) = split_hex_pair(tr).ok_or_else(|| bad("tr:tm->when", "not `HEX:HEX`", tr))?;
    let kind = u8::try_from(kind).map_err(|_| bad("tr:tm->when", "timer kind too large", tr))?;
    let retr = next("retrnsmt")?;
    u64::from_str_radix(retr, 16).map_err(|_| bad("retrnsmt", "not hex", retr))?;
    let uid = next("uid")?;
    let uid = uid.parse().map_err(|_| bad("uid", "not a number", uid))?;
    let timeout = next("timeout")?;
    timeout
        .parse::<i64>()
        .map_err(|_| bad("timeout", "not a number", timeout))?;
    let inode = next("inode")?;
    let inode = inode
        .parse()
        .map_err(|_| bad("inode", "not a number", inode))?;
    let timer_left = Duration::from_millis(when.saturating_mul(1000) / ticks.max(1));
    Ok(TcpSocket {
        local,
        remote,
        state,
        timer: TimerKind::from_code(kind),
        timer_left,
        uid,
        inode,
    })
}

fn bad(field: &'static str, problem: &'static str, value: &str) -> LineError {
    LineError {
        field,
        problem,
        value: value.chars().take(80).collect(),
    }
}

fn split_hex_pair(s: &str) -> Option<(u64, u64)> {
    let (a, b) = s.split_once(':')?;
    Some((
        u64::from_str_radix(a, 16).ok()?,
        u64::from_str_radix(b, 16).ok()?,
    ))
}

/// `ADDR:PORT`: 8 hex digits for IPv4, 32 for IPv6, then a 4-digit port.
fn endpoint(field: &'static str, s: &str) -> Result<SocketAddr, LineError> {
    let (addr, port) = s
        .split_once(':')
        .ok_or_else(|| bad(field, "not `ADDR:PORT`", s))?;
    if port.len() != 4 {
        return Err(bad(field, "port is not 4 hex digits", s));
    }
    let port = u16::from_str_radix(port, 16).map_err(|_| bad(field, "port is not hex", s))?;
    let ip = match addr.len() {
        8 => IpAddr::V4(Ipv4Addr::from(
            word(addr).ok_or_else(|| bad(field, "not hex", s))?,
        )),
        32 => {
            let mut bytes = [0u8; 16];
            for (i, chunk) in bytes.chunks_exact_mut(4).enumerate() {
                let w = word(&addr[i * 8..i * 8 + 8]).ok_or_else(|| bad(field, "not hex", s))?;
                chunk.copy_from_slice(&w);
            }
            IpAddr::V6(Ipv6Addr::from(bytes))
        }
        _ => return Err(bad(field, "address is neither 8 nor 32 hex digits", s)),
    };
    Ok(SocketAddr::new(ip, port))
}

/// One 32-bit word as the kernel prints it (`%08X` of the network-order
/// bytes read as a host-order integer), back to its bytes.
fn word(hex: &str) -> Option<[u8; 4]> {
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(hex, 16).ok().map(u32::to_ne_bytes)
}

#[cfg(test)]
mod tests;
