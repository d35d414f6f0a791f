//! `ctx hooks install/uninstall`, the git hooks they install, `ctx hook EVENT`, project records
//! and personal files, Claude Code hooks.
#![cfg(unix)]
mod common;
use common::*;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn ready() -> Machine {
    let m = Machine::seeded("m1");
    m.ok(&["init", "--machine", "m1"]);
    m.ok(&["commit"]);
    m
}

fn tree(m: &Machine) -> String {
    m.git(&["ls-tree", "-r", "--name-only", "main"])
}

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
}

/// Runs `ctx hooks install` in `dir`; returns its report (stdout), asserting it warned of nothing.
fn install(m: &Machine, dir: &Path) -> String {
    let out = m.run_in(dir, &["hooks", "install"]);
    assert_eq!(out.code, Some(0), "{out}");
    assert_eq!(out.stderr, "", "{out}");
    out.stdout
}

/// The one project record in the store: (path, text).
fn record(m: &Machine) -> (String, String) {
    let t = tree(m);
    let path = t
        .lines()
        .find(|l| l.starts_with("projects/") && l.ends_with(".yaml"))
        .unwrap_or_else(|| panic!("no project record:\n{t}\nlog:\n{}", m.hook_log()))
        .to_string();
    let body = m.git(&["show", &format!("main:{path}")]);
    (path, body)
}

const TEAM_HOOK: &str = "#!/bin/sh\n# the team's hook\necho \"ran $#\" >> \"$(git rev-parse --show-toplevel)/marker\"\nexit 3\n";

/// A project whose post-commit hook is the team's own (mode 0750); returns (project, hook).
fn project_with_a_team_hook(m: &Machine) -> (std::path::PathBuf, std::path::PathBuf) {
    let p = m.project("proj");
    let hook = p.join(".git/hooks/post-commit");
    std::fs::write(&hook, TEAM_HOOK).unwrap();
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o750)).unwrap();
    (p, hook)
}

