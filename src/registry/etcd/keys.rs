//! Where things live under the prefix (default `/cadre/`):
//!
//! ```text
//! PREFIX specialists/HOST/NAME    the entry (registry::Entry as JSON)   on the owner's lease
//! PREFIX ports/HOST/PORT          the claim {"name","lease"}             on the owner's lease
//! PREFIX daemons/HOST/LEASE       the daemon (pid, dir, control socket)  on its lease
//! ```
//!
//! HOST is the address other hosts use for the specialist (the entry's
//! `host`): names and ports are unique per host, and the same name on two
//! hosts is two endpoints of one specialist. PORT is zero-padded to five
//! digits so a prefix scan lists ports in order. LEASE is hexadecimal, as
//! `etcdctl` prints it.

use serde::{Deserialize, Serialize};

use super::EtcdError;

/// The key layout of one prefix.
#[derive(Debug, Clone)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    /// `prefix` must start and end with `/` (checked by the settings).
    pub fn new(prefix: &str) -> Keys {
        Keys {
            prefix: prefix.to_string(),
        }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Every entry of the cluster: `PREFIX specialists/`.
    pub fn specialists(&self) -> String {
        format!("{}specialists/", self.prefix)
    }

    pub fn specialist(&self, host: &str, name: &str) -> String {
        format!("{}specialists/{host}/{name}", self.prefix)
    }

    /// Every port claim on `host`.
    pub fn ports_of(&self, host: &str) -> String {
        format!("{}ports/{host}/", self.prefix)
    }

    pub fn port(&self, host: &str, port: u16) -> String {
        format!("{}ports/{host}/{port:05}", self.prefix)
    }

    pub fn daemons(&self) -> String {
        format!("{}daemons/", self.prefix)
    }

    pub fn daemon(&self, host: &str, lease: i64) -> String {
        format!("{}daemons/{host}/{lease:x}", self.prefix)
    }

    /// `(host, name)` of a specialist key, or `None` for any other key.
    pub fn parse_specialist<'a>(&self, key: &'a str) -> Option<(&'a str, &'a str)> {
        let rest = key
            .strip_prefix(&self.prefix)?
            .strip_prefix("specialists/")?;
        let (host, name) = rest.split_once('/')?;
        (!host.is_empty() && !name.is_empty() && !name.contains('/')).then_some((host, name))
    }

    /// The port of a claim key.
    pub fn parse_port(&self, host: &str, key: &str) -> Option<u16> {
        key.strip_prefix(&self.ports_of(host))?.parse().ok()
    }
}

/// Refuse a host or name that would change the key's shape or be
/// unreadable: empty, `/`, whitespace or control characters, over 253 bytes.
pub fn check_part(what: &'static str, value: &str) -> Result<(), EtcdError> {
    let reason = if value.is_empty() {
        Some("it is empty")
    } else if value.len() > 253 {
        Some("it is over 253 bytes")
    } else if value.contains('/') {
        Some("it contains `/`")
    } else if value.chars().any(|c| c.is_control() || c.is_whitespace()) {
        Some("it contains whitespace or control characters")
    } else if value == "." || value == ".." {
        Some("it is a path component")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(EtcdError::InvalidKeyPart {
            what,
            value: value.chars().take(80).collect(),
            reason,
        }),
        None => Ok(()),
    }
}

/// The value of a port key: which specialist of which lease holds it.
/// Serialized the same way every time, so a transaction can compare a key
/// with "exactly my claim".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortClaim {
    pub name: String,
    pub lease: i64,
}

impl PortClaim {
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// The value of a daemon key: the daemon's record.
pub use crate::registry::DaemonRecord;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_sort() {
        let k = Keys::new("/cadre/");
        let key = k.specialist("127.0.0.2", "numa");
        assert_eq!(key, "/cadre/specialists/127.0.0.2/numa");
        assert_eq!(k.parse_specialist(&key), Some(("127.0.0.2", "numa")));
        assert_eq!(k.parse_specialist("/cadre/ports/h/00001"), None);
        assert_eq!(k.parse_specialist("/cadre/specialists/h/a/b"), None);
        assert!(k.port("h", 999) < k.port("h", 45000));
        assert_eq!(k.parse_port("h", &k.port("h", 7)), Some(7));
        assert_eq!(k.daemon("h", 255), "/cadre/daemons/h/ff");
    }

    #[test]
    fn hostile_parts_are_refused() {
        for bad in ["", "a/b", "a b", "a\nb", "..", &"x".repeat(300)] {
            assert!(check_part("host", bad).is_err(), "{bad:?}");
        }
        for good in ["127.0.0.1", "::1", "node-1.example.com", "numa"] {
            check_part("host", good).unwrap();
        }
    }

    #[test]
    fn claims_serialize_identically() {
        let c = PortClaim {
            name: "numa".into(),
            lease: 42,
        };
        assert_eq!(c.to_bytes(), br#"{"name":"numa","lease":42}"#.to_vec());
    }
}
