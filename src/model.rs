//! The store's own files (`ctx.yaml`, `machines/*.yaml`, `context/*.yaml`, `projects/*.yaml`) as
//! Rust types. The JSON Schemas in `schemas/` are generated from these, so the two cannot drift.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The store manifest, `ctx.yaml`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Store format version; this ctx writes 1.
    pub version: u32,
    /// Machines that can read the secrets: machine name -> age X25519 public key (`age1…`).
    #[serde(default)]
    pub recipients: BTreeMap<String, String>,
    /// Machines whose signed commits the others accept: machine name -> SSH signing key (an
    /// OpenSSH public key line). Each machine pins its own copy; this list only tells it what
    /// a trusted machine approved or revoked.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub signers: BTreeMap<String, String>,
    /// Extra secret rules, on top of the built-in ones (`ctx secret set` adds one, `ctx secret
    /// rm` removes it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<SecretRule>,
    /// What looks like a secret but is not: files no shape, name or entropy check looks at,
    /// and single values by fingerprint (the refusal names it). Rules still apply.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_secret: Vec<NotSecret>,
    /// What a merge does when both machines changed one value differently.
    #[serde(default)]
    pub conflicts: ConflictPolicy,
    /// Extra paths under the Claude home to capture (files or folders, relative).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<String>,
    /// Paths under the Claude home never to capture, on top of the built-in exclusions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
    /// The largest live file ctx captures, in bytes; a larger one is held back with a warning
    /// (git history cannot be cleaned of it later, and GitHub refuses files over 100 MB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_file_size: Option<u64>,
    /// Claude Code session transcripts, synced encrypted when enabled (`ctx sessions enable`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sessions: Option<SessionsConfig>,
    /// Webhooks ctx POSTs a signed JSON event to after a sync, a conflict, a review decision
    /// or a machine change (`ctx notify add`); their URLs and keys are sealed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notify: Vec<NotifyHook>,
    /// Fields each machine keeps its own value of, as `FILE:FIELD` (`settings.json:theme`,
    /// `settings.json:env.HTTP_PROXY`; a `.` inside a key is written `\.`): never merged, never
    /// carried to another machine. Left out, the built-in list (`theme` and the proxy variables)
    /// is in force; set, exactly this list is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local: Option<Vec<String>>,
    /// Per machine, by name: what that one machine leaves out.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub machines: BTreeMap<String, MachineConfig>,
}

/// One `notify:` entry of ctx.yaml: where to POST which events.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NotifyHook {
    /// The URL to POST to, sealed (a webhook URL usually holds a token).
    pub url: String,
    /// The key of the `X-Ctx-Signature` HMAC-SHA256 over the body, sealed.
    pub secret: String,
    /// The events to send (default: all of them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<NotifyEvent>,
    /// Only these machines send it (default: every machine that can read the secrets).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub machines: Vec<String>,
}

/// An event a webhook can be sent.
#[derive(
    Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq, PartialOrd, Ord,
)]
#[serde(rename_all = "lowercase")]
pub enum NotifyEvent {
    /// A sync ended (merged, pushed, fast-forwarded or up to date).
    Sync,
    /// A sync stopped on conflicts left for `ctx resolve`.
    Conflict,
    /// Held changes were accepted or rejected (`ctx review`).
    Review,
    /// A machine asked to join, was approved or revoked.
    Machine,
}

/// One machine's entry under `machines:` in ctx.yaml.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MachineConfig {
    /// Paths (relative to the Claude home, or store paths) this machine neither captures nor
    /// applies; nothing is deleted anywhere, and the other machines keep syncing them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
}

/// The `sessions:` section of ctx.yaml.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SessionsConfig {
    /// Whether transcripts are captured and applied on every machine.
    #[serde(default)]
    pub enabled: bool,
    /// Sessions idle longer than this are no longer carried forward (history keeps them):
    /// a number and a unit, `h`, `d` or `w` (`90d`). Unset keeps every session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep: Option<String>,
    /// The most transcript bytes carried forward: past it the least recently active sessions
    /// are no longer carried (history keeps them): a number and a unit, `K`, `M` or `G`
    /// (`500M`). The newest session is always carried. Unset has no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_size: Option<String>,
}

/// The machine-local fields when ctx.yaml has no `local:`: the theme Claude Code writes on a
/// machine's first start, and the proxy variables (both spellings), which follow the network a
/// machine sits on.
pub const LOCAL_DEFAULT: &[&str] = &[
    "settings.json:theme",
    "settings.json:env.HTTP_PROXY",
    "settings.json:env.HTTPS_PROXY",
    "settings.json:env.NO_PROXY",
    "settings.json:env.http_proxy",
    "settings.json:env.https_proxy",
    "settings.json:env.no_proxy",
];

/// The default of `max_file_size`: 10 MiB.
pub const MAX_FILE_SIZE: u64 = 10 * 1024 * 1024;

impl Manifest {
    /// The size limit in force.
    pub fn max_file_size(&self) -> u64 {
        self.max_file_size.unwrap_or(MAX_FILE_SIZE)
    }

