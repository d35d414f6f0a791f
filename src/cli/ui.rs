//! All output goes through `Ui`: colour only on a terminal, quiet mode, JSON documents.

use std::io::{IsTerminal, Write};

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
    /// A Ui for this process.
    pub fn new(color: ColorChoice, quiet: bool, verbose: bool) -> Ui {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let (out, err) = match color {
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
            quiet,
            verbose,
        }
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

    /// An error and its hint on stderr.
    pub fn error(&self, e: &CliError) {
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
