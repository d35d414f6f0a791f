//! Object ids as hex strings in ctx's own state files (gix's serde feature would pull serde into
//! every gix crate for this one use).
use gix::ObjectId;
use serde::{Deserialize, Deserializer, Serializer};

/// Writes the id as hex.
pub fn serialize<S: Serializer>(id: &ObjectId, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&id.to_string())
}

/// Reads a hex id.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ObjectId, D::Error> {
    let text = String::deserialize(d)?;
    ObjectId::from_hex(text.as_bytes()).map_err(serde::de::Error::custom)
}

/// The same for `Option<ObjectId>`.
pub mod opt {
    use super::*;

    /// Writes the id as hex, or null.
    pub fn serialize<S: Serializer>(id: &Option<ObjectId>, s: S) -> Result<S::Ok, S::Error> {
        match id {
            Some(id) => s.serialize_some(&id.to_string()),
            None => s.serialize_none(),
        }
    }

    /// Reads a hex id or null.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<ObjectId>, D::Error> {
        match Option::<String>::deserialize(d)? {
            Some(t) => ObjectId::from_hex(t.as_bytes())
                .map(Some)
                .map_err(serde::de::Error::custom),
            None => Ok(None),
        }
    }
}
