//! The command line: clap definitions, one file per command under `commands/`, one error
//! mapping (`error.rs`), one output channel (`ui.rs`). A command parses, calls the library,
//! prints.

mod commands;
mod error;
mod ui;

use std::path::PathBuf;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

pub use error::CliError;
pub use ui::Ui;

use crate::env::Env;
use crate::workspace::Workspace;
use commands::*;

/// Keep your Claude context (settings, memory, skills, agents, commands, MCP servers) in one git
/// store, with secrets encrypted, and restore any earlier state.
#[derive(Debug, Parser)]
#[command(name = "ctx", version, propagate_version = true)]
pub struct Cli {
    /// Use this store instead of the default (also CTX_STORE).
    #[arg(long, global = true, value_name = "DIR", help_heading = GLOBAL)]
    pub store: Option<PathBuf>,
    /// Print nothing but errors (and the data a command is asked for: `cat`, `config get`).
    #[arg(short, long, global = true, help_heading = GLOBAL)]
    pub quiet: bool,
    /// Print what each step does, on stderr.
    #[arg(short, long, global = true, help_heading = GLOBAL)]
    pub verbose: bool,
    /// When to colour the output (auto: on a terminal, unless NO_COLOR is set or TERM=dumb).
    #[arg(
        long,
        global = true,
        value_name = "WHEN",
        default_value = "auto",
        help_heading = GLOBAL
    )]
    pub color: ui::ColorChoice,
    /// Never send long output (diff, log) through $PAGER.
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub no_pager: bool,
    #[command(subcommand)]
    pub command: Command,
}

/// The heading `--help` lists the options every command takes under.
const GLOBAL: &str = "Global options";

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the store, this machine's key and record (idempotent).
    Init(init::InitArgs),
    /// Show live files vs the store.
    Status(status::StatusArgs),
    /// Show a diff of live files vs the store; secret values are never printed.
    Diff(diff::DiffArgs),
    /// Capture the live files into the store and commit.
    Commit(commit::CommitArgs),
    /// Show the store's history.
    Log(log::LogArgs),
    /// Write the store's state to the live files.
    Apply(apply::ApplyArgs),
    /// Commit, fetch, merge, apply and push: bring this machine and the remote together.
    Sync(sync::SyncArgs),
    /// Settle a file left in conflict by `ctx sync`.
    Resolve(resolve::ResolveArgs),
    /// List machines; approve or revoke their access to the secrets.
    #[command(subcommand)]
    Machine(machine::MachineCommand),
    /// Make a new commit restoring an earlier state, then apply it.
    Rollback(rollback::RollbackArgs),
    /// Show the config that runs code, pulled from other machines and held here; accept or
    /// reject it. Example: `ctx review`, then `ctx review --accept settings.json`
    Review(review::ReviewArgs),
    /// List, set or rotate encrypted values.
    #[command(subcommand)]
    Secret(secret::SecretCommand),
    /// Sync Claude Code sessions (opt-in), list them across machines, resume one here.
    #[command(subcommand)]
    Sessions(sessions::SessionsCommand),
    /// Check identity, store, merge-driver config and hooks; say how to fix each finding.
    Doctor(doctor::DoctorArgs),
    /// Print shell completions.
    Completions(completions::CompletionsArgs),
    /// Merge three versions of a file the way git's merge drivers do (`%O %A %B %P`).
    MergeDriver(merge_driver::MergeDriverArgs),
    /// Install or remove ctx's git hooks in a project, or its Claude Code hooks (--claude).
    #[command(subcommand)]
    Hooks(hooks::HooksCommand),
    /// What installed hooks run; fails open (errors go to the hook log, exit 0).
    #[command(hide = true)]
    Hook(hook::HookArgs),
    /// Watch the live files and commit after a quiet period.
    Watch(watch::WatchArgs),
    /// Start tracking files or folders under the Claude home (recorded in ctx.yaml `include:`).
    Add(add::AddArgs),
    /// Stop tracking files or folders (ctx.yaml `exclude:`); deletes nothing, on any machine.
    Forget(forget::ForgetArgs),
    /// List what ctx tracks here: each store path and its live file.
    Managed(managed::ManagedArgs),
    /// List what under the Claude home ctx does not track, and why.
    Unmanaged(unmanaged::UnmanagedArgs),
    /// Print a stored file as it would be applied on this machine; secrets as `<secret>`.
    Cat(cat::CatArgs),
    /// Open a live file in $EDITOR, check it, and commit it on save.
    Edit(edit::EditArgs),
    /// Read or change ctx.yaml: `ctx config get|set|unset KEY [VALUE]`, or `ctx config edit`.
    #[command(subcommand)]
    Config(config::ConfigCommand),
    /// List the backups `apply --force` made of overwritten live files.
    Backups(backups::BackupsArgs),
    /// Run git in the store: `ctx git log --oneline`.
    Git(git::GitArgs),
    /// Start a shell in the store, or print its path when output is not a terminal.
    Cd(cd::CdArgs),
    /// Serve the store to Claude over MCP (stdio); `install` registers it with Claude Code.
    Mcp(mcp::McpArgs),
    /// Serve this machine's store as an HTTP/JSON API with a bearer token (for n8n and
    /// scripts). Example: `ctx serve --token new`, then `ctx serve`
    Serve(serve::ServeArgs),
    /// Webhooks ctx POSTs signed events to after syncs, conflicts, reviews and machine changes.
    #[command(subcommand)]
    Notify(notify::NotifyCommand),
}

