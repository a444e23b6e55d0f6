//! An empty file registry while daemons run a team: the file was just moved
//! aside (corrupt) or emptied, and the daemons are re-registering. `status`
//! waits for their entries rather than report "no specialists" while every
//! one of them answers; still empty after [`REBUILD_WAIT`], it is an error,
//! never an empty team with exit 0.

use std::time::Duration;

use crate::cli::{CliError, Global};
use crate::cluster::Snapshot;

/// How long `status` waits for the daemons to re-register their teams.
const REBUILD_WAIT: Duration = Duration::from_secs(5);

/// The daemons of this state directory (their control sockets: the
/// registry's records of them may be gone with the file), and how many
/// specialists they run in all.
fn running(g: &Global) -> Result<(Vec<u32>, usize), CliError> {
    let state = g.state_dir()?;
    let mut pids = Vec::new();
    let mut team = 0;
    let Ok(dir) = std::fs::read_dir(state.path()) else {
        return Ok((pids, team));
    };
    for f in dir.flatten() {
        let name = f.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix("control-")
            .and_then(|r| r.strip_suffix(".sock"))
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        let req = crate::control::Request::Plan { dir: None };
        // No answer: no daemon there (a socket left by a crash).
        let Ok(resp) = crate::control::request(&f.path(), &req, REBUILD_WAIT) else {
            continue;
        };
        let kept = resp.steps.iter();
        team += kept
            .filter(|s| s.kind != crate::plan::ActionKind::Stop)
            .count();
        pids.push(pid);
    }
    Ok((pids, team))
}

/// `empty` when no daemon runs anything here, else the registry once the
/// daemons re-registered.
pub(super) fn wait(g: &Global, empty: Snapshot) -> Result<Snapshot, CliError> {
    let (pids, team) = running(g)?;
    if team == 0 {
        return Ok(empty);
    }
    let deadline = std::time::Instant::now() + REBUILD_WAIT;
    while std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        let snap = g.snapshot()?;
        if !snap.entries.is_empty() {
            return Ok(snap);
        }
    }
    let pids: Vec<String> = pids.iter().map(u32::to_string).collect();
    Err(CliError::Refused(format!(
        "the registry holds no entries, but the daemon(s) {} run {team} specialist(s) and have \
         not re-registered them within {}s; run `cadre status` again, or see their logs",
        pids.join(", "),
        REBUILD_WAIT.as_secs()
    )))
}
