//! The Marketplace data sources, the SKU function, Cloud Access enrolment and
//! the BYOS flow in one apply (enrolment -> gold image found -> its terms
//! accepted), and the ephemeral Red Hat token, through real Terraform against
//! the local cloud.

use rhelazure_acceptance_tests::{terraform_with_query, terraforms, LocalCloud, Workspace};
use serde_json::json;

#[test]
fn marketplace_lookup_selectors_and_errors() {
    let cloud = LocalCloud::start();
    for tf in terraforms() {
        let ws = Workspace::new(
            &tf,
            r#"
data "rhelazure_marketplace_image" "rhel8" {
  location     = "eastus"
  rhel_version = "8"
}
data "rhelazure_marketplace_image" "arm" {
  location     = "eastus"
  rhel_version = "9.6"
  architecture = "arm64"
}
data "rhelazure_marketplace_image" "explicit" {
  location = "eastus"
  offer    = "RHEL"
  sku      = "9-lvm-gen2"
  version  = "9.4.2024081415"
}
data "rhelazure_marketplace_images" "rhel10" {
  location   = "eastus"
  rhel_major = "10"
}
output "rhel8" { value = data.rhelazure_marketplace_image.rhel8 }
output "arm" { value = data.rhelazure_marketplace_image.arm.urn }
output "arm_image" { value = data.rhelazure_marketplace_image.arm }
output "rhel10_images" { value = data.rhelazure_marketplace_images.rhel10.images }
output "explicit" { value = data.rhelazure_marketplace_image.explicit }
output "rhel10" { value = [for i in data.rhelazure_marketplace_images.rhel10.images : i.urn] }
output "sku" { value = provider::rhelazure::rhel_marketplace_sku({ rhel_version = "9.6", variant = "sap-ha" }) }
"#,
        )
        .cloud(&cloud);
        ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
        let out = ws.run(&["output", "-json"]).ok().json();
        let rhel8 = &out["rhel8"]["value"];
        assert_eq!(
            rhel8["version"], "8.10.2025012007",
            "terraform {}: latest is numeric, not a string sort",
            tf.version
        );
        assert_eq!(rhel8["sku"], "8-lvm-gen2");
        assert_eq!(rhel8["requires_plan"], false);
        // What the image supports, from its features.
        assert_eq!(rhel8["hyper_v_generation"], "V2");
        assert_eq!(rhel8["architecture_resolved"], "x64");
        assert_eq!(rhel8["security_type"], "TrustedLaunchSupported");
        assert_eq!(rhel8["accelerated_networking"], true);
        assert_eq!(rhel8["disk_controller_types"], json!(["SCSI", "NVMe"]));
        assert_eq!(
            rhel8["features"]["SecurityType"], "TrustedLaunchSupported",
            "{rhel8}"
        );
        let arm = &out["arm_image"]["value"];
        assert_eq!(arm["architecture_resolved"], "Arm64");
        assert_eq!(
            arm["security_type"],
            serde_json::Value::Null,
            "Arm64 images do not support Trusted Launch: {arm}"
        );
        let listed = out["rhel10_images"]["value"].as_array().unwrap();
        let gen2 = listed
            .iter()
            .find(|i| i["sku"] == "10-lvm-gen2")
            .expect("10-lvm-gen2 listed");
        assert_eq!(gen2["hyper_v_generation"], "V2");
        assert_eq!(gen2["architecture"], "x64");
        assert_eq!(gen2["security_type"], "TrustedLaunchSupported");
        assert_eq!(gen2["disk_controller_types"], json!(["SCSI", "NVMe"]));
        assert_eq!(gen2["features"]["IsAcceleratedNetworkSupported"], "True");
        assert_eq!(
            out["arm"]["value"],
            "RedHat:rhel-arm64:9_6-arm64:9.6.2025052113"
        );
        assert_eq!(
            out["explicit"]["value"]["image_state"],
            "ScheduledForDeprecation"
        );
        assert!(out["explicit"]["value"]["scheduled_deprecation_time"]
            .as_str()
            .unwrap()
            .starts_with("2026-12-31"));
        let rhel10: Vec<String> = serde_json::from_value(out["rhel10"]["value"].clone()).unwrap();
        assert!(
            rhel10.contains(&"RedHat:RHEL:10-lvm-gen2:10.1.2025111810".to_string()),
            "{rhel10:?}"
        );
        assert!(
            rhel10.iter().all(|u| !u.contains(":9")),
            "only RHEL 10: {rhel10:?}"
        );
        assert_eq!(out["sku"]["value"]["sku"], "96sapha-gen2");
        assert_eq!(out["sku"]["value"]["offer"], "RHEL-SAP-HA");

        // Bad input at validate/plan, pointing at the attribute.
        let bad = Workspace::new(&tf, "data \"rhelazure_marketplace_image\" \"x\" {\n  location = \"eastus\"\n  rhel_version = \"11\"\n}\n").cloud(&cloud);
        let r = bad.run(&["plan", "-no-color"]);
        assert_eq!(r.code, 1);
        assert!(
            r.all().contains("RHEL \"11\" is not published on Azure")
                && r.all().contains("rhel_version = \"11\""),
            "{}",
            r.all()
        );
        let half = Workspace::new(&tf, "data \"rhelazure_marketplace_image\" \"x\" {\n  location = \"eastus\"\n  offer = \"RHEL\"\n}\n").cloud(&cloud);
        assert!(half
            .run(&["plan", "-no-color"])
            .all()
            .contains("Set both offer and sku"));
        let missing = Workspace::new(&tf, "data \"rhelazure_marketplace_image\" \"x\" {\n  location = \"eastus\"\n  offer = \"RHEL\"\n  sku = \"9_9\"\n}\n").cloud(&cloud);
        let r = missing.run(&["plan", "-no-color"]);
        assert!(
            r.all().contains("has no SKU \"9_9\"") && r.all().contains("9-lvm-gen2"),
            "names what exists: {}",
            r.all()
        );
        let byos = Workspace::new(&tf, "data \"rhelazure_marketplace_image\" \"x\" {\n  location = \"eastus\"\n  rhel_version = \"9.6\"\n  billing = \"byos\"\n}\n").cloud(&cloud);
        assert!(
            byos.run(&["plan", "-no-color"])
                .all()
                .contains("rhelazure_cloud_access"),
            "the fix for invisible gold images is named"
        );
    }
}

