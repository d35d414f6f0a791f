//! All output goes through `Ui`: colour only on a terminal, quiet mode, JSON documents, and
//! the pager long output goes through on a terminal.

use std::cell::RefCell;
use std::io::{IsTerminal, Write};
use std::process::{Child, Command, Stdio};

use super::CliError;

/// `--color`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ColorChoice {
    /// Colour when writing to a terminal.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// The output channel.
pub struct Ui {
    color_out: bool,
    color_err: bool,
    quiet: bool,
    verbose: bool,
    json: bool,
    pager: RefCell<Option<Child>>,
}

/// How a command asked for its output: the global flags and `--json`.
#[derive(Debug, Clone, Copy)]
pub struct Mode {
    /// `--color`.
    pub color: ColorChoice,
    /// `-q`.
    pub quiet: bool,
    /// `-v`.
    pub verbose: bool,
    /// The command's `--json`: errors go to stderr as JSON too.
    pub json: bool,
}

/// Colours ctx uses.
#[derive(Debug, Clone, Copy)]
pub enum Style {
    /// Additions.
    Green,
    /// Removals, errors.
    Red,
    /// Headers, hints.
    Yellow,
    /// Hunk headers.
    Cyan,
    /// Emphasis.
    Bold,
    /// Less important.
    Dim,
}

impl Ui {
    /// A Ui for this process. `NO_COLOR` and `TERM=dumb` turn colour off unless `--color
    /// always` asks for it.
    pub fn new(mode: Mode) -> Ui {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
            || std::env::var_os("TERM").is_some_and(|t| t == "dumb");
        let (out, err) = match mode.color {
            ColorChoice::Always => (true, true),
            ColorChoice::Never => (false, false),
            ColorChoice::Auto => (
                !no_color && std::io::stdout().is_terminal(),
                !no_color && std::io::stderr().is_terminal(),
            ),
        };
        Ui {
            color_out: out,
            color_err: err,
            quiet: mode.quiet,
            verbose: mode.verbose,
            json: mode.json,
            pager: RefCell::new(None),
        }
    }

    /// Sends the rest of stdout through `$PAGER` (default `less -FRX`) when stdout is a
    /// terminal; never for JSON, `--quiet`, `--no-pager` or `PAGER=` / `PAGER=cat`.
    pub fn page(&self, no_pager: bool) {
        if no_pager || self.json || self.quiet || !std::io::stdout().is_terminal() {
            return;
        }
        let pager = std::env::var("CTX_PAGER")
            .or_else(|_| std::env::var("PAGER"))
            .unwrap_or_else(|_| "less -FRX".into());
        let pager = pager.trim();
        if pager.is_empty() || pager == "cat" {
            return;
        }
        let child = Command::new("sh")
            .arg("-c")
            .arg(pager)
            .env(
                "LESS",
                std::env::var("LESS").unwrap_or_else(|_| "FRX".into()),
            )
            .stdin(Stdio::piped())
            .spawn();
        // A pager that does not start is no reason to fail: the output goes to the terminal.
        if let Ok(c) = child {
            *self.pager.borrow_mut() = Some(c);
        }
    }

    /// Waits for the pager, if one runs, so the shell prompt comes back after it.
    pub fn finish(&self) {
        if let Some(mut c) = self.pager.borrow_mut().take() {
            drop(c.stdin.take());
            let _ = c.wait();
        }
    }

    /// Whether the command was asked for JSON.
    pub fn json_mode(&self) -> bool {
        self.json
    }

    /// Whether `-v` was given.
    pub fn is_verbose(&self) -> bool {
        self.verbose
    }

    /// Whether `-q` was given.
    pub fn is_quiet(&self) -> bool {
        self.quiet
    }

    /// Wraps `text` in `style` if stdout is coloured.
    pub fn paint(&self, style: Style, text: &str) -> String {
        paint(self.color_out, style, text)
    }

    /// A line on stdout (suppressed by `--quiet`). A closed pipe ends the process quietly.
    pub fn line(&self, text: &str) {
        if !self.quiet {
            self.raw(&format!("{text}\n"));
        }
    }

    /// A line on stdout that `--quiet` does not silence: what needs a person (a conflict).
    pub fn important(&self, text: &str) {
        self.raw(&format!("{text}\n"));
    }

