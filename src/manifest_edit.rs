//! Edits of ctx.yaml from the command line (`ctx config`, `ctx config edit`, `ctx add`,
//! `ctx forget`): one key at a time or the whole file in an editor, the result checked against the [`Manifest`] schema, committed with a message that
//! names the field and its old and new value.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::env::Env;
use crate::layout::{under, MANIFEST};
use crate::model::{ConflictPolicy, Manifest};
use crate::repo::Transaction;
use crate::workspace::Workspace;

/// Why an edit of ctx.yaml was refused.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    /// A key ctx.yaml does not have, or one `ctx config` does not edit.
    #[error("`{0}` is not a key `ctx config` reads or sets (keys: {KEYS})")]
    UnknownKey(String),
    /// A key another command owns.
    #[error("`{key}` is not set with `ctx config`: use {instead}")]
    Guarded {
        /// The key.
        key: String,
        /// The command that changes it.
        instead: &'static str,
    },
    /// A value the key's type does not take.
    #[error("`{value}` is not a value of `{key}`: {expected}")]
    BadValue {
        /// The key.
        key: String,
        /// The value given.
        value: String,
        /// What the key takes.
        expected: &'static str,
    },
    /// A path outside the Claude home, or one ctx never captures.
    #[error("{path}: {why}")]
    BadPath {
        /// The path as given.
        path: String,
        /// Why it cannot be tracked.
        why: String,
    },
    /// The edited manifest failed its own schema (a bug if it ever shows).
    #[error(transparent)]
    Invalid(#[from] crate::model::ValidationError),
    /// Reading or committing the store failed.
    #[error(transparent)]
    Workspace(#[from] crate::error::Error),
}

/// The keys `ctx config` edits.
pub const KEYS: &str = "conflicts, max_file_size, include, exclude, local, machines.NAME.exclude, sessions.keep, sessions.max_size";

/// A ctx.yaml key `ctx config` edits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    /// `conflicts`: stop, ours, theirs or newest.
    Conflicts,
    /// `max_file_size`: bytes.
    MaxFileSize,
    /// `include`: extra paths under the Claude home.
    Include,
    /// `exclude`: paths never captured.
    Exclude,
    /// `local`: machine-local fields, `FILE:FIELD`.
    Local,
    /// `machines.NAME.exclude`: what one machine leaves out.
    MachineExclude(String),
    /// `sessions.keep`: how long an idle session is carried forward.
    SessionsKeep,
    /// `sessions.max_size`: the most session bytes carried forward.
    SessionsMaxSize,
}

impl Key {
    /// The key a person typed.
    pub fn parse(key: &str) -> Result<Key, EditError> {
        let guarded = |instead| EditError::Guarded {
            key: key.to_string(),
            instead,
        };
        let machine = key
            .strip_prefix("machines.")
            .and_then(|r| r.strip_suffix(".exclude"))
            .filter(|n| !n.is_empty() && !n.contains(['/', '.', ' ']));
        if let Some(name) = machine {
            return Ok(Key::MachineExclude(name.to_string()));
        }
        match key {
            "conflicts" => Ok(Key::Conflicts),
            "max_file_size" => Ok(Key::MaxFileSize),
            "include" => Ok(Key::Include),
            "exclude" => Ok(Key::Exclude),
            "local" => Ok(Key::Local),
            "sessions.keep" => Ok(Key::SessionsKeep),
            "sessions.max_size" => Ok(Key::SessionsMaxSize),
            "sessions" | "sessions.enabled" => {
                Err(guarded("`ctx sessions enable` or `ctx sessions disable`"))
            }
            "recipients" | "signers" => Err(guarded(
                "`ctx machine approve NAME` or `ctx machine revoke NAME`",
            )),
            "secrets" | "not_secret" => Err(guarded("`ctx secret set` or `ctx secret rm`")),
            "version" => Err(guarded("nothing: ctx writes the store format version")),
            _ => Err(EditError::UnknownKey(key.to_string())),
        }
    }

