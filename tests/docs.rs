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
    let mut dirs = vec![repo.join("docs"), repo.join("benches/results")];
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

/// The README's minimum Terraform version is the one every example requires,
/// and the registry manifest's plugin protocol is one that version speaks.
#[test]
fn readme_examples_and_manifest_agree_on_the_minimum_terraform() {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(repo.join("README.md")).unwrap();
    let claim = "**Requires Terraform ";
    let at = readme
        .find(claim)
        .expect("the README states the minimum Terraform");
    let minimum: String = readme[at + claim.len()..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    assert!(!minimum.is_empty());
    let mut checked = 0;
    for entry in std::fs::read_dir(repo.join("examples")).unwrap().flatten() {
        let main = entry.path().join("main.tf");
        let Ok(text) = std::fs::read_to_string(&main) else {
            continue;
        };
        let want = format!("required_version = \">= {minimum}\"");
        assert!(text.contains(&want), "{} lacks {want}", main.display());
        checked += 1;
    }
    assert!(checked >= 4, "every example was read");
    // Protocol 6.0 is spoken by every Terraform since 1.0.
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo.join("terraform-registry-manifest.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        manifest["metadata"]["protocol_versions"],
        serde_json::json!(["6.0"])
    );
    let major: u32 = minimum.split('.').next().unwrap().parse().unwrap();
    assert!(major >= 1, "protocol 6 needs Terraform 1.0 or later");
}

/// Guides, the README and the examples' READMEs write attributes as the
/// schemas declare them: a nested attribute with `=` (`registration = {`),
/// a block without (`timeouts {`). Terraform refuses the other spelling.
/// Lines about azurerm's resources (whose `plan { }` is a block) are theirs.
#[test]
fn prose_uses_the_schemas_syntax() {
    use rhelazure::plugin::schema::{AttributeType, Block};
    use rhelazure::plugin::service::ProviderService as _;
    fn collect(block: &Block, nested: &mut Vec<String>, blocks: &mut Vec<String>) {
        for a in &block.attributes {
            if let AttributeType::Nested(_) = a.ty {
                nested.push(a.name.clone());
            }
        }
        for b in &block.blocks {
            blocks.push(b.type_name.clone());
            collect(&b.block, nested, blocks);
        }
    }
    let registry = rhelazure::resources::registry();
    let s = registry.schemas();
    let (mut nested, mut blocks) = (Vec::new(), Vec::new());
    for schema in std::iter::once(&s.provider)
        .chain(s.resources.values())
        .chain(s.data_sources.values())
        .chain(s.ephemeral_resources.values())
    {
        collect(&schema.block, &mut nested, &mut blocks);
    }
    // A name that is a block somewhere and a nested attribute elsewhere is ambiguous: skip it.
    nested.retain(|n| !blocks.contains(n));
    assert!(
        nested.contains(&"registration".to_string()) && blocks.contains(&"timeouts".to_string())
    );

    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![repo.join("README.md")];
    for dir in [repo.join("docs/guides"), repo.join("examples")] {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let p = entry.path();
            if p.extension().is_some_and(|e| e == "md") {
                files.push(p);
            } else if p.join("README.md").exists() {
                files.push(p.join("README.md"));
            }
        }
    }
    let mut wrong = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let near = lines[i.saturating_sub(1)..(i + 2).min(lines.len())].join(" ");
            if near.contains("azurerm_") {
                continue;
            }
            let words: Vec<&str> = line
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '=' || c == '{'))
                .filter(|w| !w.is_empty())
                .collect();
            for w in words.windows(2) {
                let (name, next) = (w[0], w[1]);
                let where_ = format!("{}:{}: {}", file.display(), i + 1, line.trim());
                if next.starts_with('{') && nested.iter().any(|n| n == name) {
                    wrong.push(format!(
                        "{where_} (`{name}` is a nested attribute: `{name} = {{`)"
                    ));
                }
            }
            for b in &blocks {
                if line.contains(&format!("{b} = {{")) {
                    wrong.push(format!(
                        "{}:{}: {} (`{b}` is a block: `{b} {{`)",
                        file.display(),
                        i + 1,
                        line.trim()
                    ));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Every attribute, at every depth, and every block says what it is: the
/// registry docs and the language server show nothing else.
#[test]
fn every_attribute_is_described() {
    use rhelazure::plugin::schema::{AttributeType, Block};
    use rhelazure::plugin::service::ProviderService as _;
    fn walk(block: &Block, at: &str, missing: &mut Vec<String>) {
        for a in &block.attributes {
            let path = format!("{at}.{}", a.name);
            if a.description.trim().is_empty() {
                missing.push(path.clone());
            }
            if let AttributeType::Nested(n) = &a.ty {
                let inner = Block {
                    attributes: n.attributes.clone(),
                    ..Default::default()
                };
                walk(&inner, &path, missing);
            }
        }
        for b in &block.blocks {
            let path = format!("{at}.{}", b.type_name);
            if b.block.description.trim().is_empty() {
                missing.push(format!("{path} (block)"));
            }
            walk(&b.block, &path, missing);
        }
    }
    let registry = rhelazure::resources::registry();
    let s = registry.schemas();
    let mut missing = Vec::new();
    walk(&s.provider.block, "provider", &mut missing);
    for (kind, schemas) in [
        ("resource", &s.resources),
        ("data source", &s.data_sources),
        ("ephemeral resource", &s.ephemeral_resources),
    ] {
        for (name, schema) in schemas {
            if schema.block.description.trim().is_empty() {
                missing.push(format!("{kind} {name}"));
            }
            walk(&schema.block, name, &mut missing);
        }
    }
    assert!(missing.is_empty(), "undescribed:\n{}", missing.join("\n"));
    // The protocol descriptions above include what the framework adds
    // (defaults, allowed values, replacement); the author's own must be there too.
    let unwritten = registry.undescribed();
    assert!(
        unwritten.is_empty(),
        "no description of their own:\n{}",
        unwritten.join("\n")
    );
}
