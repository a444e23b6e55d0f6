//! `cadre diff` on directory pairs built from the shipped team, compared with
//! golden files in every format, plus exit codes and config errors.

use std::path::Path;

use crate::fixture::cadre;
use crate::fixture::golden::golden;
use crate::fixture::project::{copy_shipped, edit, write};

/// `base/` and `head/`, both the shipped team, in one temp dir.
struct Pair {
    dir: tempfile::TempDir,
}

impl Pair {
    fn new() -> Pair {
        let dir = tempfile::tempdir().unwrap();
        copy_shipped(&dir.path().join("base"));
        copy_shipped(&dir.path().join("head"));
        Pair { dir }
    }

    /// A file on both sides.
    fn both(&self, rel: &str, contents: &str) {
        write(&self.base(rel), contents);
        write(&self.head(rel), contents);
    }

    fn base(&self, rel: &str) -> std::path::PathBuf {
        self.dir.path().join("base").join(rel)
    }

    fn head(&self, rel: &str) -> std::path::PathBuf {
        self.dir.path().join("head").join(rel)
    }

    fn cwd(&self) -> &Path {
        self.dir.path()
    }

    /// Every format against its golden file; all exit `code`.
    fn check_golden(&self, case: &str, code: i32) {
        for (format, ext) in [("text", "txt"), ("markdown", "md"), ("json", "json")] {
            let out = cadre(&["diff", "base", "head", "--format", format])
                .cwd(self.cwd())
                .run();
            assert_eq!(out.code, code, "{case} {format}: {out:?}");
            assert_eq!(out.stderr, "", "{case} {format}");
            golden(&format!("{case}.{ext}"), &out.stdout);
        }
    }

    fn json(&self) -> serde_json::Value {
        let out = cadre(&["diff", "base", "head", "--format", "json"])
            .cwd(self.cwd())
            .run();
        serde_json::from_str(&out.stdout).unwrap()
    }
}

/// (name, kind, changed field paths, has prompt diff) per specialist in the JSON output.
fn shape(v: &serde_json::Value) -> Vec<(String, String, Vec<String>, bool)> {
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
                    .map(|f| f["path"].as_str().unwrap().to_string())
                    .collect(),
                !s["prompt_diff"].is_null(),
            )
        })
        .collect()
}

#[test]
fn identical_trees_exit_0() {
    let p = Pair::new();
    p.check_golden("identical", 0);
    let out = cadre(&["diff", "base", "head"]).cwd(p.cwd()).run();
    assert_eq!(out.stdout, "base → head: no changes\n");
}

#[test]
fn changed_prompt() {
    let p = Pair::new();
    edit(
        &p.head("specialists.d/numa.toml"),
        "prompt = \"\"\"\n",
        "prompt = \"\"\"\nAlways answer in one paragraph.\n",
    );
    // The field that changed, as `cadre plan` names it too, and its effect on the prompt.
    assert_eq!(
        shape(&p.json()),
        vec![(
            "numa".into(),
            "changed".into(),
            vec!["personality.prompt".into()],
            true
        )]
    );
    p.check_golden("prompt", 1);
}

#[test]
fn changed_model() {
    let p = Pair::new();
    edit(
        &p.head("specialists.d/hermes.toml"),
        "model = \"llama3.3:70b\"",
        "model = \"qwen2.5:32b\"",
    );
    assert_eq!(
        shape(&p.json()),
        vec![(
            "hermes".into(),
            "changed".into(),
            vec!["model".into()],
            false
        )]
    );
    p.check_golden("model", 1);
}

#[test]
fn changed_port() {
    let p = Pair::new();
    edit(
        &p.head("specialists.d/apollo.toml"),
        "port = 45012",
        "port = 45099",
    );
    assert_eq!(
        shape(&p.json()),
        vec![(
            "apollo".into(),
            "changed".into(),
            vec!["port".into()],
            false
        )]
    );
    p.check_golden("port", 1);
}

#[test]
fn added_and_removed_file() {
    let p = Pair::new();
    std::fs::remove_file(p.head("specialists.d/penia.toml")).unwrap();
    write(
        &p.head("specialists.d/iris.toml"),
        "component = \"iris\"\ntitle = \"Iris\"\ndescription = \"Messages between people and the team.\"\n\
         model = \"llama3.3:70b\"\nport = 45090\n\n[personality]\nrole = \"messenger\"\n",
    );
    let s = shape(&p.json());
    assert!(s.contains(&("iris".into(), "added".into(), vec![], false)));
    assert!(s.contains(&("penia".into(), "removed".into(), vec![], false)));
    // The team list in every other prompt names the newcomer and drops the leaver.
    let others: Vec<_> = s.iter().filter(|x| x.1 == "changed").collect();
    assert_eq!(others.len(), 17, "{s:?}");
    assert!(others.iter().all(|x| x.2.is_empty() && x.3));
    p.check_golden("added_removed", 1);
}

