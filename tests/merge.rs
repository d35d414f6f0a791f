//! The merge engine: the folder corpus (`tests/merge/<format>/<case>/`), table tests for single
//! rules, and properties over generated JSON values.
use std::path::Path;

use ctx::merge::{merge_file, merge_file_with_markers, Markers, MergeOptions, Policy};
use proptest::prelude::*;
use serde_json::{json, Value};

fn opts() -> MergeOptions<'static> {
    MergeOptions {
        policy: Policy::Stop,
        decrypt: None,
    }
}

fn data(path: &str, bytes: &[u8]) -> Value {
    let text = std::str::from_utf8(bytes).unwrap();
    if path.ends_with(".json") {
        serde_json::from_str(text).unwrap_or_else(|e| panic!("{path}: {e}\n{text}"))
    } else if path.ends_with(".yaml") {
        serde_yaml::from_str(text).unwrap()
    } else if path.ends_with(".toml") {
        let v: toml::Value = toml::from_str(text).unwrap_or_else(|e| panic!("{path}: {e}\n{text}"));
        toml_data(&v)
    } else {
        Value::String(text.to_string())
    }
}

/// TOML as data, datetimes kept apart from tables and strings.
fn toml_data(v: &toml::Value) -> Value {
    match v {
        toml::Value::Datetime(d) => json!({ "datetime": d.to_string() }),
        toml::Value::Array(a) => Value::Array(a.iter().map(toml_data).collect()),
        toml::Value::Table(t) => {
            Value::Object(t.iter().map(|(k, v)| (k.clone(), toml_data(v))).collect())
        }
        other => serde_json::to_value(other).unwrap(),
    }
}

