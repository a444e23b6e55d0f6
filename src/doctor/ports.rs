//! Ports: pinned ports the kernel may hand to clients (inside the ephemeral
//! range, not reserved), and pinned ports another program holds now. A port
//! this project's own running daemon holds is fine.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

use super::{CheckKind, Finding, Level};
use crate::config::Loaded;
use crate::net::ephemeral::{self, PortList};
use crate::net::held::{self, Holder};

/// Pinned ports of enabled specialists, with who pins each and on which host.
fn pinned(loaded: &Loaded) -> BTreeMap<u16, (String, String)> {
    loaded
        .specs
        .iter()
        .filter(|s| s.enabled)
        .filter_map(|s| s.port.map(|p| (p, (s.name.to_string(), s.host.clone()))))
        .collect()
}

/// One finding for every pinned port in the ephemeral range that is not reserved.
pub fn ephemeral(loaded: &Loaded) -> Vec<Finding> {
    let ports = pinned(loaded);
    if ports.is_empty() {
        return vec![Finding::new(
            CheckKind::EphemeralPorts,
            "ports",
            Level::Ok,
            "no pinned ports: every port comes from [ports] range, and a held one is skipped",
        )];
    }
    let (Some((first, last)), Some(reserved)) =
        (ephemeral::local_port_range(), ephemeral::reserved())
    else {
        return vec![Finding::new(
            CheckKind::EphemeralPorts,
            "ports",
            Level::Warn,
            format!(
                "cannot read {} or {}: whether pinned ports are safe from clients is unknown",
                ephemeral::PORT_RANGE,
                ephemeral::RESERVED
            ),
        )];
    };
    let mut exposed = PortList::default();
    for &p in ports.keys() {
        if (first..=last).contains(&p) && !reserved.contains(p) {
            exposed.add(p, p);
        }
    }
    if exposed.is_empty() {
        return vec![Finding::new(
            CheckKind::EphemeralPorts,
            "ports",
            Level::Ok,
            format!(
                "no pinned port is one the kernel gives to clients (ephemeral range {first}-{last})"
            ),
        )];
    }
    let mut fixed = reserved.clone();
    for (a, b) in exposed.ranges() {
        fixed.add(a, b);
    }
    vec![Finding::new(
        CheckKind::EphemeralPorts,
        exposed.to_string(),
        Level::Fail,
        format!(
            "pinned ports {exposed} lie in the kernel's ephemeral range {first}-{last} and are not \
             reserved: a client on this host may be given one as its local port, and the \
             specialist then cannot bind it for up to a minute"
        ),
    )
    .fix(format!(
        "`{}` (as root; a file in /etc/sysctl.d keeps it across reboots)",
        fixed.sysctl_command()
    ))]
}

/// The running daemons as the registry knows them: port → (owner, pid, name).
pub struct Owners {
    ports: BTreeMap<u16, (std::path::PathBuf, u32, String)>,
    me: Option<std::path::PathBuf>,
}

impl Owners {
    /// Read the registry of `state_dir` (only when it is safe to open: its
    /// permissions are already right, since opening tightens them).
    pub fn read(state_dir: Option<&Path>, me: Option<&Path>) -> Option<Owners> {
        let dir = state_dir?;
        if !dir.is_dir() {
            return None;
        }
        let registry =
            crate::registry::Registry::open(crate::registry::StateDir(dir.to_path_buf())).ok()?;
        let data = registry.read().ok()?;
        let ports = data
            .specialists
            .values()
            .filter(|e| e.owner_process().is_alive())
            .map(|e| (e.port, (e.owner.clone(), e.pid, e.name.to_string())))
            .collect();
        Some(Owners {
            ports,
            me: me.map(Path::to_path_buf),
        })
    }
}

/// One finding per pinned port that does not bind, unless this project's own daemon holds it.
pub fn held(loaded: &Loaded, owners: Option<&Owners>) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut free = 0usize;
    for (port, (name, host)) in pinned(loaded) {
        let Ok(ip) = host.parse::<IpAddr>() else {
            continue;
        };
        if crate::registry::ports::bind(ip, port).is_ok() {
            free += 1;
            continue;
        }
        let subject = port.to_string();
        if let Some((owner, pid, who)) = owners.and_then(|o| o.ports.get(&port)) {
            let ours = owners.and_then(|o| o.me.as_ref()) == Some(owner);
            let f = if ours {
                Finding::new(
                    CheckKind::PortHeld,
                    subject,
                    Level::Ok,
                    format!(
                        "port {port} is served by this project's cadre up (pid {pid}) for {who}"
                    ),
                )
            } else {
                Finding::new(CheckKind::PortHeld, subject, Level::Fail,
                    format!("port {port}, pinned by {name}, is held by another cadre daemon (pid {pid}) serving {} for {who}", owner.display()))
                    .fix("stop that daemon, or pin another port")
            };
            out.push(f);
            continue;
        }
        let why = held::diagnose(ip, port);
        let level = match why.holder {
            Holder::Listener { .. } | Holder::Connection { .. } => Level::Fail,
            _ => Level::Warn,
        };
        let mut f = Finding::new(
            CheckKind::PortHeld,
            subject,
            level,
            format!(
                "port {port} on {host}, pinned by {name}, does not bind: {}",
                why.holder
            ),
        );
        f.fix = Some(match why.holder {
            Holder::TimeWait { .. } => {
                "nothing: it frees itself, and `up` retries until it binds".to_owned()
            }
            _ => format!("stop what holds it, or pin another port in {name}.toml"),
        });
        if let (Some(cmd), Level::Warn) = (&why.advice, level) {
            f.fix = Some(format!("`{cmd}` (as root) keeps clients off it"));
        }
        out.push(f);
    }
    if out.is_empty() && free > 0 {
        out.push(Finding::new(
            CheckKind::PortHeld,
            "ports",
            Level::Ok,
            format!("all {free} pinned ports bind"),
        ));
    }
    out
}
