//! Store -> live for sessions: each session of a project this machine has is written under the
//! folder name of this machine's path, as the union of every machine's chunks, with `cwd`
//! rewritten; a copy under another folder name is moved there, never duplicated (the client
//! resolves an id only when one folder holds it).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::chunk::{self, Header, Kind};
use super::live;
use super::order::{union, Stream};
use super::{epoch, io, keep, parse_chunk_path, SessionsError};
use crate::state::{Known, SessionState, Tracked};
use crate::store::ObjectId;
use crate::workspace::Workspace;

/// What applying sessions did.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Applied {
    /// Sessions written (created or brought up to date).
    pub written: Vec<String>,
    /// Sessions moved from another folder name on this machine.
    pub moved: Vec<String>,
    /// Sessions left as they are: their live copy holds lines not captured yet (the next sync
    /// captures them, then writes the union).
    pub left: Vec<String>,
    /// Sessions this machine cannot open (not approved, or no key).
    pub unreadable: usize,
}

/// One session's chunks in the store.
struct Stored {
    project: String,
    chunks: Vec<(String, ObjectId)>,
}

fn stored(ws: &Workspace) -> BTreeMap<String, Stored> {
    let mut out: BTreeMap<String, Stored> = BTreeMap::new();
    for (path, e) in ws.repo.files.range(super::PREFIX.to_string()..) {
        if !path.starts_with(super::PREFIX) {
            break;
        }
        if let Some((project, sid, _, _)) = parse_chunk_path(path) {
            let s = out.entry(sid.to_string()).or_insert_with(|| Stored {
                project: project.to_string(),
                chunks: Vec::new(),
            });
            s.chunks.push((path.clone(), e.oid));
        }
    }
    out
}

/// Writes every session of a project this machine has, where it is not up to date.
pub fn apply(ws: &Workspace) -> Result<Applied, SessionsError> {
    let mut out = Applied::default();
    if !ws.repo.manifest.sessions_enabled() {
        return Ok(out);
    }
    let all = stored(ws);
    let Some(id) = ws.keys.key().filter(|_| ws.keys.approved()) else {
        out.unreadable = all.len();
        return Ok(out);
    };
    let keep = keep(&ws.repo.manifest)?;
    let now = crate::clock::now().as_second();
    let mut state = SessionState::load(&ws.state.sessions);
    let mut copies: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for s in live::sessions(&ws.env.claude_dir.join("projects")) {
        copies.entry(s.id).or_default().push(s.folder);
    }
    for (sid, s) in &all {
        if !ws.env.projects.contains_key(&s.project) {
            continue;
        }
        let set: BTreeSet<String> = s.chunks.iter().map(|(p, _)| p.clone()).collect();
        let known = state.sessions.get(sid).cloned();
        let here = copies.get(sid).cloned().unwrap_or_default();
        let current = known
            .as_ref()
            .filter(|k| here.contains(&PathBuf::from(&k.folder)));
        if current.is_some_and(|k| k.chunks == set) {
            continue;
        }
        let mut headers = Vec::new();
        for (path, oid) in &s.chunks {
            if let Some(h) = super::list::header_of(ws, &mut state, id, path, *oid) {
                headers.push(h);
            }
        }
        let last = headers.iter().map(|h| epoch(&h.last)).max().unwrap_or(0);
        if keep.is_some_and(|k| last < now - k) && current.is_none() {
            continue;
        }
        if !here.is_empty() && !captured(current, sid, &here) {
            out.left.push(sid.clone());
            continue;
        }
        let (folder, cwd) = place(ws, &s.project, &headers, &here);
        if let Some(from) = here.iter().find(|f| **f != folder) {
            move_session(from, &folder, sid)?;
            out.moved.push(sid.clone());
        }
        let Some(k) = write(ws, id, s, &folder, &cwd)? else {
            out.unreadable += 1;
            continue;
        };
        state
            .sessions
            .insert(sid.clone(), Known { chunks: set, ..k });
        out.written.push(sid.clone());
    }
    state
        .save(&ws.state.sessions)
        .map_err(io(&ws.state.sessions))?;
    Ok(out)
}

/// Whether the live copy holds nothing a capture has not taken: then writing the union over it
/// loses nothing.
fn captured(known: Option<&Known>, sid: &str, here: &[PathBuf]) -> bool {
    let Some(k) = known else {
        return here.is_empty();
    };
    let rel = format!("{sid}.jsonl");
    let path = Path::new(&k.folder).join(&rel);
    let Some(was) = k.files.get(&rel) else {
        return false;
    };
    let size = std::fs::metadata(&path).map_or(0, |m| m.len());
    live::identity(&path).is_some_and(|(ino, _)| ino == was.ino) && size == was.offset
}