    /// The machine-local fields in force: `local:`, or the built-in list when it is left out.
    pub fn local_fields(&self) -> Vec<String> {
        match &self.local {
            Some(list) => list.clone(),
            None => LOCAL_DEFAULT.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// What `machine` leaves out (`machines.<name>.exclude`).
    pub fn excluded_on(&self, machine: &str) -> &[String] {
        self.machines
            .get(machine)
            .map(|m| m.exclude.as_slice())
            .unwrap_or_default()
    }

    /// Whether session transcripts are synced.
    pub fn sessions_enabled(&self) -> bool {
        self.sessions.as_ref().is_some_and(|s| s.enabled)
    }
}

impl Default for Manifest {
    fn default() -> Self {
        Manifest {
            version: 1,
            recipients: BTreeMap::new(),
            signers: BTreeMap::new(),
            secrets: Vec::new(),
            not_secret: Vec::new(),
            conflicts: ConflictPolicy::Stop,
            include: Vec::new(),
            exclude: Vec::new(),
            max_file_size: None,
            sessions: None,
            notify: Vec::new(),
            local: None,
            machines: BTreeMap::new(),
        }
    }
}

/// A rule that marks fields as secret.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SecretRule {
    /// Store path the rule applies to; `*` matches within one path segment, `**` across segments.
    pub file: String,
    /// Dotted field path; `*` matches any one key and `[]` any index, e.g. `env.*`,
    /// `*.headers.*` or `github.args[]`; a `.` inside a key is written `\.`.
    pub field: String,
}

/// A false positive of the detector, marked in ctx.yaml: a file glob or a value's fingerprint.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NotSecret {
    /// Store path glob (`*` within a segment, `**` across): nothing in these files is taken for a
    /// secret by its shape, name or randomness.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// `sha256:` and 16 hex digits, as a refusal or `ctx secret ls` prints it: this one value is
    /// not a secret, wherever it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
}

/// The store's conflict policy.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ConflictPolicy {
    /// Leave conflict markers and ask a person (exit 1).
    #[default]
    Stop,
    /// Keep this machine's value.
    Ours,
    /// Keep the other machine's value.
    Theirs,
    /// Keep the value of the newer commit.
    Newest,
}

/// One machine's record, `machines/<name>.yaml`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MachineRecord {
    /// The machine name (the file name without `.yaml`).
    pub name: String,
    /// The machine's age X25519 public key.
    pub public_key: String,
    /// The machine's SSH signing key (an OpenSSH public key line): its commits are signed with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_key: Option<String>,
    /// Operating system (`linux`, `macos`, `windows`).
    pub os: String,
    /// Home directory on that machine; absolute paths under it are stored as `${CTX_HOME}`.
    pub home: String,
    /// Host name when the machine joined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// Where Claude Code's files live on that machine.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub paths: BTreeMap<String, String>,
    /// When the machine joined (RFC 3339).
    pub joined: String,
    /// When it last synced (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sync: Option<String>,
}

/// A context document, `context/<name>.yaml`: preferences and notes that follow the person.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ContextDoc {
    /// A short title.
    pub title: String,
    /// What kind of document it is.
    #[serde(default)]
    pub kind: ContextKind,
    /// Free-form tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Individual preferences or notes, one per entry.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<String>,
    /// Longer text (Markdown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

/// The kind of a context document.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ContextKind {
    /// How the person likes to work.
    #[default]
    Preferences,
    /// Things worth remembering.
    Notes,
}

/// A project mapping, `projects/<id>.yaml`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ProjectRecord {
    /// Display name (the repository's folder name).
    pub name: String,
    /// The identity: normalised remote URL, else `root:<root commit id>`.
    pub identity: String,
    /// Per machine, the worktree paths where the project is checked out.
    #[serde(default)]
    pub worktrees: BTreeMap<String, Vec<String>>,
    /// The branch last checked out, on any machine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_branch: Option<String>,
    /// When the project was last seen (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<String>,
    /// Free-form notes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

/// The schemas checked into `schemas/`: (file name, JSON text).
pub fn schemas() -> Vec<(&'static str, String)> {
    let render = |s: schemars::Schema| {
        let mut text = serde_json::to_string_pretty(&s).unwrap_or_default();
        text.push('\n');
        text
    };
    vec![
        ("ctx.schema.json", render(schemars::schema_for!(Manifest))),
        (
            "machine.schema.json",
            render(schemars::schema_for!(MachineRecord)),
        ),
        (
            "context.schema.json",
            render(schemars::schema_for!(ContextDoc)),
        ),
        (
            "project.schema.json",
            render(schemars::schema_for!(ProjectRecord)),
        ),
    ]
}

/// A store file that failed validation.
#[derive(Debug, thiserror::Error)]
#[error("{file}: field `{field}`: {message}")]
pub struct ValidationError {
    /// Store path.
    pub file: String,
    /// Dotted path of the failing field (`.` for the document).
    pub field: String,
    /// What is wrong, with line and column where known.
    pub message: String,
}

/// Parses a YAML store file as `T`, naming the failing field.
pub fn parse_yaml<T: serde::de::DeserializeOwned>(
    file: &str,
    bytes: &[u8],
) -> Result<T, ValidationError> {
    let de = serde_yaml::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let field = e.path().to_string();
        ValidationError {
            file: file.to_string(),
            field,
            message: e.into_inner().to_string(),
        }
    })
}

/// Checks a store file against its schema, chosen by path; files without a schema pass.
pub fn validate(file: &str, bytes: &[u8]) -> Result<(), ValidationError> {
    if file == "ctx.yaml" {
        parse_yaml::<Manifest>(file, bytes).map(|_| ())
    } else if is_doc(file, "machines/") {
        parse_yaml::<MachineRecord>(file, bytes).map(|_| ())
    } else if is_doc(file, "context/") {
        parse_yaml::<ContextDoc>(file, bytes).map(|_| ())
    } else if is_doc(file, "projects/") {
        parse_yaml::<ProjectRecord>(file, bytes).map(|_| ())
    } else {
        Ok(())
    }
}

fn is_doc(file: &str, dir: &str) -> bool {
    file.strip_prefix(dir)
        .is_some_and(|rest| !rest.contains('/') && rest.ends_with(".yaml"))
}
