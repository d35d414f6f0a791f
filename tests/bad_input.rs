//! Bad input: a clear error (exit 2, file, line and column), nothing committed, nothing touched.
mod common;
use common::*;

fn ready() -> Machine {
    let m = Machine::seeded("m1");
    m.ok(&["init", "--machine", "m1"]);
    m.ok(&["commit"]);
    m
}

#[test]
fn malformed_json_names_file_line_and_column() {
    let m = ready();
    let head = m.head();
    let settings = m.claude_dir().join("settings.json");
    let broken = "{\n  \"model\": \"opus\",\n  \"env\": {\n}\n";
    std::fs::write(&settings, broken).unwrap();
    // serde_json places an unexpected end of file after the last line, at column 0.
    insta::assert_snapshot!(m.show(&m.run(&["commit"])), @r"
        exit 2
        --- stdout
        Nothing else to commit: the other live files match the store.
        --- stderr
        warning: ~/.claude/settings.json:5:0: EOF while parsing an object; not committed, the rest was
        hint: fix the file and commit again; `ctx apply --force claude/settings.json` takes the store's copy, yours saved to a backup ref first
        ");
    assert_eq!(m.head(), head);
    assert_eq!(std::fs::read_to_string(&settings).unwrap(), broken);
}

#[test]
fn malformed_json_fails_status_too() {
    let m = ready();
    let settings = m.claude_dir().join("settings.json");
    std::fs::write(&settings, "{\n  \"model\": \"opus\",\n}\n").unwrap();
    let out = m.fails(&["status"], 2);
    assert!(out.stderr.contains("~/.claude/settings.json:3:1:"), "{out}");
}

const BROKEN_CLAUDE_JSON: &str = "{\"mcpServers\": {\"a\": }}";

#[test]
fn malformed_claude_json_is_reported() {
    let m = ready();
    std::fs::write(m.claude_json(), BROKEN_CLAUDE_JSON).unwrap();
    let out = m.fails(&["commit"], 2);
    assert!(out.stderr.contains("~/.claude.json:1:"), "{out}");
}

#[test]
fn malformed_claude_json_is_left_untouched_by_apply() {
    let m = ready();
    std::fs::write(m.claude_json(), BROKEN_CLAUDE_JSON).unwrap();
    let out = m.fails(&["apply", "--force"], 2);
    assert!(out.stderr.contains("~/.claude.json:1:"), "{out}");
    assert_eq!(
        std::fs::read_to_string(m.claude_json()).unwrap(),
        BROKEN_CLAUDE_JSON
    );
}

#[test]
fn malformed_front_matter_names_the_line() {
    let m = ready();
    let head = m.head();
    let agent = m.claude_dir().join("agents/broken.md");
    std::fs::write(&agent, "---\nname: broken\ntools: [Read, Grep\n---\nBody\n").unwrap();
    let out = m.fails(&["commit"], 2);
    assert!(
        out.stderr.contains("~/.claude/agents/broken.md:4:1:"),
        "{out}"
    );
    assert_eq!(m.head(), head);
}

#[test]
fn token_in_plain_text_is_refused_naming_file_and_line() {
    let m = ready();
    let head = m.head();
    let md = m.claude_dir().join("CLAUDE.md");
    let mut text_ = std::fs::read_to_string(&md).unwrap();
    text_.push_str("\nMy token is ghp_FAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKE9999\n");
    std::fs::write(&md, &text_).unwrap();
    insta::assert_snapshot!(m.show(&m.run(&["commit"])), @r"
        exit 2
        --- stdout
        Nothing else to commit: the other live files match the store.
        --- stderr
        warning: ~/.claude/CLAUDE.md:27: looks like a GitHub token, in plain text (fingerprint sha256:a1ec2239dc841334); not committed, the rest was
        hint: remove the value from the file (use an env variable, or keep it in settings.json `env`, which ctx encrypts), then commit again; if it is not a secret, list its fingerprint under `not_secret:` in ctx.yaml
        ");
    assert_eq!(m.head(), head);
    assert!(!String::from_utf8_lossy(&m.all_objects()).contains("FAKE9999"));
}

#[test]
fn a_folder_that_is_not_a_store_is_clear() {
    let m = Machine::seeded("m1");
    m.ok(&["init", "--machine", "m1"]);
    let bogus = m.root.join("bogus");
    std::fs::create_dir_all(&bogus).unwrap();
    std::fs::write(bogus.join("x"), "y").unwrap();
    let out = m.fails(&["--store", bogus.to_str().unwrap(), "status"], 2);
    assert!(out.stderr.contains("is not a ctx store"), "{out}");
    assert!(out.stderr.contains("hint:"), "{out}");
}

#[test]
fn a_store_that_does_not_exist_is_clear() {
    let m = Machine::seeded("m1");
    m.ok(&["init", "--machine", "m1"]);
    let out = m.fails(
        &["--store", m.root.join("nope").to_str().unwrap(), "log"],
        2,
    );
    assert!(out.stderr.contains("no ctx store at"), "{out}");
}

#[test]
fn a_machine_not_set_up_is_told_to_run_init() {
    let fresh = Machine::seeded("m3");
    insta::assert_snapshot!(fresh.show(&fresh.run(&["status"])), @r"
        exit 2
        --- stdout
        --- stderr
        error: ctx is not set up on this machine (no [ROOT]/config/ctx/config.yaml)
        hint: run `ctx init` first
        ");
}

#[test]
fn a_missing_identity_is_clear() {
    let m = ready();
    std::fs::remove_file(m.identity()).unwrap();
    insta::assert_snapshot!(m.show(&m.run(&["commit"])), @r"
        exit 2
        --- stdout
        --- stderr
        error: no identity at [ROOT]/config/ctx/identity.txt
        hint: run `ctx init` to create this machine's key, or restore identity.txt from a backup
        ");
}

#[test]
fn a_broken_identity_is_clear() {
    let m = ready();
    std::fs::write(m.identity(), "garbage\n").unwrap();
    let out = m.fails(&["apply"], 2);
    assert!(out.stderr.contains("cannot read the identity"), "{out}");
    assert!(!out.stderr.contains("panicked"), "{out}");
}

#[cfg(unix)]
#[test]
fn symlink_loop_under_skills_is_clear() {
    let m = ready();
    std::os::unix::fs::symlink("..", m.claude_dir().join("skills/pr-summary/loop")).unwrap();
    let out = m.fails(&["commit"], 2);
    assert!(out.stderr.contains("symlink loop"), "{out}");
    assert!(!out.stderr.contains("panicked"), "{out}");
}

/// A file no one can read, root included: a symlink to itself (ELOOP on open). Permission bits
/// would not do, as root reads a mode-000 file and CI runs as root.
#[cfg(unix)]
#[test]
fn unreadable_file_is_clear() {
    let m = ready();
    let head = m.head();
    let f = m.claude_dir().join("agents/secret.md");
    std::os::unix::fs::symlink("secret.md", &f).unwrap();
    assert!(std::fs::read(&f).is_err(), "the file must be unreadable");
    let out = m.fails(&["commit"], 2);
    assert!(out.stderr.contains("cannot read"), "{out}");
    assert!(out.stderr.contains("agents/secret.md"), "{out}");
    assert_eq!(m.head(), head);
}

#[cfg(unix)]
#[test]
fn a_dangling_symlink_is_named() {
    let m = ready();
    let head = m.head();
    let f = m.claude_dir().join("agents/gone.md");
    std::os::unix::fs::symlink(m.root.join("nowhere.md"), &f).unwrap();
    let out = m.fails(&["commit"], 2);
    assert!(out.stderr.contains("agents/gone.md"), "{out}");
    assert_eq!(m.head(), head);
}

#[test]
fn invalid_store_document_names_file_and_field() {
    let m = ready();
    let work = m.root.join("work");
    assert!(m
        .cmd("git")
        .args(["clone", "-q"])
        .arg(m.store())
        .arg(&work)
        .status()
        .unwrap()
        .success());
    let yaml = std::fs::read_to_string(work.join("ctx.yaml"))
        .unwrap()
        .replace("conflicts: stop", "conflicts: maybe");
    std::fs::write(work.join("ctx.yaml"), yaml).unwrap();
    for args in [
        &["commit", "-qam", "bad"][..],
        &["push", "-q", "origin", "main"],
    ] {
        assert!(m
            .cmd("git")
            .arg("-C")
            .arg(&work)
            .args(args)
            .status()
            .unwrap()
            .success());
    }
    let out = m.fails(&["commit"], 2);
    assert!(out.stderr.contains("ctx.yaml"), "{out}");
    assert!(out.stderr.contains("conflicts"), "{out}");
}