    /// The key as ctx.yaml spells it.
    pub fn name(&self) -> String {
        match self {
            Key::Conflicts => "conflicts".into(),
            Key::MaxFileSize => "max_file_size".into(),
            Key::Include => "include".into(),
            Key::Exclude => "exclude".into(),
            Key::Local => "local".into(),
            Key::MachineExclude(m) => format!("machines.{m}.exclude"),
            Key::SessionsKeep => "sessions.keep".into(),
            Key::SessionsMaxSize => "sessions.max_size".into(),
        }
    }

    /// Whether the key holds a list.
    pub fn is_list(&self) -> bool {
        matches!(
            self,
            Key::Include | Key::Exclude | Key::Local | Key::MachineExclude(_)
        )
    }
}

/// The value of `key` in force (a default when ctx.yaml leaves it out).
pub fn get(m: &Manifest, key: &Key) -> Value {
    match key {
        Key::Conflicts => serde_json::to_value(m.conflicts).unwrap_or(Value::Null),
        Key::MaxFileSize => Value::from(m.max_file_size()),
        Key::SessionsKeep => Value::from(m.sessions.as_ref().and_then(|s| s.keep.clone())),
        Key::SessionsMaxSize => Value::from(m.sessions.as_ref().and_then(|s| s.max_size.clone())),
        list => Value::from(list_of(m, list)),
    }
}

/// A list key's entries in force.
fn list_of(m: &Manifest, key: &Key) -> Vec<String> {
    match key {
        Key::Include => m.include.clone(),
        Key::Exclude => m.exclude.clone(),
        Key::Local => m.local_fields(),
        Key::MachineExclude(name) => m.excluded_on(name).to_vec(),
        _ => Vec::new(),
    }
}

/// `m` with list key `key` holding `list` (checked first).
fn with_list(m: &Manifest, key: &Key, list: Vec<String>) -> Result<Manifest, EditError> {
    let bad = |value: &str, expected| EditError::BadValue {
        key: key.name(),
        value: value.to_string(),
        expected,
    };
    let mut out = m.clone();
    if *key == Key::Local {
        if let Some(v) = list
            .iter()
            .find(|v| crate::local::LocalField::parse(v).is_none())
        {
            return Err(bad(
                v,
                "FILE:FIELD, a JSON or YAML file under the Claude home and a dotted field, e.g. settings.json:env.HTTP_PROXY",
            ));
        }
        out.local = Some(list);
        return Ok(out);
    }
    // ctx.yaml holds paths relative to the Claude home, the same on every machine.
    if let Some(v) = list.iter().find(|v| {
        v.starts_with('~')
            || Path::new(v).is_absolute()
            || v.split('/').any(|p| p == ".." || p == ".")
    }) {
        return Err(bad(
            v,
            "a path relative to the Claude home, without `.`, `..` or `~`",
        ));
    }
    match key {
        Key::Include => out.include = list,
        Key::MachineExclude(name) => {
            out.machines.entry(name.clone()).or_default().exclude = list;
            out.machines.retain(|_, c| *c != Default::default());
        }
        _ => out.exclude = list,
    }
    Ok(out)
}

/// `m` with `key` set to `values`. A list key takes every value, each split at commas
/// (`include a,b` and `include a b` are the same); a scalar key takes exactly one.
pub fn set(m: &Manifest, key: &Key, values: &[String]) -> Result<Manifest, EditError> {
    let mut out = m.clone();
    let bad = |value: &str, expected| EditError::BadValue {
        key: key.name(),
        value: value.to_string(),
        expected,
    };
    if key.is_list() {
        return with_list(m, key, split_list(values));
    }
    let one = match values {
        [v] => v.as_str(),
        _ => return Err(bad(&values.join(" "), "give exactly one value")),
    };
    match key {
        Key::Conflicts => {
            out.conflicts = serde_json::from_value::<ConflictPolicy>(Value::from(one))
                .map_err(|_| bad(one, "one of stop, ours, theirs, newest"))?;
        }
        Key::SessionsKeep => {
            let s = out.sessions.get_or_insert_with(Default::default);
            s.keep = Some(one.to_string());
            crate::sessions::keep(&out).map_err(|_| bad(one, "a duration like 90d, 12h or 8w"))?;
        }
        Key::SessionsMaxSize => {
            let s = out.sessions.get_or_insert_with(Default::default);
            s.max_size = Some(one.to_string());
            crate::sessions::max_size(&out)
                .map_err(|_| bad(one, "a size like 500M, 2G or 800K"))?;
        }
        _ => {
            let n = one
                .parse::<u64>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| bad(one, "a size in bytes, e.g. 20971520 for 20 MiB"))?;
            out.max_file_size = Some(n);
        }
    }
    Ok(out)
}

