//! Loading a project directory: every file parsed and resolved AND one
//! diagnostic per problem. Loading never stops at the first bad file.
//!
//! The steps live in their own modules: [`super::files`] (which files count),
//! [`super::parse`] (bytes → types), [`super::candidate`] (one file →
//! resolved spec) and [`super::resolve`] (defaults and providers). Rendering
//! the prompts is [`crate::prompt`]'s, and [`crate::desired`] puts both
//! together into a [`Loaded`].

use std::path::{Path, PathBuf};

use super::parse::{self, Problem};
use super::{
    Candidate, Diagnostic, ProjectFile, Severity, Spec, SpecialistName, candidate, files, parallel,
};

/// Where a project lives on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectPaths {
    /// The directory holding `specialists.d/`, `teams.d/`, `templates/` and `cadre.toml`.
    pub root: PathBuf,
    pub specialists: PathBuf,
    /// `teams.d/`: optional; absent means no teams.
    pub teams: PathBuf,
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
        // `./teams.d/x.toml` reads better as `teams.d/x.toml` in diagnostics.
        let teams = if root == Path::new(".") {
            PathBuf::from("teams.d")
        } else {
            root.join("teams.d")
        };
        ProjectPaths {
            teams,
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
    /// False when `cadre.toml` itself failed, or `specialists.d` cannot be
    /// listed: callers keep everything on its last good state.
    pub project_ok: bool,
    /// Every valid, rendered specialist (enabled or not), sorted by name.
    pub specs: Vec<Spec>,
    /// Every valid team (its prompts rendered), sorted by name.
    pub teams: Vec<super::team::TeamSpec>,
    /// `teams.d` exists but cannot be listed: it says nothing about which
    /// teams exist, so every team keeps the version held.
    pub teams_unlisted: bool,
    /// Every problem found.
    pub diagnostics: Vec<Diagnostic>,
    /// Why `templates/` cannot be listed (missing, unreadable), when it cannot.
    pub templates_missing: Option<String>,
}

impl Loaded {
    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Warning)
    }

    /// Every diagnostic concerning `name`.
    pub fn diagnostics_for<'a>(
        &'a self,
        name: &'a SpecialistName,
    ) -> impl Iterator<Item = &'a Diagnostic> + 'a {
        self.diagnostics.iter().filter(move |d| d.concerns(name))
    }

    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
    }

    /// Names of teams whose file exists but failed (parse, validate or render).
    pub fn failed_teams(&self) -> Vec<super::TeamName> {
        let mut v: Vec<_> = self.errors().filter_map(|d| d.team.clone()).collect();
        v.sort();
        v.dedup();
        v
    }

    /// Names of specialists whose file exists but failed (parse, validate or render).
    pub fn failed_names(&self) -> Vec<SpecialistName> {
        let mut v: Vec<_> = self
            .errors()
            .flat_map(|d| d.specialist.iter().chain(d.related.iter()).cloned())
            .collect();
        v.sort();
        v.dedup();
        v
    }
}

