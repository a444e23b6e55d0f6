//! `cadre check --format github` (golden) and `--format json` (every
//! diagnostic listed), run in the project dir so paths are relative.

use crate::fixture::cadre;
use crate::fixture::golden::golden;
use crate::fixture::project::{copy_shipped, edit, write};

/// The shipped team with four problems in five files.
fn broken() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_shipped(dir.path());
    let s = |n: &str| dir.path().join("specialists.d").join(n);
    edit(&s("numa.toml"), "port = 45016", "port = \"x\"");
    edit(&s("hermes.toml"), "model = ", "modle = ");
    edit(&s("apollo.toml"), "port = 45012", "port = 45000");
    write(&s("bad name.toml"), "component = \"x\"\ntitle = \"X\"\n");
    dir
}

#[test]
fn github_annotations_golden() {
    let dir = broken();
    let out = cadre(&["--dir", "specialists.d", "check", "--format", "github"])
        .cwd(dir.path())
        .run();
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with("::error file=specialists.d/numa.toml,line=8,col=8"))
    );
    golden("check_github.txt", &out.stdout);
}

#[test]
fn json_lists_every_diagnostic() {
    let dir = broken();
    let text = cadre(&["--dir", "specialists.d", "check"])
        .cwd(dir.path())
        .run();
    let gh = cadre(&["--dir", "specialists.d", "check", "--format", "github"])
        .cwd(dir.path())
        .run();
    let out = cadre(&["--dir", "specialists.d", "check", "--format", "json"])
        .cwd(dir.path())
        .run();
    assert_eq!(out.code, 1, "{out:?}");
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let diags = v["diagnostics"].as_array().unwrap();
    let annotations = gh.stdout.lines().filter(|l| l.starts_with("::")).count();
    assert_eq!(diags.len(), annotations);
    assert_eq!(
        v["errors"].as_u64().unwrap() + v["warnings"].as_u64().unwrap(),
        diags.len() as u64
    );
    for d in diags {
        let file = d["file"].as_str().unwrap();
        assert!(file.starts_with("specialists.d/"), "{d}");
        let loc = if d["line"] == 0 {
            file.to_string()
        } else {
            format!("{file}:{}", d["line"])
        };
        assert!(text.stderr.contains(&loc), "{loc} not in:\n{}", text.stderr);
    }
    let files: Vec<&str> = diags.iter().map(|d| d["file"].as_str().unwrap()).collect();
    // Two files on one port are one diagnostic naming both.
    assert!(
        out.stdout.contains("specialists.d/engram.toml:8"),
        "{}",
        out.stdout
    );
    for f in ["numa.toml", "hermes.toml", "apollo.toml", "bad name.toml"] {
        assert!(
            files.contains(&format!("specialists.d/{f}").as_str()),
            "{f} missing from {files:?}"
        );
    }
}
