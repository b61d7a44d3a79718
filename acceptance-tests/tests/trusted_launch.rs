//! Trusted Launch on `rhelazure_atomic_host` through real Terraform: on by
//! default where the image allows it (Marketplace generation 2 images with
//! the SecurityType feature, gallery images whose definition allows it),
//! Standard otherwise; what Azure refuses (a generation 1 image, a managed
//! image, Standard from a Trusted-Launch-only definition) is refused at plan
//! time at `security_type`, and the local cloud refuses it as Azure does.

use rhelazure_acceptance_tests::{terraforms, LocalCloud, Workspace};
use serde_json::json;

const KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTests ops@example";

fn host(rg: &str, name: &str, image: &str, extra: &str) -> String {
    format!(
        r#"
resource "rhelazure_atomic_host" "{name}" {{
  name                = "{name}"
  resource_group_name = "rhel-demo"
  location            = "eastus"
  subnet_id           = "{rg}/providers/Microsoft.Network/virtualNetworks/rhel-demo-vnet/subnets/hosts"
  size                = "Standard_D2s_v5"
  ssh_public_keys     = ["{KEY}"]
  {image}
  {extra}
}}
"#
    )
}

const GEN2: &str =
    r#"marketplace_image = { publisher = "RedHat", offer = "RHEL", sku = "9-lvm-gen2" }"#;
const GEN1: &str = r#"marketplace_image = { publisher = "RedHat", offer = "RHEL", sku = "9-lvm" }"#;

#[test]
fn trusted_launch_where_the_image_allows_it() {
    let cloud = LocalCloud::start();
    let tf = terraforms().into_iter().next().expect("a Terraform");
    let sub = cloud.get("ARM_SUBSCRIPTION_ID");
    let rg = format!("/subscriptions/{sub}/resourceGroups/rhel-demo");
    let vm = |name: &str| {
        cloud
            .arm("GET", &format!("{rg}/providers/Microsoft.Compute/virtualMachines/{name}?api-version=2024-03-01"), None)
            .1
    };

    // Defaults: Trusted Launch on a generation 2 image, Standard on generation 1.
    let cfg = host(&rg, "tl", GEN2, "") + &host(&rg, "std", GEN1, "");
    let ws = Workspace::new(&tf, &cfg).cloud(&cloud);
    ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
    ws.assert_no_changes();
    let tl = vm("tl");
    assert_eq!(
        tl["properties"]["securityProfile"]["securityType"], "TrustedLaunch",
        "{tl}"
    );
    assert_eq!(
        tl["properties"]["securityProfile"]["uefiSettings"],
        json!({ "secureBootEnabled": true, "vTpmEnabled": true })
    );
    assert!(vm("std")["properties"]["securityProfile"].is_null());
    let state = ws.state_resources();
    let security = |name: &str| {
        state
            .iter()
            .find(|r| r["name"] == name)
            .map(|r| r["values"]["security_type"].clone())
    };
    assert_eq!(security("tl"), Some(json!("TrustedLaunch")));
    assert_eq!(security("std"), Some(json!("Standard")));

    // Asked for on a generation 1 image: refused at plan, at the attribute.
    let bad = Workspace::new(
        &tf,
        &host(&rg, "gen1tl", GEN1, "security_type = \"TrustedLaunch\""),
    )
    .cloud(&cloud);
    let r = bad.run(&["plan", "-no-color"]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        r.all().contains("Trusted Launch not supported") && r.all().contains("security_type"),
        "{}",
        r.all()
    );

    // From a managed image: refused at plan, pointing to galleries.
    let managed = format!("{rg}/providers/Microsoft.Compute/images/tl-managed");
    let (s, b) = cloud.managed_image(&managed);
    assert!(s < 300, "{b}");
    let bad = Workspace::new(
        &tf,
        &host(
            &rg,
            "mitl",
            &format!("source_image_id = \"{managed}\""),
            "security_type = \"TrustedLaunch\"",
        ),
    )
    .cloud(&cloud);
    let r = bad.run(&["plan", "-no-color"]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        r.all().contains("not from managed images") && r.all().contains("gallery"),
        "{}",
        r.all()
    );

    // The local cloud refuses it too, with Azure's words.
    let (s, b) = cloud.arm(
        "PUT",
        &format!("{rg}/providers/Microsoft.Compute/virtualMachines/direct?api-version=2024-03-01"),
        Some(json!({ "location": "eastus", "properties": {
            "hardwareProfile": { "vmSize": "Standard_D2s_v5" },
            "storageProfile": { "imageReference": { "publisher": "RedHat", "offer": "RHEL", "sku": "9-lvm", "version": "latest" } },
            "securityProfile": { "securityType": "TrustedLaunch", "uefiSettings": { "secureBootEnabled": true, "vTpmEnabled": true } },
            "osProfile": { "computerName": "direct", "adminUsername": "rhel", "linuxConfiguration": { "disablePasswordAuthentication": true, "ssh": { "publicKeys": [{ "path": "/home/rhel/.ssh/authorized_keys", "keyData": KEY }] } } },
            "networkProfile": { "networkInterfaces": [{ "id": format!("{rg}/providers/Microsoft.Network/networkInterfaces/none") }] }
        } })),
    );
    assert_eq!(s, 400, "{b}");
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("Use of TrustedLaunch setting is not supported"),
        "{b}"
    );

    ws.run(&["destroy", "-auto-approve", "-no-color"]).ok();
    cloud.assert_requests_in_spec();
}

