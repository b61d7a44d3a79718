//! `rhelazure_image` through real Terraform against the local cloud and a
//! real Azurite: a sparse raw image uploaded (only its data pages) and turned
//! into a managed image; tags in place; a changed file replaces; import; drift;
//! destroy removes the image and the blob; unusable formats fail at validate.

use std::io::Write;

use rhelazure_acceptance_tests::{terraforms, LocalCloud, Workspace};
use serde_json::json;

const MIB: usize = 1 << 20;

fn raw_image(path: &std::path::Path, marker: u8) {
    let mut data = vec![0u8; 6 * MIB + 777];
    data[0] = marker;
    data[4 * MIB + 4096] = 0xAA;
    data[6 * MIB + 700] = 0x55;
    std::fs::File::create(path)
        .unwrap()
        .write_all(&data)
        .unwrap();
}

fn config(path: &std::path::Path, account: &str, tags: &str) -> String {
    format!(
        r#"
resource "rhelazure_image" "img" {{
  name                = "from-vhd"
  resource_group_name = "rhel-demo"
  location            = "eastus"
  source_path         = "{}"
  storage_account_id  = "{account}"
  tags                = {{ {tags} }}
}}
"#,
        path.display()
    )
}

fn storage_account(cloud: &LocalCloud, name: &str) -> String {
    let id = format!("/subscriptions/{}/resourceGroups/rhel-demo/providers/Microsoft.Storage/storageAccounts/{name}", cloud.get("ARM_SUBSCRIPTION_ID"));
    let (s, _) = cloud.arm_settled(
        "PUT",
        &format!("{id}?api-version=2023-05-01"),
        Some(
            json!({ "location": "eastus", "sku": { "name": "Standard_LRS" }, "kind": "StorageV2" }),
        ),
    );
    assert_eq!(s, 202);
    id
}

#[test]
fn image_from_a_sparse_raw_file() {
    let cloud = LocalCloud::start();
    let account = storage_account(&cloud, "rhelimages");
    for tf in terraforms() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("disk.raw");
        raw_image(&file, 1);
        let ws = Workspace::new(&tf, &config(&file, &account, "env = \"test\"")).cloud(&cloud);
        ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
        let state = ws.run(&["show", "-json"]).ok().json();
        let r = &state["values"]["root_module"]["resources"][0]["values"];
        assert_eq!(
            r["uploaded_bytes"],
            3 * 512 + 512,
            "terraform {}: three data pages and the footer",
            tf.version
        );
        assert_eq!(
            r["skipped_zero_bytes"].as_u64().unwrap(),
            7 * MIB as u64 - 3 * 512
        );
        // The apply trusted the plan's hash of the file (it was the same
        // file) instead of hashing it again, and that hash is the file's.
        let sum = std::process::Command::new("sha256sum")
            .arg(&file)
            .output()
            .unwrap();
        let sum = String::from_utf8_lossy(&sum.stdout);
        assert_eq!(r["source_sha256"].as_str(), sum.split_whitespace().next());
        let log = ws.trace_log();
        let upload = log.lines().find(|l| l.contains("upload complete"));
        assert!(
            upload.is_some_and(|l| l.contains("sha256_from=caller")),
            "terraform {}: {upload:?}",
            tf.version
        );
        let image_id = r["id"].as_str().unwrap().to_string();
        let blob = r["blob_uri"].as_str().unwrap().to_string();
        assert!(blob.ends_with("/vhds/from-vhd.vhd"), "{blob}");
        let (s, img) = cloud.arm("GET", &format!("{image_id}?api-version=2024-03-01"), None);
        assert_eq!(
            (
                s,
                img["properties"]["storageProfile"]["osDisk"]["blobUri"].as_str()
            ),
            (200, Some(blob.as_str()))
        );
        ws.assert_no_changes();

        // Tags in place; a changed file replaces.
        ws.write_config(&config(&file, &account, "env = \"prod\""));
        assert_eq!(ws.planned_actions("rhelazure_image.img"), vec!["update"]);
        ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
        assert_eq!(
            cloud
                .arm("GET", &format!("{image_id}?api-version=2024-03-01"), None)
                .1["tags"]["env"],
            "prod"
        );
        raw_image(&file, 2);
        assert_eq!(
            ws.planned_actions("rhelazure_image.img"),
            vec!["delete", "create"],
            "a changed file is a new image"
        );
        raw_image(&file, 1);

        // Import by id (the blob becomes source_blob_uri).
        let imp = Workspace::new(&tf, &format!("resource \"rhelazure_image\" \"img\" {{\n  name = \"from-vhd\"\n  resource_group_name = \"rhel-demo\"\n  location = \"eastus\"\n  source_blob_uri = \"{blob}\"\n  tags = {{ env = \"prod\" }}\n}}\n")).cloud(&cloud);
        imp.run(&["import", "-no-color", "rhelazure_image.img", &image_id])
            .ok();
        imp.assert_no_changes();
        if tf.has_resource_identity() {
            // The configuration as given: main.tf also holds the workspace's terraform block.
            let main = std::fs::read_to_string(imp.path().join("main.tf")).unwrap();
            let cfg = &main[main.find("resource \"").unwrap()..];
            imp.assert_imports_by_identity(&cloud, cfg, "rhelazure_image.img");
        }

        // Drift: deleted out of band plans a re-create (the upload is not repeated: it resumes).
        cloud.arm_settled(
            "DELETE",
            &format!("{image_id}?api-version=2024-03-01"),
            None,
        );
        assert_eq!(ws.planned_actions("rhelazure_image.img"), vec!["create"]);
        ws.run(&["apply", "-auto-approve", "-no-color"]).ok();

        // Destroy removes the image and the blob it uploaded.
        ws.run(&["destroy", "-auto-approve", "-no-color"]).ok();
        assert_eq!(
            cloud
                .arm("GET", &format!("{image_id}?api-version=2024-03-01"), None)
                .0,
            404
        );
        let sas = cloud.arm("POST", &format!("{account}/ListAccountSas?api-version=2023-05-01"), Some(json!({ "signedServices": "b", "signedResourceTypes": "co", "signedPermission": "rl", "signedExpiry": "2099-01-01T00:00:00Z" }))).1["accountSasToken"].as_str().unwrap().to_string();
        let list = cloud.blob_get(&format!(
            "{}/vhds?restype=container&comp=list&{sas}",
            cloud.get("RHELAZURE_BLOB_ENDPOINT")
        ));
        assert!(!list.contains("from-vhd.vhd"), "the blob is gone: {list}");
    }
    cloud.assert_requests_in_spec();
}

