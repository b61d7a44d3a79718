//! Day-2 actions (Terraform 1.14+) on VMs made out of band, through the real
//! Terraform: `rhelazure_host_update` (dnf in package mode, bootc upgrade and
//! switch in image mode, reboot policies, progress, a failure's exit code and
//! stderr, a VM that is stopped or not RHEL refused before anything runs)
//! invoked with `-invoke` and from `action_trigger`; `rhelazure_host_register`
//! (registers, then is a no-op; another organization is an error; the
//! write-only key never reaches plan, state or logs).

use rhelazure_acceptance_tests::{
    eventually, terraforms, LocalCloud, Terraform, Workspace, SETTLE,
};
use serde_json::{json, Value};

const KEY: &str = "host-register-key-7f3a91";

/// A VM made "by another tool" from `image` (an imageReference); returns its id.
fn vm(cloud: &LocalCloud, name: &str, image: Value, size: &str) -> String {
    let sub = cloud.get("ARM_SUBSCRIPTION_ID");
    let rg = format!("/subscriptions/{sub}/resourceGroups/rhel-demo");
    let nic = format!("{rg}/providers/Microsoft.Network/networkInterfaces/{name}-nic");
    cloud.arm_settled("PUT", &format!("{nic}?api-version=2024-01-01"), Some(json!({ "location": "eastus", "properties": { "ipConfigurations": [{ "name": "p", "properties": { "subnet": { "id": format!("{rg}/providers/Microsoft.Network/virtualNetworks/rhel-demo-vnet/subnets/hosts") } } }] } })));
    let id = format!("{rg}/providers/Microsoft.Compute/virtualMachines/{name}");
    let (s, b) = cloud.arm_settled("PUT", &format!("{id}?api-version=2024-03-01"), Some(json!({
        "location": "eastus",
        "properties": {
            "hardwareProfile": { "vmSize": size },
            "storageProfile": { "imageReference": image, "osDisk": { "createOption": "FromImage" } },
            "osProfile": { "computerName": name, "adminUsername": "cloud-user", "linuxConfiguration": { "disablePasswordAuthentication": true, "ssh": { "publicKeys": [{ "path": "/home/cloud-user/.ssh/authorized_keys", "keyData": "ssh-ed25519 AAAA k" }] } } },
            "networkProfile": { "networkInterfaces": [{ "id": nic }] }
        }
    })));
    assert_eq!(s, 201, "{b}");
    id
}

fn rhel() -> Value {
    json!({ "publisher": "RedHat", "offer": "RHEL", "sku": "9-lvm-gen2", "version": "latest" })
}

fn guest(cloud: &LocalCloud, vm: &str) -> Value {
    cloud
        .control("GET", &format!("guest?vm={vm}"), Value::Null)
        .1
}

fn the_one(tfs: Vec<Terraform>) -> Option<Terraform> {
    tfs.into_iter().find(|t| t.at_least(1, 14))
}

