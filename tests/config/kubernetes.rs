//! deploy/kubernetes: what render.py writes is what kustomization.yaml
//! applies, validates against Kubernetes' schema (`kubernetes-validate
//! --strict`, offline), carries every project file byte for byte to the path
//! cadre reads it from, and that project passes `cadre check`.
//!
//! Needs `kubernetes-validate` (and its PyYAML) in the venv `.venv-llm`
//! (scripts/ci-kubernetes.sh); skipped outside CI when it is missing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_cadre");

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The venv's python, when kubernetes-validate is installed there.
fn venv() -> Option<PathBuf> {
    let bin = repo().join(".venv-llm/bin");
    if bin.join("kubernetes-validate").is_file() {
        return Some(bin);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "kubernetes-validate is missing; CI must run this test: scripts/ci-kubernetes.sh"
    );
    println!(
        "skipping: kubernetes-validate not found in .venv-llm; install it with scripts/ci-kubernetes.sh"
    );
    None
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("run");
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn render(root: &Path, out: &Path) -> Output {
    Command::new("python3")
        .arg(repo().join("deploy/kubernetes/render.py"))
        .arg("--root")
        .arg(root)
        .arg("--out")
        .arg(out)
        .output()
        .expect("python3")
}

/// Every YAML document of `file`, parsed by PyYAML, as JSON.
fn yaml(venv: &Path, file: &Path) -> Vec<Value> {
    let script = "import json,sys,yaml; print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1], encoding='utf-8')))))";
    let out = run(Command::new(venv.join("python"))
        .args(["-c", script])
        .arg(file));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// key → path of the project volume's items.
fn items(deployment: &Value) -> BTreeMap<String, String> {
    let volumes = deployment["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .unwrap();
    let project = volumes.iter().find(|v| v["name"] == "project").unwrap();
    project["configMap"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["key"].as_str().unwrap().into(),
                i["path"].as_str().unwrap().into(),
            )
        })
        .collect()
}

/// (path in the project, repository file) of everything the pod must see.
fn project_sources() -> Vec<(String, PathBuf)> {
    let mut expected: Vec<(String, PathBuf)> = vec![(
        "cadre.toml".into(),
        repo().join("deploy/kubernetes/cadre.toml"),
    )];
    for dir in ["specialists.d", "templates", "teams.d"] {
        let Ok(rd) = std::fs::read_dir(repo().join(dir)) else {
            continue;
        };
        for f in rd {
            let f = f.unwrap();
            expected.push((
                format!("{dir}/{}", f.file_name().to_string_lossy()),
                f.path(),
            ));
        }
    }
    expected
}

/// Check every file's bytes in the ConfigMap and lay them out as kubelet
/// would under `project`.
fn mount(
    cm: &Value,
    items: &BTreeMap<String, String>,
    expected: &[(String, PathBuf)],
    project: &Path,
) {
    let by_path: BTreeMap<&str, &str> = items
        .iter()
        .map(|(k, p)| (p.as_str(), k.as_str()))
        .collect();
    for (path, src) in expected {
        let key = by_path
            .get(path.as_str())
            .unwrap_or_else(|| panic!("no item for {path}"));
        let data = cm["data"][key].as_str().unwrap();
        assert_eq!(data.as_bytes(), std::fs::read(src).unwrap(), "{path}");
        let dest = project.join(path);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::write(dest, data).unwrap();
    }
}

fn service_has_pinned_ports(svc: &Value, expected: &[(String, PathBuf)]) {
    let ports: Vec<u64> = svc["spec"]["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["port"].as_u64().unwrap())
        .collect();
    assert!(ports.contains(&44999));
    for (path, src) in expected
        .iter()
        .filter(|(p, _)| p.starts_with("specialists.d/"))
    {
        let spec: toml::Table = toml::from_str(&std::fs::read_to_string(src).unwrap()).unwrap();
        if let Some(port) = spec.get("port").and_then(|p| p.as_integer()) {
            assert!(
                ports.contains(&(port as u64)),
                "{path}: port {port} not in the Service"
            );
        }
    }
}

#[test]
fn rendered_manifests_validate_and_carry_the_whole_project() {
    let Some(venv) = venv() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("generated");
    let r = render(repo(), &out);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));

    // kustomization.yaml applies exactly these files, in this order.
    let kust = &yaml(&venv, &repo().join("deploy/kubernetes/kustomization.yaml"))[0];
    let listed: Vec<&str> = kust["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let names = ["configmap.yaml", "service.yaml", "deployment.yaml"];
    assert_eq!(listed, names.map(|n| format!("generated/{n}")));
    let files: Vec<PathBuf> = names.iter().map(|n| out.join(n)).collect();
    let v = run(Command::new(venv.join("kubernetes-validate"))
        .arg("--strict")
        .args(&files));
    let said =
        String::from_utf8_lossy(&v.stdout).into_owned() + &String::from_utf8_lossy(&v.stderr);
    assert_eq!(said.matches("passed").count(), 3, "{said}");

    let [cm, svc, dep] = [0, 1, 2].map(|i| yaml(&venv, &files[i]).remove(0));
    // Every file reaches its path with its exact bytes.
    let items = items(&dep);
    let expected = project_sources();
    assert_eq!(items.len(), expected.len(), "{items:#?}");
    let project = tmp.path().join("project");
    mount(&cm, &items, &expected, &project);
    // The mounted project is valid as cadre sees it.
    run(Command::new(BIN)
        .arg("check")
        .arg("--dir")
        .arg(project.join("specialists.d")));

    // Every pinned port is in the Service; the pod runs `up` on the mount.
    service_has_pinned_ports(&svc, &expected);
    let pod = &dep["spec"]["template"]["spec"];
    let c = &pod["containers"][0];
    let args: Vec<&str> = c["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(&args[..3], ["up", "--dir", "/project/specialists.d"]);
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    // The grace period covers the preStop pause and cadre.toml's drain timeout.
    let toml: toml::Table =
        toml::from_str(&std::fs::read_to_string(&expected[0].1).unwrap()).unwrap();
    let drain =
        humantime::parse_duration(toml["limits"]["drain_timeout"].as_str().unwrap()).unwrap();
    let pause = c["lifecycle"]["preStop"]["sleep"]["seconds"]
        .as_u64()
        .unwrap();
    assert!(pod["terminationGracePeriodSeconds"].as_u64().unwrap() > pause + drain.as_secs() + 2);

    // --stdout is the same documents as one stream.
    let stream = run(Command::new("python3")
        .arg(repo().join("deploy/kubernetes/render.py"))
        .arg("--stdout"));
    let joined: Vec<String> = files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect();
    assert_eq!(
        String::from_utf8(stream.stdout).unwrap(),
        joined.join("---\n")
    );
}

#[test]
fn any_text_survives_the_configmap_byte_for_byte_and_bad_names_are_refused() {
    let Some(venv) = venv() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    std::fs::create_dir_all(root.join("specialists.d")).unwrap();
    std::fs::create_dir_all(root.join("templates/partials")).unwrap();
    let texts: [(&str, &str); 9] = [
        (
            "specialists.d/a.toml",
            "  leading spaces\ntrailing spaces   \n\ttab\n",
        ),
        ("specialists.d/b.toml", "crlf\r\nline\r\n"),
        ("specialists.d/c.toml", "no newline at the end"),
        ("specialists.d/d.toml", "many newlines\n\n\n"),
        (
            "specialists.d/e.toml",
            "---\nkey: value\n...\n- item\n\"quoted\" 'x' \\ back\n",
        ),
        (
            "specialists.d/f.toml",
            "bom \u{feff} nel \u{85} ls \u{2028} emoji 😀 del \u{7f}\n",
        ),
        (
            "specialists.d/true.toml",
            "a key YAML would read as a boolean\n",
        ),
        ("templates/partials/x.md.j2", ""),
        ("templates/y.md.j2", "\n"),
    ];
    for (path, text) in texts {
        std::fs::write(root.join(path), text).unwrap();
    }
    std::fs::write(root.join("specialists.d/.hidden.toml"), "skipped").unwrap();
    std::fs::write(root.join("specialists.d/g.toml~"), "skipped").unwrap();
    let out = tmp.path().join("out");
    let r = render(&root, &out);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let cm = yaml(&venv, &out.join("configmap.yaml")).remove(0);
    let items = items(&yaml(&venv, &out.join("deployment.yaml")).remove(0));
    assert_eq!(items.len(), texts.len() + 1, "{items:#?}");
    for (path, text) in texts {
        let key = path.replace('/', "__");
        assert_eq!(items[&key], path);
        assert_eq!(cm["data"][&key].as_str(), Some(text), "{path}");
    }
    let v = Command::new(venv.join("kubernetes-validate"))
        .arg("--strict")
        .arg(out.join("configmap.yaml"))
        .output()
        .unwrap();
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stdout));

    // A name that cannot be a ConfigMap key is refused, naming the file.
    std::fs::write(root.join("specialists.d/bad name.toml"), "x").unwrap();
    let r = render(&root, &out);
    assert_eq!(r.status.code(), Some(1));
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(
        err.contains("specialists.d/bad name.toml: a ConfigMap key can hold only"),
        "{err}"
    );
}
