//! `ctx apply` and `ctx rollback`: restoring onto another home, owned keys only, never losing
//! uncommitted live changes, history never rewritten.
mod common;
use common::*;

fn ready() -> Machine {
    let m = Machine::seeded("m1");
    m.ok(&["init", "--machine", "m1"]);
    m.ok(&["commit"]);
    m
}

#[test]
fn apply_onto_an_empty_home_gives_equal_data_with_paths_mapped() {
    let m1 = ready();
    let m2 = Machine::empty("m2");
    m1.clone_store_to(&m2);
    let out = m2.ok(&["apply"]);
    assert!(out.contains("wrote ~/.claude/settings.json"), "{out}");
    let home1 = m1.home.to_string_lossy().to_string();
    let home2 = m2.home.to_string_lossy().to_string();
    for rel in [
        "settings.json",
        "CLAUDE.md",
        "skills/pr-summary/SKILL.md",
        "skills/pr-summary/scripts/collect_diff.sh",
        "skills/sql-review/SKILL.md",
        "agents/doc-writer.md",
        "commands/fix-lint.md",
    ] {
        let a = std::fs::read_to_string(m1.claude_dir().join(rel)).unwrap();
        let b = std::fs::read_to_string(m2.claude_dir().join(rel)).unwrap();
        assert_eq!(
            a.replace(&home1, "HOME"),
            b.replace(&home2, "HOME"),
            "{rel}"
        );
    }
    let settings = json(&m2.claude_dir().join("settings.json"));
    assert_eq!(
        settings["permissions"]["additionalDirectories"][0],
        format!("{home2}/notes")
    );
    assert_eq!(
        json(&m2.claude_json())["mcpServers"],
        json(&m1.claude_json())["mcpServers"]
    );
    let d1 = json(&m1.desktop_config());
    let d2 = json(&m2.desktop_config());
    assert_eq!(d2["mcpServers"], d1["mcpServers"]);
    assert!(
        d2.get("globalShortcut").is_none(),
        "only mcpServers is ctx's"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(
            m2.claude_dir()
                .join("skills/pr-summary/scripts/collect_diff.sh"),
        )
        .unwrap()
        .permissions()
        .mode();
        assert!(mode & 0o100 != 0, "exec bit lost: {mode:o}");
    }
    assert!(!m2.claude_dir().join(".credentials.json").exists());
    assert!(m2.ok(&["status"]).contains("Live files match the store"));
}

#[test]
fn apply_changes_only_the_mcp_servers_key_of_claude_json() {
    let m1 = ready();
    let m2 = Machine::seeded("m2");
    m1.clone_store_to(&m2);
    // m2's own ~/.claude.json, with different servers and its own state.
    let original = "{\n  \"numStartups\": 3,\n  \"userID\": \"abc\",\n  \"mcpServers\": {\n    \"local\": {\n      \"command\": \"x\"\n    }\n  },\n  \"projects\": {\"/p\": {\"a\": [1,2]}},\n  \"theme\": \"light\"\n}\n";
    std::fs::write(m2.claude_json(), original).unwrap();
    let out = m2.ok(&["apply", "--force", "claude/mcp.json"]);
    assert!(out.contains(".claude.json"), "{out}");
    let after = std::fs::read_to_string(m2.claude_json()).unwrap();
    assert!(
        after.starts_with(
            "{\n  \"numStartups\": 3,\n  \"userID\": \"abc\",\n  \"mcpServers\": {\n    \"github\""
        ),
        "{after}"
    );
    assert!(
        after.ends_with(
            "  },\n  \"projects\": {\"/p\": {\"a\": [1,2]}},\n  \"theme\": \"light\"\n}\n"
        ),
        "{after}"
    );
    let v: serde_json::Value = serde_json::from_str(&after).unwrap();
    assert_eq!(
        v["mcpServers"]["github"]["env"]["GITHUB_PERSONAL_ACCESS_TOKEN"],
        "ghp_FAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKE0000"
    );
}

