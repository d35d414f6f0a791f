//! JSONL transcripts: a union of records.

use serde_json::Value;

use super::{clean, text, MergeOutcome};

/// JSONL: the union of records by `uuid` (else by whole line), base order, then ours' new
/// records, then theirs'. Transcripts are append-only, so a union loses nothing.
pub(super) fn merge(base: &str, ours: &str, theirs: &str) -> Option<MergeOutcome> {
    let key = |line: &str| -> Option<String> {
        let v: Value = serde_json::from_str(line).ok()?;
        Some(match v.get("uuid").and_then(|u| u.as_str()) {
            Some(u) => format!("uuid:{u}"),
            None => format!("line:{line}"),
        })
    };
    let base_lines: std::collections::HashSet<&str> = base.lines().collect();
    let mut seen = std::collections::HashMap::new();
    let mut out: Vec<&str> = Vec::new();
    for side in [base, ours, theirs] {
        for line in side.lines().filter(|l| !l.trim().is_empty()) {
            let k = key(line)?;
            match seen.get(&k) {
                None => {
                    seen.insert(k, out.len());
                    out.push(line);
                }
                Some(&i) if out[i] != line => {
                    // A record one side changed: the change wins over the base's version; two
                    // different changes are a conflict for the line merge to show.
                    if base_lines.contains(out[i]) {
                        out[i] = line;
                    } else if !base_lines.contains(line) {
                        return None;
                    }
                }
                Some(_) => {}
            }
        }
    }
    // A line merge (insertions at one place: ours, then theirs) holding exactly the union's
    // records keeps where each side put its lines (a summary written at the top stays there).
    if let Some(text) = text::merge_union(base, ours, theirs) {
        let mut lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        let mut union = out.clone();
        lines.sort_unstable();
        union.sort_unstable();
        if lines == union {
            return Some(clean(text.into_bytes()));
        }
    }
    let mut content = out.join("\n");
    content.push('\n');
    Some(clean(content.into_bytes()))
}
