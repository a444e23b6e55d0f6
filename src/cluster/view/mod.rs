//! The cluster view: every daemon's entries as the registry holds them now.
//! A daemon follows it ([`View`], kept current by `follow`); a command
//! reads it once ([`read`]). When the registry cannot be read, the view
//! keeps what it knew (or, on etcd, one member's local copy) and says since
//! when it is [`Unavailable`].

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::watch;

use crate::config::RegistrySettings;
use crate::registry::etcd::{Consistency, EtcdStore};
use crate::registry::{DaemonRecord, Entry, Registry};

mod follow;
pub(super) use follow::{follow_etcd, follow_file};

/// Every entry and daemon of the registry at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// Sorted by name, then host.
    pub entries: Vec<Entry>,
    pub daemons: Vec<DaemonRecord>,
    /// True on the file backend: every owner was checked to be a live process
    /// of this machine. On etcd the owner's lease vouches for it instead.
    pub local: bool,
    /// Set while the registry cannot be read (or written); the entries are
    /// then the last ones known.
    pub unavailable: Option<Unavailable>,
}

/// Since when, and why, the registry cannot be reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unavailable {
    pub since: SystemTime,
    pub reason: String,
}

impl Unavailable {
    pub fn now(reason: impl Into<String>) -> Unavailable {
        Unavailable {
            since: SystemTime::now(),
            reason: reason.into(),
        }
    }

    /// `since` in RFC 3339.
    pub fn since_rfc3339(&self) -> String {
        rfc3339(self.since)
    }

    /// Keep the earlier `since` of `old` when it is the same outage.
    pub fn continuing(self, old: Option<&Unavailable>) -> Unavailable {
        match old {
            Some(o) => Unavailable {
                since: o.since.min(self.since),
                reason: self.reason,
            },
            None => self,
        }
    }
}

impl std::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "registry unavailable since {}: {}",
            self.since_rfc3339(),
            self.reason
        )
    }
}

/// RFC 3339 UTC of a system time.
pub fn rfc3339(t: SystemTime) -> String {
    time::OffsetDateTime::from(t)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

impl Snapshot {
    /// Entries by name, then host (the order every reader shows); daemons by host, then pid.
    pub fn sorted(mut self) -> Snapshot {
        self.entries.sort_by(|a, b| {
            (a.name.as_str(), a.host.as_str()).cmp(&(b.name.as_str(), b.host.as_str()))
        });
        self.daemons
            .sort_by(|a, b| (a.host.as_str(), a.pid).cmp(&(b.host.as_str(), b.pid)));
        self
    }

    /// Every host's entry called `name`, by binary search: a chat looks up
    /// one name, and must not walk 1000 entries to do it.
    pub fn named(&self, name: &str) -> &[Entry] {
        let lo = self.entries.partition_point(|e| e.name.as_str() < name);
        let len = self.entries[lo..].partition_point(|e| e.name.as_str() == name);
        &self.entries[lo..lo + len]
    }
}

/// The view a daemon follows; cheap to clone.
#[derive(Clone)]
pub struct View {
    rx: watch::Receiver<Arc<Snapshot>>,
}

impl View {
    pub(crate) fn new(rx: watch::Receiver<Arc<Snapshot>>) -> View {
        View { rx }
    }

    /// The latest snapshot.
    pub fn now(&self) -> Arc<Snapshot> {
        self.rx.borrow().clone()
    }

    /// Wait for the next change (`false` once no one updates the view any more).
    pub async fn changed(&mut self) -> bool {
        self.rx.changed().await.is_ok()
    }
}

/// How long a one-shot read waits for etcd before reading a member's copy.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// Read the registry once (the CLI). The file backend needs `file`; on etcd
/// a read that finds no quorum falls back to one member's local copy and
/// says the registry is unavailable.
pub async fn read(
    settings: &RegistrySettings,
    file: &Registry,
) -> Result<Snapshot, super::BackendError> {
    match settings {
        RegistrySettings::File(_) => {
            let reg = file.clone();
            let data = tokio::task::spawn_blocking(move || reg.read())
                .await
                .map_err(|e| super::BackendError::Task(e.to_string()))??;
            Ok(Snapshot {
                entries: data.specialists.into_values().collect(),
                daemons: data.daemons.into_values().collect(),
                local: true,
                unavailable: None,
            }
            .sorted())
        }
        RegistrySettings::Etcd(s) => {
            let store = EtcdStore::new(s)?;
            Ok(read_etcd(&store).await?.sorted())
        }
    }
}

async fn read_etcd(store: &EtcdStore) -> Result<Snapshot, crate::registry::etcd::EtcdError> {
    let fresh = tokio::time::timeout(READ_TIMEOUT, async {
        let list = store.list(Consistency::Linearizable).await?;
        let daemons = store.daemons(Consistency::Linearizable).await?;
        Ok::<_, crate::registry::etcd::EtcdError>((list, daemons))
    })
    .await;
    let why = match fresh {
        Ok(Ok((list, daemons))) => {
            return Ok(Snapshot {
                entries: list.entries.into_iter().map(|r| r.entry).collect(),
                daemons: daemons.into_iter().map(|(_, d)| d).collect(),
                local: false,
                unavailable: None,
            });
        }
        Ok(Err(e)) if !e.is_unavailable() => return Err(e),
        Ok(Err(e)) => e.to_string(),
        Err(_) => format!("no answer within {READ_TIMEOUT:?}"),
    };
    // No quorum: a member's own copy is the best there is.
    let list = store.list(Consistency::Serializable).await?;
    let daemons = store
        .daemons(Consistency::Serializable)
        .await
        .unwrap_or_default();
    Ok(Snapshot {
        entries: list.entries.into_iter().map(|r| r.entry).collect(),
        daemons: daemons.into_iter().map(|(_, d)| d).collect(),
        local: false,
        unavailable: Some(Unavailable::now(why)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::State;

    fn entry(name: &str, host: &str) -> Entry {
        super::super::replicas::tests::entry(name, host, "", State::Ready)
    }

    /// `named` finds every host's entry of a name and nothing else, whatever
    /// order the entries came in (the view sorts them), including names that
    /// are prefixes of others and names not there.
    #[test]
    fn named_is_every_host_of_one_name() {
        let snap = Snapshot {
            entries: vec![
                entry("numa-two", "a"),
                entry("numa", "b"),
                entry("apollo", "a"),
                entry("numa", "a"),
                entry("zeus", "c"),
            ],
            ..Snapshot::default()
        }
        .sorted();
        let hosts = |name: &str| -> Vec<(String, String)> {
            snap.named(name)
                .iter()
                .map(|e| (e.name.to_string(), e.host.clone()))
                .collect()
        };
        let pair = |n: &str, h: &str| (n.to_owned(), h.to_owned());
        assert_eq!(hosts("numa"), [pair("numa", "a"), pair("numa", "b")]);
        assert_eq!(hosts("numa-two"), [pair("numa-two", "a")]);
        assert_eq!(hosts("apollo"), [pair("apollo", "a")]);
        assert_eq!(hosts("zeus"), [pair("zeus", "c")]);
        assert!(hosts("nu").is_empty());
        assert!(hosts("hermes").is_empty());
        assert!(hosts("zzz").is_empty());
        assert!(Snapshot::default().named("numa").is_empty());
    }
}
