//! `ctx serve`

use std::net::SocketAddr;
use std::time::Duration;

use crate::cli::{CliError, Ui};
use crate::env::Env;
use crate::serve::{Explained, Failure, Options};

/// Arguments of `ctx serve`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  ctx serve --token new      # make the bearer token (prints it once)\n  ctx serve                  # serve on http://127.0.0.1:8377\n  curl -H \"Authorization: Bearer $TOKEN\" http://127.0.0.1:8377/v1/status"
)]
pub struct ServeArgs {
    /// Where to listen (port 0 picks a free one, printed on the first line).
    #[arg(long, value_name = "ADDR:PORT", default_value = crate::serve::DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// Allow an address other than loopback. The API speaks plain HTTP: put a reverse proxy
    /// with TLS in front of it.
    #[arg(long)]
    pub public: bool,
    /// `new`: make a new bearer token (replacing the old one), print it and exit.
    #[arg(long, value_name = "new", value_parser = ["new"])]
    pub token: Option<String>,
    /// Seconds a writing request waits for the store's lock before answering 503.
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    pub lock_wait: f64,
    /// With `--token new`: print it as JSON.
    #[arg(long, requires = "token")]
    pub json: bool,
}

/// Runs `ctx serve`.
pub fn run(args: ServeArgs, env: &Env, ui: &Ui) -> Result<i32, CliError> {
    if args.token.is_some() {
        let token = crate::serve::token::create(env).map_err(|e| {
            CliError::new(
                format!("cannot write the API token: {e}"),
                "check that ctx's config folder is writable",
            )
        })?;
        let path = env.display(&crate::serve::token::path(env));
        if args.json {
            ui.json(&serde_json::json!({ "token": token, "path": path }));
        } else {
            ui.line(&token);
            ui.warn(&format!("this is the API token (kept in {path}, 0600); clients send it as `Authorization: Bearer TOKEN`. Any old token no longer works."));
        }
        return Ok(0);
    }
    if !args.listen.ip().is_loopback() && !args.public {
        return Err(CliError::new(
            format!("{} is not a loopback address", args.listen),
            "add --public to serve beyond this machine, behind a reverse proxy that does TLS",
        ));
    }
    if !args.listen.ip().is_loopback() {
        ui.warn(&format!("serving plain HTTP on {}: anyone who can reach it and sniff the token can change your context; put a TLS reverse proxy in front", args.listen));
    }
    if !args.lock_wait.is_finite() || args.lock_wait < 0.0 {
        return Err(CliError::new(
            "--lock-wait takes seconds (0 or more)",
            "e.g. --lock-wait 10",
        ));
    }
    let opts = Options {
        listen: args.listen,
        lock_wait: Duration::from_secs_f64(args.lock_wait),
    };
    crate::serve::serve(env.clone(), opts, explain, |addr| {
        // The one line on stdout: scripts (and tests) read the port from it.
        println!("listening on http://{addr}");
    })?;
    Ok(0)
}

/// A library failure in the words the CLI prints.
fn explain(f: Failure) -> Explained {
    let e = match f {
        Failure::Tool(t) => CliError::from(t),
        Failure::Review(r) => CliError::from(r),
        Failure::Machines(m) => CliError::from(m),
    };
    let mut message = e.message.clone();
    for c in &e.causes {
        message.push_str(": ");
        message.push_str(c);
    }
    Explained {
        message,
        hint: e.hint.clone(),
        code: e.code,
    }
}