    /// Text on stdout as is, even in quiet mode (the data a command was asked for).
    pub fn raw(&self, text: &str) {
        if let Some(stdin) = self
            .pager
            .borrow_mut()
            .as_mut()
            .and_then(|c| c.stdin.as_mut())
        {
            // The person quit the pager: stop quietly, as git does.
            if stdin.write_all(text.as_bytes()).is_err() {
                std::process::exit(0);
            }
            return;
        }
        let mut out = std::io::stdout().lock();
        if out
            .write_all(text.as_bytes())
            .and_then(|_| out.flush())
            .is_err()
        {
            std::process::exit(0);
        }
    }

    /// One JSON document on stdout.
    pub fn json<T: serde::Serialize>(&self, value: &T) {
        let text = serde_json::to_string_pretty(value).unwrap_or_else(|_| "null".into());
        self.raw(&format!("{text}\n"));
    }

    /// A note on stderr, shown with `--verbose`.
    pub fn verbose(&self, text: &str) {
        if self.verbose {
            eprintln!("{text}");
        }
    }

    /// A warning on stderr.
    pub fn warn(&self, text: &str) {
        if !self.quiet {
            eprintln!(
                "{} {text}",
                paint(self.color_err, Style::Yellow, "warning:")
            );
        }
    }

    /// A warning and what to do about it, on stderr.
    pub fn warn_hint(&self, text: &str, hint: &str) {
        if !self.quiet {
            self.warn(text);
            eprintln!("{} {hint}", paint(self.color_err, Style::Yellow, "hint:"));
        }
    }

    /// An error and its hint on stderr; one JSON document under `--json`.
    pub fn error(&self, e: &CliError) {
        if self.json {
            let doc = serde_json::json!({ "error": {
                "message": e.message,
                "details": e.details,
                "causes": e.causes,
                "hint": e.hint,
                "code": e.code,
            }});
            eprintln!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
            return;
        }
        eprintln!(
            "{} {}",
            paint(self.color_err, Style::Red, "error:"),
            e.message
        );
        for line in &e.details {
            eprintln!("  {line}");
        }
        for cause in &e.causes {
            eprintln!(
                "{} {cause}",
                paint(self.color_err, Style::Dim, "caused by:")
            );
        }
        if let Some(h) = &e.hint {
            eprintln!("{} {h}", paint(self.color_err, Style::Yellow, "hint:"));
        }
    }

    /// Whether stdout is coloured (the diff renderer asks).
    pub fn colored(&self) -> bool {
        self.color_out
    }

    /// Whether a progress line may be drawn: stderr is a terminal and `-q` was not given.
    /// Asks a yes/no question on the terminal; `None` when there is none to ask on.
    pub fn ask(&self, question: &str) -> Option<bool> {
        use std::io::{BufRead, Write};
        if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
            return None;
        }
        eprint!("{question} [y/N] ");
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer).ok()?;
        Some(matches!(answer.trim(), "y" | "Y" | "yes"))
    }

    /// Goes ahead with a destructive step: `--yes`, or a yes on the terminal; off a terminal
    /// without `--yes` it is refused, with nothing changed.
    pub fn confirm(&self, what: &str, yes: bool) -> Result<(), CliError> {
        if yes {
            return Ok(());
        }
        match self.ask(&format!("{what}. Go ahead?")) {
            Some(true) => Ok(()),
            Some(false) => Err(CliError::new(
                "stopped: not confirmed; nothing was changed",
                "run it again and answer y, or pass --yes",
            )),
            None => Err(CliError::new(
                format!("{what}: this needs a confirmation, and there is no terminal to ask on; nothing was changed"),
                "pass --yes to go ahead without asking",
            )),
        }
    }

    /// Whether progress lines may be drawn (stderr is a terminal and not `--quiet`).
    pub fn progress_allowed(&self) -> bool {
        !self.quiet && std::io::stderr().is_terminal()
    }
}

fn paint(on: bool, style: Style, text: &str) -> String {
    if !on {
        return text.to_string();
    }
    let code = match style {
        Style::Green => "32",
        Style::Red => "31",
        Style::Yellow => "33",
        Style::Cyan => "36",
        Style::Bold => "1",
        Style::Dim => "2",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}
