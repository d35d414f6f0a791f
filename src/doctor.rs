//! `ctx doctor`: every check of this machine's setup, each a finding with what to do about it.
//! Checks read and never write; one failing check does not stop the others.

use std::path::Path;

use serde::Serialize;

use crate::env::Env;
use crate::store::Store;

/// One check's result.
#[derive(Debug, Serialize)]
pub struct Finding {
    /// What was checked.
    pub check: &'static str,
    /// Whether it passed.
    pub ok: bool,
    /// What was found.
    pub detail: String,
    /// How to fix it, for a failed check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// A failed check about the person's config rather than ctx's setup (a tool the config runs
    /// is not installed here): shown, but it does not fail `ctx doctor`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub warning: bool,
}

/// The findings so far.
#[derive(Default)]
struct Findings(Vec<Finding>);

impl Findings {
    fn push(&mut self, check: &'static str, ok: bool, detail: String, fix: Option<&str>) {
        self.0.push(Finding {
            check,
            ok,
            detail,
            fix: if ok { None } else { fix.map(String::from) },
            warning: false,
        });
    }

    fn warn(&mut self, check: &'static str, detail: String, fix: String) {
        self.0.push(Finding {
            check,
            ok: false,
            detail,
            fix: Some(fix),
            warning: true,
        });
    }
}

/// Runs every check.
pub fn check(env: &Env) -> Vec<Finding> {
    let mut out = Findings::default();
    let machine = machine(env, &mut out);
    let key = identity(env, &mut out);
    if let Some(s) = store(env, &machine, &mut out) {
        manifest(&s, &machine, key.as_deref(), &mut out);
        merge_driver(&s, &mut out);
        remote(env, &s, &mut out);
        let head = s.head().ok().flatten();
        let attrs = s.read(head, ".gitattributes").ok().flatten().is_some();
        let detail = ".gitattributes routes structured files to ctx".into();
        out.push("attributes", attrs, detail, Some("run `ctx init` again"));
    }
    integrity(env, &mut out);
    sessions_without_a_path(env, &mut out);
    git(&mut out);
    hooks(env, &mut out);
    hook_log(env, &mut out);
    tools(env, &mut out);
    out.0
}

/// The programs the live config runs (MCP servers, hook scripts, skill interpreters) that this
/// machine lacks: the config came from a machine that has them.
fn tools(env: &Env, out: &mut Findings) {
    let missing = crate::tools::missing(env);
    if missing.is_empty() {
        let detail = "every MCP server command, hook script and skill interpreter is here".into();
        out.push("tools", true, detail, None);
    }
    for m in missing {
        let detail = format!(
            "{}: `{}` is not installed here ({})",
            m.user, m.what, m.file
        );
        let fix = format!("install `{}` on this machine, or leave the file out here with `machines.<name>.exclude` in ctx.yaml", m.what);
        out.warn("tools", detail, fix);
    }
}

fn machine(env: &Env, out: &mut Findings) -> String {
    match crate::workspace::machine_config(env) {
        Ok(c) => {
            out.push("machine", true, format!("`{}`", c.machine), None);
            c.machine
        }
        Err(e) => {
            out.push("machine", false, e.to_string(), Some("run `ctx init`"));
            "ctx".into()
        }
    }
}

/// The identity's public key, if it loads.
fn identity(env: &Env, out: &mut Findings) -> Option<String> {
    let path = env.identity_path();
    match crate::crypt::Identity::load(&path) {
        Ok(id) => {
            let mode_ok = mode(&path).is_none_or(|m| m & 0o077 == 0);
            let detail = format!("{} ({})", env.display(&path), id.public_key());
            let fix = format!("chmod 600 {}", path.display());
            out.push("identity", mode_ok, detail, Some(&fix));
            Some(id.public_key())
        }
        Err(e) => {
            let fix = "run `ctx init`, or restore identity.txt from a backup";
            out.push("identity", false, e.to_string(), Some(fix));
            None
        }
    }
}

