//! The everyday verbs added for issue 15: `managed`, `unmanaged`, `edit`, `config edit`,
//! `machine rm` and `rename`, `apply --dry-run`'s diff, `diff REV [REV]`, `log -p`, on sandboxed
//! machines.
mod common;
use common::*;

fn ready() -> Machine {
    let m = Machine::seeded("m1");
    m.ok(&["init", "--machine", "m1"]);
    m.ok(&["commit"]);
    m
}

fn subject(m: &Machine) -> String {
    m.git(&["log", "-1", "--format=%s", "refs/heads/main"])
        .trim()
        .to_string()
}

/// An editor script that runs `body` on the file it is given ("$1").
fn editor(m: &Machine, body: &str) -> String {
    let path = m.root.join("editor.sh");
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    path.to_string_lossy().to_string()
}

/// Runs ctx with `EDITOR` set.
fn with_editor(m: &Machine, editor: &str, args: &[&str]) -> Run {
    m.cmd(env!("CARGO_BIN_EXE_ctx"))
        .env("EDITOR", editor)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
        .into()
}

fn json_of(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[test]
fn managed_lists_tracked_files_with_their_live_paths() {
    let m = ready();
    let v = json_of(&m.ok(&["managed", "--json"]));
    let list = v.as_array().unwrap();
    let settings = list
        .iter()
        .find(|e| e["path"] == "claude/settings.json")
        .unwrap_or_else(|| panic!("{v}"));
    let live = m.claude_dir().join("settings.json");
    assert_eq!(settings["live_path"], live.to_string_lossy().as_ref());
    assert_eq!(
        (settings["live"].clone(), settings["stored"].clone()),
        (true.into(), true.into())
    );
    assert!(list.iter().any(|e| e["path"] == "claude/mcp.json"), "{v}");
    assert!(
        !list
            .iter()
            .any(|e| e["path"].as_str().unwrap().contains("credentials")),
        "{v}"
    );
    // A stored file missing here is still managed: apply writes it.
    std::fs::remove_file(m.claude_dir().join("CLAUDE.md")).unwrap();
    let text = m.ok(&["managed"]);
    let line = text
        .lines()
        .find(|l| l.starts_with("claude/CLAUDE.md"))
        .unwrap();
    assert!(line.contains("ctx apply"), "{text}");
}

#[test]
fn unmanaged_says_why_each_entry_is_left_out() {
    let m = ready();
    std::fs::create_dir_all(m.claude_dir().join("notes")).unwrap();
    std::fs::write(m.claude_dir().join("notes/a.md"), "a\n").unwrap();
    m.ok(&["forget", "agents"]);
    let v = json_of(&m.ok(&["unmanaged", "--json"]));
    let why = |p: &str| {
        v.as_array()
            .unwrap()
            .iter()
            .find(|e| e["path"] == p)
            .map(|e| e["why"].as_str().unwrap().to_string())
    };
    assert_eq!(why("notes").as_deref(), Some("not_listed"), "{v}");
    assert_eq!(why("agents").as_deref(), Some("excluded"), "{v}");
    assert_eq!(why(".credentials.json").as_deref(), Some("never"), "{v}");
    assert_eq!(why("settings.json"), None, "tracked, so not unmanaged: {v}");
    let live = v.as_array().unwrap()[0]["live_path"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(std::path::Path::new(&live).is_absolute(), "{v}");
    m.ok(&["add", "notes"]);
    let text = m.ok(&["unmanaged"]);
    assert!(!text.lines().any(|l| l.starts_with("notes")), "{text}");
}

#[test]
fn edit_commits_a_good_edit_and_keeps_a_bad_one_uncommitted() {
    let m = ready();
    let good = editor(&m, "sed -i 's/\"sonnet\"/\"opus\"/' \"$1\"");
    let run = with_editor(&m, &good, &["edit", "settings.json"]);
    assert_eq!(run.code, Some(0), "{run}");
    assert!(subject(&m).contains("settings.json"), "{}", subject(&m));
    let stored = m.git(&["show", "refs/heads/main:claude/settings.json"]);
    assert!(stored.contains("\"opus\""), "{stored}");

    let head = m.head();
    let bad = editor(
        &m,
        "printf '{\\n  \"model\": \"opus\",\\n  oops\\n}\\n' > \"$1\"",
    );
    let run = with_editor(&m, &bad, &["edit", "settings.json"]);
    assert_eq!(run.code, Some(2), "{run}");
    assert!(run.stderr.contains("settings.json"), "{run}");
    assert!(
        run.stderr.contains("settings.json:3:"),
        "names the line: {run}"
    );
    assert!(run.stderr.contains("nothing was committed"), "{run}");
    assert_eq!(m.head(), head, "a bad edit was committed");
    let live = std::fs::read_to_string(m.claude_dir().join("settings.json")).unwrap();
    assert!(live.contains("oops"), "the bad edit was not kept: {live}");

    let unchanged = editor(&m, "true");
    let run = with_editor(&m, &unchanged, &["edit", "CLAUDE.md"]);
    assert_eq!(run.code, Some(0), "{run}");
    assert!(run.stdout.contains("unchanged"), "{run}");
    let run = with_editor(&m, &unchanged, &["edit", ".credentials.json"]);
    assert_eq!(run.code, Some(2), "{run}");
}

#[test]
fn config_edit_commits_field_by_field_and_refuses_a_bad_edit() {
    let m = ready();
    let good = editor(
        &m,
        "sed -i 's/^conflicts: stop$/conflicts: newest/' \"$1\"; echo 'max_file_size: 4096' >> \"$1\"",
    );
    let run = with_editor(&m, &good, &["config", "edit"]);
    assert_eq!(run.code, Some(0), "{run}");
    let s = subject(&m);
    assert!(s.contains("conflicts: stop -> newest"), "{s}");
    assert!(s.contains("max_file_size: (unset) -> 4096"), "{s}");
    assert_eq!(m.ok(&["config", "get", "conflicts"]), "newest\n");

    let head = m.head();
    let bad = editor(
        &m,
        "sed -i 's/^conflicts: newest$/conflicts: sometimes/' \"$1\"",
    );
    let run = with_editor(&m, &bad, &["config", "edit"]);
    assert_eq!(run.code, Some(2), "{run}");
    assert!(run.stderr.contains("conflicts"), "{run}");
    assert!(run.stderr.contains("line"), "names the line: {run}");
    assert_eq!(m.head(), head, "a bad edit was committed");
    // The next edit starts from the kept one: fixing it commits.
    let fix = editor(
        &m,
        "sed -i 's/^conflicts: sometimes$/conflicts: ours/' \"$1\"",
    );
    let run = with_editor(&m, &fix, &["config", "edit"]);
    assert_eq!(run.code, Some(0), "{run}");
    assert!(
        subject(&m).contains("conflicts: newest -> ours"),
        "{}",
        subject(&m)
    );

    let head = m.head();
    let steal = editor(&m, "sed -i 's/^  m1: age1/  m2: age1/' \"$1\"");
    let run = with_editor(&m, &steal, &["config", "edit"]);
    assert_eq!(run.code, Some(2), "{run}");
    assert!(run.stderr.contains("ctx machine"), "{run}");
    assert_eq!(m.head(), head);
}

#[test]
fn apply_dry_run_shows_the_diff_of_what_it_would_write() {
    let m = ready();
    let settings = m.claude_dir().join("settings.json");
    let original = std::fs::read_to_string(&settings).unwrap();
    std::fs::write(&settings, original.replace("\"sonnet\"", "\"haiku\"")).unwrap();
    let mcp_before = std::fs::read_to_string(m.claude_json()).unwrap();
    let out = m.ok(&["apply", "--dry-run", "--force"]);
    assert!(out.contains("would write ~/.claude/settings.json"), "{out}");
    assert!(out.contains("-  \"model\": \"haiku\","), "{out}");
    assert!(out.contains("+  \"model\": \"sonnet\","), "{out}");
    for s in FIXTURE_SECRETS {
        assert!(!out.contains(s), "a secret in the diff: {out}");
    }
    assert!(!out.contains("ENC[age:"), "{out}");
    assert!(std::fs::read_to_string(&settings)
        .unwrap()
        .contains("haiku"));
    assert_eq!(
        std::fs::read_to_string(m.claude_json()).unwrap(),
        mcp_before
    );
    let v = json_of(&m.ok(&["apply", "--dry-run", "--force", "--json"]));
    let f = &v["files"][0];
    assert_eq!(f["path"], "claude/settings.json", "{v}");
    assert_eq!(f["live_path"], settings.to_string_lossy().as_ref(), "{v}");
    assert!(
        f["patch"]
            .as_str()
            .unwrap()
            .contains("+  \"model\": \"sonnet\""),
        "{v}"
    );
    assert_eq!(
        v["actions"][0]["live_path"],
        settings.to_string_lossy().as_ref(),
        "{v}"
    );
}

#[test]
fn diff_compares_revisions_and_tells_them_from_paths() {
    let m = ready();
    let first = m.head();
    m.ok(&["config", "set", "conflicts", "newest"]);
    let settings = m.claude_dir().join("settings.json");
    let original = std::fs::read_to_string(&settings).unwrap();
    std::fs::write(&settings, original.replace("\"sonnet\"", "\"opus\"")).unwrap();
    m.ok(&["commit"]);

    let out = m.ok(&["diff", "HEAD~2", "HEAD"]);
    assert!(out.contains("+conflicts: newest"), "{out}");
    assert!(out.contains("+  \"model\": \"opus\","), "{out}");
    let out = m.ok(&["diff", "HEAD~1", "--", "settings.json"]);
    assert!(out.contains("opus") && !out.contains("conflicts"), "{out}");
    let out = m.ok(&["diff", &first[..10], "HEAD~1", "--name-only"]);
    assert_eq!(out, "ctx.yaml\n");
    let out = m.ok(&["diff", "HEAD~2..HEAD", "--stat"]);
    assert!(
        out.contains("claude/settings.json |") && out.contains("file(s) changed"),
        "{out}"
    );
    // The live side: nothing to commit now, and --exit-code says so.
    m.ok(&["diff", "--exit-code"]);
    std::fs::write(&settings, original.replace("\"sonnet\"", "\"haiku\"")).unwrap();
    let run = m.fails(&["diff", "--exit-code", "settings.json"], 1);
    assert!(run.stdout.contains("+  \"model\": \"haiku\","), "{run}");
    m.fails(&["diff", "HEAD~1", "HEAD", "--exit-code"], 1);
    m.ok(&["diff", "HEAD", "HEAD", "--exit-code"]);

    let run = m.fails(&["diff", "HEAD~1000"], 2);
    assert!(run.stderr.contains("HEAD~1000"), "{run}");
    assert!(
        !run.stderr.contains("NthAncestor"),
        "an internal error leaked: {run}"
    );
    assert!(
        !run.stderr.contains("delegate"),
        "an internal error leaked: {run}"
    );
    let v = json_of(&m.ok(&["diff", "HEAD~1", "HEAD", "--json"]));
    let f = &v["files"][0];
    assert_eq!(f["path"], "claude/settings.json", "{v}");
    assert_eq!(f["status"], "modified", "{v}");
    assert_eq!(
        (f["added"].clone(), f["removed"].clone()),
        (1.into(), 1.into()),
        "{v}"
    );
    assert_eq!(f["live_path"], settings.to_string_lossy().as_ref(), "{v}");
}

#[test]
fn diff_between_revisions_never_shows_a_secret() {
    let m = ready();
    let out = m.run_stdin(
        &["secret", "set", "claude/mcp.json:github.env.GITHUB_TOKEN"],
        "ghp_NEWNEWNEWNEWNEWNEWNEWNEWNEWNEWNEW0001",
    );
    assert_eq!(out.code, Some(0), "{out}");
    for args in [&["diff", "HEAD~1", "HEAD"][..], &["log", "-p", "-n", "1"]] {
        let out = m.ok(args);
        assert!(out.contains("<secret"), "{args:?}: {out}");
        assert!(!out.contains("ENC[age:"), "{args:?}: {out}");
        assert!(!out.contains("NEWNEWNEW"), "{args:?}: {out}");
        for s in FIXTURE_SECRETS {
            assert!(!out.contains(s), "{args:?}: {out}");
        }
    }
}

#[test]
fn log_shows_patches_one_line_and_since_in_local_time() {
    let m = ready();
    m.advance(3600);
    m.ok(&["config", "set", "conflicts", "ours"]);
    let count: usize = m
        .git(&["rev-list", "--count", "refs/heads/main"])
        .trim()
        .parse()
        .unwrap();
    let one = m.ok(&["log", "--oneline"]);
    let lines: Vec<&str> = one.lines().collect();
    assert_eq!(lines.len(), count, "{one}");
    assert!(
        lines[0].ends_with("m1: ctx.yaml conflicts: stop -> ours"),
        "{one}"
    );
    assert_eq!(lines[0].split(' ').next().unwrap().len(), 10, "{one}");
    let p = m.ok(&["log", "-p", "-n", "1"]);
    assert!(
        p.contains("-conflicts: stop") && p.contains("+conflicts: ours"),
        "{p}"
    );
    // Times in the local zone with the offset; --since is read in the same zone.
    let tz = |args: &[&str]| -> String {
        let out = m
            .cmd(env!("CARGO_BIN_EXE_ctx"))
            .env("TZ", "Asia/Kolkata")
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out));
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let shown = tz(&["log", "-n", "1"]);
    assert!(shown.contains("+0530"), "{shown}");
    // The first commit ran at 00:00 UTC (05:30 in Kolkata), the second an hour later.
    let since = tz(&["log", "--since", "2026-01-01 06:00", "--oneline"]);
    assert_eq!(since.lines().count(), 1, "{since}");
    let all = tz(&["log", "--since", "2026-01-01 05:00", "--oneline"]);
    assert_eq!(all.lines().count(), count, "{all}");
    let v = json_of(&m.ok(&["log", "--json", "-p", "-n", "1"]));
    assert_eq!(v[0]["files"][0]["path"], "ctx.yaml", "{v}");
    assert!(
        v[0]["local_time"].as_str().unwrap().ends_with("+00:00"),
        "{v}"
    );
}

/// Two machines of one store, both approved, synced through a remote.
fn pair() -> (Remote, Machine, Machine) {
    approved_pair("a", "b")
}

#[test]
fn machine_rm_revokes_the_machine_as_reader_and_signer() {
    let (remote, a, b) = pair();
    let run = a.fails(&["machine", "rm", "b"], 2);
    assert!(
        run.stderr.contains("--yes"),
        "refused off a terminal without --yes: {run}"
    );
    let head = a.head();
    let run = a.fails(&["machine", "rm", "a", "--yes"], 2);
    assert!(run.stderr.contains("this machine"), "{run}");
    a.fails(&["machine", "rm", "nobody", "--yes"], 2);
    assert_eq!(a.head(), head);

    let out = a.ok(&["machine", "rm", "b", "--yes"]);
    assert!(out.contains("removed `b`"), "{out}");
    assert!(
        out.contains("access to the secrets") && out.contains("signers"),
        "{out}"
    );
    let yaml = a.git(&["show", "refs/heads/main:ctx.yaml"]);
    assert!(
        !yaml.contains("  b: "),
        "b is still a recipient or signer: {yaml}"
    );
    let tree = a.git(&["ls-tree", "-r", "--name-only", "refs/heads/main"]);
    assert!(!tree.contains("machines/b.yaml"), "{tree}");
    let v = json_of(&a.ok(&["machine", "ls", "--json"]));
    assert_eq!(v.as_array().unwrap().len(), 1, "{v}");
    assert!(std::fs::read_to_string(b.claude_dir().join("settings.json")).is_ok());
    a.ok(&["sync"]);
    // b's commits are no longer trusted: a refuses what b signs and pushes now.
    b.git(&[
        "fetch",
        "-q",
        &remote.url(),
        "+refs/heads/main:refs/heads/main",
    ]);
    b.commit_to_store("claude/CLAUDE.md", "# from b, after rm\n", "b: CLAUDE.md");
    b.git(&[
        "push",
        "-q",
        &remote.url(),
        "refs/heads/main:refs/heads/main",
    ]);
    let run = a.run(&["sync"]);
    assert_eq!(run.code, Some(2), "{run}");
    assert!(
        run.stderr
            .contains("not signed by a machine this one trusts"),
        "{run}"
    );
    let md = std::fs::read_to_string(a.claude_dir().join("CLAUDE.md")).unwrap();
    assert!(!md.contains("after rm"), "{md}");
}

#[test]
fn machine_rename_keeps_the_keys_and_the_trust() {
    let (_remote, a, b) = pair();
    let run = a.fails(&["machine", "rename", "b", "bee"], 2);
    assert!(run.stderr.contains("on that machine"), "{run}");
    a.fails(&["machine", "rename", "a", "b"], 2);
    a.fails(&["machine", "rename", "a", "no spaces"], 2);
    let before = a.git(&["show", "refs/heads/main:ctx.yaml"]);
    let out = a.ok(&["machine", "rename", "a", "alpha"]);
    assert!(out.contains("renamed `a` to `alpha`"), "{out}");
    let after = a.git(&["show", "refs/heads/main:ctx.yaml"]);
    let key = |yaml: &str, name: &str| {
        yaml.lines()
            .find(|l| l.starts_with(&format!("  {name}: age1")))
            .map(|l| l.split_once(": ").unwrap().1.to_string())
    };
    assert_eq!(key(&after, "alpha"), key(&before, "a"), "{after}");
    assert!(key(&after, "alpha").is_some(), "{after}");
    assert!(key(&after, "a").is_none(), "{after}");
    let tree = a.git(&["ls-tree", "-r", "--name-only", "refs/heads/main"]);
    assert!(
        tree.contains("machines/alpha.yaml") && !tree.contains("machines/a.yaml"),
        "{tree}"
    );
    a.ok(&["commit"]);
    let v = json_of(&a.ok(&["status", "--json"]));
    assert_eq!(v["machine"], "alpha", "{v}");
    // The other machine keeps trusting it: its next commits merge there.
    std::fs::write(a.claude_dir().join("CLAUDE.md"), "# from alpha\n").unwrap();
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    let md = std::fs::read_to_string(b.claude_dir().join("CLAUDE.md")).unwrap();
    assert!(md.contains("from alpha"), "{md}");
    let v = json_of(&b.ok(&["machine", "ls", "--json"]));
    let alpha = v
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "alpha")
        .unwrap();
    assert_eq!(alpha["trusted"], true, "{v}");
    assert_eq!(alpha["can_read_secrets"], true, "{v}");
}

#[test]
fn every_new_verb_has_help_with_an_example() {
    let m = Machine::empty("m1");
    for args in [
        &["managed", "--help"][..],
        &["unmanaged", "--help"],
        &["edit", "--help"],
        &["config", "edit", "--help"],
        &["machine", "rm", "--help"],
        &["machine", "rename", "--help"],
        &["machine", "revoke", "--help"],
        &["diff", "--help"],
        &["log", "--help"],
        &["apply", "--help"],
        &["rollback", "--help"],
    ] {
        let out = m.ok(args);
        assert!(out.contains("Example"), "{args:?}: {out}");
    }
}