#[test]
fn corpus() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/merge");
    let mut cases = 0;
    let mut failures = Vec::new();
    for format in std::fs::read_dir(&root).unwrap().flatten() {
        for case in std::fs::read_dir(format.path()).unwrap().flatten() {
            cases += 1;
            if let Err(e) = run_case(&case.path()) {
                failures.push(e);
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {cases} cases failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    assert!(cases >= 60, "corpus has only {cases} cases");
}

/// One case: `base.<ext>`, `ours.<ext>`, `theirs.<ext>`, and either `expected.<ext>` (compared
/// as data; byte for byte when an `exact` file is there) or `conflict` (the conflicting field
/// paths, one a line, as `Conflict::field` names them). An optional `path` file holds the
/// file's path in the repository (default `file.<ext>`): some rules depend on it (CLAUDE.md).
fn run_case(dir: &Path) -> Result<(), String> {
    let find = |stem: &str| {
        std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.file_stem().unwrap() == stem && p.extension().is_some())
    };
    let base = find("base").unwrap();
    let ext = base.extension().unwrap().to_string_lossy().to_string();
    let name = std::fs::read_to_string(dir.join("path"))
        .map(|p| p.trim().to_string())
        .unwrap_or_else(|_| format!("file.{ext}"));
    let read = |p: &Path| std::fs::read(p).unwrap();
    let out = merge_file(
        &name,
        Some(&read(&base)),
        &read(&find("ours").unwrap()),
        &read(&find("theirs").unwrap()),
        &opts(),
    );
    let text = String::from_utf8_lossy(&out.content);
    if let Ok(listed) = std::fs::read_to_string(dir.join("conflict")) {
        let mut want: Vec<&str> = listed.lines().filter(|l| !l.trim().is_empty()).collect();
        let mut got: Vec<&str> = out.conflicts.iter().map(|c| c.field.as_str()).collect();
        want.sort_unstable();
        got.sort_unstable();
        if got != want || want.is_empty() {
            return Err(format!(
                "{}: conflicts at {got:?}, expected at {want:?}\n{text}",
                dir.display()
            ));
        }
        if !(text.contains("<<<<<<< ours") && text.contains(">>>>>>> theirs")) {
            return Err(format!("{}: no markers\n{text}", dir.display()));
        }
        return Ok(());
    }
    if !out.conflicts.is_empty() {
        return Err(format!(
            "{}: unexpected conflicts {:?}\n{text}",
            dir.display(),
            out.conflicts
        ));
    }
    let expected = read(&find("expected").unwrap());
    if dir.join("exact").exists() && out.content != expected {
        return Err(format!(
            "{}: not byte for byte\n got:\n{text}\nwant:\n{}",
            dir.display(),
            String::from_utf8_lossy(&expected)
        ));
    }
    let (got, want) = (data(&name, &out.content), data(&name, &expected));
    if got != want {
        return Err(format!(
            "{}: wrong merge\n got: {got}\nwant: {want}",
            dir.display()
        ));
    }
    Ok(())
}

fn merge_json(b: &Value, o: &Value, t: &Value) -> (Value, usize) {
    let s = |v: &Value| serde_json::to_vec_pretty(v).unwrap();
    let out = merge_file("settings.json", Some(&s(b)), &s(o), &s(t), &opts());
    let v = if out.conflicts.is_empty() {
        serde_json::from_slice(&out.content).unwrap()
    } else {
        Value::Null
    };
    (v, out.conflicts.len())
}

#[test]
fn scalar_arrays_merge_as_sequences() {
    // One side prepends, the other appends: each insertion keeps its place.
    let (v, c) = merge_json(
        &json!({"a": [1, 2]}),
        &json!({"a": [0, 1, 2]}),
        &json!({"a": [1, 2, 3]}),
    );
    assert_eq!((v, c), (json!({"a": [0, 1, 2, 3]}), 0));
    // A removal and a move elsewhere both apply; additions at one place: ours', then theirs'.
    let (v, c) = merge_json(
        &json!({"a": [1, 2, 3]}),
        &json!({"a": [1, 3, 4]}),
        &json!({"a": [2, 3, 5, 1]}),
    );
    assert_eq!((v, c), (json!({"a": [3, 4, 5, 1]}), 0));
    // Two different replacements of one element conflict.
    let (_, c) = merge_json(
        &json!({"a": ["x@1", "y"]}),
        &json!({"a": ["x@2", "y"]}),
        &json!({"a": ["x@3", "y"]}),
    );
    assert_eq!(c, 1);
    // An element both sides added, in different places, appears once: where ours put it.
    let (v, c) = merge_json(
        &json!({"a": [1, 2]}),
        &json!({"a": [9, 1, 2]}),
        &json!({"a": [1, 2, 9]}),
    );
    assert_eq!((v, c), (json!({"a": [9, 1, 2]}), 0));
}

#[test]
fn permission_lists_are_sets() {
    // Two replacements of one rule keep both new rules: order means nothing there.
    let (v, c) = merge_json(
        &json!({"permissions": {"allow": ["A", "B"]}}),
        &json!({"permissions": {"allow": ["C", "B"]}}),
        &json!({"permissions": {"allow": ["D", "B"]}}),
    );
    assert_eq!(
        (v, c),
        (json!({"permissions": {"allow": ["C", "D", "B"]}}), 0)
    );
}

#[test]
fn keys_keep_ours_order_then_theirs_new_keys() {
    let (v, _) = merge_json(
        &json!({"z": 1, "a": 1}),
        &json!({"z": 2, "a": 1}),
        &json!({"z": 1, "a": 1, "m": 3}),
    );
    assert_eq!(serde_json::to_string(&v).unwrap(), r#"{"z":2,"a":1,"m":3}"#);
}

#[test]
fn unchanged_side_returns_other_side_bytes() {
    let b = b"{\"a\":1}";
    let t = b"{ \"a\" : 2 }";
    let out = merge_file("x.json", Some(b), b, t, &opts());
    assert_eq!(out.content, t);
}

#[test]
fn policies_resolve_and_record_the_loser() {
    let s = |v: Value| serde_json::to_vec_pretty(&v).unwrap();
    let (b, o, t) = (
        s(json!({"model": "sonnet"})),
        s(json!({"model": "opus"})),
        s(json!({"model": "haiku"})),
    );
    for (policy, kept) in [
        (Policy::Ours, "opus"),
        (Policy::Theirs, "haiku"),
        (
            Policy::Newest {
                ours_time: 1,
                theirs_time: 2,
            },
            "haiku",
        ),
    ] {
        let out = merge_file(
            "settings.json",
            Some(&b),
            &o,
            &t,
            &MergeOptions {
                policy,
                decrypt: None,
            },
        );
        assert!(out.conflicts.is_empty());
        let v: Value = serde_json::from_slice(&out.content).unwrap();
        assert_eq!(v["model"], kept);
        assert_eq!(out.overruled.len(), 1);
        assert_eq!(out.overruled[0].field, "model");
    }
}

#[test]
fn conflict_markers_surround_only_the_conflicting_lines() {
    let s = |v: Value| serde_json::to_vec_pretty(&v).unwrap();
    let out = merge_file(
        "settings.json",
        Some(&s(json!({"model": "sonnet", "x": 1, "y": 2}))),
        &s(json!({"model": "opus", "x": 1, "y": 3})),
        &s(json!({"model": "haiku", "x": 1, "y": 2})),
        &opts(),
    );
    let text = String::from_utf8(out.content).unwrap();
    assert_eq!(text, "{\n<<<<<<< ours\n  \"model\": \"opus\",\n=======\n  \"model\": \"haiku\",\n>>>>>>> theirs\n  \"x\": 1,\n  \"y\": 3\n}");
    assert_eq!(out.conflicts[0].field, "model");
    assert_eq!(out.conflicts[0].ours, Some(json!("opus")));
}

#[test]
fn unparsable_input_falls_back_to_lines() {
    let out = merge_file(
        "settings.json",
        Some(b"{\n\"a\": 1\n"),
        b"{\n\"a\": 2\n",
        b"{\n\"a\": 1\n",
        &opts(),
    );
    assert_eq!(out.content, b"{\n\"a\": 2\n");
    let out = merge_file(
        "settings.json",
        Some(b"a\nb\n"),
        b"a\nX\n",
        b"a\nY\n",
        &opts(),
    );
    assert!(out.line_fallback);
    assert_eq!(out.conflicts.len(), 1);
}

#[test]
fn encrypted_values_are_opaque_without_a_key() {
    let s = |v: Value| serde_json::to_vec_pretty(&v).unwrap();
    let out = merge_file(
        "mcp.json",
        Some(&s(json!({"g": {"env": {"T": "ENC[age:AAA]"}}}))),
        &s(json!({"g": {"env": {"T": "ENC[age:BBB]"}}})),
        &s(json!({"g": {"env": {"T": "ENC[age:CCC]"}}})),
        &opts(),
    );
    assert_eq!(out.conflicts.len(), 1);
    assert_eq!(out.conflicts[0].field, "g.env.T");
}

struct Fake;
impl ctx::merge::Decrypt for Fake {
    fn decrypt(&self, _: &str, c: &str) -> Option<String> {
        // Two ciphertexts of one plaintext: ENC[age:v1-x] and ENC[age:v2-x] both open to "x".
        c.strip_prefix("ENC[age:")
            .and_then(|r| r.strip_suffix(']'))
            .map(|r| r[3..].to_string())
    }
}

#[test]
fn encrypted_values_compare_by_plaintext_with_a_key() {
    let s = |v: Value| serde_json::to_vec_pretty(&v).unwrap();
    // Theirs re-encrypted the same value, ours changed it: ours wins, no conflict.
    let out = merge_file(
        "mcp.json",
        Some(&s(json!({"T": "ENC[age:v1-x]"}))),
        &s(json!({"T": "ENC[age:v1-y]"}))[..],
        &s(json!({"T": "ENC[age:v2-x]"})),
        &MergeOptions {
            policy: Policy::Stop,
            decrypt: Some(&Fake),
        },
    );
    assert!(out.conflicts.is_empty());
    let v: Value = serde_json::from_slice(&out.content).unwrap();
    assert_eq!(v["T"], "ENC[age:v1-y]");
    // Both re-encrypted the same plaintext: the old ciphertext stays.
    let out = merge_file(
        "mcp.json",
        Some(&s(json!({"T": "ENC[age:v1-x]", "n": 1}))),
        &s(json!({"T": "ENC[age:v2-x]", "n": 2}))[..],
        &s(json!({"T": "ENC[age:v3-x]", "n": 1})),
        &MergeOptions {
            policy: Policy::Stop,
            decrypt: Some(&Fake),
        },
    );
    let v: Value = serde_json::from_slice(&out.content).unwrap();
    assert_eq!(v["T"], "ENC[age:v1-x]");
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (0i64..5).prop_map(|n| json!(n)),
        "[a-c]{1,2}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-d]", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn one_sided_edits_win(b in arb_json(), x in arb_json()) {
        prop_assert_eq!(merge_json(&b, &x, &b), (x.clone(), 0));
        prop_assert_eq!(merge_json(&b, &b, &x), (x.clone(), 0));
        prop_assert_eq!(merge_json(&b, &x, &x), (x.clone(), 0));
    }

    #[test]
    fn clean_merges_keep_every_one_sided_key_edit(
        b in prop::collection::btree_map("[a-e]", 0i64..3, 0..5),
        o_edit in prop::collection::btree_map("[a-e]", 0i64..3, 0..3),
        t_edit in prop::collection::btree_map("[f-j]", 0i64..3, 0..3),
    ) {
        let base: Value = Value::Object(b.iter().map(|(k, v)| (k.clone(), json!(v))).collect());
        let mut o = base.clone();
        let mut t = base.clone();
        for (k, v) in &o_edit { o[k] = json!(v); }
        for (k, v) in &t_edit { t[k] = json!(v); }
        let (m, c) = merge_json(&base, &o, &t);
        prop_assert_eq!(c, 0);
        for (k, v) in o_edit.iter().chain(&t_edit) { prop_assert_eq!(&m[k], &json!(v)); }
        // Symmetric in data.
        let (m2, _) = merge_json(&base, &t, &o);
        let sorted = |v: &Value| serde_json::to_string(&v.as_object().unwrap().iter().collect::<std::collections::BTreeMap<_, _>>()).unwrap();
        prop_assert_eq!(sorted(&m), sorted(&m2));
    }

    #[test]
    fn yaml_merges_like_json(
        b in prop::collection::btree_map("[a-d]", arb_json(), 0..4),
        o in prop::collection::btree_map("[a-d]", arb_json(), 0..4),
        t in prop::collection::btree_map("[a-d]", arb_json(), 0..4),
        comment in any::<bool>(),
    ) {
        let obj = |m: &std::collections::BTreeMap<String, Value>| Value::Object(m.clone().into_iter().collect());
        let (b, o, t) = (obj(&b), obj(&o), obj(&t));
        let (want, conflicts) = merge_json(&b, &o, &t);
        // YAML, with or without a comment line above the data.
        let y = |v: &Value| {
            let text = serde_yaml::to_string(v).unwrap();
            if comment { format!("# settings\n{text}") } else { text }
        };
        let out = merge_file("x.yaml", Some(y(&b).as_bytes()), y(&o).as_bytes(), y(&t).as_bytes(), &opts());
        prop_assert_eq!(out.conflicts.len(), conflicts);
        if conflicts == 0 {
            let got: Value = serde_yaml::from_str(std::str::from_utf8(&out.content).unwrap()).unwrap();
            prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn never_panics_on_arbitrary_bytes(
        b in prop::collection::vec(any::<u8>(), 0..200),
        o in prop::collection::vec(any::<u8>(), 0..200),
        t in prop::collection::vec(any::<u8>(), 0..200),
        ext in prop::sample::select(vec!["json", "yaml", "toml", "md", "jsonl", "txt"]),
    ) {
        let name = format!("f.{ext}");
        let _ = merge_file(&name, Some(&b), &o, &t, &opts());
        let _ = merge_file(&name, None, &o, &t, &opts());
    }
}

#[test]
fn big_documents_merge_like_small_ones() {
    // Above 256 KB the engine parses and line-merges on threads; the result must not change.
    let doc = |extra: &str, drop: usize, model: &str| {
        let rules: Vec<String> = (0..12_000)
            .filter(|&i| i != drop)
            .map(|i| format!("Bash(tool-{i} *)"))
            .chain((!extra.is_empty()).then(|| extra.to_string()))
            .collect();
        json!({"model": model, "permissions": {"allow": rules}})
    };
    let (b, o, t) = (
        doc("", usize::MAX, "sonnet"),
        doc("Bash(ours *)", usize::MAX, "opus"),
        doc("", 6_000, "sonnet"),
    );
    let want = doc("Bash(ours *)", 6_000, "opus");
    assert!(serde_json::to_vec_pretty(&b).unwrap().len() > 256 * 1024);
    let (v, c) = merge_json(&b, &o, &t);
    assert_eq!(c, 0);
    assert!(v == want, "big JSON merged wrong");
    // YAML keeps the line merge's text (its comment) when it means the same data.
    let y = |v: &Value| format!("# kept\n{}", serde_yaml::to_string(v).unwrap());
    let out = merge_file(
        "big.yaml",
        Some(y(&b).as_bytes()),
        y(&o).as_bytes(),
        y(&t).as_bytes(),
        &opts(),
    );
    assert!(out.conflicts.is_empty());
    let text = String::from_utf8(out.content).unwrap();
    assert!(text.starts_with("# kept\n"));
    let got: Value = serde_yaml::from_str(&text).unwrap();
    assert!(got == want, "big YAML merged wrong");
}

#[test]
fn diff3_markers_show_the_base_and_take_the_marker_size() {
    let markers = Markers::from_git(Some("diff3"), Some(9));
    let out = merge_file_with_markers(
        "notes.txt",
        Some(b"a\nb\nc\n"),
        b"a\nB1\nc\n",
        b"a\nB2\nc\n",
        &opts(),
        markers,
    );
    let text = String::from_utf8(out.content).unwrap();
    assert_eq!(
        text,
        "a\n<<<<<<<<< ours\nB1\n||||||||| base\nb\n=========\nB2\n>>>>>>>>> theirs\nc\n"
    );
    // A value conflict: the base section holds the base's value.
    let out = merge_file_with_markers(
        "settings.json",
        Some(b"{\n  \"model\": \"sonnet\",\n  \"x\": 1\n}\n"),
        b"{\n  \"model\": \"opus\",\n  \"x\": 1\n}\n",
        b"{\n  \"model\": \"haiku\",\n  \"x\": 1\n}\n",
        &opts(),
        Markers::from_git(Some("zdiff3"), None),
    );
    let text = String::from_utf8(out.content).unwrap();
    assert_eq!(
        text,
        "{\n<<<<<<< ours\n  \"model\": \"opus\",\n||||||| base\n  \"model\": \"sonnet\",\n=======\n  \"model\": \"haiku\",\n>>>>>>> theirs\n  \"x\": 1\n}\n"
    );
    // git's default style has no base section.
    let out = merge_file_with_markers(
        "notes.txt",
        Some(b"a\nb\n"),
        b"a\nB1\n",
        b"a\nB2\n",
        &opts(),
        Markers::from_git(Some("merge"), None),
    );
    assert!(!String::from_utf8(out.content).unwrap().contains("|||||||"));
}
