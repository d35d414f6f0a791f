//! Live -> store for sessions: per transcript, the complete lines appended since the last
//! chunk (read from the offset the state keeps, so a capture costs what was appended), sealed
//! as a new chunk; sessions idle past `keep` are dropped from the tree (history keeps them).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use super::chunk::{self, Header, Kind, Part};
use super::live::{self, LiveSession};
use super::{chunk_path, epoch, io, keep, parse_chunk_path, SessionsError};
use crate::repo::Transaction;
use crate::state::{Known, SessionState, Tracked};
use crate::store::Change;
use crate::workspace::Workspace;

/// What a capture of sessions committed.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Captured {
    /// Sessions that got a new chunk.
    pub sessions: usize,
    /// Transcript lines in the new chunks.
    pub lines: usize,
    /// Sessions no longer carried forward (idle past `keep`).
    pub expired: usize,
    /// The commit, if anything changed.
    pub commit: Option<String>,
}

/// One session's new content, before it is sealed.
struct NewChunk {
    project: String,
    header: Header,
    bodies: Vec<Vec<u8>>,
    known: Known,
}

/// Captures what was appended to every session of a known project and commits it as one
/// commit. Nothing when sessions are off, or nobody can read them (no recipients).
pub fn capture(ws: &mut Workspace) -> Result<Captured, SessionsError> {
    let mut out = Captured::default();
    if !ws.repo.manifest.sessions_enabled() || ws.keys.recipients.is_empty() {
        return Ok(out);
    }
    let keep = keep(&ws.repo.manifest)?;
    let now = crate::clock::now().as_second();
    let mut state = SessionState::load(&ws.state.sessions);
    let mut tx = Transaction::new();
    let found = live::sessions(&ws.env.claude_dir.join("projects"));
    for s in &found {
        let Some(new) = new_chunk(ws, &state, s, keep, now)? else {
            continue;
        };
        let seq = next_seq(ws, &new.project, &s.id);
        let mut header = new.header;
        header.seq = seq;
        let path = chunk_path(&new.project, &s.id, ws.machine(), seq);
        let plain = chunk::encode(&header, &new.bodies);
        let sealed = chunk::seal(&path, &plain, &ws.keys.recipients)?;
        out.sessions += 1;
        out.lines += header.lines;
        let mut known = new.known;
        known.chunks.insert(path.clone());
        state.sessions.insert(s.id.clone(), known);
        tx.write(&path, sealed, false);
    }
    let max = super::max_size(&ws.repo.manifest)?;
    if keep.is_some() || max.is_some() {
        out.expired = expire(ws, &mut state, &mut tx, keep.map(|k| now - k), max);
    }
    if !tx.is_empty() {
        let subject = subject(ws.machine(), &out);
        let msg = crate::summary::message(ws.machine(), &[], Some(&subject));
        out.commit = Some(tx.commit(&mut ws.repo, &msg)?.to_string());
    }
    // After the commit: a kill before this reads the same lines again next time, and the union
    // drops the repeats.
    state
        .save(&ws.state.sessions)
        .map_err(io(&ws.state.sessions))?;
    Ok(out)
}

/// The commit's first line: counts only, never a transcript's words.
fn subject(machine: &str, c: &Captured) -> String {
    let mut s = format!(
        "{machine}: sessions: {} session(s), +{} line(s)",
        c.sessions, c.lines
    );
    if c.expired > 0 {
        s.push_str(&format!(", {} expired", c.expired));
    }
    s
}

/// The next sequence number of this machine's chunks of a session.
fn next_seq(ws: &Workspace, project: &str, session: &str) -> u64 {
    let dir = format!("{}{project}/{session}/", super::PREFIX);
    let machine = ws.machine();
    ws.repo
        .files
        .range(dir.clone()..)
        .take_while(|(p, _)| p.starts_with(&dir))
        .filter_map(|(p, _)| parse_chunk_path(p))
        .filter(|(_, _, m, _)| *m == machine)
        .map(|(_, _, _, seq)| seq)
        .max()
        .unwrap_or(0)
        + 1
}

/// The project a live session belongs to: from the state, else from the `cwd` it records.
fn project_of(
    ws: &Workspace,
    known: Option<&Known>,
    s: &LiveSession,
) -> Option<(String, PathBuf, PathBuf)> {
    let cwd = live::first_cwd(&s.folder.join(format!("{}.jsonl", s.id)))?;
    let real = std::fs::canonicalize(&cwd).unwrap_or_else(|_| cwd.clone());
    if let Some(k) = known.filter(|k| ws.env.projects.contains_key(&k.project)) {
        let root = crate::projdir::project_of(&ws.env.projects, &real).map_or_else(
            || ws.env.projects[&k.project].main.clone(),
            |(_, w)| w.to_path_buf(),
        );
        return Some((k.project.clone(), cwd, root));
    }
    let (id, root) = crate::projdir::project_of(&ws.env.projects, &real)?;
    Some((id.to_string(), cwd, root.to_path_buf()))
}

