//! The one redaction policy: what reports, commit messages and diffs may show of a value.
//! A secret is never shown: not a plaintext, not a ciphertext.

use std::collections::HashSet;

use serde_json::Value;

use crate::crypt::rules::Rules;

/// A value as reports and commit messages may show it: `<secret>` for a secret field, a
/// ciphertext or anything that looks like a token.
pub fn value(rules: &Rules, file: &str, field: &str, v: Option<Value>) -> Option<Value> {
    let v = v?;
    let text = v.to_string();
    let secret_field = crate::crypt::fields::parse_locator(&format!("{file}:{field}"))
        .is_some_and(|(_, p)| rules.is_secret_field(file, &p));
    if secret_field || text.contains("ENC[age:") || crate::crypt::detect::shape(&text).is_some() {
        return Some(Value::String("<secret>".into()));
    }
    Some(v)
}

/// Spans of `ENC[age:…]` ciphertexts in `text`.
fn ciphertexts(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = text[from..].find("ENC[age:") {
        let start = from + i;
        match text[start..].find(']') {
            Some(j) => {
                out.push((start, start + j + 1));
                from = start + j + 1;
            }
            None => break,
        }
    }
    out
}

/// Two versions of a file for a diff: ciphertexts become `<secret>`, and a new side's
/// ciphertext that the old side lacks `<secret changed>`, so a diff never shows key material
/// and still shows which secrets changed.
pub fn texts(old: &str, new: &str) -> (String, String) {
    let set = |t: &str| -> HashSet<String> {
        ciphertexts(t)
            .into_iter()
            .map(|(a, b)| t[a..b].to_string())
            .collect()
    };
    let (a, b) = (set(old), set(new));
    let swap = |t: &str, other: &HashSet<String>, changed: &'static str| {
        let mut out = String::new();
        let mut last = 0;
        for (s, e) in ciphertexts(t) {
            out.push_str(&t[last..s]);
            out.push_str(if other.contains(&t[s..e]) {
                "<secret>"
            } else {
                changed
            });
            last = e;
        }
        out.push_str(&t[last..]);
        out
    };
    (swap(old, &b, "<secret>"), swap(new, &a, "<secret changed>"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_ciphertext_is_named_not_shown() {
        let (o, n) = texts(
            "k: ENC[age:aaa]\nx: ENC[age:same]",
            "k: ENC[age:bbb]\nx: ENC[age:same]",
        );
        assert_eq!(o, "k: <secret>\nx: <secret>");
        assert_eq!(n, "k: <secret changed>\nx: <secret>");
    }
}
