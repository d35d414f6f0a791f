//! The output conventions every command keeps: `--json` parses (and errors are JSON on stderr
//! under it), `-q` prints nothing but errors, colour follows NO_COLOR and TERM, confirmations
//! are refused off a terminal without `--yes`, `--help` groups the global options, and no
//! internal error reaches the user.
mod common;
use common::*;

fn ready() -> Machine {
    let m = Machine::seeded("m1");
    m.ok(&["init", "--machine", "m1"]);
    m.ok(&["commit"]);
    m
}

/// Whether `script` can give ctx a terminal here.
fn have_script() -> bool {
    std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_ok()
}

/// Runs `ctx args` on a terminal (via `script`), with `env` added; returns what it printed.
fn on_terminal(m: &Machine, env: &[(&str, &str)], args: &str, input: &str) -> String {
    use std::io::Write;
    let ctx = env!("CARGO_BIN_EXE_ctx");
    let mut cmd = m.cmd("script");
    cmd.env_remove("NO_COLOR");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .args(["-qec", &format!("{ctx} {args}"), "/dev/null"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// Every command that reports, with `--json`.
const REPORTING: &[&[&str]] = &[
    &["status", "--json"],
    &["diff", "--json"],
    &["diff", "HEAD", "HEAD", "--json"],
    &["log", "--json"],
    &["apply", "--dry-run", "--json"],
    &["apply", "--json"],
    &["rollback", "HEAD", "--dry-run", "--json"],
    &["secret", "ls", "--json"],
    &["secret", "rotate", "--json"],
    &["machine", "ls", "--json"],
    &["sessions", "ls", "--json"],
    &["doctor", "--json"],
    &["review", "--json"],
    &["managed", "--json"],
    &["unmanaged", "--json"],
    &["backups", "--json"],
    &["config", "get", "conflicts", "--json"],
    &["commit", "--json"],
];

#[test]
fn every_reporting_command_prints_one_json_document() {
    let m = ready();
    for args in REPORTING {
        let run = m.run(args);
        assert!(matches!(run.code, Some(0..=2)), "{args:?}: {run}");
        let v: Result<serde_json::Value, _> = serde_json::from_str(&run.stdout);
        assert!(v.is_ok(), "{args:?} printed no JSON: {run}");
    }
}

#[test]
fn errors_are_json_on_stderr_under_json() {
    let m = ready();
    for args in [
        &["diff", "HEAD~1000", "--json"][..],
        &["log", "--since", "not a time", "--json"],
        &["machine", "rm", "nobody", "--yes", "--json"],
        &["status", "--json", "--store", "/nonexistent/store"],
    ] {
        let run = m.fails(args, 2);
        assert_eq!(run.stdout, "", "{args:?}: {run}");
        let v: serde_json::Value = serde_json::from_str(&run.stderr)
            .unwrap_or_else(|e| panic!("{args:?}: stderr is not JSON ({e}): {run}"));
        assert!(v["error"]["message"].is_string(), "{args:?}: {v}");
        assert!(v["error"]["hint"].is_string(), "{args:?}: {v}");
        assert_eq!(v["error"]["code"], 2, "{args:?}: {v}");
    }
    // Without --json, the error is text.
    let run = m.fails(&["diff", "HEAD~1000"], 2);
    assert!(run.stderr.starts_with("error: "), "{run}");
}

#[test]
fn quiet_prints_nothing_but_errors() {
    let m = ready();
    let settings = m.claude_dir().join("settings.json");
    let original = std::fs::read_to_string(&settings).unwrap();
    std::fs::write(&settings, original.replace("\"sonnet\"", "\"haiku\"")).unwrap();
    for args in [
        &["-q", "status"][..],
        &["-q", "diff"],
        &["-q", "diff", "--stat"],
        &["-q", "log"],
        &["-q", "managed"],
        &["-q", "unmanaged"],
        &["-q", "apply", "--dry-run"],
        &["-q", "machine", "ls"],
        &["-q", "secret", "ls"],
        &["-q", "doctor"],
        &["-q", "backups"],
        &["-q", "review"],
        &["-q", "commit"],
        &["-q", "config", "set", "conflicts", "ours"],
        &["-q", "apply"],
    ] {
        let run = m.run(args);
        assert!(matches!(run.code, Some(0..=2)), "{args:?}: {run}");
        assert_eq!(run.stdout, "", "{args:?} printed under -q: {run}");
        assert_eq!(run.stderr, "", "{args:?} warned under -q: {run}");
    }
    let run = m.fails(&["-q", "diff", "HEAD~1000"], 2);
    assert!(
        run.stderr.contains("HEAD~1000"),
        "errors still print: {run}"
    );
}

#[test]
fn verbose_says_what_it_does_on_stderr() {
    let m = ready();
    let run = m.run(&["-v", "diff", "HEAD", "HEAD"]);
    assert_eq!(run.code, Some(0), "{run}");
    assert!(run.stderr.contains("store "), "{run}");
    assert!(
        run.stderr.contains("comparing store revision HEAD"),
        "{run}"
    );
    assert_eq!(run.stdout, "", "{run}");
}

#[test]
fn colour_follows_no_color_and_term_on_a_terminal() {
    if !have_script() {
        return;
    }
    let m = ready();
    let coloured = on_terminal(&m, &[("TERM", "xterm")], "--no-pager log", "");
    assert!(
        coloured.contains("\x1b["),
        "no colour on a terminal: {coloured:?}"
    );
    for env in [
        &[("TERM", "xterm"), ("NO_COLOR", "1")][..],
        &[("TERM", "dumb")],
    ] {
        let plain = on_terminal(&m, env, "--no-pager log", "");
        assert!(plain.contains("m1:"), "{plain:?}");
        assert!(!plain.contains("\x1b["), "{env:?} coloured: {plain:?}");
    }
}

#[test]
fn the_pager_runs_on_a_terminal_only_and_never_with_no_pager() {
    if !have_script() {
        return;
    }
    let m = ready();
    let pager = m.root.join("pager.sh");
    std::fs::write(&pager, "#!/bin/sh\necho PAGED; cat\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&pager, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let p = pager.to_string_lossy().to_string();
    let env = [("PAGER", p.as_str()), ("TERM", "dumb")];
    let paged = on_terminal(&m, &env, "log", "");
    assert!(
        paged.contains("PAGED") && paged.contains("m1:"),
        "{paged:?}"
    );
    let plain = on_terminal(&m, &env, "--no-pager log", "");
    assert!(
        !plain.contains("PAGED") && plain.contains("m1:"),
        "{plain:?}"
    );
    let off = m
        .cmd(env!("CARGO_BIN_EXE_ctx"))
        .env("PAGER", &p)
        .arg("log")
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&off.stdout).contains("PAGED"));
}

#[test]
fn destructive_steps_are_refused_off_a_terminal_without_yes() {
    let m = ready();
    m.ok(&["config", "set", "conflicts", "ours"]);
    let head = m.head();
    let run = m.fails(&["rollback", "HEAD~1"], 2);
    assert!(run.stderr.contains("--yes"), "{run}");
    assert_eq!(m.head(), head, "a refused rollback committed");
    let run = m.fails(&["machine", "revoke", "m1"], 2);
    assert!(run.stderr.contains("--yes"), "{run}");
    // Naming paths is not a whole-store rollback: no question.
    m.ok(&["rollback", "HEAD~1", "ctx.yaml"]);
    // --force over many uncommitted files asks; a few do not.
    for f in [
        "CLAUDE.md",
        "settings.json",
        "agents/doc-writer.md",
        "commands/fix-lint.md",
    ] {
        let p = m.claude_dir().join(f);
        let t = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{f}: {e}"));
        std::fs::write(&p, format!("{t}\n")).unwrap();
    }
    let run = m.fails(&["apply", "--force"], 2);
    assert!(
        run.stderr.contains("4 live files") && run.stderr.contains("--yes"),
        "{run}"
    );
    m.ok(&["apply", "--force", "--yes"]);
    if have_script() {
        std::fs::write(m.claude_dir().join("CLAUDE.md"), "# changed\n").unwrap();
        m.ok(&["commit"]);
        let head = m.head();
        let said_no = on_terminal(&m, &[], "rollback HEAD~1", "n\n");
        assert!(said_no.contains("Go ahead?"), "{said_no:?}");
        assert_eq!(m.head(), head, "a rollback answered no committed");
        let said_yes = on_terminal(&m, &[], "rollback HEAD~1", "y\n");
        assert!(said_yes.contains("rollback everything"), "{said_yes:?}");
        assert_ne!(m.head(), head);
    }
}

#[test]
fn help_groups_the_global_options_apart() {
    let m = Machine::empty("m1");
    for args in [&["--help"][..], &["status", "--help"], &["diff", "--help"]] {
        let out = m.ok(args);
        let (own, global) = out
            .split_once("Global options:")
            .unwrap_or_else(|| panic!("{args:?}: {out}"));
        for flag in ["--quiet", "--verbose", "--color", "--no-pager", "--store"] {
            assert!(
                global.contains(flag),
                "{args:?}: {flag} not under Global options: {out}"
            );
            assert!(
                !own.contains(flag),
                "{args:?}: {flag} among the command's own: {out}"
            );
        }
    }
}

#[test]
fn times_are_local_with_their_offset() {
    let m = ready();
    let out = m
        .cmd(env!("CARGO_BIN_EXE_ctx"))
        .env("TZ", "America/New_York")
        .args(["machine", "ls"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("-0500"), "{text}");
    let out = m
        .cmd(env!("CARGO_BIN_EXE_ctx"))
        .env("TZ", "America/New_York")
        .args(["machine", "ls", "--json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let last = v[0]["last_sync"].as_str().unwrap();
    assert!(last.ends_with("-05:00"), "{v}");
    // rollback --before reads a time without a zone as local: 2025-12-31 19:00:30 in New York
    // is 00:00:30 UTC, after the first commit (00:00:0x UTC).
    let out = m
        .cmd(env!("CARGO_BIN_EXE_ctx"))
        .env("TZ", "America/New_York")
        .args([
            "rollback",
            "--before",
            "2025-12-31 19:00:30",
            "--dry-run",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text_of(&out));
    let out = m
        .cmd(env!("CARGO_BIN_EXE_ctx"))
        .env("TZ", "America/New_York")
        .args(["rollback", "--before", "2025-12-31 18:59", "--dry-run"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text_of(&out));
}

fn text_of(out: &std::process::Output) -> String {
    text(out)
}

#[test]
fn every_hint_names_a_command_that_exists() {
    let m = Machine::empty("m1");
    let source = [
        include_str!("../src/cli/error/mod.rs"),
        include_str!("../src/cli/error/mapping.rs"),
        include_str!("../src/cli/commands/status.rs"),
        include_str!("../src/cli/commands/sync.rs"),
        include_str!("../src/cli/commands/apply.rs"),
        include_str!("../src/cli/commands/machine/mod.rs"),
    ]
    .concat();
    let mut seen = std::collections::BTreeSet::new();
    for part in source.split("`ctx ").skip(1) {
        let words: Vec<&str> = part
            .split(['`', ' '])
            .take_while(|w| w.chars().all(|c| c.is_ascii_lowercase() || c == '-') && !w.is_empty())
            .take(2)
            .collect();
        if let Some(first) = words.first() {
            seen.insert(words.join(" "));
            let run = m.run(&[first, "--help"]);
            assert_eq!(
                run.code,
                Some(0),
                "a hint names `ctx {first}`, which does not exist: {run}"
            );
            if let Some(second) = words.get(1) {
                let run = m.run(&[first, second, "--help"]);
                // A second word may be an argument (`ctx apply settings.json`), not a subcommand.
                let is_group = m.ok(&[first, "--help"]).contains("Commands:");
                if is_group {
                    assert_eq!(
                        run.code,
                        Some(0),
                        "a hint names `ctx {first} {second}`: {run}"
                    );
                }
            }
        }
    }
    assert!(seen.len() > 10, "{seen:?}");
}