/// What was appended to one live session since its last chunk, if anything.
fn new_chunk(
    ws: &Workspace,
    state: &SessionState,
    s: &LiveSession,
    keep: Option<i64>,
    now: i64,
) -> Result<Option<NewChunk>, SessionsError> {
    let known = state.sessions.get(&s.id);
    // One copy per machine: a second folder holding the id is not a second session.
    if known.is_some_and(|k| Path::new(&k.folder) != s.folder && Path::new(&k.folder).is_dir()) {
        return Ok(None);
    }
    if known.is_some_and(|k| unchanged(k, s)) {
        return Ok(None);
    }
    let Some((project, cwd, root)) = project_of(ws, known, s) else {
        return Ok(None);
    };
    let transcript = s.folder.join(format!("{}.jsonl", s.id));
    let idle = live::identity(&transcript).map_or(0, |(_, m)| (m / 1_000_000_000) as i64);
    if keep.is_some_and(|k| idle < now - k) {
        return Ok(None);
    }
    let mut k = known.cloned().unwrap_or_default();
    k.project = project.clone();
    k.folder = s.folder.to_string_lossy().to_string();
    let (mut parts, mut bodies) = (Vec::new(), Vec::new());
    let mut take = |k: &mut Known, rel: String, path: PathBuf, kind: Kind| {
        let Some(body) = read_part(k, &rel, &path, kind)? else {
            return Ok::<_, SessionsError>(());
        };
        if kind == Kind::Lines && !rel.contains('/') {
            k.slugs.extend(live::slugs(&body));
        }
        if !body.is_empty() {
            parts.push(Part {
                name: rel,
                kind,
                len: body.len(),
            });
            bodies.push(body);
        }
        Ok(())
    };
    for (rel, kind) in live::files(&s.folder, &s.id) {
        let path = s.folder.join(&rel);
        take(&mut k, rel, path, kind)?;
    }
    // After the transcript: its new lines may name a new slug, hence a new plan file.
    let claude = &ws.env.claude_dir;
    for (name, kind) in live::home_files(claude, &s.id, &k.slugs.clone()) {
        if let Some(path) = live::part_path(claude, &s.folder, &s.id, &name) {
            take(&mut k, name, path, kind)?;
        }
    }
    if parts.is_empty() {
        return Ok(None);
    }
    let header = header(ws, &parts, &bodies, &cwd, &root, now);
    Ok(Some(NewChunk {
        project,
        header,
        bodies,
        known: k,
    }))
}

/// A file's bytes not yet in the store, and what the state records of it: for lines, the
/// complete ones appended since its offset; for a whole file, all of it if it changed. `None`:
/// gone, or a whole file unchanged.
fn read_part(
    k: &mut Known,
    rel: &str,
    path: &Path,
    kind: Kind,
) -> Result<Option<Vec<u8>>, SessionsError> {
    let Some((ino, mtime)) = live::identity(path) else {
        return Ok(None);
    };
    let was = k.files.get(rel).cloned().unwrap_or_default();
    let (bytes, offset) = match kind {
        Kind::Lines => {
            let size = std::fs::metadata(path).map_or(0, |m| m.len());
            let from = match was.ino == ino && was.offset <= size {
                true => was.offset,
                false => 0,
            };
            live::appended(path, from).map_err(io(path))?
        }
        Kind::Whole if was.ino == ino && was.mtime == mtime => return Ok(None),
        Kind::Whole => {
            let bytes = std::fs::read(path).map_err(io(path))?;
            let len = bytes.len() as u64;
            (bytes, len)
        }
    };
    k.files
        .insert(rel.to_string(), Tracked { offset, ino, mtime });
    Ok(Some(bytes))
}

/// Whether a known session's transcript is as it was chunked: one stat, no read (its other
/// files go with the next chunk of the transcript, which the client appends to with them).
fn unchanged(k: &Known, s: &LiveSession) -> bool {
    let rel = format!("{}.jsonl", s.id);
    let path = s.folder.join(&rel);
    let Some(was) = k.files.get(&rel) else {
        return false;
    };
    let size = std::fs::metadata(&path).map_or(u64::MAX, |m| m.len());
    live::identity(&path).is_some_and(|(ino, _)| ino == was.ino) && size == was.offset
}

/// The header of a chunk holding `parts`: the first prompt and a title if they are in it, the
/// newest line's time.
fn header(
    ws: &Workspace,
    parts: &[Part],
    bodies: &[Vec<u8>],
    cwd: &Path,
    root: &Path,
    now: i64,
) -> Header {
    let mut h = Header {
        v: 1,
        machine: ws.machine().to_string(),
        cwd: cwd.to_string_lossy().to_string(),
        root: root.to_string_lossy().to_string(),
        ..Default::default()
    };
    let mut last: Option<String> = None;
    let main = parts.iter().position(|p| !p.name.contains('/'));
    if let Some(i) = main {
        for line in bodies[i].split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            h.lines += 1;
            let Ok(v) = serde_json::from_slice::<Value>(line) else {
                continue;
            };
            if let Some(t) = v.get("timestamp").and_then(Value::as_str) {
                if last.as_deref().is_none_or(|l| epoch(t) >= epoch(l)) {
                    last = Some(t.to_string());
                }
            }
            if h.first.is_none() {
                h.first = prompt(&v);
            }
            if let Some(t) = title(&v) {
                h.title = Some(t);
            }
        }
    }
    h.last = last.unwrap_or_else(|| {
        jiff::Timestamp::from_second(now).map_or_else(|_| String::new(), |t| t.to_string())
    });
    h.parts = parts.to_vec();
    h
}