fn store(env: &Env, machine: &str, out: &mut Findings) -> Option<Store> {
    let s = match Store::open(&env.store_dir, machine) {
        Ok(s) => s,
        Err(e) => {
            let fix = "run `ctx init`, or pass --store DIR";
            out.push("store", false, e.to_string(), Some(fix));
            return None;
        }
    };
    match s.head() {
        Ok(Some(h)) => {
            let detail = format!(
                "{} at {}",
                env.display(&env.store_dir),
                &h.to_string()[..10]
            );
            out.push("store", true, detail, None);
        }
        Ok(None) => {
            let detail = "the store has no commit".into();
            out.push("store", false, detail, Some("run `ctx init`"));
        }
        Err(e) => {
            let fix = "the store may be damaged; run `git --git-dir STORE fsck`";
            out.push("store", false, e.to_string(), Some(fix));
        }
    }
    Some(s)
}

fn manifest(s: &Store, machine: &str, key: Option<&str>, out: &mut Findings) {
    let head = s.head().ok().flatten();
    let parsed = s
        .read(head, crate::layout::MANIFEST)
        .ok()
        .flatten()
        .map(|b| crate::model::parse_yaml::<crate::model::Manifest>("ctx.yaml", &b));
    match parsed {
        Some(Ok(m)) => {
            let listed = key.is_some_and(|k| m.recipients.values().any(|v| v == k));
            let also = if listed { ", this one included" } else { "" };
            let detail = format!(
                "{} machine(s) can read the secrets{also}",
                m.recipients.len()
            );
            let fix = format!("this machine cannot read the secrets yet: on a machine that can, run `ctx sync && ctx machine approve {machine}`");
            out.push("recipients", listed, detail, Some(&fix));
        }
        Some(Err(e)) => {
            let fix = "fix ctx.yaml (schema: schemas/ctx.schema.json)";
            out.push("manifest", false, e.to_string(), Some(fix));
        }
        None => out.push(
            "manifest",
            false,
            "ctx.yaml missing".into(),
            Some("run `ctx init`"),
        ),
    }
}

fn merge_driver(s: &Store, out: &mut Findings) {
    let driver = s.config().value("merge.ctx.driver");
    let exe_ok = driver
        .as_deref()
        .and_then(|d| d.split_whitespace().next())
        .is_some_and(|exe| exe == "ctx" || Path::new(exe).exists());
    let detail = driver.unwrap_or_else(|| "not configured".into());
    let fix = "run `ctx init` again to register the current ctx binary";
    out.push("merge driver", exe_ok, detail, Some(fix));
}

fn remote(env: &Env, s: &Store, out: &mut Findings) {
    let Some(url) = crate::remote::configured_url(s) else {
        let detail = "none (this store stays on this machine)".into();
        out.push("remote", true, detail, None);
        return;
    };
    let state = crate::state::StatePaths::new(&env.state_dir());
    let conflicts = state.merge_state.exists();
    match crate::remote::Remote::new(&env.store_dir, &url).probe() {
        Ok(_) => {
            let detail = match conflicts {
                true => format!("{url}: reachable; a sync left conflicts open"),
                false => format!("{url}: reachable"),
            };
            let fix = "`ctx status` lists them; settle each with `ctx resolve PATH`";
            out.push("remote", !conflicts, detail, Some(fix));
        }
        Err(e) => {
            let fix = "check the URL (`git --git-dir STORE config remote.origin.url`), the network and your ssh key";
            out.push("remote", false, e.to_string(), Some(fix));
        }
    }
}

