//! Process identity: a pid alone is reused by the kernel, so an owner is
//! identified by pid plus its start time (Linux: /proc/PID/stat field 22).

use serde::{Deserialize, Serialize};

/// The identity of a live process: pid plus start time, so pid reuse is detected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ProcessId {
    pub pid: u32,
    pub start: u64,
}

impl ProcessId {
    /// This process. Start time 0 if /proc is unreadable (then liveness
    /// checks of this process fall back to "pid exists").
    /// Cached: it is read on every transaction, and a process's start time
    /// never changes (the pid check keeps a forked child correct).
    pub fn current() -> ProcessId {
        static CURRENT: std::sync::Mutex<Option<ProcessId>> = std::sync::Mutex::new(None);
        let pid = std::process::id();
        let mut cached = CURRENT.lock().unwrap_or_else(|p| p.into_inner());
        match *cached {
            Some(me) if me.pid == pid => me,
            _ => {
                let start = read_stat(pid).map(|s| s.start).unwrap_or(0);
                let me = ProcessId { pid, start };
                *cached = Some(me);
                me
            }
        }
    }

    /// The identity of a running process, `None` if it is gone or a zombie.
    pub fn of(pid: u32) -> Option<ProcessId> {
        let stat = read_stat(pid)?;
        if stat.dead {
            return None;
        }
        Some(ProcessId {
            pid,
            start: stat.start,
        })
    }

    /// True if `pid` runs and was started at `start`. A zombie counts as dead:
    /// it holds no sockets and will never update its entries again. A start
    /// time of 0 matches no process (every process's is read from /proc), so
    /// a forged entry `{"pid": 1, "pid_start": 0}` is not taken as live.
    pub fn is_alive(&self) -> bool {
        match ProcessId::of(self.pid) {
            Some(now) => self.start != 0 && now.start == self.start,
            None => false,
        }
    }
}

/// A process's name (`/proc/PID/comm`), when it can be read.
pub fn program_name(pid: u32) -> Option<String> {
    let name = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    Some(name.trim().to_owned())
}

struct Stat {
    start: u64,
    dead: bool,
}

fn read_stat(pid: u32) -> Option<Stat> {
    if pid == 0 {
        return None;
    }
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&text)
}

/// `comm` (field 2) is in parentheses and may itself contain spaces and
/// `)`, so fields are counted from the *last* `)`.
fn parse_stat(text: &str) -> Option<Stat> {
    let rest = &text[text.rfind(')')? + 1..];
    let mut fields = rest.split_ascii_whitespace();
    // After comm: field 3 is the state, field 22 the start time.
    let state = fields.next()?;
    let start = fields.nth(22 - 4)?.parse().ok()?;
    Some(Stat {
        start,
        dead: matches!(state, "Z" | "X" | "x"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_comm_with_spaces_and_parens() {
        let line = "1234 (evil ) (x) y) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 100";
        let s = parse_stat(line).unwrap();
        assert_eq!(s.start, 987654);
        assert!(!s.dead);
        let z = "9 (a) Z 1 9 9 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 42 0 0";
        let s = parse_stat(z).unwrap();
        assert_eq!(s.start, 42);
        assert!(s.dead);
    }

    #[test]
    fn truncated_stat_is_none() {
        assert!(parse_stat("1 (a) S 1 2").is_none());
        assert!(parse_stat("garbage").is_none());
    }

    #[test]
    fn current_is_alive_and_reuse_is_not() {
        let me = ProcessId::current();
        assert!(me.start > 0);
        assert!(me.is_alive());
        let reused = ProcessId {
            pid: me.pid,
            start: me.start + 1,
        };
        assert!(!reused.is_alive());
        let forged = ProcessId { pid: 1, start: 0 };
        assert!(!forged.is_alive(), "pid 1 with start time 0 is a forgery");
    }
}
