//! Continuity between machines where one repository lives at different paths: auto memory
//! follows the project, session transcripts (opt-in) follow it sealed, and are written where
//! `claude --resume` looks on each machine.
#![cfg(unix)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::{approved_pair, Machine, Remote};
use serde_json::Value;

const ORIGIN: &str = "git@github.com:acme/webapp.git";

/// `a` made the store with the fixture home; `b` (empty) joined and was approved.
fn two_machines() -> (Remote, Machine, Machine) {
    approved_pair("a", "b")
}

/// The project on both machines: `~/code/webapp` on `a`, `~/work/webapp` on `b`, each recorded
/// and synced in turn.
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

/// Two machines with the project, sessions enabled, and a session of three lines made on `a`.
fn session_on_a() -> (Remote, Machine, Machine, PathBuf, PathBuf) {
    let (remote, a, b) = two_machines();
    let (pa, pb) = on_both(&a, &b);
    a.ok(&["sessions", "enable"]);
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    let t = folder(&a, &pa).join(format!("{SID}.jsonl"));
    append(
        &t,
        &line(
            "u1",
            None,
            &pa,
            1,
            "SECRET-PROMPT-one refactor the login form",
        ),
    );
    append(&t, &line("u2", Some("u1"), &pa, 2, "SECRET-REPLY-two done"));
    append(
        &t,
        &line("u3", Some("u2"), &pa, 3, "SECRET-PROMPT-three add tests"),
    );
    let sub = folder(&a, &pa).join(SID).join("subagents/agent-x1.jsonl");
    append(&sub, &line("s1", None, &pa, 2, "SECRET-SUBAGENT-line"));
    a.ok(&["sync"]);
    let synced = b.ok(&["sync"]);
    assert!(synced.contains("Wrote 1 session(s)"), "{synced}");
    (remote, a, b, pa, pb)
}

#[test]
fn a_session_made_on_one_machine_is_written_where_resume_looks_on_the_other() {
    let (remote, a, b, pa, pb) = session_on_a();
    let t = folder(&b, &pb).join(format!("{SID}.jsonl"));
    assert_eq!(uuids(&t), ["u1", "u2", "u3"]);
    assert!(
        cwds(&t).iter().all(|c| Path::new(c) == pb),
        "{:?}",
        cwds(&t)
    );
    assert_eq!(
        std::fs::metadata(&t).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let sub = folder(&b, &pb).join(SID).join("subagents/agent-x1.jsonl");
    assert_eq!(uuids(&sub), ["s1"]);
    // Not under a's folder name as well: one folder holds the id.
    assert!(!folder(&b, &pa).exists());

    let show = b.ok(&["sessions", "show", SID]);
    let cmd = format!("cd {} && claude --resume {SID}", pb.display());
    assert!(show.contains(&cmd), "{show}");
    let ls: Value = serde_json::from_str(&b.ok(&["sessions", "ls", "--json"])).unwrap();
    // The fixture home holds a session of ~/code/webapp too: it came along.
    let ours = ls
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == SID)
        .unwrap();
    assert_eq!(ours["machine"], "a");
    assert_eq!(ours["lines"], 3);
    assert_eq!(ours["title"], "SECRET-PROMPT-one refactor the login form");
    let fixture = ls
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] != SID)
        .unwrap();
    assert_eq!(
        fixture["title"],
        "Fix formatDueDate time zone bug in webapp"
    );

    // b goes on with the session; a gets b's turns, its own lines as they were.
    append(
        &t,
        &line("u4", Some("u3"), &pb, 4, "SECRET-REPLY-four from b"),
    );
    b.ok(&["sync"]);
    a.ok(&["sync"]);
    let ta = folder(&a, &pa).join(format!("{SID}.jsonl"));
    assert_eq!(uuids(&ta), ["u1", "u2", "u3", "u4"]);
    assert!(cwds(&ta).iter().all(|c| Path::new(c) == pa));

    // No transcript line in plaintext in any object, local or remote, nor in a commit message.
    for (what, objects) in [
        ("a's store", a.all_objects()),
        ("b's store", b.all_objects()),
        ("the remote", remote.all_objects()),
    ] {
        let text = String::from_utf8_lossy(&objects);
        assert!(
            !text.contains("SECRET-"),
            "{what} holds a transcript line in plaintext"
        );
    }
}

