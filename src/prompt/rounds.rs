//! A team's round and moderator prompts (DESIGN §12): minijinja renders of
//! the team's template (strict, like every prompt), pure functions of the
//! files, the question and the answers so far. What a member reads in round
//! k > 1, what the moderator reads to write the synthesis, and what it reads
//! to route a question are three `task`s of one template (see
//! `templates/team.md.j2` for the context).
//!
//! At load time every prompt a team can produce is rendered once for a
//! sample question ([`finish_all`]): a template error is then a config error
//! of the team, found by `cadre check`, and the previews are what `cadre
//! diff` compares. At run time [`Renderer`] renders them for real from the
//! templates the team was loaded with.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use minijinja::Value;
use serde::Serialize;

use super::{Prompter, RenderError, TemplateSources};
use crate::config::parse::Problem;
use crate::config::team::read::Draft;
use crate::config::team::{MAX_ROUTED, Person, Preview, PromptKind, TeamMode, TeamSpec, Templates};
use crate::config::{Diagnostic, Spec, SpecialistName, generation};

/// One answer a prompt quotes, attributed by name.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Said {
    pub name: String,
    pub title: String,
    pub content: String,
}

/// A member silent in a round, and why (`timeout`, `provider_error`, `not ready`…).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Quiet {
    pub name: String,
    pub title: String,
    pub reason: String,
}

/// The team as its prompts see it.
#[derive(Serialize)]
struct TeamCtx<'a> {
    name: &'a str,
    title: &'a str,
    description: &'a str,
    mode: &'a str,
    rounds: u8,
    members: Vec<Person>,
    moderator: Option<Person>,
}

/// Renders one team's prompts; make one per team run.
pub struct Renderer<'a> {
    prompter: Prompter,
    team: &'a TeamSpec,
}

impl<'a> Renderer<'a> {
    pub fn new(team: &'a TeamSpec) -> Renderer<'a> {
        let prompter = Prompter::from_sources(Path::new("templates"), team.templates.0.clone());
        Renderer { prompter, team }
    }

    /// A member or moderator as the prompts name it (a name alone when unknown).
    pub fn person(&self, name: &SpecialistName) -> Person {
        self.team
            .people
            .get(name)
            .cloned()
            .unwrap_or_else(|| Person {
                name: name.to_string(),
                title: name.to_string(),
                role: String::new(),
                description: String::new(),
            })
    }

    fn team_ctx(&self) -> TeamCtx<'_> {
        let t = self.team;
        TeamCtx {
            name: t.name.as_str(),
            title: &t.title,
            description: &t.description,
            mode: t.mode.as_str(),
            rounds: t.rounds,
            members: t.members.iter().map(|m| self.person(m)).collect(),
            moderator: t.moderator.as_ref().map(|m| self.person(m)),
        }
    }

    fn render(&self, task: PromptKind, ctx: Ctx<'_>) -> Result<String, RenderError> {
        let value = minijinja::context! {
            team => Value::from(minijinja::value::Serde(self.team_ctx())),
            task => task.as_str(),
            question => ctx.question,
            round => ctx.round,
            me => Value::from(minijinja::value::Serde(ctx.me)),
            answers => Value::from(minijinja::value::Serde(ctx.answers)),
            silent => Value::from(minijinja::value::Serde(ctx.silent)),
            max_routed => MAX_ROUTED,
        };
        self.prompter.render_context(&self.team.template, value)
    }

    /// What `me` reads in `round` (> 1): the others' answers of the round before.
    pub fn round(
        &self,
        question: &str,
        round: u8,
        me: &SpecialistName,
        answers: &[Said],
        silent: &[Quiet],
    ) -> Result<String, RenderError> {
        let me = self.person(me);
        let ctx = Ctx {
            question,
            round,
            me: &me,
            answers,
            silent,
        };
        self.render(PromptKind::Round, ctx)
    }

    /// What the moderator reads to write the team's one answer.
    pub fn synthesis(
        &self,
        question: &str,
        answers: &[Said],
        silent: &[Quiet],
    ) -> Result<String, RenderError> {
        let me = self.moderator();
        let round = self.team.rounds;
        let ctx = Ctx {
            question,
            round,
            me: &me,
            answers,
            silent,
        };
        self.render(PromptKind::Synthesis, ctx)
    }

