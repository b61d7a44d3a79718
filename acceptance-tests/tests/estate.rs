//! Inventory and adoption of an existing RHEL estate (Terraform 1.14+ list
//! resources): VMs made out of band through ARM in three resource groups
//! (pay-as-you-go, a gold image, a VM converted with Hybrid Benefit, and one
//! that is not RHEL) -> `terraform query` (text and JSON) -> generated
//! configuration -> a plan that imports exactly the RHEL VMs and changes
//! nothing -> apply adopts them -> a license change through Terraform. The
//! workspace is `examples/estate-inventory`. On Terraform 1.11 it still plans
//! (query files are ignored).

use rhelazure_acceptance_tests::{
    repo_root, terraform_with_query, terraforms, LocalCloud, Workspace,
};
use serde_json::json;

const COMPUTE: &str = "2024-03-01";

/// Cloud Access and the gold image's terms, as a platform team would have
/// them before any gold-image VM; outputs the gold image's URN.
const PLATFORM: &str = r#"
provider "rhelazure" {}

resource "rhelazure_cloud_access" "this" {
  name = "estate"
}

data "rhelazure_marketplace_image" "gold" {
  location     = "eastus"
  rhel_version = "9.6"
  billing      = "byos"
  depends_on   = [rhelazure_cloud_access.this]
}

resource "rhelazure_marketplace_agreement" "gold" {
  publisher = data.rhelazure_marketplace_image.gold.plan.publisher
  offer     = data.rhelazure_marketplace_image.gold.plan.product
  plan      = data.rhelazure_marketplace_image.gold.plan.name
}

output "urn" { value = data.rhelazure_marketplace_image.gold.urn }
"#;

const QUERY: &str = r#"
list "rhelazure_vm_license" "all" {
  provider         = rhelazure
  include_resource = true
}

list "rhelazure_vm_license" "group_b" {
  provider = rhelazure
  config {
    resource_group_name = "estate-b"
  }
}

list "rhelazure_vm_license" "tagged" {
  provider = rhelazure
  config {
    tags = { team = "sap" }
  }
}

list "rhelazure_vm_license" "two" {
  provider = rhelazure
  limit    = 2
}
"#;

/// A VM made "by another tool" in `group`, from `image` (an imageReference),
/// with an optional plan, license type and tags; returns its id.
fn vm(
    cloud: &LocalCloud,
    group: &str,
    name: &str,
    image: serde_json::Value,
    extra: serde_json::Value,
) -> String {
    let sub = cloud.get("ARM_SUBSCRIPTION_ID");
    let demo = format!("/subscriptions/{sub}/resourceGroups/rhel-demo");
    let rg = format!("/subscriptions/{sub}/resourceGroups/{group}");
    let nic = format!("{rg}/providers/Microsoft.Network/networkInterfaces/{name}-nic");
    cloud.arm_settled("PUT", &format!("{nic}?api-version=2024-01-01"), Some(json!({ "location": "eastus", "properties": { "ipConfigurations": [{ "name": "p", "properties": { "subnet": { "id": format!("{demo}/providers/Microsoft.Network/virtualNetworks/rhel-demo-vnet/subnets/hosts") } } }] } })));
    let id = format!("{rg}/providers/Microsoft.Compute/virtualMachines/{name}");
    let mut body = json!({
        "location": "eastus",
        "properties": {
            "hardwareProfile": { "vmSize": "Standard_D2s_v5" },
            "storageProfile": { "imageReference": image, "osDisk": { "createOption": "FromImage", "deleteOption": "Delete" } },
            "osProfile": { "computerName": name, "adminUsername": "cloud-user", "linuxConfiguration": { "disablePasswordAuthentication": true, "ssh": { "publicKeys": [{ "path": "/home/cloud-user/.ssh/authorized_keys", "keyData": "ssh-ed25519 AAAA k" }] } } },
            "networkProfile": { "networkInterfaces": [{ "id": nic }] }
        }
    });
    for (k, v) in extra.as_object().into_iter().flatten() {
        match k.as_str() {
            "licenseType" => body["properties"][k] = v.clone(),
            _ => body[k] = v.clone(),
        }
    }
    let (s, b) = cloud.arm_settled("PUT", &format!("{id}?api-version={COMPUTE}"), Some(body));
    assert_eq!(s, 201, "{name}: {b}");
    id
}

