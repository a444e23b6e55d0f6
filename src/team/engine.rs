//! A team's run, mode by mode:
//!
//! - `broadcast`: one round, every member asked the question.
//! - `discussion`: round 1 asks the question; in round k > 1 each member
//!   reads the others' answers of round k-1 by name (never its own) and who
//!   was silent, and answers again. With a moderator, a synthesis closes it.
//! - `synthesis`: one round, then the moderator's synthesis.
//! - `route`: the moderator picks 1 to 3 members (round 0), who answer
//!   (round 1); a reply that is not such a list ends the run with
//!   `routing_failed` carrying the moderator's text. With `synthesis = true`
//!   the moderator then sums up.
//!
//! The synthesis reads each member's latest answer by name, and who never
//! answered. Prompts are rendered by [`crate::prompt::rounds`].

use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;
use futures::stream::BoxStream;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::event::{Part, Summary, TeamEvent};
use super::members::{Members, Unasked};
use super::round::{self, Ended, Out, Outcome};
use super::route;
use crate::config::SpecialistName;
use crate::config::team::{TeamMode, TeamSpec};
use crate::prompt::rounds::{Quiet, Renderer, Said};
use crate::protocol::{ErrorCode, Reply};

/// Events buffered between a run and its reader: enough for a round's
/// chunks to flow while the reader writes the last ones out.
const BUFFER: usize = 256;

/// Run `team` on `question`. The run happens on its own task; dropping the
/// stream ends it, and with it every member's chat.
pub fn run(
    team: Arc<TeamSpec>,
    question: String,
    members: Arc<dyn Members>,
) -> BoxStream<'static, TeamEvent> {
    let (tx, rx) = mpsc::channel(BUFFER);
    tokio::spawn(async move {
        let _ = Run::new(&team, &question, members.as_ref(), &tx).go().await;
    });
    ReceiverStream::new(rx).boxed()
}

struct Run<'a> {
    team: &'a TeamSpec,
    question: &'a str,
    members: &'a dyn Members,
    tx: &'a mpsc::Sender<TeamEvent>,
    prompts: Renderer<'a>,
    started: Instant,
    summary: Summary,
    /// Each member's latest answer, in the order they first answered.
    latest: Vec<(SpecialistName, String)>,
}