#[test]
fn host_update_through_invoke_and_triggers() {
    let Some(tf) = the_one(terraforms()) else {
        return eprintln!("skipped: no Terraform 1.14+ for actions");
    };
    let cloud = LocalCloud::start();
    let packages = vm(&cloud, "pkg-host", rhel(), "Standard_D2s_v5");
    // Arm64: the v1 action path.
    let arm64 = json!({ "publisher": "RedHat", "offer": "rhel-arm64", "sku": "9_6-arm64", "version": "latest" });
    let image_mode = vm(&cloud, "img-host", arm64, "Standard_D2ps_v5");
    cloud.control(
        "PATCH",
        &format!("guest?vm={image_mode}"),
        json!({ "booted_image": "quay.io/acme/os:1" }),
    );
    let config = format!(
        r#"
provider "rhelazure" {{}}

variable "os_image" {{
  type    = string
  default = "quay.io/acme/os:1"
}}

action "rhelazure_host_update" "packages" {{
  config {{
    virtual_machine_id = "{packages}"
    mode               = "dnf_upgrade"
    reboot             = "always"
  }}
}}

action "rhelazure_host_update" "wrong_mode" {{
  config {{
    virtual_machine_id = "{packages}"
    mode               = "bootc_upgrade"
  }}
}}

action "rhelazure_host_update" "upgrade" {{
  config {{
    virtual_machine_id = "{image_mode}"
    mode               = "bootc_upgrade"
    reboot             = "never"
  }}
}}

action "rhelazure_host_update" "switch" {{
  config {{
    virtual_machine_id = "{image_mode}"
    mode               = "bootc_switch"
    image              = var.os_image
  }}
}}

# The switch runs whenever the wanted image changes.
resource "terraform_data" "os_image" {{
  input = var.os_image
  lifecycle {{
    action_trigger {{
      events  = [after_update]
      actions = [action.rhelazure_host_update.switch]
    }}
  }}
}}
"#
    );
    let ws = Workspace::new(&tf, &config).cloud(&cloud);

    // dnf in package mode, with a reboot; progress reaches the user.
    let r = ws.run(&[
        "apply",
        "-auto-approve",
        "-no-color",
        "-invoke=action.rhelazure_host_update.packages",
    ]);
    r.ok();
    assert!(
        r.all().contains("dnf_upgrade on") && r.all().contains("managed Run Command"),
        "{}",
        r.all()
    );
    let g = guest(&cloud, &packages);
    assert_eq!(
        (&g["dnf_upgrades"], &g["reboots"]),
        (&json!(1), &json!(1)),
        "{g}"
    );

    // A command that fails: its exit code and stderr reach the user.
    let r = ws.run(&[
        "apply",
        "-auto-approve",
        "-no-color",
        "-invoke=action.rhelazure_host_update.wrong_mode",
    ]);
    assert_ne!(r.code, 0);
    assert!(
        r.all().contains("Command on the host failed")
            && r.all().contains("Not booted into a bootc deployment"),
        "{}",
        r.all()
    );

    // bootc upgrade on an Arm64 host (action runCommand), staged only.
    cloud.control(
        "PATCH",
        &format!("guest?vm={image_mode}"),
        json!({ "latest_digest": "sha256:0a1b2c" }),
    );
    let r = ws.run(&[
        "apply",
        "-auto-approve",
        "-no-color",
        "-invoke=action.rhelazure_host_update.upgrade",
    ]);
    r.ok();
    assert!(r.all().contains("Arm64: action runCommand"), "{}", r.all());
    let g = guest(&cloud, &image_mode);
    assert_eq!(g["booted_digest"], "sha256:0a1b2c", "{g}");
    assert!(g["reboots"].is_null(), "reboot = never: {g}");

    // From a trigger: a new image in the configuration switches the host.
    ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
    ws.write_config(&config.replace(
        "default = \"quay.io/acme/os:1\"",
        "default = \"quay.io/acme/os:2\"",
    ));
    let r = ws.run(&["apply", "-auto-approve", "-no-color"]);
    r.ok();
    assert_eq!(
        guest(&cloud, &image_mode)["booted_image"],
        "quay.io/acme/os:2",
        "{}",
        r.all()
    );
    ws.assert_no_changes();

    // Refused before anything runs: a stopped VM, a VM that is not RHEL.
    let (s, _) = cloud.arm(
        "POST",
        &format!("{packages}/deallocate?api-version=2024-03-01"),
        None,
    );
    assert!(s < 300);
    eventually("the VM is deallocated", SETTLE, || {
        let (_, v) = cloud.arm(
            "GET",
            &format!("{packages}?$expand=instanceView&api-version=2024-03-01"),
            None,
        );
        v.to_string().contains("PowerState/deallocated")
    });
    let before = cloud
        .control("GET", "run-commands", Value::Null)
        .1
        .as_array()
        .map_or(0, Vec::len);
    let r = ws.run(&[
        "apply",
        "-auto-approve",
        "-no-color",
        "-invoke=action.rhelazure_host_update.packages",
    ]);
    assert_ne!(r.code, 0);
    assert!(
        r.all().contains("The virtual machine is not running")
            && r.all().contains("virtual_machine_id"),
        "{}",
        r.all()
    );
    let after = cloud
        .control("GET", "run-commands", Value::Null)
        .1
        .as_array()
        .map_or(0, Vec::len);
    assert_eq!(before, after, "nothing ran");
    let sub = cloud.get("ARM_SUBSCRIPTION_ID");
    let image = format!("/subscriptions/{sub}/resourceGroups/rhel-demo/providers/Microsoft.Compute/images/other-img");
    cloud.managed_image(&image);
    let other = vm(
        &cloud,
        "other-host",
        json!({ "id": image }),
        "Standard_D2s_v5",
    );
    let not_rhel = Workspace::new(&tf, &format!("provider \"rhelazure\" {{}}\naction \"rhelazure_host_update\" \"u\" {{\n  config {{\n    virtual_machine_id = \"{other}\"\n    mode = \"dnf_upgrade\"\n  }}\n}}\n")).cloud(&cloud);
    let r = not_rhel.run(&[
        "apply",
        "-auto-approve",
        "-no-color",
        "-invoke=action.rhelazure_host_update.u",
    ]);
    assert_ne!(r.code, 0);
    assert!(
        r.all().contains("Not a RHEL virtual machine"),
        "{}",
        r.all()
    );
    // Bad input at validate, with the attribute.
    let bad = Workspace::new(&tf, &format!("provider \"rhelazure\" {{}}\naction \"rhelazure_host_update\" \"u\" {{\n  config {{\n    virtual_machine_id = \"{other}\"\n    mode = \"bootc_switch\"\n  }}\n}}\n")).cloud(&cloud);
    let r = bad.run(&["validate", "-no-color"]);
    assert!(r.all().contains("Missing image"), "{}", r.all());
}

