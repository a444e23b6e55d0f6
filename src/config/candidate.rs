//! One specialist file → a [`Candidate`]: parsed, defaults merged, provider
//! resolved; everything but its prompt. And the check that spans files: two
//! enabled files pinning one port.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::parse::{self, Problem};
use super::{
    Diagnostic, ProjectFile, Spec, SpecialistFile, SpecialistName, SystemPrompt, resolve, source,
    suggest,
};

/// A file that parsed and resolved, waiting for its prompt.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub name: SpecialistName,
    pub file: PathBuf,
    /// The file's text, for locating keys in diagnostics.
    pub src: String,
    pub template: String,
    /// True when the template came from `[defaults] template` (errors then point at cadre.toml).
    pub template_from_defaults: bool,
    /// The spec, its `system_prompt` and `generation` still empty.
    pub spec: Spec,
}

/// Where one file's problems go: the file, the specialist it names, and
/// `cadre.toml` for problems that come from its defaults.
struct Ctx<'a> {
    path: &'a Path,
    name: &'a SpecialistName,
    project: &'a ProjectFile,
    project_src: &'a str,
    project_file: &'a Path,
}

impl Ctx<'_> {
    fn error(&self, p: Problem) -> Diagnostic {
        Diagnostic::error(self.path, Some(self.name), p)
    }
}

/// Parse and resolve one specialist file (everything but the prompt).
pub fn read(
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
    let cx = Ctx {
        path,
        name: &name,
        project,
        project_src,
        project_file,
    };
    let (src, file) = match parse_file(path) {
        Ok(parsed) => parsed,
        Err(p) => {
            diags.push(cx.error(p));
            return None;
        }
    };
    let provider = provider(&cx, &src, &file, diags);
    let port_ok = port_in_range(&cx, &src, file.port, diags);
    let health_ok = health_ok(&cx, &src, file.health.as_ref(), diags);
    let consult_ok = consult_valid(&cx, &src, file.consult.as_ref(), diags);
    let provider = provider.filter(|_| port_ok && health_ok && consult_ok)?;
    let spec = spec(&cx, file, provider);
    Some(Candidate {
        template: spec.template.clone(),
        template_from_defaults: spec.template_from_defaults,
        name,
        file: path.to_path_buf(),
        src,
        spec: spec.spec,
    })
}

/// The file's text and its typed contents.
fn parse_file(path: &Path) -> Result<(String, SpecialistFile), Problem> {
    let src = super::files::read_text(path)?;
    let file = parse::toml(&src)?;
    Ok((src, file))
}

/// The provider the file names (or `[defaults] provider`), resolved.
fn provider(
    cx: &Ctx<'_>,
    src: &str,
    file: &SpecialistFile,
    diags: &mut Vec<Diagnostic>,
) -> Option<super::ResolvedProvider> {
    let provider_name = file
        .provider
        .clone()
        .unwrap_or_else(|| cx.project.defaults.provider.clone());
    let found = resolve::provider(&provider_name, cx.project, file.timeouts.as_ref());
    if found.is_some() {
        return found;
    }
    let names = resolve::provider_names(cx.project);
    let mut msg = format!(
        "unknown provider `{provider_name}`: not a built-in ({}) nor a [providers.*] entry of cadre.toml",
        resolve::BUILTIN_PROVIDERS.join(", ")
    );
    if let Some(s) = suggest::nearest(&provider_name, names.iter().copied()) {
        msg.push_str(&format!("; did you mean `{s}`?"));
    }
    if file.provider.is_some() {
        diags.push(cx.error(Problem::at_key(src, "provider", msg)));
    } else {
        let p = Problem::at_key(
            cx.project_src,
            "defaults.provider",
            format!("{msg} (used by `{}`)", cx.name),
        );
        diags.push(Diagnostic::error(cx.project_file, Some(cx.name), p));
    }
    None
}

/// A pinned port must lie in `[ports] range`.
fn port_in_range(cx: &Ctx<'_>, src: &str, port: Option<u16>, diags: &mut Vec<Diagnostic>) -> bool {
    let [first, last] = cx.project.ports.range;
    match port {
        Some(port) if !(first..=last).contains(&port) => {
            let msg = format!(
                "`port` {port} is outside the port range {first}-{last} ([ports] range in cadre.toml)"
            );
            diags.push(cx.error(Problem::at_key(src, "port", msg)));
            false
        }
        _ => true,
    }
}

/// `[health]` must describe a check the monitor can run.
fn health_ok(
    cx: &Ctx<'_>,
    src: &str,
    health: Option<&super::Health>,
    diags: &mut Vec<Diagnostic>,
) -> bool {
    let problems = health.map(super::Health::problems).unwrap_or_default();
    for (key, msg) in &problems {
        diags.push(cx.error(Problem::at_key(src, key, msg.clone())));
    }
    problems.is_empty()
}

/// `[consult]`'s own values (names, bounds, URLs); the team is `check`'s.
fn consult_valid(
    cx: &Ctx<'_>,
    src: &str,
    consult: Option<&super::Consult>,
    diags: &mut Vec<Diagnostic>,
) -> bool {
    let Some(c) = consult else { return true };
    let problems = super::consult::validate(cx.name, c, src);
    let ok = problems.is_empty();
    diags.extend(problems.into_iter().map(|p| cx.error(p)));
    ok
}

struct Resolved {
    spec: Spec,
    template: String,
    template_from_defaults: bool,
}

/// The spec of a file that parsed and resolved, defaults merged.
fn spec(cx: &Ctx<'_>, file: SpecialistFile, provider: super::ResolvedProvider) -> Resolved {
    let project = cx.project;
    let template_from_defaults = file.template.is_none();
    let template = file
        .template
        .clone()
        .unwrap_or_else(|| project.defaults.template.clone());
    let spec = Spec {
        name: cx.name.clone(),
        file: cx.path.to_path_buf(),
        component: file.component,
        title: file.title,
        description: file.description,
        model: file.model.unwrap_or_else(|| project.defaults.model.clone()),
        provider,
        host: project.listen.host.clone(),
        advertise: project.listen.advertise.clone(),
        port: file.port,
        template: template.clone(),
        enabled: file.enabled,
        personality: file.personality,
        params: resolve::params(&project.defaults.params, &file.params),
        health: file.health,
        limits: file.limits.or(project.defaults.limits),
        consult: file.consult,
        system_prompt: SystemPrompt::default(),
        builtin_template: false,
        generation: String::new(),
    };
    Resolved {
        spec,
        template,
        template_from_defaults,
    }
}

/// Enabled specialists pinning the same port: one diagnostic per port naming every file; all of them fail.
pub fn duplicate_ports(
    candidates: &[Candidate],
    diags: &mut Vec<Diagnostic>,
) -> Vec<SpecialistName> {
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
