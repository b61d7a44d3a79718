//! The committed docs/ match the schemas: run `make docs` after changing a schema.

#[test]
fn committed_docs_are_up_to_date() {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut stale = Vec::new();
    for (path, want) in rhelazure::docs::render_provider(repo) {
        let have = std::fs::read_to_string(repo.join("docs").join(&path)).unwrap_or_default();
        if have != want {
            stale.push(path);
        }
    }
    assert!(
        stale.is_empty(),
        "docs out of date with the schema (run `make docs`): {stale:?}"
    );
}
