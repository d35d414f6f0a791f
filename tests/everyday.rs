//! The everyday verbs: `ctx git`, `ctx cd`, `ctx cat`, `ctx config`, `ctx add`, `ctx forget`,
//! `ctx backups`, on a sandboxed machine.
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

#[test]
fn git_runs_in_the_store_and_passes_its_exit_code_through() {
    let m = ready();
    let out = m.ok(&["git", "rev-parse", "refs/heads/main"]);
    assert_eq!(out.trim(), m.head());
    let out = m.ok(&["git", "log", "-1", "--format=%s"]);
    assert_eq!(out.trim(), subject(&m));
    let run = m.run(&["git", "rev-parse", "--verify", "--quiet", "refs/heads/nope"]);
    assert_eq!(run.code, Some(1), "{run}");
    let run = m.run(&["git", "no-such-git-command"]);
    assert_eq!(run.code, Some(1), "{run}");
    let help = m.ok(&["git", "--help"]);
    assert!(help.contains("Example"), "{help}");
}

#[test]
fn cd_prints_the_store_path_off_a_terminal() {
    let m = ready();
    let out = m.quiet_ok(&["cd"]);
    assert_eq!(out.trim(), m.store().to_string_lossy());
    let help = m.ok(&["cd", "--help"]);
    assert!(help.contains("bare"), "{help}");
    let none = Machine::empty("m2");
    let run = none.fails(&["cd"], 2);
    assert!(run.stderr.contains("ctx init"), "{run}");
}

#[test]
fn cat_shows_the_file_as_applied_here_with_secrets_hidden() {
    let m = ready();
    let home = m.home.to_string_lossy().to_string();
    let settings = m.ok(&["cat", "settings.json"]);
    assert!(!settings.contains("${CTX_HOME}"), "{settings}");
    assert!(settings.contains(&format!("{home}/notes")), "{settings}");
    let mcp = m.ok(&["cat", "claude/mcp.json"]);
    assert!(mcp.contains("<secret>"), "{mcp}");
    assert!(!mcp.contains("ENC[age:"), "{mcp}");
    for s in FIXTURE_SECRETS {
        assert!(!mcp.contains(s), "{mcp}");
    }
    let live = m.claude_json().to_string_lossy().to_string();
    assert_eq!(
        m.ok(&["cat", &live]),
        mcp,
        "a live path names the same file"
    );
    let run = m.fails(&["cat", "claude/mcp.json", "--decrypt"], 2);
    assert!(run.stderr.contains("terminal"), "{run}");
    assert_eq!(run.stdout, "");
    let run = m.fails(&["cat", "no-such-file.md"], 2);
    assert!(run.stderr.contains("no file"), "{run}");
    let run = m.fails(&["cat", "skills"], 2);
    assert!(run.stderr.contains("folder"), "{run}");
}

#[test]
fn config_set_commits_one_field_with_its_old_and_new_value() {
    let m = ready();
    assert_eq!(m.ok(&["config", "get", "conflicts"]), "stop\n");
    m.ok(&["config", "set", "conflicts", "newest"]);
    assert_eq!(subject(&m), "m1: ctx.yaml conflicts: stop -> newest");
    assert_eq!(m.ok(&["config", "get", "conflicts"]), "newest\n");
    let head = m.head();
    let out = m.ok(&["config", "set", "conflicts", "newest"]);
    assert!(out.contains("no commit"), "{out}");
    assert_eq!(m.head(), head);
    m.fails(&["config", "set", "conflicts", "sometimes"], 2);
    m.fails(&["config", "set", "max_file_size", "huge"], 2);
    m.fails(&["config", "get", "colour"], 2);
    let run = m.fails(&["config", "set", "recipients", "x"], 2);
    assert!(run.stderr.contains("ctx machine approve"), "{run}");
    assert_eq!(m.head(), head, "a refused edit committed");

    m.ok(&["config", "set", "include", "notes,todo.md", "extra"]);
    assert_eq!(
        m.ok(&["config", "get", "include"]),
        "notes\ntodo.md\nextra\n"
    );
    assert_eq!(
        subject(&m),
        "m1: ctx.yaml include: [] -> [notes, todo.md, extra]"
    );
    let v: serde_json::Value =
        serde_json::from_str(&m.ok(&["config", "get", "max_file_size", "--json"])).unwrap();
    assert_eq!(v["value"], 10 * 1024 * 1024);
    m.ok(&["config", "set", "max_file_size", "2048"]);
    m.ok(&["config", "unset", "include"]);
    assert_eq!(m.ok(&["config", "get", "include"]), "");
    let yaml = m.git(&["show", "refs/heads/main:ctx.yaml"]);
    assert!(yaml.contains("max_file_size: 2048"), "{yaml}");
    assert!(!yaml.contains("include"), "{yaml}");
}

