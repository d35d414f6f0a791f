//! The parts of a Claude setup beyond plain files: plugins (the intent travels, Claude Code
//! installs), claude.ai's own synced folders (never touched), local-scope MCP servers carried by
//! project identity, and `ctx doctor` naming the tools this machine lacks.
#![cfg(unix)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::{approved_pair, Machine, Remote};
use serde_json::Value;

const ORIGIN: &str = "git@github.com:acme/webapp.git";

fn json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn write_json(path: &Path, v: &Value) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, serde_json::to_string_pretty(v).unwrap() + "\n").unwrap();
}

fn two_machines() -> (Remote, Machine, Machine) {
    approved_pair("a", "b")
}

fn tree(m: &Machine) -> String {
    m.git(&["ls-tree", "-r", "--name-only", "main"])
}

#[test]
fn plugins_travel_as_intent_and_status_names_those_to_install() {
    let (_remote, a, b) = two_machines();
    // New marketplaces wait for review on b; this test is about what travels.
    b.review_off();
    let home_a = a.home.to_string_lossy().to_string();
    let settings = a.claude_dir().join("settings.json");
    let mut s = json(&settings);
    s["extraKnownMarketplaces"] = serde_json::json!({
        "team": {"source": {"source": "directory", "path": format!("{home_a}/src/team-plugins")}}
    });
    s["pluginConfigs"] =
        serde_json::json!({"commit-commands@claude-plugins-official": {"style": "short"}});
    write_json(&settings, &s);
    // What Claude Code installed on a: registry, clones, caches, claude.ai's synced folders.
    let plugins = a.claude_dir().join("plugins");
    let registry = serde_json::json!({"version": 2, "plugins": {
        "commit-commands@claude-plugins-official": [{"scope": "user",
            "installPath": format!("{home_a}/.claude/plugins/cache/x")}]}});
    write_json(&plugins.join("installed_plugins.json"), &registry);
    write_json(
        &plugins.join("known_marketplaces.json"),
        &serde_json::json!({}),
    );
    write_json(&plugins.join("cache/x/plugin.json"), &serde_json::json!({}));
    write_json(
        &plugins.join("synced/p/plugin.json"),
        &serde_json::json!({}),
    );
    let synced = a.claude_dir().join("skills/synced/web/SKILL.md");
    std::fs::create_dir_all(synced.parent().unwrap()).unwrap();
    std::fs::write(
        &synced,
        "---\nname: web\ndescription: from claude.ai\n---\nx\n",
    )
    .unwrap();
    let status = a.ok(&["status"]);
    assert!(
        status.contains(
            "Plugins enabled but not installed here: pr-review-toolkit@claude-plugins-official;"
        ) && status.contains("Claude Code installs them at its next start"),
        "{status}"
    );
    assert!(
        !status.contains("commit-commands@"),
        "installed on a: {status}"
    );
    a.ok(&["sync"]);
    let t = tree(&a);
    assert!(!t.contains("plugins/"), "{t}");
    assert!(!t.contains("skills/synced"), "{t}");
    b.ok(&["sync"]);
    let sb = json(&b.claude_dir().join("settings.json"));
    let home_b = b.home.to_string_lossy().to_string();
    assert_eq!(
        sb["extraKnownMarketplaces"]["team"]["source"]["path"],
        Value::from(format!("{home_b}/src/team-plugins")),
        "{sb}"
    );
    assert_eq!(
        sb["pluginConfigs"]["commit-commands@claude-plugins-official"]["style"],
        "short"
    );
    assert_eq!(
        sb["enabledPlugins"]["commit-commands@claude-plugins-official"],
        true
    );
    assert!(!b.claude_dir().join("plugins").exists());
    assert!(!b.claude_dir().join("skills/synced").exists());
    let status: Value = serde_json::from_str(&b.ok(&["status", "--json"])).unwrap();
    let missing = status["plugins_to_install"].as_array().unwrap();
    assert_eq!(missing.len(), 2, "{status}");
    // A synced folder another machine pushed into the store is never written here.
    a.commit_to_store(
        "claude/skills/synced/evil/SKILL.md",
        "---\nname: e\ndescription: e\n---\n",
        "push",
    );
    a.ok(&["apply"]);
    assert!(!a.claude_dir().join("skills/synced/evil").exists());
}

