//! `ctx watch`

use super::{CliError, Ui};
use crate::env::Env;

/// Arguments of `ctx watch`.
#[derive(Debug, clap::Args)]
pub struct WatchArgs {}

/// Runs `ctx watch`.
pub fn run(_args: WatchArgs, _env: &Env, _ui: &Ui) -> Result<i32, CliError> {
    Ok(0)
}