#[test]
fn two_machines_appending_at_once_both_keep_every_line_once() {
    let (_remote, a, b, pa, pb) = session_on_a();
    let ta = folder(&a, &pa).join(format!("{SID}.jsonl"));
    let tb = folder(&b, &pb).join(format!("{SID}.jsonl"));
    append(&ta, &line("a4", Some("u3"), &pa, 10, "from a"));
    append(&tb, &line("b4", Some("u3"), &pb, 11, "from b"));
    append(&tb, &line("b5", Some("b4"), &pb, 12, "more from b"));
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    a.ok(&["sync"]);
    for t in [&ta, &tb] {
        assert_eq!(
            uuids(t),
            ["u1", "u2", "u3", "a4", "b4", "b5"],
            "{}",
            t.display()
        );
    }
    // Nothing new to carry: another round changes nothing.
    let head = a.head();
    a.ok(&["sync"]);
    assert_eq!(a.head(), head);
}

#[test]
fn a_line_being_written_waits_for_the_next_capture() {
    let (_remote, a, b, pa, pb) = session_on_a();
    let ta = folder(&a, &pa).join(format!("{SID}.jsonl"));
    let full = line("u4", Some("u3"), &pa, 4, "half");
    let (first, rest) = full.split_at(20);
    append(&ta, first);
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    let tb = folder(&b, &pb).join(format!("{SID}.jsonl"));
    assert_eq!(uuids(&tb), ["u1", "u2", "u3"]);
    append(&ta, rest);
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    assert_eq!(uuids(&tb), ["u1", "u2", "u3", "u4"]);
}

#[test]
fn a_machine_not_approved_gets_no_session() {
    let (remote, _a, _b, _pa, _pb) = session_on_a();
    let c = Machine::empty("c");
    c.ok(&["init", "--machine", "c", "--remote", &remote.url()]);
    c.ok(&["sync"]);
    let pc = webapp(&c, "src/webapp");
    c.ok(&["sync"]);
    assert!(c
        .git(&["show", "main:projects/github.com-acme-webapp.yaml"])
        .contains("c:"));
    // a does not take c's commits (c is not approved, so not trusted); c has the store's.
    let t = folder(&c, &pc).join(format!("{SID}.jsonl"));
    assert!(!t.exists(), "an unapproved machine got a transcript");
    let ls: Value = serde_json::from_str(&c.ok(&["sessions", "ls", "--json"])).unwrap();
    assert!(
        ls.as_array()
            .unwrap()
            .iter()
            .all(|s| s["readable"] == false),
        "{ls}"
    );
    let projects = c.claude_dir().join("projects");
    assert!(
        common::walk(&projects).is_empty(),
        "{:?}",
        common::walk(&projects)
    );
}

#[test]
fn sessions_idle_past_keep_are_not_carried_forward() {
    let (_remote, a, b, pa, pb) = session_on_a();
    // An old session, captured before retention was set.
    let old = "01d00000-0000-4000-8000-000000000001";
    let t_old = folder(&a, &pa).join(format!("{old}.jsonl"));
    let v = serde_json::json!({"uuid": "o1", "cwd": pa, "type": "user",
        "message": {"content": "old work"}, "timestamp": "2025-03-01T00:00:00Z"});
    append(&t_old, &format!("{v}\n"));
    a.ok(&["sync"]);
    let tree = a.git(&["ls-tree", "-r", "--name-only", "main"]);
    assert!(
        tree.contains(&format!("sessions/github.com-acme-webapp/{old}/")),
        "{tree}"
    );
    // keep: 30d, set as a person would in ctx.yaml.
    let manifest = a.git(&["show", "main:ctx.yaml"]);
    let manifest = manifest.replace("enabled: true", "enabled: true\n  keep: 30d");
    a.commit_to_store("ctx.yaml", &manifest, "keep sessions 30 days");
    a.ok(&["sync"]);
    let tree = a.git(&["ls-tree", "-r", "--name-only", "main"]);
    assert!(!tree.contains(old), "{tree}");
    assert!(tree.contains(SID), "{tree}");
    // History keeps it.
    let log = a.git(&["log", "--all", "--name-only", "--format="]);
    assert!(log.contains(old));
    b.ok(&["sync"]);
    assert!(!folder(&b, &pb).join(format!("{old}.jsonl")).exists());
    assert!(folder(&b, &pb).join(format!("{SID}.jsonl")).exists());
}