/// Every file of a project read, parsed and resolved, prompts not yet
/// rendered: the input of [`crate::desired`], which renders them.
#[derive(Debug, Clone, Default)]
pub struct Parsed {
    pub project: ProjectFile,
    pub project_ok: bool,
    /// `cadre.toml`'s text, for locating `defaults.*` keys in diagnostics.
    pub project_src: String,
    /// Every file that parsed and resolved, sorted by name (enabled or not).
    pub candidates: Vec<Candidate>,
    /// Specialists whose file exists but failed (so far: parse, validate, ports).
    pub failed: Vec<SpecialistName>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Fewer files than this are read on one thread.
const PARALLEL_MIN: usize = 64;

/// Read, parse and resolve everything under `paths`; never stops at the
/// first bad file. A pure function of the files.
pub fn parse_all(paths: &ProjectPaths) -> Parsed {
    let mut diagnostics = Vec::new();
    let (project, project_ok, project_src) = load_project(&paths.project_file, &mut diagnostics);

    // A specialists directory that cannot be listed (removed, replaced by a
    // non-atomic rename, unreadable) is not an empty team: like a broken
    // cadre.toml, it keeps everything running as it is.
    let listed = files::specialist_files(&paths.specialists, &mut diagnostics);
    let project_ok = project_ok && listed.is_some();
    let paths_found = listed.unwrap_or_default();
    let read = parallel::map(paths_found, PARALLEL_MIN, |path| {
        let mut diags = Vec::new();
        let c = candidate::read(
            &path,
            &project,
            &project_src,
            &paths.project_file,
            &mut diags,
        );
        (c, diags)
    });
    let mut candidates = Vec::with_capacity(read.len());
    for (c, diags) in read {
        candidates.extend(c);
        diagnostics.extend(diags);
    }
    candidates.sort_by(|a, b| a.name.cmp(&b.name));
    let failed = candidate::duplicate_ports(&candidates, &mut diagnostics);
    Parsed {
        project,
        project_ok,
        project_src,
        candidates,
        failed,
        diagnostics,
    }
}

/// `cadre.toml` alone (defaults when absent or broken), for callers that need
/// only project settings and not the team (`up` binding its HTTP address).
pub fn load_project_file(paths: &ProjectPaths) -> ProjectFile {
    load_project(&paths.project_file, &mut Vec::new()).0
}

/// `[registry]` of `cadre.toml` (the default when the file or the table is
/// absent). Read on its own, so a mistake elsewhere in the file does not
/// hide which registry a command or a daemon must use; a broken
/// `[registry]`, or a file that is not TOML, is the diagnostic.
pub fn load_registry(paths: &ProjectPaths) -> Result<super::RegistrySettings, Box<Diagnostic>> {
    #[derive(serde::Deserialize)]
    struct OnlyRegistry {
        #[serde(default)]
        registry: super::RegistrySettings,
    }
    let file = &paths.project_file;
    // Read as every config file is: a FIFO or /dev/zero in its place must not hang or fill memory.
    let src = match super::read::read_file(file) {
        Ok(b) => b,
        Err(e) if e.is_not_found() => return Ok(Default::default()),
        Err(e) => {
            let p = Problem::at(None, None, format!("cannot read: {e}"));
            return Err(Box::new(Diagnostic::error(file, None, p)));
        }
    };
    let err = |p| Box::new(Diagnostic::error(file, None, p));
    let src = parse::utf8(&src).map_err(err)?;
    parse::toml::<OnlyRegistry>(src)
        .map(|r| r.registry)
        .map_err(err)
}

/// `cadre.toml`, or defaults when absent; a broken one yields defaults, diagnostics and `ok = false`.
fn load_project(file: &Path, diags: &mut Vec<Diagnostic>) -> (ProjectFile, bool, String) {
    let bytes = match super::read::read_file(file) {
        Ok(b) => b,
        Err(e) if e.is_not_found() => {
            return (ProjectFile::default(), true, String::new());
        }
        Err(e) => {
            let p = Problem {
                line: 0,
                column: 0,
                key: None,
                message: format!("cannot read: {e}"),
                source_line: None,
            };
            diags.push(Diagnostic::error(file, None, p));
            return (ProjectFile::default(), false, String::new());
        }
    };
    let src = match parse::utf8(&bytes) {
        Ok(s) => s.to_owned(),
        Err(p) => {
            diags.push(Diagnostic::error(file, None, p));
            return (ProjectFile::default(), false, String::new());
        }
    };
    match parse::toml::<ProjectFile>(&src) {
        Ok(project) => {
            let [first, last] = project.ports.range;
            if first > last || first == 0 {
                let msg = format!(
                    "`ports.range` [{first}, {last}] must be [first, last] with 0 < first <= last"
                );
                diags.push(Diagnostic::error(
                    file,
                    None,
                    Problem::at_key(&src, "ports.range", msg),
                ));
                return (ProjectFile::default(), false, src);
            }
            (project, true, src)
        }
        Err(p) => {
            diags.push(Diagnostic::error(file, None, p));
            (ProjectFile::default(), false, src)
        }
    }
}
