//! The one place that turns library errors into what the user reads: a cause, the causes under
//! it ("caused by:" lines), a hint, and an exit code.

mod mapping;

/// Exit code: a conflict needs a person.
pub const CONFLICT: i32 = 1;
/// Exit code: the input or the setup needs fixing (the hint says how).
pub const USER: i32 = 2;
/// Exit code: something failed that ctx did not expect (a damaged store, a git failure).
pub const INTERNAL: i32 = 3;
/// Exit code: ctx crashed (a bug); above 128, as git reads a crashed merge driver.
pub const CRASH: i32 = 134;

/// An error as the user sees it.
#[derive(Debug)]
pub struct CliError {
    /// One line of cause.
    pub message: String,
    /// What caused it, outermost first.
    pub causes: Vec<String>,
    /// Lines under the cause (files listed).
    pub details: Vec<String>,
    /// One line of what to do.
    pub hint: Option<String>,
    /// The exit code.
    pub code: i32,
}

impl CliError {
    /// An error with a hint, exit 2.
    pub fn new(message: impl Into<String>, hint: impl Into<String>) -> CliError {
        CliError {
            message: message.into(),
            causes: Vec::new(),
            details: Vec::new(),
            hint: Some(hint.into()),
            code: USER,
        }
    }

    /// An error from a library error: its text, its chain of causes, and `hint`.
    pub fn from_error(e: &dyn std::error::Error, hint: &str) -> CliError {
        let message = e.to_string();
        let mut causes: Vec<String> = Vec::new();
        let mut cur = e.source();
        while let Some(c) = cur {
            let t = c.to_string();
            // A wrapper that repeats its cause's words adds nothing to read twice.
            if !message.ends_with(&t) && !causes.iter().any(|x| x.ends_with(&t)) {
                causes.push(t);
            }
            cur = c.source();
        }
        CliError {
            message,
            causes,
            details: Vec::new(),
            hint: Some(hint.into()),
            code: USER,
        }
    }

    /// The lines `ctx` prints for this error, uncoloured: `error:`, details, `caused by:`,
    /// `hint:` (what an MCP tool's failure reads, so the model sees what a person would).
    pub fn plain(&self) -> String {
        let mut out = format!("error: {}", self.message);
        for line in &self.details {
            out.push_str(&format!("\n  {line}"));
        }
        for cause in &self.causes {
            out.push_str(&format!("\ncaused by: {cause}"));
        }
        if let Some(h) = &self.hint {
            out.push_str(&format!("\nhint: {h}"));
        }
        out
    }

    fn internal(mut self) -> CliError {
        self.code = INTERNAL;
        self
    }
}
