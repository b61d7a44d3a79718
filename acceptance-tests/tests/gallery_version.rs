//! `rhelazure_gallery_image_version` through real Terraform against the
//! local cloud and Azurite: a version from a managed image replicated to two
//! regions, replicas and `exclude_from_latest` changed in place, drift,
//! import, destroy; a version straight from a fixed-VHD blob (and a bad blob
//! refused with Azure's code); a generation mismatch refused at plan time.

use rhelazure_acceptance_tests::{terraforms, BlobShape, LocalCloud, Workspace};
use serde_json::json;

const API: &str = "api-version=2023-07-03";

fn base(gallery: &str) -> String {
    format!(
        r#"
resource "rhelazure_gallery" "g" {{
  name                = "{gallery}"
  resource_group_name = "rhel-demo"
  location            = "eastus"
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
}}
"#
    )
}

fn version(source: &str, regions: &str, extra: &str) -> String {
    format!(
        r#"
resource "rhelazure_gallery_image_version" "v1" {{
  name                = "1.0.0"
  gallery_name        = rhelazure_gallery.g.name
  image_name          = rhelazure_gallery_image.rhel9.name
  resource_group_name = "rhel-demo"
  location            = "eastus"
  {source}
  target_regions = [{regions}]
  {extra}
}}
"#
    )
}

const TWO: &str = r#"{ name = "eastus" }, { name = "westus", replica_count = 1 }"#;

#[test]
fn versions_replicate_change_in_place_and_leave_nothing() {
    let cloud = LocalCloud::start();
    let sub = cloud.get("ARM_SUBSCRIPTION_ID");
    let rg = format!("/subscriptions/{sub}/resourceGroups/rhel-demo");
    let managed = format!("{rg}/providers/Microsoft.Compute/images/golden-v2");
    let (s, b) = cloud.managed_image(&managed);
    assert!(s < 300, "{b}");
    for (i, tf) in terraforms().into_iter().enumerate() {
        let gallery = format!("golden_{i}");
        let id = format!(
            "{rg}/providers/Microsoft.Compute/galleries/{gallery}/images/rhel-9/versions/1.0.0"
        );
        let source = format!("managed_image_id = \"{managed}\"");
        let cfg = |regions: &str, extra: &str| {
            format!("{}{}", base(&gallery), version(&source, regions, extra))
        };
        let ws = Workspace::new(&tf, &cfg(TWO, "")).cloud(&cloud);
        let r = ws.run(&["apply", "-auto-approve", "-no-color"]);
        r.ok();
        ws.assert_no_changes();
        let (s, v) = cloud.arm(
            "GET",
            &format!("{id}?$expand=ReplicationStatus&{API}"),
            None,
        );
        assert_eq!(s, 200, "{v}");
        assert_eq!(
            v["properties"]["replicationStatus"]["aggregatedState"],
            "Completed"
        );
        let regions: Vec<&str> = v["properties"]["publishingProfile"]["targetRegions"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|t| t["name"].as_str())
            .collect();
        assert_eq!(regions, ["eastus", "westus"], "{v}");
        let state = ws.values_of_type("rhelazure_gallery_image_version");
        assert_eq!(state["replication_state"], "Completed", "{state}");
        assert!(state["published_date"].is_string(), "{state}");

        // Replicas and exclusion change in place.
        let more = r#"{ name = "eastus" }, { name = "westus", replica_count = 2 }"#;
        ws.write_config(&cfg(more, "exclude_from_latest = true"));
        assert_eq!(
            ws.planned_actions("rhelazure_gallery_image_version.v1"),
            vec!["update"]
        );
        ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
        ws.assert_no_changes();
        let (_, v) = cloud.arm("GET", &format!("{id}?{API}"), None);
        assert_eq!(
            v["properties"]["publishingProfile"]["targetRegions"][1]["regionalReplicaCount"],
            2
        );
        assert_eq!(
            v["properties"]["publishingProfile"]["excludeFromLatest"],
            true
        );

        // Drift: a region dropped out of band comes back.
        cloud.arm_settled(
            "PATCH",
            &format!("{id}?{API}"),
            Some(json!({ "properties": { "storageProfile": { "source": { "id": managed } }, "publishingProfile": { "targetRegions": [{ "name": "eastus" }] } } })),
        );
        assert_eq!(
            ws.planned_actions("rhelazure_gallery_image_version.v1"),
            vec!["update"]
        );
        ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
        ws.assert_no_changes();

        // Import by id: nothing to change.
        let imp = Workspace::new(&tf, &cfg(more, "exclude_from_latest = true")).cloud(&cloud);
        let gallery_id = format!("{rg}/providers/Microsoft.Compute/galleries/{gallery}");
        imp.run(&["import", "-no-color", "rhelazure_gallery.g", &gallery_id])
            .ok();
        imp.run(&[
            "import",
            "-no-color",
            "rhelazure_gallery_image.rhel9",
            &format!("{gallery_id}/images/rhel-9"),
        ])
        .ok();
        imp.run(&[
            "import",
            "-no-color",
            "rhelazure_gallery_image_version.v1",
            &id,
        ])
        .ok();
        imp.assert_no_changes();

        ws.run(&["destroy", "-auto-approve", "-no-color"]).ok();
        assert_eq!(cloud.arm("GET", &format!("{id}?{API}"), None).0, 404);
        assert_eq!(
            cloud.arm("GET", &format!("{gallery_id}?{API}"), None).0,
            404
        );
    }
    cloud.assert_requests_in_spec();
}

