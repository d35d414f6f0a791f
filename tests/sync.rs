//! `ctx sync` between sandboxed machines and a bare remote: join, approve, concurrent edits,
//! conflicts, deletions, offline, racing pushes, revoke, a wrong key.

mod common;

use std::path::Path;

use common::{approved_pair, Machine, Remote, FIXTURE_SECRETS};
use serde_json::Value;

/// A bare git repository playing the remote.
fn json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn settings(m: &Machine) -> Value {
    json(&m.claude_dir().join("settings.json"))
}

fn edit_settings(m: &Machine, f: impl FnOnce(&mut Value)) {
    let path = m.claude_dir().join("settings.json");
    let mut v = json(&path);
    f(&mut v);
    std::fs::write(&path, serde_json::to_string_pretty(&v).unwrap() + "\n").unwrap();
}

fn allow(m: &Machine) -> Vec<String> {
    settings(m)["permissions"]["allow"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

fn add_allow(m: &Machine, rule: &str) {
    edit_settings(m, |v| {
        v["permissions"]["allow"]
            .as_array_mut()
            .unwrap()
            .push(Value::String(rule.into()))
    });
}

fn mcp(m: &Machine) -> Value {
    json(&m.claude_json())["mcpServers"].clone()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// m1 creates the store on the remote with the fixture home; m2 (empty home) joins and is approved.
fn two_machines() -> (Remote, Machine, Machine) {
    approved_pair("m1", "m2")
}

fn join(remote: &Remote, name: &str, approver: &Machine) -> Machine {
    let m = Machine::empty(name);
    m.ok(&["init", "--machine", name, "--remote", &remote.url()]);
    approver.ok(&["sync"]);
    approver.ok(&["machine", "approve", name]);
    approver.ok(&["sync"]);
    m.ok(&["sync"]);
    m
}

fn assert_no_secret_in(objects: &[u8], what: &str) {
    let text = String::from_utf8_lossy(objects);
    for s in FIXTURE_SECRETS {
        assert!(!text.contains(s), "{what} holds the plaintext secret {s}");
    }
}

#[test]
fn a_joined_machine_gets_everything_but_secrets_until_approved() {
    let remote = Remote::new();
    let m1 = Machine::seeded("m1");
    let out = m1.ok(&["init", "--machine", "m1", "--remote", &remote.url()]);
    assert!(out.contains("remote"), "{out}");
    assert!(remote.head().is_some(), "the first init pushes the store");
    m1.ok(&["commit"]);
    let out = m1.ok(&["sync"]);
    assert!(out.contains("pushed"), "{out}");
    assert_eq!(remote.head().unwrap(), m1.head());

    let m2 = Machine::empty("m2");
    let out = m2.ok(&["init", "--machine", "m2", "--remote", &remote.url()]);
    assert!(out.contains("joined"), "{out}");
    let joined = m2.ctx(&["init", "--machine", "m2", "--remote", &remote.url()]);
    assert!(
        stdout(&joined).contains("Nothing changed"),
        "{}",
        stdout(&joined)
    );
    let out = m2.ctx(&["sync"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // Everything arrived, paths mapped to this home.
    assert_eq!(settings(&m2)["model"], settings(&m1)["model"]);
    assert!(m2
        .claude_dir()
        .join("skills/pr-summary/scripts/collect_diff.sh")
        .exists());
    let text = std::fs::read_to_string(m2.claude_dir().join("settings.json")).unwrap();
    assert!(
        text.contains(&*m2.home.to_string_lossy()),
        "home paths restored for m2"
    );
    // Secrets: not readable yet, never written as ciphertext, and said so.
    let servers = mcp(&m2);
    assert_eq!(servers["github"]["command"], "npx");
    assert!(servers["github"]["env"]
        .get("GITHUB_PERSONAL_ACCESS_TOKEN")
        .is_none());
    let live = std::fs::read_to_string(m2.claude_json()).unwrap();
    assert!(!live.contains("ENC[age:"), "ciphertext in a live config");
    assert!(stderr(&out).contains("cannot read"), "{}", stderr(&out));
    // m2's capture of those files changes nothing in the store.
    let status = m2.ok(&["status", "--json"]);
    let status: Value = serde_json::from_str(&status).unwrap();
    assert_eq!(status["files"], serde_json::json!([]), "{status}");

    // Approve on m1; m2 now reads the secrets.
    m1.ok(&["sync"]);
    let ls: Value = serde_json::from_str(&m1.ok(&["machine", "ls", "--json"])).unwrap();
    let m2_row = ls
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "m2")
        .unwrap();
    assert_eq!(m2_row["can_read_secrets"], false);
    let out = m1.ok(&["machine", "approve", "m2"]);
    assert!(out.contains("re-encrypted"), "{out}");
    m1.ok(&["sync"]);
    m2.ok(&["sync"]);
    assert_eq!(
        mcp(&m2)["github"]["env"]["GITHUB_PERSONAL_ACCESS_TOKEN"],
        mcp(&m1)["github"]["env"]["GITHUB_PERSONAL_ACCESS_TOKEN"]
    );
    let ls: Value = serde_json::from_str(&m2.ok(&["machine", "ls", "--json"])).unwrap();
    assert!(ls
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["can_read_secrets"] == true));
    assert_no_secret_in(&remote.all_objects(), "the remote");
    assert_no_secret_in(&m2.all_objects(), "m2's store");
}

#[test]
fn concurrent_edits_to_different_fields_converge_on_three_machines() {
    let (remote, m1, m2) = two_machines();
    let m3 = join(&remote, "m3", &m1);
    // Converging is the point here; the review gate has its own tests.
    for m in [&m1, &m2, &m3] {
        m.review_off();
    }
    add_allow(&m1, "Bash(cargo test *)");
    add_allow(&m2, "Bash(make *)");
    edit_settings(&m3, |v| v["env"]["RUST_LOG"] = "debug".into());
    // m3 also adds an MCP server; m2 changes CLAUDE.md.
    let mut doc = json(&m3.claude_json());
    doc["mcpServers"]["brave"] = serde_json::json!({"command": "npx", "args": ["-y", "brave"]});
    std::fs::write(
        m3.claude_json(),
        serde_json::to_string_pretty(&doc).unwrap(),
    )
    .unwrap();
    let claude_md = m2.claude_dir().join("CLAUDE.md");
    let mut md = std::fs::read_to_string(&claude_md).unwrap();
    md.push_str("\n## From m2\n\nPrefer small commits.\n");
    std::fs::write(&claude_md, md).unwrap();

    for m in [&m1, &m2, &m3, &m1, &m2] {
        let out = m.ctx(&["sync"]);
        assert!(out.status.success(), "{}: {}", m.name, stderr(&out));
    }
    for m in [&m1, &m2, &m3] {
        let a = allow(m);
        assert!(
            a.contains(&"Bash(cargo test *)".to_string()),
            "{}: {a:?}",
            m.name
        );
        assert!(a.contains(&"Bash(make *)".to_string()), "{}: {a:?}", m.name);
        assert_eq!(settings(m)["env"]["RUST_LOG"], "debug", "{}", m.name);
        assert_eq!(mcp(m)["brave"]["command"], "npx", "{}", m.name);
        let md = std::fs::read_to_string(m.claude_dir().join("CLAUDE.md")).unwrap();
        assert!(md.contains("Prefer small commits."), "{}", m.name);
        // Secrets survived the merges on every machine.
        assert_eq!(
            mcp(m)["github"]["env"]["GITHUB_PERSONAL_ACCESS_TOKEN"],
            FIXTURE_SECRETS[0],
            "{}",
            m.name
        );
        assert_eq!(m.head(), remote.head().unwrap(), "{} converged", m.name);
    }
    // The merge commit names both machines.
    let log = m1.git(&["log", "--format=%s", "-n", "20", "main"]);
    assert!(log.contains("sync with"), "{log}");
    assert_no_secret_in(&remote.all_objects(), "the remote");
}

#[test]
fn a_true_conflict_stops_and_resolve_settles_it() {
    let (remote, m1, m2) = two_machines();
    edit_settings(&m1, |v| v["model"] = "opus".into());
    edit_settings(&m2, |v| v["model"] = "haiku".into());
    add_allow(&m2, "Bash(ls *)");
    m1.ok(&["sync"]);
    let remote_before = remote.head();
    let live_before = std::fs::read(m2.claude_dir().join("settings.json")).unwrap();
    let out = m2.ctx(&["sync"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("settings.json") && text.contains("model"),
        "{text}"
    );
    // Nothing pushed, the live file untouched and valid.
    assert_eq!(remote.head(), remote_before);
    assert_eq!(
        std::fs::read(m2.claude_dir().join("settings.json")).unwrap(),
        live_before
    );
    // An open conflict is not a clean state: status says so in its exit code and its JSON.
    let out = m2.ctx(&["status", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["clean"], false);
    let conflicts = status["conflicts"].as_array().unwrap();
    assert_eq!(conflicts.len(), 1, "{status}");
    assert_eq!(conflicts[0]["path"], "claude/settings.json");
    assert_eq!(conflicts[0]["fields"][0]["field"], "model");
    assert_eq!(conflicts[0]["fields"][0]["ours"], "haiku");
    assert_eq!(conflicts[0]["fields"][0]["theirs"], "opus");
    // A resolution that still has markers is refused.
    let bad = m2.ctx_stdin(
        &["resolve", "settings.json"],
        "<<<<<<< ours\n=======\n>>>>>>> theirs\n",
    );
    assert_eq!(bad.status.code(), Some(2));
    // Take theirs for the conflict; m2's other edit (a permission) is kept.
    m2.ok(&["resolve", "settings.json", "--theirs"]);
    let status: Value = serde_json::from_str(&m2.ok(&["status", "--json"])).unwrap();
    assert_eq!(status["conflicts"], serde_json::json!([]));
    m2.ok(&["sync"]);
    m1.ok(&["sync"]);
    for m in [&m1, &m2] {
        assert_eq!(settings(m)["model"], "opus", "{}", m.name);
        // Only the conflicting field took theirs; m2's new permission merged cleanly and stays.
        assert!(allow(m).contains(&"Bash(ls *)".to_string()), "{}", m.name);
    }
    assert_eq!(m1.head(), m2.head());
}

#[test]
fn a_conflict_resolved_in_an_editor_from_stdin() {
    let (_remote, m1, m2) = two_machines();
    edit_settings(&m1, |v| v["model"] = "opus".into());
    edit_settings(&m2, |v| v["model"] = "haiku".into());
    m1.ok(&["sync"]);
    assert_eq!(m2.ctx(&["sync"]).status.code(), Some(1));
    let mut resolved = settings(&m2);
    resolved["model"] = "sonnet-4".into();
    let text = serde_json::to_string_pretty(&resolved).unwrap();
    // The resolved file is in store form: fetch it from the marked version's other fields.
    let out = m2.ctx_stdin(&["resolve", "claude/settings.json"], &text);
    assert!(out.status.success(), "{}", stderr(&out));
    m2.ok(&["sync"]);
    m1.ok(&["sync"]);
    assert_eq!(settings(&m1)["model"], "sonnet-4");
    assert_eq!(settings(&m2)["model"], "sonnet-4");
}

#[test]
fn deletions_propagate_but_never_over_a_change() {
    let (_remote, m1, m2) = two_machines();
    let agent = |m: &Machine| m.claude_dir().join("agents/doc-writer.md");
    assert!(agent(&m2).exists());
    std::fs::remove_file(agent(&m1)).unwrap();
    m1.ok(&["sync"]);
    m2.ok(&["sync"]);
    assert!(!agent(&m2).exists(), "a deletion propagates");

    // One side deletes what the other changed: a conflict, nothing lost.
    let cmd = |m: &Machine| m.claude_dir().join("commands/changelog.md");
    std::fs::remove_file(cmd(&m1)).unwrap();
    let mut text = std::fs::read_to_string(cmd(&m2)).unwrap();
    text.push_str("\nAlso list breaking changes first.\n");
    std::fs::write(cmd(&m2), &text).unwrap();
    m1.ok(&["sync"]);
    let out = m2.ctx(&["sync"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stdout(&out).contains("changelog.md"), "{}", stdout(&out));
    assert_eq!(std::fs::read_to_string(cmd(&m2)).unwrap(), text);
    m2.ok(&["resolve", "claude/commands/changelog.md", "--ours"]);
    m2.ok(&["sync"]);
    m1.ok(&["sync"]);
    assert_eq!(std::fs::read_to_string(cmd(&m1)).unwrap(), text);
}

#[test]
fn an_mcp_server_removed_on_one_machine_is_removed_on_the_other() {
    let (_remote, m1, m2) = two_machines();
    let mut doc = json(&m1.claude_json());
    doc["mcpServers"].as_object_mut().unwrap().remove("linear");
    std::fs::write(
        m1.claude_json(),
        serde_json::to_string_pretty(&doc).unwrap(),
    )
    .unwrap();
    m1.ok(&["sync"]);
    m2.ok(&["sync"]);
    assert!(mcp(&m2).get("linear").is_none());
    assert!(mcp(&m2).get("github").is_some());
    // The rest of m2's ~/.claude.json is its own and untouched.
    assert!(json(&m2.claude_json()).get("mcpServers").is_some());
}

#[test]
fn a_joining_machine_with_its_own_files_deletes_nothing_and_keeps_its_edits() {
    let remote = Remote::new();
    let m1 = Machine::seeded("m1");
    m1.ok(&["init", "--machine", "m1", "--remote", &remote.url()]);
    m1.ok(&["sync"]);
    // m2 has a partial home: only its own settings.json with one extra permission.
    let m2 = Machine::empty("m2");
    std::fs::create_dir_all(m2.claude_dir()).unwrap();
    std::fs::write(
        m2.claude_dir().join("settings.json"),
        "{\n  \"permissions\": {\n    \"allow\": [\n      \"Bash(m2-only)\"\n    ]\n  }\n}\n",
    )
    .unwrap();
    m2.ok(&["init", "--machine", "m2", "--remote", &remote.url()]);
    let out = m2.ctx(&["sync"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // m2 committed more than its join request: m1 hears it once it approves m2.
    m1.fails(&["sync"], 2);
    m1.ok(&["machine", "approve", "m2"]);
    m1.ok(&["sync"]);
    for m in [&m1, &m2] {
        let a = allow(m);
        assert!(
            a.contains(&"Bash(m2-only)".to_string()),
            "{}: {a:?}",
            m.name
        );
        assert!(
            a.contains(&"Bash(git status)".to_string()),
            "{}: {a:?}",
            m.name
        );
        assert!(
            m.claude_dir().join("agents/doc-writer.md").exists(),
            "{}",
            m.name
        );
    }
}

#[test]
fn offline_keeps_the_local_commit_and_catches_up_later() {
    let (remote, m1, m2) = two_machines();
    let away = remote.path.with_file_name("moved.git");
    std::fs::rename(&remote.path, &away).unwrap();
    add_allow(&m1, "Bash(offline *)");
    let out = m1.ctx(&["sync"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("unreachable") && err.contains("committed locally"),
        "{err}"
    );
    assert_eq!(
        err.trim().lines().count(),
        2,
        "one line of cause, one hint: {err}"
    );
    let log = m1.ok(&["log", "-n", "1"]);
    assert!(log.contains("settings.json"), "{log}");
    std::fs::rename(&away, &remote.path).unwrap();
    m1.ok(&["sync"]);
    m2.ok(&["sync"]);
    assert!(allow(&m2).contains(&"Bash(offline *)".to_string()));
}

#[test]
fn two_syncs_racing_on_one_remote_both_succeed() {
    let (remote, m1, m2) = two_machines();
    for round in 0..3 {
        add_allow(&m1, &format!("Bash(race-a-{round})"));
        add_allow(&m2, &format!("Bash(race-b-{round})"));
        let a = m1
            .cmd(env!("CARGO_BIN_EXE_ctx"))
            .arg("sync")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let b = m2
            .cmd(env!("CARGO_BIN_EXE_ctx"))
            .arg("sync")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
        assert!(a.status.success(), "m1: {}", stderr(&a));
        assert!(b.status.success(), "m2: {}", stderr(&b));
    }
    m1.ok(&["sync"]);
    m2.ok(&["sync"]);
    assert_eq!(m1.head(), m2.head());
    assert_eq!(remote.head().unwrap(), m1.head());
    for m in [&m1, &m2] {
        let a = allow(m);
        for round in 0..3 {
            assert!(
                a.contains(&format!("Bash(race-a-{round})")),
                "{}: {a:?}",
                m.name
            );
            assert!(
                a.contains(&format!("Bash(race-b-{round})")),
                "{}: {a:?}",
                m.name
            );
        }
    }
}

#[test]
fn revoke_reencrypts_without_the_machine() {
    let (remote, m1, m2) = two_machines();
    let out = m1.ok(&["machine", "revoke", "m2", "--yes"]);
    assert!(out.contains("revoked"), "{out}");
    let out = m1.ctx(&["machine", "revoke", "m1", "--yes"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "the last reader cannot be revoked"
    );
    m1.ok(&["sync"]);
    let before = mcp(&m2);
    let out = m2.ctx(&["sync"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("cannot read"), "{}", stderr(&out));
    // m2 keeps what it had live; it never receives ciphertext.
    assert_eq!(mcp(&m2), before);
    assert!(!std::fs::read_to_string(m2.claude_json())
        .unwrap()
        .contains("ENC[age:"));
    // m1 rotates a secret; m2 cannot overwrite it with its stale copy.
    let mut doc = json(&m1.claude_json());
    doc["mcpServers"]["github"]["env"]["GITHUB_PERSONAL_ACCESS_TOKEN"] =
        "ghp_NEWNEWNEWNEWNEWNEWNEWNEWNEWNEWNEW1111".into();
    std::fs::write(
        m1.claude_json(),
        serde_json::to_string_pretty(&doc).unwrap(),
    )
    .unwrap();
    m1.ok(&["sync"]);
    m2.ok(&["sync"]);
    m1.ok(&["sync"]);
    assert_eq!(
        mcp(&m1)["github"]["env"]["GITHUB_PERSONAL_ACCESS_TOKEN"],
        "ghp_NEWNEWNEWNEWNEWNEWNEWNEWNEWNEWNEW1111"
    );
    let text = String::from_utf8_lossy(&remote.all_objects()).to_string();
    assert!(!text.contains("ghp_NEWNEWNEW"));
}

#[test]
fn a_wrong_key_is_found_before_anything_is_written() {
    let (remote, m1, m2) = two_machines();
    add_allow(&m1, "Bash(after-key-loss)");
    m1.ok(&["sync"]);
    // m2 loses its key and gets a fresh one (say, a reinstall without the backup).
    let fresh = Machine::empty("fresh");
    fresh.ok(&["init", "--machine", "m2"]);
    std::fs::copy(fresh.identity(), m2.identity()).unwrap();
    let live_before = std::fs::read(m2.claude_dir().join("settings.json")).unwrap();
    let head_before = m2.head();
    let out = m2.ctx(&["sync"]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(err.contains("key"), "{err}");
    assert!(err.contains("nothing was changed"), "{err}");
    assert_eq!(
        std::fs::read(m2.claude_dir().join("settings.json")).unwrap(),
        live_before
    );
    assert_eq!(m2.head(), head_before);
    let _ = remote;
}

#[test]
fn a_remote_that_is_not_a_ctx_store_is_refused_and_nothing_is_left() {
    let remote = Remote::new();
    // Put an unrelated project into it.
    let other = Machine::empty("other");
    let work = other.home.join("proj");
    std::fs::create_dir_all(&work).unwrap();
    let git = |args: &[&str]| {
        let out = other
            .cmd("git")
            .args(args)
            .current_dir(&work)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    git(&["init", "-q", "-b", "main"]);
    std::fs::write(work.join("a.txt"), "x").unwrap();
    git(&["add", "."]);
    git(&["commit", "-qm", "x"]);
    git(&["push", "-q", &remote.url(), "main"]);
    let m = Machine::seeded("m1");
    let out = m.ctx(&["init", "--machine", "m1", "--remote", &remote.url()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("not a ctx store"), "{}", stderr(&out));
    assert!(!m.store().exists(), "no half-made store is left behind");
    let out = m.ctx(&[
        "init",
        "--machine",
        "m1",
        "--remote",
        "/nonexistent/remote.git",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot reach"), "{}", stderr(&out));
}

#[test]
fn sync_without_a_remote_says_how_to_add_one() {
    let m = Machine::seeded("m1");
    m.ok(&["init", "--machine", "m1"]);
    let out = m.ctx(&["sync"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--remote"), "{}", stderr(&out));
}

#[test]
fn a_file_url_works_and_unrelated_history_is_refused() {
    let remote = Remote::new();
    let url = format!("file://{}", remote.url());
    let m1 = Machine::seeded("m1");
    m1.ok(&["init", "--machine", "m1", "--remote", &url]);
    m1.ok(&["sync"]);
    // m2 made a store of its own first; the remote's history shares nothing with it.
    let m2 = Machine::seeded("m2");
    m2.ok(&["init", "--machine", "m2"]);
    m2.ok(&["commit"]);
    let head = m2.head();
    let out = m2.ctx(&["init", "--machine", "m2", "--remote", &url]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(err.contains("unrelated history"), "{err}");
    assert_eq!(err.trim().lines().count(), 2, "{err}");
    assert_eq!(m2.head(), head, "the local store is untouched");
    let sync = m2.ctx(&["sync"]);
    assert!(
        stderr(&sync).contains("no remote"),
        "the refused remote was not kept: {}",
        stderr(&sync)
    );
}

#[test]
fn a_second_writer_waits_for_the_lock_then_says_who_holds_it() {
    let (_remote, m1, _m2) = two_machines();
    let lock = m1.store().join("ctx/lock");
    let mut holder = std::process::Command::new("flock")
        .arg(&lock)
        .args(["sleep", "5"])
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let out = m1
        .cmd(env!("CARGO_BIN_EXE_ctx"))
        .args(["sync"])
        .env("CTX_LOCK_WAIT", "0.5")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let _ = holder.kill();
    let _ = holder.wait();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("another ctx process"), "{err}");
    assert!(err.contains("CTX_LOCK_WAIT"), "{err}");
    m1.ok(&["sync"]);
}

/// Sets `conflicts:` in the store's ctx.yaml the way a person would with git, and syncs it.
fn set_policy(m: &Machine, policy: &str) {
    let manifest = m.git(&["show", "main:ctx.yaml"]);
    let mut text: String = manifest
        .lines()
        .filter(|l| !l.starts_with("conflicts:"))
        .map(|l| format!("{l}\n"))
        .collect();
    text.push_str(&format!("conflicts: {policy}\n"));
    m.commit_to_store("ctx.yaml", &text, &format!("conflicts: {policy}"));
    m.ok(&["sync"]);
}

#[test]
fn policy_theirs_resolves_and_the_merge_commit_names_the_loser() {
    let (_remote, m1, m2) = two_machines();
    set_policy(&m1, "theirs");
    m2.ok(&["sync"]);
    edit_settings(&m1, |v| v["model"] = "opus".into());
    edit_settings(&m2, |v| v["model"] = "haiku".into());
    m1.ok(&["sync"]);
    let out = m2.ctx(&["sync"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("policy kept"), "{}", stdout(&out));
    assert_eq!(settings(&m2)["model"], "opus");
    let msg = m2.git(&["log", "-1", "--format=%B", "main"]);
    assert!(
        msg.contains("policy theirs") && msg.contains("lost \"haiku\""),
        "{msg}"
    );
    assert!(msg.contains("Ctx-Machine: m2"), "{msg}");
    m1.ok(&["sync"]);
    assert_eq!(settings(&m1)["model"], "opus");
}

/// Needs util-linux's `script` for a terminal (Debian's bsdutils, always installed there); a
/// machine without it fails here rather than passing untested.
#[cfg(target_os = "linux")]
#[test]
fn resolve_opens_the_marked_file_in_the_editor_on_a_terminal() {
    assert!(
        std::process::Command::new("script")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success()),
        "util-linux `script` (a terminal for the editor) is not installed"
    );
    let (_remote, m1, m2) = two_machines();
    edit_settings(&m1, |v| v["model"] = "opus".into());
    edit_settings(&m2, |v| v["model"] = "haiku".into());
    m1.ok(&["sync"]);
    assert_eq!(m2.ctx(&["sync"]).status.code(), Some(1));
    // The "editor" keeps our side of every marked region and proves it saw the markers.
    let editor = m2.root.join("edit.sh");
    std::fs::write(
        &editor,
        "#!/bin/sh\ngrep -q '^<<<<<<< ' \"$1\" || exit 3\nsed -i '/^<<<<<<< /d; /^=======/,/^>>>>>>> /d' \"$1\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&editor, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let out = m2
        .cmd("script")
        .args([
            "-qec",
            &format!("{} resolve settings.json", env!("CARGO_BIN_EXE_ctx")),
            "/dev/null",
        ])
        .env("EDITOR", &editor)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("merge committed"), "{}", stdout(&out));
    m2.ok(&["sync"]);
    m1.ok(&["sync"]);
    assert_eq!(settings(&m1)["model"], "haiku");
    assert_eq!(settings(&m2)["model"], "haiku");
}

/// A criss-cross history: both sides merged A1 and B1 on their own, so there are two best merge
/// bases. One side then deletes B1's file. With either base alone that deletion could come back;
/// the merged (virtual) base keeps it deleted, as git's recursive strategy does.
#[test]
fn criss_cross_history_keeps_a_deletion() {
    use ctx::store::{Change, Store};
    use std::collections::BTreeMap;
    let (remote, m1, _m2) = two_machines();
    let mut s = Store::open(&m1.store(), "m1").unwrap();
    // Signed as m1 signs: the other side's commits are fetched ones, and must be trusted.
    let (key, _) =
        ctx::signing::SigningKey::load_or_create(&m1.ctx_config().join("signing_key")).unwrap();
    s.set_signer(std::sync::Arc::new(key));
    let c0 = s.head().unwrap().unwrap();
    let t0 = s.tree_of(c0).unwrap();
    let write = |base: gix::ObjectId, path: &str, change: Change| {
        let mut ch = BTreeMap::new();
        ch.insert(path.to_string(), change);
        s.write_tree(Some(base), &ch).unwrap()
    };
    let file = |text: &str| Change::Write {
        bytes: text.as_bytes().to_vec(),
        exec: false,
    };
    let a_tree = write(
        t0,
        "claude/commands/a.md",
        file("---\ndescription: a\n---\na\n"),
    );
    let a1 = s.write_commit(a_tree, &[c0], "A1").unwrap();
    let b_tree = write(
        t0,
        "claude/commands/b.md",
        file("---\ndescription: b\n---\nb\n"),
    );
    let b1 = s.write_commit(b_tree, &[c0], "B1").unwrap();
    let both = write(
        a_tree,
        "claude/commands/b.md",
        file("---\ndescription: b\n---\nb\n"),
    );
    let m_ours = s.write_commit(both, &[a1, b1], "merge on m1").unwrap();
    let m_theirs = s.write_commit(both, &[a1, b1], "merge on m2").unwrap();
    let ours_tree = write(both, "claude/commands/b.md", Change::Delete);
    let ours = s
        .write_commit(ours_tree, &[m_ours], "m1 deletes b")
        .unwrap();
    let theirs_tree = write(
        both,
        "claude/commands/c.md",
        file("---\ndescription: c\n---\nc\n"),
    );
    let theirs = s
        .write_commit(theirs_tree, &[m_theirs], "m2 adds c")
        .unwrap();
    s.move_ref("refs/heads/main", ours, Some(c0), "test")
        .unwrap();
    assert_eq!(
        s.history().merge_bases(ours, theirs).unwrap().len(),
        2,
        "a criss-cross"
    );
    m1.git(&[
        "push",
        "-q",
        &remote.url(),
        &format!("{theirs}:refs/heads/main"),
    ]);
    let out = m1.ctx(&["sync"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let tree = m1.git(&["ls-tree", "-r", "--name-only", "main", "claude/commands"]);
    assert!(tree.contains("claude/commands/a.md"), "{tree}");
    assert!(tree.contains("claude/commands/c.md"), "{tree}");
    assert!(
        !tree.contains("claude/commands/b.md"),
        "the deletion came back: {tree}"
    );
}

// What the user reads, pinned. Commit ids and folders are redacted; times come from the clock.

fn show(m: &Machine, remote: &Remote, run: &common::Run) -> String {
    m.show(run).replace(&remote.url(), "[REMOTE]")
}

#[test]
fn sync_report_when_it_pushes() {
    let remote = Remote::new();
    let m1 = Machine::seeded("m1");
    m1.ok(&["init", "--machine", "m1", "--remote", &remote.url()]);
    m1.ok(&["commit"]);
    add_allow(&m1, "Bash(make *)");
    insta::assert_snapshot!(show(&m1, &remote, &m1.run(&["sync"])), @r"
        exit 0
        --- stdout
        [[ID]] m1: settings.json permissions.allow +1
        Synced with [REMOTE]: pushed local commits.
        --- stderr
        ");
}

#[test]
fn sync_report_when_it_merges() {
    let (remote, m1, m2) = two_machines();
    add_allow(&m1, "Bash(make *)");
    m1.ok(&["sync"]);
    edit_settings(&m2, |v| v["env"]["RUST_LOG"] = "debug".into());
    insta::assert_snapshot!(show(&m2, &remote, &m2.run(&["sync"])), @r"
        exit 0
        --- stdout
        [[ID]] m2: settings.json +env.RUST_LOG
        Synced with [REMOTE]: merged with the remote ([ID]), pushed.
        Applied 1 live file(s).
        --- stderr
        ");
}

#[test]
fn sync_report_on_a_conflict_names_the_file_and_field() {
    let (remote, m1, m2) = two_machines();
    edit_settings(&m1, |v| v["model"] = "opus".into());
    edit_settings(&m2, |v| v["model"] = "haiku".into());
    m1.ok(&["sync"]);
    insta::assert_snapshot!(show(&m2, &remote, &m2.run(&["sync"])), @r#"
        exit 1
        --- stdout
        [[ID]] m2: settings.json model
        conflict: 1 file(s) changed on both sides; nothing was pushed or applied
          claude/settings.json  model: ours "haiku" · theirs "opus"
        Settle each with `ctx resolve PATH --ours|--theirs`, or `ctx resolve PATH` to edit it.
        --- stderr
        "#);
}
