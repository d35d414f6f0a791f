//! `ctx watch`: commits after a quiet period, survives renames and a recreated Claude home,
//! stops cleanly on SIGTERM.
#![cfg(unix)]
mod common;
use common::*;

use std::io::Read;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

const DEADLINE: Duration = Duration::from_secs(30);

fn ready() -> Machine {
    let m = Machine::seeded("m1");
    m.ok(&["init", "--machine", "m1"]);
    m.ok(&["commit"]);
    m
}

fn spawn_watch(m: &Machine, extra: &[&str]) -> Child {
    m.cmd(env!("CARGO_BIN_EXE_ctx"))
        .arg("watch")
        .args(extra)
        .env("CTX_WATCH_QUIET_MS", "200")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn summaries(m: &Machine) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_str(&m.ok(&["log", "--json"])).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|e| e["summary"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Polls the log until a commit whose summary satisfies `want` appears after `after` commits.
fn wait_for(m: &Machine, after: usize, want: impl Fn(&str) -> bool) -> Vec<String> {
    let start = Instant::now();
    loop {
        let s = summaries(m);
        if s.len() > after && s[..s.len() - after].iter().any(|l| want(l)) {
            return s;
        }
        assert!(start.elapsed() < DEADLINE, "no such commit; log: {s:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn stop(mut child: Child) -> (i32, String, String) {
    let status = terminate(&mut child);
    let mut out = String::new();
    let mut err = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (status.code().unwrap_or(-1), out, err)
}

#[test]
fn watch_commits_edits_renames_and_a_recreated_home_then_stops_on_sigterm() {
    let m = ready();
    let child = spawn_watch(&m, &[]);
    let claude_md = m.claude_dir().join("CLAUDE.md");
    let n = summaries(&m).len();
    std::fs::write(&claude_md, "# Edited while watched\n").unwrap();
    let s = wait_for(&m, n, |l| l.contains("CLAUDE.md"));

    // An editor's save: write a temporary file, rename it over the original.
    let settings = m.claude_dir().join("settings.json");
    let mut v = json(&settings);
    v["model"] = "watched-model".into();
    let tmp = m.claude_dir().join(".settings.json.tmp");
    std::fs::write(&tmp, serde_json::to_string_pretty(&v).unwrap()).unwrap();
    std::fs::rename(&tmp, &settings).unwrap();
    let s = wait_for(&m, s.len(), |l| l.contains("settings.json"));

    // The whole Claude home moves away and comes back: nothing is committed as deleted, and
    // edits after it is back are seen (the watch was added again).
    let away = m.home.join(".claude-away");
    std::fs::rename(m.claude_dir(), &away).unwrap();
    std::thread::sleep(Duration::from_millis(700));
    std::fs::rename(&away, m.claude_dir()).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    std::fs::write(&claude_md, "# Back again\n").unwrap();
    let after = wait_for(&m, s.len(), |l| l.contains("CLAUDE.md"));
    for l in &after[..after.len() - s.len()] {
        assert!(
            !l.contains("-settings.json") && !l.contains("-CLAUDE.md"),
            "committed a deletion: {after:?}"
        );
    }
    // A loaded machine can let the watch read the file between the write's truncate and its
    // bytes: that commit holds what it saw, and the next one the rest.
    let start = Instant::now();
    while m.git(&["show", "main:claude/CLAUDE.md"]) != "# Back again\n" {
        assert!(start.elapsed() < DEADLINE, "the edit never reached main");
        std::thread::sleep(Duration::from_millis(100));
    }

    let (code, out, err) = stop(child);
    assert_eq!(code, 0, "{out}\n{err}");
    // One line per commit on stdout.
    assert!(out.lines().count() >= 3, "{out}");
    assert!(out.lines().all(|l| l.contains('[')), "{out}");
}

#[test]
fn sync_every_syncs_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let remote = dir.path().join("remote.git");
    bare_repo(&remote);
    let url = remote.to_string_lossy().to_string();
    let m1 = Machine::seeded("m1");
    m1.ok(&["init", "--machine", "m1", "--remote", &url]);
    m1.ok(&["sync"]);
    let m2 = Machine::empty("m2");
    m2.ok(&["init", "--machine", "m2", "--remote", &url]);
    m2.ok(&["sync"]);
    m1.ok(&["sync"]);
    m1.ok(&["machine", "approve", "m2"]);
    let child = spawn_watch(&m1, &["--sync-every", "1s"]);
    // m1's edit reaches the remote without anyone running sync on m1.
    std::fs::write(m1.claude_dir().join("CLAUDE.md"), "# from m1's watch\n").unwrap();
    // m2's edit reaches m1's live files the same way.
    std::fs::write(
        m2.claude_dir().join("agents/watcher.md"),
        "---\nname: watcher\ndescription: x\n---\nbody\n",
    )
    .unwrap();
    m2.ok(&["sync"]);
    let start = Instant::now();
    loop {
        m2.ok(&["sync"]);
        let got_m1 = std::fs::read_to_string(m2.claude_dir().join("CLAUDE.md"))
            .is_ok_and(|t| t.contains("from m1's watch"));
        let got_m2 = m1.claude_dir().join("agents/watcher.md").exists();
        if got_m1 && got_m2 {
            break;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "no sync: m2 has m1's edit {got_m1}, m1 has m2's {got_m2}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let (code, _, err) = stop(child);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn watch_refuses_a_bad_duration() {
    let m = ready();
    let out = m.fails(&["watch", "--sync-every", "10x"], 2);
    assert!(out.stderr.contains("not a duration"), "{out}");
    assert_eq!(out.stdout, "");
}
