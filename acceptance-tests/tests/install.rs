//! `make install` (scripts/install.sh) produces a filesystem mirror from which
//! `terraform init` installs the provider without dev_overrides.

use std::process::Command;

use rhelazure_acceptance_tests::{provider_dir, repo_root, terraforms};

/// `cli.tfrc` in `work`: install rhel-on-azure providers only from `mirror`.
fn write_mirror_config(work: &std::path::Path, mirror: &std::path::Path) {
    std::fs::write(
        work.join("cli.tfrc"),
        format!(
            "provider_installation {{\n  filesystem_mirror {{\n    path = \"{}\"\n    include = [\"rhel-on-azure/*\"]\n  }}\n}}\n",
            mirror.display()
        ),
    )
    .unwrap();
}

#[test]
fn terraform_init_from_the_filesystem_mirror() {
    let mirror = tempfile::tempdir().unwrap();
    let status = Command::new(repo_root().join("scripts/install.sh"))
        .arg(mirror.path())
        .env(
            "RHELAZURE_INSTALL_BIN",
            provider_dir().join("terraform-provider-rhelazure"),
        )
        .status()
        .unwrap();
    assert!(status.success());

    for tf in terraforms() {
        let work = tempfile::tempdir().unwrap();
        write_mirror_config(work.path(), mirror.path());
        std::fs::write(
            work.path().join("main.tf"),
            r#"
terraform {
  required_providers {
    rhelazure = { source = "rhel-on-azure/rhelazure" }
  }
}
output "urn" { value = provider::rhelazure::build_image_urn({ publisher = "RedHat", offer = "RHEL", sku = "9-lvm-gen2" }) }
"#,
        )
        .unwrap();
        let run = |args: &[&str]| {
            Command::new(&tf.path)
                .args(args)
                .current_dir(work.path())
                .env("TF_CLI_CONFIG_FILE", work.path().join("cli.tfrc"))
                .env("CHECKPOINT_DISABLE", "1")
                .env("TF_IN_AUTOMATION", "1")
                .output()
                .unwrap()
        };
        let init = run(&["init", "-no-color", "-input=false"]);
        assert!(
            init.status.success(),
            "terraform {} init from the mirror:\n{}{}",
            tf.version,
            String::from_utf8_lossy(&init.stdout),
            String::from_utf8_lossy(&init.stderr)
        );
        let plan = run(&["plan", "-no-color", "-input=false"]);
        assert!(
            plan.status.success(),
            "{}",
            String::from_utf8_lossy(&plan.stderr)
        );
        assert!(String::from_utf8_lossy(&plan.stdout).contains("RedHat:RHEL:9-lvm-gen2:latest"));
    }
}

/// Reinstalling another build under the same version: `terraform init` in a
/// workspace that locked the first build fails (its checksum is recorded),
/// `make install` says so, and doing what it says makes init work again.
#[test]
fn reinstalling_another_build_says_how_to_fix_the_lock_file() {
    let mirror = tempfile::tempdir().unwrap();
    let install = |bin: &std::path::Path| {
        let out = Command::new(repo_root().join("scripts/install.sh"))
            .arg(mirror.path())
            .env("RHELAZURE_INSTALL_BIN", bin)
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let provider = provider_dir().join("terraform-provider-rhelazure");
    let first = install(&provider);
    assert!(!first.contains("note:"), "{first}");
    assert!(
        !install(&provider).contains("note:"),
        "the same build again needs nothing"
    );

    let tf = &terraforms()[0];
    let work = tempfile::tempdir().unwrap();
    write_mirror_config(work.path(), mirror.path());
    std::fs::write(
        work.path().join("main.tf"),
        "terraform {\n  required_providers {\n    rhelazure = { source = \"rhel-on-azure/rhelazure\" }\n  }\n}\n",
    )
    .unwrap();
    let init = || {
        Command::new(&tf.path)
            .args(["init", "-no-color", "-input=false"])
            .current_dir(work.path())
            .env("TF_CLI_CONFIG_FILE", work.path().join("cli.tfrc"))
            .env("CHECKPOINT_DISABLE", "1")
            .output()
            .unwrap()
    };
    assert!(init().status.success());

    // "Another build": any other file stands in, since only init runs below.
    let other = work.path().join("rebuilt");
    let mut bytes = std::fs::read(&provider).unwrap();
    bytes.extend_from_slice(b"rebuilt");
    std::fs::write(&other, bytes).unwrap();
    let note = install(&other);
    assert!(
        note.contains("note:") && note.contains(".terraform.lock.hcl"),
        "{note}"
    );
    let refused = init();
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("checksums previously recorded"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    // What the note says: drop the provider's block from the lock file, init again.
    let lock = work.path().join(".terraform.lock.hcl");
    let text = std::fs::read_to_string(&lock).unwrap();
    let start = text
        .find("provider \"registry.terraform.io/rhel-on-azure/rhelazure\"")
        .unwrap();
    let end = start + text[start..].find("\n}\n").unwrap() + 3;
    std::fs::write(&lock, format!("{}{}", &text[..start], &text[end..])).unwrap();
    let again = init();
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
}
