//! The model generator behind `make models`: reads the vendored specs in
//! `specs/` and renders Rust source for the definitions the provider uses
//! (`structs` says which, and how, and why it is written here). This file
//! holds what the binary and the regeneration test share.

use std::path::Path;

pub mod structs;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error("{0}: not YAML: {1}")]
    Yaml(String, serde_yaml_ng::Error),
    #[error("no definition at {0}")]
    NoDefinition(String),
    #[error("enum {0} is met twice with different values, or clashes in its Rust names")]
    EnumConflict(String),
    #[error("{0} differs from what the specs give: run `make models` and commit the result")]
    Stale(String),
}

/// Every generated file as (path relative to the repository root, contents).
pub fn generated_files(root: &Path) -> Result<Vec<(String, String)>, Error> {
    structs::struct_files()
        .map(|f| Ok((f.output.to_string(), structs::render_struct_file(root, f)?)))
        .collect()
}

/// The generated files whose checked-in text differs from what the specs
/// give (empty when all are current).
pub fn stale_files(root: &Path) -> Result<Vec<String>, Error> {
    Ok(generated_files(root)?
        .into_iter()
        .filter(|(path, text)| std::fs::read_to_string(root.join(path)).ok().as_ref() != Some(text))
        .map(|(path, _)| path)
        .collect())
}
