//! Nothing lost: a missing home, a mass deletion, a stopped tracking or one bad file never
//! deletes or blocks anyone's context.

mod common;

use std::path::PathBuf;

use common::{Machine, Remote};

/// m1 with the fixture home and m2 (empty home) share a store; both have every file.
fn two_machines() -> (Remote, Machine, Machine) {
    let remote = Remote::new();
    let m1 = Machine::seeded("m1");
    m1.ok(&["init", "--machine", "m1", "--remote", &remote.url()]);
    m1.ok(&["commit"]);
    m1.ok(&["sync"]);
    let m2 = Machine::empty("m2");
    m2.ok(&["init", "--machine", "m2", "--remote", &remote.url()]);
    m2.ok(&["sync"]);
    (remote, m1, m2)
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

fn live_files(m: &Machine) -> Vec<PathBuf> {
    common::walk(&m.claude_dir())
        .into_iter()
        .filter(|p| p.is_file())
        .collect()
}

#[test]
fn a_claude_home_moved_away_deletes_nothing_anywhere() {
    let (remote, m1, m2) = two_machines();
    let before = live_files(&m2);
    assert!(before.len() > 5, "m2 got the context: {before:?}");
    let pushed = remote.head();
    std::fs::rename(m1.claude_dir(), m1.home.join(".claude.away")).unwrap();
    let out = m1.ctx(&["sync"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("is missing or unreadable"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("hint:"), "{}", stderr(&out));
    assert_eq!(remote.head(), pushed, "nothing may be pushed");
    m2.ok(&["sync"]);
    assert_eq!(live_files(&m2), before, "m2 lost files");
}

#[test]
fn a_dangling_claude_home_link_is_not_taken_for_deletions() {
    let (_remote, m1, _m2) = two_machines();
    let away = m1.home.join(".claude.real");
    std::fs::rename(m1.claude_dir(), &away).unwrap();
    std::os::unix::fs::symlink(m1.home.join("nowhere"), m1.claude_dir()).unwrap();
    let head = m1.head();
    let out = m1.ctx(&["commit"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(m1.head(), head, "nothing committed");
}

#[test]
fn the_session_end_hook_never_commits_a_missing_home() {
    let (_remote, m1, _m2) = two_machines();
    let head = m1.head();
    std::fs::rename(m1.claude_dir(), m1.home.join(".claude.away")).unwrap();
    let out = m1.ctx(&["hook", "session-end"]);
    assert_eq!(out.status.code(), Some(0), "hooks fail open");
    assert_eq!(m1.head(), head, "nothing committed");
    assert!(
        m1.hook_log().contains("missing or unreadable"),
        "{}",
        m1.hook_log()
    );
}

#[test]
fn deleting_most_files_at_once_needs_a_flag() {
    let m = Machine::seeded("m");
    m.ok(&["init", "--machine", "m"]);
    m.ok(&["commit"]);
    let head = m.head();
    for dir in ["agents", "commands", "skills"] {
        let _ = std::fs::remove_dir_all(m.claude_dir().join(dir));
    }
    let out = m.ctx(&["commit"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--allow-mass-delete"),
        "{}",
        stderr(&out)
    );
    assert_eq!(m.head(), head, "nothing committed");
    m.ok(&["commit", "--allow-mass-delete"]);
    assert_ne!(m.head(), head, "the flag lets a person delete them");
}

/// Commits a new ctx.yaml on `m`'s main (as a person editing the store would), then syncs.
fn edit_manifest(m: &Machine, f: impl FnOnce(&str) -> String) {
    let text = f(&m.git(&["show", "main:ctx.yaml"]));
    m.commit_to_store("ctx.yaml", &text, "edit ctx.yaml");
    m.ok(&["sync"]);
}

#[test]
fn excluding_a_folder_deletes_it_on_no_machine() {
    let (_remote, m1, m2) = two_machines();
    let sub = m1.claude_dir().join("commands/sub");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::write(
        sub.join("hello2.md"),
        "---\ndescription: hi\n---\nSay hi.\n",
    )
    .unwrap();
    m1.ok(&["sync"]);
    m2.ok(&["sync"]);
    let theirs = m2.claude_dir().join("commands/sub/hello2.md");
    assert!(theirs.exists(), "m2 got the command");
    edit_manifest(&m1, |t| format!("{t}exclude:\n- commands/sub\n"));
    m1.ok(&["sync"]);
    assert!(sub.join("hello2.md").exists(), "m1 keeps its file");
    m2.ok(&["sync"]);
    assert!(theirs.exists(), "m2 keeps its file once it is excluded");
    let store = m2.git(&["ls-tree", "-r", "--name-only", "main"]);
    assert!(
        !store.contains("commands/sub/"),
        "no longer tracked: {store}"
    );
    let status = m2.ok(&["status"]);
    assert!(!status.contains("commands/sub"), "{status}");
}

#[test]
fn an_agent_from_the_agents_wizard_is_committed() {
    let m = Machine::seeded("m");
    m.ok(&["init", "--machine", "m"]);
    let agent = m.claude_dir().join("agents/reviewer.md");
    let text = "---\nname: reviewer\ndescription: Use this agent when code was written. Examples:\n\n<example>\nContext: the user wrote a function\nuser: \"review it\"\nassistant: \"I'll use the reviewer agent\"\n</example>\nmodel: sonnet\n---\n\nYou review code.\n";
    std::fs::write(&agent, text).unwrap();
    m.ok(&["commit"]);
    let stored = m.git(&["show", "main:claude/agents/reviewer.md"]);
    assert_eq!(stored, text);
}

#[test]
fn one_bad_file_is_held_back_and_the_rest_is_committed() {
    let m = Machine::seeded("m");
    m.ok(&["init", "--machine", "m"]);
    m.ok(&["commit"]);
    let broken = "{\n  \"model\": \"opus\",\n";
    std::fs::write(m.claude_dir().join("settings.json"), broken).unwrap();
    std::fs::write(m.claude_dir().join("CLAUDE.md"), "# memory, edited\n").unwrap();
    let out = m.ctx(&["commit"]);
    assert_eq!(out.status.code(), Some(2), "not everything went in");
    let err = stderr(&out);
    assert!(err.contains("~/.claude/settings.json:3:"), "{err}");
    assert!(err.contains("hint:"), "{err}");
    assert_eq!(
        m.git(&["show", "main:claude/CLAUDE.md"]),
        "# memory, edited\n",
        "the rest was committed"
    );
    let kept = std::fs::read_to_string(m.claude_dir().join("settings.json")).unwrap();
    assert_eq!(kept, broken, "the held-back file is never changed");
    assert!(
        m.git(&["ls-tree", "-r", "--name-only", "main"])
            .contains("claude/settings.json"),
        "a file that cannot be read is not taken as deleted"
    );
    let status = m.ctx(&["status"]);
    assert_eq!(status.status.code(), Some(2));
}

#[test]
fn force_restores_an_unparsable_live_file_and_keeps_its_bytes() {
    let m = Machine::seeded("m");
    m.ok(&["init", "--machine", "m"]);
    m.ok(&["commit"]);
    let settings = m.claude_dir().join("settings.json");
    let good = std::fs::read_to_string(&settings).unwrap();
    let typo = good.replacen('{', "{{", 1);
    std::fs::write(&settings, &typo).unwrap();
    let refused = m.ctx(&["apply", "claude/settings.json"]);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert_eq!(std::fs::read_to_string(&settings).unwrap(), typo);
    let out = m.ctx(&["apply", "--force", "claude/settings.json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&settings).unwrap(), good);
    let backups = m.git(&["for-each-ref", "--format=%(refname)", "refs/ctx/backups/"]);
    let backup = backups.lines().next().unwrap_or_default().to_string();
    assert!(!backup.is_empty(), "a backup ref");
    assert_eq!(
        m.git(&["show", &format!("{backup}:claude/settings.json")]),
        typo
    );
}

#[test]
fn a_quiet_sync_still_names_its_conflict() {
    let (_remote, m1, m2) = two_machines();
    let set_model = |m: &Machine, model: &str| {
        let p = m.claude_dir().join("settings.json");
        let mut v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        v["model"] = serde_json::Value::String(model.into());
        std::fs::write(&p, serde_json::to_string_pretty(&v).unwrap() + "\n").unwrap();
    };
    set_model(&m1, "opus");
    m1.ok(&["sync"]);
    set_model(&m2, "haiku");
    let out = m2.ctx(&["-q", "sync"]);
    assert_eq!(out.status.code(), Some(1));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("claude/settings.json") && said.contains("model"),
        "{said}"
    );
}

#[test]
fn a_new_secret_value_seen_by_status_commits_and_later_edits_still_commit() {
    let m = Machine::seeded("m");
    m.ok(&["init", "--machine", "m"]);
    m.ok(&["commit"]);
    let p = m.claude_dir().join("settings.json");
    let edit = |value: &str| {
        let mut v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        v["env"]["API_KEY"] = serde_json::Value::String(value.into());
        std::fs::write(&p, serde_json::to_string_pretty(&v).unwrap() + "\n").unwrap();
    };
    edit("a8f5f167f44f4964e6c998dee827110c");
    // Past the stat cache's window, so status caches its capture of the new value.
    std::thread::sleep(std::time::Duration::from_millis(2300));
    m.ok(&["status"]);
    let out = m.ctx(&["commit"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    edit("b8f5f167f44f4964e6c998dee827110d");
    let head = m.head();
    let out = m.ctx(&["commit"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stderr(&out).contains("conflict"), "{}", stderr(&out));
    assert_ne!(m.head(), head, "the rotated value was committed");
}

#[test]
fn a_file_over_the_size_limit_is_held_back() {
    let m = Machine::seeded("m");
    m.ok(&["init", "--machine", "m"]);
    let big = m.claude_dir().join("skills/huge.bin");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(11 * 1024 * 1024)
        .unwrap();
    let out = m.ctx(&["commit"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("max_file_size"), "{}", stderr(&out));
    let tree = m.git(&["ls-tree", "-r", "--name-only", "main"]);
    assert!(!tree.contains("huge.bin"), "{tree}");
    assert!(
        tree.contains("claude/CLAUDE.md"),
        "the rest went in: {tree}"
    );
}

#[test]
fn a_skill_deleted_elsewhere_leaves_no_empty_folder() {
    let (_remote, m1, m2) = two_machines();
    let skill = m1.claude_dir().join("skills/gone");
    std::fs::create_dir_all(&skill).unwrap();
    std::fs::write(
        skill.join("SKILL.md"),
        "---\nname: gone\ndescription: x\n---\nBody\n",
    )
    .unwrap();
    m1.ok(&["sync"]);
    m2.ok(&["sync"]);
    let theirs = m2.claude_dir().join("skills/gone");
    assert!(theirs.join("SKILL.md").exists());
    std::fs::remove_dir_all(&skill).unwrap();
    m1.ok(&["sync"]);
    let out = m2.ok(&["sync"]);
    assert!(out.contains("Deleted here"), "{out}");
    assert!(!theirs.exists(), "the emptied folder is gone too");
    assert!(m2.claude_dir().join("skills").exists());
}

#[test]
fn a_joining_machines_own_settings_are_an_open_conflict_resolve_settles() {
    let remote = Remote::new();
    let m1 = Machine::seeded("m1");
    m1.ok(&["init", "--machine", "m1", "--remote", &remote.url()]);
    m1.ok(&["sync"]);
    let m2 = Machine::empty("m2");
    std::fs::create_dir_all(m2.claude_dir()).unwrap();
    // m1's settings say sonnet; m2 joins with its own settings saying haiku.
    let mine = "{\n  \"model\": \"haiku\"\n}\n";
    let settings = m2.claude_dir().join("settings.json");
    std::fs::write(&settings, mine).unwrap();
    m2.ok(&["init", "--machine", "m2", "--remote", &remote.url()]);
    let out = m2.ctx(&["sync"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a conflict is reported: {}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("ctx resolve"), "{}", stderr(&out));
    assert!(
        !stderr(&out).contains("`ctx sync` again commits"),
        "no false hint: {}",
        stderr(&out)
    );
    let status = m2.ctx(&["status", "--json"]);
    assert_eq!(status.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(
        report["conflicts"][0]["path"], "claude/settings.json",
        "{report}"
    );
    assert_eq!(
        report["conflicts"][0]["fields"][0]["field"], "model",
        "{report}"
    );
    m2.ok(&["resolve", "settings.json", "--ours"]);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&settings).unwrap()).unwrap();
    assert_eq!(v["model"], "haiku", "m2 kept its value");
    assert_eq!(m2.ctx(&["status"]).status.code(), Some(0));
    m2.ok(&["sync"]);
    // m2 committed more than its join request: m1 hears it once it approves m2.
    m1.fails(&["sync"], 2);
    m1.ok(&["machine", "approve", "m2"]);
    m1.ok(&["sync"]);
    let theirs: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(m1.claude_dir().join("settings.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(theirs["model"], "haiku", "the resolution reached m1");
    assert!(
        theirs["permissions"].is_object(),
        "and m1's other settings stayed"
    );
}

#[test]
fn a_project_commit_while_the_store_is_busy_is_recorded_by_the_next_command() {
    let m = Machine::seeded("m");
    m.ok(&["init", "--machine", "m"]);
    m.ok(&["commit"]);
    let dir = m.project("webapp");
    m.ok(&["hooks", "install", "--worktree", &dir.to_string_lossy()]);
    std::fs::write(dir.join("CLAUDE.local.md"), "# my notes for webapp\n").unwrap();
    let lock = m.store().join("ctx/lock");
    let mut holder = std::process::Command::new("flock")
        .arg(&lock)
        .args(["sleep", "5"])
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    m.git_in(&dir, &["commit", "-q", "--allow-empty", "-m", "work"]);
    let _ = holder.kill();
    let _ = holder.wait();
    assert!(
        m.hook_log().contains("recorded by the next"),
        "{}",
        m.hook_log()
    );
    let tree = m.git(&["ls-tree", "-r", "--name-only", "main"]);
    assert!(!tree.contains("CLAUDE.local.md"), "not yet: {tree}");
    m.ok(&["commit"]);
    let tree = m.git(&["ls-tree", "-r", "--name-only", "main"]);
    assert!(tree.contains("CLAUDE.local.md"), "caught up: {tree}");
}

#[test]
fn a_stow_style_settings_link_stays_a_link_through_a_rollback() {
    let m = Machine::seeded("m");
    let dotfiles = m.home.join("dotfiles/claude");
    std::fs::create_dir_all(&dotfiles).unwrap();
    let settings = m.claude_dir().join("settings.json");
    let real = dotfiles.join("settings.json");
    std::fs::rename(&settings, &real).unwrap();
    std::os::unix::fs::symlink(&real, &settings).unwrap();
    m.ok(&["init", "--machine", "m"]);
    m.ok(&["commit"]);
    let before = std::fs::read_to_string(&real).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&before).unwrap();
    v["model"] = serde_json::Value::String("opus".into());
    std::fs::write(&real, serde_json::to_string_pretty(&v).unwrap() + "\n").unwrap();
    m.ok(&["commit"]);
    m.ok(&["rollback", "HEAD~1", "claude/settings.json"]);
    let meta = std::fs::symlink_metadata(&settings).unwrap();
    assert!(meta.file_type().is_symlink(), "still a link");
    assert_eq!(
        std::fs::read_to_string(&real).unwrap(),
        before,
        "written through"
    );
}

#[test]
fn a_file_inside_a_symlinked_skill_folder_is_never_deleted() {
    let (_remote, m1, m2) = two_machines();
    let skill = m1.claude_dir().join("skills/shared");
    std::fs::create_dir_all(&skill).unwrap();
    std::fs::write(
        skill.join("SKILL.md"),
        "---\nname: shared\ndescription: x\n---\nBody\n",
    )
    .unwrap();
    m1.ok(&["sync"]);
    m2.ok(&["sync"]);
    // On m2 the skill lives in a dotfiles tree, linked into the Claude home.
    let theirs = m2.claude_dir().join("skills/shared");
    let elsewhere = m2.home.join("dotfiles/shared");
    std::fs::create_dir_all(elsewhere.parent().unwrap()).unwrap();
    std::fs::rename(&theirs, &elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &theirs).unwrap();
    std::fs::remove_dir_all(&skill).unwrap();
    m1.ok(&["sync"]);
    let out = m2.ctx(&["sync"]);
    assert!(
        elsewhere.join("SKILL.md").exists(),
        "the link's target keeps its file"
    );
    assert!(
        stderr(&out).contains("symlinked folder"),
        "{}",
        stderr(&out)
    );
}
