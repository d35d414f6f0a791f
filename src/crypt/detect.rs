//! The one detector of credentials in text: run on the raw bytes of every file ctx stores, and on
//! every string of a parsed document.
//!
//! What it finds, in this order: ctx's own list of well-known prefixes (exact, no entropy floor,
//! so test tokens full of `FAKE` count too), private keys (PEM and `AGE-SECRET-KEY-1`), JWTs,
//! the token shapes of credential issuers (`shapes.rs`), credentials in URLs (a password in the userinfo, a
//! query parameter named like a key, token, secret, password or signature), `Authorization:`-style
//! headers with a literal value, secret-named assignments (`export NAME=…`, `NAME=…`,
//! `name: …`, `name = …`) and secret-named flags followed by a value (`--token X`,
//! `--api-key=X`). References (`$VAR`, `${VAR}`, `%VAR%`, `{{ … }}`), paths and placeholders
//! are never values.

use memchr::memmem;

use super::patterns::{prefixes, wanted, ASSIGN, FLAG, HEADER, JWT, QUERY, USERINFO};
use super::shapes;

/// Why a value is sealed, or a file refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// A rule: built in (MCP `env`/`headers`, secret-named settings `env`) or from ctx.yaml.
    Rule(String),
    /// The value has the shape of a known credential.
    Shape(String),
    /// The value's name (key, variable or flag) says it is a secret.
    Name(String),
    /// A high-entropy string in a place that holds secrets (env, headers, args, permissions).
    Entropy(String),
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::Rule(r) => write!(f, "rule: {r}"),
            Reason::Shape(s) => write!(f, "shape: {s}"),
            Reason::Name(n) => write!(f, "name: {n}"),
            Reason::Entropy(p) => write!(f, "entropy: a random-looking value in {p}"),
        }
    }
}

/// One credential found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// 1-based line.
    pub line: usize,
    /// What it is.
    pub reason: Reason,
    /// The secret itself (for its fingerprint; never shown).
    pub value: String,
}

impl Finding {
    /// What the finding looks like, for a message ("looks like a GitHub token").
    pub fn what(&self) -> String {
        match &self.reason {
            Reason::Shape(s) => format!("looks like a {s}"),
            Reason::Name(n) => format!("{n} holds a literal value"),
            other => other.to_string(),
        }
    }
}

/// Prefixes of well-known credentials, with the shortest credible tail after them.
pub(super) const PREFIXES: &[(&str, usize, &str)] = &[
    ("github_pat_", 20, "GitHub token"),
    ("ghp_", 30, "GitHub token"),
    ("gho_", 30, "GitHub token"),
    ("ghu_", 30, "GitHub token"),
    ("ghs_", 30, "GitHub token"),
    ("ghr_", 30, "GitHub token"),
    ("sk-ant-", 20, "Anthropic API key"),
    ("sk-proj-", 20, "OpenAI API key"),
    ("sk-svcacct-", 20, "OpenAI API key"),
    ("xoxb-", 10, "Slack token"),
    ("xoxp-", 10, "Slack token"),
    ("xoxa-", 10, "Slack token"),
    ("xoxs-", 10, "Slack token"),
    ("xoxe-", 10, "Slack token"),
    ("xapp-", 10, "Slack token"),
    ("lin_api_", 20, "Linear API key"),
    ("glpat-", 20, "GitLab token"),
    ("npm_", 36, "npm token"),
    ("AIza", 35, "Google API key"),
    ("sk_live_", 16, "Stripe key"),
    ("rk_live_", 16, "Stripe key"),
    ("hf_", 30, "Hugging Face token"),
    ("BSA", 20, "Brave Search API key"),
    ("AKIA", 16, "AWS access key"),
    ("ASIA", 16, "AWS access key"),
    ("AGE-SECRET-KEY-1", 50, "age secret key"),
];

fn token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// A known prefix shape at a token start in `line`: (kind, start, end).
fn prefix_shape(line: &str) -> Option<(&'static str, usize, usize)> {
    let bytes = line.as_bytes();
    for m in prefixes().find_iter(line) {
        let i = m.start();
        if i > 0 && token_char(bytes[i - 1]) {
            continue;
        }
        let rest = &line[i..];
        for (prefix, min, kind) in PREFIXES {
            if let Some(tail) = rest.strip_prefix(prefix) {
                let run = tail.bytes().take_while(|b| token_char(*b)).count();
                if run >= *min {
                    return Some((kind, i, i + prefix.len() + run));
                }
            }
        }
        if let Some(tail) = rest.strip_prefix("sk-") {
            let run = tail
                .bytes()
                .take_while(|b| b.is_ascii_alphanumeric())
                .count();
            if run >= 32 {
                return Some(("OpenAI API key", i, i + 3 + run));
            }
        }
        if let Some(tail) = rest.strip_prefix("Bearer ") {
            let run = tail
                .bytes()
                .take_while(|b| token_char(*b) || *b == b'.')
                .count();
            if run >= 20 && !tail.starts_with("${") {
                return Some(("bearer token", i, i + 7 + run));
            }
        }
    }
    if line.contains("-----BEGIN") && line.contains("PRIVATE KEY") {
        return Some(("private key", 0, line.len()));
    }
    None
}

