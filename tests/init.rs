//! `ctx init`: store, identity, machine record, merge-driver wiring, idempotence.
mod common;
use common::*;

#[test]
fn init_creates_an_identity_only_its_owner_reads() {
    let m = Machine::seeded("m1");
    let out = m.ok(&["init", "--machine", "m1"]);
    assert!(out.contains("created identity"), "{out}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(m.identity())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let identity = std::fs::read_to_string(m.identity()).unwrap();
    assert!(identity.contains("AGE-SECRET-KEY-1"));
}

#[test]
fn init_records_the_machine_and_its_public_key() {
    let m = Machine::seeded("m1");
    m.ok(&["init", "--machine", "m1"]);
    let manifest = m.git(&["show", "main:ctx.yaml"]);
    let record = m.git(&["show", "main:machines/m1.yaml"]);
    let key = record
        .lines()
        .find_map(|l| l.strip_prefix("public_key: "))
        .unwrap()
        .trim()
        .to_string();
    assert!(key.starts_with("age1"));
    assert!(manifest.contains(&format!("m1: {key}")), "{manifest}");
}

#[test]
fn init_keeps_the_secret_key_out_of_the_store() {
    let m = Machine::seeded("m1");
    m.ok(&["init", "--machine", "m1"]);
    let identity = std::fs::read_to_string(m.identity()).unwrap();
    let secret = identity
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY"))
        .unwrap();
    assert!(!String::from_utf8_lossy(&m.all_objects()).contains(secret));
}

#[test]
fn init_wires_the_merge_driver_into_a_valid_store() {
    let m = Machine::seeded("m1");
    m.ok(&["init", "--machine", "m1"]);
    let attrs = m.git(&["show", "main:.gitattributes"]);
    assert!(attrs.contains("*.json merge=ctx"));
    let driver = m.git(&["config", "merge.ctx.driver"]);
    assert!(driver.contains("merge-driver %O %A %B %P"), "{driver}");
    // The store is a valid git repository.
    m.git(&["fsck", "--strict"]);
}

#[test]
fn second_init_changes_nothing_and_says_so() {
    let m = Machine::seeded("m1");
    m.ok(&["init", "--machine", "m1"]);
    let head = m.head();
    let out = m.ok(&["init"]);
    assert!(out.contains("Nothing changed"), "{out}");
    assert_eq!(m.head(), head);
}

#[test]
fn doctor_fails_before_init_with_a_fix() {
    let m = Machine::seeded("m1");
    let out = m.fails(&["doctor"], 2);
    assert!(out.stdout.contains("fix:"), "{out}");
}

#[test]
fn doctor_passes_after_init() {
    let m = Machine::seeded("m1");
    m.ok(&["init", "--machine", "m1"]);
    let out = m.quiet_ok(&["doctor"]);
    assert!(out.contains("identity"), "{out}");
    assert!(!out.contains("FAIL"), "{out}");
}

#[test]
fn completions_are_printed() {
    let m = Machine::empty("m1");
    let out = m.ok(&["completions", "bash"]);
    assert!(
        out.contains("rollback") && out.contains("complete"),
        "{}",
        &out[..200.min(out.len())]
    );
}

#[test]
fn ctx_timestamp_sets_commit_times_and_recorded_times() {
    let m = Machine::seeded("m1");
    let out = m
        .cmd(env!("CARGO_BIN_EXE_ctx"))
        .args(["init", "--machine", "m1"])
        .env("CTX_TIMESTAMP", "1767225600 +0130")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let dates = m.git(&["log", "-1", "--format=%ad|%cd", "--date=raw", "main"]);
    assert_eq!(dates.trim(), "1767225600 +0130|1767225600 +0130");
    let record = m.git(&["show", "main:machines/m1.yaml"]);
    assert!(record.contains("joined: 2026-01-01T00:00:00Z"), "{record}");
}

#[test]
fn the_sandbox_clock_moves_one_second_per_command() {
    let m = Machine::seeded("m1");
    m.ok(&["init", "--machine", "m1"]);
    let init = m.now();
    m.ok(&["commit"]);
    let commit = m.now();
    let times = m.git(&["log", "--format=%ct", "main"]);
    assert_eq!(times, format!("{commit}\n{init}\n"));
    assert_eq!(commit, init + 1);
}

#[test]
fn init_apply_restores_a_new_machine_in_one_step_and_its_record_reaches_the_remote() {
    let remote = Remote::new();
    let ma = Machine::seeded("a");
    ma.ok(&["init", "--machine", "a", "--remote", &remote.url()]);
    ma.ok(&["commit"]);
    ma.ok(&["sync"]);
    let mb = Machine::empty("b");
    let out = mb.ok(&[
        "init",
        "--machine",
        "b",
        "--remote",
        &remote.url(),
        "--apply",
    ]);
    assert!(out.contains("wrote ~/.claude/CLAUDE.md"), "{out}");
    assert!(!out.contains("Next: `ctx sync`"), "{out}");
    for f in [
        "CLAUDE.md",
        "skills/pr-summary/SKILL.md",
        "agents/doc-writer.md",
    ] {
        let a = std::fs::read(ma.claude_dir().join(f)).unwrap();
        let b = std::fs::read(mb.claude_dir().join(f)).unwrap();
        assert_eq!(a, b, "{f}");
    }
    let status: serde_json::Value = serde_json::from_str(&mb.ok(&["status", "--json"])).unwrap();
    assert_eq!(status["clean"], true, "{status}");
    // The push ran beside the apply: the remote holds b's record, and a can approve b.
    assert_eq!(remote.head(), Some(mb.head()));
    ma.ok(&["sync"]);
    ma.ok(&["machine", "approve", "b"]);
    // Run again, it changes nothing and applies nothing.
    let again: serde_json::Value =
        serde_json::from_str(&mb.ok(&["init", "--apply", "--json"])).unwrap();
    assert_eq!(again["init"]["created"], serde_json::json!([]), "{again}");
    assert_eq!(again["apply"]["actions"], serde_json::json!([]), "{again}");
}