#[test]
fn status_and_log_summarise_sessions_without_their_words() {
    let (_remote, a, _b, pa, _pb) = session_on_a();
    let ta = folder(&a, &pa).join(format!("{SID}.jsonl"));
    append(&ta, &line("u4", Some("u3"), &pa, 4, "SECRET-PROMPT-status"));
    append(&ta, &line("u5", Some("u4"), &pa, 5, "SECRET-REPLY-status"));
    let status = a.ok(&["status"]);
    assert!(
        status.contains("sessions: 1 with 2 new line(s)"),
        "{status}"
    );
    assert!(!status.contains("SECRET-"), "{status}");
    a.ok(&["commit"]);
    let log = a.ok(&["log"]);
    assert!(log.contains("sessions: 1 session(s), +2 line(s)"), "{log}");
    assert!(!log.contains("SECRET-"), "{log}");
}

#[test]
fn doctor_names_sessions_whose_project_is_not_checked_out_here() {
    let (remote, a, _b, _pa, _pb) = session_on_a();
    let c = Machine::empty("c");
    c.ok(&["init", "--machine", "c", "--remote", &remote.url()]);
    c.ok(&["sync"]);
    a.ok(&["sync"]);
    a.ok(&["machine", "approve", "c"]);
    a.ok(&["sync"]);
    c.ok(&["sync"]);
    // Approved after the chunks were written: approving sealed them again to it.
    let listed: serde_json::Value =
        serde_json::from_str(&c.ok(&["sessions", "ls", "--json"])).unwrap();
    let all = listed.as_array().unwrap();
    assert!(!all.is_empty());
    assert!(all.iter().all(|s| s["readable"] == true), "{listed}");
    let doctor = c.run(&["doctor"]);
    assert!(
        doctor
            .stdout
            .contains("session(s) of 1 project(s) with no checkout on this machine"),
        "{doctor}"
    );
}

