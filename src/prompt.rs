//! Templates → system prompt (DESIGN §3). A minijinja environment over
//! `templates/` in strict-undefined mode: a typo in a template is an error
//! caught by `cadre check`, never a silently empty line in a prompt. The
//! context holds only what the files say (no environment, no clock), so a
//! render is a pure function of the project.
//!
//! [`TemplateSources`] is the templates directory read once per load;
//! [`Team`] is the roster converted once per load and shared by every render;
//! [`batch`] renders every prompt of a load, reusing the last load's renders
//! through a [`RenderCache`].

pub mod batch;
pub mod rounds;
mod sources;

use sources::builtin;
pub use sources::{BUILTIN_TEAM, TEAM_TEMPLATE};
mod error;
mod team;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use minijinja::{Environment, ErrorKind, UndefinedBehavior, Value, context};
use serde::Serialize;

use crate::config::{Health, Params, Personality};

pub use batch::{RenderCache, render_all};
pub use error::RenderError;
use error::{convert, with_suggestion};
pub use sources::TemplateSources;
pub use team::Team;

/// The template used when a specialist and cadre.toml name none.
pub const DEFAULT_TEMPLATE: &str = "specialist.md.j2";

/// The shipped default template, used when a project has no `templates/specialist.md.j2`
/// so that a lone `specialists.d/` still works.
pub const BUILTIN_DEFAULT: &str = include_str!("../templates/specialist.md.j2");

/// `specialist` in a template: the specialist's whole config.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpecialistContext {
    pub name: String,
    pub component: String,
    pub title: String,
    pub description: String,
    pub model: String,
    pub provider: String,
    pub port: Option<u16>,
    pub personality: Personality,
    pub params: Params,
    pub health: Option<Health>,
    /// `[consult]`, so a template can tell the model whom it may ask.
    pub consult: Option<crate::config::Consult>,
}

/// One colleague in `team`: enough to know whom to refer a question to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TeamMember {
    pub name: String,
    pub component: String,
    pub title: String,
    pub role: String,
    pub description: String,
    pub port: Option<u16>,
}

/// Renders system prompts from one templates directory, as it was when the
/// prompter was made (see [`TemplateSources`]). Make one per load.
pub struct Prompter {
    env: Environment<'static>,
    dir: PathBuf,
    sources: Arc<TemplateSources>,
}

impl Prompter {
    /// Read `templates` now; later edits need a new prompter.
    pub fn new(templates: &Path) -> Prompter {
        Prompter::from_sources(templates, Arc::new(TemplateSources::read(templates)))
    }

    /// A prompter over `sources`, read from `templates` (named in diagnostics).
    pub fn from_sources(templates: &Path, sources: Arc<TemplateSources>) -> Prompter {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        // The default config always builds; keep minijinja's defaults if it ever does not.
        if let Ok(syntax) = minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()
        {
            env.set_syntax(syntax);
        }
        let files = sources.clone();
        env.set_loader(move |name| match files.get(name) {
            Some(Ok(src)) => Ok(Some(minijinja::TemplateSource::from(src.to_owned()))),
            Some(Err(why)) => Err(minijinja::Error::new(
                ErrorKind::InvalidOperation,
                format!("could not read template: {why}"),
            )),
            None => Ok(builtin(name).map(minijinja::TemplateSource::from)),
        });
        // `./templates/x` reads better as `templates/x` in diagnostics.
        let dir = templates
            .strip_prefix(".")
            .unwrap_or(templates)
            .to_path_buf();
        Prompter { env, dir, sources }
    }

    /// The templates this prompter renders from.
    pub fn sources(&self) -> &Arc<TemplateSources> {
        &self.sources
    }

