//! Writing a merged value by editing ours' text: only the spans that changed are rewritten, in
//! the file's own style, the way a person would have edited it. Every edit is checked by
//! parsing the result back; `None` when that is not the merged value (the caller writes anew).

mod json;

use serde_json::Value;

use super::value::{parse, Doc};

/// Ours' text edited to hold `merged` (`ours` is ours' text's value), or `None`.
pub(super) fn edit(doc: Doc, text: &str, ours: &Value, merged: &Value) -> Option<String> {
    let edited = match doc {
        Doc::Json => json::edit(text, ours, merged)?,
        Doc::Yaml | Doc::Toml => return None,
    };
    (parse(doc, &edited)? == *merged).then_some(edited)
}