    /// What the moderator reads to pick who answers.
    pub fn route(&self, question: &str) -> Result<String, RenderError> {
        let me = self.moderator();
        let ctx = Ctx {
            question,
            round: 1,
            me: &me,
            answers: &[],
            silent: &[],
        };
        self.render(PromptKind::Route, ctx)
    }

    fn moderator(&self) -> Person {
        match &self.team.moderator {
            Some(m) => self.person(m),
            None => Person {
                name: String::new(),
                title: String::new(),
                role: String::new(),
                description: String::new(),
            },
        }
    }
}

struct Ctx<'c> {
    question: &'c str,
    round: u8,
    me: &'c Person,
    answers: &'c [Said],
    silent: &'c [Quiet],
}

/// The question the previews are rendered for.
pub const SAMPLE_QUESTION: &str = "<the question>";

/// Every prompt `team` can produce, for a sample question in which every
/// member answered.
pub fn previews(r: &Renderer<'_>) -> Result<Vec<Preview>, (PromptKind, RenderError)> {
    let t = r.team;
    let said = |m: &SpecialistName| Said {
        name: m.to_string(),
        title: r.person(m).title,
        content: format!("<{m}'s answer>"),
    };
    let all: Vec<Said> = t.members.iter().map(said).collect();
    let mut out = Vec::new();
    let mut push = |kind: PromptKind, text: Result<String, RenderError>| {
        text.map(|text| out.push(Preview { kind, text }))
            .map_err(|e| (kind, e))
    };
    if t.mode == TeamMode::Discussion
        && t.rounds > 1
        && let Some(me) = t.members.first()
    {
        push(
            PromptKind::Round,
            r.round(SAMPLE_QUESTION, 2, me, &all[1..], &[]),
        )?;
    }
    if t.mode == TeamMode::Route {
        push(PromptKind::Route, r.route(SAMPLE_QUESTION))?;
    }
    if t.synthesis {
        push(
            PromptKind::Synthesis,
            r.synthesis(SAMPLE_QUESTION, &all, &[]),
        )?;
    }
    Ok(out)
}

/// Finish every resolved team: names and titles of its people, the
/// templates it runs on, its previews and generation. A team whose prompts
/// do not render is dropped with a diagnostic (its last good version keeps
/// running).
pub fn finish_all(
    templates_dir: &Path,
    sources: Arc<TemplateSources>,
    specs: &[Spec],
    resolved: Vec<(Draft, TeamSpec)>,
    diags: &mut Vec<Diagnostic>,
) -> Vec<TeamSpec> {
    let prompter = Prompter::from_sources(templates_dir, sources.clone());
    let by_name: BTreeMap<&SpecialistName, &Spec> = specs.iter().map(|s| (&s.name, s)).collect();
    let mut out = Vec::with_capacity(resolved.len());
    for (draft, mut team) in resolved {
        team.people = people(&team, &by_name);
        team.templates = Templates(sources.clone());
        let result = previews(&Renderer::new(&team));
        match result {
            Ok(previews) => {
                team.previews = previews;
                team.generation = generation::of_value(&team);
                out.push(team);
            }
            Err((kind, e)) => diags.push(render_diagnostic(&prompter, &draft, kind, e)),
        }
    }
    out
}

fn people(
    team: &TeamSpec,
    specs: &BTreeMap<&SpecialistName, &Spec>,
) -> BTreeMap<SpecialistName, Person> {
    team.members
        .iter()
        .chain(team.moderator.iter())
        .filter_map(|n| specs.get(n))
        .map(|s| {
            let p = Person {
                name: s.name.to_string(),
                title: s.title.clone(),
                role: s.personality.role.clone(),
                description: s.description.clone(),
            };
            (s.name.clone(), p)
        })
        .collect()
}

fn render_diagnostic(
    prompter: &Prompter,
    d: &Draft,
    kind: PromptKind,
    e: RenderError,
) -> Diagnostic {
    let what = format!("the {} prompt of team `{}`", kind.as_str(), d.name);
    match e {
        RenderError::NotFound { template, .. } => {
            let msg = format!(
                "template `{template}` not found in {} (needed for {what})",
                prompter.path_of("").display()
            );
            Diagnostic::error(&d.file, None, Problem::at_key(&d.src, "template", msg))
                .for_team(&d.name)
        }
        e @ RenderError::Template { .. } => {
            let (file, p) = super::batch::located(prompter, e, &what);
            Diagnostic::error(&file, None, p).for_team(&d.name)
        }
    }
}