/// The repository (origin `ORIGIN`) at `~/<rel>` with ctx's hooks installed, which records it.
fn webapp(m: &Machine, rel: &str) -> PathBuf {
    let dir = m.home.join(rel);
    std::fs::create_dir_all(&dir).unwrap();
    m.git_in(&dir, &["init", "-q"]);
    m.git_in(&dir, &["remote", "add", "origin", ORIGIN]);
    std::fs::write(dir.join("README.md"), "# webapp\n").unwrap();
    m.git_in(&dir, &["add", "README.md"]);
    m.git_in(&dir, &["commit", "-qm", "first"]);
    let out = m.run_in(&dir, &["hooks", "install"]);
    assert_eq!(out.code, Some(0), "{out}");
    std::fs::canonicalize(&dir).unwrap()
}

fn key(p: &Path) -> String {
    p.to_string_lossy().to_string()
}

#[test]
fn a_local_scope_mcp_server_reaches_the_other_machines_path_of_the_project() {
    let (_remote, a, b) = two_machines();
    let pa = webapp(&a, "code/webapp");
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    let pb = webapp(&b, "work/webapp");
    // b's own entry for the project, as Claude Code writes it.
    let cj_b = b.claude_json();
    let mut doc = if cj_b.is_file() {
        json(&cj_b)
    } else {
        serde_json::json!({})
    };
    doc["numStartups"] = Value::from(3);
    doc["projects"] = serde_json::json!({ key(&pb): {
        "allowedTools": [], "mcpServers": {}, "hasTrustDialogAccepted": true,
        "lastCost": 0.25, "history": [{"display": "b's prompt", "pastedContents": {}}]
    }});
    write_json(&cj_b, &doc);
    b.ok(&["sync"]);
    a.ok(&["sync"]);
    // On a: the fixture's entry moves to a's path of the project, with a secret-bearing server.
    let cj_a = a.claude_json();
    let mut doc = json(&cj_a);
    let projects = doc["projects"].as_object_mut().unwrap();
    let mut entry = projects
        .remove("/home/alice/code/webapp")
        .unwrap_or(Value::Null);
    let home_a = key(&a.home);
    let fixture_key = format!("{home_a}/code/webapp");
    if let Some(e) = projects.remove(&fixture_key) {
        entry = e;
    }
    entry["mcpServers"]["search"] = serde_json::json!({
        "type": "stdio", "command": "uvx", "args": ["search-mcp", format!("{home_a}/code/webapp/data")],
        "env": {"SEARCH_API_KEY": "sk-FAKEFAKEFAKEFAKEFAKEFAKE000000"}
    });
    projects.insert(key(&pa), entry);
    write_json(&cj_a, &doc);
    a.ok(&["sync"]);
    let t = tree(&a);
    assert!(
        t.contains("projects/github.com-acme-webapp/mcp.json"),
        "{t}"
    );
    let stored = a.git(&["show", "main:projects/github.com-acme-webapp/mcp.json"]);
    assert!(!stored.contains("sk-FAKE"), "sealed: {stored}");
    assert!(!stored.contains("FAKE_DB_PASSWORD"), "sealed: {stored}");
    assert!(stored.contains("ENC[age:"), "{stored}");
    assert!(stored.contains("${CTX_HOME}/code/webapp/data"), "{stored}");
    // New servers from another machine wait for review, as user-scope ones do.
    b.ok(&["sync"]);
    let held = b.run(&["review"]);
    assert!(held.stdout.contains("mcpServers.search (new)"), "{held}");
    b.ok(&["review", "--accept"]);
    let got = json(&b.claude_json());
    let entry = &got["projects"][key(&pb)];
    assert_eq!(entry["mcpServers"]["search"]["command"], "uvx", "{got}");
    assert_eq!(
        entry["mcpServers"]["search"]["env"]["SEARCH_API_KEY"],
        "sk-FAKEFAKEFAKEFAKEFAKEFAKE000000"
    );
    assert!(entry["mcpServers"]["postgres-dev"].is_object(), "{entry}");
    // Every other key of b's entry is as b had it, and nothing of a's entry came along.
    assert_eq!(entry["hasTrustDialogAccepted"], true);
    assert_eq!(entry["lastCost"], 0.25);
    assert_eq!(entry["history"][0]["display"], "b's prompt");
    assert_eq!(got["numStartups"], 3);
    assert!(
        got["projects"].get(key(&pa)).is_none(),
        "a's path is not b's: {got}"
    );
    let status = b.ok(&["status"]);
    assert!(status.contains("Live files match the store."), "{status}");
    // A change of what it runs, from another machine, waits for review like a user-scope one.
    let cj_a_doc = json(&cj_a);
    let mut doc = cj_a_doc.clone();
    doc["projects"][key(&pa)]["mcpServers"]["search"]["command"] = Value::from("/tmp/evil");
    write_json(&cj_a, &doc);
    a.ok(&["sync"]);
    let reviewed = b.run(&["sync"]);
    let after = json(&b.claude_json());
    assert_eq!(
        after["projects"][key(&pb)]["mcpServers"]["search"]["command"],
        "uvx",
        "held for review: {reviewed}"
    );
    let review = b.run(&["review"]);
    assert!(
        review.stdout.contains("mcpServers.search.command"),
        "{review}"
    );
}