#[test]
fn a_sessions_plans_and_tasks_travel_with_it_and_others_stay() {
    let (remote, a, b, pa, pb) = session_on_a();
    let slug = "brisk-wandering-otter";
    let ta = folder(&a, &pa).join(format!("{SID}.jsonl"));
    let v = serde_json::json!({"parentUuid": "u3", "uuid": "u4", "cwd": pa, "sessionId": SID,
        "type": "assistant", "slug": slug, "message": {"role": "assistant", "content": "planned"},
        "timestamp": "2026-01-01T00:00:04.000Z"});
    append(&ta, &format!("{v}\n"));
    let plans = a.claude_dir().join("plans");
    std::fs::create_dir_all(&plans).unwrap();
    std::fs::write(plans.join(format!("{slug}.md")), "# SECRET-PLAN\n1. form\n").unwrap();
    std::fs::write(plans.join(format!("{slug}-agent-a1b2.md")), "agent plan\n").unwrap();
    std::fs::write(plans.join("someone-elses-plan.md"), "not this session's\n").unwrap();
    let tasks = a.claude_dir().join("tasks").join(SID);
    std::fs::create_dir_all(&tasks).unwrap();
    std::fs::write(
        tasks.join("1.json"),
        r#"{"id":"1","subject":"SECRET-TASK"}"#,
    )
    .unwrap();
    std::fs::write(tasks.join(".lock"), "").unwrap();
    a.ok(&["sync"]);
    b.ok(&["sync"]);

    let bplans = b.claude_dir().join("plans");
    let plan = bplans.join(format!("{slug}.md"));
    assert_eq!(
        std::fs::read_to_string(&plan).unwrap(),
        "# SECRET-PLAN\n1. form\n"
    );
    assert!(bplans.join(format!("{slug}-agent-a1b2.md")).is_file());
    assert!(!bplans.join("someone-elses-plan.md").exists());
    let task = b.claude_dir().join("tasks").join(SID).join("1.json");
    assert!(std::fs::read_to_string(&task)
        .unwrap()
        .contains("SECRET-TASK"));
    assert!(!b
        .claude_dir()
        .join("tasks")
        .join(SID)
        .join(".lock")
        .exists());
    assert_eq!(
        std::fs::metadata(&plan).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // b goes on with the plan; a gets it back with the session.
    std::fs::write(&plan, "# SECRET-PLAN\n1. form\n2. tests\n").unwrap();
    let tb = folder(&b, &pb).join(format!("{SID}.jsonl"));
    append(&tb, &line("u5", Some("u4"), &pb, 5, "plan updated"));
    b.ok(&["sync"]);
    a.ok(&["sync"]);
    assert_eq!(
        std::fs::read_to_string(plans.join(format!("{slug}.md"))).unwrap(),
        "# SECRET-PLAN\n1. form\n2. tests\n"
    );
    for (what, objects) in [
        ("a's store", a.all_objects()),
        ("the remote", remote.all_objects()),
    ] {
        let text = String::from_utf8_lossy(&objects);
        assert!(
            !text.contains("SECRET-"),
            "{what} holds a plan or task in plaintext"
        );
    }
}

#[test]
fn past_max_size_only_the_newest_sessions_are_carried_and_nothing_live_is_deleted() {
    let (_remote, a, b, pa, pb) = session_on_a();
    let tree_sessions = |m: &Machine| {
        let tree = m.git(&["ls-tree", "-r", "--name-only", "main"]);
        let mut ids: Vec<String> = tree
            .lines()
            .filter_map(|l| l.strip_prefix("sessions/"))
            .filter_map(|l| l.split('/').nth(1).map(String::from))
            .collect();
        ids.dedup();
        ids
    };
    // The fixture's session (August) and ours (January) are both carried.
    assert_eq!(tree_sessions(&a).len(), 2, "{:?}", tree_sessions(&a));
    let bad = a.run(&["config", "set", "sessions.max_size", "lots"]);
    assert_ne!(bad.code, Some(0), "{bad}");
    assert!(bad.stderr.contains("500M"), "{bad}");
    a.ok(&["config", "set", "sessions.max_size", "1K"]);
    a.ok(&["sync"]);
    let left = tree_sessions(&a);
    assert_eq!(left.len(), 1, "{left:?}");
    assert_ne!(
        left[0], SID,
        "the newest (the fixture's) is the one carried"
    );
    let log = a.git(&["log", "--all", "--name-only", "--format="]);
    assert!(log.contains(SID), "history keeps it");
    b.ok(&["sync"]);
    // Neither machine's live copy is touched.
    assert!(folder(&a, &pa).join(format!("{SID}.jsonl")).is_file());
    assert!(folder(&b, &pb).join(format!("{SID}.jsonl")).is_file());
    assert_eq!(a.ok(&["config", "get", "sessions.max_size"]).trim(), "1K");
}

#[test]
fn two_machines_recording_one_project_before_syncing_do_not_conflict() {
    let (_remote, a, b) = two_machines();
    let pa = webapp(&a, "code/webapp");
    let pb = webapp(&b, "work/webapp");
    a.ok(&["sync"]);
    let synced = b.run(&["sync"]);
    assert_eq!(synced.code, Some(0), "{synced}");
    a.ok(&["sync"]);
    let record = a.git(&["show", "main:projects/github.com-acme-webapp.yaml"]);
    assert!(
        record.contains("code/webapp") && record.contains("work/webapp"),
        "{record}"
    );
    assert!(!record.contains("<<<<<<<"), "{record}");
    assert_eq!(a.head(), b.head());
    let record = record.replace("${CTX_HOME}", "");
    for (m, p) in [(&a, &pa), (&b, &pb)] {
        let rel = p
            .strip_prefix(&m.home)
            .unwrap()
            .to_string_lossy()
            .to_string();
        assert!(record.contains(&rel), "{record}");
    }
}
