//! The sessions in the store, across machines (`ctx sessions ls`, `show`), and the ctx.yaml
//! switch (`enable`, `disable`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use super::chunk::{self, Header};
use super::{parse_chunk_path, SessionsError};
use crate::crypt::Identity;
use crate::state::SessionState;
use crate::store::ObjectId;
use crate::workspace::Workspace;

/// One session, as `ctx sessions ls` shows it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SessionInfo {
    /// The session id.
    pub id: String,
    /// The project's id (`projects/<id>.yaml`).
    pub project: String,
    /// Where the project is on this machine, if it is here.
    pub project_path: Option<String>,
    /// The transcript on this machine, if it is written here.
    pub transcript: Option<String>,
    /// The folder to resume it from on this machine.
    pub resume_dir: Option<String>,
    /// The machine that last appended to it.
    pub machine: Option<String>,
    /// Its newest line's time (RFC 3339).
    pub last: Option<String>,
    /// A title, else the first prompt.
    pub title: Option<String>,
    /// Transcript lines across every chunk.
    pub lines: usize,
    /// Bytes of its files across every chunk.
    pub size: usize,
    /// Its chunks in the store.
    pub chunks: usize,
    /// Whether this machine can open it (a machine not approved cannot).
    pub readable: bool,
}

/// A chunk's header: from the state's cache, else opened (headers never change: chunks are
/// immutable), and cached.
pub(super) fn header_of(
    ws: &Workspace,
    state: &mut SessionState,
    id: &Identity,
    path: &str,
    oid: ObjectId,
) -> Option<Header> {
    let key = oid.to_string();
    if let Some(h) = state.headers.get(&key) {
        return serde_json::from_value(h.clone()).ok();
    }
    let sealed = ws.repo.store.blob(oid).ok()?;
    let h = chunk::open_header(path, &sealed, id).ok()?;
    state
        .headers
        .insert(key, serde_json::to_value(&h).unwrap_or_default());
    Some(h)
}

/// Every session in the store, newest first.
pub fn list(ws: &Workspace) -> Result<Vec<SessionInfo>, SessionsError> {
    let mut state = SessionState::load(&ws.state.sessions);
    let before = state.headers.len();
    let key = ws.keys.key();
    let mut by: BTreeMap<String, SessionInfo> = BTreeMap::new();
    let mut newest: BTreeMap<String, (i64, String, String)> = BTreeMap::new();
    for (path, e) in ws.repo.files.range(super::PREFIX.to_string()..) {
        if !path.starts_with(super::PREFIX) {
            break;
        }
        let Some((project, sid, _, _)) = parse_chunk_path(path) else {
            continue;
        };
        let info = by.entry(sid.to_string()).or_insert_with(|| SessionInfo {
            id: sid.to_string(),
            project: project.to_string(),
            readable: key.is_some(),
            ..Default::default()
        });
        info.chunks += 1;
        let Some(h) = key.and_then(|k| header_of(ws, &mut state, k, path, e.oid)) else {
            info.readable = false;
            continue;
        };
        info.lines += h.lines;
        info.size += h.parts.iter().map(|p| p.len).sum::<usize>();
        let t = super::epoch(&h.last);
        let slot =
            newest
                .entry(sid.to_string())
                .or_insert((i64::MIN, String::new(), String::new()));
        if t >= slot.0 {
            *slot = (t, h.machine.clone(), h.last.clone());
        }
        // The earliest chunk's first prompt; any chunk's latest title.
        if h.first.is_some() && (info.title.is_none() || h.seq == 1) {
            info.title = info.title.clone().or(h.first.clone());
        }
        if h.title.is_some() {
            info.title = h.title.clone();
        }
    }
    if state.headers.len() != before {
        // Only a cache.
        let _ = state.save(&ws.state.sessions);
    }
    let mut out: Vec<SessionInfo> = by
        .into_values()
        .map(|mut i| {
            if let Some((_, m, last)) = newest.get(&i.id) {
                i.machine = Some(m.clone());
                i.last = Some(last.clone());
            }
            here(ws, &state, &mut i);
            i
        })
        .collect();
    out.sort_by(|a, b| {
        let t = |i: &SessionInfo| i.last.as_deref().map_or(0, super::epoch);
        t(b).cmp(&t(a)).then(a.id.cmp(&b.id))
    });
    Ok(out)
}

/// Fills in where a session is, or would be, on this machine.
fn here(ws: &Workspace, state: &SessionState, i: &mut SessionInfo) {
    let Some(h) = ws.env.projects.get(&i.project) else {
        return;
    };
    i.project_path = Some(h.main.to_string_lossy().to_string());
    let written = state
        .sessions
        .get(&i.id)
        .map(|k| PathBuf::from(&k.folder).join(format!("{}.jsonl", i.id)))
        .filter(|p| p.is_file());
    i.transcript = written.map(|p| p.to_string_lossy().to_string());
    let dir = super::live::first_cwd(std::path::Path::new(i.transcript.as_deref().unwrap_or("")))
        .filter(|d| d.is_dir())
        .unwrap_or_else(|| h.main.clone());
    i.resume_dir = Some(dir.to_string_lossy().to_string());
}

/// One session by id (or a unique prefix of one), and the command that resumes it here.
pub fn show(ws: &Workspace, id: &str) -> Result<(SessionInfo, Option<String>), SessionsError> {
    let all = list(ws)?;
    let mut hits = all.into_iter().filter(|i| i.id.starts_with(id));
    let (Some(info), None) = (hits.next(), hits.next()) else {
        return Err(SessionsError::NotFound(id.to_string()));
    };
    let cmd = info
        .resume_dir
        .as_deref()
        .filter(|_| info.transcript.is_some())
        .map(|d| format!("cd {} && claude --resume {}", quote(d), info.id));
    Ok((info, cmd))
}

/// A path as a POSIX shell word.
fn quote(s: &str) -> String {
    let plain = s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/._-+,:@%".contains(&b));
    match plain && !s.is_empty() {
        true => s.to_string(),
        false => format!("'{}'", s.replace('\'', "'\\''")),
    }
}

/// The `sessions:` settings of ctx.yaml.
pub fn settings(ws: &Workspace) -> crate::model::SessionsConfig {
    ws.repo.manifest.sessions.clone().unwrap_or_default()
}

/// Turns session sync on or off in ctx.yaml (every machine follows it); returns the commit, or
/// `None` when it already was so.
pub fn set_enabled(ws: &mut Workspace, on: bool) -> Result<Option<String>, SessionsError> {
    let mut manifest = ws.repo.manifest.clone();
    let mut s = manifest.sessions.clone().unwrap_or_default();
    if s.enabled == on && manifest.sessions.is_some() {
        return Ok(None);
    }
    s.enabled = on;
    manifest.sessions = Some(s);
    let mut tx = crate::repo::Transaction::new();
    // As `ctx init` writes it (setup renders the same; it comes after this module).
    let yaml = serde_yaml::to_string(&manifest).unwrap_or_default();
    let text = format!("# ctx store manifest; schema: schemas/ctx.schema.json\n{yaml}");
    tx.write(crate::layout::MANIFEST, text.into_bytes(), false);
    let word = if on { "enabled" } else { "disabled" };
    let subject = format!("{}: sessions {word}", ws.machine());
    let msg = crate::summary::message(ws.machine(), &[], Some(&subject));
    Ok(Some(tx.commit(&mut ws.repo, &msg)?.to_string()))
}
