//! A problem found in the files, located: file, line, column, key, and the
//! specialists (or the team) it keeps from loading. Rendered by [`super::report`].

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::parse::Problem;
use super::{SpecialistName, TeamName};

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One problem, located in a file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub file: PathBuf,
    /// 1-based; 0 when the problem has no position (e.g. a missing file).
    pub line: usize,
    /// 1-based; 0 when unknown.
    pub column: usize,
    /// The offending key (dotted path), when there is one.
    pub key: Option<String>,
    pub message: String,
    /// The source line the problem is on, for display.
    pub source_line: Option<String>,
    /// The specialist this problem belongs to (file stem), when it belongs to one.
    pub specialist: Option<SpecialistName>,
    /// Other specialists the same problem blocks (two files pinning one port).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<SpecialistName>,
    /// The team this problem belongs to (a `teams.d` file, or a template it renders).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<TeamName>,
}

impl Diagnostic {
    fn new(
        severity: Severity,
        file: &Path,
        specialist: Option<&SpecialistName>,
        p: Problem,
    ) -> Diagnostic {
        Diagnostic {
            severity,
            file: file.to_path_buf(),
            line: p.line,
            column: p.column,
            key: p.key,
            message: p.message,
            source_line: p.source_line,
            specialist: specialist.cloned(),
            related: Vec::new(),
            team: None,
        }
    }

    /// The same problem, attributed to team `name`.
    pub fn for_team(mut self, name: &TeamName) -> Diagnostic {
        self.team = Some(name.clone());
        self
    }

    /// An error in `file`, belonging to `specialist` when given.
    pub fn error(file: &Path, specialist: Option<&SpecialistName>, p: Problem) -> Diagnostic {
        Diagnostic::new(Severity::Error, file, specialist, p)
    }

    /// A warning in `file`, belonging to `specialist` when given.
    pub fn warning(file: &Path, specialist: Option<&SpecialistName>, p: Problem) -> Diagnostic {
        Diagnostic::new(Severity::Warning, file, specialist, p)
    }

    /// Whether this problem concerns `name` (as owner or as a related specialist).
    pub fn concerns(&self, name: &SpecialistName) -> bool {
        self.specialist.as_ref() == Some(name) || self.related.contains(name)
    }
}