fn marketplace(urn: &str) -> serde_json::Value {
    let p: Vec<&str> = urn.split(':').collect();
    json!({ "publisher": p[0], "offer": p[1], "sku": p[2], "version": p[3] })
}

/// The estate: five RHEL VMs and one that is not, in three resource groups.
fn build_estate(cloud: &LocalCloud, gold_urn: &str) -> Vec<(String, &'static str)> {
    let sub = cloud.get("ARM_SUBSCRIPTION_ID");
    for g in ["estate-a", "estate-b", "estate-c"] {
        let (s, b) = cloud.arm(
            "PUT",
            &format!("/subscriptions/{sub}/resourcegroups/{g}?api-version=2024-03-01"),
            Some(json!({ "location": "eastus" })),
        );
        assert!(s < 300, "{b}");
    }
    let gold = marketplace(gold_urn);
    let plan = json!({ "publisher": "redhat", "product": gold["offer"], "name": gold["sku"] });
    // A custom image with no RHEL plan or license: not RHEL as far as Azure can tell.
    let image = format!(
        "/subscriptions/{sub}/resourceGroups/estate-c/providers/Microsoft.Compute/images/other-img"
    );
    cloud.managed_image(&image);
    vec![
        (
            vm(
                cloud,
                "estate-a",
                "payg-1",
                marketplace("RedHat:RHEL:9-lvm-gen2:latest"),
                json!({}),
            ),
            "PAYG",
        ),
        (
            vm(
                cloud,
                "estate-a",
                "payg-2",
                marketplace("RedHat:RHEL:96-gen2:latest"),
                json!({ "tags": { "team": "sap" } }),
            ),
            "PAYG",
        ),
        (
            vm(cloud, "estate-b", "gold-1", gold, json!({ "plan": plan })),
            "BYOS (gold image)",
        ),
        (
            vm(
                cloud,
                "estate-b",
                "ahb-1",
                marketplace("RedHat:RHEL:9-lvm-gen2:latest"),
                json!({ "licenseType": "RHEL_BYOS" }),
            ),
            "BYOS (Hybrid Benefit)",
        ),
        (
            vm(
                cloud,
                "estate-c",
                "payg-3",
                marketplace("RedHat:RHEL:10-lvm-gen2:latest"),
                json!({}),
            ),
            "PAYG",
        ),
        (
            vm(
                cloud,
                "estate-c",
                "other-1",
                json!({ "id": image }),
                json!({}),
            ),
            "",
        ),
    ]
}

