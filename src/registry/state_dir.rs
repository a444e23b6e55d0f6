//! Where the registry lives, and making sure only its owner can read it.

use std::ffi::OsString;
use std::fs;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::RegistryError;

/// The resolved state directory (created 0700).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateDir(pub PathBuf);

impl StateDir {
    /// `--state-dir`, else `$CADRE_STATE_DIR`, else `$XDG_STATE_HOME/cadre`,
    /// else `~/.local/state/cadre`. The directory is created with mode 0700
    /// (and tightened to 0700 if it exists) because the registry names
    /// processes and paths of its user.
    pub fn resolve(flag: Option<&Path>) -> Result<StateDir, RegistryError> {
        let dir = StateDir(StateDir::locate(flag)?);
        dir.ensure()?;
        Ok(dir)
    }

    /// Where the state directory is, by the same rule, without creating or
    /// changing it (`cadre doctor` reports what it finds).
    pub fn locate(flag: Option<&Path>) -> Result<PathBuf, RegistryError> {
        resolve_path(
            flag,
            std::env::var_os("CADRE_STATE_DIR"),
            std::env::var_os("XDG_STATE_HOME"),
            std::env::var_os("HOME"),
        )
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Create the directory 0700 if missing, tighten it to 0700 otherwise.
    pub fn ensure(&self) -> Result<(), RegistryError> {
        let path = &self.0;
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(path)
            .map_err(|e| RegistryError::io(path, "create state directory", e))?;
        let meta = fs::metadata(path).map_err(|e| RegistryError::io(path, "stat", e))?;
        if meta.permissions().mode() & 0o777 != 0o700 {
            fs::set_permissions(path, fs::Permissions::from_mode(0o700))
                .map_err(|e| RegistryError::io(path, "chmod 0700", e))?;
        }
        Ok(())
    }
}

/// The precedence rule without touching the process environment, so it can
/// be tested without `set_var`. Empty env values count as unset (XDG spec).
pub(crate) fn resolve_path(
    flag: Option<&Path>,
    cadre_state_dir: Option<OsString>,
    xdg_state_home: Option<OsString>,
    home: Option<OsString>,
) -> Result<PathBuf, RegistryError> {
    let set = |v: Option<OsString>| v.filter(|s| !s.is_empty()).map(PathBuf::from);
    if let Some(p) = flag {
        return Ok(p.to_path_buf());
    }
    if let Some(p) = set(cadre_state_dir) {
        return Ok(p);
    }
    // XDG: a relative XDG_STATE_HOME is invalid and must be ignored.
    if let Some(p) = set(xdg_state_home).filter(|p| p.is_absolute()) {
        return Ok(p.join("cadre"));
    }
    if let Some(h) = set(home) {
        return Ok(h.join(".local/state/cadre"));
    }
    Err(RegistryError::NoStateDir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Option<OsString> {
        Some(OsString::from(v))
    }

    #[test]
    fn flag_wins_over_everything() {
        let p = resolve_path(Some(Path::new("/f")), s("/c"), s("/x"), s("/h")).unwrap();
        assert_eq!(p, PathBuf::from("/f"));
    }

    #[test]
    fn env_then_xdg_then_home() {
        assert_eq!(
            resolve_path(None, s("/c"), s("/x"), s("/h")).unwrap(),
            PathBuf::from("/c")
        );
        assert_eq!(
            resolve_path(None, s(""), s("/x"), s("/h")).unwrap(),
            PathBuf::from("/x/cadre")
        );
        assert_eq!(
            resolve_path(None, None, s("rel"), s("/h")).unwrap(),
            PathBuf::from("/h/.local/state/cadre")
        );
        assert_eq!(
            resolve_path(None, None, None, s("/h")).unwrap(),
            PathBuf::from("/h/.local/state/cadre")
        );
    }

    #[test]
    fn nothing_set_is_a_clear_error() {
        let e = resolve_path(None, None, None, None).unwrap_err();
        assert!(e.to_string().contains("--state-dir"), "{e}");
    }
}