/// The text of a person's prompt line, shortened.
fn prompt(v: &Value) -> Option<String> {
    if v.get("type").and_then(Value::as_str) != Some("user")
        || v.get("isMeta") == Some(&Value::Bool(true))
    {
        return None;
    }
    let content = v.pointer("/message/content")?;
    let text = match content {
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .find_map(|i| i.get("text").and_then(Value::as_str).map(String::from))?,
        _ => return None,
    };
    let text = text.trim();
    (!text.is_empty() && !text.starts_with('<')).then(|| short(text))
}

fn title(v: &Value) -> Option<String> {
    match v.get("type").and_then(Value::as_str)? {
        "summary" => v.get("summary").and_then(Value::as_str).map(short),
        "custom-title" => v.get("customTitle").and_then(Value::as_str).map(short),
        _ => None,
    }
}

fn short(s: &str) -> String {
    let one: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    match one.chars().count() > 80 {
        true => one.chars().take(79).collect::<String>() + "…",
        false => one,
    }
}

/// Drops from the tree the chunks of sessions past retention: idle since before `cutoff`, then,
/// while the rest hold more than `max` bytes, the least recently active (never the newest).
/// Returns how many sessions. Needs the key (times and sizes are inside the chunks); without
/// it, nothing expires.
fn expire(
    ws: &Workspace,
    state: &mut SessionState,
    tx: &mut Transaction,
    cutoff: Option<i64>,
    max: Option<u64>,
) -> usize {
    let Some(id) = ws.keys.key() else {
        return 0;
    };
    // (project, session) -> (last activity, bytes, chunk paths)
    let mut all: BTreeMap<(String, String), (i64, u64, Vec<String>)> = BTreeMap::new();
    for (path, e) in ws.repo.files.range(super::PREFIX.to_string()..) {
        let Some((p, s, _, _)) = parse_chunk_path(path) else {
            if !path.starts_with(super::PREFIX) {
                break;
            }
            continue;
        };
        let h = super::list::header_of(ws, state, id, path, e.oid);
        let t = h.as_ref().map_or(i64::MAX, |h| epoch(&h.last));
        let size: u64 = h.map_or(0, |h| h.parts.iter().map(|p| p.len as u64).sum());
        let slot = all
            .entry((p.to_string(), s.to_string()))
            .or_insert((i64::MIN, 0, Vec::new()));
        slot.0 = slot.0.max(t);
        slot.1 += size;
        slot.2.push(path.clone());
    }
    let mut by_age: Vec<_> = all.into_values().collect();
    by_age.sort_by_key(|(t, _, _)| std::cmp::Reverse(*t));
    let (mut carried, mut full, mut n) = (0u64, false, 0);
    for (i, (t, size, paths)) in by_age.into_iter().enumerate() {
        let idle = cutoff.is_some_and(|c| t < c);
        // Once one is left out for size, every older one is too.
        full |= i > 0 && max.is_some_and(|m| carried + size > m);
        if !idle && !full {
            carried += size;
            continue;
        }
        n += 1;
        for p in paths {
            tx.set(&p, Change::Delete);
        }
    }
    n
}

/// Sessions here with lines not yet in the store.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Pending {
    /// How many sessions.
    pub sessions: usize,
    /// How many complete lines.
    pub lines: usize,
}

/// What a capture would take now, reading only what was appended (for `ctx status`).
pub fn pending(ws: &Workspace) -> Pending {
    let mut out = Pending::default();
    if !ws.repo.manifest.sessions_enabled() {
        return out;
    }
    let state = SessionState::load(&ws.state.sessions);
    for s in live::sessions(&ws.env.claude_dir.join("projects")) {
        let known = state.sessions.get(&s.id);
        if known.is_none() && project_of(ws, None, &s).is_none() {
            continue;
        }
        let rel = format!("{}.jsonl", s.id);
        let path = s.folder.join(&rel);
        let was = known
            .and_then(|k| k.files.get(&rel))
            .cloned()
            .unwrap_or_default();
        let same = live::identity(&path).is_some_and(|(ino, _)| ino == was.ino);
        let from = if same { was.offset } else { 0 };
        if let Ok((bytes, _)) = live::appended(&path, from) {
            let lines = bytes.iter().filter(|b| **b == b'\n').count();
            if lines > 0 {
                out.sessions += 1;
                out.lines += lines;
            }
        }
    }
    out
}
