//! TOML: ours' document edited through `toml_edit`, which keeps everything it is not told to
//! change (comments, blank lines, dotted keys, inline tables, quoting). New or changed values
//! are taken from theirs' document where the merged value is theirs, with their formatting.

use serde_json::{Map, Value};
use toml_edit::{Array, ArrayOfTables, DocumentMut, InlineTable, Item, Table, TableLike};

use crate::merge::arrays::keys;

/// The private key under which `toml` hands a datetime to serde.
const DATETIME: &str = "$__toml_private_datetime";

/// Ours' document edited to hold `merged`; theirs' supplies the text of what it contributed.
pub(super) fn edit(
    (ours_text, ours): (&str, &Value),
    (theirs_text, theirs): (&str, &Value),
    merged: &Value,
) -> Option<String> {
    let mut doc: DocumentMut = ours_text.parse().ok()?;
    let th: Option<DocumentMut> = theirs_text.parse().ok();
    let (o, m) = (ours.as_object()?, merged.as_object()?);
    let pos = max_position(doc.as_table());
    let from = th
        .as_ref()
        .map(|d| (d.as_table() as &dyn TableLike, theirs));
    table(doc.as_table_mut(), o, m, from, false, pos)?;
    Some(doc.to_string())
}

/// Theirs' item at the same place, and its value.
type From<'a> = Option<(&'a dyn TableLike, &'a Value)>;

fn table(
    t: &mut dyn TableLike,
    o: &Map<String, Value>,
    m: &Map<String, Value>,
    from: From,
    inline: bool,
    pos: usize,
) -> Option<()> {
    for k in o.keys().filter(|k| !m.contains_key(*k)) {
        t.remove(k);
    }
    for (k, mv) in m {
        let th = from.and_then(|(tt, tv)| Some((tt.get(k)?, tv.get(k)?)));
        match o.get(k) {
            Some(ov) if ov == mv => {}
            Some(ov) => item(t.get_mut(k)?, ov, mv, th, pos)?,
            None => {
                t.insert(k, new_item(mv, th, inline, pos)?);
            }
        }
    }
    Some(())
}

fn item(
    it: &mut Item,
    ov: &Value,
    mv: &Value,
    th: Option<(&Item, &Value)>,
    pos: usize,
) -> Option<()> {
    let objects = is_table(ov) && is_table(mv);
    match it {
        Item::Table(t) if objects => {
            let from = th.and_then(|(i, v)| Some((i.as_table_like()?, v)));
            let pos = max_position(t);
            table(t, ov.as_object()?, mv.as_object()?, from, false, pos)
        }
        Item::ArrayOfTables(a) if mv.as_array().is_some_and(|x| x.iter().all(is_table)) => {
            let from = th.and_then(|(i, v)| Some((i.as_array_of_tables()?, v)));
            *a = tables(a, ov.as_array()?, mv.as_array()?, from, pos)?;
            Some(())
        }
        Item::Value(v) => {
            let thv = th.and_then(|(i, tv)| Some((i.as_value()?, tv)));
            value(v, ov, mv, thv)
        }
        _ => {
            *it = new_item(mv, th, false, pos)?;
            Some(())
        }
    }
}

fn value(
    v: &mut toml_edit::Value,
    ov: &Value,
    mv: &Value,
    th: Option<(&toml_edit::Value, &Value)>,
) -> Option<()> {
    if ov == mv {
        return Some(());
    }
    match v {
        toml_edit::Value::InlineTable(t) if is_table(ov) && is_table(mv) => {
            let from = th.and_then(|(i, tv)| Some((i.as_inline_table()? as &dyn TableLike, tv)));
            table(t, ov.as_object()?, mv.as_object()?, from, true, 0)
        }
        toml_edit::Value::Array(a) if ov.is_array() && mv.is_array() => {
            let from = th.and_then(|(i, tv)| Some((i.as_array()?, tv.as_array()?)));
            *a = array(a, ov.as_array()?, mv.as_array()?, from)?;
            Some(())
        }
        _ => {
            // A new scalar (or a new kind of value) in ours' place: ours' spacing and comment.
            let decor = v.decor().clone();
            *v = match th {
                Some((tv, tval)) if tval == mv => tv.clone(),
                _ => new_value(mv)?,
            };
            *v.decor_mut() = decor;
            Some(())
        }
    }
}

/// The merged array: ours' items where they stay (edited in place), new ones from theirs.
fn array(a: &Array, o: &[Value], m: &[Value], th: Option<(&Array, &Vec<Value>)>) -> Option<Array> {
    if a.len() != o.len() {
        return None;
    }
    let multi = a.iter().any(|v| {
        v.decor()
            .prefix()
            .and_then(|p| p.as_str())
            .is_some_and(|p| p.contains('\n'))
    });
    let mut out = Array::new();
    *out.decor_mut() = a.decor().clone();
    out.set_trailing(a.trailing().clone());
    out.set_trailing_comma(a.trailing_comma());
    // New items in a multi-line array are laid out like ours' second item (or its first).
    let model = a.get(1).or_else(|| a.get(0)).map(|v| v.decor().clone());
    for piece in align(o, m) {
        let v = match piece {
            (Some(i), j) => {
                let mut v = a.get(i)?.clone();
                let thv = th
                    .and_then(|(ta, tv)| find(tv, &m[j]).and_then(|k| Some((ta.get(k)?, &tv[k]))));
                value(&mut v, &o[i], &m[j], thv)?;
                v
            }
            (None, j) => {
                let mut v = match th.and_then(|(ta, tv)| ta.get(find(tv, &m[j])?)) {
                    Some(tv) => tv.clone(),
                    None => new_value(&m[j])?,
                };
                if let (true, Some(d)) = (multi, &model) {
                    *v.decor_mut() = d.clone();
                }
                v
            }
        };
        out.push_formatted(v);
    }
    if !multi {
        out.fmt();
    }
    Some(out)
}