#[test]
fn doctor_names_tools_this_machine_lacks() {
    let m = Machine::seeded("m1");
    m.ok(&["init", "--machine", "m1"]);
    let cj = m.claude_json();
    let mut doc = json(&cj);
    doc["mcpServers"]["gone"] =
        serde_json::json!({"command": "no-such-mcp-binary-here", "args": []});
    doc["mcpServers"]["abs"] = serde_json::json!({"command": "/nonexistent/bin/mcp-server"});
    write_json(&cj, &doc);
    let settings = m.claude_dir().join("settings.json");
    let mut s = json(&settings);
    s["hooks"]["Stop"] = serde_json::json!([{"hooks": [
        {"type": "command", "command": "bash ~/.claude/hooks/missing-stop.sh"}]}]);
    write_json(&settings, &s);
    let script = m.claude_dir().join("skills/pr-summary/scripts/report.rb");
    std::fs::write(&script, "#!/usr/bin/env no-such-interpreter-xyz\nputs 1\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = m.run(&["doctor"]);
    assert_eq!(out.code, Some(0), "warnings do not fail doctor: {out}");
    for want in [
        "MCP server gone: `no-such-mcp-binary-here` is not installed here",
        "MCP server abs: `/nonexistent/bin/mcp-server`",
        "hook Stop: `~/.claude/hooks/missing-stop.sh`",
        "skill pr-summary: `no-such-interpreter-xyz`",
    ] {
        assert!(out.stdout.contains(want), "{want}: {out}");
    }
    assert!(out.stdout.contains("warn"), "{out}");
    let found: Value = serde_json::from_str(&m.ok(&["doctor", "--json"])).unwrap();
    let tools: Vec<&Value> = found
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "tools")
        .collect();
    assert_eq!(tools.len(), 4, "{found}");
    assert!(tools
        .iter()
        .all(|f| f["ok"] == false && f["warning"] == true));
    // Once the script is there, its hook is no longer named.
    let hook = m.claude_dir().join("hooks/missing-stop.sh");
    std::fs::create_dir_all(hook.parent().unwrap()).unwrap();
    std::fs::write(&hook, "#!/bin/sh\n").unwrap();
    let again = m.run(&["doctor"]);
    assert!(!again.stdout.contains("missing-stop.sh"), "{again}");
}