#[test]
fn host_register_is_idempotent_and_keeps_the_key_out_of_everything() {
    let Some(tf) = the_one(terraforms()) else {
        return eprintln!("skipped: no Terraform 1.14+ for actions");
    };
    let cloud = LocalCloud::start();
    let host = vm(&cloud, "reg-host", rhel(), "Standard_D2s_v5");
    let config = |org: &str| {
        format!(
            r#"
provider "rhelazure" {{}}

variable "activation_key" {{
  type      = string
  sensitive = true
  ephemeral = true
}}

action "rhelazure_host_register" "r" {{
  config {{
    virtual_machine_id = "{host}"
    organization       = "{org}"
    activation_key_wo  = var.activation_key
  }}
}}
"#
        )
    };
    let ws = Workspace::new(&tf, &config("11009103"))
        .cloud(&cloud)
        .env("TF_VAR_activation_key", KEY)
        .secret(KEY);
    let invoke = [
        "apply",
        "-auto-approve",
        "-no-color",
        "-invoke=action.rhelazure_host_register.r",
    ];
    let r = ws.run(&invoke);
    r.ok();
    assert!(
        r.all().contains("registered with organization 11009103"),
        "{}",
        r.all()
    );
    let g = guest(&cloud, &host);
    assert_eq!(
        (&g["registered"], &g["registered_org"]),
        (&json!(true), &json!("11009103")),
        "{g}"
    );
    let r = ws.run(&invoke);
    r.ok();
    assert!(
        r.all()
            .contains("already registered with organization 11009103: nothing to do"),
        "{}",
        r.all()
    );
    // No script carried the key: it went as a protected parameter.
    let runs = cloud.control("GET", "run-commands", Value::Null).1;
    assert!(!runs.to_string().contains(KEY), "{runs}");
    ws.write_config(&config("22222222"));
    let r = ws.run(&invoke);
    assert_ne!(r.code, 0);
    assert!(
        r.all().contains("Registered with another organization"),
        "{}",
        r.all()
    );
}
