//! `ctx init`: the store, this machine's key and record, and the merge-driver wiring.

use std::collections::BTreeMap;

use crate::crypt::Identity;
use crate::env::Env;
use crate::model::{MachineRecord, Manifest};
use crate::session::{MachineConfig, SessionError};
use crate::store::{Change, Store, StoreError, MAIN};

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
    Session(#[from] SessionError),
    /// Joining the remote.
    #[error(transparent)]
    Sync(#[from] crate::sync::SyncError),
    /// Another ctx process holds the store.
    #[error(transparent)]
    Lock(#[from] crate::lock::LockError),
}

impl From<crate::crypt::CryptError> for InitError {
    fn from(e: crate::crypt::CryptError) -> Self {
        InitError::Session(e.into())
    }
}

impl From<crate::model::ValidationError> for InitError {
    fn from(e: crate::model::ValidationError) -> Self {
        InitError::Session(e.into())
    }
}

impl From<StoreError> for InitError {
    fn from(e: StoreError) -> Self {
        InitError::Session(e.into())
    }
}

/// Sets up ctx on this machine, joining the store at `remote` if it holds one. Idempotent: a
/// second run changes nothing and says so.
pub fn init(
    env: &Env,
    machine: Option<&str>,
    remote: Option<&str>,
) -> Result<InitReport, InitError> {
    let mut created = Vec::new();
    let existing = crate::session::machine_config(env).ok();
    let name = match (machine, &existing) {
        (Some(m), _) => crate::env::sanitize_machine_name(m),
        (None, Some(c)) => c.machine.clone(),
        (None, None) => env.hostname.clone(),
    };
    if name.is_empty() {
        return Err(SessionError::UnknownPath("machine name".into()).into());
    }
    if existing.as_ref().map(|c| &c.machine) != Some(&name) {
        let cfg = MachineConfig {
            machine: name.clone(),
        };
        let text = serde_yaml::to_string(&cfg).unwrap_or_default();
        crate::fsx::write_atomic(&env.machine_config_path(), text.as_bytes(), None).map_err(
            |source| SessionError::Io {
                path: env.machine_config_path(),
                source,
            },
        )?;

        created.push(format!("machine name `{name}`"));
    }
    let id_path = env.identity_path();
    let identity = if id_path.exists() {
        Identity::load(&id_path)?
    } else {
        let id = Identity::generate();
        id.save(&id_path)?;
        created.push(format!("identity {}", env.display(&id_path)));
        id
    };
    let remote = remote.map(crate::remote::normalize_url);
    let (mut store, new) = Store::init(&env.store_dir, &name)?;
    if new {
        created.push(format!("store {}", env.display(&env.store_dir)));
    }
    let mut joined = false;
    if let Some(url) = &remote {
        if crate::remote::configured_url(&store).as_deref() != Some(url.as_str()) {
            let result = crate::sync::connect(env, &store, url);
            if let Err(e) = result {
                if new {
                    // Leave nothing behind: the next `ctx init --remote` starts clean.
                    let _ = std::fs::remove_dir_all(&env.store_dir);
                }
                return Err(e.into());
            }
            joined = result.unwrap_or(false);
            store = Store::open(&env.store_dir, &name)?;
            created.push(format!(
                "remote {url}{}",
                if joined { " (joined its store)" } else { "" }
            ));
        }
    }
    let driver = driver_command();
    if store.config_value("merge.ctx.driver").as_deref() != Some(driver.as_str()) {
        store.set_config(&[
            ("merge.ctx.name", "ctx semantic merge"),
            ("merge.ctx.driver", driver.as_str()),
        ])?;
        created.push("merge driver in the store's git config".into());
    }
    let info = env.store_dir.join("info").join("attributes");
    if std::fs::read_to_string(&info).ok().as_deref() != Some(gitattributes().as_str()) {
        crate::fsx::write_atomic(&info, gitattributes().as_bytes(), None).map_err(|source| {
            SessionError::Io {
                path: info.clone(),
                source,
            }
        })?;
    }
    let head = store.head()?;
    let mut changes = BTreeMap::new();
    let mut manifest = match store.read(head, "ctx.yaml")? {
        Some(b) => crate::model::parse_yaml::<Manifest>("ctx.yaml", &b)?,
        None => Manifest::default(),
    };
    let key = identity.public_key();
    // The first machine reads its own secrets; a machine joining an existing store waits for an
    // approved machine's `ctx machine approve`, which re-encrypts every secret to it.
    if manifest.recipients.is_empty() {
        manifest.recipients.insert(name.clone(), key.clone());
        changes.insert(
            "ctx.yaml".to_string(),
            Change::Write {
                bytes: render_manifest(&manifest).into_bytes(),
                exec: false,
            },
        );
    }
    let record_path = format!("machines/{name}.yaml");
    let record_ok = store
        .read(head, &record_path)?
        .and_then(|b| crate::model::parse_yaml::<MachineRecord>(&record_path, &b).ok())
        .is_some_and(|r| r.public_key == key);
    if !record_ok {
        let record = MachineRecord {
            name: name.clone(),
            public_key: key.clone(),
            os: std::env::consts::OS.to_string(),
            home: env.home.to_string_lossy().to_string(),
            hostname: Some(env.hostname.clone()),
            paths: [
                (
                    "claude".to_string(),
                    env.claude_dir.to_string_lossy().to_string(),
                ),
                (
                    "claude_json".to_string(),
                    env.claude_json.to_string_lossy().to_string(),
                ),
                (
                    "desktop".to_string(),
                    env.desktop_config.to_string_lossy().to_string(),
                ),
            ]
            .into_iter()
            .collect(),
            joined: now_rfc3339(),
            last_sync: None,
        };
        changes.insert(
            record_path,
            Change::Write {
                bytes: serde_yaml::to_string(&record)
                    .unwrap_or_default()
                    .into_bytes(),
                exec: false,
            },
        );
    }
    if store.read(head, ".gitattributes")?.as_deref() != Some(gitattributes().as_bytes()) {
        changes.insert(
            ".gitattributes".into(),
            Change::Write {
                bytes: gitattributes().into_bytes(),
                exec: false,
            },
        );
    }
    if !changes.is_empty() {
        let base = match head {
            Some(h) => Some(store.tree_of(h)?),
            None => None,
        };
        let tree = store.write_tree(base, &changes)?;
        let parents: Vec<_> = head.into_iter().collect();
        let what: Vec<String> = changes.keys().cloned().collect();
        let msg = crate::summary::message(
            &name,
            &what,
            Some(&format!("{name}: set up machine {name}")),
        );
        store
            .commit(MAIN, tree, &parents, head, &msg)
            .map_err(|e| match e {
                StoreError::RefMoved => StoreError::RefMoved,
                other => other,
            })?;
        created.push(format!("commit ({})", what.join(", ")));
    }
    let approved = manifest.recipients.get(&name) == Some(&key);
    let mut pushed = false;
    if let Some(url) = crate::remote::configured_url(&store) {
        let remote_head = store.ref_target(crate::remote::TRACKING)?;
        if store.head()? != remote_head {
            let opts = crate::sync::SyncOptions {
                push: true,
                commit: false,
                apply: false,
                progress: None,
            };
            let _lock =
                crate::lock::Lock::acquire(&env.state_dir(), "init", crate::lock::default_wait())?;
            let head = store.head()?;
            let remote = crate::remote::Remote::new(&env.store_dir, &url);
            // Just fetched: try the push at once; only a remote that moved meanwhile needs the
            // fetch-merge-push loop of sync.
            match head.map(|h| remote.push(h)) {
                Some(Ok(())) => {
                    if let Some(h) = head {
                        let _ = store.delete_ref(crate::remote::TRACKING);
                        let _ = store.move_ref(crate::remote::TRACKING, h, None, "ctx: pushed");
                    }
                    pushed = true;
                }
                Some(Err(crate::remote::RemoteError::Rejected { .. })) => {
                    pushed = crate::sync::sync(env, opts)?.pushed;
                }
                Some(Err(e)) => return Err(crate::sync::SyncError::from(e).into()),
                None => {}
            }
            if pushed && !created.iter().any(|c| c.starts_with("remote")) {
                created.push(format!("pushed to {url}"));
            }
        }
    }
    Ok(InitReport {
        machine: name,
        store: env.display(&env.store_dir),
        public_key: key,
        created,
        remote: crate::remote::configured_url(&store),
        joined,
        approved,
        pushed,
    })
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
    jiff::Timestamp::now()
        .round(jiff::Unit::Second)
        .map(|t| t.to_string())
        .unwrap_or_default()
}
