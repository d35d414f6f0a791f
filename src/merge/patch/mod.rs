//! Writing a merged value by editing ours' text: only the spans that changed are rewritten, in
//! the file's own style, the way a person would have edited it. Every edit is checked by
//! parsing the result back; `None` when that is not the merged value (the caller writes anew).

mod json;
mod toml;
mod yaml;
mod yaml_render;

use serde_json::Value;

use super::value::{parse, Doc};

/// A side's text and its value.
pub(super) type Side<'a> = (&'a str, &'a Value);

/// Ours' text edited to hold `merged`, or `None`; theirs' text may lend what it contributed.
pub(super) fn edit(doc: Doc, ours: Side, theirs: Side, merged: &Value) -> Option<String> {
    let edited = match doc {
        Doc::Json => json::edit(ours.0, ours.1, merged)?,
        Doc::Toml => toml::edit(ours, theirs, merged)?,
        Doc::Yaml => yaml::edit(ours.0, ours.1, merged)?,
    };
    (parse(doc, &edited)? == *merged).then_some(edited)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Edits `ours` to hold `merged` (given as JSON), ours' data parsed from its text.
    fn run(doc: Doc, ours: &str, merged: serde_json::Value) -> Option<String> {
        let o = parse(doc, ours)?;
        edit(doc, (ours, &o), (ours, &o), &merged)
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
}
