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

/// Reports and docs name no path of the machine that produced them.
#[test]
fn reports_and_docs_hold_no_machine_paths() {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut found = Vec::new();
    let mut dirs = vec![repo.join("docs"), repo.join("bench/results")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                let text = std::fs::read_to_string(&path).unwrap();
                for (i, line) in text.lines().enumerate() {
                    let machine = ["/work/", "/home/", "/root/", "/tmp/", "/Users/"]
                        .iter()
                        .any(|p| line.contains(p))
                        || line.contains(repo.to_str().unwrap());
                    if machine {
                        found.push(format!("{}:{}: {line}", path.display(), i + 1));
                    }
                }
            }
        }
    }
    assert!(found.is_empty(), "machine paths:\n{}", found.join("\n"));
}
