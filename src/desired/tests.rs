//! The render cache: a cached load equals a fresh one; only what changed renders again.

use super::*;
use crate::config::Spec;
use crate::prompt::batch::{PARALLEL_MIN, context_of};
use crate::prompt::{Prompter, TeamMember};

struct Project {
    dir: tempfile::TempDir,
    paths: ProjectPaths,
}

impl Project {
    fn new() -> Project {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("specialists.d")).unwrap();
        std::fs::create_dir(dir.path().join("templates")).unwrap();
        let paths = ProjectPaths::from_specialists_dir(&dir.path().join("specialists.d"));
        let p = Project { dir, paths };
        for n in ["alpha", "beta", "gamma"] {
            p.specialist(n, &format!("Title {n}"), &format!("Prompt of {n}."));
        }
        p
    }

    fn specialist(&self, name: &str, title: &str, prompt: &str) {
        let text = format!(
            "component = \"{name}\"\ntitle = \"{title}\"\ndescription = \"About {name}.\"\n\n\
             [personality]\nrole = \"r\"\nprompt = \"{prompt}\"\n"
        );
        self.write(&format!("specialists.d/{name}.toml"), &text);
    }

    fn write(&self, rel: &str, text: &str) {
        std::fs::write(self.dir.path().join(rel), text).unwrap();
    }
}

fn spec<'a>(l: &'a Loaded, name: &str) -> &'a Spec {
    l.specs.iter().find(|s| s.name.as_str() == name).unwrap()
}

/// A cached load gives what a fresh load gives, spec for spec.
fn assert_same_as_fresh(p: &Project, cached: &Loaded) {
    let fresh = load(&p.paths);
    assert_eq!(cached.specs, fresh.specs);
    assert_eq!(cached.diagnostics, fresh.diagnostics);
}

#[test]
fn a_prompt_edit_renders_only_its_specialist() {
    let p = Project::new();
    let mut cache = RenderCache::default();
    let first = load_cached(&p.paths, &mut cache);
    assert_eq!(cache.len(), 3);
    assert_same_as_fresh(&p, &first);

    // Nothing changed: every prompt is reused, not re-rendered.
    let again = load_cached(&p.paths, &mut cache);
    for n in ["alpha", "beta", "gamma"] {
        assert!(
            spec(&again, n)
                .system_prompt
                .shares(&spec(&first, n).system_prompt)
        );
    }

    p.specialist("beta", "Title beta", "New prompt of beta.");
    let edited = load_cached(&p.paths, &mut cache);
    assert_same_as_fresh(&p, &edited);
    assert!(
        spec(&edited, "beta")
            .system_prompt
            .contains("New prompt of beta.")
    );
    assert_ne!(
        spec(&edited, "beta").generation,
        spec(&first, "beta").generation
    );
    for n in ["alpha", "gamma"] {
        assert!(
            spec(&edited, n)
                .system_prompt
                .shares(&spec(&first, n).system_prompt)
        );
        assert_eq!(spec(&edited, n).generation, spec(&first, n).generation);
    }
}

#[test]
fn a_team_visible_edit_renders_everyone_again() {
    let p = Project::new();
    let mut cache = RenderCache::default();
    let first = load_cached(&p.paths, &mut cache);
    // The title is in every colleague's `team` list.
    p.specialist("beta", "Renamed beta", "Prompt of beta.");
    let edited = load_cached(&p.paths, &mut cache);
    assert_same_as_fresh(&p, &edited);
    for n in ["alpha", "gamma"] {
        let s = &spec(&edited, n).system_prompt;
        assert!(s.contains("- beta: Renamed beta"), "{s}");
        assert_ne!(spec(&edited, n).generation, spec(&first, n).generation);
    }
    // A new colleague, and one disabled: the team changes again.
    p.specialist("delta", "Title delta", "Prompt of delta.");
    p.write(
        "specialists.d/gamma.toml",
        "component = \"gamma\"\ntitle = \"G\"\nenabled = false\n",
    );
    let edited = load_cached(&p.paths, &mut cache);
    assert_same_as_fresh(&p, &edited);
    let a = &spec(&edited, "alpha").system_prompt;
    assert!(
        a.contains("- delta: Title delta") && !a.contains("- gamma:"),
        "{a}"
    );
}

#[test]
fn template_and_provider_edits_invalidate_and_errors_are_not_cached() {
    let p = Project::new();
    let mut cache = RenderCache::default();
    load_cached(&p.paths, &mut cache);

    p.write("templates/specialist.md.j2", "I am {{ specialist.title }}.");
    let edited = load_cached(&p.paths, &mut cache);
    assert_same_as_fresh(&p, &edited);
    assert_eq!(spec(&edited, "alpha").system_prompt, "I am Title alpha.\n");

    // An included template counts too.
    p.write("templates/part.j2", "one");
    p.write("templates/specialist.md.j2", "{% include 'part.j2' %}");
    let before = load_cached(&p.paths, &mut cache);
    p.write("templates/part.j2", "two");
    let after = load_cached(&p.paths, &mut cache);
    assert_same_as_fresh(&p, &after);
    assert_eq!(spec(&before, "alpha").system_prompt, "one\n");
    assert_eq!(spec(&after, "alpha").system_prompt, "two\n");

    // A provider setting is not in the prompt but is in the generation.
    let g = spec(&after, "alpha").generation.clone();
    p.write(
        "cadre.toml",
        "[providers.ollama]\nkind = \"ollama\"\nbase_url = \"http://127.0.0.1:1\"\n",
    );
    let moved = load_cached(&p.paths, &mut cache);
    assert_same_as_fresh(&p, &moved);
    assert_ne!(spec(&moved, "alpha").generation, g);

    // A broken template fails every render, and nothing stale is served.
    p.write("templates/specialist.md.j2", "{{ specialist.nope }}");
    let broken = load_cached(&p.paths, &mut cache);
    assert_same_as_fresh(&p, &broken);
    assert!(broken.specs.is_empty() && broken.errors().count() == 3);
    assert!(cache.is_empty());
    p.write("templates/specialist.md.j2", "fixed {{ specialist.name }}");
    let fixed = load_cached(&p.paths, &mut cache);
    assert_eq!(spec(&fixed, "beta").system_prompt, "fixed beta\n");
}

/// Enough specialists to render on several threads: same result as one by one.
#[test]
fn parallel_cold_render_matches_serial() {
    let p = Project::new();
    for i in 0..PARALLEL_MIN + 3 {
        p.specialist(&format!("gen-{i:03}"), &format!("G{i}"), "Hi.");
    }
    let mut cache = RenderCache::default();
    let l = load_cached(&p.paths, &mut cache);
    assert_eq!(l.specs.len(), PARALLEL_MIN + 6);
    let prompter = Prompter::new(&p.paths.templates);
    let roster: Vec<TeamMember> = l
        .specs
        .iter()
        .map(|s| TeamMember {
            name: s.name.to_string(),
            component: s.component.clone(),
            title: s.title.clone(),
            role: s.personality.role.clone(),
            description: s.description.clone(),
            port: s.port,
        })
        .collect();
    for s in &l.specs {
        let team: Vec<TeamMember> = roster
            .iter()
            .filter(|m| m.name != s.name.as_str())
            .cloned()
            .collect();
        let ctx = context_of(s);
        let want = prompter.render(&s.template, &ctx, &team).unwrap();
        assert_eq!(s.system_prompt, want.as_str());
    }
}
