//! Three-way merge of sequences (array elements, by key): each side's insertions keep their
//! place. A side's diff from the base is a list of hunks (a base range replaced by a range of
//! that side); hunks of the two sides that touch the same base elements, or insert at the same
//! gap, are resolved together, and anything else applies as it is.

use std::collections::HashSet;
use std::hash::Hash;
use std::ops::Range;

/// How a sequence's elements relate to each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// Order and membership only (Claude's permission rules): never a conflict; an element
    /// both sides added appears once, one a side removed is gone.
    Set,
    /// An ordered list: two different replacements of one element, or a removal against a
    /// replacement, conflict; insertions at one place keep ours' then theirs' new elements.
    List,
    /// A command line (`args`): like a list, but insertions at one place merge only when they
    /// are the same, or are positional arguments (no `-` flag, whose value would follow it).
    CommandLine,
}

/// What the merge needs of an element's key.
pub(super) trait Element: Eq + Hash {
    /// A command-line flag (`-e`, `--port`): its value may follow it.
    fn is_flag(&self) -> bool;
}

/// One element of the merged sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Piece {
    /// The base's element `i`, kept by both sides.
    Base(usize),
    /// Ours' element `i`.
    Ours(usize),
    /// Theirs' element `i`.
    Theirs(usize),
    /// Both sides replaced base element `.0` by one element each (`.1` ours, `.2` theirs):
    /// the caller may merge the three (objects), or conflict.
    Edited(usize, usize, usize),
}

/// A side's change: base range `base` became that side's range `side`.
#[derive(Debug, Clone)]
struct Hunk {
    ours: bool,
    base: Range<usize>,
    side: Range<usize>,
}

impl Hunk {
    fn interacts(&self, other: &Hunk) -> bool {
        let (a, b) = (&self.base, &other.base);
        match (a.is_empty(), b.is_empty()) {
            (true, true) => a.start == b.start,
            (true, false) => b.start < a.start && a.start < b.end,
            (false, true) => a.start < b.start && b.start < a.end,
            (false, false) => a.start < b.end && b.start < a.end,
        }
    }
}

fn hunks<K: Element>(base: &[K], side: &[K], ours: bool) -> Vec<Hunk> {
    let ops = similar::capture_diff_slices(similar::Algorithm::Myers, base, side);
    let mut out: Vec<Hunk> = Vec::new();
    for op in ops {
        let (tag, b, s) = op.as_tag_tuple();
        if tag == similar::DiffTag::Equal {
            continue;
        }
        // Consecutive changes (a deletion then an insertion) are one hunk: a replacement.
        match out.last_mut() {
            Some(h) if h.base.end == b.start && h.side.end == s.start => {
                h.base.end = b.end;
                h.side.end = s.end;
            }
            _ => out.push(Hunk {
                ours,
                base: b,
                side: s,
            }),
        }
    }
    out
}

/// The three sequences, by key.
pub(super) struct Sides<'k, K> {
    /// The base (empty when both sides added the array).
    pub base: &'k [K],
    /// Ours.
    pub ours: &'k [K],
    /// Theirs.
    pub theirs: &'k [K],
}

impl<K> Sides<'_, K> {
    fn key(&self, p: &Piece) -> &K {
        match *p {
            Piece::Base(i) => &self.base[i],
            Piece::Ours(i) => &self.ours[i],
            Piece::Theirs(i) | Piece::Edited(_, _, i) => &self.theirs[i],
        }
    }
}

/// Merges the three sequences; `None` on a conflict. `edited` says whether `Piece::Edited` may
/// be returned (both sides replaced one element by one element each) rather than a conflict.
pub(super) fn merge<K: Element>(s: &Sides<K>, mode: Mode, edited: bool) -> Option<Vec<Piece>> {
    let mut all = hunks(s.base, s.ours, true);
    all.extend(hunks(s.base, s.theirs, false));
    all.sort_by_key(|h| (h.base.start, h.base.end, !h.ours));
    let mut out = Vec::with_capacity(s.ours.len().max(s.theirs.len()));
    let mut at = 0;
    let mut i = 0;
    while i < all.len() {
        // A cluster: hunks that interact, directly or through one another.
        let mut j = i + 1;
        while j < all.len() && all[i..j].iter().any(|h| h.interacts(&all[j])) {
            j += 1;
        }
        let cluster = &all[i..j];
        let start = cluster.iter().map(|h| h.base.start).min().unwrap_or(at);
        let end = cluster.iter().map(|h| h.base.end).max().unwrap_or(start);
        out.extend((at..start).map(Piece::Base));
        resolve(s, cluster, start..end, mode, edited, &mut out)?;
        at = end;
        i = j;
    }
    out.extend((at..s.base.len()).map(Piece::Base));
    if mode != Mode::CommandLine {
        dedup_added(s, &mut out);
    }
    Some(out)
}

/// An element both sides added (in different places) appears once, where ours put it; an
/// element both moved to different places stays where ours put it.
fn dedup_added<K: Element>(s: &Sides<K>, out: &mut Vec<Piece>) {
    let theirs_pieces = out.iter().any(|p| matches!(p, Piece::Theirs(_)));
    if !theirs_pieces {
        return;
    }
    let ours_added: HashSet<&K> = out
        .iter()
        .filter_map(|p| match p {
            Piece::Ours(i) => Some(&s.ours[*i]),
            _ => None,
        })
        .collect();
    if ours_added.is_empty() {
        return;
    }
    out.retain(|p| match p {
        Piece::Theirs(i) => !ours_added.contains(&s.theirs[*i]),
        _ => true,
    });
}

