//! Walking the store's history: ancestry, merge bases, log, time travel.

use std::collections::{HashSet, VecDeque};

use gix::ObjectId;

use super::{trailer, LogEntry, Result, Store};

/// The store's commit graph.
pub struct History<'a> {
    pub(super) store: &'a Store,
}

impl History<'_> {
    /// The best common ancestors of two commits (usually one; several after criss-cross merges).
    ///
    /// Computed from the full ancestry rather than with gix's date-ordered walk, which can answer
    /// wrongly when commits share a timestamp (machines syncing within one second do).
    pub fn merge_bases(&self, one: ObjectId, two: ObjectId) -> Result<Vec<ObjectId>> {
        let of_one = self.ancestors(one)?;
        if of_one.contains(&two) {
            return Ok(vec![two]);
        }
        // Walk from `two`, stopping at the first commits that `one` also reaches.
        let mut candidates = Vec::new();
        let mut seen = HashSet::new();
        let mut queue = VecDeque::from([two]);
        while let Some(id) = queue.pop_front() {
            if !seen.insert(id) {
                continue;
            }
            if of_one.contains(&id) {
                candidates.push(id);
                continue;
            }
            queue.extend(self.parents(id)?);
        }
        // A candidate that is an ancestor of another is not a best base.
        let mut best = Vec::new();
        for c in &candidates {
            let mut dominated = false;
            for d in &candidates {
                if d != c && self.ancestors(*d)?.contains(c) {
                    dominated = true;
                    break;
                }
            }
            if !dominated {
                best.push(*c);
            }
        }
        Ok(best)
    }

    /// The best common ancestor of two commits, if they share history.
    pub fn merge_base(&self, one: ObjectId, two: ObjectId) -> Result<Option<ObjectId>> {
        Ok(self.merge_bases(one, two)?.into_iter().next())
    }

    /// Whether `ancestor` is `descendant` or one of its ancestors.
    pub fn is_ancestor(&self, ancestor: ObjectId, descendant: ObjectId) -> Result<bool> {
        if ancestor == descendant {
            return Ok(true);
        }
        Ok(self.ancestors(descendant)?.contains(&ancestor))
    }

    /// A commit's parents.
    pub fn parents(&self, id: ObjectId) -> Result<Vec<ObjectId>> {
        Ok(self
            .store
            .repo
            .find_commit(id)?
            .parent_ids()
            .map(|p| p.detach())
            .collect())
    }

    /// `id` and every commit it descends from.
    pub fn ancestors(&self, id: ObjectId) -> Result<HashSet<ObjectId>> {
        let mut seen = HashSet::new();
        let mut stack = vec![id];
        while let Some(c) = stack.pop() {
            if seen.insert(c) {
                stack.extend(self.parents(c)?);
            }
        }
        Ok(seen)
    }

    /// Commits reachable from `from` but not from `other`, counted (for ahead/behind).
    pub fn count_exclusive(&self, from: ObjectId, other: ObjectId) -> Result<usize> {
        let walk = self
            .store
            .repo
            .rev_walk([from])
            .with_hidden([other])
            .all()?;
        let mut n = 0;
        for info in walk {
            info?;
            n += 1;
        }
        Ok(n)
    }

    /// When a commit was made (its committer time, seconds since the epoch).
    pub fn commit_time(&self, commit: ObjectId) -> Result<i64> {
        Ok(self.store.repo.find_commit(commit)?.time()?.seconds)
    }

    /// A commit's full message.
    pub fn commit_message(&self, commit: ObjectId) -> Result<String> {
        let c = self.store.repo.find_commit(commit)?;
        Ok(c.message_raw()?.to_string())
    }

    /// The newest first-parent ancestor of `from` made at or before `time` (seconds).
    pub fn before(&self, from: ObjectId, time: i64) -> Result<Option<ObjectId>> {
        let walk = self.store.repo.rev_walk([from]).first_parent_only().all()?;
        for info in walk {
            let info = info?;
            let commit = self.store.repo.find_commit(info.id)?;
            if commit.time()?.seconds <= time {
                return Ok(Some(info.id));
            }
        }
        Ok(None)
    }

    /// History from `from`, newest first; with `path`, only commits that changed it.
    pub fn log(&self, from: ObjectId, path: Option<&str>, limit: usize) -> Result<Vec<LogEntry>> {
        let walk = self
            .store
            .repo
            .rev_walk([from])
            .sorting(gix::revision::walk::Sorting::ByCommitTime(
                Default::default(),
            ))
            .all()?;
        let mut out = Vec::new();
        for info in walk {
            if out.len() >= limit {
                break;
            }
            let info = info?;
            let commit = self.store.repo.find_commit(info.id)?;
            let parents: Vec<ObjectId> = commit.parent_ids().map(|p| p.detach()).collect();
            if let Some(path) = path {
                let mine = self.path_oids(Some(info.id), path)?;
                let theirs = self.path_oids(parents.first().copied(), path)?;
                if mine == theirs {
                    continue;
                }
            }
            let message = commit.message_raw_sloppy().to_string();
            out.push(LogEntry {
                id: info.id.to_string(),
                time: commit.time()?.seconds,
                machine: trailer(&message, "Ctx-Machine"),
                summary: message.lines().next().unwrap_or("").to_string(),
                parents: parents.iter().map(|p| p.to_string()).collect(),
            });
        }
        Ok(out)
    }

    /// The blobs at or under `path` in `commit`, to tell whether a commit touched it.
    fn path_oids(&self, commit: Option<ObjectId>, path: &str) -> Result<Vec<(String, ObjectId)>> {
        let prefix = format!("{}/", path.trim_end_matches('/'));
        Ok(self
            .store
            .files(commit)?
            .into_iter()
            .filter(|(p, _)| p == path || p.starts_with(&prefix))
            .map(|(p, e)| (p, e.oid))
            .collect())
    }
}
