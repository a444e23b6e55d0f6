//! The templates directory, read once per load.
//!
//! Rendering serves templates from this snapshot instead of reading (and
//! `stat`ing) files at every lookup, so every prompt of one load sees the
//! same template text, and the render cache can tell exactly whether any
//! template changed since its renders were made: two snapshots are equal
//! iff every loadable template has the same text.

use std::collections::BTreeMap;
use std::path::Path;

/// The template of teams' round and moderator prompts when a team names none.
pub const TEAM_TEMPLATE: &str = crate::config::team::DEFAULT_TEAM_TEMPLATE;

/// The shipped team template, used when a project has no `templates/team.md.j2`.
pub const BUILTIN_TEAM: &str = include_str!("../../templates/team.md.j2");

/// The shipped text of a template the loader falls back to.
pub(super) fn builtin(name: &str) -> Option<&'static str> {
    match name {
        super::DEFAULT_TEMPLATE => Some(super::BUILTIN_DEFAULT),
        TEAM_TEMPLATE => Some(BUILTIN_TEAM),
        _ => None,
    }
}

/// Directory levels followed below `templates/` (guards against symlink loops).
const MAX_DEPTH: usize = 16;

/// Every loadable file under a templates directory, by template name
/// (`sub/x.md.j2`). Names with a segment starting with `.` are left out:
/// minijinja's path rules never load them, so editor swap files and
/// dotfiles neither render nor invalidate cached renders.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TemplateSources {
    /// Template name → its text, or why it could not be read (not UTF-8, I/O error).
    files: BTreeMap<String, Result<String, String>>,
}

impl TemplateSources {
    /// Read `dir` recursively; a missing directory is an empty set.
    pub fn read(dir: &Path) -> TemplateSources {
        let mut files = BTreeMap::new();
        walk(dir, "", 0, &mut files);
        TemplateSources { files }
    }

    /// The text of template `name` (minijinja's name rules: `/`-separated,
    /// no segment starting with `.` or containing `\`). `None` when absent;
    /// `Some(Err)` when the file exists but could not be read.
    pub fn get(&self, name: &str) -> Option<Result<&str, &str>> {
        let key = normalize(name)?;
        self.files
            .get(&key)
            .map(|r| r.as_deref().map_err(String::as_str))
    }
}

/// The snapshot key for a template name, or `None` when the name can never
/// be loaded (same rule as `minijinja::loader::safe_join`).
fn normalize(name: &str) -> Option<String> {
    let mut parts = Vec::new();
    for segment in name.split('/') {
        if segment.starts_with('.') || segment.contains('\\') {
            return None;
        }
        if !segment.is_empty() {
            parts.push(segment);
        }
    }
    Some(parts.join("/"))
}

fn walk(
    dir: &Path,
    prefix: &str,
    depth: usize,
    out: &mut BTreeMap<String, Result<String, String>>,
) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if name.starts_with('.') || name.contains('\\') {
            continue;
        }
        let path = entry.path();
        let key = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        // Follows symlinks, as reading the path would.
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            if depth < MAX_DEPTH {
                walk(&path, &key, depth + 1, out);
            }
        } else {
            // A FIFO or device is kept as an error, so a prompt that uses it
            // says why, instead of the template seeming absent.
            let text = crate::config::read::read_text(&path).map_err(|e| e.to_string());
            out.insert(key, text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_nested_skips_dotfiles_and_compares_by_text() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("parts")).unwrap();
        std::fs::write(dir.path().join("a.j2"), "A").unwrap();
        std::fs::write(dir.path().join("parts/b.j2"), "B").unwrap();
        std::fs::write(dir.path().join(".a.j2.swp"), "junk").unwrap();
        std::fs::write(dir.path().join("bad.j2"), [0xff, 0xfe]).unwrap();
        let s = TemplateSources::read(dir.path());
        assert_eq!(s.get("a.j2"), Some(Ok("A")));
        assert_eq!(s.get("parts/b.j2"), Some(Ok("B")));
        assert_eq!(s.get("parts//b.j2"), Some(Ok("B")));
        assert_eq!(s.get(".a.j2.swp"), None);
        assert_eq!(s.get("../a.j2"), None);
        assert!(matches!(s.get("bad.j2"), Some(Err(_))));
        assert_eq!(s, TemplateSources::read(dir.path()));

        // A swap file does not change the snapshot; a template edit does.
        std::fs::write(dir.path().join(".parts.swp"), "x").unwrap();
        assert_eq!(s, TemplateSources::read(dir.path()));
        std::fs::write(dir.path().join("parts/b.j2"), "B2").unwrap();
        assert_ne!(s, TemplateSources::read(dir.path()));
        assert_eq!(
            TemplateSources::read(&dir.path().join("missing")),
            TemplateSources::default()
        );
    }
}
