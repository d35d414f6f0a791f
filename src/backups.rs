//! `ctx backups`: the backup refs `apply --force` (and `rollback --force`) made of live files
//! they overwrote, with the files each holds.

use serde::Serialize;

use crate::error::Result;
use crate::store::BACKUP_PREFIX;
use crate::workspace::Workspace;

/// One backup.
#[derive(Debug, Serialize)]
pub struct Backup {
    /// Its name, the ref without `refs/ctx/backups/`.
    pub name: String,
    /// The full ref (`git --git-dir STORE show REF:PATH` reads a file back).
    #[serde(rename = "ref")]
    pub refname: String,
    /// Its commit.
    pub commit: String,
    /// When it was made, seconds since the epoch.
    pub time: i64,
    /// The store paths of the live files it saved.
    pub files: Vec<String>,
}

/// Every backup, newest first.
pub fn list(ws: &Workspace) -> Result<Vec<Backup>> {
    let store = &ws.repo.store;
    let history = store.history();
    let mut out = Vec::new();
    for (refname, id) in ws.repo.backups()? {
        // A backup commit is the head it was made on plus the saved files: its own changes
        // against that parent are exactly what it holds.
        let parent = history.parents(id)?.first().copied();
        let parent_tree = parent.map(|p| store.tree_of(p)).transpose()?;
        let diff = store.diff_trees(parent_tree, Some(store.tree_of(id)?))?;
        out.push(Backup {
            name: refname
                .strip_prefix(BACKUP_PREFIX)
                .unwrap_or(&refname)
                .to_string(),
            commit: id.to_string(),
            time: history.commit_time(id)?,
            files: diff.into_keys().collect(),
            refname,
        });
    }
    out.sort_by(|a, b| b.time.cmp(&a.time).then(a.name.cmp(&b.name)));
    Ok(out)
}