/// Where a session goes on this machine: (its folder, the directory it runs in). A copy already
/// under a folder of this project's worktrees stays there (it is where it was used here); else
/// the directory it last ran in on the other machine, mapped onto this machine's worktree.
fn place(
    ws: &Workspace,
    project: &str,
    headers: &[Header],
    here: &[PathBuf],
) -> (PathBuf, PathBuf) {
    let projects = ws.env.claude_dir.join("projects");
    let main = ws.env.projects[project].main.clone();
    let worktrees = &ws.env.projects[project].worktrees;
    for f in here {
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        for w in worktrees {
            let enc = crate::projdir::encode_path(w);
            if name == enc {
                return (f.clone(), w.clone());
            }
        }
    }
    let newest = headers.iter().max_by(|a, b| {
        (epoch(&a.last), &a.machine, a.seq).cmp(&(epoch(&b.last), &b.machine, b.seq))
    });
    let rel = newest
        .and_then(|h| {
            Path::new(&h.cwd)
                .strip_prefix(&h.root)
                .ok()
                .map(Path::to_path_buf)
        })
        .filter(|r| !r.as_os_str().is_empty());
    let cwd = rel
        .map(|r| main.join(r))
        .filter(|d| d.is_dir())
        .unwrap_or(main);
    (projects.join(crate::projdir::encode_path(&cwd)), cwd)
}

/// Moves a session's transcript and its folder from one project folder to another.
fn move_session(from: &Path, to: &Path, sid: &str) -> Result<(), SessionsError> {
    std::fs::create_dir_all(to).map_err(io(to))?;
    for name in [format!("{sid}.jsonl"), sid.to_string()] {
        let (a, b) = (from.join(&name), to.join(&name));
        if a.exists() && !b.exists() {
            std::fs::rename(&a, &b).map_err(io(&a))?;
        }
    }
    Ok(())
}

/// Writes the union of a session's chunks into `folder`; `None` when a chunk cannot be opened.
fn write(
    ws: &Workspace,
    id: &crate::crypt::Identity,
    s: &Stored,
    folder: &Path,
    cwd: &Path,
) -> Result<Option<Known>, SessionsError> {
    let mut opened = Vec::new();
    for (path, oid) in &s.chunks {
        let sealed = ws.repo.store.blob(*oid)?;
        match chunk::open(path, &sealed, id) {
            Ok(c) => opened.push(c),
            Err(_) => return Ok(None),
        }
    }
    opened.sort_by(|a, b| {
        (epoch(&a.0.last), &a.0.machine, a.0.seq).cmp(&(epoch(&b.0.last), &b.0.machine, b.0.seq))
    });
    let mut lines: BTreeMap<String, Vec<Stream>> = BTreeMap::new();
    let mut whole: BTreeMap<String, &[u8]> = BTreeMap::new();
    for (h, bodies) in &opened {
        for (p, b) in h.parts.iter().zip(bodies) {
            match p.kind {
                Kind::Lines => lines.entry(p.name.clone()).or_default().push(Stream {
                    rank: (&h.machine, h.seq),
                    text: b,
                }),
                // Sorted oldest first: the newest chunk's copy wins.
                Kind::Whole => {
                    whole.insert(p.name.clone(), b);
                }
            }
        }
    }
    let cwd = cwd.to_string_lossy();
    let mut files: Vec<(String, Vec<u8>)> = lines
        .iter()
        .map(|(n, streams)| (n.clone(), live::rewrite_cwd(&union(streams), &cwd)))
        .collect();
    files.extend(whole.into_iter().map(|(n, b)| (n, b.to_vec())));
    let mut known = Known {
        project: s.project.clone(),
        folder: folder.to_string_lossy().to_string(),
        ..Default::default()
    };
    let sid = s.chunks.first().and_then(|(p, _)| parse_chunk_path(p));
    let sid = sid.map(|(_, sid, _, _)| sid).unwrap_or_default();
    for (name, bytes) in files {
        let Some(path) = live::part_path(&ws.env.claude_dir, folder, sid, &name) else {
            continue;
        };
        if name == format!("{sid}.jsonl") {
            known.slugs = live::slugs(&bytes);
        }
        if std::fs::read(&path).ok().as_deref() != Some(&bytes[..]) {
            // Transcripts hold file contents and pasted secrets: private, like the client's.
            crate::fsx::write_atomic(&path, &bytes, Some(0o600)).map_err(io(&path))?;
        }
        let (ino, mtime) = live::identity(&path).unwrap_or_default();
        let offset = bytes.len() as u64;
        known.files.insert(name, Tracked { offset, ino, mtime });
    }
    Ok(Some(known))
}