#[test]
fn versions_from_blobs_and_what_azure_refuses() {
    let cloud = LocalCloud::start();
    let tf = terraforms().into_iter().next().expect("a Terraform");
    let sub = cloud.get("ARM_SUBSCRIPTION_ID");
    let rg = format!("/subscriptions/{sub}/resourceGroups/rhel-demo");
    let account = format!("{rg}/providers/Microsoft.Storage/storageAccounts/vhdsource");
    let good = cloud.vhd_blob("version.vhd", BlobShape::FixedVhd);
    let blob = |uri: &str| format!("blob_uri = \"{uri}\"\n  storage_account_id = \"{account}\"");

    // Straight from a fixed VHD: no managed image in between.
    let ws = Workspace::new(
        &tf,
        &format!("{}{}", base("fromblob"), version(&blob(&good), TWO, "")),
    )
    .cloud(&cloud);
    ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
    ws.assert_no_changes();
    let state = ws.values_of_type("rhelazure_gallery_image_version");
    assert_eq!(state["blob_uri"], json!(good), "{state}");

    // A block blob is refused as Azure refuses it, and nothing is left.
    let bad = cloud.vhd_blob("block-version.vhd", BlobShape::BlockBlob);
    let cfg = format!(
        "{}{}",
        base("fromblob"),
        version(&blob(&bad), TWO, "")
            .replace("\"1.0.0\"", "\"1.0.1\"")
            .replace("\"v1\"", "\"v2\"")
    );
    let ws2 = Workspace::new(&tf, &cfg).cloud(&cloud);
    ws2.run(&[
        "import",
        "-no-color",
        "rhelazure_gallery.g",
        &format!("{rg}/providers/Microsoft.Compute/galleries/fromblob"),
    ])
    .ok();
    ws2.run(&[
        "import",
        "-no-color",
        "rhelazure_gallery_image.rhel9",
        &format!("{rg}/providers/Microsoft.Compute/galleries/fromblob/images/rhel-9"),
    ])
    .ok();
    let r = ws2.run(&["apply", "-auto-approve", "-no-color"]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(r.all().contains("IncorrectImageBlobType"), "{}", r.all());
    let v2 =
        format!("{rg}/providers/Microsoft.Compute/galleries/fromblob/images/rhel-9/versions/1.0.1");
    assert_eq!(cloud.arm("GET", &format!("{v2}?{API}"), None).0, 404);
    ws2.run(&[
        "state",
        "rm",
        "rhelazure_gallery.g",
        "rhelazure_gallery_image.rhel9",
    ])
    .ok();

    // A generation 1 image cannot be a version of a V2 definition: at plan.
    let gen1 = format!("{rg}/providers/Microsoft.Compute/images/golden-v1");
    let vhd = cloud.vhd_blob("gen1.vhd", BlobShape::FixedVhd);
    let (s, b) = cloud.arm_settled(
        "PUT",
        &format!("{gen1}?api-version=2024-03-01"),
        Some(json!({ "location": "eastus", "properties": { "hyperVGeneration": "V1", "storageProfile": { "osDisk": { "osType": "Linux", "osState": "Generalized", "blobUri": vhd } } } })),
    );
    assert!(s < 300, "{b}");
    ws.write_config(&format!(
        "{}{}",
        base("fromblob"),
        version(&blob(&good), TWO, "")
            + &version(&format!("managed_image_id = \"{gen1}\""), TWO, "")
                .replace("\"1.0.0\"", "\"1.0.2\"")
                .replace("\"v1\"", "\"gen1\"")
    ));
    let r = ws.run(&["plan", "-no-color"]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        r.all().contains("Image and definition do not match")
            && r.all().contains("managed_image_id"),
        "{}",
        r.all()
    );

    // The version's own region must be a target.
    let cfg = format!(
        "{}{}",
        base("fromblob"),
        version(&blob(&good), r#"{ name = "westus" }"#, "")
    );
    let r = Workspace::new(&tf, &cfg)
        .cloud(&cloud)
        .run(&["validate", "-no-color"]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        r.all().contains("target_regions must include"),
        "{}",
        r.all()
    );

    ws.write_config(&format!(
        "{}{}",
        base("fromblob"),
        version(&blob(&good), TWO, "")
    ));
    ws.run(&["destroy", "-auto-approve", "-no-color"]).ok();
    cloud.assert_requests_in_spec();
}

/// The data source finds the latest version (the highest not excluded) or
/// a named one; a host pinned to it boots that version.
#[test]
fn the_latest_version_is_found_and_boots_a_host() {
    let cloud = LocalCloud::start();
    let tf = terraforms().into_iter().next().expect("a Terraform");
    let sub = cloud.get("ARM_SUBSCRIPTION_ID");
    let rg = format!("/subscriptions/{sub}/resourceGroups/rhel-demo");
    let managed = format!("{rg}/providers/Microsoft.Compute/images/golden-latest");
    let (s, b) = cloud.managed_image(&managed);
    assert!(s < 300, "{b}");
    let source = format!("managed_image_id = \"{managed}\"");
    let one = r#"{ name = "eastus" }"#;
    let cfg = format!(
        r#"{}{}{}
data "rhelazure_gallery_image_version" "latest" {{
  resource_group_name = "rhel-demo"
  gallery_name        = rhelazure_gallery.g.name
  image_name          = rhelazure_gallery_image.rhel9.name
  depends_on          = [rhelazure_gallery_image_version.v1, rhelazure_gallery_image_version.v2]
}}

data "rhelazure_gallery_image_version" "pinned" {{
  resource_group_name = "rhel-demo"
  gallery_name        = rhelazure_gallery.g.name
  image_name          = rhelazure_gallery_image.rhel9.name
  name                = "1.1.0"
  depends_on          = [rhelazure_gallery_image_version.v2]
}}

resource "rhelazure_atomic_host" "h" {{
  name                = "from-latest"
  resource_group_name = "rhel-demo"
  location            = "eastus"
  subnet_id           = "{rg}/providers/Microsoft.Network/virtualNetworks/rhel-demo-vnet/subnets/hosts"
  size                = "Standard_D2s_v5"
  ssh_public_keys     = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTests ops@example"]
  source_image_id     = data.rhelazure_gallery_image_version.latest.id
}}

output "latest" {{ value = data.rhelazure_gallery_image_version.latest.name }}
output "pinned" {{ value = data.rhelazure_gallery_image_version.pinned.exclude_from_latest }}
"#,
        base("latest"),
        version(&source, one, ""),
        version(&source, one, "exclude_from_latest = true")
            .replace("\"1.0.0\"", "\"1.1.0\"")
            .replace("\"v1\"", "\"v2\""),
    );
    let ws = Workspace::new(&tf, &cfg).cloud(&cloud);
    ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
    let out = ws.run(&["output", "-json"]).ok().json();
    assert_eq!(out["latest"]["value"], "1.0.0", "{out}");
    assert_eq!(out["pinned"]["value"], true, "{out}");
    let (_, vm) = cloud.arm(
        "GET",
        &format!(
            "{rg}/providers/Microsoft.Compute/virtualMachines/from-latest?api-version=2024-03-01"
        ),
        None,
    );
    let image = vm["properties"]["storageProfile"]["imageReference"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(image.ends_with("/images/rhel-9/versions/1.0.0"), "{vm}");
    ws.assert_no_changes();
    ws.run(&["destroy", "-auto-approve", "-no-color"]).ok();
    cloud.assert_requests_in_spec();
}

/// A version from a disk image on this machine: uploaded (sparse) as a page
/// blob, the version made straight from it, the blob deleted once the
/// version has replicated (or kept on request, and deleted when that is
/// withdrawn); a changed file replaces the version; destroy leaves nothing.
#[test]
fn versions_from_a_local_disk_image_upload_and_clean_up_their_blob() {
    use std::io::{Seek, SeekFrom, Write};
    const MIB: u64 = 1 << 20;
    let cloud = LocalCloud::start();
    let tf = terraforms().into_iter().next().expect("a Terraform");
    let sub = cloud.get("ARM_SUBSCRIPTION_ID");
    let rg = format!("/subscriptions/{sub}/resourceGroups/rhel-demo");
    let account = cloud.storage_account("uploads");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rhel-9.raw");
    let write_disk = |fill: u8| {
        let mut f = std::fs::File::create(&file).unwrap();
        f.set_len(64 * MIB).unwrap();
        for at in [0, 20 * MIB, 50 * MIB] {
            f.seek(SeekFrom::Start(at)).unwrap();
            f.write_all(&vec![fill; MIB as usize]).unwrap();
        }
    };
    write_disk(7);
    let source = |keep: bool| {
        format!(
            "source_path = \"{}\"\n  storage_account_id = \"{account}\"\n  keep_uploaded_blob = {keep}",
            file.display()
        )
    };
    let cfg = |keep: bool| format!("{}{}", base("fromfile"), version(&source(keep), TWO, ""));
    let id =
        format!("{rg}/providers/Microsoft.Compute/galleries/fromfile/images/rhel-9/versions/1.0.0");
    let uploaded = |cloud: &LocalCloud| {
        cloud
            .blobs(&account)
            .into_iter()
            .any(|b| b == "vhds/rhel-9-1.0.0.vhd")
    };

    // Kept on request: the blob stays while the version exists.
    let ws = Workspace::new(&tf, &cfg(true)).cloud(&cloud);
    ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
    ws.assert_no_changes();
    let state = ws.values_of_type("rhelazure_gallery_image_version");
    let blob_uri = state["blob_uri"].as_str().unwrap_or_default().to_string();
    assert!(blob_uri.ends_with("/vhds/rhel-9-1.0.0.vhd"), "{state}");
    assert_eq!(state["blob_name"], "rhel-9-1.0.0.vhd");
    assert_eq!(state["source_sha256"].as_str().map(str::len), Some(64));
    let (_, v) = cloud.arm("GET", &format!("{id}?{API}"), None);
    let disk = &v["properties"]["storageProfile"];
    assert_eq!(disk["osDiskImage"]["source"]["uri"], json!(blob_uri), "{v}");
    assert!(
        disk["source"]["id"].is_null(),
        "no managed image in between: {v}"
    );
    assert!(uploaded(&cloud), "kept on request");

    // Withdrawn in place: the blob goes, the version stays.
    ws.write_config(&cfg(false));
    assert_eq!(
        ws.planned_actions("rhelazure_gallery_image_version.v1"),
        vec!["update"]
    );
    ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
    ws.assert_no_changes();
    assert!(!uploaded(&cloud), "the upload is deleted once not kept");
    assert_eq!(cloud.arm("GET", &format!("{id}?{API}"), None).0, 200);

    // A changed file replaces the version; by default its blob goes once
    // the new version has replicated.
    write_disk(9);
    let replaced = ws.planned_actions("rhelazure_gallery_image_version.v1");
    assert!(
        replaced.contains(&"delete".to_string()) && replaced.contains(&"create".to_string()),
        "{replaced:?}"
    );
    ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
    ws.assert_no_changes();
    assert!(!uploaded(&cloud), "deleted after replication");
    let again = ws.values_of_type("rhelazure_gallery_image_version");
    assert_ne!(again["source_sha256"], state["source_sha256"]);

    // Destroy: nothing left.
    ws.run(&["destroy", "-auto-approve", "-no-color"]).ok();
    assert_eq!(cloud.arm("GET", &format!("{id}?{API}"), None).0, 404);
    assert!(!uploaded(&cloud));
}

/// A disk whose partition table has no EFI system partition boots by BIOS
/// only: refused at plan as a generation 2 managed image or as a version of
/// a generation 2 definition, naming the attribute; accepted as V1.
#[test]
fn a_bios_only_disk_is_refused_for_generation_2() {
    let cloud = LocalCloud::start();
    let tf = terraforms().into_iter().next().expect("a Terraform");
    let account = cloud.storage_account("uploads");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bios.raw");
    // An MBR with one Linux partition: BIOS boot only.
    let mut disk = vec![0u8; 4 << 20];
    disk[446 + 4] = 0x83;
    disk[510] = 0x55;
    disk[511] = 0xAA;
    std::fs::write(&file, &disk).unwrap();
    let source = format!(
        "source_path = \"{}\"\n  storage_account_id = \"{account}\"",
        file.display()
    );

    let cfg = format!(
        "{}{}",
        base("biosonly"),
        version(&source, r#"{ name = "eastus" }"#, "")
    );
    let ws = Workspace::new(&tf, &cfg).cloud(&cloud);
    ws.run(&[
        "apply",
        "-auto-approve",
        "-no-color",
        "-target=rhelazure_gallery_image.rhel9",
    ])
    .ok();
    let r = ws.run(&["plan", "-no-color"]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        r.all().contains("boots by BIOS only") && r.all().contains("source_path"),
        "{}",
        r.all()
    );
    ws.write_config(&base("biosonly"));
    ws.run(&["destroy", "-auto-approve", "-no-color"]).ok();

    let image = |generation: &str| {
        format!(
            "resource \"rhelazure_image\" \"i\" {{\n  name = \"bios\"\n  resource_group_name = \"rhel-demo\"\n  location = \"eastus\"\n  {source}\n  {generation}\n}}\n"
        )
    };
    let ws = Workspace::new(&tf, &image("")).cloud(&cloud);
    let r = ws.run(&["plan", "-no-color"]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        r.all().contains("boots by BIOS only") && r.all().contains("hyper_v_generation"),
        "{}",
        r.all()
    );
    let ws = Workspace::new(&tf, &image("hyper_v_generation = \"V1\"")).cloud(&cloud);
    assert_eq!(
        ws.run(&["plan", "-no-color"]).code,
        0,
        "generation 1 takes it"
    );
}
