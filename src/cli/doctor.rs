//! `ctx doctor`

use super::ui::Style;
use super::{CliError, Ui};
use crate::env::Env;

/// Arguments of `ctx doctor`.
#[derive(Debug, clap::Args)]
pub struct DoctorArgs {
    /// Print one JSON document.
    #[arg(long)]
    pub json: bool,
}

#[derive(serde::Serialize)]
struct Finding {
    check: &'static str,
    ok: bool,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    fix: Option<String>,
}

/// Runs `ctx doctor`: exit 0 when every check passes, 2 otherwise.
pub fn run(args: DoctorArgs, env: &Env, ui: &Ui) -> Result<i32, CliError> {
    let findings = check(env);
    if args.json {
        ui.json(&findings);
    } else {
        for f in &findings {
            let mark = if f.ok {
                ui.paint(Style::Green, "ok  ")
            } else {
                ui.paint(Style::Red, "FAIL")
            };
            ui.raw(&format!("{mark} {:<13} {}\n", f.check, f.detail));
            if let Some(fix) = &f.fix {
                ui.raw(&format!("     {} {fix}\n", ui.paint(Style::Yellow, "fix:")));
            }
        }
    }
    Ok(if findings.iter().all(|f| f.ok) { 0 } else { 2 })
}

fn check(env: &Env) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut push = |check, ok, detail: String, fix: Option<&str>| {
        out.push(Finding {
            check,
            ok,
            detail,
            fix: if ok { None } else { fix.map(String::from) },
        })
    };
    let cfg = crate::session::machine_config(env);
    match &cfg {
        Ok(c) => push("machine", true, format!("`{}`", c.machine), None),
        Err(e) => push("machine", false, e.to_string(), Some("run `ctx init`")),
    }
    let id_path = env.identity_path();
    let identity = crate::crypt::Identity::load(&id_path);
    match &identity {
        Ok(id) => {
            let mode_ok = mode(&id_path).is_none_or(|m| m & 0o077 == 0);
            push(
                "identity",
                mode_ok,
                format!("{} ({})", env.display(&id_path), id.public_key()),
                Some(&format!("chmod 600 {}", id_path.display())),
            );
        }
        Err(e) => push(
            "identity",
            false,
            e.to_string(),
            Some("run `ctx init`, or restore identity.txt from a backup"),
        ),
    }
    let machine = cfg
        .as_ref()
        .map(|c| c.machine.clone())
        .unwrap_or_else(|_| "ctx".into());
    let store = crate::store::Store::open(&env.store_dir, &machine);
    match &store {
        Ok(s) => match s.head() {
            Ok(Some(h)) => push(
                "store",
                true,
                format!(
                    "{} at {}",
                    env.display(&env.store_dir),
                    &h.to_string()[..10]
                ),
                None,
            ),
            Ok(None) => push(
                "store",
                false,
                "the store has no commit".into(),
                Some("run `ctx init`"),
            ),
            Err(e) => push(
                "store",
                false,
                e.to_string(),
                Some("the store may be damaged; run `git --git-dir STORE fsck`"),
            ),
        },
        Err(e) => push(
            "store",
            false,
            e.to_string(),
            Some("run `ctx init`, or pass --store DIR"),
        ),
    }
    if let Ok(s) = &store {
        let head = s.head().ok().flatten();
        let manifest = s
            .read(head, "ctx.yaml")
            .ok()
            .flatten()
            .map(|b| crate::model::parse_yaml::<crate::model::Manifest>("ctx.yaml", &b));
        match manifest {
            Some(Ok(m)) => {
                let key = identity
                    .as_ref()
                    .map(|i| i.public_key())
                    .unwrap_or_default();
                let listed = m.recipients.values().any(|k| *k == key);
                push(
                    "recipients",
                    listed,
                    format!("{} machine(s) can read the secrets{}", m.recipients.len(), if listed { ", this one included" } else { "" }),
                    Some(&format!("this machine cannot read the secrets yet: on a machine that can, run `ctx sync && ctx machine approve {machine}`")),
                );
            }
            Some(Err(e)) => push(
                "manifest",
                false,
                e.to_string(),
                Some("fix ctx.yaml (schema: schemas/ctx.schema.json)"),
            ),
            None => push(
                "manifest",
                false,
                "ctx.yaml missing".into(),
                Some("run `ctx init`"),
            ),
        }
        let driver = s.config_value("merge.ctx.driver");
        let exe_ok = driver
            .as_deref()
            .and_then(|d| d.split_whitespace().next())
            .is_some_and(|exe| exe == "ctx" || std::path::Path::new(exe).exists());
        push(
            "merge driver",
            exe_ok,
            driver.unwrap_or_else(|| "not configured".into()),
            Some("run `ctx init` again to register the current ctx binary"),
        );
        match crate::remote::configured_url(s) {
            None => push(
                "remote",
                true,
                "none (this store stays on this machine)".into(),
                None,
            ),
            Some(url) => {
                let probe = crate::remote::Remote::new(&env.store_dir, &url).probe();
                let conflicts = std::fs::read(env.state_dir().join("merge-state.json")).is_ok();
                match probe {
                    Ok(_) => push(
                        "remote",
                        !conflicts,
                        if conflicts {
                            format!("{url}: reachable; a sync left conflicts open")
                        } else {
                            format!("{url}: reachable")
                        },
                        Some("`ctx status` lists them; settle each with `ctx resolve PATH`"),
                    ),
                    Err(e) => push(
                        "remote",
                        false,
                        e.to_string(),
                        Some("check the URL (`git --git-dir STORE config remote.origin.url`), the network and your ssh key"),
                    ),
                }
            }
        }
        let attrs = s.read(head, ".gitattributes").ok().flatten().is_some();
        push(
            "attributes",
            attrs,
            ".gitattributes routes structured files to ctx".into(),
            Some("run `ctx init` again"),
        );
    }
    let git = std::process::Command::new("git").arg("--version").output();
    match git {
        Ok(o) if o.status.success() => push(
            "git",
            true,
            String::from_utf8_lossy(&o.stdout).trim().to_string(),
            None,
        ),
        _ => push(
            "git",
            false,
            "the git binary is not on PATH (needed by sync to fetch and push)".into(),
            Some("install git"),
        ),
    }
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
        push(
            "git hooks",
            broken.is_empty(),
            if broken.is_empty() {
                format!("installed in {} repositor(y/ies)", hooked.len())
            } else {
                format!("missing or replaced in {}", broken.join(", "))
            },
            Some("run `ctx hooks install --worktree DIR` in that project again (or `ctx hooks uninstall` there)"),
        );
    }
    let settings = env.claude_dir.join("settings.json");
    if crate::hooks::claude_hooks_installed(&settings) {
        push(
            "claude hooks",
            true,
            format!(
                "SessionStart/SessionEnd run ctx ({})",
                env.display(&settings)
            ),
            None,
        );
    }
    let log = env.hook_log_path();
    if let Ok(text) = std::fs::read_to_string(&log) {
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        if !lines.is_empty() {
            let last: Vec<&str> = lines.iter().rev().take(3).rev().copied().collect();
            push(
                "hook log",
                false,
                format!(
                    "{} line(s) in {}; the last: {}",
                    lines.len(),
                    env.display(&log),
                    last.join(" | ")
                ),
                Some(&format!(
                    "hooks never block git, so they wrote here instead: fix the cause shown (often `ctx init` not run, or another ctx held the store), then delete {}",
                    env.display(&log)
                )),
            );
        }
    }
    out
}

#[cfg(unix)]
fn mode(path: &std::path::Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).ok().map(|m| m.permissions().mode())
}

#[cfg(not(unix))]
fn mode(_: &std::path::Path) -> Option<u32> {
    None
}
