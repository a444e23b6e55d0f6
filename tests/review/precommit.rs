//! `pre-commit try-repo` against this repository's HEAD: the hook in
//! `.pre-commit-hooks.yaml` builds cadre with cargo (language: rust) and runs
//! `cadre check` in a temp project holding the shipped team. It passes on the
//! shipped team and fails on a broken file. Needs pre-commit (installed into
//! .venv-llm by scripts/ci-precommit.sh): skipped outside CI when missing,
//! a failure under CI=true. The first run builds cadre and its dependencies
//! in release (about 9 minutes on a loaded 2-core machine); later ones reuse them.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::fixture::golden::git;
use crate::fixture::project::{copy_shipped, edit, repo_root};

fn pre_commit() -> Option<PathBuf> {
    let venv = repo_root().join(".venv-llm/bin/pre-commit");
    if venv.is_file() {
        return Some(venv);
    }
    let ok = Command::new("pre-commit")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then(|| PathBuf::from("pre-commit"))
}

fn head_commit() -> String {
    let out = Command::new("git")
        .current_dir(repo_root())
        .args(["rev-parse", "HEAD"])
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn try_repo(pc: &Path, project: &Path, home: &Path, rev: &str) -> (bool, String) {
    let out = Command::new(pc)
        .current_dir(project)
        .args(["try-repo"])
        .arg(repo_root())
        .args([
            "cadre-check",
            "--ref",
            rev,
            "--all-files",
            "--color",
            "never",
        ])
        .env("PRE_COMMIT_HOME", home)
        // Shared across runs so only the first one compiles everything.
        .env("CARGO_TARGET_DIR", repo_root().join("target/pre-commit"))
        // pre-commit's rust hooks `cargo install` (a release build); the hook
        // only validates files, so an unoptimised build keeps CI's first run short.
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "0")
        .env("CARGO_PROFILE_RELEASE_DEBUG", "false")
        .env("CARGO_PROFILE_RELEASE_LTO", "false")
        .env_remove("CADRE_DIR")
        .output()
        .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), all)
}

#[test]
fn try_repo_passes_on_the_shipped_team_and_fails_on_a_broken_file() {
    let Some(pc) = pre_commit() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but pre-commit is neither in .venv-llm/bin nor on PATH (scripts/ci-precommit.sh installs it)"
        );
        crate::fixture::say("skipped: pre-commit not installed (run scripts/ci-precommit.sh)");
        return;
    };
    let rev = head_commit();
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("project");
    copy_shipped(&project);
    git(&project, &["init", "-q"]);
    git(&project, &["add", "-A"]);
    // Kept under target/ so a rerun at the same commit installs nothing, and
    // the cargo target dir below so a new commit recompiles only cadre itself.
    let home = repo_root().join("target/pre-commit-home");

    let started = std::time::Instant::now();
    let (ok, out) = try_repo(&pc, &project, &home, &rev);
    eprintln!("first try-repo (builds cadre): {:?}", started.elapsed());
    assert!(ok, "shipped team should pass:\n{out}");
    assert!(out.contains("cadre check"), "{out}");
    assert!(out.contains("Passed"), "{out}");

    edit(
        &project.join("specialists.d/numa.toml"),
        "port = 45016",
        "port = \"x\"",
    );
    git(&project, &["add", "-A"]);
    let (ok, out) = try_repo(&pc, &project, &home, &rev);
    assert!(!ok, "a broken file should fail:\n{out}");
    assert!(out.contains("Failed"), "{out}");
    assert!(out.contains("specialists.d/numa.toml:8:8"), "{out}");
}
