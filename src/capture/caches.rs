//! The two caches a snapshot reads and writes (listings and stat data) and what a running
//! `ctx watch` vouches for since they were written. Both carry the watch's token they are
//! valid as of; a scan trusts the watch only when the two agree.

use crate::fsmonitor::{Answer, Token, Trust};
use crate::state::{DirCache, Stat, StatCache};
use crate::workspace::Workspace;

/// The caches of one snapshot.
pub(super) struct Caches {
    /// The listing cache (`None`: a snapshot without caches).
    pub listings: Option<DirCache>,
    /// The stat cache (empty without caches).
    pub stats: StatCache,
    /// The watch's answer, asked before anything was looked at.
    answer: Option<Answer>,
    /// Whether the watch was asked at all.
    asked: bool,
}

impl Caches {
    /// Loads the caches (`enabled`), drops the stat cache if `salt` changed, and asks a running
    /// watch what changed since their token (`ask`).
    pub fn load(ws: &Workspace, salt: String, enabled: bool, ask: bool) -> Caches {
        if !enabled {
            return Caches {
                listings: None,
                stats: StatCache {
                    salt,
                    ..Default::default()
                },
                answer: None,
                asked: false,
            };
        }
        let listings = DirCache::load(&ws.state.dirs);
        let mut stats = StatCache::load(&ws.state.cache);
        if stats.salt != salt {
            stats = StatCache {
                salt,
                ..Default::default()
            };
        }
        let since = stats.token.filter(|_| listings.token() == stats.token);
        let answer = match ask {
            true => crate::fsmonitor::query(&ws.state.dir, &ws.env.claude_dir, since),
            false => None,
        };
        Caches {
            listings: Some(listings),
            stats,
            answer,
            asked: ask,
        }
    }

    /// What the watch vouches for: nothing unless it named the changes since the caches' token.
    pub fn trust(&self) -> Option<&Trust> {
        match &self.answer {
            Some(Answer::Changed(_, trust)) => Some(trust),
            _ => None,
        }
    }

    /// The stat cache's data for a store path; none for a file with other hard links.
    pub fn stat_of(&self, store_path: &str) -> Option<Stat> {
        let e = self.stats.entries.get(store_path).filter(|e| !e.linked)?;
        Some((e.size, e.mtime, e.ctime, e.ino))
    }

    /// Saves both caches when either changed, or when their token is not the watch's current
    /// one after a scan that read everything; then both carry the token the watch gave before
    /// the scan. Otherwise nothing is written: an unchanged cache stays valid as of its token.
    pub fn save(&mut self, ws: &Workspace, stats_changed: bool) {
        let Some(listings) = self.listings.as_mut() else {
            return;
        };
        // Unasked, the scan stat'ed everything: what it wrote is valid as of the caches' own
        // token too (whatever changed after it the watch names).
        let now = match (&self.answer, self.asked) {
            (Some(a), _) => Some(a.token()),
            (None, false) => self
                .stats
                .token
                .filter(|_| listings.token() == self.stats.token),
            (None, true) => None,
        };
        let vouched = matches!(self.answer, Some(Answer::Changed(..)));
        let retoken = listings.token() != self.stats.token
            || (!vouched && now.is_some() && self.stats.token != now);
        if !(stats_changed || listings.needs_save() || retoken) {
            return;
        }
        // Only caches: failing to save them costs speed, never correctness. The listings go
        // first: should the stat cache's write fail, the tokens differ and neither is trusted.
        let token: Option<Token> = now;
        let _ = listings.save(&ws.state.dirs, token);
        self.stats.token = token;
        let _ = self.stats.save(&ws.state.cache);
    }
}