    /// Where a template named `name` lives on disk.
    pub fn path_of(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Whether rendering `name` takes cadre's built-in default (the project
    /// has no such file).
    pub fn uses_builtin(&self, name: &str) -> bool {
        name == DEFAULT_TEMPLATE && self.sources.get(name).is_none()
    }

    /// The source of template `name` as the loader sees it (for showing an error's line).
    pub fn source_of(&self, name: &str) -> Option<String> {
        match self.sources.get(name) {
            Some(Ok(text)) => Some(text.to_owned()),
            Some(Err(_)) => None,
            None => builtin(name).map(str::to_owned),
        }
    }

    /// The system prompt of `specialist` using `template`, with `team` as its colleagues.
    pub fn render(
        &self,
        template: &str,
        specialist: &SpecialistContext,
        team: &[TeamMember],
    ) -> Result<String, RenderError> {
        let team = Team::new(team).everyone();
        self.render_with(template, specialist, team)
    }

    /// As [`Self::render`], with `team` already made by [`Team::without`]:
    /// the form for rendering a whole roster.
    pub fn render_with(
        &self,
        template: &str,
        specialist: &SpecialistContext,
        team: Value,
    ) -> Result<String, RenderError> {
        let me = Value::from(minijinja::value::Serde(specialist));
        self.render_context(template, context! { specialist => me, team => team })
            .map_err(|e| with_suggestion(e, specialist))
    }

    /// `template` rendered with `ctx` (strict, tidied): the one render every
    /// prompt goes through, a specialist's system prompt or a team's round
    /// and moderator prompts.
    pub fn render_context(&self, template: &str, ctx: Value) -> Result<String, RenderError> {
        let tmpl = self.env.get_template(template).map_err(|e| {
            if e.kind() == ErrorKind::TemplateNotFound && e.name().is_none_or(|n| n == template) {
                RenderError::NotFound {
                    template: template.to_owned(),
                    dir: self.dir.display().to_string(),
                }
            } else {
                convert(template, &e)
            }
        })?;
        let text = tmpl.render(ctx).map_err(|e| convert(template, &e))?;
        Ok(tidy(&text))
    }
}

/// Collapse runs of blank lines and trim the ends: templates stay readable
/// without making prompts ragged.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.trim().lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> SpecialistContext {
        SpecialistContext {
            name: "numa".into(),
            component: "numa".into(),
            title: "Numa".into(),
            description: String::new(),
            model: "m".into(),
            provider: "ollama".into(),
            port: Some(45016),
            personality: Personality {
                role: "guide".into(),
                ..Personality::default()
            },
            params: Params::default(),
            health: None,
            consult: None,
        }
    }

    fn member(name: &str) -> TeamMember {
        TeamMember {
            name: name.into(),
            component: name.into(),
            title: name.to_uppercase(),
            role: "r".into(),
            description: String::new(),
            port: None,
        }
    }

    #[test]
    fn builtin_default_renders_role_and_team() {
        let dir = tempfile::tempdir().unwrap();
        let p = Prompter::new(dir.path());
        let out = p
            .render(
                DEFAULT_TEMPLATE,
                &ctx(),
                &[member("apollo"), member("engram")],
            )
            .unwrap();
        assert!(out.starts_with("You are Numa, guide."), "{out}");
        assert!(
            out.contains("- apollo: APOLLO, r\n- engram: ENGRAM, r\n"),
            "{out}"
        );
        assert!(!out.contains("\n\n\n"));
    }

    #[test]
    fn strict_undefined_names_variable_line_and_suggestion() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("t.j2"),
            "line one\n{{ specialist.titel }}\n",
        )
        .unwrap();
        let e = Prompter::new(dir.path())
            .render("t.j2", &ctx(), &[])
            .unwrap_err();
        match e {
            RenderError::Template {
                template,
                line,
                variable,
                message,
                ..
            } => {
                assert_eq!((template.as_str(), line), ("t.j2", 2));
                assert_eq!(variable.as_deref(), Some("specialist.titel"));
                assert!(
                    message.contains("did you mean `specialist.title`?"),
                    "{message}"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn missing_template_and_included_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = Prompter::new(dir.path());
        assert!(matches!(
            p.render("nope.j2", &ctx(), &[]),
            Err(RenderError::NotFound { .. })
        ));
        std::fs::write(dir.path().join("outer.j2"), "{% include \"inner.j2\" %}").unwrap();
        std::fs::write(dir.path().join("inner.j2"), "ok\n{{ nothing }}").unwrap();
        // A prompter sees the templates as they were when it was made.
        assert!(matches!(
            p.render("outer.j2", &ctx(), &[]),
            Err(RenderError::NotFound { .. })
        ));
        let p = Prompter::new(dir.path());
        match p.render("outer.j2", &ctx(), &[]).unwrap_err() {
            RenderError::Template { template, line, .. } => {
                assert_eq!((template.as_str(), line), ("inner.j2", 2))
            }
            other => panic!("{other:?}"),
        }
    }
}
