//! Session transcripts on this machine: `~/.claude/projects/<folder>/<id>.jsonl` and the
//! session's own folder `<id>/` (subagents, tool results).

use std::collections::BTreeSet;
use std::io::{BufRead, Read, Seek};
use std::path::{Path, PathBuf};

use super::chunk::Kind;

/// A session transcript found in a project folder.
#[derive(Debug, Clone)]
pub struct LiveSession {
    /// The session id (the file stem).
    pub id: String,
    /// The folder it is in, `~/.claude/projects/<enc>`.
    pub folder: PathBuf,
}

/// Whether a name is a session id the client would write (a UUID): anything else in a project
/// folder is not a session ctx handles.
pub fn is_session_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
}

/// Every session transcript under `projects_dir`.
pub fn sessions(projects_dir: &Path) -> Vec<LiveSession> {
    let mut out = Vec::new();
    let Ok(folders) = std::fs::read_dir(projects_dir) else {
        return out;
    };
    for folder in folders.flatten() {
        if !folder.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let Ok(files) = std::fs::read_dir(folder.path()) else {
            continue;
        };
        for f in files.flatten() {
            let name = f.file_name().to_string_lossy().to_string();
            let Some(id) = name.strip_suffix(".jsonl").filter(|i| is_session_id(i)) else {
                continue;
            };
            if f.file_type().is_ok_and(|t| t.is_file()) {
                out.push(LiveSession {
                    id: id.to_string(),
                    folder: folder.path(),
                });
            }
        }
    }
    out.sort_by(|a, b| (&a.id, &a.folder).cmp(&(&b.id, &b.folder)));
    out
}

/// The files of a session relative to its folder, with how each is stored: the transcript,
/// and everything under `<id>/` (a `.jsonl` as lines, anything else whole).
pub fn files(folder: &Path, id: &str) -> Vec<(String, Kind)> {
    let mut out = vec![(format!("{id}.jsonl"), Kind::Lines)];
    out.extend(walk(folder, PathBuf::from(id)));
    out
}

