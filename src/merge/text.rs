//! Line-by-line three-way merge, as git does it, for text and as the fallback.

use super::{Conflict, MergeOutcome};

/// Merges lines; conflicts get `<<<<<<< ours` / `=======` / `>>>>>>> theirs` markers.
pub fn merge_lines(base: &str, ours: &str, theirs: &str) -> (String, usize) {
    let mut m = similar::TextMerge::from_lines(base, ours, theirs);
    m.labels("base", "ours", "theirs");
    let count = m.conflict_count();
    (m.to_string(), count)
}

pub(super) fn merge_text(path: &str, base: &str, ours: &str, theirs: &str) -> MergeOutcome {
    let m = similar::TextMerge::from_lines(base, ours, theirs);
    let conflicts: Vec<Conflict> = m
        .conflicts()
        .map(|r| Conflict {
            file: path.to_string(),
            field: format!("line {}", r.ours_range().start + 1),
            base: Some(lines(&m, r.base_range(), Side::Base).into()),
            ours: Some(lines(&m, r.ours_range(), Side::Ours).into()),
            theirs: Some(lines(&m, r.theirs_range(), Side::Theirs).into()),
        })
        .collect();
    let (content, _) = merge_lines(base, ours, theirs);
    MergeOutcome {
        content: content.into_bytes(),
        conflicts,
        overruled: Vec::new(),
        line_fallback: false,
    }
}

enum Side {
    Base,
    Ours,
    Theirs,
}

fn lines(
    m: &similar::TextMerge<'_, '_, '_, str>,
    range: std::ops::Range<usize>,
    side: Side,
) -> String {
    range
        .filter_map(|i| match side {
            Side::Base => m.base_line(i),
            Side::Ours => m.ours_line(i),
            Side::Theirs => m.theirs_line(i),
        })
        .collect()
}

/// A clean three-way line merge of three strings, or `None` on a conflict.
pub(super) fn merge_string(base: &str, ours: &str, theirs: &str) -> Option<String> {
    let m = similar::TextMerge::from_lines(base, ours, theirs);
    if m.is_conflicted() {
        None
    } else {
        Some(m.to_string())
    }
}

/// A line merge where both sides inserting at one place keeps ours' lines then theirs' (git's
/// `merge=union` for insertions only); `None` if a side changed or removed lines the other
/// changed too.
pub(super) fn merge_union(base: &str, ours: &str, theirs: &str) -> Option<String> {
    let m = similar::TextMerge::from_lines(base, ours, theirs);
    let mut out = String::with_capacity(ours.len().max(theirs.len()));
    let mut push = |line: Option<&str>| {
        if let Some(l) = line {
            out.push_str(l);
            if !l.ends_with('\n') {
                out.push('\n');
            }
        }
    };
    for r in m.regions() {
        match r.resolution() {
            similar::MergeResolution::Unchanged => {
                r.base_range().for_each(|i| push(m.base_line(i)))
            }
            similar::MergeResolution::Ours | similar::MergeResolution::Both => {
                r.ours_range().for_each(|i| push(m.ours_line(i)))
            }
            similar::MergeResolution::Theirs => {
                r.theirs_range().for_each(|i| push(m.theirs_line(i)))
            }
            _ if r.base_range().is_empty() => {
                r.ours_range().for_each(|i| push(m.ours_line(i)));
                r.theirs_range().for_each(|i| push(m.theirs_line(i)));
            }
            _ => return None,
        }
    }
    Some(out)
}
