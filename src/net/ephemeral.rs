//! The kernel's ephemeral port range and the ports reserved from it.
//!
//! Linux gives outgoing connections local ports from
//! `net.ipv4.ip_local_port_range` (32768-60999 by default), minus
//! `net.ipv4.ip_local_reserved_ports`. A pinned port inside that range can be
//! held by any client on the host, and for up to a minute after the client
//! closed (TIME_WAIT); reserving it is what prevents that.

use std::fmt;

/// `/proc/sys/net/ipv4/ip_local_port_range`.
pub const PORT_RANGE: &str = "/proc/sys/net/ipv4/ip_local_port_range";
/// `/proc/sys/net/ipv4/ip_local_reserved_ports`.
pub const RESERVED: &str = "/proc/sys/net/ipv4/ip_local_reserved_ports";

/// A set of ports as sysctl writes it: `45000-45099,46000`. Kept sorted
/// and merged, so adding to it and printing it gives what sysctl prints.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortList(Vec<(u16, u16)>);

/// A port list that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "bad port list item {item:?}: expected PORT or FIRST-LAST with 1 <= FIRST <= LAST <= 65535"
)]
pub struct PortListError {
    pub item: String,
}

impl PortList {
    /// Parse sysctl's format (commas, ranges, surrounding whitespace).
    pub fn parse(text: &str) -> Result<PortList, PortListError> {
        let mut list = PortList::default();
        for item in text
            .trim()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let err = || PortListError {
                item: item.chars().take(40).collect(),
            };
            let (a, b) = match item.split_once('-') {
                Some((a, b)) => (a.trim(), b.trim()),
                None => (item, item),
            };
            let a: u16 = a.parse().map_err(|_| err())?;
            let b: u16 = b.parse().map_err(|_| err())?;
            if a == 0 || a > b {
                return Err(err());
            }
            list.add(a, b);
        }
        Ok(list)
    }

    pub fn contains(&self, port: u16) -> bool {
        self.0.iter().any(|&(a, b)| a <= port && port <= b)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Each range, `(first, last)`.
    pub fn ranges(&self) -> impl Iterator<Item = (u16, u16)> + '_ {
        self.0.iter().copied()
    }

    /// Add `first..=last`, merging with what touches it.
    pub fn add(&mut self, first: u16, last: u16) {
        self.0.push((first, last));
        self.0.sort_unstable();
        let mut merged: Vec<(u16, u16)> = Vec::with_capacity(self.0.len());
        for &(a, b) in &self.0 {
            match merged.last_mut() {
                Some(m) if u32::from(a) <= u32::from(m.1) + 1 => m.1 = m.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        self.0 = merged;
    }

    /// The `sysctl` command that sets exactly this list.
    pub fn sysctl_command(&self) -> String {
        format!("sysctl -w net.ipv4.ip_local_reserved_ports={self}")
    }
}

impl fmt::Display for PortList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, &(a, b)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            if a == b {
                write!(f, "{a}")?;
            } else {
                write!(f, "{a}-{b}")?;
            }
        }
        Ok(())
    }
}

/// The ephemeral range, `(first, last)`.
pub fn local_port_range() -> Option<(u16, u16)> {
    let text = std::fs::read_to_string(PORT_RANGE).ok()?;
    let mut it = text.split_ascii_whitespace().map(str::parse::<u16>);
    match (it.next(), it.next()) {
        (Some(Ok(a)), Some(Ok(b))) if a <= b => Some((a, b)),
        _ => None,
    }
}

/// The reserved ports now; `None` when the file is unreadable or malformed.
pub fn reserved() -> Option<PortList> {
    PortList::parse(&std::fs::read_to_string(RESERVED).ok()?).ok()
}

/// If `port` is one the kernel may give to a client (inside the ephemeral
/// range, not reserved), the sysctl command that reserves it on top of what
/// is reserved already.
pub fn reservation_advice(port: u16) -> Option<String> {
    let (first, last) = local_port_range()?;
    let mut list = reserved()?;
    if port < first || port > last || list.contains(port) {
        return None;
    }
    list.add(port, port);
    Some(list.sysctl_command())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_merges_and_prints_like_sysctl() {
        let l = PortList::parse(" 46000, 45000-45049,45050-45099 ,45100\n").unwrap();
        assert_eq!(l.to_string(), "45000-45100,46000");
        assert!(l.contains(45000) && l.contains(45100) && l.contains(46000));
        assert!(!l.contains(44999) && !l.contains(45101));
        assert_eq!(PortList::parse("").unwrap(), PortList::default());
        assert_eq!(PortList::parse("\n").unwrap().to_string(), "");
        let mut l = PortList::parse("10-20,30").unwrap();
        l.add(21, 29);
        assert_eq!(
            l.sysctl_command(),
            "sysctl -w net.ipv4.ip_local_reserved_ports=10-30"
        );
        l.add(65535, 65535);
        assert_eq!(l.to_string(), "10-30,65535");
    }

    #[test]
    fn refuses_what_sysctl_would_refuse() {
        for bad in ["x", "0", "5-4", "1-", "-3", "65536", "1-2-3", "1;2"] {
            let err = PortList::parse(bad).unwrap_err();
            assert!(
                err.to_string().contains("bad port list item"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn the_live_files_parse() {
        let (a, b) = local_port_range().expect("ip_local_port_range");
        assert!(a <= b);
        assert!(reserved().is_some());
    }
}