/// The files under `base/rel`, relative to `base`, sorted; dotfiles (the client's locks) left out.
fn walk(base: &Path, rel: PathBuf) -> Vec<(String, Kind)> {
    let mut out = Vec::new();
    let mut stack = vec![rel];
    while let Some(rel) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(base.join(&rel)) else {
            continue;
        };
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if name.starts_with('.') {
                continue;
            }
            let child = rel.join(&name);
            match e.file_type() {
                Ok(t) if t.is_dir() => stack.push(child),
                Ok(t) if t.is_file() => {
                    let kind = match name.ends_with(".jsonl") {
                        true => Kind::Lines,
                        false => Kind::Whole,
                    };
                    out.push((child.to_string_lossy().replace('\\', "/"), kind));
                }
                _ => {}
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Names a part stored from the Claude home rather than the session's folder: its plans and
/// tasks (`~/plans/<slug>.md`, `~/tasks/<id>/1.json`).
pub const HOME: &str = "~/";

/// The session's files outside its folder, named from the Claude home: the plans the client
/// named after the session's slug (`plans/<slug>.md`, `plans/<slug>-agent-<agent>.md`) and its
/// task list (`tasks/<id>/…`).
pub fn home_files(claude_dir: &Path, id: &str, slugs: &BTreeSet<String>) -> Vec<(String, Kind)> {
    let mut out = Vec::new();
    if !slugs.is_empty() {
        if let Ok(rd) = std::fs::read_dir(claude_dir.join("plans")) {
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().to_string();
                let Some(stem) = name.strip_suffix(".md") else {
                    continue;
                };
                let base = stem.split_once("-agent-").map_or(stem, |(b, _)| b);
                if slugs.contains(base) && e.file_type().is_ok_and(|t| t.is_file()) {
                    out.push((format!("{HOME}plans/{name}"), Kind::Whole));
                }
            }
        }
    }
    for (rel, _) in walk(&claude_dir.join("tasks"), PathBuf::from(id)) {
        out.push((format!("{HOME}tasks/{rel}"), Kind::Whole));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Where a part of session `id` lives on this machine, or `None` for a name ctx does not write
/// (a chunk is sealed to us, but its names still come from another machine).
pub fn part_path(claude_dir: &Path, folder: &Path, id: &str, name: &str) -> Option<PathBuf> {
    if name
        .split('/')
        .any(|p| p.is_empty() || p == "." || p == ".." || p.contains('\\'))
    {
        return None;
    }
    if let Some(rest) = name.strip_prefix(HOME) {
        let plan = rest
            .strip_prefix("plans/")
            .is_some_and(|f| f.ends_with(".md") && !f.contains('/'));
        let task = rest
            .strip_prefix("tasks/")
            .and_then(|r| r.strip_prefix(id))
            .is_some_and(|r| r.starts_with('/'));
        return (plan || task).then(|| claude_dir.join(rest));
    }
    let own = name == format!("{id}.jsonl") || name.starts_with(&format!("{id}/"));
    own.then(|| folder.join(name))
}

/// The session slugs (`"slug":"brisk-wandering-otter"`) in transcript lines: the client names
/// a session's plan files after it.
pub fn slugs(lines: &[u8]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for at in memchr::memmem::find_iter(lines, b"\"slug\":\"") {
        let rest = &lines[at + 8..];
        let Some(end) = memchr::memchr(b'"', rest) else {
            continue;
        };
        let slug = &rest[..end];
        let ok = !slug.is_empty()
            && slug.len() <= 100
            && slug
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_');
        if ok {
            out.insert(String::from_utf8_lossy(slug).to_string());
        }
    }
    out
}

/// The complete lines of `path` from byte `offset` on: a line still being written (no newline
/// yet) is left for the next capture. Returns the bytes and the new offset.
pub fn appended(path: &Path, offset: u64) -> std::io::Result<(Vec<u8>, u64)> {
    let mut f = std::fs::File::open(path)?;
    f.seek(std::io::SeekFrom::Start(offset))?;
    let mut buf = Vec::new();
    f.read_to_end(&mut buf)?;
    let end = memchr::memrchr(b'\n', &buf).map_or(0, |i| i + 1);
    buf.truncate(end);
    Ok((buf, offset + end as u64))
}

/// The first `cwd` a transcript records (its first lines may be summaries without one).
pub fn first_cwd(path: &Path) -> Option<PathBuf> {
    let f = std::fs::File::open(path).ok()?;
    for line in std::io::BufReader::new(f).lines().take(50) {
        let line = line.ok()?;
        let v: serde_json::Value = serde_json::from_str(&line).ok()?;
        if let Some(cwd) = v.get("cwd").and_then(|c| c.as_str()) {
            return Some(PathBuf::from(cwd));
        }
    }
    None
}

/// `(inode, mtime ns)` of a file.
pub fn identity(path: &Path) -> Option<(u64, i128)> {
    let st = crate::state::stat(path)?;
    Some((st.3, st.1))
}

/// `lines` with every `cwd` field set to `cwd`, other bytes untouched (the client reads the
/// field to tell whose session it is; it rejects one recorded in another directory).
pub fn rewrite_cwd(lines: &[u8], cwd: &str) -> Vec<u8> {
    let new = serde_json::to_string(cwd).unwrap_or_default();
    let mut out = Vec::with_capacity(lines.len());
    for line in lines.split_inclusive(|b| *b == b'\n') {
        let at = memchr::memmem::find(line, b"\"cwd\":\"");
        let old = at.and_then(|_| serde_json::from_slice::<serde_json::Value>(line).ok());
        let old = old
            .as_ref()
            .and_then(|v| v.get("cwd"))
            .and_then(|c| c.as_str());
        match (at, old) {
            (Some(i), Some(old)) => {
                let old = serde_json::to_string(old).unwrap_or_default();
                let start = i + 6;
                let same = line.get(start..start + old.len()) == Some(old.as_bytes());
                if same {
                    out.extend_from_slice(&line[..start]);
                    out.extend_from_slice(new.as_bytes());
                    out.extend_from_slice(&line[start + old.len()..]);
                } else {
                    out.extend_from_slice(line);
                }
            }
            _ => out.extend_from_slice(line),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cwd_fields_are_rewritten_and_nothing_else() {
        let lines =
            b"{\"cwd\":\"/home/a/code/w\",\"x\":\"/home/a/code/w\"}\n{\"type\":\"summary\"}\n";
        let out = rewrite_cwd(lines, "/home/b/work/w");
        assert_eq!(
            String::from_utf8_lossy(&out),
            "{\"cwd\":\"/home/b/work/w\",\"x\":\"/home/a/code/w\"}\n{\"type\":\"summary\"}\n"
        );
    }

    #[test]
    fn a_line_being_written_is_left_for_later() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let p = dir.path().join("s.jsonl");
        std::fs::write(&p, "one\ntwo\nthr").unwrap_or_else(|e| panic!("{e}"));
        let (got, at) = appended(&p, 0).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((got.as_slice(), at), (&b"one\ntwo\n"[..], 8));
        let (got, at) = appended(&p, 8).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((got.len(), at), (0, 8));
    }
}
