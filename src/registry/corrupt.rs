//! Reading `registry.json` and telling a valid file from a corrupt one from
//! one written by a newer cadre. A corrupt file is never read as empty (the
//! next write would erase everyone): it is moved aside with its bytes intact.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{RegistryData, RegistryError, VERSION, atomic};

/// What is on disk.
pub(crate) enum Loaded {
    /// No file yet: a fresh registry.
    Missing,
    Valid(RegistryData),
    /// Unusable; `reason` says why (for the warning and the event).
    Corrupt {
        reason: String,
    },
}

/// Read and classify. A newer version is an error, not a corruption.
pub(crate) fn load(path: &Path) -> Result<Loaded, RegistryError> {
    // A directory, FIFO or symlink in its place is unusable too (and a FIFO
    // would block the read): moved aside like garbled bytes.
    match fs::symlink_metadata(path) {
        Ok(m) if !m.is_file() => {
            return Ok(corrupt(format!(
                "is a {}, not a regular file",
                crate::config::read::kind(m.file_type())
            )));
        }
        _ => {}
    }
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Loaded::Missing),
        Err(e) => return Err(RegistryError::io(path, "read", e)),
    };
    classify(path, &bytes)
}

pub(crate) fn classify(path: &Path, bytes: &[u8]) -> Result<Loaded, RegistryError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(corrupt("empty file"));
    }
    let value: Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => return Ok(corrupt(format!("not JSON: {e}"))),
    };
    let Value::Object(map) = &value else {
        return Ok(corrupt(format!(
            "expected a JSON object at the root, found {}",
            kind(&value)
        )));
    };
    // Check the version before the shape: a newer file may legitimately
    // have another shape, and must be refused rather than moved aside.
    match map.get("version").and_then(Value::as_u64) {
        Some(v) if v > u64::from(VERSION) => {
            return Err(RegistryError::NewerVersion {
                path: path.to_path_buf(),
                found: v,
                supported: VERSION,
            });
        }
        Some(v) if v == u64::from(VERSION) => {}
        Some(v) => return Ok(corrupt(format!("unknown version {v}"))),
        None => return Ok(corrupt("missing numeric `version`")),
    }
    match serde_json::from_value::<RegistryData>(value) {
        Ok(data) => Ok(Loaded::Valid(data)),
        Err(e) => Ok(corrupt(format!("wrong shape: {e}"))),
    }
}

fn corrupt(reason: impl Into<String>) -> Loaded {
    Loaded::Corrupt {
        reason: reason.into(),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Move `path` to `path.corrupt-<timestamp>` (never overwriting an earlier
/// one) and make the rename durable. Returns the new path.
pub(crate) fn move_aside(path: &Path) -> Result<PathBuf, RegistryError> {
    let stamp = time::OffsetDateTime::now_utc();
    let base = format!(
        "{}.corrupt-{:04}{:02}{:02}T{:02}{:02}{:02}.{:09}Z",
        path.display(),
        stamp.year(),
        u8::from(stamp.month()),
        stamp.day(),
        stamp.hour(),
        stamp.minute(),
        stamp.second(),
        stamp.nanosecond()
    );
    let mut target = PathBuf::from(&base);
    let mut n = 1;
    while target.exists() {
        target = PathBuf::from(format!("{base}-{n}"));
        n += 1;
    }
    fs::rename(path, &target).map_err(|e| RegistryError::io(path, "move corrupt file aside", e))?;
    if let Some(dir) = path.parent() {
        atomic::sync_dir(dir)?;
    }
    Ok(target)
}
