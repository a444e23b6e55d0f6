//! `cadre plan` (against a running daemon) and `cadre diff` (two trees) use
//! one field diff: for the same edits, both name the same dotted fields.
//! Port range of this file: 46530-46539 (allocated by the registry).

use crate::fixture;
use crate::fixture::ollama;

use std::collections::BTreeMap;

use fixture::{Project, cadre};

/// `reload alpha (model, personality.prompt)` → ("alpha", ["model", "personality.prompt"]).
fn plan_fields(stdout: &str) -> BTreeMap<String, Vec<String>> {
    stdout
        .lines()
        .filter_map(|l| {
            let (head, fields) = l.split_once(" (")?;
            let name = head.split_whitespace().nth(1)?.to_owned();
            let fields = fields.trim_end_matches(')').split(", ").map(String::from);
            Some((name, fields.collect()))
        })
        .collect()
}

fn diff_fields(json: &serde_json::Value) -> BTreeMap<String, Vec<String>> {
    json["specialists"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let fields = s["fields"].as_array().unwrap().iter();
            let paths = fields.map(|f| f["path"].as_str().unwrap().to_owned());
            (s["name"].as_str().unwrap().to_owned(), paths.collect())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_and_diff_name_the_same_fields_for_the_same_change() {
    let server = ollama::OllamaServer::start(ollama::Behaviour::default()).await;
    let p = Project::new([46530, 46539], &server.base_url);
    p.write("alpha", "Alpha speaks.", None);
    p.write("beta", "Beta speaks.", None);
    let mut d = p.up();
    p.wait_ready(&["alpha", "beta"], &mut d);

    // The same project under review, with a prompt, a model, a param and a
    // personality list edited.
    let review = tempfile::tempdir().unwrap();
    let rdir = review.path().join("specialists.d");
    std::fs::create_dir(&rdir).unwrap();
    std::fs::copy(
        p.tmp.path().join("cadre.toml"),
        review.path().join("cadre.toml"),
    )
    .unwrap();
    let templates = review.path().join("templates");
    std::fs::create_dir(&templates).unwrap();
    for f in std::fs::read_dir(p.tmp.path().join("templates")).unwrap() {
        let f = f.unwrap();
        std::fs::copy(f.path(), templates.join(f.file_name())).unwrap();
    }
    let alpha = Project::specialist_toml("alpha", "Alpha speaks plainly.", None);
    let alpha = alpha.replace(
        "\n[personality]",
        "model = \"other-model\"\n\n[personality]",
    );
    std::fs::write(rdir.join("alpha.toml"), alpha).unwrap();
    let beta = Project::specialist_toml("beta", "Beta speaks.", None)
        + "expertise = [\"budgets\"]\n\n[params]\ntemperature = 0.2\n";
    std::fs::write(rdir.join("beta.toml"), beta).unwrap();

    let plan = cadre(&["plan"]).dir(&rdir).state(&p.state).output();
    let stdout = String::from_utf8_lossy(&plan.stdout).into_owned();
    assert_eq!(plan.status.code(), Some(1), "{stdout}");
    let planned = plan_fields(&stdout);

    let (base, head) = (p.root().to_str().unwrap(), review.path().to_str().unwrap());
    let diff = cadre(&["diff", base, head, "--format", "json"]).output();
    let diff = crate::fixture::Out::from(diff);
    diff.status(1);
    let diffed = diff_fields(&serde_json::from_str(&diff.stdout).unwrap());

    let want: BTreeMap<String, Vec<String>> = [
        ("alpha", vec!["model", "personality.prompt"]),
        ("beta", vec!["params.temperature", "personality.expertise"]),
    ]
    .into_iter()
    .map(|(n, f)| (n.to_owned(), f.into_iter().map(String::from).collect()))
    .collect();
    assert_eq!(planned, want, "plan said:\n{stdout}");
    assert_eq!(diffed, want);

    d.signal("TERM");
    assert_eq!(d.wait(std::time::Duration::from_secs(30)), Some(0));
}
