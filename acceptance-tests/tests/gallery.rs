//! `rhelazure_gallery` and `rhelazure_gallery_image` through real Terraform
//! against the local cloud: create, an empty plan, changes in place, a
//! replacement for what Azure fixes, drift made out of band, import (by id
//! and by identity), destroy with nothing left, and bad input with its
//! attribute.

use rhelazure_acceptance_tests::{terraforms, LocalCloud, Workspace};
use serde_json::json;

const API: &str = "api-version=2023-07-03";

fn config(gallery: &str, description: &str, architecture: &str, tags: &str) -> String {
    format!(
        r#"
resource "rhelazure_gallery" "g" {{
  name                = "{gallery}"
  resource_group_name = "rhel-demo"
  location            = "eastus"
  description         = "{description}"
}}

resource "rhelazure_gallery_image" "rhel9" {{
  name                = "rhel-9"
  gallery_name        = rhelazure_gallery.g.name
  resource_group_name = "rhel-demo"
  location            = "eastus"
  identifier = {{
    publisher = "contoso"
    offer     = "rhel"
    sku       = "9-gen2"
  }}
  architecture  = "{architecture}"
  security_type = "TrustedLaunchSupported"
  description   = "{description}"
  tags          = {{ {tags} }}
}}
"#
    )
}

#[test]
fn gallery_and_image_definition_lifecycle() {
    let cloud = LocalCloud::start();
    let sub = cloud.get("ARM_SUBSCRIPTION_ID");
    for (i, tf) in terraforms().into_iter().enumerate() {
        let gallery = format!("rhel_images_{i}");
        let gallery_id = format!("/subscriptions/{sub}/resourceGroups/rhel-demo/providers/Microsoft.Compute/galleries/{gallery}");
        let image_id = format!("{gallery_id}/images/rhel-9");
        let ws = Workspace::new(
            &tf,
            &config(&gallery, "golden images", "x64", "env = \"test\""),
        )
        .cloud(&cloud);
        ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
        ws.assert_no_changes();

        // What Azure holds: a V2 definition (the default) with its feature.
        let (s, def) = cloud.arm("GET", &format!("{image_id}?{API}"), None);
        assert_eq!(s, 200, "{def}");
        assert_eq!(def["properties"]["hyperVGeneration"], "V2");
        assert_eq!(def["properties"]["osType"], "Linux");
        assert_eq!(def["properties"]["osState"], "Generalized");
        assert_eq!(
            def["properties"]["features"],
            json!([{ "name": "SecurityType", "value": "TrustedLaunchSupported" }])
        );
        assert_eq!(def["properties"]["identifier"]["sku"], "9-gen2");
        let state = ws.values_of_type("rhelazure_gallery");
        assert_eq!(
            state["unique_name"]
                .as_str()
                .map(|u| u.ends_with(&gallery.to_ascii_uppercase())),
            Some(true),
            "{state}"
        );

        // Description and tags change in place, on both.
        ws.write_config(&config(
            &gallery,
            "RHEL golden images",
            "x64",
            "env = \"prod\"",
        ));
        assert_eq!(ws.planned_actions("rhelazure_gallery.g"), vec!["update"]);
        assert_eq!(
            ws.planned_actions("rhelazure_gallery_image.rhel9"),
            vec!["update"]
        );
        ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
        ws.assert_no_changes();
        let (_, g) = cloud.arm("GET", &format!("{gallery_id}?{API}"), None);
        assert_eq!(g["properties"]["description"], "RHEL golden images");
        let (_, def) = cloud.arm("GET", &format!("{image_id}?{API}"), None);
        // The configured tags, and the creation mark an interrupted create
        // is adopted by (hidden from state: the plan above was empty).
        assert_eq!(def["tags"]["env"], "prod");
        assert!(def["tags"]["rhelazure-created"].is_string(), "{def}");
        assert_eq!(def["tags"].as_object().map(|t| t.len()), Some(2));

        // Drift: tags changed out of band come back; a deleted definition is re-created.
        cloud.arm_settled(
            "PATCH",
            &format!("{image_id}?{API}"),
            Some(json!({ "tags": { "env": "tampered" } })),
        );
        assert_eq!(
            ws.planned_actions("rhelazure_gallery_image.rhel9"),
            vec!["update"]
        );
        ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
        ws.assert_no_changes();
        cloud.arm_settled("DELETE", &format!("{image_id}?{API}"), None);
        assert_eq!(
            ws.planned_actions("rhelazure_gallery_image.rhel9"),
            vec!["create"]
        );
        ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
        ws.assert_no_changes();

        // What Azure fixes at creation replaces the definition, not the gallery.
        ws.write_config(&config(
            &gallery,
            "RHEL golden images",
            "Arm64",
            "env = \"prod\"",
        ));
        assert_eq!(
            ws.planned_actions("rhelazure_gallery_image.rhel9"),
            vec!["delete", "create"]
        );
        assert_eq!(ws.planned_actions("rhelazure_gallery.g"), vec!["no-op"]);
        ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
        ws.assert_no_changes();
        let (_, def) = cloud.arm("GET", &format!("{image_id}?{API}"), None);
        assert_eq!(def["properties"]["architecture"], "Arm64");

        // Import both by id into a fresh workspace: nothing to change.
        let cfg = config(&gallery, "RHEL golden images", "Arm64", "env = \"prod\"");
        let imp = Workspace::new(&tf, &cfg).cloud(&cloud);
        imp.run(&["import", "-no-color", "rhelazure_gallery.g", &gallery_id])
            .ok();
        imp.run(&[
            "import",
            "-no-color",
            "rhelazure_gallery_image.rhel9",
            &image_id,
        ])
        .ok();
        imp.assert_no_changes();
        if tf.has_resource_identity() {
            // The definition alone, its gallery named as a literal.
            let main = std::fs::read_to_string(imp.path().join("main.tf")).unwrap();
            let from = main.find("resource \"rhelazure_gallery_image\"").unwrap();
            let cfg = main[from..].replace("rhelazure_gallery.g.name", &format!("\"{gallery}\""));
            imp.assert_imports_by_identity(&cloud, &cfg, "rhelazure_gallery_image.rhel9");
        }

        // Destroy leaves nothing.
        ws.run(&["destroy", "-auto-approve", "-no-color"]).ok();
        assert_eq!(cloud.arm("GET", &format!("{image_id}?{API}"), None).0, 404);
        assert_eq!(
            cloud.arm("GET", &format!("{gallery_id}?{API}"), None).0,
            404
        );
    }
    cloud.assert_requests_in_spec();
}

