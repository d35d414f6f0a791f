//! `ctx commit`, `status`, `diff`, `log`: capture, secrets, messages.
mod common;
use common::*;

fn ready() -> Machine {
    let m = Machine::seeded("m1");
    m.ok(&["init", "--machine", "m1"]);
    m
}

#[test]
fn commit_captures_the_allow_list_and_nothing_else() {
    let m = ready();
    m.ok(&["commit"]);
    let tree = m.git(&["ls-tree", "-r", "--name-only", "main"]);
    for want in [
        "claude/settings.json",
        "claude/CLAUDE.md",
        "claude/skills/pr-summary/SKILL.md",
        "claude/skills/pr-summary/scripts/collect_diff.sh",
        "claude/agents/test-runner.md",
        "claude/commands/changelog.md",
        "claude/mcp.json",
        "desktop/mcp.json",
        "README.md",
    ] {
        assert!(tree.lines().any(|l| l == want), "missing {want}:\n{tree}");
    }
    for never in [
        ".credentials.json",
        "shell-snapshots",
        "statsig",
        "todos",
        "projects/-home",
        ".jsonl",
    ] {
        assert!(!tree.contains(never), "{never} captured:\n{tree}");
    }
    let mcp = m.git(&["show", "main:claude/mcp.json"]);
    let v: serde_json::Value = serde_json::from_str(&mcp).unwrap();
    assert_eq!(
        v.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["github", "linear"]
    );
    for key in ["oauthAccount", "userID", "projects", "numStartups"] {
        assert!(!mcp.contains(key));
    }
    let desktop: serde_json::Value =
        serde_json::from_str(&m.git(&["show", "main:desktop/mcp.json"])).unwrap();
    assert!(desktop.get("globalShortcut").is_none());
    assert!(desktop.get("filesystem").is_some());
    // Scripts keep their exec bit.
    let ls = m.git(&[
        "ls-tree",
        "-r",
        "main",
        "claude/skills/pr-summary/scripts/collect_diff.sh",
    ]);
    assert!(ls.starts_with("100755"), "{ls}");
    // Unchanged files are stored byte for byte.
    let stored = m.git(&["show", "main:claude/CLAUDE.md"]);
    assert_eq!(
        stored,
        std::fs::read_to_string(m.claude_dir().join("CLAUDE.md")).unwrap()
    );
}

#[test]
fn no_plaintext_secret_reaches_any_git_object() {
    let m = ready();
    m.ok(&["commit"]);
    // Edit and commit again so history holds several versions.
    let settings = m.claude_dir().join("settings.json");
    let mut v = json(&settings);
    v["env"]["OPENAI_API_KEY"] = "sk-proj-FAKEFAKEFAKEFAKEFAKEFAKE0000".into();
    std::fs::write(&settings, serde_json::to_string_pretty(&v).unwrap()).unwrap();
    m.ok(&["commit"]);
    let objects = String::from_utf8_lossy(&m.all_objects()).to_string();
    for secret in FIXTURE_SECRETS
        .iter()
        .chain(&["sk-proj-FAKEFAKEFAKEFAKEFAKEFAKE0000"])
    {
        assert!(!objects.contains(secret), "{secret} found in a git object");
    }
    assert!(objects.contains("ENC[age:"));
    let list = m.ok(&["secret", "ls"]);
    assert!(
        list.contains("claude/mcp.json:github.env.GITHUB_PERSONAL_ACCESS_TOKEN"),
        "{list}"
    );
    assert!(
        list.contains("claude/settings.json:env.OPENAI_API_KEY"),
        "{list}"
    );
    assert!(!list.contains("FAKE"));
}

#[test]
fn home_paths_are_stored_machine_neutral() {
    let m = ready();
    m.ok(&["commit"]);
    let settings = m.git(&["show", "main:claude/settings.json"]);
    assert!(settings.contains("\"${CTX_HOME}/notes\""), "{settings}");
    assert!(!settings.contains(&m.home.to_string_lossy().to_string()));
}

#[test]
fn no_op_commit_makes_no_commit() {
    let m = ready();
    m.ok(&["commit"]);
    let head = m.head();
    let out = m.ok(&["commit"]);
    assert!(out.contains("Nothing to commit"), "{out}");
    assert_eq!(m.head(), head);
}

