//! The watch's record of what changed: every path an event named, with the sequence number of
//! its latest event. An epoch names one unbroken record; a lost event (the kernel's queue
//! overflowed, a watch was re-added) starts a new one, and no earlier token is answered again.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A point in one watch's record: what a scan saw is valid as of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    /// The unbroken record this point is in.
    pub epoch: u64,
    /// How many events the record held then.
    pub seq: u64,
}

impl Token {
    /// `epoch seq`, as the caches and the wire protocol write it.
    pub fn render(&self) -> String {
        format!("{} {}", self.epoch, self.seq)
    }

    /// Reads [`Token::render`]'s form.
    pub fn parse(text: &str) -> Option<Token> {
        let (e, s) = text.trim().split_once(' ')?;
        Some(Token {
            epoch: e.parse().ok()?,
            seq: s.parse().ok()?,
        })
    }
}

/// Past this many distinct paths the record starts again (a new epoch) rather than grow.
const MAX_PATHS: usize = 100_000;

/// The record one watch keeps.
#[derive(Debug)]
pub struct ChangeLog {
    epoch: u64,
    seq: u64,
    changed: HashMap<PathBuf, u64>,
}

impl Default for ChangeLog {
    fn default() -> Self {
        Self::new()
    }
}

impl ChangeLog {
    /// A record with a fresh epoch.
    pub fn new() -> ChangeLog {
        ChangeLog {
            epoch: fresh_epoch(0),
            seq: 0,
            changed: HashMap::new(),
        }
    }

    /// Where the record is now.
    pub fn token(&self) -> Token {
        Token {
            epoch: self.epoch,
            seq: self.seq,
        }
    }

    /// An event named `path`.
    pub fn touch(&mut self, path: &Path) {
        if self.changed.len() >= MAX_PATHS && !self.changed.contains_key(path) {
            self.reset();
        }
        self.seq += 1;
        match self.changed.get_mut(path) {
            Some(at) => *at = self.seq,
            None => {
                self.changed.insert(path.to_path_buf(), self.seq);
            }
        }
    }

    /// Events were lost: a new epoch, so every earlier token gets "everything may have changed".
    pub fn reset(&mut self) {
        self.epoch = fresh_epoch(self.epoch);
        self.seq = 0;
        self.changed.clear();
    }

    /// The paths changed after `since`, or `None` when `since` is not of this record.
    pub fn since(&self, since: Token) -> Option<Vec<&Path>> {
        if since.epoch != self.epoch || since.seq > self.seq {
            return None;
        }
        Some(
            self.changed
                .iter()
                .filter(|(_, &at)| at > since.seq)
                .map(|(p, _)| p.as_path())
                .collect(),
        )
    }
}

/// An epoch no other watch and no earlier record of this one has: the clock, the process and
/// the previous epoch mixed.
fn fresh_epoch(previous: u64) -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let mut e = nanos ^ (u64::from(std::process::id()) << 40) ^ previous.rotate_left(17);
    if e == previous {
        e = e.wrapping_add(1);
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_answers_what_changed_after_it_and_nothing_after_a_reset() {
        let mut log = ChangeLog::new();
        let start = log.token();
        log.touch(Path::new("/h/.claude/a"));
        let mid = log.token();
        log.touch(Path::new("/h/.claude/b"));
        log.touch(Path::new("/h/.claude/a"));
        let mut all = log.since(start).unwrap();
        all.sort();
        assert_eq!(all, [Path::new("/h/.claude/a"), Path::new("/h/.claude/b")]);
        // `a` changed again after `mid`, so it is named too.
        assert_eq!(log.since(mid).unwrap().len(), 2);
        assert!(log.since(log.token()).unwrap().is_empty());
        // A token from the future or from another record is not answered.
        let ahead = Token {
            seq: log.token().seq + 1,
            ..mid
        };
        assert!(log.since(ahead).is_none());
        log.reset();
        assert_ne!(log.token().epoch, mid.epoch);
        assert!(log.since(mid).is_none());
        assert_eq!(Token::parse(&mid.render()), Some(mid));
        assert_eq!(Token::parse("12"), None);
    }
}