#[test]
fn bad_gallery_input_is_refused_at_its_attribute() {
    let cloud = LocalCloud::start();
    let tf = terraforms().into_iter().next().expect("a Terraform");
    // Azure allows no '-' in gallery names.
    let ws = Workspace::new(&tf, &config("rhel-images", "x", "x64", "")).cloud(&cloud);
    let r = ws.run(&["validate", "-no-color"]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        r.all().contains("no '-'") && r.all().contains("name"),
        "{}",
        r.all()
    );

    // Trusted Launch needs generation 2.
    let v1 = config("rhel_images", "x", "x64", "").replace(
        "security_type = \"TrustedLaunchSupported\"",
        "security_type = \"TrustedLaunchSupported\"\n  hyper_v_generation = \"V1\"",
    );
    let ws = Workspace::new(&tf, &v1).cloud(&cloud);
    let r = ws.run(&["validate", "-no-color"]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        r.all().contains("needs generation 2") && r.all().contains("security_type"),
        "{}",
        r.all()
    );

    // A definition made by someone else is not taken over: import it instead.
    let ws = Workspace::new(&tf, &config("rhel_images", "x", "x64", "")).cloud(&cloud);
    ws.run(&[
        "apply",
        "-auto-approve",
        "-no-color",
        "-target=rhelazure_gallery.g",
    ])
    .ok();
    let sub = cloud.get("ARM_SUBSCRIPTION_ID");
    let image_id = format!("/subscriptions/{sub}/resourceGroups/rhel-demo/providers/Microsoft.Compute/galleries/rhel_images/images/rhel-9");
    let (s, b) = cloud.arm_settled(
        "PUT",
        &format!("{image_id}?{API}"),
        Some(json!({ "location": "eastus", "properties": { "osType": "Linux", "osState": "Generalized", "hyperVGeneration": "V2", "identifier": { "publisher": "other", "offer": "rhel", "sku": "9" } } })),
    );
    assert!(s < 300, "{b}");
    let r = ws.run(&["apply", "-auto-approve", "-no-color"]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        r.all().contains("already exists") && r.all().contains("Import it"),
        "{}",
        r.all()
    );
    let (_, def) = cloud.arm("GET", &format!("{image_id}?{API}"), None);
    assert_eq!(
        def["properties"]["identifier"]["publisher"], "other",
        "left untouched"
    );

    // Azure refuses to reshape a definition: the emulator says so as Azure does.
    let (s, b) = cloud.arm(
        "PUT",
        &format!("{image_id}?{API}"),
        Some(json!({ "location": "eastus", "properties": { "osType": "Linux", "osState": "Generalized", "hyperVGeneration": "V1", "identifier": { "publisher": "other", "offer": "rhel", "sku": "9" } } })),
    );
    assert_eq!(s, 409, "{b}");
    assert_eq!(b["error"]["code"], "PropertyChangeNotAllowed");
    cloud.arm_settled("DELETE", &format!("{image_id}?{API}"), None);
    ws.run(&["destroy", "-auto-approve", "-no-color"]).ok();
    cloud.assert_requests_in_spec();
}

