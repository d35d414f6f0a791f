//! ctx: your Claude context in one git store.
pub mod cli;
