//! The config loader on arbitrary bytes: as a specialist file and as
//! cadre.toml, through the real `load` (parse, validate, render) on real
//! files. Never panics; a rejected file always carries a diagnostic.
#![no_main]

use std::sync::OnceLock;

use cadre::config::{ProjectPaths, load};
use libfuzzer_sys::fuzz_target;

fn project() -> &'static (tempfile::TempDir, ProjectPaths) {
    static P: OnceLock<(tempfile::TempDir, ProjectPaths)> = OnceLock::new();
    P.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("specialists.d");
        std::fs::create_dir(&dir).unwrap();
        let paths = ProjectPaths::from_specialists_dir(&dir);
        (tmp, paths)
    })
}

fuzz_target!(|data: &[u8]| {
    let (tmp, paths) = project();
    let (as_project, bytes) = match data.split_first() {
        Some((b, rest)) => (b & 1 == 1, rest),
        None => (false, data),
    };
    let spec = paths.specialists.join("fuzzed.toml");
    let project = tmp.path().join("cadre.toml");
    if as_project {
        let _ = std::fs::remove_file(&spec);
        std::fs::write(&project, bytes).unwrap();
        std::fs::write(&spec, "component = \"c\"\ntitle = \"t\"\n").unwrap();
    } else {
        let _ = std::fs::remove_file(&project);
        std::fs::write(&spec, bytes).unwrap();
    }
    let loaded = load(paths);
    if !as_project && loaded.specs.is_empty() {
        assert!(
            loaded.errors().next().is_some(),
            "a specialist file was dropped without an error"
        );
    }
});
