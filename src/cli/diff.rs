//! `ctx diff`

use std::collections::HashSet;

use super::ui::Style;
use super::{CliError, Ui};
use crate::env::Env;
use crate::session::Session;

/// Arguments of `ctx diff`.
#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    /// Limit the diff to these paths (store paths like settings.json, or live paths).
    pub paths: Vec<String>,
}

/// Runs `ctx diff`.
pub fn run(args: DiffArgs, env: &Env, ui: &Ui) -> Result<i32, CliError> {
    let session = Session::open(env.clone())?;
    let only = session.store_paths_for(&args.paths)?;
    let snap = session.snapshot(true)?;
    for st in session.status(&snap)? {
        if !only.is_empty()
            && !only
                .iter()
                .any(|o| st.path == *o || st.path.starts_with(&format!("{o}/")))
        {
            continue;
        }
        let old = match session.head_files.get(&st.path) {
            Some(e) => session.store.blob(e.oid)?,
            None => Vec::new(),
        };
        let new = session.captured_bytes(&st.path, &snap)?.unwrap_or_default();
        let (old, new) = match (std::str::from_utf8(&old), std::str::from_utf8(&new)) {
            (Ok(o), Ok(n)) => redact(o, n),
            _ => {
                ui.line(&format!("Binary file {} differs", st.path));
                continue;
            }
        };
        let diff = similar::TextDiff::from_lines(&old, &new);
        let text = diff
            .unified_diff()
            .context_radius(3)
            .header(&format!("a/{}", st.path), &format!("b/{}", st.path))
            .to_string();
        for line in text.lines() {
            let styled = if line.starts_with("+++") || line.starts_with("---") {
                ui.paint(Style::Bold, line)
            } else if line.starts_with('+') {
                ui.paint(Style::Green, line)
            } else if line.starts_with('-') {
                ui.paint(Style::Red, line)
            } else if line.starts_with("@@") {
                ui.paint(Style::Cyan, line)
            } else {
                line.to_string()
            };
            ui.raw(&format!("{styled}\n"));
        }
    }
    Ok(0)
}

fn tokens(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = text[from..].find("ENC[age:") {
        let start = from + i;
        match text[start..].find(']') {
            Some(j) => {
                out.push((start, start + j + 1));
                from = start + j + 1;
            }
            None => break,
        }
    }
    out
}

/// Replaces ciphertexts by `<secret>`, and a new side's ciphertext that the old side lacks by
/// `<secret changed>`, so a diff never shows key material and shows which secrets changed.
fn redact(old: &str, new: &str) -> (String, String) {
    let set = |t: &str| -> HashSet<String> {
        tokens(t)
            .into_iter()
            .map(|(a, b)| t[a..b].to_string())
            .collect()
    };
    let (a, b) = (set(old), set(new));
    let swap = |t: &str, other: &HashSet<String>, changed: &'static str| {
        let mut out = String::new();
        let mut last = 0;
        for (s, e) in tokens(t) {
            out.push_str(&t[last..s]);
            out.push_str(if other.contains(&t[s..e]) {
                "<secret>"
            } else {
                changed
            });
            last = e;
        }
        out.push_str(&t[last..]);
        out
    };
    (swap(old, &b, "<secret>"), swap(new, &a, "<secret changed>"))
}
