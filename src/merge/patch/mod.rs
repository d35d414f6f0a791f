//! Writing a merged value by editing ours' text: only the spans that changed are rewritten, in
//! the file's own style, the way a person would have edited it. Every edit is checked by
//! parsing the result back; `None` when that is not the merged value (the caller writes anew).

mod json;
mod toml;
mod yaml;
mod yaml_render;

use serde_json::Value;

use super::merger::Changes;
use super::value::{parse, Doc};

/// A side's text and its value.
pub(super) type Side<'a> = (&'a str, &'a Value);

/// Above this many bytes, an edited JSON document is checked for syntax only: its data is right
/// by construction (unchanged spans are ours', changed ones written from the merged value),
/// and a full parse would cost as much as the merge.
const CHECK_DATA_BELOW: usize = 256 * 1024;

/// Ours' text edited to hold `merged` where `changes` says it differs from ours, or `None`;
/// theirs' text may lend what it contributed.
pub(super) fn edit(
    doc: Doc,
    ours: &str,
    changes: &Changes,
    theirs: Side,
    merged: &Value,
) -> Option<String> {
    let edited = match doc {
        Doc::Json => json::edit(ours, changes, merged)?,
        Doc::Yaml | Doc::Toml => {
            let parsed;
            let ov = match (changes.replaced, &changes.old) {
                (true, Some(v)) => v,
                _ => {
                    parsed = parse(doc, ours)?;
                    &parsed
                }
            };
            if doc == Doc::Toml {
                toml::edit((ours, ov), theirs, merged)?
            } else {
                yaml::edit(ours, ov, merged)?
            }
        }
    };
    let ok = if doc == Doc::Json && edited.len() >= CHECK_DATA_BELOW {
        serde_json::from_str::<serde::de::IgnoredAny>(&edited).is_ok()
    } else {
        parse(doc, &edited)? == *merged
    };
    ok.then_some(edited)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Edits `ours` to hold `merged` (given as JSON), ours' data parsed from its text.
    fn run(doc: Doc, ours: &str, merged: serde_json::Value) -> Option<String> {
        let o = parse(doc, ours)?;
        edit(doc, ours, &Changes::whole(o.clone()), (ours, &o), &merged)
    }

    #[test]
    fn json_members_and_items_edited_in_place() {
        let ours = "{\n    \"a\": [1, 2],\n    \"b\": {},\n    \"c\": true\n}\n";
        let got = run(
            Doc::Json,
            ours,
            serde_json::json!({"a": [0, 1, 2, 3], "b": {"x": 1}, "d": "new"}),
        );
        assert_eq!(
            got.as_deref(),
            Some("{\n    \"a\": [0, 1, 2, 3],\n    \"b\": {\n        \"x\": 1\n    },\n    \"d\": \"new\"\n}\n")
        );
        let got = run(
            Doc::Json,
            "{\"a\": 1, \"b\": 2}",
            serde_json::json!({"b": 2}),
        );
        assert_eq!(got.as_deref(), Some("{\"b\": 2}"));
    }

    #[test]
    fn yaml_keeps_quotes_comments_and_list_indentation() {
        let ours = "# top\nname: \"demo\"  # the name\nlist:\n  - a\n  - b\n# about old\nold: 1\n";
        let got = run(
            Doc::Yaml,
            ours,
            serde_json::json!({"name": "demo2", "list": ["a", "x", "b"], "new": {"k": "v"}}),
        );
        assert_eq!(
            got.as_deref(),
            Some("# top\nname: \"demo2\"  # the name\nlist:\n  - a\n  - x\n  - b\nnew:\n  k: v\n")
        );
    }

    #[test]
    fn yaml_items_that_are_mappings() {
        let ours = "steps:\n- name: a\n  run: x\n- name: b\n  run: y\n";
        let got = run(
            Doc::Yaml,
            ours,
            serde_json::json!({"steps": [{"name": "a", "run": "x2"}, {"name": "b", "run": "y"}, {"name": "c", "run": "z"}]}),
        );
        assert_eq!(
            got.as_deref(),
            Some("steps:\n- name: a\n  run: x2\n- name: b\n  run: y\n- name: c\n  run: z\n")
        );
    }

    #[test]
    fn toml_keeps_dotted_keys_and_comments() {
        let ours = "# deps\n[dependencies]\nserde.workspace = true\n\n[features]\ndefault = []\n";
        let got = run(
            Doc::Toml,
            ours,
            serde_json::json!({"dependencies": {"serde": {"workspace": true}, "anyhow": "1"}, "features": {"default": ["std"]}}),
        );
        assert_eq!(
            got.as_deref(),
            Some("# deps\n[dependencies]\nserde.workspace = true\nanyhow = \"1\"\n\n[features]\ndefault = [\"std\"]\n")
        );
    }

    fn arb_json() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (0i64..4).prop_map(|n| serde_json::json!(n)),
            "[a-c]{1,2}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-d]", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn styled(v: &Value, style: u8) -> String {
        match style {
            0 => serde_json::to_string(v).unwrap_or_default(),
            1 => serde_json::to_string_pretty(v).unwrap_or_default(),
            _ => {
                let mut buf = Vec::new();
                let fmt = serde_json::ser::PrettyFormatter::with_indent(b"\t");
                let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
                serde::Serialize::serialize(v, &mut ser).unwrap_or_default();
                String::from_utf8(buf).unwrap_or_default()
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(400))]

        /// The JSON editor, unchecked, writes exactly the merged data from what the merger
        /// recorded, in whatever layout ours has.
        #[test]
        fn json_edits_hold_the_merged_data(
            b in arb_json(), o in arb_json(), t in arb_json(), style in 0u8..3,
        ) {
            let opts = crate::merge::MergeOptions { policy: crate::merge::Policy::Ours, decrypt: None };
            let mut m = crate::merge::merger::Merger::new("x.json", &opts, crate::merge::merger::Pick::Ours);
            let text = styled(&o, style);
            let merged = m.merge(&mut Vec::new(), Some(&b), Some(o), Some(&t)).unwrap_or(Value::Null);
            if let Some(edited) = json::edit(&text, &m.changes, &merged) {
                let back: Value = serde_json::from_str(&edited).map_err(|e| proptest::test_runner::TestCaseError::fail(format!("{e}: {edited}")))?;
                proptest::prop_assert_eq!(back, merged, "{}", edited);
            }
        }
    }
}
