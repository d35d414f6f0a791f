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
    let out = m.ctx(&["commit"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("~/.claude/settings.json:5:0") || err.contains("~/.claude/settings.json:4:"),
        "{err}"
    );
    assert!(err.contains("hint:"), "{err}");
    assert_eq!(m.head(), head);
    assert_eq!(std::fs::read_to_string(&settings).unwrap(), broken);
    assert_eq!(m.ctx(&["status"]).status.code(), Some(2));
}

#[test]
fn malformed_claude_json_is_reported_and_untouched() {
    let m = ready();
    std::fs::write(m.claude_json(), "{\"mcpServers\": {\"a\": }}").unwrap();
    let out = m.ctx(&["commit"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("~/.claude.json:1:"),
        "{}",
        text(&out)
    );
    let out = m.ctx(&["apply", "--force"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        std::fs::read_to_string(m.claude_json()).unwrap(),
        "{\"mcpServers\": {\"a\": }}"
    );
}

#[test]
fn malformed_front_matter_names_the_line() {
    let m = ready();
    let head = m.head();
    let agent = m.claude_dir().join("agents/broken.md");
    std::fs::write(&agent, "---\nname: broken\ntools: [Read, Grep\n---\nBody\n").unwrap();
    let out = m.ctx(&["commit"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("~/.claude/agents/broken.md:"), "{err}");
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
    let out = m.ctx(&["commit"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("claude/CLAUDE.md line"), "{err}");
    assert!(err.contains("GitHub token"), "{err}");
    assert_eq!(m.head(), head);
    assert!(!String::from_utf8_lossy(&m.all_objects()).contains("FAKE9999"));
}

#[test]
fn not_a_store_and_missing_store_are_clear() {
    let m = Machine::seeded("m1");
    m.ok(&["init", "--machine", "m1"]);
    let bogus = m.root.join("bogus");
    std::fs::create_dir_all(&bogus).unwrap();
    std::fs::write(bogus.join("x"), "y").unwrap();
    let out = m.ctx(&["--store", bogus.to_str().unwrap(), "status"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("is not a ctx store"), "{}", text(&out));
    assert!(text(&out).contains("hint:"));
    let out = m.ctx(&["--store", m.root.join("nope").to_str().unwrap(), "log"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("no ctx store at"), "{}", text(&out));
    let fresh = Machine::seeded("m3");
    let out = fresh.ctx(&["status"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("ctx init"), "{}", text(&out));
}

#[test]
fn missing_or_broken_identity_is_clear() {
    let m = ready();
    std::fs::remove_file(m.identity()).unwrap();
    let out = m.ctx(&["commit"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("no identity at"), "{}", text(&out));
    std::fs::write(m.identity(), "garbage\n").unwrap();
    let out = m.ctx(&["apply"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("cannot read the identity"),
        "{}",
        text(&out)
    );
    assert!(!text(&out).contains("panicked"));
}

#[cfg(unix)]
#[test]
fn symlink_loop_under_skills_is_clear() {
    let m = ready();
    std::os::unix::fs::symlink("..", m.claude_dir().join("skills/pr-summary/loop")).unwrap();
    let out = m.ctx(&["commit"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("symlink loop"), "{}", text(&out));
    assert!(!text(&out).contains("panicked"));
}

#[cfg(unix)]
#[test]
fn unreadable_file_is_clear() {
    use std::os::unix::fs::PermissionsExt;
    let m = ready();
    let f = m.claude_dir().join("agents/secret.md");
    std::fs::write(&f, "x").unwrap();
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::read(&f).is_ok() {
        return; // running as root: permissions are not enforced, nothing to test
    }
    let out = m.ctx(&["commit"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("cannot read"), "{}", text(&out));
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
    let out = m.ctx(&["commit"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("ctx.yaml"), "{}", text(&out));
    assert!(text(&out).contains("conflicts"), "{}", text(&out));
}
