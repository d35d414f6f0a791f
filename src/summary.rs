//! Field-level summaries of what changed in a store file, for commit messages and `ctx status`.

use serde_json::Value;

use crate::format::Kind;

/// The name shown for a store path: `claude/` dropped, other prefixes kept.
pub fn short(path: &str) -> &str {
    path.strip_prefix("claude/").unwrap_or(path)
}

/// The fields that differ between two versions of a structured file, like
/// `permissions.allow +1`, `+server notes`, `model`. Empty when the file is not structured.
pub fn fields(path: &str, old: Option<&[u8]>, new: Option<&[u8]>) -> Vec<String> {
    let parse = |b: Option<&[u8]>| -> Option<Value> {
        let t = std::str::from_utf8(b?).ok()?;
        match Kind::of(path) {
            Kind::Json => serde_json::from_str(t).ok(),
            Kind::Yaml => serde_yaml::from_str(t).ok(),
            Kind::Markdown => {
                let (fm, _) = crate::format::front_matter(t)?;
                serde_yaml::from_str(fm).ok()
            }
            _ => None,
        }
    };
    let (Some(a), Some(b)) = (parse(old), parse(new)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mcp = crate::crypt::rules::is_mcp_file(path);
    if mcp {
        if let (Value::Object(a), Value::Object(b)) = (&a, &b) {
            for k in b.keys().filter(|k| !a.contains_key(*k)) {
                out.push(format!("+server {k}"));
            }
            for k in a.keys().filter(|k| !b.contains_key(*k)) {
                out.push(format!("-server {k}"));
            }
            for (k, v) in b {
                if a.get(k).is_some_and(|old| old != v) {
                    out.push(format!("server {k}"));
                }
            }
            return out;
        }
    }
    walk(&a, &b, "", &mut out);
    if Kind::of(path) == Kind::Markdown && out.is_empty() && old != new {
        out.push("body".into());
    }
    out
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

fn walk(a: &Value, b: &Value, at: &str, out: &mut Vec<String>) {
    if a == b {
        return;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, v) in y {
                match x.get(k) {
                    None => out.push(format!("+{}", join(at, k))),
                    Some(old) => walk(old, v, &join(at, k), out),
                }
            }
            for k in x.keys().filter(|k| !y.contains_key(*k)) {
                out.push(format!("-{}", join(at, k)));
            }
        }
        (Value::Array(x), Value::Array(y))
            if x.iter().chain(y).all(|v| !v.is_object() && !v.is_array()) =>
        {
            let added = y.iter().filter(|v| !x.contains(v)).count();
            let removed = x.iter().filter(|v| !y.contains(v)).count();
            let mut parts = Vec::new();
            if added > 0 {
                parts.push(format!("+{added}"));
            }
            if removed > 0 {
                parts.push(format!("-{removed}"));
            }
            if parts.is_empty() {
                parts.push("order".into());
            }
            out.push(format!("{} {}", display(at), parts.join(" ")));
        }
        _ => out.push(display(at)),
    }
}

fn display(at: &str) -> String {
    if at.is_empty() {
        "(whole value)".into()
    } else {
        at.to_string()
    }
}

/// One file's entry in a summary: `+agents/x.md`, `-commands/y.md`, `settings.json model`.
pub fn describe(path: &str, old: Option<&[u8]>, new: Option<&[u8]>) -> String {
    match (old, new) {
        (None, _) => format!("+{}", short(path)),
        (_, None) => format!("-{}", short(path)),
        _ => {
            let f = fields(path, old, new);
            if f.is_empty() {
                short(path).to_string()
            } else if f.len() > 3 {
                format!(
                    "{} {} +{} more",
                    short(path),
                    f[..2].join(", "),
                    f.len() - 2
                )
            } else {
                format!("{} {}", short(path), f.join(", "))
            }
        }
    }
}

/// A commit message: `m1: a · b · c`, the full list in the body, and the `Ctx-Machine:` trailer.
pub fn message(machine: &str, items: &[String], subject: Option<&str>) -> String {
    let head = match subject {
        Some(s) => s.to_string(),
        None => {
            let joined = items.join(" · ");
            if items.len() <= 4 && joined.chars().count() <= 90 {
                format!("{machine}: {joined}")
            } else {
                let first: Vec<&str> = items.iter().take(2).map(String::as_str).collect();
                format!(
                    "{machine}: {} · and {} more",
                    first.join(" · "),
                    items.len() - first.len()
                )
            }
        }
    };
    let mut msg = head;
    msg.push_str("\n\n");
    for i in items {
        msg.push_str("- ");
        msg.push_str(i);
        msg.push('\n');
    }
    msg.push_str(&format!("\nCtx-Machine: {machine}\n"));
    msg
}