fn resolve<K: Element>(
    s: &Sides<K>,
    cluster: &[Hunk],
    range: Range<usize>,
    mode: Mode,
    edited: bool,
    out: &mut Vec<Piece>,
) -> Option<()> {
    let one_side = cluster.iter().all(|h| h.ours) || cluster.iter().all(|h| !h.ours);
    let (o, t) = (
        content(cluster, &range, true),
        content(cluster, &range, false),
    );
    if one_side {
        out.extend(if cluster[0].ours { o } else { t });
        return Some(());
    }
    let key = |p: &Piece| s.key(p);
    if o.len() == t.len() && o.iter().zip(&t).all(|(x, y)| key(x) == key(y)) {
        out.extend(o);
        return Some(());
    }
    let replaced = |h: &Hunk| !h.base.is_empty() && !h.side.is_empty();
    if mode != Mode::Set && cluster.iter().any(replaced) {
        // Both replaced the same single element by one element each: an edit of it.
        if let [a, b] = cluster {
            let single = |h: &Hunk| h.base.len() == 1 && h.side.len() == 1;
            if edited && a.base == b.base && single(a) && single(b) {
                let (ho, ht) = if a.ours { (a, b) } else { (b, a) };
                out.push(Piece::Edited(a.base.start, ho.side.start, ht.side.start));
                return Some(());
            }
        }
        return None;
    }
    walk(s, cluster, range, mode, out)
}

/// Deletions and insertions only (or a set): the base elements both kept, and at each gap
/// ours' insertions then theirs'; `None` when a command line's insertions at one place clash.
fn walk<K: Element>(
    s: &Sides<K>,
    cluster: &[Hunk],
    range: Range<usize>,
    mode: Mode,
    out: &mut Vec<Piece>,
) -> Option<()> {
    let key = |p: &Piece| s.key(p);
    for g in range.start..=range.end {
        let ins = |ours: bool| -> Vec<Piece> {
            cluster
                .iter()
                .filter(|h| h.ours == ours && h.base.start == g)
                .flat_map(|h| {
                    h.side.clone().map(move |i| {
                        if ours {
                            Piece::Ours(i)
                        } else {
                            Piece::Theirs(i)
                        }
                    })
                })
                .collect()
        };
        let (oi, ti) = (ins(true), ins(false));
        if !oi.is_empty() && !ti.is_empty() && mode == Mode::CommandLine {
            let positional = |p: &Piece| !key(p).is_flag();
            let theirs_keys: HashSet<&K> = ti.iter().map(key).collect();
            let disjoint = oi.iter().all(|p| !theirs_keys.contains(key(p)));
            if !(disjoint && oi.iter().chain(&ti).all(positional)) {
                return None;
            }
        }
        let ours_keys: HashSet<&K> = oi.iter().map(key).collect();
        out.extend(oi.iter().copied());
        out.extend(ti.into_iter().filter(|p| !ours_keys.contains(key(p))));
        let kept = |ours: bool| {
            !cluster
                .iter()
                .any(|h| h.ours == ours && h.base.start <= g && g < h.base.end)
        };
        if g < range.end && kept(true) && kept(false) {
            out.push(Piece::Base(g));
        }
    }
    Some(())
}

/// A side's content over `range`: its hunks there, and the base elements between them.
fn content(cluster: &[Hunk], range: &Range<usize>, ours: bool) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut at = range.start;
    for h in cluster.iter().filter(|h| h.ours == ours) {
        out.extend((at..h.base.start).map(Piece::Base));
        out.extend(h.side.clone().map(|i| {
            if ours {
                Piece::Ours(i)
            } else {
                Piece::Theirs(i)
            }
        }));
        at = h.base.end;
    }
    out.extend((at..range.end).map(Piece::Base));
    out
}

/// The order of a merged collection whose elements have identities (object keys, hook groups):
/// ours' order, with each element only theirs has placed after the element theirs has before
/// it (after any ours added there: at one place, ours' additions come first).
pub(super) fn anchored<K: Eq + Hash + Copy>(base: &HashSet<K>, ours: &[K], theirs: &[K]) -> Vec<K> {
    let in_ours: std::collections::HashMap<K, usize> =
        ours.iter().enumerate().map(|(i, &k)| (k, i)).collect();
    let in_theirs: HashSet<K> = theirs.iter().copied().collect();
    let ours_new = |k: &K| !base.contains(k) && !in_theirs.contains(k);
    // slots[i]: theirs' elements that go before ours[i] (slots[len]: at the end).
    let mut slots: Vec<Vec<K>> = vec![Vec::new(); ours.len() + 1];
    let mut anchor = 0;
    for &k in theirs {
        if let Some(&i) = in_ours.get(&k) {
            anchor = i + 1;
            continue;
        }
        while anchor < ours.len() && ours_new(&ours[anchor]) {
            anchor += 1;
        }
        slots[anchor].push(k);
    }
    let mut out = Vec::with_capacity(ours.len() + theirs.len());
    for (i, slot) in slots.into_iter().enumerate() {
        out.extend(slot);
        if let Some(&k) = ours.get(i) {
            out.push(k);
        }
    }
    out
}
