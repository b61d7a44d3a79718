//! `modules/rhel-golden-image` through Terraform's own `terraform test`: its
//! mocked tests with no cloud at all, and its local-cloud test (compose,
//! gallery, replicated version, Trusted Launch host from `latest`), after
//! which nothing is left; and `examples/golden-image-pipeline`, which uses
//! the module, applied, re-planned and destroyed.

use rhelazure_acceptance_tests::{terraforms, LocalCloud, Workspace};

const KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGoldenImageKey ops@example";

fn subnet(cloud: &LocalCloud) -> String {
    format!(
        "/subscriptions/{}/resourceGroups/rhel-demo/providers/Microsoft.Network/virtualNetworks/rhel-demo-vnet/subnets/hosts",
        cloud.get("ARM_SUBSCRIPTION_ID")
    )
}

#[test]
fn the_module_passes_its_terraform_tests() {
    let cloud = LocalCloud::start();
    for tf in terraforms() {
        // Mocked: no cloud, no credentials.
        let ws = Workspace::from_dir(&tf, "modules/rhel-golden-image");
        let r = ws.run(&["test", "-no-color", "-filter=tests/mocked.tftest.hcl"]);
        assert_eq!(r.code, 0, "terraform {}: {}", tf.version, r.all());
        assert!(r.all().contains("5 passed, 0 failed"), "{}", r.all());

        // Against the local cloud: terraform test applies, asserts, destroys.
        let before = cloud.inventory();
        let ws = Workspace::from_dir(&tf, "modules/rhel-golden-image")
            .cloud(&cloud)
            .env("TF_VAR_subnet_id", &subnet(&cloud))
            .env("TF_VAR_ssh_public_keys", &format!("[\"{KEY}\"]"));
        let r = ws.run(&["test", "-no-color", "-filter=tests/local_cloud.tftest.hcl"]);
        assert_eq!(r.code, 0, "terraform {}: {}", tf.version, r.all());
        assert!(r.all().contains("1 passed, 0 failed"), "{}", r.all());
        let left = cloud.inventory().since(&before);
        // An Image Builder compose stays in Red Hat's history (not a resource).
        let left: Vec<_> = left
            .iter()
            .filter(|(k, n)| **n > 0 && !k.starts_with("compose "))
            .collect();
        assert!(
            left.is_empty(),
            "terraform {}: left behind {left:?}",
            tf.version
        );
    }
}

#[test]
fn the_golden_image_pipeline_example_applies_and_destroys() {
    let cloud = LocalCloud::start();
    let tf = terraforms().into_iter().next().expect("a Terraform");
    let ws = Workspace::from_example(&tf, "golden-image-pipeline")
        .cloud(&cloud)
        .env("TF_VAR_ssh_public_key", KEY);
    // The module is where the repository keeps it.
    let main = ws.path().join("main.tf");
    let text = std::fs::read_to_string(&main).unwrap();
    let module = rhelazure_acceptance_tests::repo_root().join("modules/rhel-golden-image");
    let at = text.replace(
        "\"../../modules/rhel-golden-image\"",
        &format!("\"{}\"", module.display()),
    );
    assert_ne!(at, text, "the example uses the module");
    std::fs::write(&main, at).unwrap();
    ws.run(&["get", "-no-color"]).ok();
    ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
    ws.assert_no_changes();
    let out = ws.run(&["output", "-json"]).ok().json();
    let hosts = out["hosts"]["value"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(hosts.len(), 2, "{out}");
    assert!(
        hosts.iter().all(|h| h["security_type"] == "TrustedLaunch"),
        "{out}"
    );
    ws.run(&["destroy", "-auto-approve", "-no-color"]).ok();
}
