//! `claude --resume` on another machine, with the real Claude Code client against the fake
//! Messages API: a session made on `a` in `~/code/webapp` resumes on `b` in `~/work/webapp`
//! (same origin), sending `a`'s turns; `a`'s auto memory is in `b`'s first request; `b`'s turn
//! comes back to `a`. Skips where the client cannot be had (see `tests/common/claude.rs`).
#![cfg(unix)]

mod common;

use std::path::{Path, PathBuf};

use common::claude::{self, FakeApi, Reply};
use common::Machine;

fn remote() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.git");
    common::bare_repo(&path);
    let url = path.to_string_lossy().to_string();
    (dir, url)
}

fn webapp(m: &Machine, rel: &str) -> PathBuf {
    let dir = m.home.join(rel);
    std::fs::create_dir_all(&dir).unwrap();
    m.git_in(&dir, &["init", "-q"]);
    m.git_in(
        &dir,
        &["remote", "add", "origin", "git@github.com:acme/webapp.git"],
    );
    std::fs::write(dir.join("README.md"), "# webapp\n").unwrap();
    m.git_in(&dir, &["add", "README.md"]);
    m.git_in(&dir, &["commit", "-qm", "first"]);
    let out = m.run_in(&dir, &["hooks", "install"]);
    assert_eq!(out.code, Some(0), "{out}");
    std::fs::canonicalize(&dir).unwrap()
}

fn folder(m: &Machine, dir: &Path) -> PathBuf {
    let name: String = dir
        .to_string_lossy()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    m.claude_dir().join("projects").join(name)
}

/// Session ids in a project folder.
fn sessions(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| {
                    let n = e.file_name().to_string_lossy().to_string();
                    n.strip_suffix(".jsonl").map(String::from)
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

#[test]
fn a_session_started_on_one_machine_resumes_on_the_other_with_its_memory() {
    let Some(claude) = claude::client() else {
        return;
    };
    let (_dir, url) = remote();
    let a = Machine::seeded("a");
    a.ok(&["init", "--machine", "a", "--remote", &url]);
    a.ok(&["sessions", "enable"]);
    a.ok(&["sync"]);
    let b = Machine::empty("b");
    b.ok(&["init", "--machine", "b", "--remote", &url]);
    b.ok(&["sync"]);
    a.ok(&["sync"]);
    a.ok(&["machine", "approve", "b"]);
    let pa = webapp(&a, "code/webapp");
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    let pb = webapp(&b, "work/webapp");
    b.ok(&["sync"]);

    let memory = folder(&a, &pa).join("memory");
    std::fs::create_dir_all(&memory).unwrap();
    std::fs::write(
        memory.join("MEMORY.md"),
        "# Memory\n\n- MEMO-7731: the API lives in server/\n",
    )
    .unwrap();
    a.ok(&["sync"]);
    let before = sessions(&folder(&a, &pa));
    let api_a = FakeApi::with_script(vec![Reply::text("ANSWER-A-4410")]);
    let run = claude.print(&a, &api_a, &pa, "QUESTION-A-4410 where is the API?", &[]);
    assert_eq!(run.code, Some(0), "claude on a:\n{run}");
    let made: Vec<String> = sessions(&folder(&a, &pa))
        .into_iter()
        .filter(|s| !before.contains(s))
        .collect();
    assert_eq!(made.len(), 1, "{made:?}");
    let id = &made[0];
    a.ok(&["sync"]);
    b.ok(&["sync"]);

    let t = folder(&b, &pb).join(format!("{id}.jsonl"));
    assert!(
        t.is_file(),
        "not written where resume looks: {}",
        t.display()
    );
    let api_b = FakeApi::with_script(vec![Reply::text("ANSWER-B-5521")]);
    let run = claude.print(
        &b,
        &api_b,
        &pb,
        "QUESTION-B-5521 and the tests?",
        &["--resume", id],
    );
    assert_eq!(run.code, Some(0), "claude --resume on b:\n{run}");
    assert_eq!(run.stdout.trim(), "ANSWER-B-5521", "{run}");
    let sent = api_b.all_text();
    for earlier in ["QUESTION-A-4410", "ANSWER-A-4410", "QUESTION-B-5521"] {
        assert!(
            sent.contains(earlier),
            "b's request lacks {earlier}:\n{sent}"
        );
    }
    let first = serde_json::to_string(&api_b.requests()[0]).unwrap();
    assert!(
        first.contains("MEMO-7731"),
        "a's memory not in b's first request"
    );

    // `--continue` picks the most recent session of the folder: the one a started.
    let api_c = FakeApi::with_script(vec![Reply::text("ANSWER-C-6632")]);
    let run = claude.print(&b, &api_c, &pb, "QUESTION-C-6632 one more", &["--continue"]);
    assert_eq!(run.code, Some(0), "claude --continue on b:\n{run}");
    let sent = api_c.all_text();
    for earlier in ["QUESTION-A-4410", "ANSWER-A-4410", "QUESTION-B-5521"] {
        assert!(
            sent.contains(earlier),
            "b's --continue request lacks {earlier}:\n{sent}"
        );
    }

    b.ok(&["sync"]);
    a.ok(&["sync"]);
    let back = std::fs::read_to_string(folder(&a, &pa).join(format!("{id}.jsonl"))).unwrap();
    for turn in [
        "QUESTION-B-5521",
        "ANSWER-B-5521",
        "QUESTION-C-6632",
        "ANSWER-C-6632",
    ] {
        assert!(back.contains(turn), "a lacks {turn}");
    }
}
