//! `[registry]` of cadre.toml: where daemons record who runs where (DESIGN
//! §13). Read when `cadre up` starts and by every command that reads the
//! registry; a change takes effect at the daemon's next start.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::registry::etcd::EtcdSettings;

/// `[registry]`: `backend = "file"` (the default) or `backend = "etcd"` with its settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "backend", rename_all = "lowercase")]
pub enum RegistrySettings {
    /// The flock-locked `registry.json` in the state directory: every daemon
    /// of one machine that shares the state directory.
    File(FileSettings),
    /// An etcd cluster: daemons on many hosts; each holds one lease that
    /// carries all its entries.
    Etcd(Box<EtcdSettings>),
}

/// `backend = "file"` takes no other keys.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileSettings {}

impl Default for RegistrySettings {
    fn default() -> Self {
        RegistrySettings::File(FileSettings::default())
    }
}

impl RegistrySettings {
    /// `file` or `etcd`, as `backend =` spells it.
    pub fn backend(&self) -> &'static str {
        match self {
            RegistrySettings::File(_) => "file",
            RegistrySettings::Etcd(_) => "etcd",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Doc {
        #[serde(default)]
        registry: RegistrySettings,
    }

    #[test]
    fn file_is_the_default_and_etcd_takes_its_settings() {
        let d: Doc = toml::from_str("").unwrap();
        assert_eq!(d.registry.backend(), "file");
        let d: Doc = toml::from_str("[registry]\nbackend = \"file\"").unwrap();
        assert_eq!(d.registry, RegistrySettings::default());
        let d: Doc = toml::from_str(
            "[registry]\nbackend = \"etcd\"\nendpoints = [\"http://127.0.0.1:2379\"]\nlease_ttl = \"5s\"",
        )
        .unwrap();
        let RegistrySettings::Etcd(s) = d.registry else {
            panic!("not etcd")
        };
        assert_eq!(s.lease_ttl, std::time::Duration::from_secs(5));
        assert_eq!(s.prefix, "/cadre/");
    }

    #[test]
    fn unknown_keys_and_backends_are_errors() {
        for bad in [
            "[registry]\nbackend = \"file\"\nendpoints = []",
            "[registry]\nbackend = \"etcd\"\nendpoints = [\"http://a:1\"]\nttl = \"5s\"",
            "[registry]\nbackend = \"consul\"",
            "[registry]\nendpoints = [\"http://a:1\"]",
        ] {
            assert!(toml::from_str::<Doc>(bad).is_err(), "{bad}");
        }
    }
}
