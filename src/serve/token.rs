//! The API's bearer token: 32 random bytes as hex in this machine's config folder
//! (`serve-token`, 0600 from the first byte), never in the store, compared in constant time.

use std::path::PathBuf;

use crate::env::Env;

/// Where the token is kept.
pub fn path(env: &Env) -> PathBuf {
    env.config_dir.join("serve-token")
}

/// Makes a new token, replacing the old one (clients holding it get 401 from then on).
pub fn create(env: &Env) -> std::io::Result<String> {
    let token = crate::notify::deliver::random_hex(32);
    let p = path(env);
    if let Some(dir) = p.parent() {
        std::fs::create_dir_all(dir)?;
    }
    crate::fsx::write_atomic(&p, format!("{token}\n").as_bytes(), Some(0o600))?;
    Ok(token)
}

/// The token, if one was made.
pub fn load(env: &Env) -> std::io::Result<Option<String>> {
    match std::fs::read_to_string(path(env)) {
        Ok(t) => Ok(Some(t.trim().to_string()).filter(|t| !t.is_empty())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Whether the `Authorization` header value carries `token`; the time taken does not depend on
/// where the two first differ.
pub fn matches(header: Option<&str>, token: &str) -> bool {
    let Some(given) = header.and_then(|h| h.strip_prefix("Bearer ")) else {
        return false;
    };
    let (a, b) = (given.trim().as_bytes(), token.as_bytes());
    let mut diff = a.len() ^ b.len();
    for (i, x) in b.iter().enumerate() {
        diff |= usize::from(a.get(i).copied().unwrap_or(0) ^ x);
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_bearer_token_matches() {
        assert!(matches(Some("Bearer abc"), "abc"));
        assert!(!matches(Some("Bearer abd"), "abc"));
        assert!(!matches(Some("Bearer ab"), "abc"));
        assert!(!matches(Some("Bearer abcd"), "abc"));
        assert!(!matches(Some("abc"), "abc"));
        assert!(!matches(None, "abc"));
    }
}
