//! Equality of parsed documents, fast on what merges compare: two versions of one file.

use serde_json::Value;

/// Whether two values are equal, as `==` says. Objects are compared entry by entry in order
/// first: versions of one document keep their keys' order, and `==` on an ordered map looks every
/// key of one up in the other by its SipHash, which was a sixth of a 1 MB settings merge. Maps
/// with the same entries in another order are equal here too.
pub(super) fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            if x.len() != y.len() {
                return false;
            }
            for ((kx, vx), (ky, vy)) in x.iter().zip(y.iter()) {
                if kx != ky {
                    return x.iter().all(|(k, v)| y.get(k).is_some_and(|w| equal(v, w)));
                }
                if !equal(vx, vy) {
                    return false;
                }
            }
            true
        }
        (Value::Array(x), Value::Array(y)) => all_equal(x, y),
        _ => a == b,
    }
}

/// Whether two lists of values are equal, element by element.
pub(super) fn all_equal(a: &[Value], b: &[Value]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| equal(x, y))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn agrees_with_eq_in_any_key_order() {
        let cases = [
            (
                json!({"a": 1, "b": [1, {"c": 2}]}),
                json!({"a": 1, "b": [1, {"c": 2}]}),
            ),
            (json!({"a": 1, "b": 2}), json!({"b": 2, "a": 1})),
            (json!({"a": 1, "b": 2}), json!({"b": 2, "a": 3})),
            (
                json!({"a": {"x": 1, "y": 2}}),
                json!({"a": {"y": 2, "x": 1}}),
            ),
            (json!({"a": 1}), json!({"a": 1, "b": 2})),
            (json!([1, 2]), json!([2, 1])),
            (json!("x"), json!("x")),
            (json!(1.0), json!(1)),
        ];
        for (a, b) in cases {
            assert_eq!(equal(&a, &b), a == b, "{a} vs {b}");
        }
    }
}
