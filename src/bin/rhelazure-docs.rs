//! `make docs`: writes docs/ (registry layout) from the provider's schemas.
//! `rhelazure-docs [REPO_DIR]`

fn main() -> std::io::Result<()> {
    let repo = std::path::PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| ".".into()));
    for (path, content) in rhelazure::docs::render_provider(&repo) {
        let out = repo.join("docs").join(&path);
        std::fs::create_dir_all(out.parent().expect("docs paths have a parent"))?;
        std::fs::write(&out, content)?;
        println!("wrote docs/{path}");
    }
    Ok(())
}
