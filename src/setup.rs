//! `ctx init`: the store, this machine's key and record, and the merge-driver wiring.

use crate::crypt::Identity;
use crate::env::Env;
use crate::error::{io, Error};
use crate::model::{MachineRecord, Manifest};
use crate::remote::{Remote, RemoteError, TRACKING};
use crate::repo::{Repo, Transaction};
use crate::store::{Store, StoreError};
use crate::workspace::{machine_config, MachineConfig};

/// What `init` found and did.
#[derive(Debug, serde::Serialize)]
pub struct InitReport {
    /// The machine name.
    pub machine: String,
    /// Where the store is.
    pub store: String,
    /// The machine's public key.
    pub public_key: String,
    /// What was created or changed; empty when everything was already in place.
    pub created: Vec<String>,
    /// The remote, when one is configured.
    pub remote: Option<String>,
    /// Whether this machine joined a store that already existed on the remote.
    pub joined: bool,
    /// Whether this machine can read the store's secrets (is one of ctx.yaml's recipients).
    pub approved: bool,
    /// Whether the store's main is on the remote now.
    pub pushed: bool,
    /// This machine's signing key (an OpenSSH public key line).
    pub signing_key: String,
    /// Its fingerprint: give it to the machine that approves this one.
    pub fingerprint: String,
    /// The machines this one trusts now, with their fingerprints (on a join: the store's
    /// signers, trusted on first use).
    pub trusted: Vec<(String, String)>,
}

/// Extensions routed to the ctx merge driver.
pub const MERGE_PATTERNS: &[&str] = &["*.json", "*.jsonl", "*.yaml", "*.yml", "*.toml", "*.md"];

/// The `.gitattributes` ctx writes into the store.
pub fn gitattributes() -> String {
    let mut s =
        String::from("# Routes structured files to ctx's semantic merge (ctx merge-driver).\n");
    for p in MERGE_PATTERNS {
        s.push_str(&format!("{p} merge=ctx\n"));
    }
    s
}

/// The merge-driver command registered in the store's git config.
pub fn driver_command() -> String {
    let exe = std::env::current_exe()
        .ok()
        .map(|p| p.to_string_lossy().to_string())
        .filter(|p| !p.contains(' ') && !p.contains('\''))
        .unwrap_or_else(|| "ctx".into());
    format!("{exe} merge-driver %O %A %B %P")
}

