//! The events not yet delivered, `notify-queue.json` in the state dir (0600: payloads name
//! files and fields), and `notify.log`, one line per delivery or failure (never a URL).
//! Every event is tried once when it is queued; one that failed waits for the next event.

use std::io::Write;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::hooks::Opened;
use crate::workspace::Workspace;

/// The most events kept waiting; the oldest go first past it.
pub const MAX_QUEUED: usize = 200;
/// How many times one event is tried before it is dropped.
pub const MAX_ATTEMPTS: u32 = 20;

/// One event waiting for one webhook.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Item {
    /// The hook's id (a fingerprint of its URL).
    pub hook: String,
    /// The event.
    pub payload: Value,
    /// Deliveries tried so far.
    pub attempts: u32,
}

/// The queue file's contents.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Queue {
    /// Oldest first.
    pub items: Vec<Item>,
}

fn path(ws: &Workspace) -> PathBuf {
    ws.state.dir.join("notify-queue.json")
}

/// Appends a line to `notify.log`; a log that cannot be written is not an error of anything.
pub fn log(ws: &Workspace, line: &str) {
    let p = ws.state.dir.join("notify.log");
    let f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(p);
    if let Ok(mut f) = f {
        let _ = writeln!(f, "{} {line}", crate::setup::now_rfc3339());
    }
}

impl Queue {
    /// The queue as saved (a damaged file reads as empty: events are not worth a failure).
    pub fn load(ws: &Workspace) -> Queue {
        std::fs::read(path(ws))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Adds an event for `hook`.
    pub fn push(&mut self, hook: &str, payload: Value) {
        self.items.push(Item {
            hook: hook.to_string(),
            payload,
            attempts: 0,
        });
        let over = self.items.len().saturating_sub(MAX_QUEUED);
        self.items.drain(..over);
    }

    /// Tries every waiting event, oldest first; a hook that fails is not tried again in this
    /// round (one timeout per dead receiver, not one per event). Saves what is left.
    pub fn deliver(mut self, ws: &Workspace, hooks: &[Opened]) {
        let mut failed: Vec<String> = Vec::new();
        let mut left = Vec::new();
        for mut item in std::mem::take(&mut self.items) {
            let Some(h) = hooks.iter().find(|h| h.id == item.hook) else {
                continue; // the webhook was removed, or this machine can no longer open it
            };
            if failed.contains(&h.id) {
                left.push(item);
                continue;
            }
            let event = item.payload["event"]
                .as_str()
                .unwrap_or("event")
                .to_string();
            let id = item.payload["id"].as_str().unwrap_or_default().to_string();
            let body = serde_json::to_vec(&item.payload).unwrap_or_default();
            let host = super::hooks::host_of(&h.url).unwrap_or_default();
            item.attempts += 1;
            match super::deliver::post(&h.url, &h.secret, &event, &body) {
                Ok(code) => log(ws, &format!("{event} {id} -> {host}: {code}")),
                Err(e) => {
                    let keep = item.attempts < MAX_ATTEMPTS;
                    let then = if keep {
                        "kept for the next event"
                    } else {
                        "dropped"
                    };
                    log(ws, &format!("{event} {id} -> {host}: failed ({e}); {then}"));
                    failed.push(h.id.clone());
                    if keep {
                        left.push(item);
                    }
                }
            }
        }
        self.items = left;
        self.save(ws);
    }

    fn save(&self, ws: &Workspace) {
        let p = path(ws);
        if self.items.is_empty() {
            let _ = std::fs::remove_file(&p);
            return;
        }
        let bytes = serde_json::to_vec(self).unwrap_or_default();
        if let Err(e) = crate::fsx::write_atomic(&p, &bytes, Some(0o600)) {
            log(ws, &format!("cannot save the webhook queue: {e}"));
        }
    }
}