/// Runs ctx with the process's arguments and returns the exit code. A panic is a bug: it is
/// reported as one, with an exit code above 128.
pub fn main() -> i32 {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let parsed = parser(&args)
        .try_get_matches_from(&args)
        .and_then(|m| Cli::from_arg_matches(&m).map(|c| (c, wants_json(&m))));
    let (cli, json) = match parsed {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return e.exit_code();
        }
    };
    let ui = Ui::new(ui::Mode {
        color: cli.color,
        quiet: cli.quiet,
        verbose: cli.verbose,
        json,
    });
    let env = Env::from_process(cli.store.clone());
    let no_pager = cli.no_pager;
    ui.verbose(&format!(
        "store {}; ctx's config {}; Claude home {}",
        env.display(&env.store_dir),
        env.display(&env.config_dir),
        env.display(&env.claude_dir)
    ));
    std::panic::set_hook(Box::new(|info| {
        eprintln!("error: ctx crashed: {info}");
        eprintln!("hint: this is a bug in ctx; please report it with the command you ran (nothing more was written)");
    }));
    let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run(cli.command, &env, &ui, no_pager)
    }));
    ui.finish();
    match ran {
        Ok(Ok(code)) => code,
        Ok(Err(e)) => {
            ui.error(&e);
            e.code
        }
        Err(_) => error::CRASH,
    }
}

/// The parser for these arguments: when they name a command, a tree holding only that one.
/// clap copies every global option into every command before it parses, and building and
/// copying the whole tree is most of what a hook's or a no-op `status`'s start-up allocates
/// (430 KB, each fresh page a fault). Help, completions and an unknown or missing command get
/// the whole tree, so usage, suggestions and `ctx --help` are unchanged.
fn parser(args: &[std::ffi::OsString]) -> clap::Command {
    let full = Cli::command();
    let Some(name) = command_name(args) else {
        return full;
    };
    let Some(sub) = full
        .get_subcommands()
        .find(|c| c.get_name() == name)
        .cloned()
    else {
        return full;
    };
    let mut one = clap::Command::new("ctx")
        .version(env!("CARGO_PKG_VERSION"))
        .propagate_version(true)
        .subcommand_required(true)
        .arg_required_else_help(true);
    for a in full.get_arguments() {
        one = one.arg(a.clone());
    }
    one.subcommand(sub)
}