/// Errors of `init`.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// The local part.
    #[error(transparent)]
    Workspace(#[from] Error),
    /// Joining the remote.
    #[error(transparent)]
    Sync(#[from] crate::sync::SyncError),
    /// Another ctx process holds the store.
    #[error(transparent)]
    Lock(#[from] crate::lock::LockError),
}

impl From<crate::crypt::CryptError> for InitError {
    fn from(e: crate::crypt::CryptError) -> Self {
        InitError::Workspace(e.into())
    }
}

impl From<crate::model::ValidationError> for InitError {
    fn from(e: crate::model::ValidationError) -> Self {
        InitError::Workspace(e.into())
    }
}

impl From<StoreError> for InitError {
    fn from(e: StoreError) -> Self {
        InitError::Workspace(e.into())
    }
}

/// Sets up ctx on this machine, joining the store at `remote` if it holds one. Idempotent: a
/// second run changes nothing and says so.
pub fn init(
    env: &Env,
    machine: Option<&str>,
    remote: Option<&str>,
) -> Result<InitReport, InitError> {
    init_with(env, machine, remote, true)
}

/// [`init`]; with `push` false the store is not pushed yet: the caller does it with
/// [`push_alongside`], beside other work.
pub fn init_with(
    env: &Env,
    machine: Option<&str>,
    remote: Option<&str>,
    push: bool,
) -> Result<InitReport, InitError> {
    let mut created = Vec::new();
    let name = machine_name(env, machine, &mut created)?;
    let identity = identity(env, &mut created)?;
    let remote = remote.map(crate::remote::normalize_url);
    let (store, new) = Store::init(&env.store_dir, &name)?;
    if new {
        created.push(format!("store {}", env.display(&env.store_dir)));
    }
    let mut joined = false;
    if let Some(url) = &remote {
        if crate::remote::configured_url(&store).as_deref() != Some(url.as_str()) {
            if let Err(e) = crate::sync::connect(&env.store_dir, &store, url).map(|j| joined = j) {
                if new {
                    // Leave nothing behind: the next `ctx init --remote` starts clean.
                    let _ = std::fs::remove_dir_all(&env.store_dir);
                }
                return Err(e.into());
            }
            let how = if joined { " (joined its store)" } else { "" };
            created.push(format!("remote {url}{how}"));
        }
    }
    wire_merge_driver(env, &store, &mut created)?;
    drop(store);
    let mut repo = Repo::open(&env.store_dir, &name)?;
    let signer = crate::workspace::signer(env)?;
    repo.store.set_signer(signer.clone());
    wire_signing(env, &repo.store, &mut created)?;
    let key = identity.public_key();
    let signing = signer.public_line();
    let trusted = pin_trust(env, &repo, &name, &signing, joined)?;
    commit_setup(env, &mut repo, (&key, &signing), &mut created)?;
    let approved = repo.manifest.recipients.get(&name) == Some(&key);
    let pushed = match push {
        true => push_setup(env, &repo, &mut created)?,
        false => false,
    };
    Ok(InitReport {
        machine: name,
        store: env.display(&env.store_dir),
        public_key: key,
        created,
        remote: crate::remote::configured_url(&repo.store),
        joined,
        approved,
        pushed,
        fingerprint: signer.fingerprint(),
        signing_key: signing,
        trusted,
    })
}

/// This machine's trust: itself, and on a join the signers the store names (trust on first
/// use, printed so the person can check them). Returns who is trusted, with fingerprints.
fn pin_trust(
    env: &Env,
    repo: &Repo,
    name: &str,
    signing: &str,
    joined: bool,
) -> Result<Vec<(String, String)>, InitError> {
    let fresh = !env.trust_path().exists();
    let mut trust = crate::trust::Trust::load_or_start(&env.trust_path(), name, signing)
        .map_err(crate::sync::SyncError::from)?;
    if joined || fresh {
        for (m, k) in &repo.manifest.signers {
            if m != name && trust.key_of(m).is_none() {
                trust.pin(m, k);
            }
        }
    }
    trust.save().map_err(crate::sync::SyncError::from)?;
    Ok(trust
        .machines()
        .iter()
        .map(|(m, k)| {
            let fp = crate::signing::fingerprint_of(k).unwrap_or_default();
            (m.clone(), fp)
        })
        .collect())
}

/// The machine name: the flag, else the one already set, else the host name.
fn machine_name(
    env: &Env,
    machine: Option<&str>,
    created: &mut Vec<String>,
) -> Result<String, InitError> {
    let existing = machine_config(env).ok();
    let name = match (machine, &existing) {
        (Some(m), _) => crate::env::sanitize_machine_name(m),
        (None, Some(c)) => c.machine.clone(),
        (None, None) => env.hostname.clone(),
    };
    if name.is_empty() {
        return Err(Error::BadMachineName(machine.unwrap_or_default().to_string()).into());
    }
    if existing.as_ref().map(|c| &c.machine) != Some(&name) {
        let cfg = MachineConfig {
            machine: name.clone(),
            review: existing.as_ref().is_none_or(|c| c.review),
        };
        let text = serde_yaml::to_string(&cfg).unwrap_or_default();
        let path = env.machine_config_path();
        crate::fsx::write_atomic(&path, text.as_bytes(), None).map_err(io(&path))?;
        created.push(format!("machine name `{name}`"));
    }
    Ok(name)
}

/// This machine's key: the one on disk, else a new one (0600 from the first byte).
fn identity(env: &Env, created: &mut Vec<String>) -> Result<Identity, InitError> {
    let id_path = env.identity_path();
    if id_path.exists() {
        return Ok(Identity::load(&id_path)?);
    }
    let id = Identity::generate();
    id.save(&id_path)?;
    created.push(format!("identity {}", env.display(&id_path)));
    Ok(id)
}

/// The store's git config signs what a person commits there with git itself (`ctx git commit`,
/// a hand edit) with this machine's key, as ctx signs its own commits: the other machines
/// refuse unsigned commits.
fn wire_signing(env: &Env, store: &Store, created: &mut Vec<String>) -> Result<(), InitError> {
    let key = env.signing_key_path().to_string_lossy().to_string();
    let cfg = store.config();
    if cfg.value("user.signingkey").as_deref() != Some(key.as_str()) {
        cfg.set(&[
            ("gpg.format", "ssh"),
            ("user.signingkey", key.as_str()),
            ("commit.gpgsign", "true"),
        ])?;
        created.push("commit signing in the store's git config".into());
    }
    Ok(())
}

/// The store's git config and attributes route structured files to `ctx merge-driver`.
fn wire_merge_driver(env: &Env, store: &Store, created: &mut Vec<String>) -> Result<(), InitError> {
    let driver = driver_command();
    if store.config().value("merge.ctx.driver").as_deref() != Some(driver.as_str()) {
        store.config().set(&[
            ("merge.ctx.name", "ctx semantic merge"),
            ("merge.ctx.driver", driver.as_str()),
        ])?;
        created.push("merge driver in the store's git config".into());
    }
    let info = env.store_dir.join("info").join("attributes");
    if std::fs::read_to_string(&info).ok().as_deref() != Some(gitattributes().as_str()) {
        crate::fsx::write_atomic(&info, gitattributes().as_bytes(), None).map_err(io(&info))?;
    }
    Ok(())
}

/// Commits what this machine adds to the store: the first machine is the first recipient;
/// every machine has its record; the store has its `.gitattributes`.
fn commit_setup(
    env: &Env,
    repo: &mut Repo,
    (key, signing): (&str, &str),
    created: &mut Vec<String>,
) -> Result<(), InitError> {
    let name = repo.machine.clone();
    let mut tx = Transaction::new();
    // The first machine reads its own secrets; a machine joining an existing store waits for an
    // approved machine's `ctx machine approve`, which re-encrypts every secret to it.
    if repo.manifest.recipients.is_empty() {
        let mut manifest = repo.manifest.clone();
        manifest.recipients.insert(name.clone(), key.to_string());
        manifest.signers.insert(name.clone(), signing.to_string());
        let text = render_manifest(&manifest);
        tx.write(crate::layout::MANIFEST, text.into_bytes(), false);
    }
    let record_path = format!("machines/{name}.yaml");
    let record_ok = repo
        .read(&record_path)?
        .and_then(|b| crate::model::parse_yaml::<MachineRecord>(&record_path, &b).ok())
        .is_some_and(|r| r.public_key == key && r.signing_key.as_deref() == Some(signing));
    if !record_ok {
        let record = machine_record(env, &name, key, signing);
        let yaml = serde_yaml::to_string(&record).unwrap_or_default();
        tx.write(&record_path, yaml.into_bytes(), false);
    }
    if repo.read(".gitattributes")?.as_deref() != Some(gitattributes().as_bytes()) {
        tx.write(".gitattributes", gitattributes().into_bytes(), false);
    }
    if tx.is_empty() {
        return Ok(());
    }
    let what: Vec<String> = tx.paths().cloned().collect();
    let subject = format!("{name}: set up machine {name}");
    let msg = crate::summary::message(&name, &what, Some(&subject));
    tx.commit(repo, &msg)?;
    created.push(format!("commit ({})", what.join(", ")));
    Ok(())
}

fn machine_record(env: &Env, name: &str, key: &str, signing: &str) -> MachineRecord {
    let path = |p: &std::path::Path| p.to_string_lossy().to_string();
    MachineRecord {
        name: name.to_string(),
        public_key: key.to_string(),
        signing_key: Some(signing.to_string()),
        os: std::env::consts::OS.to_string(),
        home: path(&env.home),
        hostname: Some(env.hostname.clone()),
        paths: [
            ("claude".to_string(), path(&env.claude_dir)),
            ("claude_json".to_string(), path(&env.claude_json)),
            ("desktop".to_string(), path(&env.desktop_config)),
        ]
        .into_iter()
        .collect(),
        joined: now_rfc3339(),
        last_sync: None,
    }
}

/// Pushes the store when the remote lacks its main. Just fetched: the push is tried at once;
/// only a remote that moved meanwhile needs the fetch-merge-push loop of sync.
fn push_setup(env: &Env, repo: &Repo, created: &mut Vec<String>) -> Result<bool, InitError> {
    let store = &repo.store;
    let Some(url) = crate::remote::configured_url(store) else {
        return Ok(false);
    };
    if store.head()? == store.ref_target(TRACKING)? {
        return Ok(false);
    }
    let _lock = crate::lock::Lock::acquire(&env.state_dir(), "init", crate::lock::default_wait())?;
    let Some(head) = store.head()? else {
        return Ok(false);
    };
    let result = Remote::new(&env.store_dir, &url).push(head);
    pushed(env, store, (&url, head), result, created)
}

/// After a push of `head` to `url`: the tracking ref moved, or on a remote that moved meanwhile
/// the fetch-merge-push loop of sync (which leaves the live files alone). Under the lock.
fn pushed(
    env: &Env,
    store: &Store,
    (url, head): (&str, gix::ObjectId),
    result: Result<(), RemoteError>,
    created: &mut Vec<String>,
) -> Result<bool, InitError> {
    let pushed = match result {
        Ok(()) => {
            let _ = store.delete_ref(TRACKING);
            let _ = store.move_ref(TRACKING, head, None, "ctx: pushed");
            true
        }
        Err(RemoteError::Rejected { .. }) => {
            let opts = crate::sync::SyncOptions {
                push: true,
                commit: false,
                apply: false,
                ..Default::default()
            };
            crate::sync::sync(env, opts)?.pushed
        }
        Err(e) => return Err(crate::sync::SyncError::from(e).into()),
    };
    if pushed && !created.iter().any(|c| c.starts_with("remote")) {
        created.push(format!("pushed to {url}"));
    }
    Ok(pushed)
}

/// Pushes what [`init_with`] left unpushed while `work` runs on this thread (a new machine's
/// apply): the push is a git process and a network round trip that the apply need not wait
/// for. A remote that moved meanwhile is merged with only after `work` is done, so nothing
/// moves `main` under it. The caller holds the store's lock.
pub fn push_alongside<R>(
    env: &Env,
    store: &Store,
    report: &mut InitReport,
    work: impl FnOnce() -> R,
) -> Result<R, InitError> {
    let url = crate::remote::configured_url(store);
    let head = store.head()?;
    let (Some(url), Some(head)) = (url, head) else {
        return Ok(work());
    };
    if Some(head) == store.ref_target(TRACKING)? {
        return Ok(work());
    }
    let push = || Remote::new(&env.store_dir, &url).push(head);
    let (result, out) = crate::remote::alongside("push", push, work);
    report.pushed = pushed(env, store, (&url, head), result, &mut report.created)?;
    Ok(out)
}

/// ctx.yaml with a header comment that points at its schema.
pub fn render_manifest(m: &Manifest) -> String {
    format!(
        "# ctx store manifest; schema: schemas/ctx.schema.json\n{}",
        serde_yaml::to_string(m).unwrap_or_default()
    )
}

/// The current time as RFC 3339, UTC.
pub fn now_rfc3339() -> String {
    crate::clock::now()
        .round(jiff::Unit::Second)
        .map(|t| t.to_string())
        .unwrap_or_default()
}
