//! Lists with sealed elements, matched between two versions (the store's and the live file's).
//!
//! A machine that cannot open a sealed element of a list (an `args` list, a permission list)
//! gets an empty string in its place; when it edits the list, the sealed element must go back
//! exactly where its placeholder went, bound to its position and its neighbour. Matching by index
//! is wrong as soon as an element is inserted before it (`--verbose` in front would pull every
//! secret onto the flag before its own), so the two lists are matched as sequences: equal
//! elements anchor, a placeholder takes the place of its secret, and a secret whose neighbour
//! changed cannot be placed: the edit is refused rather than guessed.

use serde_json::Value;
use similar::{capture_diff_slices, Algorithm, DiffOp};

/// How an element of the old list reads for matching: its JSON text, or for a sealed element
/// this machine cannot open, the placeholder apply wrote in its place (`""`).
pub fn key(v: &Value, unreadable: bool) -> String {
    match unreadable {
        true => "\"\"".to_string(),
        false => v.to_string(),
    }
}

/// For each element of `old` (read as `old_keys`), the index of its counterpart in `new` (read
/// as `new_keys`): elements in an unchanged run, or replaced one for one, correspond.
pub fn counterparts(old_keys: &[String], new_keys: &[String]) -> Vec<Option<usize>> {
    let mut map = vec![None; old_keys.len()];
    for op in capture_diff_slices(Algorithm::Myers, old_keys, new_keys) {
        match op {
            DiffOp::Equal {
                old_index,
                new_index,
                len,
            } => {
                for k in 0..len {
                    map[old_index + k] = Some(new_index + k);
                }
            }
            DiffOp::Replace {
                old_index,
                old_len,
                new_index,
                new_len,
            } if old_len == new_len => {
                for k in 0..old_len {
                    map[old_index + k] = Some(new_index + k);
                }
            }
            _ => {}
        }
    }
    map
}

/// Whether the old element `i`, matched to new element `j`, kept its neighbour: the element
/// before it is the same one (matched to `j - 1`), or it was first and still is.
pub fn same_neighbour(map: &[Option<usize>], i: usize, j: usize) -> bool {
    match (i, j) {
        (0, 0) => true,
        (0, _) | (_, 0) => false,
        _ => map[i - 1] == Some(j - 1),
    }
}

/// Old index -> new index turned around: for each new element, its old counterpart.
pub fn inverse(map: &[Option<usize>], new_len: usize) -> Vec<Option<usize>> {
    let mut inv = vec![None; new_len];
    for (i, j) in map.iter().enumerate() {
        if let Some(j) = j.filter(|j| *j < new_len) {
            inv[j] = Some(i);
        }
    }
    inv
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| format!("{s:?}")).collect()
    }

    #[test]
    fn an_insert_before_keeps_each_secret_after_its_flag() {
        let old = keys(&["--token", "", "--key", ""]);
        let new = keys(&["--verbose", "--token", "", "--key", ""]);
        let map = counterparts(&old, &new);
        assert_eq!(map, vec![Some(1), Some(2), Some(3), Some(4)]);
        assert!(same_neighbour(&map, 1, 2) && same_neighbour(&map, 3, 4));
    }

    #[test]
    fn an_insert_between_flag_and_secret_breaks_the_neighbour() {
        let old = keys(&["--token", "", "--key", ""]);
        let new = keys(&["--token", "--verbose", "", "--key", ""]);
        let map = counterparts(&old, &new);
        let j = map[1].unwrap_or(usize::MAX);
        assert!(!same_neighbour(&map, 1, j), "{map:?}");
    }

    #[test]
    fn a_removed_pair_takes_its_secret_along() {
        let old = keys(&["--token", "", "--key", ""]);
        let new = keys(&["--key", ""]);
        let map = counterparts(&old, &new);
        assert_eq!(map, vec![None, None, Some(0), Some(1)]);
    }
}
