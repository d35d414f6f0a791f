//! No side path skips sealing: `ctx resolve` from stdin, `ctx secret set` then a hand edit, links
//! out of the captured tree, lists edited where a secret cannot be read, server names with dots;
//! and the modes of the files that hold decrypted secrets.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::{Machine, Remote};
use serde_json::Value;

fn edit_json(path: &Path, f: impl FnOnce(&mut Value)) {
    let mut v = common::json(path);
    f(&mut v);
    std::fs::write(path, serde_json::to_string_pretty(&v).unwrap() + "\n").unwrap();
}

fn objects(m: &Machine) -> String {
    String::from_utf8_lossy(&m.all_objects()).to_string()
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

/// m1 (the fixture home) and m2 (empty) on one remote; m2 approved only if `approve`.
fn two(approve: bool) -> (Remote, Machine, Machine) {
    let remote = Remote::new();
    let m1 = Machine::seeded("m1");
    m1.ok(&["init", "--machine", "m1", "--remote", &remote.url()]);
    m1.ok(&["commit"]);
    m1.ok(&["sync"]);
    let m2 = Machine::empty("m2");
    m2.ok(&["init", "--machine", "m2", "--remote", &remote.url()]);
    m2.ok(&["sync"]);
    if approve {
        m1.ok(&["sync"]);
        m1.ok(&["machine", "approve", "m2"]);
        m1.ok(&["sync"]);
        m2.ok(&["sync"]);
    }
    (remote, m1, m2)
}

#[test]
fn resolve_from_stdin_seals_a_pasted_token_and_maps_the_home() {
    let (_remote, m1, m2) = two(true);
    let settings = |m: &Machine| m.claude_dir().join("settings.json");
    edit_json(&settings(&m1), |v| v["model"] = "opus".into());
    edit_json(&settings(&m2), |v| v["model"] = "haiku".into());
    m1.ok(&["sync"]);
    assert_eq!(m2.run(&["sync"]).code, Some(1));
    let mut resolved = common::json(&settings(&m2));
    resolved["model"] = "sonnet".into();
    resolved["env"]["GITHUB_TOKEN"] = "ghp_FAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKE5151".into();
    resolved["permissions"]["additionalDirectories"] =
        serde_json::json!([m2.home.join("notes").to_string_lossy()]);
    let run = m2.run_stdin(
        &["resolve", "claude/settings.json"],
        &serde_json::to_string_pretty(&resolved).unwrap(),
    );
    assert_eq!(run.code, Some(0), "{run}");
    let stored = m2.git(&["show", "main:claude/settings.json"]);
    assert!(stored.contains("${CTX_HOME}/notes"), "{stored}");
    assert!(!stored.contains(&*m2.home.to_string_lossy()), "{stored}");
    assert!(
        !objects(&m2).contains("FAKE5151"),
        "the pasted token is sealed"
    );
    m2.ok(&["sync"]);
    m1.ok(&["sync"]);
    let live = common::json(&settings(&m1));
    assert_eq!(
        live["env"]["GITHUB_TOKEN"],
        "ghp_FAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKE5151"
    );
}

#[test]
fn a_field_set_with_secret_set_stays_sealed_through_hand_edits_until_secret_rm() {
    let m = Machine::seeded("m1");
    m.ok(&["init", "--machine", "m1"]);
    m.ok(&["commit"]);
    let loc = "claude/settings.json:env.GREETING";
    let out = m.ctx_stdin(&["secret", "set", loc], "hello-there\n");
    assert!(out.status.success(), "{}", common::text(&out));
    assert!(m.git(&["show", "main:ctx.yaml"]).contains("env.GREETING"));
    let path = m.claude_dir().join("settings.json");
    // Removed and written again by hand, with a value that looks like nothing: still sealed.
    edit_json(&path, |v| {
        v["env"].as_object_mut().unwrap().remove("GREETING");
    });
    m.ok(&["commit"]);
    edit_json(&path, |v| v["env"]["GREETING"] = "good-morning".into());
    m.ok(&["commit"]);
    assert!(
        !objects(&m).contains("good-morning"),
        "a hand edit of a set field is sealed"
    );
    let ls = m.ok(&["secret", "ls"]);
    assert!(
        ls.contains("claude/settings.json:env.GREETING  [rule: ctx.yaml secrets"),
        "{ls}"
    );
    let out = m.ok(&["secret", "rm", loc]);
    assert!(out.contains("stored in plain text"), "{out}");
    assert!(!m.ok(&["secret", "ls"]).contains("GREETING"));
    assert!(!m.git(&["show", "main:ctx.yaml"]).contains("GREETING"));
    assert!(m
        .git(&["show", "main:claude/settings.json"])
        .contains("good-morning"));
}

#[test]
fn secret_ls_says_why_each_value_is_sealed() {
    let m = Machine::seeded("m1");
    m.ok(&["init", "--machine", "m1"]);
    edit_json(&m.claude_json(), |v| {
        v["mcpServers"]["keyed"] = serde_json::json!({"command": "tool", "args": ["--api-key", "FAKEa8f5f167f44f4964e6c998dee8"]});
    });
    m.ok(&["commit"]);
    let ls = m.ok(&["secret", "ls"]);
    for line in [
        "claude/mcp.json:github.env.GITHUB_PERSONAL_ACCESS_TOKEN  [rule: MCP server env]",
        "claude/mcp.json:keyed.args[1]  [name: the flag `--api-key`]",
        "desktop/mcp.json:brave-search.env.BRAVE_API_KEY  [rule: MCP server env]",
    ] {
        assert!(ls.contains(line), "{line}\n{ls}");
    }
}

#[test]
fn a_false_positive_is_marked_by_its_fingerprint_and_listed() {
    let m = Machine::seeded("m1");
    m.ok(&["init", "--machine", "m1"]);
    m.ok(&["commit"]);
    let skill = m.claude_dir().join("skills/blob/SKILL.md");
    std::fs::create_dir_all(skill.parent().unwrap()).unwrap();
    std::fs::write(
        &skill,
        "Use BSAsample0FAKE0blob0not0a0key0000 as the seed.\n",
    )
    .unwrap();
    let run = m.run(&["commit"]);
    assert_eq!(run.code, Some(2), "{run}");
    let fp = run
        .stderr
        .split("fingerprint ")
        .nth(1)
        .unwrap()
        .split(')')
        .next()
        .unwrap();
    let work = m.root.join("work");
    m.git_in(
        &m.root,
        &[
            "clone",
            "-q",
            &m.store().to_string_lossy(),
            &work.to_string_lossy(),
        ],
    );
    let yaml = std::fs::read_to_string(work.join("ctx.yaml")).unwrap();
    std::fs::write(
        work.join("ctx.yaml"),
        format!("{yaml}not_secret:\n- fingerprint: {fp}\n"),
    )
    .unwrap();
    m.git_in(&work, &["commit", "-qam", "not a secret"]);
    m.git_in(&work, &["push", "-q", "origin", "HEAD:main"]);
    let run = m.run(&["commit"]);
    assert_eq!(run.code, Some(0), "{run}");
    assert!(m
        .git(&["ls-tree", "-r", "--name-only", "main"])
        .contains("claude/skills/blob/SKILL.md"));
    let ls = m.ok(&["secret", "ls"]);
    assert!(ls.contains(&format!("value {fp}")), "{ls}");
}

#[test]
fn a_link_to_this_machines_key_is_never_followed() {
    let m = Machine::seeded("m1");
    m.ok(&["init", "--machine", "m1"]);
    let refs = m.claude_dir().join("skills/third-party/refs");
    std::fs::create_dir_all(&refs).unwrap();
    std::fs::write(
        refs.join("../SKILL.md"),
        "---\nname: third-party\ndescription: x\n---\nB\n",
    )
    .unwrap();
    std::os::unix::fs::symlink(m.identity(), refs.join("notes.txt")).unwrap();
    assert!(std::fs::read_to_string(refs.join("notes.txt"))
        .unwrap()
        .contains("AGE-SECRET-KEY-"));
    let run = m.run(&["commit"]);
    assert_eq!(run.code, Some(0), "{run}");
    assert!(
        run.stderr
            .contains("claude/skills/third-party/refs/notes.txt: a symlink into ctx's own files"),
        "{run}"
    );
    let tree = m.git(&["ls-tree", "-r", "--name-only", "main"]);
    assert!(
        tree.contains("claude/skills/third-party/SKILL.md"),
        "{tree}"
    );
    assert!(!tree.contains("notes.txt"), "{tree}");
    assert!(!objects(&m).contains("AGE-SECRET-KEY-"));
}

#[test]
fn a_link_out_of_its_skill_is_skipped_and_a_linked_skill_is_captured() {
    let m = Machine::seeded("m1");
    m.ok(&["init", "--machine", "m1"]);
    std::fs::write(m.home.join("private-notes.txt"), "mine alone\n").unwrap();
    let skill = m.claude_dir().join("skills/pr-summary");
    std::os::unix::fs::symlink(m.home.join("private-notes.txt"), skill.join("notes.txt")).unwrap();
    let checkout = m.home.join("src/my-skill");
    std::fs::create_dir_all(&checkout).unwrap();
    std::fs::write(
        checkout.join("SKILL.md"),
        "---\nname: my-skill\ndescription: x\n---\nB\n",
    )
    .unwrap();
    std::os::unix::fs::symlink(&checkout, m.claude_dir().join("skills/my-skill")).unwrap();
    let run = m.run(&["commit"]);
    assert_eq!(run.code, Some(0), "{run}");
    assert!(
        run.stderr
            .contains("pr-summary/notes.txt: a symlink out of its folder"),
        "{run}"
    );
    let tree = m.git(&["ls-tree", "-r", "--name-only", "main"]);
    assert!(tree.contains("claude/skills/my-skill/SKILL.md"), "{tree}");
    assert!(!tree.contains("notes.txt"), "{tree}");
    assert!(!objects(&m).contains("mine alone"));
    // Skipped is neither changed nor deleted: status is clean but for the warning.
    let status = m.run(&["status"]);
    assert!(!status.stdout.contains("notes.txt"), "{status}");
}

#[test]
fn personal_files_linked_out_of_the_worktree_are_not_captured() {
    let m = Machine::seeded("m1");
    m.ok(&["init", "--machine", "m1"]);
    let p = m.project("api");
    assert_eq!(m.run_in(&p, &["hooks", "install"]).code, Some(0));
    std::fs::create_dir_all(m.home.join(".docker")).unwrap();
    std::fs::write(
        m.home.join(".docker/config.json"),
        "{\"credsStore\": \"desktop-FAKE\"}\n",
    )
    .unwrap();
    std::fs::write(m.home.join(".bash_history"), "ls -la FAKEHISTORY\n").unwrap();
    std::fs::create_dir_all(p.join(".claude")).unwrap();
    std::os::unix::fs::symlink(
        m.home.join(".docker/config.json"),
        p.join(".claude/settings.local.json"),
    )
    .unwrap();
    std::os::unix::fs::symlink(m.home.join(".bash_history"), p.join("CLAUDE.local.md")).unwrap();
    m.git_in(&p, &["commit", "-q", "--allow-empty", "-m", "second"]);
    let all = objects(&m);
    assert!(!all.contains("desktop-FAKE") && !all.contains("FAKEHISTORY"));
    assert!(
        m.hook_log().contains("a symlink out of the worktree"),
        "{}",
        m.hook_log()
    );
}

#[test]
fn files_holding_secrets_are_created_private_and_others_keep_their_modes() {
    let (_remote, m1, m2) = two(true);
    for private in [
        m2.claude_json(),
        m2.desktop_config(),
        m2.claude_dir().join("settings.json"),
    ] {
        assert_eq!(mode(&private), 0o600, "{}", private.display());
    }
    assert_eq!(mode(&m2.claude_dir().join("CLAUDE.md")), 0o644);
    let script = m2
        .claude_dir()
        .join("skills/pr-summary/scripts/collect_diff.sh");
    assert_eq!(mode(&script), 0o755);
    for f in common::walk(&m2.claude_dir()) {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        assert!(
            !name.contains(".ctx-"),
            "a temp file was left: {}",
            f.display()
        );
        assert!(
            mode(&f) & 0o022 == 0,
            "{} is writable by others",
            f.display()
        );
    }
    // An existing file keeps its mode through a sync that rewrites it.
    std::fs::set_permissions(m1.claude_json(), std::fs::Permissions::from_mode(0o640)).unwrap();
    edit_json(&m2.claude_json(), |v| {
        v["mcpServers"]["github"]["env"]["GITHUB_PERSONAL_ACCESS_TOKEN"] =
            "ghp_FAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKE6262".into();
    });
    m2.ok(&["sync"]);
    m1.ok(&["sync"]);
    let live = common::json(&m1.claude_json());
    assert_eq!(
        live["mcpServers"]["github"]["env"]["GITHUB_PERSONAL_ACCESS_TOKEN"],
        "ghp_FAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKE6262"
    );
    assert_eq!(mode(&m1.claude_json()), 0o640);
}

#[test]
fn a_server_named_with_dots_is_approved_rotated_and_applied_whole() {
    let remote = Remote::new();
    let m1 = Machine::seeded("m1");
    m1.ok(&["init", "--machine", "m1", "--remote", &remote.url()]);
    edit_json(&m1.claude_json(), |v| {
        v["mcpServers"]["mcp.notion.com"] = serde_json::json!({"type": "http", "url": "https://mcp.notion.com/mcp",
            "headers": {"Authorization": "Bearer FAKEnotion0123456789abcdef", "X-Api-Key": "FAKEnotionKey0123456789"}});
    });
    m1.ok(&["sync"]);
    let ls = m1.ok(&["secret", "ls"]);
    assert!(
        ls.contains("claude/mcp.json:mcp\\.notion\\.com.headers.Authorization"),
        "{ls}"
    );
    let m2 = Machine::empty("m2");
    m2.ok(&["init", "--machine", "m2", "--remote", &remote.url()]);
    m2.ok(&["sync"]);
    m1.ok(&["sync"]);
    m1.ok(&["machine", "approve", "m2"]);
    m1.ok(&["sync"]);
    m2.ok(&["sync"]);
    let live = std::fs::read_to_string(m2.claude_json()).unwrap();
    assert!(!live.contains("ENC[age:"), "{live}");
    let v: Value = serde_json::from_str(&live).unwrap();
    let h = &v["mcpServers"]["mcp.notion.com"]["headers"];
    assert_eq!(h["Authorization"], "Bearer FAKEnotion0123456789abcdef");
    assert_eq!(h["X-Api-Key"], "FAKEnotionKey0123456789");
    let before = m1.git(&["show", "main:claude/mcp.json"]);
    m1.ok(&["secret", "rotate"]);
    let after = m1.git(&["show", "main:claude/mcp.json"]);
    let cts = |t: &str| -> Vec<String> {
        t.lines()
            .filter(|l| l.contains("ENC[age:"))
            .map(String::from)
            .collect()
    };
    let (b, a) = (cts(&before), cts(&after));
    assert_eq!(a.len(), b.len());
    assert!(
        b.iter().zip(&a).all(|(x, y)| x != y),
        "every ciphertext is fresh"
    );
}

#[test]
fn an_insert_in_args_on_a_machine_without_the_key_keeps_each_secret_after_its_flag() {
    let (remote, m1, m2) = two(false);
    let args = serde_json::json!([
        "--token",
        "FAKEtokenValue0123456789",
        "--api-key",
        "FAKEapiKeyValue0123456789"
    ]);
    edit_json(&m1.claude_json(), |v| {
        v["mcpServers"]["flags"] = serde_json::json!({"command": "tool", "args": args});
    });
    m1.ok(&["sync"]);
    m2.ok(&["sync"]);
    // A new MCP server from another machine waits for review.
    m2.ok(&["review", "--accept"]);
    let m2_args =
        |m2: &Machine| common::json(&m2.claude_json())["mcpServers"]["flags"]["args"].clone();
    assert_eq!(
        m2_args(&m2),
        serde_json::json!(["--token", "", "--api-key", ""])
    );
    // Between a flag and its secret: where the secret goes cannot be told, so it is refused.
    let before = std::fs::read_to_string(m2.claude_json()).unwrap();
    edit_json(&m2.claude_json(), |v| {
        v["mcpServers"]["flags"]["args"]
            .as_array_mut()
            .unwrap()
            .insert(1, "--quiet".into());
    });
    let run = m2.run(&["commit"]);
    assert_eq!(run.code, Some(2), "{run}");
    assert!(
        run.stderr.contains("moved it away from its neighbour"),
        "{run}"
    );
    std::fs::write(m2.claude_json(), before).unwrap();
    // Before the first flag: each secret stays after its own flag.
    edit_json(&m2.claude_json(), |v| {
        v["mcpServers"]["flags"]["args"]
            .as_array_mut()
            .unwrap()
            .insert(0, "--verbose".into());
    });
    m2.ok(&["sync"]);
    // m2 is not approved: m1 hears it only once it is.
    m1.fails(&["sync"], 2);
    m1.ok(&["machine", "approve", "m2"]);
    m1.ok(&["sync"]);
    // A changed `args` list waits for review; accepted, it is applied as merged.
    m1.ok(&["review", "--accept", "mcp.json"]);
    let live = common::json(&m1.claude_json())["mcpServers"]["flags"]["args"].clone();
    assert_eq!(
        live,
        serde_json::json!([
            "--verbose",
            "--token",
            "FAKEtokenValue0123456789",
            "--api-key",
            "FAKEapiKeyValue0123456789"
        ])
    );
    drop(remote);
}

#[test]
fn apply_force_keeps_a_refused_files_bytes_out_of_git() {
    let m = Machine::seeded("m1");
    m.ok(&["init", "--machine", "m1"]);
    m.ok(&["commit"]);
    let md = m.claude_dir().join("CLAUDE.md");
    let mut text = std::fs::read_to_string(&md).unwrap();
    text.push_str("\nexport DEPLOY_TOKEN=FAKEforcedToken0123456789\n");
    std::fs::write(&md, &text).unwrap();
    assert_eq!(m.run(&["commit"]).code, Some(2));
    let run = m.run(&["apply", "--force", "CLAUDE.md"]);
    assert_eq!(run.code, Some(0), "{run}");
    assert!(
        !objects(&m).contains("FAKEforcedToken"),
        "not in the backup ref"
    );
    let held: Vec<PathBuf> = common::walk(&m.store().join("ctx/held"));
    assert_eq!(held.len(), 1, "{held:?}");
    assert!(std::fs::read_to_string(&held[0])
        .unwrap()
        .contains("FAKEforcedToken"));
    assert_eq!(mode(&held[0]), 0o600);
}

#[test]
fn temp_files_left_by_a_killed_write_are_removed_by_the_next_command() {
    let m = Machine::seeded("m1");
    m.ok(&["init", "--machine", "m1"]);
    // A pid no process has: the largest Linux allows is 2^22, so this one is past it.
    let dead = 4_194_400;
    let beside_home = m.home.join(format!("..claude.json.ctx-{dead}.tmp"));
    let in_claude = m
        .claude_dir()
        .join(format!(".settings.json.ctx-{dead}.tmp"));
    // Ours would be live; a running process's temp file is never touched.
    let running = m
        .home
        .join(format!("..claude.json.ctx-{}.tmp", std::process::id()));
    for p in [&beside_home, &in_claude, &running] {
        std::fs::write(p, "{\"token\": \"half-written\"}").unwrap();
    }
    m.ok(&["status"]);
    assert!(
        !beside_home.exists(),
        "the temp file beside ~/.claude.json stays"
    );
    assert!(
        !in_claude.exists(),
        "the temp file in the Claude home stays"
    );
    assert!(running.exists(), "a live process's temp file was removed");
    let store = objects(&m);
    assert!(!store.contains("half-written"));
}