const BYOS: &str = r#"
provider "rhelazure" {}

resource "rhelazure_cloud_access" "this" {
  name = "byos-demo"
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
output "skus" { value = rhelazure_cloud_access.this.byos_skus }
output "source" { value = rhelazure_cloud_access.this.id }
"#;

#[test]
fn byos_enrolment_image_and_terms_in_one_apply() {
    let cloud = LocalCloud::start();
    let sub = cloud.get("ARM_SUBSCRIPTION_ID");
    for tf in terraforms() {
        let ws = Workspace::new(&tf, BYOS).cloud(&cloud);
        ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
        let out = ws.run(&["output", "-json"]).ok().json();
        assert_eq!(
            out["urn"]["value"], "RedHat:rhel-byos:rhel-lvm96-gen2:9.6.2025052113",
            "terraform {}",
            tf.version
        );
        assert!(out["skus"]["value"].as_array().unwrap().len() >= 3);
        let terms = cloud.arm("GET", &format!("/subscriptions/{sub}/providers/Microsoft.MarketplaceOrdering/offerTypes/virtualmachine/publishers/redhat/offers/rhel-byos/plans/rhel-lvm96-gen2/agreements/current?api-version=2021-01-01"), None).1;
        assert_eq!(terms["properties"]["accepted"], true);
        ws.assert_no_changes();

        // Rename in place; another subscription replaces.
        ws.write_config(&BYOS.replace("byos-demo", "byos-renamed"));
        assert_eq!(
            ws.planned_actions("rhelazure_cloud_access.this"),
            vec!["update"]
        );
        ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
        let id = out["source"]["value"].as_str().unwrap().to_string();
        assert_eq!(
            cloud
                .redhat("GET", &format!("/api/sources/v3.1/sources/{id}"), None)
                .1["name"],
            "byos-renamed"
        );
        ws.assert_no_changes();

        // Import by the Sources id reproduces the state.
        let imp = Workspace::new(
            &tf,
            "resource \"rhelazure_cloud_access\" \"this\" {\n  name = \"byos-renamed\"\n}\n",
        )
        .cloud(&cloud);
        imp.run(&["import", "-no-color", "rhelazure_cloud_access.this", &id])
            .ok();
        imp.assert_no_changes();
        if tf.has_resource_identity() {
            imp.assert_imports_by_identity(
                &cloud,
                "resource \"rhelazure_cloud_access\" \"this\" {\n  name = \"byos-renamed\"\n}\n",
                "rhelazure_cloud_access.this",
            );
        }

        // Destroy: terms cancelled (this configuration accepted them), enrolment removed.
        ws.run(&["destroy", "-auto-approve", "-no-color"]).ok();
        assert_eq!(
            cloud
                .redhat("GET", &format!("/api/sources/v3.1/sources/{id}"), None)
                .0,
            404
        );
        assert!(
            cloud.state()["sources"].as_object().unwrap().is_empty(),
            "no source left"
        );
        let offers = cloud.arm("GET", &format!("/subscriptions/{sub}/providers/Microsoft.Compute/locations/eastus/publishers/RedHat/artifacttypes/vmimage/offers?api-version=2024-03-01"), None).1;
        assert!(
            !offers.to_string().contains("rhel-byos"),
            "gold images withdrawn"
        );

        // Deleted out of band: plans a re-create.
        ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
        let id = ws.run(&["output", "-raw", "source"]).ok().stdout.clone();
        cloud.redhat("DELETE", &format!("/api/sources/v3.1/sources/{id}"), None);
        assert_eq!(
            ws.planned_actions("rhelazure_cloud_access.this"),
            vec!["create"]
        );
        ws.run(&["destroy", "-auto-approve", "-no-color"]).ok();
    }
    cloud.assert_requests_in_spec();
}

/// Enrolling a subscription other than the provider's (one with no resource
/// providers registered yet): the wait for gold images looks in that
/// subscription, registering Microsoft.Compute there on the way.
#[test]
fn enrolling_another_subscription_waits_for_its_own_gold_images() {
    let cloud = LocalCloud::start();
    let main = cloud.get("ARM_SUBSCRIPTION_ID");
    let fresh = "5ab5c41d-0000-4000-a000-0000000fe5e5";
    let config = format!(
        r#"
resource "rhelazure_cloud_access" "other" {{
  azure_subscription_id = "{fresh}"
  name                  = "other-subscription"
  timeouts {{
    create = "60s"
  }}
}}
output "available" {{ value = rhelazure_cloud_access.other.gold_images_available }}
output "skus" {{ value = rhelazure_cloud_access.other.byos_skus }}
"#
    );
    let ws = Workspace::new(&terraforms()[0], &config).cloud(&cloud);
    ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
    let out = ws.run(&["output", "-json"]).ok().json();
    assert_eq!(out["available"]["value"], true);
    assert!(!out["skus"]["value"].as_array().unwrap().is_empty());
    ws.assert_no_changes();
    let offers = |sub: &str| {
        cloud
            .arm("GET", &format!("/subscriptions/{sub}/providers/Microsoft.Compute/locations/eastus/publishers/RedHat/artifacttypes/vmimage/offers?api-version=2024-03-01"), None)
            .1
            .to_string()
    };
    assert!(
        offers(fresh).contains("rhel-byos"),
        "gold images in the enrolled subscription"
    );
    assert!(
        !offers(&main).contains("rhel-byos"),
        "not in the provider's"
    );
    let registered = cloud.request_log().iter().any(|e| {
        e["method"] == "POST"
            && e["path"] == format!("/subscriptions/{fresh}/providers/Microsoft.Compute/register")
    });
    assert!(
        registered,
        "Microsoft.Compute registered in the enrolled subscription"
    );
    // The data sources read that subscription's Marketplace when told to.
    let gold = |sub: &str| {
        format!("data \"rhelazure_marketplace_image\" \"g\" {{\n  location = \"eastus\"\n  rhel_version = \"9.6\"\n  billing = \"byos\"\n{sub}}}\noutput \"urn\" {{ value = data.rhelazure_marketplace_image.g.urn }}\ndata \"rhelazure_marketplace_images\" \"all\" {{\n  location = \"eastus\"\n  offer = \"rhel-byos\"\n{sub}}}\noutput \"n\" {{ value = length(data.rhelazure_marketplace_images.all.images) }}\n")
    };
    let there = Workspace::new(
        &terraforms()[0],
        &gold(&format!("  subscription_id = \"{fresh}\"\n")),
    )
    .cloud(&cloud);
    there.run(&["apply", "-auto-approve", "-no-color"]).ok();
    let out = there.run(&["output", "-json"]).ok().json();
    assert_eq!(
        out["urn"]["value"],
        "RedHat:rhel-byos:rhel-lvm96-gen2:9.6.2025052113"
    );
    assert!(out["n"]["value"].as_u64().unwrap() >= 3, "{out}");
    let here = Workspace::new(&terraforms()[0], &gold("")).cloud(&cloud);
    let r = here.run(&["plan", "-no-color"]);
    assert_ne!(r.code, 0, "the provider's subscription is not enrolled");
    ws.run(&["destroy", "-auto-approve", "-no-color"]).ok();
}

/// Red Hat can take hours to publish gold images. A create timeout that ends
/// first fails with that explanation, keeps the enrolment in state (tainted,
/// with its id, nothing left unknown), and a later apply converges with one
/// enrolment, not two.
#[test]
fn a_gold_image_wait_that_times_out_keeps_the_enrolment() {
    let cloud = LocalCloud::start();
    cloud.configure(json!({ "lro_delay_ms": 6000 }));
    let config = |timeout: &str| {
        format!(
            "resource \"rhelazure_cloud_access\" \"slow\" {{\n  name = \"slow-gold\"\n  timeouts {{\n    create = \"{timeout}\"\n  }}\n}}\n"
        )
    };
    let ws = Workspace::new(&terraforms()[0], &config("2s")).cloud(&cloud);
    let r = ws.run(&["apply", "-auto-approve", "-no-color"]);
    assert_ne!(r.code, 0);
    assert!(r.all().contains("Gold images not ready yet"), "{}", r.all());
    assert!(!r.all().contains("invalid result object"), "{}", r.all());
    let res = &ws.state_resources()[0];
    assert_eq!(res["address"], "rhelazure_cloud_access.slow");
    assert_eq!(res["tainted"], true, "{res}");
    assert!(
        res["values"]["id"].as_str().is_some_and(|i| !i.is_empty()),
        "{res}"
    );

    cloud.configure(json!({ "lro_delay_ms": 200 }));
    ws.write_config(&config("60s"));
    ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
    ws.assert_no_changes();
    let sources = cloud.state()["sources"].as_object().unwrap().len();
    assert_eq!(sources, 1, "one enrolment after the retry");
    ws.run(&["destroy", "-auto-approve", "-no-color"]).ok();
}

#[test]
fn ephemeral_token_reaches_a_provisioner_and_never_the_state() {
    let cloud = LocalCloud::start();
    for tf in terraforms() {
        let ws = Workspace::new(
            &tf,
            r#"
ephemeral "rhelazure_redhat_access_token" "t" {}

resource "terraform_data" "use" {
  provisioner "local-exec" {
    command = "test -n \"$TOKEN\" && test \"$(printf %s \"$TOKEN\" | cut -c1-3)\" = eyJ"
    environment = { TOKEN = ephemeral.rhelazure_redhat_access_token.t.access_token }
  }
}
"#,
        )
        .cloud(&cloud);
        ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
        let state = std::fs::read_to_string(ws.path().join("terraform.tfstate")).unwrap();
        assert!(
            !state.contains("eyJ"),
            "terraform {}: no token in the state",
            tf.version
        );
    }
}

/// Terraform 1.14+: a Cloud Access enrolment made by another team's
/// configuration is listed by `terraform query` and adopted through the
/// generated configuration with no changes.
#[test]
fn cloud_access_enrolments_are_listed_and_adopted() {
    let Some(tf) = terraform_with_query() else {
        return eprintln!("skipped: no Terraform 1.14+ to run terraform query");
    };
    let cloud = LocalCloud::start();
    let sub = cloud.get("ARM_SUBSCRIPTION_ID");
    let other = Workspace::new(&tf, "provider \"rhelazure\" {}\n\nresource \"rhelazure_cloud_access\" \"this\" {\n  name = \"made-elsewhere\"\n}\n").cloud(&cloud);
    other.run(&["apply", "-auto-approve", "-no-color"]).ok();
    let ws = Workspace::new(&tf, "provider \"rhelazure\" {}\n").cloud(&cloud);
    ws.write_query("enrolments", format!("list \"rhelazure_cloud_access\" \"mine\" {{\n  provider = rhelazure\n  config {{\n    azure_subscription_id = \"{sub}\"\n  }}\n}}\n"));
    let r = ws.query();
    let lines = r.listed("rhelazure_cloud_access.mine");
    assert_eq!(lines.len(), 1, "{}", r.stdout);
    assert!(
        lines[0].contains(&format!("made-elsewhere (subscription {sub}): available")),
        "{}",
        r.stdout
    );
    ws.generate_config();
    let r = ws.run(&["apply", "-auto-approve", "-no-color"]);
    r.ok();
    assert!(
        r.stdout
            .contains("1 imported, 0 added, 0 changed, 0 destroyed"),
        "{}",
        r.stdout
    );
    ws.assert_no_changes();
    assert_eq!(
        ws.identity("rhelazure_cloud_access.mine_0"),
        other.identity("rhelazure_cloud_access.this"),
        "the same enrolment"
    );
    other.run(&["destroy", "-auto-approve", "-no-color"]).ok();
}

/// A source of the wanted name that enrols another subscription belongs to
/// someone else: the create is refused at `name`, naming the source, and the
/// source is left as it was. Names with spaces, `&`, `+`, `#` and `%` go
/// through Red Hat's `filter[name]` query intact (the lookup finds the
/// source, the adoption check reads it); an enrolment under such a name
/// applies, reads back unchanged and imports.
#[test]
fn a_source_enrolling_another_subscription_is_not_adopted() {
    let cloud = LocalCloud::start();
    let tf = &terraforms()[0];
    let odd = "team a&b + c #1 100%";
    let fresh = "5ab5c41d-0000-4000-a000-0000000fe5e5";
    let theirs = Workspace::new(
        tf,
        &format!("resource \"rhelazure_cloud_access\" \"theirs\" {{\n  name = \"{odd}\"\n  azure_subscription_id = \"{fresh}\"\n  wait_for_gold_images = false\n}}\n"),
    )
    .cloud(&cloud);
    theirs.run(&["apply", "-auto-approve", "-no-color"]).ok();
    let before = cloud.state()["sources"].clone();
    assert_eq!(before.as_object().unwrap().len(), 1, "{before}");

    let mine = |name: &str| {
        format!("resource \"rhelazure_cloud_access\" \"mine\" {{\n  name = \"{name}\"\n  wait_for_gold_images = false\n}}\n")
    };
    let ws = Workspace::new(tf, &mine(odd)).cloud(&cloud);
    let r = ws.run(&["apply", "-auto-approve", "-no-color"]);
    assert_ne!(r.code, 0, "{}", r.all());
    let all = r.all();
    assert!(
        all.contains("A Cloud Access source of this name enrols something else")
            && all.contains(&format!("subscription {fresh}"))
            && all.contains("left untouched"),
        "{all}"
    );
    assert!(all.contains("with rhelazure_cloud_access.mine"), "{all}");
    assert_eq!(cloud.state()["sources"], before, "their source untouched");
    let left = ws.state_resources();
    assert!(left.is_empty(), "nothing in state: {left:?}");

    // The same odd characters in a name of our own: found again on read,
    // no changes after apply, and importable by id.
    let own = format!("{odd} (ours)");
    ws.write_config(&mine(&own));
    ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
    ws.assert_no_changes();
    let res = &ws.state_resources()[0]["values"];
    assert_eq!(res["name"], own.as_str());
    let id = res["id"].as_str().unwrap().to_string();
    let lookups = cloud
        .request_log()
        .iter()
        .filter(|e| e["method"] == "GET" && e["path"] == "/redhat/api/sources/v3.1/sources")
        .filter_map(|e| e["query"]["filter[name]"].as_str().map(str::to_string))
        .collect::<Vec<_>>();
    assert!(lookups.contains(&odd.to_string()), "{lookups:?}");
    assert!(lookups.contains(&own), "{lookups:?}");
    // (wait_for_gold_images is not read from Red Hat: import takes its default.)
    let imp = Workspace::new(
        tf,
        &format!("resource \"rhelazure_cloud_access\" \"mine\" {{\n  name = \"{own}\"\n}}\n"),
    )
    .cloud(&cloud);
    imp.run(&["import", "-no-color", "rhelazure_cloud_access.mine", &id])
        .ok();
    imp.assert_no_changes();
    ws.run(&["destroy", "-auto-approve", "-no-color"]).ok();
    theirs.run(&["destroy", "-auto-approve", "-no-color"]).ok();
    assert_eq!(cloud.state()["sources"], json!({}), "nothing left");
}

/// The Marketplace may list `rhel-byos` to every subscription; buying a gold
/// image still needs Red Hat's gold image access. In that mode the listing
/// proves nothing, so `rhelazure_cloud_access` waits for RHSM's
/// `goldImageAccess` to be `Granted` (it was seen `Requested` first), and
/// the BYOS flow of one apply still works. When Red Hat answers `Failed`,
/// the create ends with that, the enrolment kept (tainted) for a retry.
#[test]
fn gold_images_listed_to_everyone_wait_for_red_hats_grant() {
    let cloud = LocalCloud::start();
    let tf = &terraforms()[0];
    let sub = cloud.get("ARM_SUBSCRIPTION_ID");
    cloud.configure(json!({ "gold_images_listed_to_all": true, "lro_delay_ms": 1500 }));
    let offers = cloud.arm("GET", &format!("/subscriptions/{sub}/providers/Microsoft.Compute/locations/eastus/publishers/RedHat/artifacttypes/vmimage/offers?api-version=2024-03-01"), None).1;
    assert!(
        offers.to_string().contains("rhel-byos"),
        "listed before any enrolment: {offers}"
    );
    // Listed, but not for sale to this subscription yet.
    let vm = cloud.arm(
        "PUT",
        &format!("/subscriptions/{sub}/resourceGroups/rhel-demo/providers/Microsoft.Compute/virtualMachines/too-early?api-version=2024-03-01"),
        Some(json!({ "location": "eastus", "plan": { "publisher": "redhat", "product": "rhel-byos", "name": "rhel-lvm96-gen2" },
            "properties": { "hardwareProfile": { "vmSize": "Standard_B2s" },
                "storageProfile": { "imageReference": { "publisher": "RedHat", "offer": "rhel-byos", "sku": "rhel-lvm96-gen2", "version": "latest" } },
                "osProfile": { "computerName": "too-early", "adminUsername": "rhel", "linuxConfiguration": { "disablePasswordAuthentication": true, "ssh": { "publicKeys": [{ "path": "/home/rhel/.ssh/authorized_keys", "keyData": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA== t" }] } } },
                "networkProfile": { "networkInterfaces": [] } } })),
    );
    assert!(
        vm.1.to_string()
            .contains("is private and can not be purchased"),
        "{}",
        vm.1
    );

    let ws = Workspace::new(tf, BYOS).cloud(&cloud);
    ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
    let enrolment = ws.values_of_type("rhelazure_cloud_access");
    assert_eq!(enrolment["gold_image_access"], "Granted");
    let seen: Vec<String> = cloud
        .request_log()
        .iter()
        .filter(|e| {
            e["path"]
                .as_str()
                .unwrap_or("")
                .ends_with("/cloud_access_providers/accounts")
        })
        .map(|e| {
            e["response_body"]["body"][0]["goldImageAccess"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    assert!(
        seen.first().map(String::as_str) == Some("Requested")
            && seen.contains(&"Granted".to_string()),
        "waited on Red Hat's answer, not on the listing: {seen:?}"
    );
    ws.assert_no_changes();
    ws.run(&["destroy", "-auto-approve", "-no-color"]).ok();

    // Red Hat refuses: the create ends with that, enrolment kept for a retry.
    cloud.configure(json!({ "gold_image_access": "Failed" }));
    let failed = Workspace::new(
        tf,
        "resource \"rhelazure_cloud_access\" \"this\" {\n  name = \"refused\"\n}\n",
    )
    .cloud(&cloud);
    let r = failed.run(&["apply", "-auto-approve", "-no-color"]);
    assert_ne!(r.code, 0);
    assert!(
        r.all().contains("Gold image access failed") && r.all().contains("Failed"),
        "{}",
        r.all()
    );
    let res = &failed.state_resources()[0];
    assert_eq!(res["tainted"], true, "{res}");
    assert_eq!(res["values"]["gold_image_access"], "Failed");
    failed.run(&["destroy", "-auto-approve", "-no-color"]).ok();
    assert!(
        cloud.state()["sources"].as_object().unwrap().is_empty(),
        "nothing left"
    );
}
