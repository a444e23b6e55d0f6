//! A team's run as an agent's chat ([`crate::agent`], for A2A and MCP): the
//! synthesis streams as the answer's chunks; rounds, answers and silences
//! are progress; the answer is the synthesis, or every member's final
//! answer by name when the team has none (sent as one chunk at the end).
//! A run without an answer is `Failed` with the summary's code.

use futures::StreamExt;
use futures::stream::BoxStream;

use super::event::{Part, TeamEvent, failure, final_text};
use crate::agent::{ChatEvent, ChatStream};
use crate::config::TeamName;
use crate::protocol::ReplyBody;

/// `events` of team `name` as a chat; dropping it ends the run.
pub fn chat(name: &TeamName, events: BoxStream<'static, TeamEvent>) -> ChatStream {
    let model = format!("team/{name}");
    let state = (events, Vec::new(), false, false);
    futures::stream::unfold(state, move |(mut events, mut seen, mut streamed, done)| {
        let model = model.clone();
        async move {
            if done {
                return None;
            }
            loop {
                let Some(ev) = events.next().await else {
                    let end = finish(&seen, streamed, model);
                    return Some((end, (events, seen, streamed, true)));
                };
                let out = progress(&ev);
                if let Some(content) = ev.synthesis_chunk() {
                    streamed = true;
                    let chunk = ChatEvent::Chunk(content.to_owned());
                    return Some((vec![chunk], (events, seen, streamed, false)));
                }
                if !ev.is_chunk() {
                    seen.push(ev);
                }
                if let Some(p) = out {
                    return Some((vec![p], (events, seen, streamed, false)));
                }
            }
        }
    })
    .flat_map(futures::stream::iter)
    .boxed()
}

/// The closing events: the answer (as a chunk first unless the synthesis
/// streamed), or the failure.
fn finish(seen: &[TeamEvent], streamed: bool, model: String) -> Vec<ChatEvent> {
    match final_text(seen) {
        Some(content) if streamed => vec![ChatEvent::Done { content, model }],
        Some(content) => vec![
            ChatEvent::Chunk(content.clone()),
            ChatEvent::Done { content, model },
        ],
        None => {
            let (code, message) = failure(seen);
            vec![ChatEvent::Failed { code, message }]
        }
    }
}

/// A line for a client watching the run.
fn progress(ev: &TeamEvent) -> Option<ChatEvent> {
    let line = match ev {
        TeamEvent::RoundStart {
            round,
            part,
            members,
            ..
        } => {
            let who: Vec<&str> = members.iter().map(|m| m.as_str()).collect();
            match part {
                Part::Route => format!("routing: {} picks who answers", who.join(", ")),
                Part::Synthesis => format!("synthesis: {} writes the answer", who.join(", ")),
                Part::Answer => format!("round {round}: {}", who.join(", ")),
            }
        }
        TeamEvent::Member {
            round, part, reply, ..
        } => match (&reply.body, part) {
            (ReplyBody::Response { .. }, Part::Answer) => {
                format!("{} answered in round {round}", reply.specialist)
            }
            (ReplyBody::Consult { to, .. }, _) => {
                format!("{} asks {to} (round {round})", reply.specialist)
            }
            (ReplyBody::Error { code, .. }, _) => {
                format!(
                    "{} was silent in round {round} ({})",
                    reply.specialist,
                    code.as_str()
                )
            }
            _ => return None,
        },
        TeamEvent::Summary(_) => return None,
    };
    Some(ChatEvent::Progress(line))
}
