//! One file per command; `machine`, `secret`, `sessions`, `hooks` and `mcp` are groups of
//! subcommands.

pub mod apply;
pub mod backups;
pub mod cat;
pub mod cd;
pub mod add;
pub mod commit;
pub mod completions;
pub mod config;
pub mod diff;
pub mod doctor;
pub mod edit;
pub mod forget;
pub mod git;
pub mod hook;
pub mod hooks;
pub mod init;
pub mod log;
pub mod machine;
pub mod managed;
pub mod mcp;
pub mod merge_driver;
pub mod notify;
pub mod resolve;
pub mod review;
pub mod rollback;
pub mod secret;
pub mod serve;
pub mod sessions;
pub mod status;
pub mod sync;
pub mod unmanaged;
pub mod watch;
