//! ctx: your Claude context in one git store, synced and merged per field between machines.
//!
//! Modules in dependency order, each depending only on those above it: where things are, the
//! formats and codecs, the store and its commits, this machine's view of it, the two
//! directions (capture live -> store, apply store -> live), commit and sync, the commands'
//! library parts, and last the command line. (`rustfmt.toml` keeps this order.)

/// The binary's allocator: a bounded bump arena in front of the system allocator.
pub mod arena;
/// Atomic writes with permissions kept.
pub mod fsx;
/// The time ctx stamps on commits and records (`CTX_TIMESTAMP` pins it, for tests).
pub mod clock;
/// Claude Code's per-project folder names (`enc(path)`) and this machine's project roots.
pub mod projdir;
/// Default locations on Linux, macOS and Windows, as pure functions.
pub mod platform;
/// Every location ctx reads or writes, resolved once from the environment.
pub mod env;
/// The store-path vocabulary and the store <-> live mapping.
pub mod layout;
/// File formats by kind: parse, render, splice, with file:line:col errors.
pub mod format;
/// Home paths as `${CTX_HOME}` in the store, restored per machine.
pub mod pathmap;
/// The store's documents (ctx.yaml, machines, projects, context) and their schemas.
pub mod model;
/// Field-level summaries for status and commit messages.
pub mod summary;
/// The store's generated README.md.
pub mod inventory;
/// age encryption of single values, the secret rules and the token detector.
pub mod crypt;
/// This machine's SSH signing key and commit signatures in git's format.
pub mod signing;
/// The one redaction policy for reports, messages and diffs.
pub mod redact;
/// The semantic three-way merge engine (JSON, YAML, TOML, Markdown, JSONL, text).
pub mod merge;
/// Project records combined field by field when two machines changed one.
pub mod record_merge;
/// The git object layer: trees, commits, refs, history (gix).
pub mod store;
/// The git CLI transport: fetch and push.
pub mod remote;
/// The store lock shared by every ctx process.
pub mod lock;
/// This machine's bookkeeping: the applied record, its journal, the caches.
pub mod state;
/// What changed since the caches were written, as a running `ctx watch` saw it (fsmonitor).
pub mod fsmonitor;
/// Live form <-> store form: validate, map paths, seal and open secrets.
pub mod codec;
/// A file in conflict, and the open live conflicts.
pub mod conflict;
/// The machines this machine trusts, pinned locally.
pub mod trust;
/// The error of the workspace operations.
pub mod error;
/// The store at `main` and the transaction that is the only way `main` moves.
pub mod repo;
/// This machine's key, the recipients and rules; the key check; resealing.
pub mod keyring;
/// This machine with its store open: env + repo + keyring + state.
pub mod workspace;
/// Outgoing webhooks (ctx.yaml `notify:`): signed events after syncs, reviews, machine changes.
pub mod notify;
/// The per-machine layer: machine-local fields, and what one machine leaves out.
pub mod local;
/// Claude Code session transcripts: sealed chunks, their union, capture and apply.
pub mod sessions;
/// Live -> store: scan, snapshot, status, record a commit.
pub mod capture;
/// Store -> live: plan, execute on a real or dry-run system.
pub mod apply;
/// The review gate for executable config pulled from other machines.
pub mod review;
/// Projects and their personal files.
pub mod project;
/// `ctx commit` as every caller runs it: catch up deferred hooks, record, apply what merged.
pub mod commit;
/// `ctx sync`: decide, merge trees, conflicts and resolve, the remote.
pub mod sync;
/// Joined machines and who can read the secrets.
pub mod machines;
/// `ctx init`.
pub mod setup;
/// `ctx status`'s whole report.
pub mod overview;
/// `ctx diff`'s redacted file pairs.
pub mod diff;
/// `ctx rollback`.
pub mod rollback;
/// `ctx secret`.
pub mod secrets;
/// Installing git hooks and Claude Code hooks.
pub mod hooks;
/// What a post-commit hook last found, so an unchanged project costs a few stats.
pub mod hook_stamp;
/// What the installed hooks do on each event.
pub mod events;
/// `ctx watch`.
pub mod watch;
/// Plugins: what settings.json enables, against what this machine has installed.
pub mod plugins;
/// Whether the programs the live config runs are installed on this machine.
pub mod tools;
/// `ctx doctor`'s checks.
pub mod doctor;
/// `ctx git` and `ctx cd`: git and a shell in the store.
pub mod store_shell;
/// Edits of ctx.yaml (`ctx config`, `ctx add`, `ctx forget`), committed with field-level messages.
pub mod manifest_edit;
/// `ctx cat`: a stored file as it would be applied on this machine.
pub mod stored;
/// `ctx managed` and `ctx unmanaged`: what ctx tracks here and what it leaves alone.
pub mod managed;
/// `ctx edit`: a live file opened in the editor, checked, committed.
pub mod edit;
/// `ctx backups`: the backups `apply --force` made.
pub mod backups;
/// `ctx mcp`: the MCP server over the store, and its install with the context-sync skill.
pub mod mcp;
/// `ctx serve`: the store as an HTTP/JSON API for workflows (n8n), behind a bearer token.
pub mod serve;
/// The command line: parse, call the library, print.
pub mod cli;
