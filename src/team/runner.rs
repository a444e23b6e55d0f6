//! The daemon's teams as every edge reaches them (`cadre team --team`,
//! `POST /api/teams/NAME`, `/v1` model `team/NAME`, A2A, MCP): the version
//! the supervisor holds, run on the daemon's members.

use std::sync::Arc;

use futures::stream::BoxStream;

use super::event::TeamEvent;
use super::members::{InProcess, Members};
use crate::config::team::TeamSpec;
use crate::supervisor::{SupervisorError, SupervisorHandle, TeamView};

/// Why a team could not start.
#[derive(Debug, thiserror::Error)]
pub enum TeamError {
    #[error("no team named {0:?} (teams come from teams.d/NAME.toml)")]
    NotFound(String),
    #[error("the question is empty")]
    EmptyQuestion,
    #[error(transparent)]
    Supervisor(#[from] SupervisorError),
}

/// The daemon's teams and their members. Cheap to clone.
#[derive(Clone)]
pub struct Runner {
    sup: SupervisorHandle,
    members: Arc<dyn Members>,
}

impl Runner {
    /// The teams `sup` holds, their members asked on the daemon's own chat path.
    pub fn new(sup: SupervisorHandle) -> Runner {
        let members = Arc::new(InProcess { sup: sup.clone() });
        Runner { sup, members }
    }

    /// Every team held, by name.
    pub async fn list(&self) -> Result<Vec<TeamView>, TeamError> {
        Ok(self.sup.teams().await?)
    }

    /// One team.
    pub async fn get(&self, name: &str) -> Result<TeamView, TeamError> {
        self.list()
            .await?
            .into_iter()
            .find(|t| t.spec.name.as_str() == name)
            .ok_or_else(|| TeamError::NotFound(name.to_owned()))
    }

    /// Run team `name` on `question`: the version held now, to its end
    /// (or until the stream is dropped).
    pub async fn start(
        &self,
        name: &str,
        question: String,
    ) -> Result<(Arc<TeamSpec>, BoxStream<'static, TeamEvent>), TeamError> {
        if question.trim().is_empty() {
            return Err(TeamError::EmptyQuestion);
        }
        let spec = self.get(name).await?.spec;
        let events = super::engine::run(spec.clone(), question, self.members.clone());
        Ok((spec, events))
    }
}

/// A team as `cadre teams --json`, `GET /api/teams` and the pages show it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TeamInfo {
    pub name: String,
    pub title: String,
    pub description: String,
    pub mode: String,
    /// As resolved: every enabled specialist for `["*"]`.
    pub members: Vec<String>,
    /// Declared as `["*"]`.
    pub everyone: bool,
    pub moderator: Option<String>,
    pub rounds: u8,
    pub synthesis: bool,
    pub member_timeout: String,
    pub round_timeout: Option<String>,
    /// `ready`, or `config_error` while its file is broken (it runs its last good version).
    pub state: String,
    pub last_error: Option<String>,
    pub file: String,
    pub generation: String,
}

impl From<&TeamView> for TeamInfo {
    fn from(v: &TeamView) -> TeamInfo {
        let t = &v.spec;
        let human = |d: std::time::Duration| humantime::format_duration(d).to_string();
        TeamInfo {
            name: t.name.to_string(),
            title: t.title.clone(),
            description: t.description.clone(),
            mode: t.mode.as_str().to_owned(),
            members: t.members.iter().map(ToString::to_string).collect(),
            everyone: t.everyone,
            moderator: t.moderator.as_ref().map(ToString::to_string),
            rounds: t.rounds,
            synthesis: t.synthesis,
            member_timeout: human(t.member_timeout),
            round_timeout: t.round_timeout.map(human),
            state: v.state.as_str().to_owned(),
            last_error: v.last_error.clone(),
            file: t.file.display().to_string(),
            generation: t.generation.clone(),
        }
    }
}