/// The words of a name: split at non-alphanumerics and camelCase humps, lower-cased.
pub fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_ascii_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && prev_lower && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        cur.push(c.to_ascii_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Words that make a name a secret's: `token|secret|passw|api_?key|auth|credential|private`.
const SECRET_WORDS: &[&str] = &[
    "token",
    "authtoken",
    "accesstoken",
    "secret",
    "clientsecret",
    "password",
    "passwd",
    "passphrase",
    "pass",
    "pwd",
    "apikey",
    "auth",
    "authorization",
    "credential",
    "credentials",
    "creds",
    "private",
    "privatekey",
];

/// Last words that make a secret-sounding name name something else: a file, a setting, a count.
const NOT_A_VALUE: &[&str] = &[
    "file", "path", "dir", "url", "uri", "endpoint", "type", "method", "mode", "provider",
    "domain", "server", "id", "name", "length", "size", "count", "limit", "enabled", "required",
    "env", "var", "variable", "ref", "helper", "command", "cmd", "header", "prefix", "source",
    "store", "manager", "policy", "scope", "scopes", "expiry", "expires", "ttl", "timeout",
    "format", "kind", "version",
];

/// Whether a name (a key, a variable, a flag without its dashes) says it holds a secret.
pub fn secret_name(name: &str) -> bool {
    let w = words(name);
    let Some(last) = w.last() else { return false };
    if NOT_A_VALUE.contains(&last.as_str()) && w.len() > 1 {
        return false;
    }
    w.iter().any(|x| SECRET_WORDS.contains(&x.as_str()))
        || w.windows(2).any(|p| p[0] == "api" && p[1] == "key")
        || w.windows(2).any(|p| p[0] == "access" && p[1] == "key")
}

/// A reference to a value kept elsewhere, not the value: `$VAR`, `${VAR}`, `%VAR%`, `{{ x }}`,
/// `<placeholder>`.
pub fn is_reference(v: &str) -> bool {
    let v = v.trim();
    v.starts_with('$')
        || (v.starts_with('%') && v.ends_with('%'))
        || v.contains("{{")
        || (v.starts_with('<') && v.ends_with('>'))
        || v.starts_with("ENC[age:")
}

/// A literal value that can be a secret: not empty, not a reference, a path, a boolean or a
/// placeholder of repeated characters.
pub fn literal(v: &str) -> bool {
    let v = v.trim();
    let lower = v.to_ascii_lowercase();
    !v.is_empty()
        && !is_reference(v)
        && !matches!(
            lower.as_str(),
            "true" | "false" | "null" | "none" | "yes" | "no"
        )
        && !v.starts_with('/')
        && !v.starts_with("~/")
        && !v.starts_with("./")
        && !v.starts_with("../")
        && !v
            .chars()
            .all(|c| c == '*' || c == 'x' || c == 'X' || c == '.' || c == '-')
}

/// A literal that, in running text, is worth refusing: long enough and not a plain word.
fn credible(v: &str) -> bool {
    literal(v)
        && v.len() >= 8
        && !v.contains(char::is_whitespace)
        && !v.contains("://")
        && v.chars().any(|c| !c.is_ascii_alphabetic())
        && v.chars().any(|c| c.is_ascii_alphanumeric())
}

/// Query parameter names that carry a secret.
fn secret_param(name: &str) -> bool {
    let w = words(name);
    secret_name(name)
        || w.iter().any(|x| {
            matches!(
                x.as_str(),
                "key" | "sig" | "signature" | "code" | "apikey" | "accesskey"
            )
        })
}

/// Byte offset -> 1-based line.
fn line_of(text: &str, at: usize) -> usize {
    text.as_bytes()[..at.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

fn group<'t>(c: &regex::bytes::Captures<'t>, from: usize) -> Option<regex::bytes::Match<'t>> {
    (from..c.len()).find_map(|i| c.get(i))
}

/// The text of a match: the patterns' edges are ASCII, so a match never splits a character
/// (and were one to, it reads as empty rather than panicking).
fn text_of<'t>(text: &'t str, m: &regex::bytes::Match<'_>) -> &'t str {
    text.get(m.start()..m.end()).unwrap_or_default()
}

/// Every credential in `text`, a file at store path `path`, in text order.
pub fn scan_text(text: &str, path: &str) -> Vec<Finding> {
    let mut found: Vec<(usize, Reason, String)> = Vec::new();
    if prefixes().is_match(text) {
        let mut offset = 0;
        for line in text.split_inclusive('\n') {
            if let Some((kind, s, e)) = prefix_shape(line) {
                found.push((
                    offset + s,
                    Reason::Shape(kind.into()),
                    line[s..e].to_string(),
                ));
            }
            offset += line.len();
        }
    } else if text.contains("-----BEGIN") {
        let mut offset = 0;
        for line in text.split_inclusive('\n') {
            if line.contains("-----BEGIN") && line.contains("PRIVATE KEY") {
                found.push((offset, Reason::Shape("private key".into()), line.into()));
            }
            offset += line.len();
        }
    }
    let bytes = text.as_bytes();
    if memmem::find(bytes, b"eyJ").is_some() {
        for m in JWT.get().find_iter(bytes) {
            let jwt = Reason::Shape("JSON web token".into());
            found.push((m.start(), jwt, text_of(text, &m).into()));
        }
    }
    for h in shapes::scan(text) {
        let value = text
            .get(h.secret.0..h.secret.1)
            .unwrap_or_default()
            .to_string();
        found.push((h.secret.0, Reason::Shape(h.name.into()), value));
    }
    context(text, path, &mut found);
    found.sort_by_key(|f| f.0);
    found.dedup_by(|a, b| a.0 == b.0);
    found
        .into_iter()
        .map(|(at, reason, value)| Finding {
            line: line_of(text, at),
            reason,
            value,
        })
        .collect()
}

/// The findings that depend on context: a URL's userinfo and query, headers, secret-named
/// assignments and flags. Each pattern runs only on a text holding what it needs.
fn context(text: &str, path: &str, found: &mut Vec<(usize, Reason, String)>) {
    let bytes = text.as_bytes();
    let has = |b: u8| memchr::memchr(b, bytes).is_some();
    if memmem::find(bytes, b"://").is_some() && has(b'@') {
        for c in USERINFO.get().captures_iter(bytes) {
            if let Some(m) = c.get(1).filter(|m| literal(text_of(text, m))) {
                let why = Reason::Shape("password in a URL".into());
                found.push((m.start(), why, text_of(text, &m).into()));
            }
        }
    }
    if has(b'=') && (has(b'?') || has(b'&')) {
        for c in QUERY.get().captures_iter(bytes) {
            let (Some(n), Some(v)) = (c.get(1), c.get(2)) else {
                continue;
            };
            let (n, value) = (text_of(text, &n), text_of(text, &v));
            if secret_param(n) && literal(value) && value.len() >= 6 {
                let what = format!("a credential in a URL (`{n}`)");
                found.push((v.start(), Reason::Shape(what), value.into()));
            }
        }
    }
    // In a dotenv file every assignment is a setting of the environment: any name may hold one.
    let name = path.rsplit('/').next().unwrap_or(path);
    let dotenv = name.starts_with(".env") || name.ends_with(".env");
    let want = wanted(bytes);
    if want.header {
        for c in HEADER.get().captures_iter(bytes) {
            let (Some(n), Some(v)) = (c.get(1), c.get(2)) else {
                continue;
            };
            let value = text_of(text, &v);
            if credible(value) {
                let what = format!("`{}` header", text_of(text, &n));
                found.push((v.start(), Reason::Name(what), value.into()));
            }
        }
    }
    if want.name || dotenv {
        for c in ASSIGN.get().captures_iter(bytes) {
            let (Some(n), Some(v)) = (c.get(1), group(&c, 2)) else {
                continue;
            };
            let (n, value) = (text_of(text, &n), text_of(text, &v));
            if (dotenv || secret_name(n)) && credible(value) {
                found.push((v.start(), Reason::Name(format!("`{n}`")), value.into()));
            }
        }
    }
    if want.name {
        for c in FLAG.get().captures_iter(bytes) {
            let (Some(n), Some(v)) = (c.get(1), group(&c, 2)) else {
                continue;
            };
            let (n, value) = (text_of(text, &n), text_of(text, &v));
            let flag = n.trim_start_matches('-');
            if secret_name(flag) && !value.starts_with('-') && credible(value) {
                let what = format!("the flag `{n}`");
                found.push((v.start(), Reason::Name(what), value.into()));
            }
        }
    }
}

/// What kind of credential `text` holds, if any (a value, or a line).
pub fn shape(text: &str) -> Option<Reason> {
    scan_text(text, "").into_iter().next().map(|f| f.reason)
}

/// `sha256:` and the first 16 hex digits of the value's SHA-256: how ctx.yaml names a value that
/// is not a secret, without holding it.
pub fn fingerprint(value: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(value.as_bytes());
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<String> {
        scan_text(text, "x").into_iter().map(|f| f.what()).collect()
    }

    #[test]
    fn fixture_tokens_and_their_absence() {
        assert_eq!(
            shape("ghp_FAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKE0000"),
            Some(Reason::Shape("GitHub token".into()))
        );
        assert!(shape("Bearer lin_api_FAKE0000000000000000000000000000000000FAKE").is_some());
        assert!(shape("postgresql://alice:FAKE_DB_PASSWORD@localhost:5432/x").is_some());
        for clean in [
            "Bash(git diff *)",
            "https://mcp.linear.app/mcp",
            "Authorization:${AUTH_HEADER}",
            "postgresql://${USER}:${PASS}@db/x",
            "mask-ant-thing",
            "author: Alice Example",
            "max_tokens: 4096",
            "token_file: ~/.config/tok",
            "--token-file /run/secrets/tok",
            "password: ${DB_PASSWORD}",
            "Auth: required for every call",
        ] {
            assert_eq!(kinds(clean), Vec::<String>::new(), "{clean}");
        }
    }

    #[test]
    fn names_flags_urls_and_headers() {
        let hit = |t: &str| !scan_text(t, "x").is_empty();
        assert!(hit(
            "export AWS_SECRET_ACCESS_KEY=FAKEwJalrXUtnFEMIK7MDENGbPxRfiCY0000"
        ));
        assert!(hit("export DB_PASSWORD=FAKE-hunter2-pw"));
        assert!(hit("API_KEY = \"a8f5f167f44f4964e6c998deFAKE110c\""));
        assert!(hit("api_key: a8f5f167f44f4964e6c998deFAKE110c"));
        assert!(hit("tool --token 5f4dcc3b5aa765d61d8327deFAKE"));
        assert!(hit("tool --api-key=5f4dcc3b5aa765d61d8327deFAKE"));
        assert!(hit(
            "\"--api-key\",\n  \"a8f5f167f44f4964e6c998deFAKE110c\""
        ));
        assert!(hit(
            "curl -H 'Authorization: token FAKE5f4dcc3b5aa765d61d83'"
        ));
        assert!(hit(
            "https://api.example.com/v1?api_key=FAKE5f4dcc3b5aa7&x=1"
        ));
        assert!(hit(
            "https://x.blob.example.net/c?sv=2020&sig=FAKEa8f5f167f44f4964"
        ));
        assert!(!hit("https://example.com/search?q=tokens&page=2"));
        let dotenv = scan_text(
            "OPENAI_KEY=FAKEdotenv0123456789abc\n",
            "claude/skills/x/.env",
        );
        assert_eq!(dotenv.len(), 1, "any name in a dotenv file: {dotenv:?}");
    }

    #[test]
    fn every_pattern_compiles_and_the_prefilters_let_each_case_through() {
        for p in [&JWT, &USERINFO, &QUERY, &HEADER, &ASSIGN, &FLAG] {
            p.get();
        }
        // Each pattern only runs on a text holding its words: mixed case must still get there.
        let hit = |t: &str| !scan_text(t, "x").is_empty();
        assert!(hit("X-API-KEY: 5f4dcc3b5aa765d61d8327deFAKE"));
        assert!(hit("PROXY-AUTHORIZATION: Basic FAKE5f4dcc3b5aa765d6"));
        assert!(hit("X-Auth-Token: FAKE5f4dcc3b5aa765d61d83"));
        assert!(hit("clientSecret = \"FAKE5f4dcc3b5aa765d61d83\""));
        assert!(hit("DB_PWD=FAKE5f4dcc3b5aa765d61d83"));
        assert!(hit("myCreds: FAKE5f4dcc3b5aa765d61d83"));
        assert!(hit("tool --Private-Key FAKE5f4dcc3b5aa765d61d83"));
        assert!(hit("smb://u:FAKE-pw-5f4dcc@host/share"));
        assert!(hit("-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n"));
        assert!(!hit("plain notes about a project\n"));
    }

    #[test]
    fn secret_names_are_word_based() {
        for n in [
            "GITHUB_TOKEN",
            "apiKey",
            "x-api-key",
            "DB_PASSWORD",
            "AUTH",
            "client_secret",
        ] {
            assert!(secret_name(n), "{n}");
        }
        for n in [
            "author",
            "MAX_OUTPUT_TOKENS",
            "tokenFile",
            "auth_type",
            "keybinding",
            "key",
        ] {
            assert!(!secret_name(n), "{n}");
        }
    }
}
