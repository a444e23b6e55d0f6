//! Crash-safe replacement of a file: at any instant of a crash the path
//! holds either the old or the new content, never a mix.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use super::RegistryError;

/// Write `bytes` to a temp file next to `path` (same filesystem, so the
/// rename is atomic), fsync it, rename it over `path`, fsync the directory
/// so the rename itself survives a power loss. The temp name is fixed: the
/// caller holds the registry's exclusive lock, so no one else writes it,
/// and a temp file left by a killed writer is simply overwritten.
pub(crate) fn replace(path: &Path, bytes: &[u8]) -> Result<(), RegistryError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{}.tmp", name.as_deref().unwrap_or("registry")));
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| RegistryError::io(&tmp, "create temp file", e))?;
    f.write_all(bytes)
        .map_err(|e| RegistryError::io(&tmp, "write", e))?;
    f.sync_all()
        .map_err(|e| RegistryError::io(&tmp, "fsync", e))?;
    drop(f);
    fs::rename(&tmp, path).map_err(|e| RegistryError::io(path, "rename temp file over", e))?;
    sync_dir(dir)
}

/// Make a rename or create in `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), RegistryError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| RegistryError::io(dir, "fsync directory", e))
}
