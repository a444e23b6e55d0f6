//! The last loading step: every candidate's system prompt, rendered against
//! the enabled team, and its generation. Render failures become diagnostics
//! attributed to each affected specialist.

use std::path::Path;

use super::load::{Candidate, Diagnostic, ProjectPaths};
use super::parse::Problem;
use super::{SpecialistName, generation, source};
use crate::prompt::{Prompter, RenderError, SpecialistContext, TeamMember};

/// Render every candidate's prompt against the enabled team; failures join `failed`.
pub(super) fn render_all(
    paths: &ProjectPaths,
    project_src: &str,
    candidates: &mut [Candidate],
    failed: &mut Vec<SpecialistName>,
    diags: &mut Vec<Diagnostic>,
) {
    let prompter = Prompter::new(&paths.templates);
    let roster: Vec<TeamMember> = candidates
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
        .collect();
    for c in candidates.iter_mut() {
        let team: Vec<TeamMember> = roster
            .iter()
            .filter(|m| m.name != c.name.as_str())
            .cloned()
            .collect();
        let s = &c.spec;
        let ctx = SpecialistContext {
            name: c.name.to_string(),
            component: s.component.clone(),
            title: s.title.clone(),
            description: s.description.clone(),
            model: s.model.clone(),
            provider: s.provider.name.clone(),
            port: s.port,
            personality: s.personality.clone(),
            params: s.params.clone(),
            health: s.health.clone(),
        };
        match prompter.render(&c.template, &ctx, &team) {
            Ok(prompt) => {
                let s = &mut c.spec;
                s.generation = generation::generation(
                    &s.component,
                    &s.title,
                    &s.description,
                    &s.model,
                    &s.provider,
                    &s.params,
                    &prompt,
                );
                s.system_prompt = prompt;
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
        RenderError::Template {
            template,
            line,
            variable,
            span,
            message,
        } => {
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
                message: format!(
                    "template `{template}` line {line}, rendering `{}`: {message}",
                    c.name
                ),
                source_line,
            };
            Diagnostic::error(&prompter.path_of(&template), Some(&c.name), p)
        }
    }
}
