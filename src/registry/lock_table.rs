//! Who holds a `flock` on a file, from the kernel's lock table
//! (`/proc/locks`): for a lock wait that times out, so the message can name
//! the holder even when it is not a cadre process (which would have
//! recorded itself) and say how it holds the lock.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// One process holding a lock, as the kernel lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockHolding {
    pub pid: u32,
    /// `flock(LOCK_EX)`; otherwise a shared lock.
    pub exclusive: bool,
    /// The process's name (`/proc/PID/comm`), when readable.
    pub program: Option<String>,
}

impl std::fmt::Display for LockHolding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "pid {}", self.pid)?;
        if let Some(p) = &self.program {
            write!(f, " ({p})")?;
        }
        Ok(())
    }
}

/// The `flock` holders of `path` (waiters left out), oldest first.
pub(crate) fn holders(path: &Path) -> Vec<LockHolding> {
    let Ok(meta) = std::fs::metadata(path) else {
        return Vec::new();
    };
    let dev = meta.dev();
    let want = (rustix::fs::major(dev), rustix::fs::minor(dev), meta.ino());
    let table = std::fs::read_to_string("/proc/locks").unwrap_or_default();
    parse(&table, want)
        .into_iter()
        .map(|(pid, exclusive)| LockHolding {
            pid,
            exclusive,
            program: super::proc::program_name(pid),
        })
        .collect()
}

/// `(pid, exclusive)` of the FLOCK lines of `table` on the file
/// `(major, minor, inode)`. A line reads
/// `1: FLOCK  ADVISORY  WRITE 3813 fe:00:5890190 0 EOF`; a blocked waiter's
/// has `->` after the number, and is not a holder.
fn parse(table: &str, (major, minor, ino): (u32, u32, u64)) -> Vec<(u32, bool)> {
    table
        .lines()
        .filter_map(|line| {
            let mut f = line.split_whitespace().skip(1);
            if f.next()? != "FLOCK" {
                return None;
            }
            let _advisory = f.next()?;
            let exclusive = match f.next()? {
                "WRITE" => true,
                "READ" => false,
                _ => return None,
            };
            let pid = f.next()?.parse().ok()?;
            let mut id = f.next()?.split(':');
            let maj = u32::from_str_radix(id.next()?, 16).ok()?;
            let min = u32::from_str_radix(id.next()?, 16).ok()?;
            let inode: u64 = id.next()?.parse().ok()?;
            ((maj, min, inode) == (major, minor, ino)).then_some((pid, exclusive))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_holders_of_one_file_and_skips_waiters() {
        let table = "1: FLOCK  ADVISORY  WRITE 3813 fe:00:5890190 0 EOF\n\
                     1: -> FLOCK  ADVISORY  WRITE 3900 fe:00:5890190 0 EOF\n\
                     2: FLOCK  ADVISORY  READ 3799 fe:00:10133507 0 EOF\n\
                     3: POSIX  ADVISORY  WRITE 77 fe:00:5890190 0 EOF\n\
                     4: FLOCK  ADVISORY  READ 12 08:11:5890190 0 EOF\n\
                     5: FLOCK  ADVISORY  READ 13 fe:00:10133507 0 EOF\n";
        assert_eq!(parse(table, (0xfe, 0, 5890190)), [(3813, true)]);
        assert_eq!(
            parse(table, (0xfe, 0, 10133507)),
            [(3799, false), (13, false)]
        );
        assert_eq!(parse(table, (8, 0x11, 5890190)), [(12, false)]);
        assert!(parse("garbage\n\n1: FLOCK", (0, 0, 0)).is_empty());
    }
}
