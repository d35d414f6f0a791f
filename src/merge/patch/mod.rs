//! Writing a merged value by editing ours' text: only the spans that changed are rewritten, in
//! the file's own style, the way a person would have edited it. Every edit is checked by
//! parsing the result back; `None` when that is not the merged value (the caller writes anew).

mod json;
mod toml;

use serde_json::Value;

use super::value::{parse, Doc};

/// A side's text and its value.
pub(super) type Side<'a> = (&'a str, &'a Value);

/// Ours' text edited to hold `merged`, or `None`; theirs' text may lend what it contributed.
pub(super) fn edit(doc: Doc, ours: Side, theirs: Side, merged: &Value) -> Option<String> {
    let edited = match doc {
        Doc::Json => json::edit(ours.0, ours.1, merged)?,
        Doc::Toml => toml::edit(ours, theirs, merged)?,
        Doc::Yaml => return None,
    };
    (parse(doc, &edited)? == *merged).then_some(edited)
}