/// Compute reads a managed image's source blob before it makes the image:
/// through Terraform, a fixed VHD page blob becomes an image, and a missing
/// blob, a block blob, a size that is no whole number of MiB plus the footer,
/// and a dynamic VHD are refused with Azure's codes, leaving nothing behind.
#[test]
fn images_from_existing_blobs_are_checked_as_compute_checks_them() {
    use rhelazure_acceptance_tests::BlobShape;
    let cloud = LocalCloud::start();
    let tf = terraforms().into_iter().next().expect("a Terraform");
    let sub = cloud.get("ARM_SUBSCRIPTION_ID");
    let config = |name: &str, uri: &str| {
        format!("resource \"rhelazure_image\" \"img\" {{\n  name = \"{name}\"\n  resource_group_name = \"rhel-demo\"\n  location = \"eastus\"\n  source_blob_uri = \"{uri}\"\n}}\n")
    };
    let image = |name: &str| {
        format!("/subscriptions/{sub}/resourceGroups/rhel-demo/providers/Microsoft.Compute/images/{name}?api-version=2024-03-01")
    };

    let good = cloud.vhd_blob("good.vhd", BlobShape::FixedVhd);
    let ws = Workspace::new(&tf, &config("from-blob", &good)).cloud(&cloud);
    ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
    ws.assert_no_changes();
    assert_eq!(cloud.arm("GET", &image("from-blob"), None).0, 200);
    ws.run(&["destroy", "-auto-approve", "-no-color"]).ok();

    let endpoint = cloud.get("RHELAZURE_BLOB_ENDPOINT");
    let missing = format!("{}/vhds/never-uploaded.vhd", endpoint.trim_end_matches('/'));
    for (name, uri, code) in [
        ("missing", missing, "ImageBlobNotFound"),
        (
            "block",
            cloud.vhd_blob("block.vhd", BlobShape::BlockBlob),
            "IncorrectImageBlobType",
        ),
        (
            "odd",
            cloud.vhd_blob("odd.vhd", BlobShape::OddSize),
            "VHDSizeInvalid",
        ),
        (
            "dynamic",
            cloud.vhd_blob("dynamic.vhd", BlobShape::DynamicVhd),
            "VHDSizeInvalid",
        ),
    ] {
        let ws = Workspace::new(&tf, &config(name, &uri)).cloud(&cloud);
        let r = ws.run(&["apply", "-auto-approve", "-no-color"]);
        assert_eq!(r.code, 1, "{name}: {}", r.all());
        assert!(r.all().contains(code), "{name}: {}", r.all());
        assert_eq!(
            cloud.arm("GET", &image(name), None).0,
            404,
            "{name}: no image"
        );
        let listed = ws.run(&["state", "list"]);
        assert!(
            !listed.all().contains("rhelazure_image.img"),
            "{name}: nothing in state"
        );
    }
    cloud.assert_requests_in_spec();
}

#[test]
fn unusable_images_and_sources_fail_at_validate() {
    let cloud = LocalCloud::start();
    for tf in terraforms() {
        let dir = tempfile::tempdir().unwrap();
        let q = dir.path().join("disk.qcow2");
        std::fs::write(&q, b"QFI\xfb\0\0\0\x03 qcow2").unwrap();
        let ws = Workspace::new(
            &tf,
            &config(
                &q,
                "/subscriptions/x/resourceGroups/y/providers/Microsoft.Storage/storageAccounts/z",
                "",
            ),
        )
        .cloud(&cloud);
        let r = ws.run(&["validate", "-no-color"]);
        assert_eq!(r.code, 1);
        assert!(
            r.all().contains("qcow2") && r.all().contains("qemu-img convert"),
            "{}",
            r.all()
        );
        // A file made later in the same run (not there yet) passes validate;
        // the plan, which reads it, says it is missing.
        let later = dir.path().join("built-later.raw");
        let ws = Workspace::new(
            &tf,
            &config(
                &later,
                "/subscriptions/x/resourceGroups/y/providers/Microsoft.Storage/storageAccounts/z",
                "",
            ),
        )
        .cloud(&cloud);
        ws.run(&["validate", "-no-color"]).ok();
        let r = ws.run(&["plan", "-no-color"]);
        assert_eq!(r.code, 1);
        assert!(
            r.all().contains("Cannot read the disk image") && r.all().contains("built-later.raw"),
            "{}",
            r.all()
        );
        let both = Workspace::new(&tf, "resource \"rhelazure_image\" \"i\" {\n  name = \"x\"\n  resource_group_name = \"g\"\n  location = \"eastus\"\n}\n").cloud(&cloud);
        assert!(both
            .run(&["validate", "-no-color"])
            .all()
            .contains("Set exactly one of source_path"));
    }
}
