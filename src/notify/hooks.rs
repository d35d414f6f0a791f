//! ctx.yaml's `notify:` list: each entry's URL and HMAC key sealed to every recipient (bound to
//! their place in the list, so an edit seals the whole list again), committed with a message
//! that names the host, never the URL.

use serde::Serialize;
use serde_json::Value;

use crate::crypt::rules::Seg;
use crate::layout::MANIFEST;
use crate::model::{NotifyEvent, NotifyHook};
use crate::repo::Transaction;
use crate::workspace::Workspace;

/// Errors editing the `notify:` list.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// Not an http(s) URL ctx can POST to.
    #[error("`{0}` is not an http:// or https:// URL with a host")]
    BadUrl(String),
    /// No entry with that number.
    #[error("there is no webhook number {0} in ctx.yaml")]
    NoSuchHook(usize),
    /// A value this machine cannot open or seal.
    #[error(transparent)]
    Crypt(#[from] crate::crypt::CryptError),
    /// The edited manifest failed its schema (a bug if it ever shows).
    #[error(transparent)]
    Invalid(#[from] crate::model::ValidationError),
    /// Reading or committing the store.
    #[error(transparent)]
    Workspace(#[from] crate::error::Error),
}

type Result<T, E = NotifyError> = std::result::Result<T, E>;

/// A `notify:` entry opened with this machine's key.
#[derive(Debug, Clone)]
pub struct Opened {
    /// Stable id of the hook in the queue: a fingerprint of its URL.
    pub id: String,
    /// The URL.
    pub url: String,
    /// The HMAC key.
    pub secret: String,
    /// The events it wants (empty: all).
    pub events: Vec<NotifyEvent>,
    /// The machines that send it (empty: all).
    pub machines: Vec<String>,
}

impl Opened {
    /// Whether this machine sends `event` to it.
    pub fn wants(&self, event: &str, machine: &str) -> bool {
        let ev = self.events.is_empty() || self.events.iter().any(|e| name(*e) == event);
        ev && (self.machines.is_empty() || self.machines.iter().any(|m| m == machine))
    }
}

/// An event's name as ctx.yaml and the payload spell it.
pub fn name(e: NotifyEvent) -> &'static str {
    match e {
        NotifyEvent::Sync => "sync",
        NotifyEvent::Conflict => "conflict",
        NotifyEvent::Review => "review",
        NotifyEvent::Machine => "machine",
    }
}

/// The field path of entry `i`'s `field`.
fn slot(i: usize, field: &str) -> Vec<Seg> {
    vec![
        Seg::Key("notify".into()),
        Seg::Index(i),
        Seg::Key(field.into()),
    ]
}

/// The value at entry `i`'s `field`, opened when sealed.
fn open(ws: &Workspace, i: usize, field: &str, v: &str) -> Result<String> {
    if !crate::crypt::is_encrypted(v) {
        return Ok(v.to_string());
    }
    let id = ws.keys.identity()?;
    let opened = crate::crypt::open_at(v, MANIFEST, &slot(i, field), id)?;
    Ok(match opened.value {
        Value::String(s) => s,
        other => other.to_string(),
    })
}

fn opened_at(ws: &Workspace, i: usize, h: &NotifyHook) -> Result<Opened> {
    let url = open(ws, i, "url", &h.url)?;
    Ok(Opened {
        id: crate::crypt::detect::fingerprint(&url),
        secret: open(ws, i, "secret", &h.secret)?,
        url,
        events: h.events.clone(),
        machines: h.machines.clone(),
    })
}

/// Every entry this machine can open (an entry sealed without it is skipped and logged).
pub fn opened(ws: &Workspace) -> Vec<Opened> {
    let mut out = Vec::new();
    for (i, h) in ws.repo.manifest.notify.iter().enumerate() {
        match opened_at(ws, i, h) {
            Ok(o) => out.push(o),
            Err(e) => super::queue::log(ws, &format!("webhook {}: cannot open it: {e}", i + 1)),
        }
    }
    out
}

/// One entry as `ctx notify ls` shows it: the URL cut to its scheme and host.
#[derive(Debug, Serialize)]
pub struct Listed {
    /// Its number (1-based), as `ctx notify rm` takes it.
    pub number: usize,
    /// `https://host/…`, or `<secret>` where this machine cannot open it.
    pub url: String,
    /// The events (empty: all).
    pub events: Vec<NotifyEvent>,
    /// The machines that send it (empty: all).
    pub machines: Vec<String>,
}

/// The entries, URLs cut to their host.
pub fn list(ws: &Workspace) -> Vec<Listed> {
    let m = &ws.repo.manifest;
    m.notify
        .iter()
        .enumerate()
        .map(|(i, h)| Listed {
            number: i + 1,
            url: open(ws, i, "url", &h.url)
                .ok()
                .and_then(|u| host_of(&u))
                .unwrap_or_else(|| "<secret>".into()),
            events: h.events.clone(),
            machines: h.machines.clone(),
        })
        .collect()
}

/// `scheme://host[:port]/…`: what of a URL can be shown (the path and query may hold a token).
pub fn host_of(url: &str) -> Option<String> {
    let t = super::deliver::Target::parse(url)?;
    Some(format!("{}://{}:{}/…", t.scheme, t.host, t.port))
}

/// What `ctx notify add` did.
#[derive(Debug, Serialize)]
pub struct Added {
    /// The commit.
    pub commit: String,
    /// The entry's number.
    pub number: usize,
    /// The HMAC key, shown this once: the receiver checks `X-Ctx-Signature` with it.
    pub secret: String,
}

/// Adds a webhook for `events` (empty: all) sent by `machines` (empty: all), with a fresh key.
pub fn add(
    ws: &mut Workspace,
    url: &str,
    events: Vec<NotifyEvent>,
    machines: Vec<String>,
) -> Result<Added> {
    let host = host_of(url).ok_or_else(|| NotifyError::BadUrl(url.to_string()))?;
    let mut plain = plain_list(ws)?;
    let secret = super::deliver::random_hex(32);
    plain.push(NotifyHook {
        url: url.to_string(),
        secret: secret.clone(),
        events,
        machines,
    });
    let number = plain.len();
    let commit = commit(ws, plain, &format!("notify: + {host}"))?;
    Ok(Added {
        commit,
        number,
        secret,
    })
}

/// Removes webhook `number` (1-based); returns the commit.
pub fn remove(ws: &mut Workspace, number: usize) -> Result<String> {
    let mut plain = plain_list(ws)?;
    if number == 0 || number > plain.len() {
        return Err(NotifyError::NoSuchHook(number));
    }
    let gone = plain.remove(number - 1);
    let host = host_of(&gone.url).unwrap_or_else(|| "webhook".into());
    commit(ws, plain, &format!("notify: - {host}"))
}

/// Every entry with its URL and key opened.
fn plain_list(ws: &Workspace) -> Result<Vec<NotifyHook>> {
    let mut out = Vec::new();
    for (i, h) in ws.repo.manifest.notify.iter().enumerate() {
        let o = opened_at(ws, i, h)?;
        out.push(NotifyHook {
            url: o.url,
            secret: o.secret,
            ..h.clone()
        });
    }
    Ok(out)
}

/// `list` sealed at its places, as ctx.yaml's `notify:`.
pub fn seal(ws: &Workspace, list: Vec<NotifyHook>) -> Result<Vec<NotifyHook>> {
    let to = &ws.keys.recipients;
    let mut out = Vec::new();
    for (i, mut h) in list.into_iter().enumerate() {
        let s =
            |v: &str, f: &str| crate::crypt::seal_at(&Value::from(v), MANIFEST, &slot(i, f), to);
        h.url = s(&h.url, "url")?;
        h.secret = s(&h.secret, "secret")?;
        out.push(h);
    }
    Ok(out)
}

fn commit(ws: &mut Workspace, plain: Vec<NotifyHook>, change: &str) -> Result<String> {
    let mut manifest = ws.repo.manifest.clone();
    manifest.notify = seal(ws, plain)?;
    let bytes = crate::setup::render_manifest(&manifest).into_bytes();
    crate::model::validate(MANIFEST, &bytes)?;
    let mut tx = Transaction::new();
    tx.write(MANIFEST, bytes, false);
    let machine = ws.machine().to_string();
    let item = format!("{MANIFEST} {change}");
    let msg = crate::summary::message(&machine, std::slice::from_ref(&item), None);
    let id = tx.commit(&mut ws.repo, &msg)?;
    ws.reload_keys()?;
    Ok(id.to_string())
}

/// After every secret was sealed again to new recipients (`resealed`, the sealed documents'
/// new bytes): `manifest`'s `notify:` taken from the resealed ctx.yaml, so a machine approved
/// later can open the webhooks too.
pub fn keep_resealed(
    manifest: &mut crate::model::Manifest,
    resealed: &std::collections::BTreeMap<String, crate::store::Change>,
) {
    let Some(crate::store::Change::Write { bytes, .. }) = resealed.get(MANIFEST) else {
        return;
    };
    if let Ok(m) = crate::model::parse_yaml::<crate::model::Manifest>(MANIFEST, bytes) {
        manifest.notify = m.notify;
    }
}
