//! The pure decision step of a sync: from where the two heads stand in history, what to do.

use crate::store::ObjectId;

/// Where this store's `main` and the remote's stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ancestry {
    /// This store's `main`.
    pub ours: Option<ObjectId>,
    /// The remote's `main` (`None`: the remote has none).
    pub theirs: Option<ObjectId>,
    /// Whether theirs is ours or an ancestor of it.
    pub theirs_in_ours: bool,
    /// Whether ours is theirs or an ancestor of it.
    pub ours_in_theirs: bool,
}

/// What integrating the remote's `main` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The same commit: nothing to merge.
    UpToDate,
    /// The remote has nothing we lack (or no main at all): only a push may be due.
    Ahead,
    /// We have no history: take theirs as it is.
    Adopt(ObjectId),
    /// Ours is behind theirs: move main forward.
    FastForward(ObjectId),
    /// Both moved: merge.
    Merge(ObjectId, ObjectId),
}

/// Decides from ancestry alone; reads nothing.
pub fn decide(a: Ancestry) -> Decision {
    match (a.ours, a.theirs) {
        (_, None) => Decision::Ahead,
        (None, Some(t)) => Decision::Adopt(t),
        (Some(o), Some(t)) if o == t => Decision::UpToDate,
        (Some(_), Some(_)) if a.theirs_in_ours => Decision::Ahead,
        (Some(_), Some(t)) if a.ours_in_theirs => Decision::FastForward(t),
        (Some(o), Some(t)) => Decision::Merge(o, t),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> ObjectId {
        ObjectId::from_bytes_or_panic(&[n; 20])
    }

    #[test]
    fn every_ancestry_has_one_decision() {
        let (a, b) = (Some(id(1)), Some(id(2)));
        let table = [
            // ours, theirs, theirs_in_ours, ours_in_theirs => decision
            (a, None, false, false, Decision::Ahead),
            (None, None, false, false, Decision::Ahead),
            (None, b, false, false, Decision::Adopt(id(2))),
            (a, a, true, true, Decision::UpToDate),
            (a, b, true, false, Decision::Ahead),
            (a, b, false, true, Decision::FastForward(id(2))),
            (a, b, false, false, Decision::Merge(id(1), id(2))),
        ];
        for (ours, theirs, theirs_in_ours, ours_in_theirs, want) in table {
            let got = decide(Ancestry {
                ours,
                theirs,
                theirs_in_ours,
                ours_in_theirs,
            });
            assert_eq!(
                got, want,
                "{ours:?} {theirs:?} {theirs_in_ours} {ours_in_theirs}"
            );
        }
    }
}
