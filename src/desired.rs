//! The desired state (DESIGN §6): every file parsed and resolved
//! ([`crate::config`]), then every prompt rendered against the team
//! ([`crate::prompt`]), then the teams of `teams.d` checked against the
//! specialists and their prompts rendered ([`crate::prompt::rounds`]).
//! What `check`, `render`, `plan`, `diff` and the daemon all load.

pub mod fingerprint;

use crate::config::team::{self, resolve};
use crate::config::{Loaded, ProjectPaths, parse_all};
use crate::prompt::{RenderCache, TemplateSources, render_all, rounds};

/// Load everything under `paths`. A pure function of the files.
pub fn load(paths: &ProjectPaths) -> Loaded {
    load_cached(paths, &mut RenderCache::default())
}

/// [`load`], reusing the renders of an earlier load of the same project
/// where their inputs are unchanged (the daemon reloads on every file
/// event). The result is the same as [`load`]'s; `cache` is updated to hold
/// this load's renders.
pub fn load_cached(paths: &ProjectPaths, cache: &mut RenderCache) -> Loaded {
    let mut parsed = parse_all(paths);
    render_all(
        paths,
        &parsed.project_src,
        &mut parsed.candidates,
        &mut parsed.failed,
        &mut parsed.diagnostics,
        cache,
    );
    let failed = parsed.failed;
    let specs: Vec<_> = parsed
        .candidates
        .into_iter()
        .filter(|c| !failed.contains(&c.name))
        .map(|c| c.spec)
        .collect();
    let mut diagnostics = parsed.diagnostics;
    let drafts = team::read_all(&paths.teams, &mut diagnostics);
    let teams_unlisted = drafts.is_none();
    let drafts = drafts.unwrap_or_default();
    let resolved = resolve::all(
        drafts,
        &resolve::Roster::new(&specs, &failed),
        &mut diagnostics,
    );
    let sources = cache
        .sources()
        .unwrap_or_else(|| std::sync::Arc::new(TemplateSources::read(&paths.templates)));
    let teams = rounds::finish_all(
        &paths.templates,
        sources,
        &specs,
        resolved,
        &mut diagnostics,
    );
    diagnostics.sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
    let templates_missing = match std::fs::read_dir(&paths.templates) {
        Ok(_) => None,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Some(format!("{} is missing", paths.templates.display()))
        }
        Err(e) => Some(format!("{} cannot be read: {e}", paths.templates.display())),
    };
    Loaded {
        project: parsed.project,
        project_ok: parsed.project_ok,
        specs,
        teams,
        teams_unlisted,
        diagnostics,
        templates_missing,
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod team_tests;
