//! `ctx mcp`: the store as an MCP server Claude can call (tools, and the store's files as
//! read-only, redacted resources), and `ctx mcp install`, which registers that server with
//! Claude Code and writes the context-sync skill.
//!
//! Each tool is one synchronous library call in [`tools`] (the same calls, and JSON shapes,
//! as the CLI's `--json` output); [`server`] only wires them to the SDK. A tool that writes
//! takes the store's lock for that call alone, as the CLI's commands do. No tool returns a
//! decrypted secret or takes one as an argument.

/// Errors of the tools, explained for the model by the CLI's mapping.
pub mod error;
/// The tools' work: one function each, arguments in, JSON out.
pub mod tools;
/// This project's memory: its `CLAUDE.local.md`, read and appended to.
pub mod memory;
/// The store's files as MCP resources, redacted.
pub mod resources;
/// The MCP server (rmcp) over stdio.
pub mod server;
/// `ctx mcp install` / `uninstall`: the `mcpServers.ctx` entry and the context-sync skill.
pub mod install;

pub use error::ToolError;
