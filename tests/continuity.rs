//! Continuity between machines where one repository lives at different paths: auto memory
//! follows the project.
#![cfg(unix)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::Machine;
use serde_json::Value;

const ORIGIN: &str = "git@github.com:acme/webapp.git";

struct Remote {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Remote {
    fn new() -> Remote {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.git");
        common::bare_repo(&path);
        Remote { _dir: dir, path }
    }

    fn url(&self) -> String {
        self.path.to_string_lossy().to_string()
    }

    fn all_objects(&self) -> Vec<u8> {
        let out = std::process::Command::new("git")
            .arg("--git-dir")
            .arg(&self.path)
            .args(["cat-file", "--batch-all-objects", "--batch", "--unordered"])
            .output()
            .unwrap();
        assert!(out.status.success());
        out.stdout
    }
}

/// `a` made the store with the fixture home; `b` (empty) joined and was approved.
fn two_machines() -> (Remote, Machine, Machine) {
    let remote = Remote::new();
    let a = Machine::seeded("a");
    a.ok(&["init", "--machine", "a", "--remote", &remote.url()]);
    a.ok(&["commit"]);
    a.ok(&["sync"]);
    let b = Machine::empty("b");
    b.ok(&["init", "--machine", "b", "--remote", &remote.url()]);
    b.ok(&["sync"]);
    a.ok(&["sync"]);
    a.ok(&["machine", "approve", "b"]);
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    (remote, a, b)
}

/// The project on both machines: `~/code/webapp` on `a`, `~/work/webapp` on `b`. `b` records it
/// after it has `a`'s record (two machines recording one project unsynced conflict on its
/// `last_seen`, a limitation of the project records).
fn on_both(a: &Machine, b: &Machine) -> (PathBuf, PathBuf) {
    let pa = webapp(a, "code/webapp");
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    let pb = webapp(b, "work/webapp");
    b.ok(&["sync"]);
    a.ok(&["sync"]);
    (pa, pb)
}

/// The repository (origin `ORIGIN`) at `~/<rel>` with ctx's hooks installed, which records it.
fn webapp(m: &Machine, rel: &str) -> PathBuf {
    let dir = m.home.join(rel);
    std::fs::create_dir_all(&dir).unwrap();
    m.git_in(&dir, &["init", "-q"]);
    m.git_in(&dir, &["remote", "add", "origin", ORIGIN]);
    std::fs::write(dir.join("README.md"), "# webapp\n").unwrap();
    m.git_in(&dir, &["add", "README.md"]);
    m.git_in(&dir, &["commit", "-qm", "first"]);
    let out = m.run_in(&dir, &["hooks", "install"]);
    assert_eq!(out.code, Some(0), "{out}");
    std::fs::canonicalize(&dir).unwrap()
}

/// Claude Code's folder name for an ASCII path.
fn enc(p: &Path) -> String {
    p.to_string_lossy()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

fn folder(m: &Machine, dir: &Path) -> PathBuf {
    m.claude_dir().join("projects").join(enc(dir))
}

const SID: &str = "5f1c2a3b-0000-4000-8000-00000000a11c";

/// A transcript line as the client writes it.
fn line(uuid: &str, parent: Option<&str>, cwd: &Path, second: u32, text: &str) -> String {
    let v = serde_json::json!({
        "parentUuid": parent,
        "isSidechain": false,
        "cwd": cwd,
        "sessionId": SID,
        "type": if parent.is_none() { "user" } else { "assistant" },
        "message": {"role": "user", "content": text},
        "uuid": uuid,
        "timestamp": format!("2026-01-01T00:{:02}:{:02}.000Z", second / 60, second % 60),
    });
    format!("{v}\n")
}

fn append(path: &Path, text: &str) {
    use std::io::Write;
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

fn uuids(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .map(|v| v["uuid"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn cwds(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .map(|v| v["cwd"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn auto_memory_written_on_one_machine_appears_under_the_other_machines_path() {
    let (_remote, a, b) = two_machines();
    let (pa, pb) = on_both(&a, &b);
    let mem_a = folder(&a, &pa).join("memory");
    std::fs::create_dir_all(&mem_a).unwrap();
    std::fs::write(mem_a.join("MEMORY.md"), "# Memory\n\n- build with pnpm\n").unwrap();
    std::fs::write(mem_a.join("testing.md"), "Run `pnpm test -w`.\n").unwrap();
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    let mem_b = folder(&b, &pb).join("memory");
    assert_eq!(
        std::fs::read_to_string(mem_b.join("MEMORY.md")).unwrap(),
        "# Memory\n\n- build with pnpm\n"
    );
    assert!(mem_b.join("testing.md").is_file());
    // Stored once, under the project's identity, not under either machine's folder name.
    let tree = a.git(&["ls-tree", "-r", "--name-only", "main"]);
    assert!(
        tree.contains("projects/github.com-acme-webapp/memory/MEMORY.md"),
        "{tree}"
    );
    assert!(!tree.contains("-code-webapp"), "{tree}");

    // Both add a line: both keep theirs.
    append(&mem_a.join("MEMORY.md"), "- a: node 22\n");
    append(&mem_b.join("MEMORY.md"), "- b: postgres 16\n");
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    a.ok(&["sync"]);
    for m in [&mem_a, &mem_b] {
        let text = std::fs::read_to_string(m.join("MEMORY.md")).unwrap();
        assert!(
            text.contains("- a: node 22") && text.contains("- b: postgres 16"),
            "{text}"
        );
    }
}

#[test]
fn agent_memory_is_a_user_level_folder() {
    let (_remote, a, b) = two_machines();
    let f = a.claude_dir().join("agent-memory/reviewer/MEMORY.md");
    append(&f, "- prefers small PRs\n");
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    let got = b.claude_dir().join("agent-memory/reviewer/MEMORY.md");
    assert_eq!(
        std::fs::read_to_string(got).unwrap(),
        "- prefers small PRs\n"
    );
}
