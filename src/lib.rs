//! ctx: your Claude context in one git store, synced and merged per field between machines.
//!
//! Modules in dependency order, each depending only on those above it:
//! where things are, the formats and codecs, the store and its commits, this machine's view of
//! it, the two directions (capture live -> store, apply store -> live), sync, the commands'
//! library parts, and last the command line.

/// Store -> live: plan, execute on a real or dry-run system.
pub mod apply;
/// Live -> store: scan, snapshot, status, record a commit.
pub mod capture;
/// The command line: parse, call the library, print.
pub mod cli;
/// The current time: the system's, or the one `CTX_TIMESTAMP` pins.
pub mod clock;
/// Live form <-> store form: validate, map paths, seal and open secrets.
pub mod codec;
/// `ctx commit` as every caller runs it: record, then apply what was merged.
pub mod commit;
/// A file in conflict, and the open live conflicts.
pub mod conflict;
/// age encryption of single values, the secret rules and the token detector.
pub mod crypt;
/// `ctx diff`'s redacted file pairs.
pub mod diff;
/// `ctx doctor`'s checks.
pub mod doctor;
/// Every location ctx reads or writes, resolved once from the environment.
pub mod env;
/// The error of the workspace operations.
pub mod error;
/// What the installed hooks do on each event.
pub mod events;
/// File formats by kind: parse, render, splice, with file:line:col errors.
pub mod format;
/// Atomic writes with permissions kept.
pub mod fsx;
/// Installing git hooks and Claude Code hooks.
pub mod hooks;
/// The store's generated README.md.
pub mod inventory;
/// This machine's key, the recipients and rules; the key check; resealing.
pub mod keyring;
/// The store-path vocabulary and the store <-> live mapping.
pub mod layout;
/// The store lock shared by every ctx process.
pub mod lock;
/// Joined machines and who can read the secrets.
pub mod machines;
/// The semantic three-way merge engine (JSON, YAML, TOML, Markdown, JSONL, text).
pub mod merge;
/// The store's documents (ctx.yaml, machines, projects, context) and their schemas.
pub mod model;
/// `ctx status`'s whole report.
pub mod overview;
/// Home paths as `${CTX_HOME}` in the store, restored per machine.
pub mod pathmap;
/// Projects and their personal files.
pub mod project;
/// The one redaction policy for reports, messages and diffs.
pub mod redact;
/// The git CLI transport: fetch and push.
pub mod remote;
/// The store at `main` and the transaction that is the only way `main` moves.
pub mod repo;
/// `ctx rollback`.
pub mod rollback;
/// `ctx secret`.
pub mod secrets;
/// `ctx init`.
pub mod setup;
/// This machine's bookkeeping: the applied record, its journal, the caches.
pub mod state;
/// The git object layer: trees, commits, refs, history (gix).
pub mod store;
/// Field-level summaries for status and commit messages.
pub mod summary;
/// `ctx sync`: decide, merge trees, conflicts and resolve, the remote.
pub mod sync;
/// `ctx watch`.
pub mod watch;
/// This machine with its store open: env + repo + keyring + state.
pub mod workspace;
