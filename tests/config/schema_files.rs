//! The committed JSON Schemas are exactly what `cadre schema` prints, and
//! every shipped specialist file validates against them.

use crate::fixture::project::repo_root as root;

fn cadre(args: &[&str]) -> String {
    let out = crate::fixture::cadre(args).output();
    assert_eq!(out.status.code(), Some(0));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn committed_schemas_match_generated() {
    let spec = std::fs::read_to_string(root().join("schemas/specialist.schema.json")).unwrap();
    assert_eq!(
        spec,
        cadre(&["schema"]),
        "run `cadre schema > schemas/specialist.schema.json`"
    );
    let project = std::fs::read_to_string(root().join("schemas/cadre.schema.json")).unwrap();
    assert_eq!(
        project,
        cadre(&["schema", "project"]),
        "run `cadre schema project > schemas/cadre.schema.json`"
    );
}

fn validator(file: &str) -> jsonschema::Validator {
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join(file)).unwrap()).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

fn as_json(toml_text: &str) -> serde_json::Value {
    serde_json::to_value(toml::from_str::<toml::Value>(toml_text).unwrap()).unwrap()
}

#[test]
fn shipped_files_validate_against_the_schema() {
    let v = validator("schemas/specialist.schema.json");
    let mut n = 0;
    for entry in std::fs::read_dir(root().join("specialists.d")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("#:schema ../schemas/specialist.schema.json\n"),
            "{}",
            path.display()
        );
        let doc = as_json(&text);
        let errors: Vec<String> = v.iter_errors(&doc).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
        n += 1;
    }
    assert_eq!(n, 18);
}

#[test]
fn schema_rejects_what_cadre_rejects() {
    let v = validator("schemas/specialist.schema.json");
    assert!(!v.is_valid(&as_json(
        "component = \"a\"\ntitle = \"A\"\nmodle = \"x\"\n"
    )));
    assert!(!v.is_valid(&as_json("component = \"a\"\ntitle = \"A\"\nport = \"x\"\n")));
    assert!(!v.is_valid(&as_json("title = \"A\"\n")));
    let p = validator("schemas/cadre.schema.json");
    assert!(p.is_valid(&as_json(
        "[providers.local]\nkind = \"openai\"\n[ports]\nrange = [45000, 46000]\n"
    )));
    assert!(!p.is_valid(&as_json("[providers.local]\nkind = \"nope\"\n")));
}

#[test]
fn unknown_schema_is_a_usage_error() {
    let out = crate::fixture::cadre(&["schema", "nope"]).output();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn completions_print_a_script() {
    let script = cadre(&["completions", "bash"]);
    assert!(
        script.contains("cadre") && script.contains("check"),
        "{script}"
    );
}
