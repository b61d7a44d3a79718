//! `make install` (scripts/install.sh) produces a filesystem mirror from which
//! `terraform init` installs the provider without dev_overrides.

use std::process::Command;

use rhelazure_acceptance_tests::{provider_dir, repo_root, terraforms};

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
        std::fs::write(
            work.path().join("cli.tfrc"),
            format!(
                "provider_installation {{\n  filesystem_mirror {{\n    path = \"{}\"\n    include = [\"rhel-on-azure/*\"]\n  }}\n}}\n",
                mirror.path().display()
            ),
        )
        .unwrap();
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
