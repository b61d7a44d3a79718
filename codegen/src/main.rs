//! `rhelazure-codegen` (`make models`): writes the provider's API models
//! generated from the vendored specs in `specs/`. `--check` compares instead
//! of writing and fails on any difference (the test in `tests/` runs it), so
//! a spec update shows up as a change to the checked-in models, and from
//! there as compile errors wherever the provider relies on what changed.

use std::path::Path;
use std::process::ExitCode;

use rhelazure_codegen::{generated_files, stale_files, Error};

fn main() -> ExitCode {
    let check = std::env::args().any(|a| a == "--check");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    match run(&root, check) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rhelazure-codegen: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(root: &Path, check: bool) -> Result<(), Error> {
    if check {
        return match stale_files(root)?.into_iter().next() {
            Some(path) => Err(Error::Stale(path)),
            None => Ok(()),
        };
    }
    for (path, text) in generated_files(root)? {
        std::fs::write(root.join(&path), text).map_err(|e| Error::Io(path.clone(), e))?;
        println!("wrote {path}");
    }
    Ok(())
}
