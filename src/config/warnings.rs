//! Check-time warnings that depend on the machine, not the files: an
//! `api_key_env` whose variable is unset. They belong to `cadre check`, not
//! to [`crate::desired::load`], which must stay a pure function of the files.

use std::collections::BTreeSet;

use super::parse::Problem;
use super::source;
use super::{Diagnostic, Loaded, ProjectPaths};

/// One warning per provider in use whose key variable `is_set` says is missing.
pub fn unset_key_env(
    loaded: &Loaded,
    paths: &ProjectPaths,
    is_set: impl Fn(&str) -> bool,
) -> Vec<Diagnostic> {
    let project_src = super::read::read_text(&paths.project_file).unwrap_or_default();
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for spec in &loaded.specs {
        let Some(var) = &spec.provider.api_key_env else {
            continue;
        };
        if is_set(var) || !seen.insert(spec.provider.name.clone()) {
            continue;
        }
        let users: Vec<&str> = loaded
            .specs
            .iter()
            .filter(|s| s.provider.name == spec.provider.name)
            .map(|s| s.name.as_str())
            .collect();
        let msg = format!(
            "environment variable `{var}` (api_key_env of provider `{}`) is not set; {} will fail to authenticate",
            spec.provider.name,
            users.join(", ")
        );
        let key = format!("providers.{}.api_key_env", spec.provider.name);
        let d = match source::locate_key(&project_src, &key) {
            Some(pos) => Diagnostic::warning(
                &paths.project_file,
                None,
                Problem::at(Some(pos), Some(key), msg),
            ),
            None => {
                let src = super::read::read_text(&spec.file).unwrap_or_default();
                Diagnostic::warning(
                    &spec.file,
                    Some(&spec.name),
                    Problem::at_key(&src, "provider", msg),
                )
            }
        };
        out.push(d);
    }
    out
}
