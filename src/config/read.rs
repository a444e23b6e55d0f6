//! Reading a config or template file without trusting what its path names.
//!
//! `specialists.d/` may hold a symlink to a FIFO (a plain `read` waits for a
//! writer for ever, and the reconcile with it) or to `/dev/zero` (a plain
//! `read` fills memory). Only regular files are read, opened non-blocking,
//! and at most [`MAX_FILE`] bytes of them; anything else is a clear error the
//! caller turns into a diagnostic naming the file.

use std::fs::{File, FileType, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// The largest config or template file read (a team's files are a few KiB).
pub const MAX_FILE: u64 = 1 << 20;

/// Why a file was not read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("is a {kind}, not a regular file; only regular files (or symlinks to them) are read")]
    NotRegular { kind: &'static str },
    #[error("is larger than {} KiB, the limit of a config file", MAX_FILE / 1024)]
    TooLarge,
}

impl ReadError {
    /// True when nothing is at the path (a file that is optional may be absent).
    pub fn is_not_found(&self) -> bool {
        matches!(self, ReadError::Io(e) if e.kind() == std::io::ErrorKind::NotFound)
    }
}

/// What a non-regular file is, in words.
pub(crate) fn kind(t: FileType) -> &'static str {
    if t.is_symlink() {
        "symbolic link"
    } else if t.is_dir() {
        "directory"
    } else if t.is_fifo() {
        "FIFO (named pipe)"
    } else if t.is_char_device() {
        "character device"
    } else if t.is_block_device() {
        "block device"
    } else if t.is_socket() {
        "socket"
    } else {
        "special file"
    }
}

/// The bytes of the regular file at `path` (symlinks followed), at most
/// [`MAX_FILE`] of them. Never blocks on a FIFO or device: the type is checked
/// before opening (so opening has no device side effects) and again on the
/// open descriptor (so a swap in between is caught too).
pub fn read_file(path: &Path) -> Result<Vec<u8>, ReadError> {
    let before = std::fs::metadata(path)?;
    if !before.is_file() {
        return Err(ReadError::NotRegular {
            kind: kind(before.file_type()),
        });
    }
    let nonblocking = rustix::fs::OFlags::NONBLOCK | rustix::fs::OFlags::NOCTTY;
    let file: File = OpenOptions::new()
        .read(true)
        .custom_flags(nonblocking.bits() as i32)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular {
            kind: kind(meta.file_type()),
        });
    }
    if meta.len() > MAX_FILE {
        return Err(ReadError::TooLarge);
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_FILE + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_FILE {
        return Err(ReadError::TooLarge);
    }
    Ok(bytes)
}

/// [`read_file`] as text; not UTF-8 is an I/O error of kind `InvalidData`.
pub fn read_text(path: &Path) -> Result<String, ReadError> {
    String::from_utf8(read_file(path)?).map_err(|e| {
        ReadError::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("not UTF-8: {e}"),
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_within_the_cap_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let ok = dir.path().join("ok.toml");
        std::fs::write(&ok, "a = 1\n").unwrap();
        assert_eq!(read_file(&ok).unwrap(), b"a = 1\n");
        let link = dir.path().join("link.toml");
        std::os::unix::fs::symlink(&ok, &link).unwrap();
        assert_eq!(read_text(&link).unwrap(), "a = 1\n");

        let fifo = dir.path().join("fifo");
        rustix::fs::mkfifoat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::Mode::RUSR | rustix::fs::Mode::WUSR,
        )
        .unwrap();
        let e = read_file(&fifo).unwrap_err().to_string();
        assert!(e.contains("FIFO"), "{e}");
        let e = read_file(Path::new("/dev/zero")).unwrap_err().to_string();
        assert!(e.contains("character device"), "{e}");
        let e = read_file(dir.path()).unwrap_err().to_string();
        assert!(e.contains("directory"), "{e}");

        let big = dir.path().join("big.toml");
        std::fs::write(&big, vec![b'#'; MAX_FILE as usize + 1]).unwrap();
        assert!(matches!(read_file(&big), Err(ReadError::TooLarge)));
        assert!(
            read_file(&dir.path().join("absent"))
                .unwrap_err()
                .is_not_found()
        );
    }
}