#[test]
fn inventory_and_adopt_an_existing_estate() {
    let cloud = LocalCloud::start();
    // Two VMs per page: every list below follows nextLink.
    cloud.configure(json!({ "list_page_size": 2 }));
    let tfs = terraforms();
    let platform = Workspace::new(&tfs[0], PLATFORM).cloud(&cloud);
    platform.run(&["apply", "-auto-approve", "-no-color"]).ok();
    let gold_urn = platform.run(&["output", "-raw", "urn"]).ok().stdout.clone();
    let estate = build_estate(&cloud, &gold_urn);
    let rhel: Vec<&(String, &str)> = estate.iter().filter(|(_, b)| !b.is_empty()).collect();

    let mut queried = false;
    for tf in &tfs {
        // The example users copy, plus the filters and limits tested here.
        let ws = Workspace::from_example(tf, "estate-inventory").cloud(&cloud);
        let example = repo_root().join("examples/estate-inventory/estate.tfquery.hcl");
        std::fs::copy(example, ws.path().join("estate.tfquery.hcl")).unwrap();
        ws.write_query("filters", QUERY);
        if !tf.at_least(1, 14) {
            // Query files are not configuration to Terraform before 1.14.
            ws.run(&["plan", "-no-color"]).ok();
            continue;
        }
        queried = true;

        // Text: one line per RHEL VM, saying how it is billed; the filters and the limit hold.
        let r = ws.query();
        let lines = |list: &str| r.listed(&format!("rhelazure_vm_license.{list}"));
        assert_eq!(lines("all").len(), rhel.len(), "{}", r.stdout);
        assert_eq!(
            lines("rhel_vms").len(),
            rhel.len(),
            "the example's list:\n{}",
            r.stdout
        );
        for (id, billing) in &rhel {
            let name = id.rsplit('/').next().unwrap();
            assert!(
                lines("all")
                    .iter()
                    .any(|l| l.contains(&format!("virtual_machine_name={name} "))
                        && l.ends_with(billing)),
                "{name} as {billing}:\n{}",
                r.stdout
            );
        }
        assert!(!r.stdout.contains("other-1"), "not RHEL:\n{}", r.stdout);
        assert_eq!(lines("group_b").len(), 2, "{}", r.stdout);
        assert!(lines("group_b")
            .iter()
            .all(|l| l.contains("resource_group_name=estate-b")));
        assert_eq!(lines("tagged").len(), 1, "{}", r.stdout);
        assert!(lines("tagged")[0].contains("payg-2"));
        assert_eq!(lines("two").len(), 2, "limit = 2:\n{}", r.stdout);

        // JSON: the objects carry what the estate is made of.
        let r = ws.run(&["query", "-json", "-no-color"]);
        r.ok();
        let found: Vec<serde_json::Value> = r
            .stdout
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|e| {
                e["type"] == "list_resource_found"
                    && e["list_resource_found"]["address"] == "list.rhelazure_vm_license.all"
            })
            .map(|e| e["list_resource_found"].clone())
            .collect();
        assert_eq!(found.len(), rhel.len(), "{}", r.stdout);
        let object = |name: &str| {
            found
                .iter()
                .find(|f| f["identity"]["virtual_machine_name"] == name)
                .map(|f| f["resource_object"].clone())
                .unwrap_or_else(|| panic!("{name} listed"))
        };
        let gold = object("gold-1");
        assert_eq!(gold["license_type"], "NONE");
        assert_eq!(gold["billing_model"], "BYOS (gold image)");
        assert!(
            gold["plan"]
                .as_str()
                .unwrap()
                .starts_with("redhat:rhel-byos:"),
            "{gold}"
        );
        assert_eq!(gold["rhel_version"], "9.6");
        let ahb = object("ahb-1");
        assert_eq!(
            (
                &ahb["license_type"],
                &ahb["power_state"],
                &ahb["architecture"]
            ),
            (&json!("RHEL_BYOS"), &json!("running"), &json!("x64"))
        );
        assert_eq!(
            object("payg-3")["rhel_version"]
                .as_str()
                .map(|v| v.starts_with("10.")),
            Some(true)
        );
        assert_eq!(object("payg-1")["security_type"], "Standard");

        // Generated configuration: the next plan imports exactly the RHEL VMs
        // and changes nothing; the apply adopts them.
        // (the example's list alone)
        std::fs::remove_file(ws.path().join("filters.tfquery.hcl")).unwrap();
        let generated = ws.generate_config();
        let plan = ws.plan_json();
        let changes = plan["resource_changes"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(changes.len(), rhel.len(), "{generated}");
        for c in &changes {
            assert_eq!(c["change"]["actions"], json!(["no-op"]), "{c}");
            assert!(c["change"]["importing"].is_object(), "{c}");
        }
        let r = ws.run(&["apply", "-auto-approve", "-no-color"]);
        r.ok();
        assert!(
            r.stdout.contains(&format!(
                "{} imported, 0 added, 0 changed, 0 destroyed",
                rhel.len()
            )),
            "{}",
            r.stdout
        );
        ws.assert_no_changes();

        // Adopted, it is managed: payg-1 moves to its own subscription (BYOS).
        let payg1 = &rhel[0].0;
        let at = generated
            .find(&format!("\"{payg1}\""))
            .expect("payg-1 generated");
        let start = generated[..at].rfind("resource \"").unwrap();
        let end = at + generated[at..].find("\n}\n").unwrap();
        let block = &generated[start..end];
        assert!(block.contains("license_type"), "{block}");
        let edited = format!(
            "{}{}{}",
            &generated[..start],
            block.replace("\"NONE\"", "\"RHEL_BYOS\""),
            &generated[end..]
        );
        std::fs::write(ws.path().join("generated.tf"), edited).unwrap();
        let plan = ws.plan_json();
        let change = plan["resource_changes"]
            .as_array()
            .and_then(|c| {
                c.iter()
                    .find(|c| c["change"]["before"]["id"] == json!(payg1))
            })
            .map(|c| c["change"].clone())
            .expect("payg-1 planned");
        assert_eq!(change["actions"], json!(["update"]));
        assert_eq!(
            change["after_unknown"],
            json!({ "billing_model": true }),
            "only the billing model follows a license change: {change}"
        );
        let r = ws.run(&["apply", "-auto-approve", "-no-color"]);
        r.ok();
        assert!(
            r.stdout.contains("0 added, 1 changed, 0 destroyed"),
            "{}",
            r.stdout
        );
        let (_, vm) = cloud.arm("GET", &format!("{payg1}?api-version={COMPUTE}"), None);
        assert_eq!(vm["properties"]["licenseType"], "RHEL_BYOS");
        ws.assert_no_changes();
        // Back as it was, for the next Terraform.
        ws.run(&["destroy", "-auto-approve", "-no-color"]).ok();
        let (_, vm) = cloud.arm("GET", &format!("{payg1}?api-version={COMPUTE}"), None);
        assert_eq!(vm["properties"]["licenseType"], "NONE");
    }
    assert!(queried || tfs.iter().all(|t| !t.at_least(1, 14)));
    cloud.assert_requests_in_spec();
}

