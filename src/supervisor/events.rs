//! Reconcile events: what the supervisor did and why. Logged one line each by
//! `cadre up` and broadcast to whoever listens (the HTTP event stream).

use serde::Serialize;

use crate::plan::{Effect, Notice, Subject};

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Start,
    Reload,
    Restart,
    Stop,
    /// Stopped by the operator (`cadre stop NAME`); stays stopped until `cadre start`.
    Stopped,
    ConfigError,
    /// Config fixed: the specialist serves its new spec again.
    ConfigOk,
    /// A start or a running specialist failed; retried with backoff.
    Failed,
}

impl EventKind {
    pub const ALL: [EventKind; 8] = [
        EventKind::Start,
        EventKind::Reload,
        EventKind::Restart,
        EventKind::Stop,
        EventKind::Stopped,
        EventKind::ConfigError,
        EventKind::ConfigOk,
        EventKind::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Start => "start",
            EventKind::Reload => "reload",
            EventKind::Restart => "restart",
            EventKind::Stop => "stop",
            EventKind::Stopped => "stopped",
            // The state it leaves a specialist in, spelt once.
            EventKind::ConfigError => crate::registry::State::ConfigError.as_str(),
            EventKind::ConfigOk => "config_ok",
            EventKind::Failed => "failed",
        }
    }
}

/// One reconcile event.
#[derive(Debug, Clone, Serialize)]
pub struct ReconcileEvent {
    /// RFC 3339.
    pub at: String,
    pub kind: EventKind,
    /// Specialist name, or `cadre.toml` for a project-wide problem.
    pub name: String,
    /// Human reason: "new file", "file deleted", "file:line: message", ….
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changed: Vec<String>,
}

impl ReconcileEvent {
    pub fn new(kind: EventKind, name: impl Into<String>, reason: impl Into<String>) -> Self {
        ReconcileEvent {
            at: crate::registry::now_rfc3339(),
            kind,
            name: name.into(),
            reason: reason.into(),
            host: None,
            port: None,
            changed: Vec::new(),
        }
    }

    pub fn at_addr(mut self, host: &str, port: u16) -> Self {
        self.host = Some(host.to_owned());
        self.port = Some(port);
        self
    }

    pub fn with_changed(mut self, changed: Vec<String>) -> Self {
        self.changed = changed;
        self
    }

    /// The event a plan's notice is reported as.
    pub fn of_notice(n: &Notice) -> Self {
        match n {
            Notice::ConfigError {
                subject,
                message,
                effect,
            } => {
                let reason = match effect {
                    Effect::KeepsEverything => {
                        format!("{message}; keeping every specialist as it runs")
                    }
                    Effect::KeepsServing if matches!(subject, Subject::Team(_)) => {
                        format!("{message}; the team keeps its last good version")
                    }
                    Effect::KeepsServing => format!("{message}; keeps serving its last good spec"),
                    Effect::NotStarted => format!("{message}; not started"),
                    Effect::Skipped => message.clone(),
                };
                ReconcileEvent::new(EventKind::ConfigError, subject.to_string(), reason)
            }
            Notice::ConfigOk { subject } => {
                let reason = match subject {
                    Subject::Project => "project file valid again",
                    _ => "file valid again",
                };
                ReconcileEvent::new(EventKind::ConfigOk, subject.to_string(), reason)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_spells_every_event_kind_as_as_str_does() {
        for k in EventKind::ALL {
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
    }
}