/// `m` with `values` added to list key `key` (for `local`, to the list in force: the built-in
/// one while ctx.yaml has none), or taken out of it with `remove`.
pub fn add(
    m: &Manifest,
    key: &Key,
    values: &[String],
    remove: bool,
) -> Result<Manifest, EditError> {
    if !key.is_list() {
        return Err(EditError::BadValue {
            key: key.name(),
            value: values.join(" "),
            expected:
                "a list key (include, exclude, local, machines.NAME.exclude); use `ctx config set`",
        });
    }
    let mut list = list_of(m, key);
    for v in split_list(values) {
        match remove {
            true => list.retain(|x| x.trim_end_matches('/') != v),
            false if !list.contains(&v) => list.push(v),
            false => {}
        }
    }
    with_list(m, key, list)
}

/// `m` with `key` back at its default.
pub fn unset(m: &Manifest, key: &Key) -> Manifest {
    let mut out = m.clone();
    match key {
        Key::Conflicts => out.conflicts = ConflictPolicy::default(),
        Key::MaxFileSize => out.max_file_size = None,
        Key::Include => out.include.clear(),
        Key::Exclude => out.exclude.clear(),
        Key::Local => out.local = None,
        Key::MachineExclude(name) => {
            out.machines.remove(name);
        }
        Key::SessionsKeep => {
            if let Some(s) = out.sessions.as_mut() {
                s.keep = None;
            }
        }
        Key::SessionsMaxSize => {
            if let Some(s) = out.sessions.as_mut() {
                s.max_size = None;
            }
        }
    }
    out
}

/// ctx.yaml as a person edited it, checked against the schema; keys other commands own must
/// be as they were (`ctx machine` for recipients and signers; ctx for the version).
pub fn parse_edit(old: &Manifest, bytes: &[u8]) -> Result<Manifest, EditError> {
    let new: Manifest = crate::model::parse_yaml(MANIFEST, bytes)?;
    let guarded = |key: &str, instead| EditError::Guarded {
        key: key.to_string(),
        instead,
    };
    let machines = "`ctx machine approve NAME`, `ctx machine revoke NAME` or `ctx machine rm NAME`";
    if new.recipients != old.recipients {
        return Err(guarded("recipients", machines));
    }
    if new.signers != old.signers {
        return Err(guarded("signers", machines));
    }
    if new.version != old.version {
        return Err(guarded(
            "version",
            "nothing: ctx writes the store format version",
        ));
    }
    Ok(new)
}

/// The top-level keys that differ, as a commit message names them (`conflicts: stop -> newest`).
pub fn changes(old: &Manifest, new: &Manifest) -> Vec<String> {
    let as_map = |m: &Manifest| match serde_json::to_value(m) {
        Ok(Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    let (a, b) = (as_map(old), as_map(new));
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| {
            let side = |m: &serde_json::Map<String, Value>| {
                m.get(k).map(show).unwrap_or_else(|| "(unset)".into())
            };
            // Rules and marks can be long: name the key and how many entries it holds.
            match k.as_str() {
                "secrets" | "not_secret" | "sessions" => format!("{k} changed"),
                _ => format!("{k}: {} -> {}", side(&a), side(&b)),
            }
        })
        .collect()
}

fn split_list(values: &[String]) -> Vec<String> {
    let mut list: Vec<String> = Vec::new();
    for v in values.iter().flat_map(|v| v.split(',')) {
        let v = v.trim().trim_end_matches('/').to_string();
        if !v.is_empty() && !list.contains(&v) {
            list.push(v);
        }
    }
    list
}

/// A value as a commit message shows it: lists in brackets.
pub fn show(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => {
            let items: Vec<String> = a.iter().map(show).collect();
            format!("[{}]", items.join(", "))
        }
        other => other.to_string(),
    }
}

