//! The checked-in models are exactly what the vendored specs give: a spec
//! update without `make models` (or a hand edit of a generated file) fails here.

use std::path::Path;

#[test]
fn checked_in_models_match_the_specs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let files = rhelazure_codegen::generated_files(&root).expect("the specs parse");
    assert!(!files.is_empty());
    for (path, text) in files {
        let now = std::fs::read_to_string(root.join(&path)).unwrap_or_default();
        assert!(
            now == text,
            "{path} differs from what the specs give: run `make models` and commit the result"
        );
    }
}
