//! One webhook POST. `http://` goes over a plain TCP connection written here (a request line,
//! a few headers, the body; only the status line is read back). `https://` goes through the
//! `curl` program, as the network already goes through `git`: a TLS stack in ctx would cost
//! more build time than the rest of the HTTP code. The URL (which may hold a token) is handed
//! to curl on its stdin, never on its command line where `ps` would show it.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use hmac::{Hmac, Mac};

/// How long one delivery may take, connecting included.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// Where a URL points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `http` or `https`.
    pub scheme: String,
    /// The host.
    pub host: String,
    /// The port (the scheme's default when the URL has none).
    pub port: u16,
    /// The path and query, `/` at least.
    pub path: String,
}

impl Target {
    /// Parses an `http://` or `https://` URL; `None` for anything else.
    pub fn parse(url: &str) -> Option<Target> {
        let (scheme, rest) = url.split_once("://")?;
        let default = match scheme {
            "http" => 80,
            "https" => 443,
            _ => return None,
        };
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        // Credentials in the authority are not supported: they would be sent nowhere.
        if authority.contains('@') || authority.is_empty() {
            return None;
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => {
                (h, p.parse::<u16>().ok()?)
            }
            _ => (authority, default),
        };
        if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return None;
        }
        let path = match path.starts_with('?') {
            true => format!("/{path}"),
            false => path.to_string(),
        };
        if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return None;
        }
        Some(Target {
            scheme: scheme.into(),
            host: host.into(),
            port,
            path,
        })
    }
}

/// `sha256=<hex>`: the HMAC-SHA256 of `body` under `key`, as [`super::SIGNATURE_HEADER`] holds it.
pub fn signature(key: &str, body: &[u8]) -> String {
    let mut mac = match Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()) {
        Ok(m) => m,
        // HMAC takes a key of any length; this arm cannot run.
        Err(_) => return String::new(),
    };
    mac.update(body);
    format!("sha256={}", hex(&mac.finalize().into_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `n` random bytes from the OS, as hex.
pub fn random_hex(n: usize) -> String {
    use ssh_key::rand_core::{OsRng, RngCore};
    let mut b = vec![0u8; n];
    OsRng.fill_bytes(&mut b);
    hex(&b)
}

/// Why a delivery failed.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// Not a URL ctx can POST to.
    #[error("not an http:// or https:// URL")]
    BadUrl,
    /// Connecting, sending or reading failed (or timed out).
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The receiver answered, but not with 2xx.
    #[error("the receiver answered {0}")]
    Status(u16),
    /// `curl` (for https) is missing or failed.
    #[error("curl: {0}")]
    Curl(String),
}

/// POSTs `body` (JSON) to `url`, signed with `key`; Ok when the receiver answered 2xx.
pub fn post(url: &str, key: &str, event: &str, body: &[u8]) -> Result<u16, DeliveryError> {
    let t = Target::parse(url).ok_or(DeliveryError::BadUrl)?;
    let headers = [
        ("Content-Type", "application/json".to_string()),
        ("User-Agent", format!("ctx/{}", env!("CARGO_PKG_VERSION"))),
        (super::EVENT_HEADER, event.to_string()),
        (super::SIGNATURE_HEADER, signature(key, body)),
    ];
    let status = match t.scheme.as_str() {
        "https" => via_curl(url, &headers, body)?,
        _ => plain(&t, &headers, body)?,
    };
    match status {
        200..=299 => Ok(status),
        s => Err(DeliveryError::Status(s)),
    }
}

fn plain(t: &Target, headers: &[(&str, String)], body: &[u8]) -> Result<u16, DeliveryError> {
    let addr = (t.host.trim_matches(['[', ']']), t.port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| std::io::Error::other(format!("{} has no address", t.host)))?;
    let mut s = TcpStream::connect_timeout(&addr, TIMEOUT)?;
    s.set_read_timeout(Some(TIMEOUT))?;
    s.set_write_timeout(Some(TIMEOUT))?;
    let host = match t.port {
        80 => t.host.clone(),
        p => format!("{}:{p}", t.host),
    };
    let mut req = format!(
        "POST {} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\nConnection: close\r\n",
        t.path,
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes())?;
    s.write_all(body)?;
    s.flush()?;
    // The status line is all ctx reads; a slow or endless body is cut by the timeout.
    let mut head = Vec::new();
    let mut buf = [0u8; 512];
    while !head.windows(2).any(|w| w == b"\r\n") && head.len() < 4096 {
        let n = s.read(&mut buf)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = String::from_utf8_lossy(&head);
    line.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse::<u16>().ok())
        .ok_or_else(|| std::io::Error::other("the receiver sent no HTTP status line").into())
}

/// A config-file string for curl: quoted, `\` and `"` escaped.
fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn via_curl(url: &str, headers: &[(&str, String)], body: &[u8]) -> Result<u16, DeliveryError> {
    use std::process::{Command, Stdio};
    let dir = tempfile_dir()?;
    let data = dir.join("body.json");
    crate::fsx::write_atomic(&data, body, Some(0o600))?;
    let mut config = format!("url = {}\n", quoted(url));
    for (k, v) in headers {
        config.push_str(&format!("header = {}\n", quoted(&format!("{k}: {v}"))));
    }
    config.push_str(&format!(
        "data-binary = {}\n",
        quoted(&format!("@{}", data.display()))
    ));
    let secs = TIMEOUT.as_secs().to_string();
    let child = Command::new("curl")
        .args(["-sS", "--proto", "=https", "--max-time", &secs])
        .args(["-o", "/dev/null", "-w", "%{http_code}", "-K", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = child.map_err(|e| DeliveryError::Curl(format!("cannot run curl: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(config.as_bytes())?;
    }
    let out = child.wait_with_output()?;
    let _ = std::fs::remove_dir_all(&dir);
    let code = String::from_utf8_lossy(&out.stdout).trim().parse::<u16>();
    match code {
        Ok(c) if c > 0 => Ok(c),
        _ => Err(DeliveryError::Curl(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        )),
    }
}

/// A private scratch folder for curl's body file.
fn tempfile_dir() -> std::io::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("ctx-notify-{}", random_hex(8)));
    std::fs::create_dir(&dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_to_host_port_and_path() {
        let t = Target::parse("http://127.0.0.1:5678/webhook/x?token=abc");
        assert_eq!(
            t,
            Some(Target {
                scheme: "http".into(),
                host: "127.0.0.1".into(),
                port: 5678,
                path: "/webhook/x?token=abc".into()
            })
        );
        assert_eq!(
            Target::parse("https://h.example").map(|t| t.port),
            Some(443)
        );
        assert!(Target::parse("ftp://h/x").is_none());
        assert!(Target::parse("http://user:pw@h/x").is_none());
        assert!(Target::parse("http://h/a b").is_none());
        assert!(Target::parse("http://:80/").is_none());
    }

    #[test]
    fn the_signature_is_rfc_4231_hmac_sha256() {
        // RFC 4231 test case 2.
        let s = signature("Jefe", b"what do ya want for nothing?");
        assert_eq!(
            s,
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
