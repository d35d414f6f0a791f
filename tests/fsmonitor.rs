//! `ctx watch` as an fsmonitor: while it runs, `status` takes unchanged files on its word
//! (neither read nor stat'ed), and still sees every change, including those the watch cannot
//! see: behind a symlink, and through another hard link.
#![cfg(unix)]
mod common;
use common::*;

use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

const DEADLINE: Duration = Duration::from_secs(30);

fn status(m: &Machine) -> serde_json::Value {
    serde_json::from_str(&m.ok(&["status", "--json"])).unwrap()
}

fn changed(s: &serde_json::Value) -> Vec<String> {
    let mut paths: Vec<String> = s["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect();
    paths.sort();
    paths
}

fn vouched(s: &serde_json::Value) -> u64 {
    s["watch_vouched"].as_u64().unwrap()
}

/// A watch that does not commit during the test: its quiet period is 20 s. (A longer one
/// would slow its stop: the debouncer's thread wakes a few times per period.)
fn spawn_watch(m: &Machine) -> Child {
    m.cmd(env!("CARGO_BIN_EXE_ctx"))
        .arg("watch")
        .env("CTX_WATCH_QUIET_MS", "20000")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[test]
fn status_takes_unchanged_files_on_the_watchs_word_and_still_sees_every_change() {
    let m = Machine::seeded("m1");

    // A skill linked in from a checkout elsewhere: the watch sees nothing behind the link.
    let outside = m.root.join("checkout/linked-skill");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("SKILL.md"), "---\nname: linked\n---\nOne.\n").unwrap();
    std::os::unix::fs::symlink(&outside, m.claude_dir().join("skills/linked-skill")).unwrap();
    // A command hard-linked from elsewhere: a write through the other name raises no event in
    // the Claude home.
    let hard = m.root.join("checkout/hard.md");
    std::fs::write(&hard, "# Hard\n\nOne.\n").unwrap();
    std::fs::hard_link(&hard, m.claude_dir().join("commands/hard.md")).unwrap();
    m.ok(&["init", "--machine", "m1"]);
    m.ok(&["commit"]);
    // The stat cache keeps only files older than two seconds.
    std::thread::sleep(Duration::from_millis(2_200));
    let before = status(&m);
    assert_eq!(vouched(&before), 0, "no watch runs yet");
    assert!(changed(&before).is_empty(), "{before}");

    let mut watch = spawn_watch(&m);
    let start = Instant::now();
    let quiet = loop {
        let s = status(&m);
        if vouched(&s) > 0 {
            break s;
        }
        assert!(start.elapsed() < DEADLINE, "the watch never vouched: {s}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(changed(&quiet).is_empty(), "{quiet}");

    let skills = m.claude_dir().join("skills");
    std::fs::write(
        skills.join("pr-summary/references/extra.md"),
        "# New reference\n",
    )
    .unwrap();
    let sql = skills.join("sql-review/SKILL.md");
    let text = std::fs::read_to_string(&sql).unwrap();
    std::fs::write(&sql, text.replace("SQL", "Sql")).unwrap();
    std::fs::remove_file(m.claude_dir().join("commands/changelog.md")).unwrap();
    let fix = m.claude_dir().join("commands/fix-lint.md");
    std::fs::set_permissions(&fix, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::create_dir_all(skills.join("brand-new")).unwrap();
    std::fs::write(skills.join("brand-new/SKILL.md"), "---\nname: new\n---\n").unwrap();
    std::fs::write(outside.join("SKILL.md"), "---\nname: linked\n---\nTwo.\n").unwrap();
    std::fs::write(&hard, "# Hard\n\nTwo.\n").unwrap();

    let want = [
        "claude/commands/changelog.md",
        "claude/commands/fix-lint.md",
        "claude/commands/hard.md",
        "claude/skills/brand-new/SKILL.md",
        "claude/skills/linked-skill/SKILL.md",
        "claude/skills/pr-summary/references/extra.md",
        "claude/skills/sql-review/SKILL.md",
    ];
    // Right after the edits, and again: the watch's answer covers what the caches miss.
    for _ in 0..2 {
        let s = status(&m);
        assert_eq!(changed(&s), want, "{s}");
        assert!(
            vouched(&s) > 0,
            "the untouched files are still vouched for: {s}"
        );
    }
    m.ok(&["commit"]);
    let after = status(&m);
    assert!(changed(&after).is_empty(), "{after}");
    terminate(&mut watch);

    // Without the watch, nothing is taken on its word, and a change is still seen.
    std::fs::write(outside.join("SKILL.md"), "---\nname: linked\n---\nThree.\n").unwrap();
    let alone = status(&m);
    assert_eq!(vouched(&alone), 0, "{alone}");
    assert_eq!(changed(&alone), ["claude/skills/linked-skill/SKILL.md"]);
    assert!(!m.store().join("ctx/watch.sock").exists());
}
