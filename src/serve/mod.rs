//! `ctx serve`: this machine's store as an HTTP/JSON API, for workflows (n8n) on an always-on
//! machine. Plain HTTP on loopback by default; TLS, if the API leaves the machine, is a reverse
//! proxy's job. Every request needs the bearer token; each is logged (time, method, path,
//! status, never a body). The handlers call the same library functions as the CLI and the MCP
//! tools; a request that writes takes the store's lock for its whole read-modify-write, waiting
//! a bounded time for it (503 with `Retry-After` past that).

/// Errors and their HTTP status.
pub mod error;
/// The bearer token.
pub mod token;
/// Requests in, responses out: the parsed request and the JSON reply.
pub mod http;
/// The endpoints.
pub mod routes;
/// `/v1/files/…`: store files read redacted; context documents written.
pub mod files;

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub use error::{ApiError, Explain, Explained, Failure};

use crate::env::Env;

/// The address `ctx serve` listens on without `--listen`.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8377";
/// Requests handled at once (the rest wait in the listen queue).
pub const WORKERS: usize = 4;
/// The OpenAPI document of the API, kept beside the code and tested against its routes.
pub const OPENAPI: &str = include_str!("openapi.json");

/// How the server runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where to listen.
    pub listen: SocketAddr,
    /// How long a writing request waits for the store's lock.
    pub lock_wait: Duration,
}

/// Errors starting the server.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// No token made yet.
    #[error("no API token yet ({})", path.display())]
    NoToken {
        /// Where it would be.
        path: std::path::PathBuf,
    },
    /// The token file cannot be read.
    #[error("cannot read the API token {}: {source}", path.display())]
    Token {
        /// The token file.
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The address cannot be bound.
    #[error("cannot listen on {addr}: {reason}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        reason: String,
    },
}

/// What every worker shares.
pub struct Shared {
    /// Where things are.
    pub env: Env,
    /// How errors read.
    pub explain: Explain,
    /// The options.
    pub opts: Options,
}

/// Binds, calls `ready` with the address bound (port 0 picks one), then serves until the
/// process is stopped.
pub fn serve(
    env: Env,
    opts: Options,
    explain: Explain,
    ready: impl FnOnce(SocketAddr),
) -> Result<(), ServeError> {
    // Checked here so a server without a token never starts; each request reads it again, so
    // `ctx serve --token new` takes effect at once.
    let path = token::path(&env);
    match token::load(&env) {
        Ok(Some(_)) => {}
        Ok(None) => return Err(ServeError::NoToken { path }),
        Err(source) => return Err(ServeError::Token { path, source }),
    }
    let server = tiny_http::Server::http(opts.listen).map_err(|e| ServeError::Bind {
        addr: opts.listen,
        reason: e.to_string(),
    })?;
    let bound = server.server_addr().to_ip().unwrap_or(opts.listen);
    ready(bound);
    let server = Arc::new(server);
    let shared = Arc::new(Shared { env, explain, opts });
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let (server, shared) = (Arc::clone(&server), Arc::clone(&shared));
            std::thread::spawn(move || {
                while let Ok(req) = server.recv() {
                    handle(&shared, req);
                }
            })
        })
        .collect();
    for w in workers {
        let _ = w.join();
    }
    Ok(())
}

/// Whether the request carries the token as it is now (none, or unreadable: nobody is).
fn authorized(shared: &Shared, r: &http::Request) -> bool {
    match token::load(&shared.env) {
        Ok(Some(t)) => token::matches(r.header("authorization"), &t),
        _ => false,
    }
}

/// One request: authenticate, route, answer, log.
fn handle(shared: &Shared, mut req: tiny_http::Request) {
    let method = req.method().to_string();
    let url = req.url().to_string();
    let path = url.split('?').next().unwrap_or("").to_string();
    let reply = match http::Request::read(&mut req) {
        Err(e) => http::Reply::error(e, shared.explain),
        Ok(r) if !authorized(shared, &r) => http::Reply::error(
            ApiError::http(
                401,
                "missing or wrong bearer token",
                "send `Authorization: Bearer TOKEN` with the token `ctx serve --token new` printed",
            ),
            shared.explain,
        ),
        Ok(r) => {
            // A panic in a handler is a bug in ctx: the client gets a 500, the server goes on.
            let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                routes::route(shared, &r)
            }));
            match out {
                Ok(Ok(reply)) => reply,
                Ok(Err(e)) => http::Reply::error(e, shared.explain),
                Err(_) => http::Reply::error(
                    ApiError::Failed(Failure::Tool(crate::mcp::ToolError::Crashed(
                        "a request handler panicked".into(),
                    ))),
                    shared.explain,
                ),
            }
        }
    };
    let status = reply.status;
    let _ = req.respond(reply.into_response());
    let mut err = std::io::stderr().lock();
    let _ = writeln!(
        err,
        "{} {method} {path} {status}",
        crate::setup::now_rfc3339()
    );
}