#[test]
fn ciphertext_is_stable_while_the_plaintext_is() {
    let m = ready();
    m.ok(&["commit"]);
    let before = m.git(&["show", "main:claude/mcp.json"]);
    let mut v = json(&m.claude_json());
    v["mcpServers"]["github"]["args"] =
        serde_json::json!(["-y", "@modelcontextprotocol/server-github@2"]);
    std::fs::write(m.claude_json(), serde_json::to_string_pretty(&v).unwrap()).unwrap();
    m.ok(&["commit"]);
    let after = m.git(&["show", "main:claude/mcp.json"]);
    assert_ne!(before, after);
    let enc = |t: &str| {
        t.lines()
            .filter(|l| l.contains("ENC["))
            .map(String::from)
            .collect::<Vec<_>>()
    };
    assert_eq!(enc(&before), enc(&after));
    // The diff between the two commits touches only the changed line.
    let diff = m.git(&["diff", "main~1", "main", "--", "claude/mcp.json"]);
    assert!(
        !diff
            .lines()
            .any(|l| (l.starts_with('+') || l.starts_with('-')) && l.contains("ENC[")),
        "{diff}"
    );
}

/// A second commit adding a permission to settings.json and an MCP server to ~/.claude.json.
fn commit_a_permission_and_a_server(m: &Machine) {
    m.ok(&["commit"]);
    let settings = m.claude_dir().join("settings.json");
    let mut v = json(&settings);
    v["permissions"]["allow"]
        .as_array_mut()
        .unwrap()
        .push("Bash(cargo test *)".into());
    std::fs::write(&settings, serde_json::to_string_pretty(&v).unwrap() + "\n").unwrap();
    let mut c = json(&m.claude_json());
    c["mcpServers"]["notes"] = serde_json::json!({"command": "notes-mcp"});
    std::fs::write(m.claude_json(), serde_json::to_string_pretty(&c).unwrap()).unwrap();
    m.ok(&["commit"]);
}

#[test]
fn default_message_names_machine_and_fields() {
    let m = ready();
    commit_a_permission_and_a_server(&m);
    let msg = m.git(&["log", "-1", "--format=%B", "main"]);
    let first = msg.lines().next().unwrap();
    assert_eq!(
        first,
        "m1: mcp.json +server notes · settings.json permissions.allow +1"
    );
    assert!(msg.contains("\nCtx-Machine: m1"), "{msg}");
}

#[test]
fn log_json_names_the_machine_of_each_commit() {
    let m = ready();
    commit_a_permission_and_a_server(&m);
    let log: serde_json::Value =
        serde_json::from_str(&m.ok(&["log", "--json", "-n", "1"])).unwrap();
    assert_eq!(log.as_array().unwrap().len(), 1, "{log}");
    assert_eq!(log[0]["machine"], "m1");
}

#[test]
fn log_of_a_path_lists_only_the_commits_that_changed_it() {
    let m = ready();
    commit_a_permission_and_a_server(&m);
    let all = m.ok(&["log"]);
    assert_eq!(all.lines().count(), 3, "{all}");
    // settings.json: the first capture and the permission; not the set-up commit.
    let per_path = m.ok(&["log", "settings.json"]);
    assert_eq!(per_path.lines().count(), 2, "{per_path}");
    assert!(!per_path.contains("set up machine"), "{per_path}");
}

#[test]
fn diff_hides_secret_values() {
    let m = ready();
    m.ok(&["commit"]);
    let mut c = json(&m.claude_json());
    c["mcpServers"]["github"]["env"]["GITHUB_PERSONAL_ACCESS_TOKEN"] =
        "ghp_FAKENEWNEWNEWNEWNEWNEWNEWNEWNEW1111".into();
    std::fs::write(m.claude_json(), serde_json::to_string_pretty(&c).unwrap()).unwrap();
    let out = m.ok(&["diff"]);
    assert!(out.contains("<secret changed>"), "{out}");
    assert!(!out.contains("ghp_"), "{out}");
    assert!(!out.contains("ENC[age:"), "{out}");
}

