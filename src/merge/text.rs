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
