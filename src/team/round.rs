//! One round: every member asked at once, each bounded by the round's
//! deadline, their replies passed on as they come. The round ends when the
//! last member has answered, failed or run out of time; a member out of time
//! has its chat dropped (which cancels its provider request) and is silent
//! in the round with `timeout`.

use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tokio::sync::mpsc;

use super::event::{Part, RoundStats, Silence, TeamEvent};
use super::members::{MemberStream, Members, Unasked};
use crate::config::SpecialistName;
use crate::protocol::{ErrorCode, Reply, ReplyBody};

/// How one member's turn in a round ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Answered(String),
    Silent(ErrorCode),
}

/// A round's result: each member's outcome in ask order, and its stats.
pub struct Ended {
    pub outcomes: Vec<(SpecialistName, Outcome)>,
    pub stats: RoundStats,
}

/// Where a round's events go; `None` from a send means the client left.
pub struct Out<'a> {
    pub tx: &'a mpsc::Sender<TeamEvent>,
    pub round: u8,
    pub part: Part,
}

impl Out<'_> {
    async fn send(&self, reply: Reply) -> Option<()> {
        let ev = TeamEvent::Member {
            round: self.round,
            part: self.part,
            reply,
        };
        self.tx.send(ev).await.ok()
    }
}

/// Run one round of `asks` (member, its message or the error that kept it
/// from being written). `None`: the client left, and every chat was dropped.
pub async fn run(
    members: &dyn Members,
    out: Out<'_>,
    asks: Vec<(SpecialistName, Result<String, Unasked>)>,
    routed_by: Option<SpecialistName>,
    deadline: Duration,
) -> Option<Ended> {
    let started = Instant::now();
    let until = tokio::time::Instant::now() + deadline;
    let start = TeamEvent::RoundStart {
        round: out.round,
        part: out.part,
        members: asks.iter().map(|(m, _)| m.clone()).collect(),
        routed_by,
    };
    out.tx.send(start).await.ok()?;
    let mut outcomes: Vec<(SpecialistName, Option<Outcome>)> =
        asks.iter().map(|(m, _)| (m.clone(), None)).collect();
    let mut ready = Vec::new();
    for (i, (m, content)) in asks.into_iter().enumerate() {
        match content {
            Ok(c) => ready.push((i, m, c)),
            Err(e) => {
                outcomes[i].1 = Some(Outcome::Silent(e.code));
                out.send(e.reply(&m)).await?;
            }
        }
    }
    let (index, named): (Vec<usize>, Vec<(SpecialistName, String)>) =
        ready.into_iter().map(|(i, m, c)| (i, (m, c))).unzip();
    // The names alone kept: each message (in a discussion, every earlier
    // answer) goes to its member without a copy.
    let names: Vec<SpecialistName> = named.iter().map(|(m, _)| m.clone()).collect();
    let started_chats = tokio::time::timeout_at(until, members.ask_all(named)).await;
    let streams = match started_chats {
        Ok(s) => s,
        // Even starting the chats took the whole round: every one is silent.
        Err(_) => names.iter().map(|_| Err(timed_out(deadline))).collect(),
    };
    let mut runs = FuturesUnordered::new();
    for ((i, m), started) in index.into_iter().zip(names).zip(streams) {
        match started {
            Ok(stream) => runs.push(member(&out, i, m, stream, until, deadline)),
            Err(e) => {
                outcomes[i].1 = Some(Outcome::Silent(e.code));
                out.send(e.reply(&m)).await?;
            }
        }
    }
    loop {
        let next = tokio::select! {
            n = runs.next() => n,
            _ = out.tx.closed() => return None,
        };
        match next {
            Some(Some((i, o))) => outcomes[i].1 = Some(o),
            Some(None) => return None,
            None => break,
        }
    }
    let outcomes: Vec<(SpecialistName, Outcome)> = outcomes
        .into_iter()
        .map(|(m, o)| (m, o.unwrap_or(Outcome::Silent(ErrorCode::ProviderError))))
        .collect();
    let stats = RoundStats {
        round: out.round,
        part: out.part,
        asked: outcomes.len(),
        answered: outcomes
            .iter()
            .filter(|(_, o)| matches!(o, Outcome::Answered(_)))
            .count(),
        silent: outcomes
            .iter()
            .filter_map(|(m, o)| match o {
                Outcome::Silent(code) => Some(Silence {
                    specialist: m.clone(),
                    code: *code,
                }),
                Outcome::Answered(_) => None,
            })
            .collect(),
        elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    };
    Some(Ended { outcomes, stats })
}

fn timed_out(deadline: Duration) -> Unasked {
    Unasked::new(
        ErrorCode::Timeout,
        format!(
            "no answer within {}; silent in this round",
            humantime::format_duration(deadline)
        ),
    )
}

/// One member's turn: its replies passed on until its answer, its error or
/// the deadline. `None`: the client left.
async fn member(
    out: &Out<'_>,
    i: usize,
    m: SpecialistName,
    mut stream: MemberStream,
    until: tokio::time::Instant,
    deadline: Duration,
) -> Option<(usize, Outcome)> {
    let turn = async {
        while let Some(reply) = stream.next().await {
            let outcome = match &reply.body {
                ReplyBody::Response { content, .. } => Some(Outcome::Answered(content.clone())),
                ReplyBody::Error { code, .. } => Some(Outcome::Silent(*code)),
                _ => None,
            };
            out.send(reply).await?;
            if let Some(o) = outcome {
                return Some(o);
            }
        }
        let e = Reply::error(
            &m,
            None,
            ErrorCode::ProviderError,
            "the chat ended without an answer",
        );
        out.send(e).await?;
        Some(Outcome::Silent(ErrorCode::ProviderError))
    };
    match tokio::time::timeout_at(until, turn).await {
        Ok(o) => Some((i, o?)),
        Err(_) => {
            drop(stream);
            out.send(timed_out(deadline).reply(&m)).await?;
            Some((i, Outcome::Silent(ErrorCode::Timeout)))
        }
    }
}
