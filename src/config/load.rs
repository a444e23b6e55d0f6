//! Loading a project directory: every valid specialist AND one diagnostic per
//! problem. Loading never stops at the first bad file.
//!
//! STUB: the signatures are the contract; issue 2 implements the bodies.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{ProjectFile, Spec, SpecialistName};

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
}

/// Where a project lives on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectPaths {
    /// The directory holding `specialists.d/`, `templates/` and `cadre.toml`.
    pub root: PathBuf,
    pub specialists: PathBuf,
    pub templates: PathBuf,
    pub project_file: PathBuf,
}

impl ProjectPaths {
    /// `dir` is the specialists directory (`--dir`); the root is its parent.
    pub fn from_specialists_dir(dir: &Path) -> ProjectPaths {
        let specialists = dir.to_path_buf();
        let root = match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        ProjectPaths {
            templates: root.join("templates"),
            project_file: root.join("cadre.toml"),
            root,
            specialists,
        }
    }
}

/// The result of loading a project.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    /// `cadre.toml` as parsed (defaults when absent or broken; a broken one yields diagnostics).
    pub project: ProjectFile,
    /// False when `cadre.toml` itself failed: callers keep everything on its last good state.
    pub project_ok: bool,
    /// Every valid, rendered specialist (enabled or not), sorted by name.
    pub specs: Vec<Spec>,
    /// Every problem found.
    pub diagnostics: Vec<Diagnostic>,
}

impl Loaded {
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
    }

    /// Names of specialists whose file exists but failed (parse, validate or render).
    pub fn failed_names(&self) -> Vec<SpecialistName> {
        let mut v: Vec<_> = self.errors().filter_map(|d| d.specialist.clone()).collect();
        v.sort();
        v.dedup();
        v
    }
}

/// Load everything under `paths`. Pure function of the files.
pub fn load(paths: &ProjectPaths) -> Loaded {
    let _ = paths;
    todo!("issue 2")
}
