//! What a team's run produces, in order: for each round a `round_start`,
//! then its members' replies as they come (the socket protocol's own
//! `chunk`, `response` and `error` objects, and whatever else a member's
//! chat path emits, each tagged with `round` and `part`), the moderator's
//! synthesis as chunks and one `synthesis`, and a `summary` last.

use serde::Serialize;
use serde_json::{Value, json};

use crate::config::{SpecialistName, TeamName};
use crate::protocol::{ErrorCode, Reply, ReplyBody};

/// Which part of a run an event belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Part {
    /// The moderator picks who answers (round 0).
    Route,
    /// Members answer (rounds 1 and on).
    Answer,
    /// The moderator writes the team's answer (the round after the last).
    Synthesis,
}

impl Part {
    pub fn as_str(self) -> &'static str {
        match self {
            Part::Route => "route",
            Part::Answer => "answer",
            Part::Synthesis => "synthesis",
        }
    }
}

/// One event of a run.
#[derive(Debug, Clone, PartialEq)]
pub enum TeamEvent {
    /// A round begins: who is asked.
    RoundStart {
        round: u8,
        part: Part,
        members: Vec<SpecialistName>,
        /// Route: the moderator who picked them.
        routed_by: Option<SpecialistName>,
    },
    /// A reply of one member (or of the moderator) in a round.
    Member {
        round: u8,
        part: Part,
        reply: Reply,
    },
    Summary(Summary),
}

impl TeamEvent {
    /// The SSE event name: the object's `type`.
    pub fn kind(&self) -> &'static str {
        match self {
            TeamEvent::RoundStart { .. } => "round_start",
            TeamEvent::Member { part, reply, .. } => match &reply.body {
                ReplyBody::Chunk { .. } => "chunk",
                ReplyBody::Response { .. } if *part == Part::Synthesis => "synthesis",
                ReplyBody::Response { .. } => "response",
                ReplyBody::Error { .. } => "error",
                ReplyBody::Consult { .. } => "consult",
                ReplyBody::ConsultResult { .. } => "consult_result",
                _ => "message",
            },
            TeamEvent::Summary(_) => "summary",
        }
    }

    /// A streamed piece of some member's answer: nothing a run's outcome
    /// is read from (that is the responses, errors and the summary).
    pub fn is_chunk(&self) -> bool {
        matches!(self, TeamEvent::Member { reply, .. } if matches!(reply.body, ReplyBody::Chunk { .. }))
    }

    /// A piece of the moderator's synthesis as it streams.
    pub fn synthesis_chunk(&self) -> Option<&str> {
        match self {
            TeamEvent::Member {
                part: Part::Synthesis,
                reply,
                ..
            } => match &reply.body {
                ReplyBody::Chunk { content } => Some(content),
                _ => None,
            },
            _ => None,
        }
    }

    /// The wire object: `{"type", "team", "round", "part", "specialist", …}`.
    pub fn to_json(&self, team: &TeamName) -> Value {
        let mut v = match self {
            TeamEvent::RoundStart {
                round,
                part,
                members,
                routed_by,
            } => {
                let mut v = json!({"round": round, "part": part, "members": members});
                if let Some(m) = routed_by {
                    v["routed_by"] = json!(m);
                }
                v
            }
            TeamEvent::Member { round, part, reply } => {
                let mut v = serde_json::to_value(reply).unwrap_or_default();
                v["round"] = json!(round);
                v["part"] = json!(part);
                v
            }
            TeamEvent::Summary(s) => serde_json::to_value(s).unwrap_or_default(),
        };
        v["type"] = json!(self.kind());
        v["team"] = json!(team);
        v
    }
}

/// One silent member of a round, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Silence {
    pub specialist: SpecialistName,
    pub code: ErrorCode,
}

/// One round as the summary counts it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoundStats {
    pub round: u8,
    pub part: Part,
    /// Members asked.
    pub asked: usize,
    /// Members who answered.
    pub answered: usize,
    pub silent: Vec<Silence>,
    pub elapsed_ms: u64,
}

/// The last event of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub mode: crate::config::team::TeamMode,
    /// Every round, the routing and synthesis calls included.
    pub rounds: Vec<RoundStats>,
    /// Route: the members the moderator picked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub routed: Option<Vec<SpecialistName>>,
    /// The moderator's, when the team has a synthesis: whether it was written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub synthesis: Option<bool>,
    /// Every member silent in at least one round.
    pub silent: Vec<SpecialistName>,
    /// The team failed as a whole (`routing_failed`, or no member answered).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed: Option<ErrorCode>,
    pub elapsed_ms: u64,
}

/// The final answer of a run: the synthesis, else each member's latest
/// answer under its name (what `/v1` and A2A answer with).
pub fn final_text(events: &[TeamEvent]) -> Option<String> {
    let mut synthesis = None;
    let mut latest: Vec<(&SpecialistName, &str)> = Vec::new();
    for e in events {
        if let TeamEvent::Member { part, reply, .. } = e
            && let ReplyBody::Response { content, .. } = &reply.body
        {
            match part {
                Part::Synthesis => synthesis = Some(content.clone()),
                Part::Answer => match latest.iter_mut().find(|(n, _)| **n == reply.specialist) {
                    Some(slot) => slot.1 = content,
                    None => latest.push((&reply.specialist, content)),
                },
                Part::Route => {}
            }
        }
    }
    synthesis.or_else(|| {
        (!latest.is_empty()).then(|| {
            latest
                .iter()
                .map(|(n, c)| format!("**{n}**:\n\n{c}"))
                .collect::<Vec<_>>()
                .join("\n\n")
        })
    })
}

/// Why a run gave no answer: the code its summary names (else
/// `provider_error`) and its last error, by whom (the routing reply, a
/// member's failure).
pub fn failure(events: &[TeamEvent]) -> (ErrorCode, String) {
    let code = events
        .iter()
        .find_map(|e| match e {
            TeamEvent::Summary(s) => s.failed,
            _ => None,
        })
        .unwrap_or(ErrorCode::ProviderError);
    let message = events
        .iter()
        .rev()
        .find_map(|e| match e {
            TeamEvent::Member { reply, .. } => match &reply.body {
                ReplyBody::Error { error, .. } => Some(format!("{}: {error}", reply.specialist)),
                _ => None,
            },
            _ => None,
        })
        .unwrap_or_else(|| "the team gave no answer".into());
    (code, message)
}