#[test]
fn gallery_images_that_require_trusted_launch() {
    let cloud = LocalCloud::start();
    let tf = terraforms().into_iter().next().expect("a Terraform");
    let sub = cloud.get("ARM_SUBSCRIPTION_ID");
    let rg = format!("/subscriptions/{sub}/resourceGroups/rhel-demo");
    let managed = format!("{rg}/providers/Microsoft.Compute/images/tl-source");
    let (s, b) = cloud.managed_image(&managed);
    assert!(s < 300, "{b}");
    let gallery = format!(
        r#"
resource "rhelazure_gallery" "g" {{
  name                = "tlonly"
  resource_group_name = "rhel-demo"
  location            = "eastus"
}}

resource "rhelazure_gallery_image" "tl" {{
  name                = "rhel-9-tl"
  gallery_name        = rhelazure_gallery.g.name
  resource_group_name = "rhel-demo"
  location            = "eastus"
  identifier          = {{ publisher = "contoso", offer = "rhel", sku = "9-tl" }}
  security_type       = "TrustedLaunch"
}}

resource "rhelazure_gallery_image_version" "v" {{
  name                = "1.0.0"
  gallery_name        = rhelazure_gallery.g.name
  image_name          = rhelazure_gallery_image.tl.name
  resource_group_name = "rhel-demo"
  location            = "eastus"
  managed_image_id    = "{managed}"
  target_regions      = [{{ name = "eastus" }}]
}}
"#
    );
    let ws = Workspace::new(&tf, &gallery).cloud(&cloud);
    ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
    let version = format!(
        "{rg}/providers/Microsoft.Compute/galleries/tlonly/images/rhel-9-tl/versions/1.0.0"
    );
    let source = format!("source_image_id = \"{version}\"");

    // Standard from a Trusted-Launch-only definition: refused at plan.
    ws.write_config(
        &(gallery.clone() + &host(&rg, "std", &source, "security_type = \"Standard\"")),
    );
    let r = ws.run(&["plan", "-no-color"]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(r.all().contains("Trusted Launch required"), "{}", r.all());

    // Unset: Trusted Launch, and the host boots.
    ws.write_config(&(gallery.clone() + &host(&rg, "tlhost", &source, "")));
    ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
    ws.assert_no_changes();
    let (_, vm) = cloud.arm(
        "GET",
        &format!("{rg}/providers/Microsoft.Compute/virtualMachines/tlhost?api-version=2024-03-01"),
        None,
    );
    assert_eq!(
        vm["properties"]["securityProfile"]["securityType"], "TrustedLaunch",
        "{vm}"
    );
    ws.run(&["destroy", "-auto-approve", "-no-color"]).ok();
    cloud.assert_requests_in_spec();
}

const CVM: &str =
    r#"marketplace_image = { publisher = "RedHat", offer = "rhel-cvm", sku = "9_3_cvm_sev_snp" }"#;

/// Confidential VMs: Red Hat's CVM image on a confidential size makes one
/// (its OS disk's guest state encrypted, read back and held in state);
/// what Azure refuses (a size or an image without confidential computing, no
/// vTPM, disk encryption without a Confidential VM) is refused at plan,
/// naming the attribute; the local cloud refuses the same as Azure does.
#[test]
fn confidential_vms_on_confidential_images_and_sizes() {
    let cloud = LocalCloud::start();
    let tf = terraforms().into_iter().next().expect("a Terraform");
    let sub = cloud.get("ARM_SUBSCRIPTION_ID");
    let rg = format!("/subscriptions/{sub}/resourceGroups/rhel-demo");
    let cvm_host = |name: &str, size: &str, image: &str, extra: &str| {
        host(
            &rg,
            name,
            image,
            &format!("security_type = \"ConfidentialVM\"\n  {extra}"),
        )
        .replace("Standard_D2s_v5", size)
    };

    let ws = Workspace::new(&tf, &cvm_host("cvm", "Standard_DC2as_v5", CVM, "")).cloud(&cloud);
    ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
    ws.assert_no_changes();
    let (_, vm) = cloud.arm(
        "GET",
        &format!("{rg}/providers/Microsoft.Compute/virtualMachines/cvm?api-version=2024-03-01"),
        None,
    );
    assert_eq!(
        vm["properties"]["securityProfile"]["securityType"], "ConfidentialVM",
        "{vm}"
    );
    assert_eq!(
        vm["properties"]["securityProfile"]["uefiSettings"],
        json!({ "secureBootEnabled": true, "vTpmEnabled": true })
    );
    assert_eq!(
        vm["properties"]["storageProfile"]["osDisk"]["managedDisk"]["securityProfile"]
            ["securityEncryptionType"],
        "VMGuestStateOnly",
        "{vm}"
    );
    let state = ws.values_of_type("rhelazure_atomic_host");
    assert_eq!(state["security_type"], "ConfidentialVM");
    assert_eq!(
        state["os_disk_security_encryption_type"],
        "VMGuestStateOnly"
    );
    ws.run(&["destroy", "-auto-approve", "-no-color"]).ok();

    // Refused at plan, at the attribute that must change.
    let refused = |config: String, summary: &str, attr: &str| {
        let ws = Workspace::new(&tf, &config).cloud(&cloud);
        let r = ws.run(&["plan", "-no-color"]);
        assert_eq!(r.code, 1, "{}", r.all());
        assert!(
            r.all().contains(summary) && r.all().contains(attr),
            "{summary} at {attr}: {}",
            r.all()
        );
    };
    refused(
        cvm_host("small", "Standard_D2s_v5", CVM, ""),
        "Not a confidential size",
        "size",
    );
    refused(
        cvm_host("gen2", "Standard_DC2as_v5", GEN2, ""),
        "Confidential VM not supported",
        "security_type",
    );
    refused(
        cvm_host("notpm", "Standard_DC2as_v5", CVM, "vtpm = false"),
        "A Confidential VM needs its vTPM",
        "vtpm",
    );
    refused(
        host(&rg, "tlenc", GEN2, "security_type = \"TrustedLaunch\"\n  os_disk_security_encryption_type = \"VMGuestStateOnly\""),
        "Only for Confidential VMs",
        "os_disk_security_encryption_type",
    );
    refused(
        cvm_host(
            "diskenc",
            "Standard_DC2as_v5",
            CVM,
            "secure_boot = false\n  os_disk_security_encryption_type = \"DiskWithVMGuestState\"",
        ),
        "Disk encryption needs Secure Boot",
        "secure_boot",
    );

    // The local cloud refuses what Azure refuses, whoever asks.
    let nic = format!("{rg}/providers/Microsoft.Network/networkInterfaces/raw-nic");
    let (s, b) = cloud.arm_settled(
        "PUT",
        &format!("{nic}?api-version=2024-01-01"),
        Some(json!({ "location": "eastus", "properties": { "ipConfigurations": [{ "name": "ipconfig1", "properties": { "subnet": { "id": format!("{rg}/providers/Microsoft.Network/virtualNetworks/rhel-demo-vnet/subnets/hosts") } } }] } })),
    );
    assert!(s < 300, "{b}");
    let vm_body = |size: &str, encryption: Option<&str>| {
        let mut managed = json!({ "storageAccountType": "Premium_LRS" });
        if let Some(e) = encryption {
            managed["securityProfile"] = json!({ "securityEncryptionType": e });
        }
        json!({
            "location": "eastus",
            "properties": {
                "hardwareProfile": { "vmSize": size },
                "storageProfile": {
                    "imageReference": { "publisher": "RedHat", "offer": "rhel-cvm", "sku": "9_3_cvm_sev_snp", "version": "latest" },
                    "osDisk": { "createOption": "FromImage", "managedDisk": managed }
                },
                "osProfile": { "computerName": "raw", "adminUsername": "azureuser", "linuxConfiguration": { "disablePasswordAuthentication": true, "ssh": { "publicKeys": [{ "path": "/home/azureuser/.ssh/authorized_keys", "keyData": KEY }] } } },
                "networkProfile": { "networkInterfaces": [{ "id": nic }] },
                "securityProfile": { "securityType": "ConfidentialVM", "uefiSettings": { "secureBootEnabled": true, "vTpmEnabled": true } }
            }
        })
    };
    let vm_path =
        format!("{rg}/providers/Microsoft.Compute/virtualMachines/raw?api-version=2024-03-01");
    let (s, b) = cloud.arm(
        "PUT",
        &vm_path,
        Some(vm_body("Standard_D2s_v5", Some("VMGuestStateOnly"))),
    );
    assert_eq!(s, 400, "{b}");
    assert!(
        b.to_string().contains("is not supported for creation of VMs and Virtual Machine Scale Set with 'ConfidentialVM' security type"),
        "{b}"
    );
    let (s, b) = cloud.arm("PUT", &vm_path, Some(vm_body("Standard_DC2as_v5", None)));
    assert_eq!(
        s, 400,
        "the disk's confidential encryption is required: {b}"
    );
}