impl<'a> Run<'a> {
    fn new(
        team: &'a TeamSpec,
        question: &'a str,
        members: &'a dyn Members,
        tx: &'a mpsc::Sender<TeamEvent>,
    ) -> Run<'a> {
        Run {
            team,
            question,
            members,
            tx,
            prompts: Renderer::new(team),
            started: Instant::now(),
            summary: Summary {
                mode: team.mode,
                rounds: Vec::new(),
                routed: None,
                synthesis: None,
                silent: Vec::new(),
                failed: None,
                elapsed_ms: 0,
            },
            latest: Vec::new(),
        }
    }

    /// The whole run; `None` when the client left.
    async fn go(mut self) -> Option<()> {
        let mut asked = self.team.members.clone();
        let mut routed_by = None;
        if self.team.mode == TeamMode::Route {
            match self.route().await? {
                Some(chosen) => {
                    asked = chosen;
                    routed_by = self.moderator();
                }
                None => return self.finish().await,
            }
        }
        let mut previous: Option<Ended> = None;
        for k in 1..=self.team.rounds {
            let asks = asked
                .iter()
                .map(|m| (m.clone(), self.message(k, m, previous.as_ref())))
                .collect();
            let ended = self.round(k, Part::Answer, asks, routed_by.clone()).await?;
            self.summary.rounds.push(ended.stats.clone());
            for (m, o) in &ended.outcomes {
                match o {
                    Outcome::Answered(text) => self.remember(m, text),
                    Outcome::Silent(_) if !self.summary.silent.contains(m) => {
                        self.summary.silent.push(m.clone())
                    }
                    Outcome::Silent(_) => {}
                }
            }
            previous = Some(ended);
        }
        if self.team.synthesis {
            self.synthesis().await?;
        }
        self.finish().await
    }

    /// What member `m` reads in round `k`: the question, then (k > 1) the
    /// others' answers of the round before, by name, and who was silent.
    fn message(
        &self,
        k: u8,
        m: &SpecialistName,
        previous: Option<&Ended>,
    ) -> Result<String, Unasked> {
        let Some(prev) = previous.filter(|_| k > 1) else {
            return Ok(self.question.to_owned());
        };
        let mut said = Vec::new();
        let mut silent = Vec::new();
        for (other, o) in prev.outcomes.iter().filter(|(o, _)| o != m) {
            match o {
                Outcome::Answered(text) => said.push(self.said(other, text)),
                Outcome::Silent(code) => silent.push(self.quiet(other, *code)),
            }
        }
        self.prompts
            .round(self.question, k, m, &said, &silent)
            .map_err(|e| unrendered("round", &e))
    }

    async fn round(
        &self,
        round: u8,
        part: Part,
        asks: Vec<(SpecialistName, Result<String, Unasked>)>,
        routed_by: Option<SpecialistName>,
    ) -> Option<Ended> {
        let out = Out {
            tx: self.tx,
            round,
            part,
        };
        round::run(self.members, out, asks, routed_by, self.team.deadline()).await
    }

    /// Round 0: the moderator picks who answers. `Some(None)`: routing failed
    /// (reported); `None`: the client left.
    async fn route(&mut self) -> Option<Option<Vec<SpecialistName>>> {
        let moderator = self.moderator()?;
        let ask = self
            .prompts
            .route(self.question)
            .map_err(|e| unrendered("route", &e));
        let ended = self
            .round(0, Part::Route, vec![(moderator.clone(), ask)], None)
            .await?;
        let outcome = ended.outcomes.first().map(|(_, o)| o.clone());
        self.summary.rounds.push(ended.stats);
        match outcome {
            Some(Outcome::Answered(text)) => match route::parse(&text, &self.team.members) {
                Ok(chosen) => {
                    self.summary.routed = Some(chosen.clone());
                    Some(Some(chosen))
                }
                Err(why) => {
                    let msg = format!("{why}; the moderator answered: {text}");
                    let e = Reply::error(&moderator, None, ErrorCode::RoutingFailed, msg);
                    self.send(0, Part::Route, e).await?;
                    self.summary.failed = Some(ErrorCode::RoutingFailed);
                    Some(None)
                }
            },
            Some(Outcome::Silent(code)) => {
                self.summary.failed = Some(code);
                Some(None)
            }
            None => Some(None),
        }
    }

    /// The moderator writes the team's answer from every member's latest one.
    async fn synthesis(&mut self) -> Option<()> {
        let moderator = self.moderator()?;
        let said: Vec<Said> = self.latest.iter().map(|(m, t)| self.said(m, t)).collect();
        let quiet: Vec<Quiet> = self
            .summary
            .silent
            .iter()
            .filter(|m| !self.latest.iter().any(|(a, _)| a == *m))
            .map(|m| self.quiet(m, ErrorCode::NotReady))
            .map(|mut q| {
                q.reason = "no answer in any round".into();
                q
            })
            .collect();
        let ask = self
            .prompts
            .synthesis(self.question, &said, &quiet)
            .map_err(|e| unrendered("synthesis", &e));
        let round = self.team.rounds + 1;
        let ended = self
            .round(round, Part::Synthesis, vec![(moderator, ask)], None)
            .await?;
        let ok = matches!(ended.outcomes.first(), Some((_, Outcome::Answered(_))));
        self.summary.synthesis = Some(ok);
        self.summary.rounds.push(ended.stats);
        Some(())
    }

    async fn finish(mut self) -> Option<()> {
        self.summary.elapsed_ms =
            u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.tx.send(TeamEvent::Summary(self.summary)).await.ok()
    }

    fn remember(&mut self, m: &SpecialistName, text: &str) {
        match self.latest.iter_mut().find(|(n, _)| n == m) {
            Some(slot) => slot.1 = text.to_owned(),
            None => self.latest.push((m.clone(), text.to_owned())),
        }
    }

    fn moderator(&self) -> Option<SpecialistName> {
        self.team.moderator.clone()
    }

    async fn send(&self, round: u8, part: Part, reply: Reply) -> Option<()> {
        self.tx
            .send(TeamEvent::Member { round, part, reply })
            .await
            .ok()
    }

    fn said(&self, m: &SpecialistName, text: &str) -> Said {
        Said {
            name: m.to_string(),
            title: self.prompts.person(m).title,
            content: text.to_owned(),
        }
    }

    fn quiet(&self, m: &SpecialistName, code: ErrorCode) -> Quiet {
        Quiet {
            name: m.to_string(),
            title: self.prompts.person(m).title,
            reason: reason(code).to_owned(),
        }
    }
}

/// Why a member was silent, in the words a prompt uses.
fn reason(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::Timeout => "timed out",
        ErrorCode::NotReady => "not ready",
        ErrorCode::ShuttingDown => "stopped",
        ErrorCode::ProviderUnavailable => "its model was unreachable",
        _ => "failed",
    }
}

fn unrendered(which: &str, e: &crate::prompt::RenderError) -> Unasked {
    Unasked::new(
        ErrorCode::BadRequest,
        format!("the {which} prompt does not render: {e}"),
    )
}