/// A VM from a gallery image whose definition derives from a Marketplace
/// plan image must carry that plan (Azure refuses it otherwise): the host
/// derives it from the definition's `purchase_plan` at plan time.
#[test]
fn a_host_from_a_gallery_image_of_a_plan_image_carries_the_plan() {
    let cloud = LocalCloud::start();
    let sub = cloud.get("ARM_SUBSCRIPTION_ID");
    let tf = terraforms().into_iter().next().expect("a Terraform");
    let rg = format!("/subscriptions/{sub}/resourceGroups/rhel-demo");
    let managed = format!("{rg}/providers/Microsoft.Compute/images/gold-derived");
    let (s, b) = cloud.managed_image(&managed);
    assert!(s < 300, "{b}");
    let definition = format!("{rg}/providers/Microsoft.Compute/galleries/gold/images/rhel-9-byos");
    let version = format!("{definition}/versions/1.0.0");
    let base = r#"
resource "rhelazure_marketplace_agreement" "gold" {
  publisher = "redhat"
  offer     = "rhel-byos"
  plan      = "rhel-lvm96-gen2"
}

resource "rhelazure_gallery" "g" {
  name                = "gold"
  resource_group_name = "rhel-demo"
  location            = "eastus"
}

resource "rhelazure_gallery_image" "byos" {
  name                = "rhel-9-byos"
  gallery_name        = rhelazure_gallery.g.name
  resource_group_name = "rhel-demo"
  location            = "eastus"
  identifier = {
    publisher = "contoso"
    offer     = "rhel-byos"
    sku       = "9"
  }
  purchase_plan = {
    name      = "rhel-lvm96-gen2"
    publisher = "redhat"
    product   = "rhel-byos"
  }
}
"#;
    let ws = Workspace::new(&tf, base).cloud(&cloud);
    ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
    // A version made by another tool, from a managed image.
    let (s, b) = cloud.arm_settled(
        "PUT",
        &format!("{version}?{API}"),
        Some(json!({ "location": "eastus", "properties": { "storageProfile": { "source": { "id": managed } } } })),
    );
    assert!(s < 300, "{b}");

    // Azure (the local cloud) refuses a VM from it without the plan.
    let (s, b) = cloud.arm(
        "PUT",
        &format!("{rg}/providers/Microsoft.Compute/virtualMachines/noplan?api-version=2024-03-01"),
        Some(json!({ "location": "eastus", "properties": {
            "hardwareProfile": { "vmSize": "Standard_D2s_v5" },
            "storageProfile": { "imageReference": { "id": version } },
            "osProfile": { "computerName": "noplan", "adminUsername": "rhel", "linuxConfiguration": { "disablePasswordAuthentication": true, "ssh": { "publicKeys": [{ "path": "/home/rhel/.ssh/authorized_keys", "keyData": KEY }] } } },
            "networkProfile": { "networkInterfaces": [{ "id": format!("{rg}/providers/Microsoft.Network/networkInterfaces/none") }] }
        } })),
    );
    assert_eq!(s, 400, "{b}");
    assert_eq!(b["error"]["code"], "VMMarketplaceInvalidInput", "{b}");

    // The host derives the plan from the definition.
    let host = format!(
        r#"{base}
resource "rhelazure_atomic_host" "h" {{
  name                     = "from-gallery"
  resource_group_name      = "rhel-demo"
  location                 = "eastus"
  subnet_id                = "{rg}/providers/Microsoft.Network/virtualNetworks/rhel-demo-vnet/subnets/hosts"
  size                     = "Standard_D2s_v5"
  ssh_public_keys          = ["{KEY}"]
  source_image_id          = "{version}"
  marketplace_agreement_id = rhelazure_marketplace_agreement.gold.id
}}
"#
    );
    ws.write_config(&host);
    ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
    ws.assert_no_changes();
    let plan = json!({ "name": "rhel-lvm96-gen2", "publisher": "redhat", "product": "rhel-byos" });
    let (_, vm) = cloud.arm(
        "GET",
        &format!(
            "{rg}/providers/Microsoft.Compute/virtualMachines/from-gallery?api-version=2024-03-01"
        ),
        None,
    );
    for k in ["name", "publisher", "product"] {
        assert_eq!(vm["plan"][k], plan[k], "{vm}");
    }
    assert_eq!(ws.values_of_type("rhelazure_atomic_host")["plan"], plan);
    // The version is not Terraform's: it goes first, as Azure wants.
    ws.write_config(base);
    ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
    cloud.arm_settled("DELETE", &format!("{version}?{API}"), None);
    ws.run(&["destroy", "-auto-approve", "-no-color"]).ok();
    cloud.assert_requests_in_spec();
}

const KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTests ops@example";

/// Terraform 1.14+: galleries and their definitions made by another tool
/// are listed by `terraform query` and adopted through the generated
/// configuration with nothing to change.
#[test]
fn galleries_and_definitions_are_listed_and_adopted() {
    let Some(tf) = rhelazure_acceptance_tests::terraform_with_query() else {
        return eprintln!("skipped: no Terraform 1.14+ to run terraform query");
    };
    let cloud = LocalCloud::start();
    let sub = cloud.get("ARM_SUBSCRIPTION_ID");
    let gallery = format!("/subscriptions/{sub}/resourceGroups/rhel-demo/providers/Microsoft.Compute/galleries/team_images");
    let (s, b) = cloud.arm_settled(
        "PUT",
        &format!("{gallery}?{API}"),
        Some(json!({ "location": "eastus", "properties": { "description": "made elsewhere" } })),
    );
    assert!(s < 300, "{b}");
    let (s, b) = cloud.arm_settled(
        "PUT",
        &format!("{gallery}/images/rhel-10?{API}"),
        Some(json!({ "location": "eastus", "properties": { "osType": "Linux", "osState": "Generalized", "hyperVGeneration": "V2", "architecture": "Arm64", "identifier": { "publisher": "team", "offer": "rhel", "sku": "10" } } })),
    );
    assert!(s < 300, "{b}");
    let ws = Workspace::new(&tf, "provider \"rhelazure\" {}\n").cloud(&cloud);
    ws.write_query("galleries", "list \"rhelazure_gallery\" \"demo\" {\n  provider = rhelazure\n  config {\n    resource_group_name = \"rhel-demo\"\n  }\n}\n\nlist \"rhelazure_gallery_image\" \"demo\" {\n  provider = rhelazure\n  config {\n    resource_group_name = \"rhel-demo\"\n    gallery_name        = \"team_images\"\n  }\n}\n");
    let r = ws.query();
    let galleries = r.listed("rhelazure_gallery.demo");
    assert_eq!(galleries.len(), 1, "{}", r.stdout);
    assert!(
        galleries[0].contains("team_images (rhel-demo)"),
        "{}",
        r.stdout
    );
    let definitions = r.listed("rhelazure_gallery_image.demo");
    assert_eq!(definitions.len(), 1, "{}", r.stdout);
    assert!(
        definitions[0].contains("rhel-10 (team:rhel:10)"),
        "{}",
        r.stdout
    );
    let generated = ws.generate_config();
    std::fs::write(ws.path().join("generated.tf"), &generated).unwrap();
    let r = ws.run(&["plan", "-no-color"]);
    r.ok();
    assert!(
        r.stdout
            .contains("2 to import, 0 to add, 0 to change, 0 to destroy"),
        "{}\n{generated}",
        r.stdout
    );
    // Without a resource group: every gallery of the subscription.
    std::fs::remove_file(ws.path().join("generated.tf")).unwrap();
    ws.write_query(
        "galleries",
        "list \"rhelazure_gallery\" \"all\" {\n  provider = rhelazure\n}\n",
    );
    let r = ws.query();
    let all = r.listed("rhelazure_gallery.all");
    assert_eq!(all.len(), 1, "{}", r.stdout);
    assert!(all[0].contains("team_images (rhel-demo)"), "{}", r.stdout);
    cloud.assert_requests_in_spec();
}
