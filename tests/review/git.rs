//! `cadre diff` with git revisions, on a temporary repository made with the
//! git CLI. The project sits in a subdirectory (`team/`) so the revision's
//! tree must be found relative to the repository top.

use std::path::{Path, PathBuf};

use crate::fixture::cadre;
use crate::fixture::golden::git;
use crate::fixture::project::{copy_shipped, edit};

struct Repo {
    dir: tempfile::TempDir,
}

impl Repo {
    /// Commit 1: the shipped team under `team/`.
    fn new() -> Repo {
        let dir = tempfile::tempdir().unwrap();
        git(dir.path(), &["init", "-q"]);
        copy_shipped(&dir.path().join("team"));
        let r = Repo { dir };
        r.commit("shipped team");
        r
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join("team").join(rel)
    }

    fn top(&self) -> &Path {
        self.dir.path()
    }

    fn commit(&self, msg: &str) {
        git(self.top(), &["add", "-A"]);
        git(self.top(), &["commit", "-q", "-m", msg]);
    }

    fn diff(&self, args: &[&str]) -> crate::fixture::Out {
        let mut all = vec!["--dir", "team/specialists.d", "diff"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--format", "json"]);
        cadre(&all).cwd(self.top()).run()
    }
}

fn changes(out: &crate::fixture::Out) -> Vec<(String, String, Vec<String>)> {
    let v: serde_json::Value =
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"));
    v["specialists"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_string(),
                s["kind"].as_str().unwrap().to_string(),
                s["fields"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|f| format!("{}={}", f["path"].as_str().unwrap(), f["head"]))
                    .collect(),
            )
        })
        .collect()
}

#[test]
fn previous_commit_against_head() {
    let r = Repo::new();
    edit(
        &r.path("specialists.d/numa.toml"),
        "model = \"llama3.3:70b\"",
        "model = \"qwen2.5:32b\"",
    );
    r.commit("numa on qwen");
    let out = r.diff(&["HEAD~1", "HEAD"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(
        changes(&out),
        vec![(
            "numa".into(),
            "changed".into(),
            vec!["model=\"qwen2.5:32b\"".into()]
        )]
    );
    // Same commit on both sides: nothing.
    let out = r.diff(&["HEAD", "HEAD"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(changes(&out), vec![]);
}

#[test]
fn head_against_the_edited_working_tree() {
    let r = Repo::new();
    edit(
        &r.path("specialists.d/hermes.toml"),
        "port = 45001",
        "port = 45101",
    );
    std::fs::write(
        r.path("templates/specialist.md.j2"),
        std::fs::read_to_string(r.path("templates/specialist.md.j2"))
            .unwrap()
            .replace("Your expertise:", "What you know best:"),
    )
    .unwrap();
    let out = r.diff(&["HEAD"]);
    assert_eq!(out.code, 1, "{out:?}");
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["base"], "HEAD");
    assert_eq!(v["head"], "working tree");
    let c = changes(&out);
    // The template edit reaches all 18 prompts; only hermes has a field change.
    assert_eq!(c.len(), 18, "{c:?}");
    for (name, kind, fields) in &c {
        assert_eq!(kind, "changed");
        if name == "hermes" {
            assert_eq!(fields, &vec!["port=45101".to_string()]);
        } else {
            assert!(fields.is_empty(), "{name}: {fields:?}");
        }
    }
    assert!(v["specialists"].as_array().unwrap().iter().all(|s| {
        s["prompt_diff"]
            .as_str()
            .unwrap()
            .contains("+What you know best:")
    }));
    // Working tree clean again: no changes.
    git(r.top(), &["checkout", "-q", "--", "."]);
    let out = r.diff(&["HEAD"]);
    assert_eq!(out.code, 0, "{out:?}");
}

#[test]
fn unknown_revision_is_a_clear_error_exit_2() {
    let r = Repo::new();
    let out = r.diff(&["no-such-branch", "HEAD"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr.contains(
            "base: `no-such-branch` is neither a directory nor a revision of the git repository at"
        ),
        "{}",
        out.stderr
    );
    let out = r.diff(&["HEAD", "HEAD~5"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("head: `HEAD~5`"), "{}", out.stderr);
}

#[test]
fn file_broken_on_one_side_names_side_file_and_line() {
    let r = Repo::new();
    edit(
        &r.path("specialists.d/numa.toml"),
        "port = 45016",
        "port = \"x\"",
    );
    r.commit("break numa");
    let out = r.diff(&["HEAD~1", "HEAD"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr
            .contains("error: head (HEAD) has 1 config error:"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("head: specialists.d/numa.toml:8:8: error:"),
        "{}",
        out.stderr
    );
    // Fixed in the working tree: HEAD (broken) is now the base side.
    edit(
        &r.path("specialists.d/numa.toml"),
        "port = \"x\"",
        "port = 45016",
    );
    let out = r.diff(&["HEAD"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr
            .contains("base: specialists.d/numa.toml:8:8: error:"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_file_added_in_the_revision_shows_as_added() {
    let r = Repo::new();
    std::fs::write(
        r.path("specialists.d/iris.toml"),
        "component = \"iris\"\ntitle = \"Iris\"\nport = 45090\n\n[personality]\nrole = \"messenger\"\n",
    )
    .unwrap();
    std::fs::write(r.path("cadre.toml"), "[limits]\nmax_connections = 7\n").unwrap();
    r.commit("iris and limits");
    let out = r.diff(&["HEAD~1", "HEAD"]);
    assert_eq!(out.code, 1, "{out:?}");
    let c = changes(&out);
    assert!(
        c.contains(&("iris".into(), "added".into(), vec![])),
        "{c:?}"
    );
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["project"][0]["path"], "limits.max_connections");
}

#[test]
fn a_revision_without_the_team_is_an_empty_team() {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q"]);
    git(
        dir.path(),
        &["commit", "-q", "--allow-empty", "-m", "empty"],
    );
    copy_shipped(&dir.path().join("team"));
    let r = Repo { dir };
    let out = r.diff(&["HEAD"]);
    assert_eq!(out.code, 1, "{out:?}");
    let c = changes(&out);
    assert_eq!(c.len(), 18);
    assert!(c.iter().all(|x| x.1 == "added"), "{c:?}");
}