/// What an edit did: the commit, if anything changed, and its subject.
#[derive(Debug, serde::Serialize)]
pub struct Edited {
    /// The commit made (`None`: ctx.yaml already said so).
    pub commit: Option<String>,
    /// The field-level change, as the commit's subject names it.
    pub change: String,
}

/// Commits `new` as ctx.yaml, with `change` (e.g. `conflicts: stop -> newest`) in the subject.
/// Nothing is committed when ctx.yaml already says so.
pub fn commit(ws: &mut Workspace, new: &Manifest, change: &str) -> Result<Edited, EditError> {
    if *new == ws.repo.manifest {
        return Ok(Edited {
            commit: None,
            change: change.to_string(),
        });
    }
    let bytes = crate::setup::render_manifest(new).into_bytes();
    // The edit is checked as the store checks every commit, so a bad value never lands.
    crate::model::validate(MANIFEST, &bytes)?;
    let mut tx = Transaction::new();
    tx.write(MANIFEST, bytes, false);
    let machine = ws.machine().to_string();
    let subject = format!("{machine}: {MANIFEST} {change}");
    let msg = crate::summary::message(&machine, &[format!("{MANIFEST} {change}")], Some(&subject));
    let id = tx.commit(&mut ws.repo, &msg)?;
    ws.reload_keys()?;
    Ok(Edited {
        commit: Some(id.to_string()),
        change: change.to_string(),
    })
}

/// The path relative to the Claude home that `arg` names: relative paths are taken from the
/// Claude home (a leading `claude/`, as store paths have, is dropped), `~/…` and absolute paths
/// must lie under it.
pub fn home_relative(env: &Env, arg: &str) -> Result<String, EditError> {
    let bad = |why: &str| EditError::BadPath {
        path: arg.to_string(),
        why: why.to_string(),
    };
    let t = arg.trim_end_matches('/');
    let full: PathBuf = match t.strip_prefix("~/") {
        Some(rest) => env.home.join(rest),
        None if Path::new(t).is_absolute() => PathBuf::from(t),
        None => env.claude_dir.join(t.strip_prefix("claude/").unwrap_or(t)),
    };
    let rel = full
        .strip_prefix(&env.claude_dir)
        .map_err(|_| bad("not under the Claude home; ctx tracks files there"))?;
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().to_string())
        .collect();
    if parts.is_empty() {
        return Err(bad("name a file or folder inside the Claude home"));
    }
    if parts.iter().any(|p| p == ".." || p == ".") {
        return Err(bad("write the path without `.` or `..`"));
    }
    Ok(parts.join("/"))
}

/// ctx.yaml once `paths` are tracked (`add`) or not (`forget`), and the change as a message
/// names it (`include: + notes`).
pub fn track(
    env: &Env,
    m: &Manifest,
    paths: &[String],
    add: bool,
) -> Result<(Manifest, String), EditError> {
    let mut out = m.clone();
    let mut names = Vec::new();
    for arg in paths {
        let rel = home_relative(env, arg)?;
        match add {
            true => add_one(&mut out, &rel, arg)?,
            false => forget_one(&mut out, &rel),
        }
        names.push(rel);
    }
    let key = if add { "include" } else { "exclude" };
    Ok((out, format!("{key}: + {}", names.join(", "))))
}