/// The store moves ahead of the live settings.json (a committed change), then the live file is
/// edited differently and not committed. Returns the file.
fn store_ahead_and_live_edited(m: &Machine) -> std::path::PathBuf {
    let settings = m.claude_dir().join("settings.json");
    let original = std::fs::read_to_string(&settings).unwrap();
    std::fs::write(&settings, original.replace("\"sonnet\"", "\"opus\"")).unwrap();
    m.ok(&["commit"]);
    std::fs::write(&settings, original.replace("\"sonnet\"", "\"haiku\"")).unwrap();
    settings
}

#[test]
fn rollback_refuses_to_overwrite_uncommitted_changes() {
    let m = ready();
    let settings = store_ahead_and_live_edited(&m);
    let head = m.head();
    let out = m.fails(&["rollback", "HEAD~1"], 2);
    assert!(out.stderr.contains("~/.claude/settings.json"), "{out}");
    assert!(out.stderr.contains("--force"), "{out}");
    assert!(
        std::fs::read_to_string(&settings)
            .unwrap()
            .contains("haiku"),
        "live file was touched"
    );
    assert_eq!(m.head(), head, "a refused rollback made a commit");
}

#[test]
fn apply_refuses_to_overwrite_uncommitted_changes() {
    let m = ready();
    let settings = store_ahead_and_live_edited(&m);
    let head = m.head();
    let out = m.fails(&["apply"], 2);
    assert!(out.stderr.contains("~/.claude/settings.json"), "{out}");
    assert!(out.stderr.contains("--force"), "{out}");
    assert!(
        std::fs::read_to_string(&settings)
            .unwrap()
            .contains("haiku"),
        "live file was touched"
    );
    assert_eq!(m.head(), head);
}

#[test]
fn apply_force_saves_live_contents_to_a_backup_ref_first() {
    let m = ready();
    let settings = m.claude_dir().join("settings.json");
    let original = std::fs::read_to_string(&settings).unwrap();
    std::fs::write(&settings, original.replace("\"sonnet\"", "\"haiku\"")).unwrap();
    let out = m.run(&["apply", "--force"]);
    assert_eq!(out.code, Some(0), "{out}");
    assert!(out.stderr.contains("refs/ctx/backups/"), "{out}");
    assert!(
        out.stdout.contains("wrote ~/.claude/settings.json"),
        "{out}"
    );
    assert_eq!(std::fs::read_to_string(&settings).unwrap(), original);
    let refs = m.git(&["for-each-ref", "--format=%(refname)", "refs/ctx/backups/"]);
    let backup = refs.lines().next().unwrap();
    let saved = m.git(&["show", &format!("{backup}:claude/settings.json")]);
    assert!(saved.contains("haiku"));
    // And rollback can reach it.
    let id = m.git(&["rev-parse", backup]).trim().to_string();
    m.ok(&["rollback", &id, "settings.json"]);
    assert!(std::fs::read_to_string(&settings)
        .unwrap()
        .contains("haiku"));
}

#[test]
fn rollback_makes_a_new_commit_and_applies_it() {
    let m = ready();
    let first = m.head();
    let agent = m.claude_dir().join("agents/doc-writer.md");
    let original = std::fs::read_to_string(&agent).unwrap();
    std::fs::write(
        &agent,
        original.replace("description:", "description: CHANGED"),
    )
    .unwrap();
    std::fs::remove_file(m.claude_dir().join("commands/fix-lint.md")).unwrap();
    m.ok(&["commit"]);
    let second = m.head();
    assert!(!m
        .git(&["ls-tree", "-r", "--name-only", "main"])
        .contains("fix-lint.md"));
    let out = m.ok(&["rollback", &first[..10], "--yes"]);
    assert!(out.contains("rollback everything"), "{out}");
    assert_eq!(std::fs::read_to_string(&agent).unwrap(), original);
    assert!(m.claude_dir().join("commands/fix-lint.md").exists());
    // A new commit whose parent is the old head: nothing rewritten.
    assert_eq!(m.git(&["rev-parse", "main~1"]).trim(), second);
    assert_eq!(
        m.git(&["rev-parse", "main^{tree}"]),
        m.git(&["rev-parse", &format!("{first}^{{tree}}")])
    );
    assert!(m.ok(&["status"]).contains("Live files match"));
}

