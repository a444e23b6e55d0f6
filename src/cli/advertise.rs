//! `--advertise` / `[listen] advertise`: the address other hosts use for
//! this daemon's specialists (DESIGN §13), checked before `up` starts.

use super::CliError;
use crate::config::{ProjectPaths, RegistrySettings};

/// On a registry shared beyond this machine, entries must name an address
/// other hosts can reach: a wildcard bind needs an advertised address.
pub(super) fn check(
    paths: &ProjectPaths,
    settings: &RegistrySettings,
    flag: Option<&str>,
) -> Result<(), CliError> {
    let listen = crate::config::load_project_file(paths).listen;
    let address = flag.or(listen.advertise.as_deref()).unwrap_or(&listen.host);
    if !is_address(address) {
        return Err(CliError::Refused(format!(
            "advertised address {address:?} is not an IP address or host name (no port, no \
             scheme): other hosts connect to it with each specialist's port"
        )));
    }
    let wildcard = address
        .parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_unspecified());
    if matches!(settings, RegistrySettings::Etcd(_)) && wildcard {
        return Err(CliError::Refused(format!(
            "[listen] host = \"{address}\" is no address other hosts can use, and the etcd \
             registry is shared with them: set [listen] advertise in cadre.toml, or pass \
             --advertise ADDR (or CADRE_ADVERTISE), to the address they reach this host on"
        )));
    }
    Ok(())
}

/// An IP address or a DNS host name: what a client can put before `:PORT`.
fn is_address(a: &str) -> bool {
    if a.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    let label = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    a.len() <= 253 && a.split('.').all(label)
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_advertised_address_is_an_ip_or_a_host_name_alone() {
        for ok in ["10.0.0.7", "::1", "node-1.example", "localhost"] {
            assert!(super::is_address(ok), "{ok}");
        }
        for bad in ["", "10.0.0.7:80", "http://h", "a b", "-h", "h..x", "[::1]"] {
            assert!(!super::is_address(bad), "{bad}");
        }
    }
}