#[test]
fn add_tracks_a_folder_and_forget_deletes_nothing_live() {
    let m = ready();
    let notes = m.claude_dir().join("notes");
    std::fs::create_dir_all(&notes).unwrap();
    std::fs::write(notes.join("todo.md"), "- buy milk\n").unwrap();
    m.ok(&["add", "notes"]);
    assert_eq!(subject(&m), "m1: ctx.yaml include: + notes");
    m.ok(&["commit"]);
    let tree = m.git(&["ls-tree", "-r", "--name-only", "refs/heads/main"]);
    assert!(tree.contains("claude/notes/todo.md"), "{tree}");

    m.ok(&["forget", "notes", "agents/doc-writer.md"]);
    let yaml = m.git(&["show", "refs/heads/main:ctx.yaml"]);
    assert!(
        yaml.contains("exclude:\n- notes\n- agents/doc-writer.md"),
        "{yaml}"
    );
    assert!(!yaml.contains("include"), "{yaml}");
    m.ok(&["commit"]);
    let tree = m.git(&["ls-tree", "-r", "--name-only", "refs/heads/main"]);
    assert!(!tree.contains("claude/notes/"), "still tracked: {tree}");
    assert!(!tree.contains("doc-writer"), "still tracked: {tree}");
    m.ok(&["apply"]);
    m.ok(&["apply", "--force"]);
    assert!(notes.join("todo.md").exists(), "forget deleted a live file");
    assert!(m.claude_dir().join("agents/doc-writer.md").exists());

    let head = m.head();
    let run = m.fails(&["add", "/etc/hosts"], 2);
    assert!(run.stderr.contains("Claude home"), "{run}");
    m.fails(&["add", ".credentials.json"], 2);
    assert_eq!(m.head(), head);
    // Taking a forgotten path back removes it from `exclude:`.
    m.ok(&["add", "agents/doc-writer.md"]);
    let yaml = m.git(&["show", "refs/heads/main:ctx.yaml"]);
    assert!(!yaml.contains("doc-writer"), "{yaml}");
}

#[test]
fn backups_lists_what_apply_force_saved() {
    let m = ready();
    assert!(m.ok(&["backups"]).contains("No backups"));
    let settings = m.claude_dir().join("settings.json");
    let original = std::fs::read_to_string(&settings).unwrap();
    std::fs::write(&settings, original.replace("\"sonnet\"", "\"haiku\"")).unwrap();
    m.ok(&["apply", "--force"]);
    let v: serde_json::Value = serde_json::from_str(&m.ok(&["backups", "--json"])).unwrap();
    let list = v.as_array().unwrap();
    assert_eq!(list.len(), 1, "{v}");
    assert_eq!(
        list[0]["files"],
        serde_json::json!(["claude/settings.json"])
    );
    let name = list[0]["name"].as_str().unwrap();
    assert!(name.starts_with("m1-"), "{v}");
    let refname = list[0]["ref"].as_str().unwrap();
    let saved = m.ok(&["git", "show", &format!("{refname}:claude/settings.json")]);
    assert!(saved.contains("haiku"));
    let text = m.ok(&["backups"]);
    assert!(
        text.contains(name) && text.contains("claude/settings.json"),
        "{text}"
    );
}

#[test]
fn cat_decrypt_opens_the_secrets_on_a_terminal() {
    // `script` gives ctx a terminal for stdout; without it there is nothing to check here.
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        return;
    }
    let m = ready();
    let ctx = env!("CARGO_BIN_EXE_ctx");
    let out = m
        .cmd("script")
        .args([
            "-qec",
            &format!("{ctx} cat claude/mcp.json --decrypt"),
            "/dev/null",
        ])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("ghp_FAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKE0000"),
        "{text}"
    );
    assert!(!text.contains("ENC[age:"), "{text}");
}

#[test]
fn every_new_verb_has_help_with_an_example() {
    let m = Machine::empty("m1");
    for args in [
        &["add", "--help"][..],
        &["forget", "--help"],
        &["cat", "--help"],
        &["config", "get", "--help"],
        &["config", "set", "--help"],
        &["config", "unset", "--help"],
        &["backups", "--help"],
        &["git", "--help"],
        &["cd", "--help"],
    ] {
        let out = m.ok(args);
        assert!(out.contains("Example"), "{args:?}: {out}");
    }
}
