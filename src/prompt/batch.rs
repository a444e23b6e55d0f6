//! Every candidate's system prompt of one load, rendered against the enabled
//! team, and its generation. Render failures become diagnostics
//! attributed to each affected specialist.
//!
//! Every reload renders the whole desired state (level-triggered, DESIGN §6),
//! and with the default template every prompt lists the whole team: at
//! N = 1000 that is 1000 renders of ~42 KB each per reload. A [`RenderCache`]
//! kept between loads makes a reload render only what changed: a prompt
//! depends on its template text, its own context and the team, so a render
//! is reused when all three are equal. An edit to a name, title, role,
//! description or pinned port changes the `team` every colleague sees, and
//! then everything renders again.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use super::{Prompter, RenderError, SpecialistContext, Team, TeamMember, TemplateSources};
use crate::config::parse::Problem;
use crate::config::{
    Candidate, Diagnostic, ProjectPaths, ResolvedProvider, Spec, SpecialistName, SystemPrompt,
    generation, source,
};

/// Fewer renders than this are not worth a thread.
pub(crate) const PARALLEL_MIN: usize = 64;

/// Renders of the previous load, reused by the next one when their inputs
/// are equal. Holds one entry per specialist rendered by the last load (the
/// prompt text is shared with the specs, not copied), so its size follows
/// the team's.
#[derive(Debug, Default)]
pub struct RenderCache {
    /// What every entry was rendered against: the templates and the team.
    basis: Option<(Arc<TemplateSources>, Vec<TeamMember>)>,
    entries: HashMap<SpecialistName, Cached>,
}

#[derive(Debug, Clone)]
struct Cached {
    template: String,
    context: SpecialistContext,
    /// The generation also hashes the provider's settings.
    provider: ResolvedProvider,
    prompt: SystemPrompt,
    generation: String,
}

impl RenderCache {
    /// How many renders the cache holds (for tests and diagnostics).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The templates the last load rendered from (teams render from the same snapshot).
    pub fn sources(&self) -> Option<Arc<TemplateSources>> {
        self.basis.as_ref().map(|(t, _)| t.clone())
    }
}

/// Render every candidate's prompt against the enabled team; failures join
/// `failed`. Renders whose inputs equal an entry of `cache` are reused; the
/// cache then holds exactly this load's renders.
pub fn render_all(
    paths: &ProjectPaths,
    project_src: &str,
    candidates: &mut [Candidate],
    failed: &mut Vec<SpecialistName>,
    diags: &mut Vec<Diagnostic>,
    cache: &mut RenderCache,
) {
    let prompter = Prompter::new(&paths.templates);
    let roster = roster(candidates);
    let same_basis = cache
        .basis
        .as_ref()
        .is_some_and(|(t, r)| **t == **prompter.sources() && *r == roster);
    if !same_basis {
        cache.entries.clear();
    }
    let team = Team::new(&roster);

    let mut misses = Vec::new();
    let mut fresh = HashMap::with_capacity(candidates.len());
    for (i, c) in candidates.iter_mut().enumerate() {
        let context = context_of(&c.spec);
        match cache.entries.remove(&c.name) {
            Some(hit)
                if hit.template == c.template
                    && hit.context == context
                    && hit.provider == c.spec.provider =>
            {
                c.spec.system_prompt = hit.prompt.clone();
                c.spec.builtin_template = prompter.uses_builtin(&c.template);
                c.spec.generation = hit.generation.clone();
                fresh.insert(c.name.clone(), hit);
            }
            _ => misses.push((i, context)),
        }
    }

    let rendered = render_misses(&prompter, &team, candidates, misses);
    for (i, context, result) in rendered {
        let c = &mut candidates[i];
        match result {
            Ok((prompt, generation)) => {
                c.spec.system_prompt = prompt.clone();
                c.spec.builtin_template = prompter.uses_builtin(&c.template);
                c.spec.generation = generation.clone();
                let entry = Cached {
                    template: c.template.clone(),
                    context,
                    provider: c.spec.provider.clone(),
                    prompt,
                    generation,
                };
                fresh.insert(c.name.clone(), entry);
            }
            Err(e) => {
                diags.push(render_diagnostic(
                    &prompter,
                    c,
                    &paths.project_file,
                    project_src,
                    e,
                ));
                failed.push(c.name.clone());
            }
        }
    }
    cache.entries = fresh;
    cache.basis = Some((prompter.sources().clone(), roster));
}

