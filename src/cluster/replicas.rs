//! Replicas: the same name on several hosts is one specialist with several
//! endpoints. Readers group the cluster's entries by name; `diverged` says
//! the endpoints do not run the same generation (a rollout in progress, or
//! hosts with different files).

use crate::config::SpecialistName;
use crate::registry::{Entry, State};

/// One specialist across the cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct Replicated {
    pub name: SpecialistName,
    /// Where it is served, sorted by host (one entry per host).
    pub endpoints: Vec<Entry>,
}

impl Replicated {
    /// Endpoints a chat can go to: ready, reloading, or serving their last
    /// good spec through a config error.
    pub fn live(&self) -> impl Iterator<Item = &Entry> {
        self.endpoints.iter().filter(|e| answers_chats(e.state))
    }

    /// True when its live endpoints run different generations.
    pub fn diverged(&self) -> bool {
        differ(self.live().map(|e| e.generation.as_str()))
    }
}

/// Whether the live endpoints' generations are not all one: replicas of a
/// name serving different configurations.
pub fn differ<'a>(mut generations: impl Iterator<Item = &'a str>) -> bool {
    generations
        .next()
        .is_some_and(|first| generations.any(|g| g != first))
}

/// A state in which an endpoint takes chats.
pub fn answers_chats(state: State) -> bool {
    matches!(state, State::Ready | State::Reloading | State::ConfigError)
}

/// Group `entries` (any order) by name; names sorted.
pub fn group(entries: &[Entry]) -> Vec<Replicated> {
    let mut by_name: std::collections::BTreeMap<&SpecialistName, Vec<Entry>> =
        std::collections::BTreeMap::new();
    for e in entries {
        by_name.entry(&e.name).or_default().push(e.clone());
    }
    by_name
        .into_iter()
        .map(|(name, mut endpoints)| {
            endpoints.sort_by(|a, b| a.host.cmp(&b.host).then(a.port.cmp(&b.port)));
            Replicated {
                name: name.clone(),
                endpoints,
            }
        })
        .collect()
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// An entry of `name` on `host`, owned by a made-up process.
    pub(in crate::cluster) fn entry(
        name: &str,
        host: &str,
        generation: &str,
        state: State,
    ) -> Entry {
        Entry {
            name: name.parse().unwrap(),
            component: "c".into(),
            host: host.into(),
            port: 1,
            pid: 1,
            pid_start: 1,
            owner: "/d".into(),
            model: "m".into(),
            provider: "p".into(),
            title: String::new(),
            role: String::new(),
            description: String::new(),
            state,
            generation: generation.into(),
            last_error: None,
            revision: None,
            started_at: String::new(),
            updated_at: String::new(),
        }
    }

    #[test]
    fn one_name_on_two_hosts_is_one_specialist_diverged_when_generations_differ() {
        let entries = [
            entry("s", "10.0.0.3", "g1", State::Ready),
            entry("a", "10.0.0.2", "g1", State::Ready),
            entry("s", "10.0.0.2", "g1", State::Ready),
        ];
        let g = group(&entries);
        assert_eq!(g.len(), 2);
        assert_eq!(g[1].name.as_str(), "s");
        let hosts: Vec<&str> = g[1].endpoints.iter().map(|e| e.host.as_str()).collect();
        assert_eq!(hosts, ["10.0.0.2", "10.0.0.3"]);
        assert!(!g[1].diverged());

        let entries = [
            entry("s", "10.0.0.2", "g1", State::Ready),
            entry("s", "10.0.0.3", "g2", State::Ready),
        ];
        assert!(group(&entries)[0].diverged());
        // A stopped endpoint does not count.
        let entries = [
            entry("s", "10.0.0.2", "g1", State::Ready),
            entry("s", "10.0.0.3", "g2", State::Stopped),
        ];
        let g = group(&entries);
        assert!(!g[0].diverged());
        assert_eq!(g[0].live().count(), 1);
    }
}
