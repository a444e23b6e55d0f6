//! Crash-safe replacement of a file: at any instant of a crash the path
//! holds either the old or the new content, never a mix.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use rustix::fs::{CWD, RenameFlags, renameat_with};
use rustix::io::Errno;

use super::RegistryError;

/// Replace `path`'s content with `bytes`: write them to a new temp file next
/// to `path` (same filesystem, so the swap is atomic), swap the two names,
/// then unlink the temp name, which now names the previous file.
///
/// A commit never writes into an existing file: readers that take no lock
/// (the platform's tools read `registry.json` directly) may hold the
/// previous file open, and it stays exactly as it was, valid to its end,
/// until they close it. The temp file is created fresh (`O_EXCL`) each time;
/// one left by a writer killed before its swap, or a previous file left by
/// one killed before its unlink, is unlinked, never overwritten.
///
/// The swap is `renameat2(RENAME_EXCHANGE)`, not a rename over `path`,
/// because ext4 (the usual home of `~/.local/state`) treats both "truncate a
/// file to zero" and "rename over an existing file" as a replace-by-rename
/// and flushes the new data to disk before returning (`auto_da_alloc`):
/// ~1.2 ms per commit on this machine's disk, which capped the registry at
/// ~1100 transactions/s with or without fsync. Creating a new file, exchanging
/// names and unlinking the old one does none of that (BENCHMARKS.md). Where
/// exchange is unsupported (old kernels, some filesystems) it falls back to
/// a plain rename over `path`, which leaves the old file intact too.
///
/// Against a killed process either way is enough: the page cache is shared,
/// so every reader sees the old file or the whole new one. `durable` adds an
/// fsync of the file before the swap and of the directory after it, so the
/// new content also survives a power loss (see [`super::Durability`] for why
/// that is off by default). The temp name is fixed: the caller holds the
/// registry's exclusive lock, so no one else creates it.
pub(crate) fn replace(path: &Path, bytes: &[u8], durable: bool) -> Result<(), RegistryError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{}.tmp", name.as_deref().unwrap_or("registry")));
    let mut f = create_fresh(&tmp)?;
    f.write_all(bytes)
        .map_err(|e| RegistryError::io(&tmp, "write", e))?;
    if durable {
        f.sync_all()
            .map_err(|e| RegistryError::io(&tmp, "fsync", e))?;
    }
    drop(f);
    match renameat_with(CWD, &tmp, CWD, path, RenameFlags::EXCHANGE) {
        // The temp name now holds the previous file: unlinked, never rewritten.
        Ok(()) => remove(&tmp)?,
        // ENOENT: no `path` yet (first commit); the others: no exchange here.
        Err(Errno::NOENT | Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP) => {
            fs::rename(&tmp, path)
                .map_err(|e| RegistryError::io(path, "rename temp file over", e))?;
        }
        Err(e) => return Err(RegistryError::io(path, "swap temp file with", e.into())),
    }
    if durable { sync_dir(dir) } else { Ok(()) }
}

/// A new, empty file at `tmp` (0600); whatever was there is unlinked first.
fn create_fresh(tmp: &Path) -> Result<File, RegistryError> {
    let open = || {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(tmp)
    };
    match open() {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            remove(tmp)?;
            open()
        }
        other => other,
    }
    .map_err(|e| RegistryError::io(tmp, "create temp file", e))
}

fn remove(path: &Path) -> Result<(), RegistryError> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(RegistryError::io(path, "unlink the previous file", e))
        }
        _ => Ok(()),
    }
}

/// Make a rename or create in `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), RegistryError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| RegistryError::io(dir, "fsync directory", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_content_first_and_later_shorter_and_longer() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("registry.json");
        for content in [
            "{\"first\": 1}\n",
            "{}\n",
            "{\"a much longer third\": [1, 2, 3]}\n",
        ] {
            replace(&path, content.as_bytes(), false).expect("replace");
            assert_eq!(fs::read_to_string(&path).expect("read"), content);
        }
        replace(&path, b"durable\n", true).expect("durable replace");
        assert_eq!(fs::read_to_string(&path).expect("read"), "durable\n");
    }

    #[test]
    fn never_writes_into_a_file_a_reader_holds_and_leaves_no_temp_file() {
        use std::io::Read;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("registry.json");
        replace(&path, b"first\n", false).expect("replace");
        let mut held = File::open(&path).expect("open");
        // A temp file left by a killed writer is replaced, not reused.
        fs::write(dir.path().join(".registry.json.tmp"), "left over").expect("write");
        for content in ["second, longer\n", "3\n", "fourth\n"] {
            replace(&path, content.as_bytes(), false).expect("replace");
        }
        let mut text = String::new();
        held.read_to_string(&mut text).expect("read");
        assert_eq!(text, "first\n");
        assert_eq!(fs::read_to_string(&path).expect("read"), "fourth\n");
        let names: Vec<_> = fs::read_dir(dir.path())
            .expect("read_dir")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, ["registry.json"]);
    }
}
