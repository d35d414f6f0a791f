//! Randomness: whether a token in a place that holds secrets (env values, headers, args,
//! permission rules) looks generated rather than written.

use super::shapes;

/// Tokens shorter than this are not judged by entropy: too few characters to tell.
pub const ENTROPY_MIN_LEN: usize = 16;

/// Bits per character above which an all-hex token counts as random.
pub const HEX_THRESHOLD: f64 = 3.0;

/// For any other token: the share of its length's maximum entropy (log2 of its length) above
/// which it counts as random, and the share of it in word-like runs (`four`, `Four`) below which.
pub const MIXED_THRESHOLD: f64 = 0.80;
/// See [`MIXED_THRESHOLD`].
pub const WORDY_MAX: f64 = 0.4;

// The thresholds were measured on a clean corpus: every string of the fixtures and of the merge
// corpus in `tests/`, the words of the repository's Markdown, scripts and sources, and a list of
// identifiers that mix letters and digits (`x86_64-unknown-linux-gnu`, `getUser2FactorAuthStatus`,
// `UTF8ToUTF16Converter`, image tags, versions; see the tests): none of them passes. Random
// strings do: hex of 16/20/24+ characters 84%/97%/99%+, base62 and base64 of 16+ characters
// about 90%, of 32+ characters 95%+. Git ids, SHA-256 digests and UUIDs are identifiers, never
// judged.

/// A git object id, a SHA-256 digest or a UUID: identifiers, not secrets, in args and rules.
fn identifier(t: &str) -> bool {
    let hex = |s: &str| s.bytes().all(|b| b.is_ascii_hexdigit());
    let uuid = t.len() == 36
        && t.split('-').map(str::len).eq([8, 4, 4, 4, 12])
        && hex(&t.replace('-', ""));
    uuid || ((t.len() == 40 || t.len() == 64)
        && hex(t)
        && !t.bytes().any(|b| b.is_ascii_uppercase()))
}

/// The share of `t` in word-like runs: four or more lower-case letters, or a capital and three.
fn wordy(t: &str) -> f64 {
    let b = t.as_bytes();
    let (mut covered, mut i) = (0, 0);
    while i < b.len() {
        let start = i;
        if b[i].is_ascii_uppercase() {
            i += 1;
        }
        while i < b.len() && b[i].is_ascii_lowercase() {
            i += 1;
        }
        if i - start >= 4 {
            covered += i - start;
        }
        if i == start {
            i += 1;
        }
    }
    covered as f64 / b.len().max(1) as f64
}

/// Whether one token (no separators) looks random.
fn random(t: &str) -> bool {
    let t = t.trim_matches(|c| c == '=' || c == '/' || c == '+');
    if t.len() < ENTROPY_MIN_LEN
        || !t.bytes().any(|b| b.is_ascii_digit())
        || !t.bytes().any(|b| b.is_ascii_alphabetic())
        || identifier(t)
    {
        return false;
    }
    let bits = shapes::entropy(t.as_bytes());
    let lower_hex = t
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    let upper_hex = t
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b));
    if lower_hex || upper_hex {
        return bits > HEX_THRESHOLD;
    }
    bits / (t.len() as f64).log2() > MIXED_THRESHOLD && wordy(t) < WORDY_MAX
}

/// The first random-looking token of `s` (split at anything but base64 characters), if any.
pub fn random_token(s: &str) -> Option<&str> {
    s.split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=')))
        .find(|t| random(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn randomness_is_judged_on_long_mixed_tokens_only() {
        for random in [
            "a8f5f167f44f4964e6c998dee827110c",
            "--key=Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA",
            "FAKE/wJalrXUtnFEMIK7MDENGbPxRfiCYzz0q9x",
            "echo q8Xf1Z7kLm2Pw9Rt4Vb6Nc3FAKE",
        ] {
            assert!(random_token(random).is_some(), "{random}");
        }
        for clean in [
            "@modelcontextprotocol/server-filesystem",
            "0a11ce00-fa4e-4000-8000-000000000001",
            "83d9cd684c87d95d656c1458ef04895a7f1cbd8e",
            "Bash(npm run lint:*)",
            "ghcr.io/github/github-mcp-server:v0.12.3",
            "x86_64-unknown-linux-gnu",
            "claude-sonnet-4-5-20250929",
            "getUser2FactorAuthStatus",
            "Win32ApplicationFramework",
            "iPhone15ProMaxSimulator",
            "UTF8ToUTF16Converter",
            "H264VideoDecoder10bit",
            "OAuth2ClientCredentials",
            "S3BucketNameForLogs2024",
            "K8sDeploymentV1beta1",
            "/home/alice/src/project2025/apps/web",
            "com.google.android.gms:play-services-base:18.2.0",
            "--max-old-space-size=4096",
        ] {
            assert_eq!(random_token(clean), None, "{clean}");
        }
    }
}
