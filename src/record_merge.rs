//! Two machines' versions of one project record (`projects/<id>.yaml`) combined by what each
//! field means, before the generic merge: each machine writes its own worktree list, and both
//! stamp `last_seen` (and `last_branch`) whenever they use the project, so those two scalars
//! would conflict on the first sync after both machines recorded it.

use std::collections::BTreeMap;

use crate::model::ProjectRecord;

/// Whether `path` is a project record.
pub fn is_record(path: &str) -> bool {
    path.strip_prefix("projects/")
        .and_then(|r| r.strip_suffix(".yaml"))
        .is_some_and(|id| !id.is_empty() && !id.contains('/'))
}

/// Three-way pick of one field: the side that changed it, else ours; `Err` when both changed it
/// differently.
fn pick<T: PartialEq + Clone>(base: Option<&T>, ours: &T, theirs: &T) -> Result<T, ()> {
    match (ours == theirs, base) {
        (true, _) => Ok(ours.clone()),
        (false, Some(b)) if b == ours => Ok(theirs.clone()),
        (false, Some(b)) if b == theirs => Ok(ours.clone()),
        _ => Err(()),
    }
}

/// Each machine's worktrees: the side that changed that machine's list (or removed it); both
/// changed one machine's list (two syncs of one machine's store, say): every path once.
fn worktrees(
    base: Option<&BTreeMap<String, Vec<String>>>,
    ours: &BTreeMap<String, Vec<String>>,
    theirs: &BTreeMap<String, Vec<String>>,
) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for machine in ours.keys().chain(theirs.keys()) {
        let b = base.and_then(|b| b.get(machine)).cloned();
        let (o, t) = (ours.get(machine).cloned(), theirs.get(machine).cloned());
        let list = pick(Some(&b), &o, &t).unwrap_or_else(|()| {
            let mut all = o.clone().unwrap_or_default();
            for p in t.into_iter().flatten() {
                if !all.contains(&p) {
                    all.push(p);
                }
            }
            Some(all)
        });
        if let Some(list) = list {
            out.insert(machine.clone(), list);
        }
    }
    out
}

/// The merged record as stored YAML, or `None` to leave it to the generic merge (a side does
/// not parse, or both changed the name, identity or notes differently).
pub fn merge(base: Option<&[u8]>, ours: &[u8], theirs: &[u8]) -> Option<Vec<u8>> {
    let parse = |b: &[u8]| serde_yaml::from_slice::<ProjectRecord>(b).ok();
    let (o, t) = (parse(ours)?, parse(theirs)?);
    let b = match base {
        Some(bytes) => Some(parse(bytes)?),
        None => None,
    };
    let b = b.as_ref();
    let newer_theirs = t.last_seen > o.last_seen;
    let last_branch = pick(b.map(|b| &b.last_branch), &o.last_branch, &t.last_branch)
        .unwrap_or_else(|()| match newer_theirs {
            true => t.last_branch.clone(),
            false => o.last_branch.clone(),
        });
    let merged = ProjectRecord {
        name: pick(b.map(|b| &b.name), &o.name, &t.name).ok()?,
        identity: pick(b.map(|b| &b.identity), &o.identity, &t.identity).ok()?,
        worktrees: worktrees(b.map(|b| &b.worktrees), &o.worktrees, &t.worktrees),
        last_branch,
        // RFC 3339 in UTC, as ctx writes it: the later sorts last.
        last_seen: o.last_seen.clone().max(t.last_seen.clone()),
        notes: pick(b.map(|b| &b.notes), &o.notes, &t.notes).ok()?,
    };
    serde_yaml::to_string(&merged).ok().map(String::into_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(machine: &str, path: &str, branch: &str, seen: &str) -> String {
        format!(
            "name: webapp\nidentity: github.com/acme/webapp\nworktrees:\n  {machine}:\n  - {path}\nlast_branch: {branch}\nlast_seen: {seen}\n"
        )
    }

    #[test]
    fn two_machines_recording_one_project_keep_both_and_the_newest_time() {
        let a = rec(
            "a",
            "${CTX_HOME}/code/webapp",
            "main",
            "2026-11-30T10:00:00Z",
        );
        let b = rec(
            "b",
            "${CTX_HOME}/work/webapp",
            "feature",
            "2026-11-30T11:00:00Z",
        );
        let out = merge(None, a.as_bytes(), b.as_bytes()).unwrap();
        let m: ProjectRecord = serde_yaml::from_slice(&out).unwrap();
        assert_eq!(m.worktrees.len(), 2);
        assert_eq!(m.worktrees["b"], ["${CTX_HOME}/work/webapp"]);
        assert_eq!(m.last_seen.as_deref(), Some("2026-11-30T11:00:00Z"));
        assert_eq!(m.last_branch.as_deref(), Some("feature"));
        // The other way round gives the same record.
        assert_eq!(merge(None, b.as_bytes(), a.as_bytes()).unwrap(), out);
    }

    #[test]
    fn a_machine_that_dropped_a_worktree_drops_it_and_notes_conflict_for_the_engine() {
        let base = "name: w\nidentity: x\nworktrees:\n  a:\n  - /p\n  - /q\n";
        let ours = "name: w\nidentity: x\nworktrees:\n  a:\n  - /p\n";
        let theirs = "name: w\nidentity: x\nworktrees:\n  a:\n  - /p\n  - /q\n  b:\n  - /r\n";
        let out = merge(Some(base.as_bytes()), ours.as_bytes(), theirs.as_bytes()).unwrap();
        let m: ProjectRecord = serde_yaml::from_slice(&out).unwrap();
        assert_eq!(m.worktrees["a"], ["/p"]);
        assert_eq!(m.worktrees["b"], ["/r"]);
        let n1 = format!("{ours}notes: one\n");
        let n2 = format!("{ours}notes: two\n");
        assert!(merge(Some(ours.as_bytes()), n1.as_bytes(), n2.as_bytes()).is_none());
        assert!(merge(None, b"not: [yaml", ours.as_bytes()).is_none());
        assert!(is_record("projects/github.com-acme-webapp.yaml"));
        assert!(!is_record(
            "projects/github.com-acme-webapp/memory/MEMORY.md"
        ));
    }
}