#[test]
fn status_json_names_a_server_whose_secret_changed() {
    let m = ready();
    m.ok(&["commit"]);
    let mut c = json(&m.claude_json());
    c["mcpServers"]["github"]["env"]["GITHUB_PERSONAL_ACCESS_TOKEN"] =
        "ghp_FAKENEWNEWNEWNEWNEWNEWNEWNEWNEW1111".into();
    std::fs::write(m.claude_json(), serde_json::to_string_pretty(&c).unwrap()).unwrap();
    let out = m.ok(&["status", "--json"]);
    assert!(!out.contains("ghp_"), "{out}");
    let status: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(status["files"].as_array().unwrap().len(), 1, "{status}");
    assert_eq!(status["files"][0]["path"], "claude/mcp.json");
    assert_eq!(status["files"][0]["fields"][0], "server github");
}

#[test]
fn status_lists_untracked_entries() {
    let m = ready();
    std::fs::create_dir_all(m.claude_dir().join("my-notes")).unwrap();
    std::fs::write(m.claude_dir().join("my-notes/a.md"), "x").unwrap();
    let out = m.ok(&["status"]);
    assert!(out.contains("Untracked"), "{out}");
    assert!(out.contains("my-notes"), "{out}");
    assert!(!out.contains("shell-snapshots"));
    m.ok(&["commit"]);
    let tree = m.git(&["ls-tree", "-r", "--name-only", "main"]);
    assert!(!tree.contains("my-notes"));
}

#[test]
fn include_in_ctx_yaml_captures_more() {
    let m = ready();
    std::fs::create_dir_all(m.claude_dir().join("my-notes")).unwrap();
    std::fs::write(m.claude_dir().join("my-notes/a.md"), "x\n").unwrap();
    // Edit ctx.yaml in a clone of the store, as a person would, and push it back.
    let work = m.root.join("work");
    let out = m
        .cmd("git")
        .args(["clone", "-q"])
        .arg(m.store())
        .arg(&work)
        .output()
        .unwrap();
    assert!(out.status.success());
    let yaml = std::fs::read_to_string(work.join("ctx.yaml")).unwrap() + "include:\n- my-notes\n";
    std::fs::write(work.join("ctx.yaml"), yaml).unwrap();
    for args in [
        &["commit", "-qam", "include my-notes"][..],
        &["push", "-q", "origin", "main"],
    ] {
        let o = m
            .cmd("git")
            .arg("-C")
            .arg(&work)
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", text(&o));
    }
    m.ok(&["commit"]);
    let tree = m.git(&["ls-tree", "-r", "--name-only", "main"]);
    assert!(tree.contains("claude/my-notes/a.md"), "{tree}");
}