#[test]
fn rollback_of_one_path_leaves_the_rest() {
    let m = ready();
    let settings = m.claude_dir().join("settings.json");
    let md = m.claude_dir().join("CLAUDE.md");
    let s0 = std::fs::read_to_string(&settings).unwrap();
    std::fs::write(&settings, s0.replace("\"sonnet\"", "\"opus\"")).unwrap();
    std::fs::write(&md, "# new memory\n").unwrap();
    m.ok(&["commit"]);
    m.ok(&["rollback", "HEAD~1", "settings.json"]);
    assert_eq!(std::fs::read_to_string(&settings).unwrap(), s0);
    assert_eq!(std::fs::read_to_string(&md).unwrap(), "# new memory\n");
    let dry = m.ok(&["rollback", "HEAD~2", "--dry-run"]);
    assert!(dry.contains("would write"), "{dry}");
    assert_eq!(std::fs::read_to_string(&md).unwrap(), "# new memory\n");
}

#[test]
fn rollback_before_the_first_commit_is_refused() {
    let m = ready();
    let head = m.head();
    let out = m.fails(&["rollback", "--before", "2001-01-01 10:00"], 2);
    assert!(out.stderr.contains("no commit made before"), "{out}");
    assert_eq!(m.head(), head);
}

#[test]
fn rollback_before_an_unreadable_time_is_refused() {
    let m = ready();
    let out = m.fails(&["rollback", "--before", "not a time"], 2);
    assert!(
        out.stderr.contains("cannot read `not a time` as a time"),
        "{out}"
    );
}

/// ready()'s commit is made in the first seconds of the sandbox's clock (2026-01-01 00:00 UTC);
/// an hour later CLAUDE.md changes and is committed again.
fn two_commits_an_hour_apart(m: &Machine) -> (std::path::PathBuf, String) {
    let md = m.claude_dir().join("CLAUDE.md");
    let first = std::fs::read_to_string(&md).unwrap();
    m.advance(3600);
    std::fs::write(&md, "# later\n").unwrap();
    m.ok(&["commit"]);
    (md, first)
}

#[test]
fn rollback_before_a_time_restores_the_last_commit_made_before_it() {
    let m = ready();
    let (md, first) = two_commits_an_hour_apart(&m);
    m.ok(&["rollback", "--before", "2026-01-01 00:30", "CLAUDE.md"]);
    assert_eq!(std::fs::read_to_string(&md).unwrap(), first);
    assert!(m
        .git(&["log", "-1", "--format=%s", "main"])
        .contains("rollback CLAUDE.md"));
}

#[test]
fn rollback_before_a_relative_time_counts_back_from_now() {
    let m = ready();
    let (md, first) = two_commits_an_hour_apart(&m);
    m.ok(&["rollback", "--before", "30 minutes ago", "CLAUDE.md"]);
    assert_eq!(std::fs::read_to_string(&md).unwrap(), first);
}

#[test]
fn secret_set_reads_stdin_and_applies() {
    let m = ready();
    let out = m.ctx_stdin(
        &[
            "secret",
            "set",
            "claude/mcp.json:github.env.GITHUB_PERSONAL_ACCESS_TOKEN",
        ],
        "ghp_FAKESETSETSETSETSETSETSETSETSET2222\n",
    );
    assert!(out.status.success(), "{}", text(&out));
    // Neither stream echoes the value.
    assert!(!text(&out).contains("ghp_"), "{}", text(&out));
    let live = json(&m.claude_json());
    assert_eq!(
        live["mcpServers"]["github"]["env"]["GITHUB_PERSONAL_ACCESS_TOKEN"],
        "ghp_FAKESETSETSETSETSETSETSETSETSET2222"
    );
    assert!(!String::from_utf8_lossy(&m.all_objects()).contains("ghp_FAKESET"));
    assert!(m.ok(&["status"]).contains("Live files match"));
}

#[test]
fn secret_rotate_commits_new_ciphertext_and_keeps_live_values() {
    let m = ready();
    let mcp = || m.git(&["show", "main:claude/mcp.json"]);
    let before = mcp();
    let live = std::fs::read(m.claude_json()).unwrap();
    let head = m.head();
    m.ok(&["secret", "rotate"]);
    assert_ne!(m.head(), head);
    assert_ne!(mcp(), before, "the ciphertext did not change");
    assert_eq!(std::fs::read(m.claude_json()).unwrap(), live);
    assert!(m.ok(&["status"]).contains("Live files match"));
}
