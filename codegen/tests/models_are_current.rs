//! The checked-in models are exactly what the vendored specs give: a spec
//! update without `make models` (or a hand edit of a generated file) fails here.

use std::path::Path;

#[test]
fn checked_in_models_match_the_specs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    assert!(
        !rhelazure_codegen::generated_files(&root)
            .expect("the specs parse")
            .is_empty(),
        "there are models to check"
    );
    let stale = rhelazure_codegen::stale_files(&root).expect("the specs parse");
    assert!(
        stale.is_empty(),
        "{stale:?} differ from what the specs give: run `make models` and commit the result"
    );
}
