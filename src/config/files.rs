//! Which files in `specialists.d/` are specialists: `*.toml`, minus dotfiles
//! and editor leftovers, so saving in an editor never starts a ghost.

use std::path::{Path, PathBuf};

use super::Diagnostic;
use super::parse::Problem;

/// Whether a file name is an editor leftover or otherwise not a specialist.
pub fn ignored(file_name: &str) -> bool {
    file_name.starts_with('.')
        || file_name.starts_with('#')
        || file_name.ends_with('~')
        || file_name.ends_with('#')
        || file_name.ends_with(".swp")
        || file_name.ends_with(".tmp")
        || !file_name.ends_with(".toml")
}

/// The specialist files in `dir`, sorted; an unreadable (or missing)
/// directory is one diagnostic and `None`: it says nothing about which
/// specialists exist, so callers must not read it as "no files".
pub fn specialist_files(dir: &Path, diags: &mut Vec<Diagnostic>) -> Option<Vec<PathBuf>> {
    config_files(dir, "specialists", diags)
}

/// The config files in `dir` (the `what` directory: `specialists`,
/// `teams`), as [`specialist_files`] lists them.
pub fn config_files(dir: &Path, what: &str, diags: &mut Vec<Diagnostic>) -> Option<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            let p = Problem {
                line: 0,
                column: 0,
                key: None,
                message: format!("cannot read the {what} directory: {e}"),
                source_line: None,
            };
            diags.push(Diagnostic::error(dir, None, p));
            return None;
        }
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        // Special files too: reading refuses them with a diagnostic, rather than
        // a FIFO named `x.toml` being silently no specialist.
        .filter(|e| e.file_type().is_ok_and(|t| !t.is_dir()))
        .filter(|e| !ignored(&e.file_name().to_string_lossy()))
        .map(|e| e.path())
        .collect();
    files.sort();
    Some(files)
}

/// One config file as UTF-8 text (read as [`super::read::read_file`] reads:
/// regular files only, bounded), or the problem that keeps it from being read.
pub fn read_text(path: &Path) -> Result<String, Problem> {
    let bytes = super::read::read_file(path).map_err(|e| Problem {
        line: 0,
        column: 0,
        key: None,
        message: format!("cannot read: {e}"),
        source_line: None,
    })?;
    Ok(super::parse::utf8(&bytes)?.to_owned())
}

#[cfg(test)]
mod tests {
    use super::ignored;

    #[test]
    fn leftovers_are_ignored() {
        for f in [
            ".numa.toml.swp",
            "numa.toml~",
            ".hidden.toml",
            "#numa.toml#",
            "numa.toml.tmp",
            "README.md",
            "numa.toml.bak",
        ] {
            assert!(ignored(f), "{f}");
        }
        for f in ["numa.toml", "Bad Name.toml"] {
            assert!(!ignored(f), "{f}");
        }
    }
}
