//! One side of a review: a directory as it is on disk, or a git revision
//! materialized into a private temp dir so the normal loader can read it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::config::{Diagnostic, Loaded, ProjectPaths};

/// Why a side could not be resolved or read.
#[derive(Debug, thiserror::Error)]
pub enum SideError {
    #[error(
        "`{arg}` is neither a directory nor a git revision: {dir} is not inside a git work tree"
    )]
    NoRepository { arg: String, dir: PathBuf },
    #[error("`{arg}` is neither a directory nor a revision of the git repository at {repo}")]
    UnknownRevision { arg: String, repo: PathBuf },
    #[error("git {args} failed: {stderr}")]
    Git { args: String, stderr: String },
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> SideError {
    let what = what.into();
    move |source| SideError::Io { what, source }
}

/// A temp dir removed on drop; the library has no `tempfile` dependency.
#[derive(Debug)]
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<TempDir, SideError> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        for attempt in 0..100u32 {
            let p = std::env::temp_dir().join(format!(
                "cadre-diff-{}-{nanos}-{attempt}",
                std::process::id()
            ));
            match std::fs::create_dir(&p) {
                Ok(()) => return Ok(TempDir(p)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(io(format!("creating {}", p.display()))(e)),
            }
        }
        Err(SideError::Io {
            what: "creating a temp dir".into(),
            source: std::io::Error::other("every candidate name exists"),
        })
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A loaded side of the comparison.
#[derive(Debug)]
pub struct Side {
    /// What the user typed (`HEAD~1`, `base/`), or `working tree`.
    pub label: String,
    /// The project root as loaded; diagnostics are shown relative to it.
    pub paths: ProjectPaths,
    pub loaded: Loaded,
    _tmp: Option<TempDir>,
}

impl Side {
    /// The project around `--dir` (its specialists dir) as it is on disk.
    pub fn working_tree(specialists_dir: &Path) -> Side {
        let paths = ProjectPaths::from_specialists_dir(specialists_dir);
        Side::load("working tree".into(), paths, None)
    }

    /// `arg` as a directory when one exists, else as a git revision of the
    /// repository holding `specialists_dir`.
    pub fn resolve(arg: &str, specialists_dir: &Path) -> Result<Side, SideError> {
        let p = Path::new(arg);
        if p.is_dir() {
            let paths = if p.join("specialists.d").is_dir() {
                ProjectPaths::from_specialists_dir(&p.join("specialists.d"))
            } else {
                ProjectPaths::from_specialists_dir(p)
            };
            return Ok(Side::load(arg.to_string(), paths, None));
        }
        Side::revision(arg, specialists_dir)
    }

    fn load(label: String, paths: ProjectPaths, tmp: Option<TempDir>) -> Side {
        let loaded = crate::desired::load(&paths);
        Side {
            label,
            paths,
            loaded,
            _tmp: tmp,
        }
    }

    fn revision(rev: &str, specialists_dir: &Path) -> Result<Side, SideError> {
        let local = ProjectPaths::from_specialists_dir(specialists_dir);
        let root = &local.root;
        let top = match git(root, &["rev-parse", "--show-toplevel"]) {
            Ok(t) => PathBuf::from(t.trim_end_matches(['\n', '\r'])),
            Err(_) => {
                return Err(SideError::NoRepository {
                    arg: rev.into(),
                    dir: root.clone(),
                });
            }
        };
        let commit = format!("{rev}^{{commit}}");
        let sha = git(root, &["rev-parse", "--verify", "--quiet", &commit]).map_err(|_| {
            SideError::UnknownRevision {
                arg: rev.into(),
                repo: top.clone(),
            }
        })?;
        let sha = sha.trim().to_string();

        let abs_root =
            std::fs::canonicalize(root).map_err(io(format!("resolving {}", root.display())))?;
        let abs_top =
            std::fs::canonicalize(&top).map_err(io(format!("resolving {}", top.display())))?;
        let rel_root = abs_root.strip_prefix(&abs_top).unwrap_or(Path::new(""));
        let spec_name = specialists_dir
            .file_name()
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("specialists.d"));

        let tmp = TempDir::new()?;
        let wanted: Vec<String> = [
            spec_name,
            "teams.d".into(),
            "templates".into(),
            "cadre.toml".into(),
        ]
        .iter()
        .map(|p| git_path(&rel_root.join(p)))
        .filter(|p| git(root, &["cat-file", "-e", &format!("{sha}:{p}")]).is_ok())
        .collect();
        if !wanted.is_empty() {
            extract(&abs_top, &sha, &wanted, &tmp.0)?;
        }
        let paths = ProjectPaths::from_specialists_dir(
            &tmp.0.join(rel_root).join(
                specialists_dir
                    .file_name()
                    .unwrap_or("specialists.d".as_ref()),
            ),
        );
        // A revision from before the team existed is an empty team, so a
        // first pull request shows every specialist as added.
        std::fs::create_dir_all(&paths.specialists)
            .map_err(io(format!("creating {}", paths.specialists.display())))?;
        Ok(Side::load(rev.to_string(), paths, Some(tmp)))
    }

    /// Errors of this side with file paths relative to its project root.
    pub fn errors(&self) -> Vec<Diagnostic> {
        self.loaded
            .errors()
            .map(|d| {
                let mut d = d.clone();
                if let Ok(rel) = d.file.strip_prefix(&self.paths.root) {
                    d.file = rel.to_path_buf();
                }
                d
            })
            .collect()
    }

    /// `path` relative to the project root, for output that must not show temp dirs.
    pub fn relative(&self, path: &Path) -> PathBuf {
        path.strip_prefix(&self.paths.root)
            .map(Path::to_path_buf)
            .unwrap_or_else(|_| path.to_path_buf())
    }
}

/// A path as git spells it inside a tree (forward slashes, no leading `./`).
fn git_path(p: &Path) -> String {
    p.components()
        .filter_map(|c| match c {
            std::path::Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Run git in `dir`; stdout on success. Read-only: never takes the
/// index lock a concurrent `git commit` needs.
fn git(dir: &Path, args: &[&str]) -> Result<String, SideError> {
    let out = Command::new("git")
        .arg("--no-optional-locks")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(io("running git"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(SideError::Git {
            args: args.join(" "),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

/// `git archive SHA -- paths | tar -x -C into`.
fn extract(top: &Path, sha: &str, paths: &[String], into: &Path) -> Result<(), SideError> {
    let mut archive = Command::new("git")
        .arg("-C")
        .arg(top)
        .args(["archive", "--format=tar", sha, "--"])
        .args(paths)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(io("running git archive"))?;
    let Some(stdout) = archive.stdout.take() else {
        return Err(SideError::Io {
            what: "git archive".into(),
            source: std::io::Error::other("no stdout"),
        });
    };
    let tar = Command::new("tar")
        .arg("-x")
        .arg("-C")
        .arg(into)
        .stdin(stdout)
        .output()
        .map_err(io("running tar"))?;
    let archived = archive
        .wait_with_output()
        .map_err(io("waiting for git archive"))?;
    if !archived.status.success() {
        return Err(SideError::Git {
            args: format!("archive {sha}"),
            stderr: String::from_utf8_lossy(&archived.stderr).trim().to_string(),
        });
    }
    if !tar.status.success() {
        return Err(SideError::Io {
            what: "tar -x".into(),
            source: std::io::Error::other(String::from_utf8_lossy(&tar.stderr).trim().to_string()),
        });
    }
    Ok(())
}
