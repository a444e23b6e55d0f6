//! Loading a project directory: every valid specialist AND one diagnostic per
//! problem. Loading never stops at the first bad file.
//!
//! The steps live in their own modules: [`super::files`] (which files count),
//! [`super::parse`] (bytes → types), [`super::resolve`] (defaults and
//! providers) and [`super::prompts`] (rendering, generation).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::parse::{self, Problem};
use super::prompts::RenderCache;
use super::{
    ProjectFile, Spec, SpecialistFile, SpecialistName, SystemPrompt, files, parallel, prompts,
    resolve, source, suggest,
};

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
        }
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

/// A file that parsed and resolved, waiting for its prompt.
pub(super) struct Candidate {
    pub(super) name: SpecialistName,
    pub(super) file: PathBuf,
    pub(super) src: String,
    pub(super) template: String,
    /// True when the template came from `[defaults] template` (errors then point at cadre.toml).
    pub(super) template_from_defaults: bool,
    pub(super) spec: Spec,
}

/// Fewer files than this are read on one thread.
const PARALLEL_MIN: usize = 64;

/// Load everything under `paths`. Pure function of the files.
pub fn load(paths: &ProjectPaths) -> Loaded {
    load_cached(paths, &mut RenderCache::default())
}

/// [`load`], reusing the renders of an earlier load of the same project
/// where their inputs are unchanged (the daemon reloads on every file
/// event). The result is the same as [`load`]'s; `cache` is updated to hold
/// this load's renders.
pub fn load_cached(paths: &ProjectPaths, cache: &mut RenderCache) -> Loaded {
    let mut diagnostics = Vec::new();
    let (project, project_ok, project_src) = load_project(&paths.project_file, &mut diagnostics);

    let paths_found = files::specialist_files(&paths.specialists, &mut diagnostics);
    let read = parallel::map(paths_found, PARALLEL_MIN, |path| {
        let mut diags = Vec::new();
        let c = load_one(
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

    let mut failed = duplicate_ports(&candidates, &mut diagnostics);
    prompts::render_all(
        paths,
        &project_src,
        &mut candidates,
        &mut failed,
        &mut diagnostics,
        cache,
    );

    let specs = candidates
        .into_iter()
        .filter(|c| !failed.contains(&c.name))
        .map(|c| c.spec)
        .collect();
    diagnostics.sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
    Loaded {
        project,
        project_ok,
        specs,
        diagnostics,
    }
}

/// `cadre.toml` alone (defaults when absent or broken), for callers that need
/// only project settings and not the team (`up` binding its HTTP address).
pub fn load_project_file(paths: &ProjectPaths) -> ProjectFile {
    load_project(&paths.project_file, &mut Vec::new()).0
}

/// `cadre.toml`, or defaults when absent; a broken one yields defaults, diagnostics and `ok = false`.
fn load_project(file: &Path, diags: &mut Vec<Diagnostic>) -> (ProjectFile, bool, String) {
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
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

/// Parse and resolve one specialist file (everything but the prompt).
fn load_one(
    path: &Path,
    project: &ProjectFile,
    project_src: &str,
    project_file: &Path,
    diags: &mut Vec<Diagnostic>,
) -> Option<Candidate> {
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    let name = match SpecialistName::parse(stem) {
        Ok(n) => n,
        Err(e) => {
            let p = Problem::at(
                None,
                Some("name".into()),
                format!("{e} (the file name is the specialist's name)"),
            );
            diags.push(Diagnostic::error(path, None, p));
            return None;
        }
    };
    let fail = |diags: &mut Vec<Diagnostic>, p: Problem| {
        diags.push(Diagnostic::error(path, Some(&name), p))
    };
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            fail(
                diags,
                Problem {
                    line: 0,
                    column: 0,
                    key: None,
                    message: format!("cannot read: {e}"),
                    source_line: None,
                },
            );
            return None;
        }
    };
    let src = match parse::utf8(&bytes) {
        Ok(s) => s.to_owned(),
        Err(p) => {
            return {
                fail(diags, p);
                None
            };
        }
    };
    let file: SpecialistFile = match parse::toml(&src) {
        Ok(f) => f,
        Err(p) => {
            return {
                fail(diags, p);
                None
            };
        }
    };

    let mut ok = true;
    let provider_name = file
        .provider
        .clone()
        .unwrap_or_else(|| project.defaults.provider.clone());
    let provider = resolve::provider(&provider_name, project, file.timeouts.as_ref());
    if provider.is_none() {
        let names = resolve::provider_names(project);
        let mut msg = format!(
            "unknown provider `{provider_name}`: not a built-in ({}) nor a [providers.*] entry of cadre.toml",
            resolve::BUILTIN_PROVIDERS.join(", ")
        );
        if let Some(s) = suggest::nearest(&provider_name, names.iter().copied()) {
            msg.push_str(&format!("; did you mean `{s}`?"));
        }
        if file.provider.is_some() {
            fail(diags, Problem::at_key(&src, "provider", msg));
        } else {
            let p = Problem::at_key(
                project_src,
                "defaults.provider",
                format!("{msg} (used by `{name}`)"),
            );
            diags.push(Diagnostic::error(project_file, Some(&name), p));
        }
        ok = false;
    }
    let [first, last] = project.ports.range;
    if let Some(port) = file.port
        && !(first..=last).contains(&port)
    {
        let msg = format!(
            "`port` {port} is outside the port range {first}-{last} ([ports] range in cadre.toml)"
        );
        fail(diags, Problem::at_key(&src, "port", msg));
        ok = false;
    }
    let provider = provider.filter(|_| ok)?;

    let template_from_defaults = file.template.is_none();
    let template = file
        .template
        .clone()
        .unwrap_or_else(|| project.defaults.template.clone());
    let spec = Spec {
        name: name.clone(),
        file: path.to_path_buf(),
        component: file.component,
        title: file.title,
        description: file.description,
        model: file.model.unwrap_or_else(|| project.defaults.model.clone()),
        provider,
        host: project.listen.host.clone(),
        port: file.port,
        template: template.clone(),
        enabled: file.enabled,
        personality: file.personality,
        params: resolve::params(&project.defaults.params, &file.params),
        health: file.health,
        system_prompt: SystemPrompt::default(),
        generation: String::new(),
    };
    Some(Candidate {
        name,
        file: path.to_path_buf(),
        src,
        template,
        template_from_defaults,
        spec,
    })
}

/// Enabled specialists pinning the same port: one diagnostic per port naming every file; all of them fail.
fn duplicate_ports(candidates: &[Candidate], diags: &mut Vec<Diagnostic>) -> Vec<SpecialistName> {
    let mut by_port: BTreeMap<u16, Vec<&Candidate>> = BTreeMap::new();
    for c in candidates.iter().filter(|c| c.spec.enabled) {
        if let Some(port) = c.spec.port {
            by_port.entry(port).or_default().push(c);
        }
    }
    let mut failed = Vec::new();
    for (port, group) in by_port.into_iter().filter(|(_, g)| g.len() > 1) {
        let located: Vec<String> = group
            .iter()
            .map(|c| {
                let line = source::locate_key(&c.src, "port").map_or(0, |p| p.line);
                format!("{}:{line}", c.file.display())
            })
            .collect();
        let msg = format!(
            "port {port} is pinned by {} files: {}",
            group.len(),
            located.join(" and ")
        );
        let first = group[0];
        let mut d = Diagnostic::error(
            &first.file,
            Some(&first.name),
            Problem::at_key(&first.src, "port", msg),
        );
        d.related = group[1..].iter().map(|c| c.name.clone()).collect();
        failed.extend(group.iter().map(|c| c.name.clone()));
        diags.push(d);
    }
    failed
}