/// Sessions of projects not checked out here: kept in the store and listed, never written.
fn sessions_without_a_path(env: &Env, out: &mut Findings) {
    let Ok(ws) = crate::workspace::Workspace::open(env.clone()) else {
        return;
    };
    let Ok(all) = crate::sessions::list(&ws) else {
        return;
    };
    let mut away: Vec<String> = all
        .iter()
        .filter(|s| s.project_path.is_none())
        .map(|s| s.project.clone())
        .collect();
    away.sort();
    away.dedup();
    if away.is_empty() {
        return;
    }
    let n = all.iter().filter(|s| s.project_path.is_none()).count();
    // Not a fault: a machine need not have every project. Said so that a person looking for a
    // session knows why it is not written here.
    let detail = format!(
        "{n} session(s) of {} project(s) with no checkout on this machine ({}): kept in the store, not written here; to resume them here, clone the project, run `ctx hooks install` in it, then `ctx sync`",
        away.len(),
        away.join(", ")
    );
    out.push("sessions", true, detail, None);
}

/// Sealed values this machine is a recipient of but cannot open.
fn integrity(env: &Env, out: &mut Findings) {
    let Ok(ws) = crate::workspace::Workspace::open(env.clone()) else {
        return;
    };
    match ws.keys.damaged(&ws.repo) {
        Ok(d) if d.is_empty() => {}
        Ok(d) => {
            let detail = format!(
                "{} sealed value(s) do not open with this machine's key: {}",
                d.len(),
                d.join(", ")
            );
            let fix = "`ctx log PATH` shows who changed them; set each anew with `ctx secret set LOCATOR`";
            out.push("integrity", false, detail, Some(fix));
        }
        Err(e) => out.push("integrity", false, e.to_string(), Some("run `ctx status`")),
    }
}

fn git(out: &mut Findings) {
    match std::process::Command::new("git").arg("--version").output() {
        Ok(o) if o.status.success() => {
            let detail = String::from_utf8_lossy(&o.stdout).trim().to_string();
            out.push("git", true, detail, None);
        }
        _ => {
            let detail = "the git binary is not on PATH (needed by sync to fetch and push)";
            out.push("git", false, detail.into(), Some("install git"));
        }
    }
}

fn hooks(env: &Env, out: &mut Findings) {
    let hooked = crate::hooks::registered(env);
    if !hooked.is_empty() {
        let broken: Vec<String> = hooked
            .iter()
            .filter(|d| {
                crate::hooks::GIT_HOOKS
                    .iter()
                    .any(|(e, _)| !crate::hooks::is_ours(&d.join(e)))
            })
            .map(|d| env.display(d))
            .collect();
        let detail = match broken.is_empty() {
            true => format!("installed in {} repositor(y/ies)", hooked.len()),
            false => format!("missing or replaced in {}", broken.join(", ")),
        };
        let fix = "run `ctx hooks install --worktree DIR` in that project again (or `ctx hooks uninstall` there)";
        out.push("git hooks", broken.is_empty(), detail, Some(fix));
    }
    let settings = env.claude_dir.join("settings.json");
    if crate::hooks::claude_hooks_installed(&settings) {
        let detail = format!(
            "SessionStart/SessionEnd run ctx ({})",
            env.display(&settings)
        );
        out.push("claude hooks", true, detail, None);
    }
}

fn hook_log(env: &Env, out: &mut Findings) {
    let log = env.hook_log_path();
    let Ok(text) = std::fs::read_to_string(&log) else {
        return;
    };
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return;
    }
    let last: Vec<&str> = lines.iter().rev().take(3).rev().copied().collect();
    let detail = format!(
        "{} line(s) in {}; the last: {}",
        lines.len(),
        env.display(&log),
        last.join(" | ")
    );
    let fix = format!(
        "hooks never block git, so they wrote here instead: fix the cause shown (often `ctx init` not run, or another ctx held the store), then delete {}",
        env.display(&log)
    );
    out.push("hook log", false, detail, Some(&fix));
}

#[cfg(unix)]
fn mode(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).ok().map(|m| m.permissions().mode())
}

#[cfg(not(unix))]
fn mode(_: &Path) -> Option<u32> {
    None
}
