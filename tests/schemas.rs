//! The checked-in JSON Schemas are exactly what the Rust types generate.
#[test]
fn checked_in_schemas_match_the_types() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas");
    let schemas = ctx::model::schemas();
    assert!(!schemas.is_empty(), "no schemas generated");
    for (name, text) in schemas {
        let path = dir.join(name);
        if std::env::var_os("CTX_BLESS").is_some() {
            std::fs::write(&path, &text).unwrap();
        }
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        assert_eq!(
            on_disk, text,
            "schemas/{name} is stale; run `CTX_BLESS=1 cargo test --test schemas`"
        );
    }
}

#[test]
fn example_store_documents_validate() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/store");
    for (file, store_path) in [
        ("ctx.yaml", "ctx.yaml"),
        ("machines-laptop.yaml", "machines/laptop.yaml"),
        ("context-preferences.yaml", "context/preferences.yaml"),
        ("project-webapp.yaml", "projects/webapp.yaml"),
    ] {
        let bytes = std::fs::read(dir.join(file)).unwrap();
        ctx::model::validate(store_path, &bytes)
            .unwrap_or_else(|e| panic!("examples/store/{file}: {e}"));
    }
    let bad = ctx::model::validate("ctx.yaml", b"version: 1\nconflicts: maybe\n").unwrap_err();
    assert_eq!(bad.field, "conflicts");
}