/// The enabled team, as every prompt lists it.
fn roster(candidates: &[Candidate]) -> Vec<TeamMember> {
    candidates
        .iter()
        .filter(|c| c.spec.enabled)
        .map(|c| TeamMember {
            name: c.name.to_string(),
            component: c.spec.component.clone(),
            title: c.spec.title.clone(),
            role: c.spec.personality.role.clone(),
            description: c.spec.description.clone(),
            port: c.spec.port,
        })
        .collect()
}

type Rendered = (
    usize,
    SpecialistContext,
    Result<(SystemPrompt, String), RenderError>,
);

/// Render the candidates at `misses` (index, context), on every core when
/// there are many (a cold start, a template or team edit).
fn render_misses(
    prompter: &Prompter,
    team: &Team,
    candidates: &[Candidate],
    misses: Vec<(usize, SpecialistContext)>,
) -> Vec<Rendered> {
    let one = |(i, context): (usize, SpecialistContext)| {
        let c = &candidates[i];
        let result = prompter
            .render_with(&c.template, &context, team.without(c.name.as_str()))
            .map(|text| {
                let generation = generation::generation(&c.spec, &text);
                (SystemPrompt::from(text), generation)
            });
        (i, context, result)
    };
    crate::config::parallel::map(misses, PARALLEL_MIN, one)
}

/// `specialist` in the template: its whole config.
pub(crate) fn context_of(s: &Spec) -> SpecialistContext {
    SpecialistContext {
        name: s.name.to_string(),
        component: s.component.clone(),
        title: s.title.clone(),
        description: s.description.clone(),
        model: s.model.clone(),
        provider: s.provider.name.clone(),
        port: s.port,
        personality: s.personality.clone(),
        params: s.params.clone(),
        health: s.health.clone(),
        consult: s.consult.clone(),
    }
}

fn render_diagnostic(
    prompter: &Prompter,
    c: &Candidate,
    project_file: &Path,
    project_src: &str,
    e: RenderError,
) -> Diagnostic {
    match e {
        RenderError::NotFound { template, .. } => {
            let msg = format!(
                "template `{template}` not found in {} (needed by `{}`)",
                prompter.path_of("").display(),
                c.name
            );
            if c.template_from_defaults {
                let p = Problem::at_key(project_src, "defaults.template", msg);
                Diagnostic::error(project_file, Some(&c.name), p)
            } else {
                Diagnostic::error(
                    &c.file,
                    Some(&c.name),
                    Problem::at_key(&c.src, "template", msg),
                )
            }
        }
        e @ RenderError::Template { .. } => {
            let (file, p) = located(prompter, e, &format!("`{}`", c.name));
            Diagnostic::error(&file, Some(&c.name), p)
        }
    }
}

/// A template error as a problem located in its template file: the file,
/// and the problem at the line (and the variable's column) it names;
/// `rendering` says what was being rendered.
pub(crate) fn located(
    prompter: &Prompter,
    e: RenderError,
    rendering: &str,
) -> (std::path::PathBuf, Problem) {
    let RenderError::Template {
        template,
        line,
        variable,
        span,
        message,
    } = e
    else {
        return (prompter.path_of(""), Problem::at(None, None, e.to_string()));
    };
    let text = prompter.source_of(&template);
    let source_line = text.as_deref().and_then(|s| source::line_text(s, line));
    // Prefer the variable's own position on the line, then the error's span.
    let by_variable = match (&variable, &source_line) {
        (Some(v), Some(l)) => l.find(v.as_str()).map(|i| l[..i].chars().count() + 1),
        _ => None,
    };
    let by_span = match (&span, &text) {
        (Some(r), Some(t)) => {
            let p = source::position(t, r.start);
            (p.line == line).then_some(p.column)
        }
        _ => None,
    };
    let column = by_variable.or(by_span).unwrap_or(1);
    let p = Problem {
        line,
        column,
        key: variable,
        message: format!("template `{template}` line {line}, rendering {rendering}: {message}"),
        source_line,
    };
    (prompter.path_of(&template), p)
}
