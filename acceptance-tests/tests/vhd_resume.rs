//! An image upload interrupted by killing the provider resumes on the next
//! apply, sending only the missing pages: a 4 GiB sparse image holding 256 MiB
//! of data sends about 256 MiB in all (Azurite's page ranges and the
//! resource's `uploaded_bytes` say so).

use std::io::{Seek, SeekFrom, Write};
use std::time::Duration;

use rhelazure_acceptance_tests::{
    eventually, terraforms, LocalCloud, Workspace, COMMAND_DEADLINE, SETTLE,
};
use serde_json::json;

const MIB: u64 = 1 << 20;

#[test]
fn killed_upload_resumes_and_sends_only_the_data() {
    let cloud = LocalCloud::start();
    let tf = terraforms().remove(0);
    let sub = cloud.get("ARM_SUBSCRIPTION_ID");
    let account = format!("/subscriptions/{sub}/resourceGroups/rhel-demo/providers/Microsoft.Storage/storageAccounts/resumestore");
    assert_eq!(cloud.arm_settled("PUT", &format!("{account}?api-version=2023-05-01"), Some(json!({ "location": "eastus", "sku": { "name": "Standard_LRS" }, "kind": "StorageV2" }))).0, 202);

    // 4 GiB, sparse on disk, with 64 x 4 MiB of data spread over it.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.raw");
    let mut f = std::fs::File::create(&file).unwrap();
    f.set_len(4096 * MIB).unwrap();
    let chunk: Vec<u8> = (0..4 * MIB).map(|i| (i % 253) as u8 + 1).collect();
    for i in 0..64 {
        f.seek(SeekFrom::Start(i * 64 * MIB)).unwrap();
        f.write_all(&chunk).unwrap();
    }
    drop(f);

    let ws = Workspace::new(
        &tf,
        &format!(
            "resource \"rhelazure_image\" \"big\" {{\n  name = \"big\"\n  resource_group_name = \"rhel-demo\"\n  location = \"eastus\"\n  source_path = \"{}\"\n  storage_account_id = \"{account}\"\n}}\n",
            file.display()
        ),
    )
    .cloud(&cloud);

    // First apply: kill the provider once some data is in the blob.
    let (killed, ok) = ws.apply_killing_provider_when(COMMAND_DEADLINE, || {
        cloud.page_blob_bytes(&account, "vhds/big.vhd") >= 32 * MIB
    });
    assert!(
        killed,
        "the provider was killed mid-upload; the apply printed:\n{}",
        ws.killed_run_log()
    );
    assert!(!ok, "the interrupted apply failed");
    // Azurite may still finish a request whose body had fully arrived: wait
    // until two readings half a second apart agree.
    let mut before = cloud.page_blob_bytes(&account, "vhds/big.vhd");
    eventually("the blob stops growing", SETTLE, || {
        std::thread::sleep(Duration::from_millis(500));
        let now = cloud.page_blob_bytes(&account, "vhds/big.vhd");
        std::mem::replace(&mut before, now) == now
    });
    assert!(
        (32 * MIB..256 * MIB).contains(&before),
        "a partial upload is in the blob: {before}"
    );

    // Second apply resumes.
    ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
    let state = ws.run(&["show", "-json"]).ok().json();
    let r = &state["values"]["root_module"]["resources"][0]["values"];
    let uploaded = r["uploaded_bytes"].as_u64().unwrap();
    assert_eq!(
        cloud.page_blob_bytes(&account, "vhds/big.vhd"),
        256 * MIB + 512,
        "all data pages and the footer are in the blob"
    );
    // Only the missing pages were sent; a range written while the provider
    // died may be counted on either side, so allow one 4 MiB write of slack.
    let missing = 256 * MIB + 512 - before;
    assert!(
        uploaded <= missing + 4 * MIB && uploaded + 4 * MIB >= missing,
        "sent {uploaded}, missing {missing}"
    );
    assert_eq!(
        r["skipped_zero_bytes"].as_u64().unwrap(),
        4096 * MIB - 256 * MIB
    );
    eprintln!("resume: {before} bytes were already there; the second apply sent {uploaded}");
    ws.run(&["destroy", "-auto-approve", "-no-color"]).ok();
}