#[test]
fn template_change_reaches_exactly_its_three_users() {
    let p = Pair::new();
    let shipped = std::fs::read_to_string(p.base("templates/specialist.md.j2")).unwrap();
    p.both("templates/x.md.j2", &shipped);
    for name in ["athena", "metis", "telos"] {
        for side in [p.base(""), p.head("")] {
            edit(
                &side.join(format!("specialists.d/{name}.toml")),
                "\n[personality]",
                "template = \"x.md.j2\"\n\n[personality]",
            );
        }
    }
    edit(
        &p.head("templates/x.md.j2"),
        "Style: {{ specialist.personality.style }}",
        "Style: {{ specialist.personality.style }} Cite sources.",
    );
    assert_eq!(
        shape(&p.json()),
        ["athena", "metis", "telos"]
            .iter()
            .map(|n| (n.to_string(), "changed".to_string(), vec![], true))
            .collect::<Vec<_>>()
    );
    p.check_golden("template_three", 1);
}

#[test]
fn cadre_toml_default_reaches_every_specialist() {
    let p = Pair::new();
    p.both("cadre.toml", "[defaults]\nprovider = \"ollama\"\n");
    write(
        &p.head("cadre.toml"),
        "[defaults]\nprovider = \"ollama\"\n\n[defaults.params]\ntop_p = 0.9\n",
    );
    let v = p.json();
    let s = shape(&v);
    assert_eq!(s.len(), 18);
    assert!(
        s.iter()
            .all(|x| x.2 == vec!["params.top_p".to_string()] && !x.3)
    );
    assert_eq!(v["project"][0]["path"], "defaults.params.top_p");
    p.check_golden("cadre_toml_default", 1);
}

#[test]
fn specialists_dirs_compare_like_roots() {
    let p = Pair::new();
    edit(
        &p.head("specialists.d/apollo.toml"),
        "port = 45012",
        "port = 45099",
    );
    let roots = cadre(&["diff", "base", "head", "--format", "json"])
        .cwd(p.cwd())
        .run();
    let dirs = cadre(&[
        "diff",
        "base/specialists.d",
        "head/specialists.d",
        "--format",
        "json",
    ])
    .cwd(p.cwd())
    .run();
    assert_eq!(dirs.code, 1);
    let (a, b): (serde_json::Value, serde_json::Value) = (
        serde_json::from_str(&roots.stdout).unwrap(),
        serde_json::from_str(&dirs.stdout).unwrap(),
    );
    assert_eq!(a["specialists"], b["specialists"]);
}

#[test]
fn head_defaults_to_the_working_tree_of_dir() {
    let p = Pair::new();
    edit(
        &p.head("specialists.d/apollo.toml"),
        "port = 45012",
        "port = 45099",
    );
    let out = cadre(&[
        "--dir",
        "head/specialists.d",
        "diff",
        "base",
        "--format",
        "json",
    ])
    .cwd(p.cwd())
    .run();
    assert_eq!(out.code, 1, "{out:?}");
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["head"], "working tree");
    assert_eq!(
        shape(&v),
        vec![(
            "apollo".into(),
            "changed".into(),
            vec!["port".into()],
            false
        )]
    );
}

#[test]
fn config_error_on_one_side_names_side_file_and_line_exit_2() {
    let p = Pair::new();
    edit(
        &p.head("specialists.d/numa.toml"),
        "port = 45",
        "port = \"x\" # 45",
    );
    let out = cadre(&["diff", "base", "head"]).cwd(p.cwd()).run();
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr
            .contains("error: head (head) has 1 config error:"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("head: specialists.d/numa.toml:8:8: error:"),
        "{}",
        out.stderr
    );
    // The same break on the base side names the base.
    let out = cadre(&["diff", "head", "base"]).cwd(p.cwd()).run();
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("base: specialists.d/numa.toml:8:8: error:"),
        "{}",
        out.stderr
    );
}

#[test]
fn missing_side_is_an_error_exit_2() {
    let p = Pair::new();
    let out = cadre(&["diff", "base", "nowhere"]).cwd(p.cwd()).run();
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr
            .contains("head: `nowhere` is neither a directory nor a git revision"),
        "{}",
        out.stderr
    );
}
