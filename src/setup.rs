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

/// Sets up ctx on this machine. Idempotent: a second run changes nothing and says so.
pub fn init(env: &Env, machine: Option<&str>) -> Result<InitReport, SessionError> {
    let mut created = Vec::new();
    let existing = crate::session::machine_config(env).ok();
    let name = match (machine, &existing) {
        (Some(m), _) => crate::env::sanitize_machine_name(m),
        (None, Some(c)) => c.machine.clone(),
        (None, None) => env.hostname.clone(),
    };
    if name.is_empty() {
        return Err(SessionError::UnknownPath("machine name".into()));
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
    let (store, new) = Store::init(&env.store_dir, &name)?;
    if new {
        created.push(format!("store {}", env.display(&env.store_dir)));
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
    if manifest.recipients.get(&name) != Some(&key) {
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
    Ok(InitReport {
        machine: name,
        store: env.display(&env.store_dir),
        public_key: key,
        created,
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
