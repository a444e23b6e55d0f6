//! Config error marks: every file or specialist whose config is broken, with
//! its one-line message, and which marks appeared, changed or cleared since
//! the last plan (the `config_error` / `config_ok` events, each said once).

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use super::Actual;
use crate::config::{Loaded, SpecialistName, TeamName, report};

/// What a config error is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Subject {
    /// `cadre.toml`.
    Project,
    /// A file that names no specialist (a bad file name).
    File(PathBuf),
    Specialist(SpecialistName),
    Team(TeamName),
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Project => f.write_str("cadre.toml"),
            Subject::File(p) => write!(f, "{}", p.display()),
            Subject::Specialist(n) => f.write_str(n.as_str()),
            // Specialist names hold no `/`: the prefix keeps the two kinds apart.
            Subject::Team(n) => write!(f, "team/{n}"),
        }
    }
}

/// Every config error, by what it is about: `file:line: message`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Marks(BTreeMap<Subject, String>);

impl Marks {
    pub fn get(&self, subject: &Subject) -> Option<&str> {
        self.0.get(subject).map(String::as_str)
    }

    /// Mark `subject`, unless it is marked already (the first error of a file is its mark).
    pub fn insert(&mut self, subject: Subject, message: String) {
        self.0.entry(subject).or_insert(message);
    }

    /// Mark `subject` with `message`, replacing an earlier mark.
    pub fn set(&mut self, subject: Subject, message: String) {
        self.0.insert(subject, message);
    }

    pub fn extend(&mut self, other: Marks) {
        for (s, m) in other.0 {
            self.insert(s, m);
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Subject, &str)> {
        self.0.iter().map(|(s, m)| (s, m.as_str()))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The error `status` shows for `name`: the project's while `cadre.toml`
    /// is broken (nothing of the team is applied then), else its own.
    pub fn of_specialist(&self, name: &SpecialistName) -> Option<&str> {
        self.get(&Subject::Project)
            .or_else(|| self.get(&Subject::Specialist(name.clone())))
    }

    /// The error `cadre teams` shows for team `name` (the project's while `cadre.toml` is broken).
    pub fn of_team(&self, name: &TeamName) -> Option<&str> {
        self.get(&Subject::Project)
            .or_else(|| self.get(&Subject::Team(name.clone())))
    }
}

/// What a config error leaves running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// `cadre.toml` is broken: every specialist keeps running as it is.
    KeepsEverything,
    /// The specialist keeps serving its last good spec.
    KeepsServing,
    /// Nothing ran from the file, and nothing starts.
    NotStarted,
    /// A file that is no specialist is skipped.
    Skipped,
}

/// A mark that appeared, changed or cleared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    ConfigError {
        subject: Subject,
        message: String,
        effect: Effect,
    },
    /// Fixed: the specialist serves its file's spec again (or `cadre.toml` is valid again).
    ConfigOk { subject: Subject },
}

/// `cadre.toml`'s own error, or the first error when none is its own.
pub(super) fn project_error(loaded: &Loaded) -> String {
    loaded
        .errors()
        .find(|d| d.specialist.is_none())
        .or_else(|| loaded.errors().next())
        .map(report::line)
        .unwrap_or_else(|| "cadre.toml: invalid".to_owned())
}

/// The marks the files call for. A problem blocking several specialists
/// (two files pinning one port) marks each of them: both are reported,
/// neither changes.
pub(super) fn of_files(loaded: &Loaded) -> Marks {
    let mut marks = Marks::default();
    for d in loaded.errors() {
        if let Some(t) = &d.team {
            marks.insert(Subject::Team(t.clone()), report::line(d));
            continue;
        }
        match &d.specialist {
            Some(n) => {
                for name in std::iter::once(n).chain(&d.related) {
                    marks.insert(Subject::Specialist(name.clone()), report::line(d));
                }
            }
            None => marks.insert(Subject::File(d.file.clone()), report::line(d)),
        }
    }
    marks
}

/// What changed between `before` and `now`. A cleared mark is news only
/// where something runs on (the project, a known specialist); a fixed file
/// that never ran simply starts.
pub(super) fn notices(before: &Marks, now: &Marks, actual: &Actual) -> Vec<Notice> {
    let known = |s: &Subject| match s {
        Subject::Specialist(n) => actual.specialists.contains_key(n),
        Subject::Team(n) => actual.teams.contains_key(n),
        _ => false,
    };
    let mut out = Vec::new();
    for (subject, message) in now.iter() {
        if before.get(subject) == Some(message) {
            continue;
        }
        let effect = match subject {
            Subject::Project => Effect::KeepsEverything,
            Subject::File(_) => Effect::Skipped,
            s if known(s) => Effect::KeepsServing,
            _ => Effect::NotStarted,
        };
        out.push(Notice::ConfigError {
            subject: subject.clone(),
            message: message.to_owned(),
            effect,
        });
    }
    for (subject, _) in before.iter() {
        if now.get(subject).is_none() && (*subject == Subject::Project || known(subject)) {
            out.push(Notice::ConfigOk {
                subject: subject.clone(),
            });
        }
    }
    out
}