fn tables(
    a: &ArrayOfTables,
    o: &[Value],
    m: &[Value],
    th: Option<(&ArrayOfTables, &Value)>,
    pos: usize,
) -> Option<ArrayOfTables> {
    if a.len() != o.len() {
        return None;
    }
    let tv = th.and_then(|(_, v)| v.as_array());
    let mut out = ArrayOfTables::new();
    let mut last = pos;
    for piece in align(o, m) {
        let t = match piece {
            (Some(i), j) => {
                let mut t = a.get(i)?.clone();
                last = t.position().unwrap_or(last);
                let from = th.zip(tv).and_then(|((ta, _), tv)| {
                    let k = find(tv, &m[j])?;
                    Some((ta.get(k)? as &dyn TableLike, &tv[k]))
                });
                table(
                    &mut t,
                    o[i].as_object()?,
                    m[j].as_object()?,
                    from,
                    false,
                    last,
                )?;
                t
            }
            (None, j) => match new_item(&m[j], None, false, last)? {
                Item::Table(t) => t,
                _ => return None,
            },
        };
        out.push(t);
    }
    Some(out)
}

/// Pairs ours' elements with the merged ones: `(Some(i), j)` ours' `i` became merged `j`.
fn align(o: &[Value], m: &[Value]) -> Vec<(Option<usize>, usize)> {
    let (ok, mk) = (keys(o), keys(m));
    let mut out = Vec::with_capacity(m.len());
    for op in similar::capture_diff_slices(similar::Algorithm::Myers, &ok, &mk) {
        let (tag, or, mr) = op.as_tag_tuple();
        let paired = tag == similar::DiffTag::Equal
            || (tag == similar::DiffTag::Replace && or.len() == mr.len());
        if paired {
            out.extend(or.map(Some).zip(mr));
        } else {
            out.extend(mr.map(|j| (None, j)));
        }
    }
    out
}

fn find(hay: &[Value], v: &Value) -> Option<usize> {
    hay.iter().position(|x| x == v)
}

/// An item for a new key: theirs' own when the merged value is theirs, else written anew
/// (tables as `[sections]` after ours' last, inline inside an inline table).
fn new_item(mv: &Value, th: Option<(&Item, &Value)>, inline: bool, pos: usize) -> Option<Item> {
    if let Some((it, _)) = th.filter(|(_, tv)| *tv == mv) {
        let mut it = it.clone();
        if inline {
            return it.into_value().ok().map(Item::Value);
        }
        set_position(&mut it, pos);
        return Some(it);
    }
    if inline {
        return new_value(mv).map(Item::Value);
    }
    match mv {
        Value::Object(m) if !is_datetime(mv) => {
            let mut t = Table::new();
            t.set_position(pos);
            for (k, v) in m {
                t.insert(k, new_item(v, None, false, pos)?);
            }
            Some(Item::Table(t))
        }
        Value::Array(a) if !a.is_empty() && a.iter().all(is_table) => {
            let mut aot = ArrayOfTables::new();
            for v in a {
                match new_item(v, None, false, pos)? {
                    Item::Table(t) => aot.push(t),
                    _ => return None,
                }
            }
            Some(Item::ArrayOfTables(aot))
        }
        _ => new_value(mv).map(Item::Value),
    }
}

fn new_value(v: &Value) -> Option<toml_edit::Value> {
    Some(match v {
        Value::Null => return None,
        Value::Bool(b) => (*b).into(),
        Value::Number(n) => match n.as_i64() {
            Some(i) => i.into(),
            None => n.as_f64()?.into(),
        },
        Value::String(s) => s.as_str().into(),
        Value::Array(a) => {
            let mut out = Array::new();
            for x in a {
                out.push(new_value(x)?);
            }
            toml_edit::Value::Array(out)
        }
        Value::Object(m) => {
            if let (true, Some(Value::String(d))) = (is_datetime(v), m.get(DATETIME)) {
                return d.parse::<toml_edit::Datetime>().ok().map(Into::into);
            }
            let mut t = InlineTable::new();
            for (k, x) in m {
                t.insert(k, new_value(x)?);
            }
            toml_edit::Value::InlineTable(t)
        }
    })
}

fn is_datetime(v: &Value) -> bool {
    v.as_object()
        .is_some_and(|m| m.len() == 1 && m.contains_key(DATETIME))
}

fn is_table(v: &Value) -> bool {
    v.is_object() && !is_datetime(v)
}

/// Sections copied from theirs sort where they are put (toml_edit orders them by position).
fn set_position(it: &mut Item, pos: usize) {
    match it {
        Item::Table(t) => {
            t.set_position(pos);
            for (_, v) in t.iter_mut() {
                set_position(v, pos);
            }
        }
        Item::ArrayOfTables(a) => {
            for t in a.iter_mut() {
                t.set_position(pos);
                for (_, v) in t.iter_mut() {
                    set_position(v, pos);
                }
            }
        }
        _ => {}
    }
}

/// The last section position in a table: new sections go after it.
fn max_position(t: &Table) -> usize {
    let mut max = t.position().unwrap_or(0);
    for (_, v) in t.iter() {
        match v {
            Item::Table(s) => max = max.max(max_position(s)),
            Item::ArrayOfTables(a) => {
                for s in a.iter() {
                    max = max.max(max_position(s));
                }
            }
            _ => {}
        }
    }
    max
}