#[test]
fn folders_cached_as_unchanged_still_show_new_renamed_and_deleted_files() {
    let m = ready();
    m.ok(&["commit"]);
    let skill = m.claude_dir().join("skills/pr-summary");
    // Let the folders age past the caches' 2-second window, then warm both caches.
    std::thread::sleep(std::time::Duration::from_millis(2300));
    m.ok(&["status"]);
    m.ok(&["status"]);
    std::fs::write(skill.join("NEW.md"), "new\n").unwrap();
    std::fs::rename(skill.join("SKILL.md"), skill.join("SKILL-old.md")).unwrap();
    let out = m.ok(&["status", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let files: Vec<(String, String)> = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for want in [
        ("claude/skills/pr-summary/NEW.md", "added"),
        ("claude/skills/pr-summary/SKILL-old.md", "added"),
        ("claude/skills/pr-summary/SKILL.md", "deleted"),
    ] {
        assert!(
            files.contains(&(want.0.to_string(), want.1.to_string())),
            "{want:?} not in {files:?}"
        );
    }
}

// What the user reads, pinned. Commit ids are redacted; times come from the sandbox's clock.

#[test]
fn status_output_when_clean() {
    let m = ready();
    m.ok(&["commit"]);
    insta::assert_snapshot!(m.show(&m.run(&["status"])), @r"
        exit 0
        --- stdout
        Live files match the store.
        Plugins enabled but not installed here: commit-commands@claude-plugins-official, pr-review-toolkit@claude-plugins-official; Claude Code installs them at its next start.
        --- stderr
        ");
}

#[test]
fn status_output_names_the_modified_fields() {
    let m = ready();
    m.ok(&["commit"]);
    let settings = m.claude_dir().join("settings.json");
    let mut v = json(&settings);
    v["model"] = "opus".into();
    v["permissions"]["allow"]
        .as_array_mut()
        .unwrap()
        .push("Bash(make *)".into());
    std::fs::write(&settings, serde_json::to_string_pretty(&v).unwrap() + "\n").unwrap();
    insta::assert_snapshot!(m.show(&m.run(&["status"])), @r"
        exit 0
        --- stdout
        modified claude/settings.json  (model, permissions.allow +1)
        Plugins enabled but not installed here: commit-commands@claude-plugins-official, pr-review-toolkit@claude-plugins-official; Claude Code installs them at its next start.
        --- stderr
        ");
}

#[test]
fn status_output_lists_an_added_file() {
    let m = ready();
    m.ok(&["commit"]);
    std::fs::write(
        m.claude_dir().join("commands/release.md"),
        "---\ndescription: Cut a release\n---\nTag and push.\n",
    )
    .unwrap();
    insta::assert_snapshot!(m.show(&m.run(&["status"])), @r"
        exit 0
        --- stdout
        added    claude/commands/release.md
        Plugins enabled but not installed here: commit-commands@claude-plugins-official, pr-review-toolkit@claude-plugins-official; Claude Code installs them at its next start.
        --- stderr
        ");
}

#[test]
fn status_output_lists_a_deleted_file() {
    let m = ready();
    m.ok(&["commit"]);
    std::fs::remove_file(m.claude_dir().join("agents/doc-writer.md")).unwrap();
    insta::assert_snapshot!(m.show(&m.run(&["status"])), @r"
        exit 0
        --- stdout
        deleted  claude/agents/doc-writer.md
        Plugins enabled but not installed here: commit-commands@claude-plugins-official, pr-review-toolkit@claude-plugins-official; Claude Code installs them at its next start.
        --- stderr
        ");
}

#[test]
fn diff_output_shows_secrets_as_placeholders() {
    let m = ready();
    m.ok(&["commit"]);
    let mut c = json(&m.claude_json());
    c["mcpServers"]["github"]["env"]["GITHUB_PERSONAL_ACCESS_TOKEN"] =
        "ghp_FAKENEWNEWNEWNEWNEWNEWNEWNEWNEW1111".into();
    c["mcpServers"]["linear"]["command"] = "linear-mcp".into();
    std::fs::write(m.claude_json(), serde_json::to_string_pretty(&c).unwrap()).unwrap();
    insta::assert_snapshot!(m.show(&m.run(&["diff"])), @r#"
        exit 0
        --- stdout
        --- a/claude/mcp.json
        +++ b/claude/mcp.json
        @@ -7,7 +7,7 @@
               "@modelcontextprotocol/server-github"
             ],
             "env": {
        -      "GITHUB_PERSONAL_ACCESS_TOKEN": "<secret>"
        +      "GITHUB_PERSONAL_ACCESS_TOKEN": "<secret changed>"
             }
           },
           "linear": {
        @@ -15,6 +15,7 @@
             "url": "https://mcp.linear.app/mcp",
             "headers": {
               "Authorization": "<secret>"
        -    }
        +    },
        +    "command": "linear-mcp"
           }
         }
        --- stderr
        "#);
}

#[test]
fn log_output_lists_commits_newest_first() {
    let m = ready();
    m.ok(&["commit"]);
    m.advance(3600);
    let settings = m.claude_dir().join("settings.json");
    let mut v = json(&settings);
    v["model"] = "opus".into();
    std::fs::write(&settings, serde_json::to_string_pretty(&v).unwrap() + "\n").unwrap();
    m.ok(&["commit"]);
    insta::assert_snapshot!(m.show(&m.run(&["log"])), @r"
        exit 0
        --- stdout
        [ID] 2026-01-01 01:00 +0000 m1         m1: settings.json model
        [ID] 2026-01-01 00:00 +0000 m1         m1: +CLAUDE.md · +agents/doc-writer.md · and 10 more
        [ID] 2026-01-01 00:00 +0000 m1         m1: set up machine m1
        --- stderr
        ");
}