/// 2,500 RHEL VMs: `terraform query` follows ARM's pages to the end when
/// asked for all of them, and stops at the limit when not (Terraform's
/// default limit is 100).
#[test]
fn a_large_estate_is_listed_page_by_page() {
    const VMS: usize = 2500;
    let tf = match terraform_with_query() {
        Some(tf) => tf,
        None => return eprintln!("skipped: no Terraform 1.14+ to run terraform query"),
    };
    let cloud = LocalCloud::start();
    cloud.seed_rhel_vms("big-", VMS);
    let ws = Workspace::from_example(&tf, "estate-inventory").cloud(&cloud);
    ws.write_query(
        "big",
        format!("list \"rhelazure_vm_license\" \"all\" {{\n  provider = rhelazure\n  limit    = {VMS}\n}}\n\nlist \"rhelazure_vm_license\" \"first\" {{\n  provider = rhelazure\n}}\n"),
    );
    cloud.control("DELETE", "requests", json!(null));
    let r = ws.query();
    let count = |list: &str| r.listed(&format!("rhelazure_vm_license.{list}")).len();
    assert_eq!(count("all"), VMS);
    assert_eq!(count("first"), 100, "Terraform's default limit");
    // The limited list read only the pages it needed (100 per page here).
    let pages = cloud
        .request_log()
        .iter()
        .filter(|e| {
            e["method"] == "GET"
                && e["path"].as_str().is_some_and(|p| {
                    p.to_ascii_lowercase()
                        .ends_with("/providers/microsoft.compute/virtualmachines")
                })
        })
        .count();
    assert!(
        pages <= VMS / 100 + 3,
        "{pages} list pages for {VMS} VMs listed twice, one list stopping at 100"
    );
}