fn add_one(m: &mut Manifest, rel: &str, arg: &str) -> Result<(), EditError> {
    if crate::capture::scan::excluded(rel, &[]) {
        return Err(EditError::BadPath {
            path: arg.to_string(),
            why: "ctx never captures it (it holds credentials, caches or per-machine state)".into(),
        });
    }
    // Adding what was forgotten takes it back; a broader `exclude:` entry still wins.
    m.exclude.retain(|e| e.trim_matches('/') != rel);
    if let Some(e) = m.exclude.iter().find(|e| under(rel, e.trim_matches('/'))) {
        return Err(EditError::BadPath {
            path: arg.to_string(),
            why: format!("it lies inside `{e}`, which ctx.yaml excludes; take that entry out first with `ctx config set exclude …`"),
        });
    }
    // Already taken (the built-in lists or an `include:` entry, as a file or as a folder):
    // nothing to record.
    let taken = crate::capture::capturable(&format!("claude/{rel}"), m)
        || crate::capture::capturable(&format!("claude/{rel}/x"), m);
    if !taken {
        m.include.push(rel.to_string());
    }
    Ok(())
}

fn forget_one(m: &mut Manifest, rel: &str) {
    m.include.retain(|i| !under(i.trim_matches('/'), rel));
    if !m.exclude.iter().any(|e| under(rel, e.trim_matches('/'))) {
        m.exclude.push(rel.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_split_at_commas_and_scalars_take_one_value() {
        let m = Manifest::default();
        let v = vec!["a,b".to_string(), "c/".to_string(), "a".to_string()];
        assert_eq!(
            set(&m, &Key::Include, &v).map(|m| m.include).ok(),
            Some(vec!["a".into(), "b".into(), "c".into()])
        );
        assert!(set(&m, &Key::Conflicts, &v).is_err());
        let n = set(&m, &Key::Conflicts, &["newest".into()])
            .map(|m| m.conflicts)
            .ok();
        assert_eq!(n, Some(ConflictPolicy::Newest));
        assert!(set(&m, &Key::MaxFileSize, &["big".into()]).is_err());
        assert!(set(&m, &Key::Exclude, &["../x".into()]).is_err());
        assert!(set(&m, &Key::Include, &["~/x".into()]).is_err());
        assert!(set(&m, &Key::Include, &["/etc".into()]).is_err());
        assert!(matches!(
            Key::parse("recipients"),
            Err(EditError::Guarded { .. })
        ));
    }

    #[test]
    fn an_edit_names_each_changed_key_and_keeps_the_machines_keys() {
        let old = Manifest::default();
        let mut new = old.clone();
        new.conflicts = ConflictPolicy::Newest;
        new.max_file_size = Some(4096);
        assert_eq!(
            changes(&old, &new),
            vec![
                "conflicts: stop -> newest",
                "max_file_size: (unset) -> 4096"
            ]
        );
        let yaml = "version: 1\nrecipients:\n  x: age1abc\n";
        assert!(matches!(
            parse_edit(&old, yaml.as_bytes()),
            Err(EditError::Guarded { .. })
        ));
        assert!(matches!(
            parse_edit(&old, b"version: 1\nconflicts: sometimes\n"),
            Err(EditError::Invalid(_))
        ));
        assert!(parse_edit(&old, b"version: 1\nconflicts: ours\n").is_ok());
    }

    #[test]
    fn local_starts_from_the_built_in_list_and_machine_excludes_are_per_name() {
        let m = Manifest::default();
        let added = add(&m, &Key::Local, &["settings.json:model".into()], false);
        let local = added
            .as_ref()
            .ok()
            .and_then(|m| m.local.clone())
            .unwrap_or_default();
        assert!(
            local.contains(&"settings.json:theme".to_string()),
            "{local:?}"
        );
        assert_eq!(
            local.last().map(String::as_str),
            Some("settings.json:model")
        );
        assert!(add(&m, &Key::Local, &["CLAUDE.md:x".into()], false).is_err());
        let key = Key::parse("machines.server.exclude").unwrap_or(Key::Include);
        assert_eq!(key, Key::MachineExclude("server".into()));
        let on = add(&m, &key, &["skills/big".into()], false).unwrap_or_default();
        assert_eq!(on.excluded_on("server"), ["skills/big".to_string()]);
        let off = add(&on, &key, &["skills/big".into()], true).unwrap_or_default();
        assert!(off.machines.is_empty(), "{:?}", off.machines);
    }
}