#[test]
fn install_chains_an_existing_hook_and_uninstall_restores_it_byte_for_byte() {
    let m = ready();
    let (p, hook) = project_with_a_team_hook(&m);
    let out = install(&m, &p);
    assert!(out.contains("chained"), "{out}");
    std::fs::write(p.join("a.txt"), "a").unwrap();
    m.git_in(&p, &["add", "a.txt"]);
    m.git_in(&p, &["commit", "-qm", "second"]);
    // The chained hook ran (the failing status it returns does not stop git: post-commit).
    assert_eq!(
        std::fs::read_to_string(p.join("marker")).unwrap(),
        "ran 0\n"
    );

    let out = m.ctx_in(&p, &["hooks", "uninstall"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(std::fs::read_to_string(&hook).unwrap(), TEAM_HOOK);
    assert_eq!(mode(&hook), 0o750);
    let hooks_dir = p.join(".git/hooks");
    for gone in ["post-commit.ctx-chained", "post-checkout", "post-merge"] {
        assert!(!hooks_dir.join(gone).exists(), "{gone} left behind");
    }
}

#[test]
fn installing_hooks_twice_changes_nothing() {
    let m = ready();
    let (p, _) = project_with_a_team_hook(&m);
    install(&m, &p);
    let hooks_dir = p.join(".git/hooks");
    let snapshot = || -> Vec<(Vec<u8>, u32)> {
        [
            "post-commit",
            "post-commit.ctx-chained",
            "post-checkout",
            "post-merge",
        ]
        .iter()
        .map(|n| {
            let f = hooks_dir.join(n);
            (std::fs::read(&f).unwrap(), mode(&f))
        })
        .collect()
    };
    let first = snapshot();
    let again = install(&m, &p);
    assert!(again.contains("unchanged"), "{again}");
    assert_eq!(snapshot(), first);
    assert!(!hooks_dir
        .join("post-commit.ctx-chained.ctx-chained")
        .exists());
}

#[test]
fn a_commit_in_a_project_records_it_and_doctor_is_content() {
    let m = ready();
    let p = m.project("proj");
    install(&m, &p);
    m.git_in(&p, &["commit", "-q", "--allow-empty", "-m", "second"]);
    let (path, body) = record(&m);
    assert!(path.starts_with("projects/root-"), "{path}");
    assert!(body.contains("name: proj"), "{body}");
    assert!(body.contains("last_branch: main"), "{body}");
    assert!(body.contains("m1:"), "{body}");
    assert!(m.hook_log().is_empty(), "{}", m.hook_log());
    let doctor: serde_json::Value =
        serde_json::from_slice(&m.ctx(&["doctor", "--json"]).stdout).unwrap();
    let finding = doctor
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "git hooks")
        .unwrap_or_else(|| panic!("{doctor}"));
    assert_eq!(finding["ok"], true, "{finding}");
}

#[test]
fn doctor_notices_a_hook_replaced_behind_ctxs_back() {
    let m = ready();
    let p = m.project("proj");
    install(&m, &p);
    std::fs::write(p.join(".git/hooks/post-merge"), "#!/bin/sh\n").unwrap();
    let out = m.fails(&["doctor"], 2);
    assert!(out.stdout.contains("missing or replaced"), "{out}");
}

#[test]
fn uninstalling_hooks_twice_is_harmless() {
    let m = ready();
    let (p, hook) = project_with_a_team_hook(&m);
    install(&m, &p);
    // One of ctx's hooks is already gone, too.
    std::fs::remove_file(p.join(".git/hooks/post-merge")).unwrap();
    for _ in 0..2 {
        let out = m.run_in(&p, &["hooks", "uninstall"]);
        assert_eq!(out.code, Some(0), "{out}");
    }
    assert_eq!(std::fs::read_to_string(&hook).unwrap(), TEAM_HOOK);
}

#[test]
fn a_broken_store_never_blocks_git_and_the_hook_log_says_why() {
    let m = ready();
    let p = m.project("proj");
    install(&m, &p);
    std::fs::remove_dir_all(m.store()).unwrap();
    std::fs::write(p.join("b.txt"), "b").unwrap();
    m.git_in(&p, &["add", "b.txt"]);
    let out = m
        .cmd("git")
        .args(["commit", "-qm", "with a broken store"])
        .current_dir(&p)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let log = m.hook_log();
    assert_eq!(log.lines().count(), 1, "{log}");
    assert!(log.contains("post-commit"), "{log}");
    assert!(log.contains(&p.display().to_string()), "{log}");
    // doctor shows it, with a hint.
    let out = m.fails(&["doctor"], 2);
    assert!(out.stdout.contains("post-commit"), "{out}");
    assert!(out.stdout.contains("fix:"), "{out}");
}

#[test]
fn a_missing_ctx_binary_never_blocks_git() {
    let m = ready();
    let p = m.project("proj");
    // The team's own hook, which ctx's script chains: its marker proves ctx's script ran.
    let hook = p.join(".git/hooks/post-commit");
    std::fs::write(
        &hook,
        "#!/bin/sh\n: > \"$(git rev-parse --git-dir)/team-hook-ran\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    install(&m, &p);
    // Point the hook at a ctx that does not exist, and leave only git on PATH, so the script's
    // fallback to `ctx` on PATH finds nothing either.
    for event in ["post-commit", "post-checkout", "post-merge"] {
        let hook = p.join(".git/hooks").join(event);
        let text_ = std::fs::read_to_string(&hook).unwrap();
        let start = text_.find("ctx='").unwrap();
        let end = text_[start + 5..].find('\'').unwrap() + start + 5;
        let patched = format!(
            "{}ctx='/nonexistent/ctx'{}",
            &text_[..start],
            &text_[end + 1..]
        );
        std::fs::write(&hook, patched).unwrap();
    }
    let bin = m.root.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let git = String::from_utf8(
        m.cmd("sh")
            .args(["-c", "command -v git"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    std::os::unix::fs::symlink(git.trim(), bin.join("git")).unwrap();
    let store_head = m.head();

    let out = m
        .cmd("git")
        .args(["commit", "-q", "--allow-empty", "-m", "no ctx"])
        .env("PATH", &bin)
        .current_dir(&p)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "", "the hook spoke");
    assert_eq!(m.git_in(&p, &["log", "-1", "--format=%s"]), "no ctx\n");
    assert!(
        p.join(".git/team-hook-ran").exists(),
        "ctx's post-commit script did not run"
    );
    // post-checkout's status is git checkout's: it must be 0 too.
    let out = m
        .cmd("git")
        .args(["checkout", "-q", "-b", "other"])
        .env("PATH", &bin)
        .current_dir(&p)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "", "the hook spoke");
    assert_eq!(m.head(), store_head, "something ran a ctx");
}

#[test]
fn personal_files_are_captured_and_a_new_worktree_gets_them() {
    let m = ready();
    let p = m.project("proj");
    install(&m, &p);
    // Claude Code's own style: a file with a sealed secret comes back the same.
    let settings = "{\n  \"permissions\": {\n    \"allow\": [\n      \"Bash(make:*)\"\n    ]\n  },\n  \"env\": {\n    \"PROJECT_API_KEY\": \"FAKE_PROJECT_SECRET_1234\"\n  }\n}\n";
    std::fs::create_dir_all(p.join(".claude")).unwrap();
    std::fs::write(p.join(".claude/settings.local.json"), settings).unwrap();
    std::fs::write(p.join("CLAUDE.local.md"), "Use the staging database.\n").unwrap();
    m.git_in(&p, &["commit", "-q", "--allow-empty", "-m", "capture"]);
    let (path, _) = record(&m);
    let id = path
        .trim_start_matches("projects/")
        .trim_end_matches(".yaml");
    let t = tree(&m);
    assert!(
        t.contains(&format!("projects/{id}/.claude/settings.local.json")),
        "{t}\n{}",
        m.hook_log()
    );
    assert!(t.contains(&format!("projects/{id}/CLAUDE.local.md")), "{t}");
    // The env token is sealed: no plaintext in any git object.
    let objects = String::from_utf8_lossy(&m.all_objects()).to_string();
    assert!(!objects.contains("FAKE_PROJECT_SECRET_1234"));
    // Unchanged personal files (sealed secret included) make no new store commit.
    let head = m.head();
    m.git_in(&p, &["commit", "-q", "--allow-empty", "-m", "nothing new"]);
    assert_eq!(m.head(), head);

    let wt = m.home.join("proj-feature");
    m.git_in(
        &p,
        &[
            "worktree",
            "add",
            "-q",
            "-b",
            "feature",
            wt.to_str().unwrap(),
        ],
    );
    assert_eq!(
        std::fs::read_to_string(wt.join(".claude/settings.local.json")).unwrap(),
        settings
    );
    assert_eq!(
        std::fs::read_to_string(wt.join("CLAUDE.local.md")).unwrap(),
        "Use the staging database.\n"
    );
    // The record lists both worktrees of this machine, and the branch last checked out.
    let (_, body) = record(&m);
    assert!(body.contains("proj-feature"), "{body}");
    assert!(body.contains("last_branch: feature"), "{body}");
    assert!(m.hook_log().is_empty(), "{}", m.hook_log());
}

#[test]
fn a_token_in_plain_markdown_is_refused_and_logged() {
    let m = ready();
    let p = m.project("proj");
    install(&m, &p);
    std::fs::write(
        p.join("CLAUDE.local.md"),
        "token: ghp_FAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKE0000\n",
    )
    .unwrap();
    m.git_in(&p, &["commit", "-q", "--allow-empty", "-m", "leak?"]);
    let objects = String::from_utf8_lossy(&m.all_objects()).to_string();
    assert!(!objects.contains("ghp_FAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKE0000"));
    let log = m.hook_log();
    assert!(log.contains("CLAUDE.local.md"), "{log}");
    assert!(log.contains("GitHub"), "{log}");
    // The project is still recorded.
    let (_, body) = record(&m);
    assert!(body.contains("name: proj"), "{body}");
}

#[test]
fn the_origin_url_is_the_identity() {
    let m = ready();
    let p = m.project("Bar");
    m.git_in(
        &p,
        &["remote", "add", "origin", "git@github.com:Foo/Bar.git"],
    );
    install(&m, &p);
    let (path, body) = record(&m);
    assert_eq!(path, "projects/github.com-foo-bar.yaml");
    assert!(body.contains("identity: github.com/foo/bar"), "{body}");
    // Paths under the home are stored machine-neutral.
    assert!(body.contains("${CTX_HOME}/Bar"), "{body}");
}

#[test]
fn a_commit_within_the_hour_changes_no_record() {
    let m = ready();
    let p = m.project("proj");
    install(&m, &p);
    let head = m.head();
    m.advance(3000);
    m.git_in(&p, &["commit", "-q", "--allow-empty", "-m", "again"]);
    assert_eq!(m.head(), head, "{}", m.hook_log());
}

#[test]
fn a_commit_an_hour_later_records_when_the_project_was_last_seen() {
    let m = ready();
    let p = m.project("proj");
    install(&m, &p);
    let (_, first) = record(&m);
    let head = m.head();
    m.advance(3600);
    m.git_in(&p, &["commit", "-q", "--allow-empty", "-m", "an hour on"]);
    assert_ne!(m.head(), head, "{}", m.hook_log());
    let (_, now) = record(&m);
    let seen = |body: &str| -> String {
        body.lines()
            .find_map(|l| l.trim().strip_prefix("last_seen: "))
            .unwrap_or_else(|| panic!("no last_seen in {body}"))
            .trim_matches(['\'', '"'])
            .to_string()
    };
    let (a, b) = (seen(&first), seen(&now));
    let secs = |t: &str| t.parse::<jiff::Timestamp>().unwrap().as_second();
    assert!(secs(&b) - secs(&a) >= 3600, "{a} then {b}");
}

#[test]
fn a_clone_on_another_machine_gets_the_files_from_install_and_local_edits_stay() {
    let m1 = ready();
    let p = m1.project("proj");
    install(&m1, &p);
    std::fs::write(p.join("CLAUDE.local.md"), "notes from m1\n").unwrap();
    std::fs::create_dir_all(p.join(".claude")).unwrap();
    std::fs::write(
        p.join(".claude/settings.local.json"),
        "{\n  \"permissions\": {\n    \"allow\": [\"Read(~/notes)\"]\n  }\n}\n",
    )
    .unwrap();
    m1.git_in(&p, &["commit", "-q", "--allow-empty", "-m", "capture"]);

    let m2 = Machine::seeded("m2");
    m1.clone_store_to(&m2);
    // m2 has its own machine name, as a joined machine would.
    std::fs::write(m2.config.join("ctx/config.yaml"), "machine: m2\n").unwrap();
    let clone = m2.home.join("work/proj");
    std::fs::create_dir_all(clone.parent().unwrap()).unwrap();
    m2.git_in(
        &m2.home,
        &["clone", "-q", p.to_str().unwrap(), clone.to_str().unwrap()],
    );
    // Someone already wrote a different CLAUDE.local.md here: it must stay.
    std::fs::write(clone.join("CLAUDE.local.md"), "m2's own notes\n").unwrap();
    let out = m2.run(&["hooks", "install", "--worktree", clone.to_str().unwrap()]);
    assert_eq!(out.code, Some(0), "{out}");
    assert!(
        out.stdout.contains("restored  .claude/settings.local.json"),
        "{out}"
    );
    // The file left alone is a warning.
    assert!(out.stderr.contains("warning:"), "{out}");
    assert!(out.stderr.contains("CLAUDE.local.md as it is"), "{out}");
    assert_eq!(
        std::fs::read_to_string(clone.join("CLAUDE.local.md")).unwrap(),
        "m2's own notes\n"
    );
    assert_eq!(
        std::fs::read_to_string(clone.join(".claude/settings.local.json")).unwrap(),
        "{\n  \"permissions\": {\n    \"allow\": [\"Read(~/notes)\"]\n  }\n}\n"
    );
    // The record now lists both machines' worktrees.
    let (_, body) = record(&m2);
    assert!(body.contains("m1:") && body.contains("m2:"), "{body}");
}

#[test]
fn claude_hooks_install_twice_adds_once_and_uninstall_removes_only_ctx_entries() {
    let m = ready();
    let settings = m.claude_dir().join("settings.json");
    let before_bytes = std::fs::read(&settings).unwrap();
    let before = json(&settings);
    m.ok(&["hooks", "install", "--claude"]);
    let once = std::fs::read(&settings).unwrap();
    m.ok(&["hooks", "install", "--claude"]);
    assert_eq!(std::fs::read(&settings).unwrap(), once);
    let v = json(&settings);
    let text_ = String::from_utf8_lossy(&once).to_string();
    assert_eq!(text_.matches("hook session-start").count(), 1);
    assert_eq!(text_.matches("hook session-end").count(), 1);
    // Run through an absolute path, never PATH, bounded by a timeout: a link in ctx's config
    // folder to the ctx that installed it.
    let link = m.ctx_config().join("bin/ctx");
    assert_eq!(
        std::fs::canonicalize(&link).unwrap(),
        std::fs::canonicalize(env!("CARGO_BIN_EXE_ctx")).unwrap()
    );
    let ours = json(&settings)["hooks"]["SessionStart"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["hooks"].as_array().unwrap().clone())
        .find(|h| {
            h["command"]
                .as_str()
                .unwrap()
                .ends_with("hook session-start")
        })
        .unwrap();
    assert_eq!(
        ours["command"],
        format!("'{}' hook session-start", link.display())
    );
    assert_eq!(ours["timeout"], 30);
    // Claude runs the command through a shell: it must run ctx.
    let ran = std::process::Command::new("sh")
        .arg("-c")
        .arg(
            ours["command"]
                .as_str()
                .unwrap()
                .replace("hook session-start", "--version"),
        )
        .output()
        .unwrap();
    assert!(ran.status.success(), "{ran:?}");
    // Every other hook and key is still there, in the same order.
    let keys =
        |v: &serde_json::Value| -> Vec<String> { v.as_object().unwrap().keys().cloned().collect() };
    assert_eq!(keys(&v), keys(&before));
    for (event, groups) in before["hooks"].as_object().unwrap() {
        let now = v["hooks"][event].as_array().unwrap();
        for g in groups.as_array().unwrap() {
            assert!(now.contains(g), "{event} lost {g}");
        }
    }
    let start = v["hooks"]["SessionStart"].as_array().unwrap();
    assert!(start
        .iter()
        .any(|g| g["matcher"] == "" && g["hooks"][0]["type"] == "command"));

    m.ok(&["hooks", "uninstall", "--claude"]);
    assert_eq!(json(&settings), before);
    assert_eq!(std::fs::read(&settings).unwrap(), before_bytes);
}

#[test]
fn claude_hooks_on_a_settings_file_without_hooks_leave_nothing_behind() {
    let m = Machine::empty("m1");
    std::fs::create_dir_all(m.claude_dir()).unwrap();
    let settings = m.claude_dir().join("settings.json");
    std::fs::write(&settings, "{\n  \"model\": \"opus\"\n}\n").unwrap();
    m.ok(&["hooks", "install", "--claude"]);
    assert!(json(&settings)["hooks"]["SessionEnd"].is_array());
    m.ok(&["hooks", "uninstall", "--claude"]);
    assert_eq!(
        std::fs::read_to_string(&settings).unwrap(),
        "{\n  \"model\": \"opus\"\n}\n"
    );
}

#[test]
fn session_end_commits_and_session_start_applies_without_touching_dirty_files() {
    let m = ready();
    let claude_md = m.claude_dir().join("CLAUDE.md");
    std::fs::write(&claude_md, "edited in a session\n").unwrap();
    let head = m.head();
    let out = m.ctx(&["hook", "session-end"]);
    assert!(out.status.success());
    assert_ne!(m.head(), head, "{}", m.hook_log());

    // Another machine changes CLAUDE.md; its store reaches this one (as a sync would bring it).
    let m2 = Machine::seeded("m2");
    m.clone_store_to(&m2);
    m2.ok(&["apply", "--force"]);
    std::fs::write(m2.claude_dir().join("CLAUDE.md"), "from m2\n").unwrap();
    m2.ok(&["commit"]);
    m.git(&["fetch", "-q", m2.store().to_str().unwrap(), "+main:main"]);
    // Meanwhile an agent file here holds an edit not committed yet.
    let agent = m.claude_dir().join("agents/test-runner.md");
    std::fs::write(&agent, "local edit\n").unwrap();

    let out = m.ctx(&["hook", "session-start"]);
    assert!(out.status.success());
    assert!(out.stdout.is_empty(), "session-start must print nothing");
    assert_eq!(
        std::fs::read_to_string(&claude_md).unwrap(),
        "from m2\n",
        "{}",
        m.hook_log()
    );
    assert_eq!(std::fs::read_to_string(&agent).unwrap(), "local edit\n");
    let log = m.hook_log();
    assert!(
        log.contains("session-start") && log.contains("test-runner.md"),
        "{log}"
    );
}

#[test]
fn core_hooks_path_is_respected_from_a_linked_worktree() {
    let m = ready();
    let p = m.project("proj");
    m.git_in(&p, &["config", "core.hooksPath", ".githooks"]);
    let wt = m.home.join("proj-wt");
    m.git_in(
        &p,
        &["worktree", "add", "-q", "-b", "side", wt.to_str().unwrap()],
    );
    // Installed from the second worktree: the hooks land where git looks for them.
    let out = m.ctx_in(&wt, &["hooks", "install", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let dir = v["hooks_dir"].as_str().unwrap().to_string();
    assert!(dir.ends_with("proj-wt/.githooks"), "{v}");
    assert_eq!(v["hooks"].as_array().unwrap().len(), 3, "{v}");
    assert!(!p.join(".git/hooks/post-commit").exists());
    m.git_in(
        &wt,
        &["commit", "-q", "--allow-empty", "-m", "from the worktree"],
    );
    let (_, body) = record(&m);
    assert!(body.contains("proj-wt"), "{body}\n{}", m.hook_log());
    assert!(body.contains("last_branch: side"), "{body}");
}

#[test]
fn session_start_gives_up_on_a_network_that_does_not_answer_and_starts_from_the_store() {
    let remote = Remote::new();
    let m = Machine::seeded("m1");
    m.ok(&["init", "--machine", "m1", "--remote", &remote.url()]);
    m.ok(&["commit"]);
    m.ok(&["sync"]);
    // A git whose fetch hangs, as over a dead link: the hook must not wait for it.
    let slow = m.root.join("slow-git");
    std::fs::write(
        &slow,
        "#!/bin/sh\ncase \"$*\" in *fetch*) sleep 30;; esac\nexec git \"$@\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&slow, std::fs::Permissions::from_mode(0o755)).unwrap();
    m.commit_to_store("claude/CLAUDE.md", "from the store\n", "edit in the store");
    let out = m
        .cmd(env!("CARGO_BIN_EXE_ctx"))
        .args(["hook", "session-start"])
        .env("CTX_GIT", &slow)
        .env("CTX_SESSION_START_NETWORK_MS", "1500")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let log = m.hook_log();
    assert!(
        log.contains("could not reach") && log.contains("no answer in time"),
        "{log}"
    );
    assert_eq!(
        std::fs::read_to_string(m.claude_dir().join("CLAUDE.md")).unwrap(),
        "from the store\n"
    );
}

/// Sets a file's modification time a minute back: the stamp trusts no file changed in the last
/// two seconds, and a test writes and commits within them.
fn settle(p: &Path) {
    let f = std::fs::File::options().write(true).open(p).unwrap();
    f.set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(60))
        .unwrap();
}

#[test]
fn an_unchanged_project_is_answered_by_its_stamp_and_an_edit_still_reaches_the_store() {
    let m = ready();
    let p = m.project("proj");
    install(&m, &p);
    std::fs::write(p.join("CLAUDE.local.md"), "first notes\n").unwrap();
    settle(&p.join("CLAUDE.local.md"));
    settle(&p.join(".git/config"));
    m.git_in(&p, &["commit", "-q", "--allow-empty", "-m", "one"]);
    assert!(p.join(".git/ctx-hook-stamp").exists(), "{}", m.hook_log());
    let (path, _) = record(&m);
    let stored = path.replace(".yaml", "/CLAUDE.local.md");
    assert_eq!(m.git(&["show", &format!("main:{stored}")]), "first notes\n");
    // With the stamp fresh, the hook does not open the store: a store it could not open
    // logs nothing.
    let config = m.store().join("config");
    let good = std::fs::read(&config).unwrap();
    std::fs::write(&config, "[broken\n").unwrap();
    m.git_in(&p, &["commit", "-q", "--allow-empty", "-m", "two"]);
    assert_eq!(m.hook_log(), "");
    // An edit changes what the stamp holds: the hook takes the full path and captures it.
    std::fs::write(&config, &good).unwrap();
    std::fs::write(p.join("CLAUDE.local.md"), "second notes, longer\n").unwrap();
    settle(&p.join("CLAUDE.local.md"));
    m.git_in(&p, &["commit", "-q", "--allow-empty", "-m", "three"]);
    assert_eq!(m.hook_log(), "");
    assert_eq!(
        m.git(&["show", &format!("main:{stored}")]),
        "second notes, longer\n"
    );
    // Ten minutes on, the stamp is no longer trusted: a broken store is noticed again.
    m.advance(601);
    std::fs::write(&config, "[broken\n").unwrap();
    m.git_in(&p, &["commit", "-q", "--allow-empty", "-m", "four"]);
    assert!(!m.hook_log().is_empty(), "the full path ran and failed");
}
