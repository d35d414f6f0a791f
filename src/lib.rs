//! ctx: your Claude context in one git store, synced and merged per field between machines.
//!
//! Modules in dependency order: where things are, the formats, the store, encryption, capture
//! (live -> store), the session operations (status, commit, apply, rollback), then the CLI.
pub mod capture;
pub mod cli;
pub mod crypt;
pub mod env;
pub mod format;
pub mod fsx;
pub mod hooks;
pub mod inventory;
pub mod lock;
pub mod machines;
pub mod merge;
pub mod model;
pub mod pathmap;
pub mod project;
pub mod remote;
pub mod session;
pub mod setup;
pub mod state;
pub mod store;
pub mod summary;
pub mod sync;
pub mod watch;
