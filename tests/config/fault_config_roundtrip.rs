//! Property: any valid specialist file, serialized to TOML and loaded from a
//! real directory, comes back as a spec carrying exactly the fields written,
//! with no diagnostics, and rendering it is a pure function of the files
//! (loading twice gives the same generation). The "never panics" half of
//! the property lives in tests/config/check.rs.

use std::collections::BTreeMap;

use cadre::config::{Params, Personality, ProjectPaths, SpecialistFile};
use cadre::desired::load;
use proptest::prelude::*;

fn text() -> impl Strategy<Value = String> {
    // Printable text including quotes, backslashes, newlines and non-ASCII:
    // the TOML writer must escape them and the loader read them back.
    "[ -~\\n\\téü✓\"\\\\]{0,40}"
}

fn word() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9 ]{0,15}"
}

fn personality() -> impl Strategy<Value = Personality> {
    (
        text(),
        prop::collection::vec(word(), 0..4),
        prop::collection::vec(word(), 0..4),
        text(),
        text(),
    )
        .prop_map(|(role, expertise, focus, style, prompt)| Personality {
            role,
            expertise,
            focus,
            style,
            prompt,
            vars: BTreeMap::new(),
        })
}

fn params() -> impl Strategy<Value = Params> {
    (
        prop::option::of(0u32..200),
        prop::option::of(0u32..100),
        prop::option::of(1u32..100_000),
        prop::option::of(prop::collection::vec(word(), 1..3)),
    )
        .prop_map(|(t, p, max_tokens, stop)| Params {
            // Values that are exact in binary so equality is meaningful.
            temperature: t.map(|t| f64::from(t) / 100.0 * 0.5),
            top_p: p.map(|p| f64::from(p) / 128.0),
            max_tokens,
            stop,
            extra: BTreeMap::new(),
        })
}

fn specialist() -> impl Strategy<Value = SpecialistFile> {
    (
        word(),
        text(),
        text(),
        prop::option::of("[a-z0-9][a-z0-9.:-]{0,20}"),
        prop::option::of(46000u16..46100),
        any::<bool>(),
        personality(),
        params(),
    )
        .prop_map(
            |(component, title, description, model, port, enabled, personality, params)| {
                let toml = format!(
                    "component = {}\ntitle = {}\n",
                    toml_str(&component),
                    toml_str(&title)
                );
                let mut f: SpecialistFile = toml::from_str(&toml).unwrap();
                f.description = description;
                f.model = model;
                f.port = port;
                f.enabled = enabled;
                f.personality = personality;
                f.params = params;
                f
            },
        )
}

fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn valid_files_round_trip_through_the_loader(file in specialist(), name in "[a-z][a-z0-9-]{0,20}") {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("specialists.d");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(
            tmp.path().join("cadre.toml"),
            "[defaults]\nprovider = \"ollama\"\nmodel = \"default-model\"\n\n[ports]\nrange = [46000, 46100]\n",
        ).unwrap();
        let text = toml::to_string(&file).unwrap();
        std::fs::write(dir.join(format!("{name}.toml")), &text).unwrap();

        let paths = ProjectPaths::from_specialists_dir(&dir);
        let loaded = load(&paths);
        prop_assert!(loaded.project_ok);
        prop_assert!(
            loaded.diagnostics.iter().all(|d| d.severity != cadre::config::Severity::Error),
            "errors for\n{text}\n{:#?}", loaded.diagnostics
        );
        prop_assert_eq!(loaded.specs.len(), 1, "file:\n{}", text);
        let spec = &loaded.specs[0];
        prop_assert_eq!(spec.name.as_str(), name.as_str());
        prop_assert_eq!(&spec.component, &file.component);
        prop_assert_eq!(&spec.title, &file.title);
        prop_assert_eq!(&spec.description, &file.description);
        prop_assert_eq!(&spec.model, file.model.as_deref().unwrap_or("default-model"));
        prop_assert_eq!(spec.port, file.port);
        prop_assert_eq!(spec.enabled, file.enabled);
        prop_assert_eq!(&spec.personality, &file.personality);
        prop_assert_eq!(&spec.params, &file.params);
        prop_assert!(!spec.system_prompt.is_empty());

        // A load is a pure function of the files.
        let again = load(&paths);
        prop_assert_eq!(&again.specs[0].generation, &spec.generation);
        prop_assert_eq!(&again.specs[0].system_prompt, &spec.system_prompt);
    }
}
