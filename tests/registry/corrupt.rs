//! A corrupt registry.json is moved aside with its bytes intact and
//! reported; a newer version is refused and never rewritten. Never is a bad
//! file read as empty and overwritten in place.
//!
//! Ports: none bound; entries carry made-up ports 46400-46499.

use std::fs;
use std::path::PathBuf;

use crate::fixture::registry::*;
use cadre::registry::{EventKind, Registry, RegistryError};

fn corrupt_files(reg: &Registry) -> Vec<PathBuf> {
    fs::read_dir(reg.state_dir().path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("registry.json.corrupt-")
        })
        .collect()
}

/// Write `bytes`, run one registering transaction, check the bytes were
/// moved aside, reported and the new file holds only the new entry.
fn moved_aside(bytes: &[u8], reason: &str) {
    let (_tmp, dir) = temp_state();
    let reg = Registry::open(dir).unwrap();
    fs::write(reg.file_path(), bytes).unwrap();

    let recovered = reg
        .transact(|t| {
            assert!(t.data.specialists.is_empty());
            let e = entry("fresh", 46400, t.me);
            t.data.specialists.insert(e.name.clone(), e);
            Ok::<_, RegistryError>(t.recovered_from().map(PathBuf::from))
        })
        .unwrap()
        .expect("the transaction reports the moved file");

    assert_eq!(corrupt_files(&reg), std::slice::from_ref(&recovered));
    assert_eq!(fs::read(&recovered).unwrap(), bytes, "original bytes kept");
    let now = raw(&reg).unwrap();
    assert_eq!(now.specialists.keys().collect::<Vec<_>>(), ["fresh"]);

    let events = reg.events().unwrap();
    let corrupt: Vec<_> = events
        .iter()
        .filter(|e| e.kind == EventKind::Corrupt)
        .collect();
    assert_eq!(corrupt.len(), 1, "{events:?}");
    let detail = corrupt[0].detail.as_deref().unwrap();
    assert!(
        detail.contains(&recovered.display().to_string()),
        "{detail}"
    );
    assert!(detail.contains(reason), "{detail}");

    // Reported once: the next transaction sees a valid file.
    let again = reg
        .transact(|t| Ok::<_, RegistryError>(t.recovered_from().is_some()))
        .unwrap();
    assert!(!again);
    assert_eq!(corrupt_files(&reg).len(), 1);
}

#[test]
fn garbage_is_moved_aside() {
    moved_aside(b"\x00\xffnot json at all", "not JSON");
}

#[test]
fn truncated_json_is_moved_aside() {
    moved_aside(
        br#"{ "version": 1, "specialists": { "a": { "name": "a", "comp"#,
        "not JSON",
    );
}

#[test]
fn an_empty_file_is_moved_aside() {
    moved_aside(b"", "empty file");
}

#[test]
fn a_json_array_is_moved_aside() {
    moved_aside(br#"[{"version": 1}]"#, "an array");
}

#[test]
fn a_wrong_shape_is_moved_aside() {
    moved_aside(br#"{"version": 1, "specialists": [1, 2]}"#, "wrong shape");
    moved_aside(br#"{"specialists": {}}"#, "missing numeric `version`");
}

#[test]
fn a_read_of_a_corrupt_file_moves_it_aside_rather_than_reading_empty() {
    let (_tmp, dir) = temp_state();
    let reg = Registry::open(dir).unwrap();
    fs::write(reg.file_path(), b"{oops").unwrap();
    let data = reg.read().unwrap();
    assert!(data.specialists.is_empty());
    let moved = corrupt_files(&reg);
    assert_eq!(moved.len(), 1);
    assert_eq!(fs::read(&moved[0]).unwrap(), b"{oops");
}

#[test]
fn version_99_is_refused_and_never_rewritten() {
    let (_tmp, dir) = temp_state();
    let reg = Registry::open(dir).unwrap();
    let bytes = br#"{"version": 99, "specialists": {}, "future": true}"#;
    fs::write(reg.file_path(), bytes).unwrap();

    let err = reg
        .transact(|t| {
            let e = entry("x", 46410, t.me);
            t.data.specialists.insert(e.name.clone(), e);
            Ok::<_, RegistryError>(())
        })
        .unwrap_err();
    assert!(
        matches!(
            err,
            RegistryError::NewerVersion {
                found: 99,
                supported: 1,
                ..
            }
        ),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("registry.json: registry version 99 is newer"),
        "{msg}"
    );
    assert!(matches!(
        reg.read(),
        Err(RegistryError::NewerVersion { .. })
    ));

    assert_eq!(fs::read(reg.file_path()).unwrap(), bytes);
    assert!(corrupt_files(&reg).is_empty());
}
