//! Teams that confer (DESIGN §12): a team's run, round by round.
//!
//! A round asks its members at once, each bounded by the team's deadline
//! (`member_timeout`, cut to `round_timeout`); it ends when the slowest has
//! answered, failed or run out of time, so a slow or failed member never
//! holds the others. Such a member is *silent* in the round: reported as an
//! `error` of its own, named in the next round's prompts and in the
//! summary, never dropped.
//!
//! - [`engine`]: the modes: broadcast, discussion, synthesis, route.
//! - [`round`]: one round of member answers, and one moderator call.
//! - [`route`]: the moderator's routing reply, parsed strictly.
//! - [`event`]: what a run produces, and its wire form.
//! - [`members`]: how a member is asked (one function: the daemon's chat path).
//! - [`runner`]: the daemon's teams, as every edge starts them.
//! - [`agent`]: a run as an agent's chat (A2A, MCP).

pub mod agent;
pub mod engine;
pub mod event;
pub mod members;
pub mod round;
pub mod route;
pub mod runner;

pub use engine::run;
pub use event::{Part, RoundStats, Summary, TeamEvent};
pub use members::{MemberStream, Members, Unasked};
pub use runner::{Runner, TeamError, TeamInfo};

#[cfg(test)]
mod tests;