/// The command the arguments name: the first that is not a global option or its value.
fn command_name(args: &[std::ffi::OsString]) -> Option<&str> {
    let mut rest = args.iter().skip(1);
    while let Some(a) = rest.next() {
        let a = a.to_str()?;
        match a {
            "--store" | "--color" => {
                rest.next();
            }
            "-h" | "--help" | "-V" | "--version" | "help" | "--" => return None,
            _ if a.starts_with('-') => {}
            _ => return Some(a),
        }
    }
    None
}

/// Whether the command that runs (the innermost subcommand) was given `--json`.
fn wants_json(m: &clap::ArgMatches) -> bool {
    match m.subcommand() {
        Some((_, sub)) => wants_json(sub),
        None => matches!(m.try_get_one::<bool>("json"), Ok(Some(true))),
    }
}

fn run(command: Command, env: &Env, ui: &Ui, no_pager: bool) -> Result<i32, CliError> {
    // Commands that run for hours must reuse what they free.
    if matches!(
        command,
        Command::Watch(_) | Command::Mcp(_) | Command::Serve(_)
    ) {
        crate::arena::stop();
    }
    match command {
        Command::Init(a) => init::run(a, env, ui),
        Command::Status(a) => status::run(a, env, ui),
        Command::Diff(a) => diff::run(a, env, ui, no_pager),
        Command::Commit(a) => commit::run(a, env, ui),
        Command::Log(a) => log::run(a, env, ui, no_pager),
        Command::Apply(a) => apply::run(a, env, ui),
        Command::Rollback(a) => rollback::run(a, env, ui),
        Command::Review(a) => review::run(a, env, ui),
        Command::Sync(a) => sync::run(a, env, ui),
        Command::Resolve(a) => resolve::run(a, env, ui),
        Command::Machine(c) => machine::run(c, env, ui),
        Command::Secret(c) => secret::run(c, env, ui),
        Command::Sessions(c) => sessions::run(c, env, ui),
        Command::Doctor(a) => doctor::run(a, env, ui),
        Command::Completions(a) => completions::run(a),
        Command::MergeDriver(a) => merge_driver::run(a, env, ui),
        Command::Hooks(c) => hooks::run(c, env, ui),
        Command::Hook(a) => hook::run(a, env, ui),
        Command::Watch(a) => watch::run(a, env, ui),
        Command::Add(a) => add::run(a, env, ui),
        Command::Forget(a) => forget::run(a, env, ui),
        Command::Managed(a) => managed::run(a, env, ui),
        Command::Unmanaged(a) => unmanaged::run(a, env, ui),
        Command::Cat(a) => cat::run(a, env, ui),
        Command::Edit(a) => edit::run(a, env, ui),
        Command::Config(c) => config::run(c, env, ui),
        Command::Backups(a) => backups::run(a, env, ui),
        Command::Git(a) => git::run(a, env, ui),
        Command::Cd(a) => cd::run(a, env, ui),
        Command::Mcp(a) => mcp::run(a, env, ui),
        Command::Serve(a) => serve::run(a, env, ui),
        Command::Notify(c) => notify::run(c, env, ui),
    }
}

/// Takes the store's lock for a command that writes the store or the live files.
/// No store yet: no lock, and the command's own open reports the missing store.
pub(crate) fn lock(env: &Env, what: &str) -> Result<Option<crate::lock::Lock>, CliError> {
    if !env.store_dir.join("HEAD").exists() {
        return Ok(None);
    }
    Ok(Some(crate::lock::Lock::acquire(
        &env.state_dir(),
        what,
        crate::lock::default_wait(),
    )?))
}

/// A workspace opened for a command, holding the store's lock while it lives when the command
/// writes (`lock` names the command for whoever waits on it).
pub(crate) struct Opened {
    /// The workspace.
    pub ws: Workspace,
    _lock: Option<crate::lock::Lock>,
}

/// Opens the workspace for a command, under the store's lock if `lock` names the command.
pub(crate) fn open(env: &Env, lock: Option<&str>) -> Result<Opened, CliError> {
    let _lock = match lock {
        Some(what) => self::lock(env, what)?,
        None => None,
    };
    Ok(Opened {
        ws: Workspace::open(env.clone())?,
        _lock,
    })
}
