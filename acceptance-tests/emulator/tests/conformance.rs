//! Every request the emulator served in a tour of all its routes matches an
//! operation of the official specs, by the same check the acceptance suite
//! applies to the provider's traffic (`rhelazure_acceptance_tests::
//! unspecified_requests` over `spec-routes.json`): the method, a path that
//! fits its own resource provider's template (ARM's generic `Resources_*`
//! templates do not count), the api-version for ARM, and operation-status
//! URLs only as the emulator handed them out. Token endpoints are exempt.

mod support;

use serde_json::{json, Value as Json};
use support::*;

fn tour(c: &Cloud) {
    let t = c.arm_token();
    let rh = c.redhat_token();
    let rg = Cloud::rg_path("tour");
    c.create_group(&t, "tour");
    c.request(
        "GET",
        &format!("{rg}?api-version=2024-03-01"),
        Some(&t),
        None,
    );
    c.request(
        "PATCH",
        &format!("{rg}?api-version=2024-03-01"),
        Some(&t),
        Some(&json!({ "tags": { "a": "b" } })),
    );
    c.request(
        "HEAD",
        &format!("{rg}?api-version=2024-03-01"),
        Some(&t),
        None,
    );
    c.request(
        "GET",
        &format!("/subscriptions/{SUB}/resourcegroups?api-version=2024-03-01"),
        Some(&t),
        None,
    );
    c.request(
        "GET",
        &format!("/subscriptions/{SUB}/providers/Microsoft.Compute?api-version=2024-03-01"),
        Some(&t),
        None,
    );
    c.request("POST", &format!("/subscriptions/{FRESH_SUB}/providers/Microsoft.Compute/register?api-version=2024-03-01"), Some(&t), None);

    let cat =
        format!("/subscriptions/{SUB}/providers/Microsoft.Compute/locations/eastus/publishers");
    for p in [
        "",
        "/RedHat/artifacttypes/vmimage/offers",
        "/RedHat/artifacttypes/vmimage/offers/RHEL/skus",
        "/RedHat/artifacttypes/vmimage/offers/RHEL/skus/9-lvm-gen2/versions",
        "/RedHat/artifacttypes/vmimage/offers/RHEL/skus/9-lvm-gen2/versions/9.6.2025052113",
    ] {
        assert_eq!(
            c.request(
                "GET",
                &format!("{cat}{p}?api-version={COMPUTE}"),
                Some(&t),
                None
            )
            .status,
            200,
            "{p}"
        );
    }
    let terms = format!("/subscriptions/{SUB}/providers/Microsoft.MarketplaceOrdering/offerTypes/virtualmachine/publishers/redhat/offers/rhel-byos/plans/rhel-lvm96-gen2/agreements/current?api-version=2021-01-01");
    let mut body = c.request("GET", &terms, Some(&t), None).body;
    body["properties"]["accepted"] = json!(true);
    c.request("PUT", &terms, Some(&t), Some(&body));
    let agr = format!("/subscriptions/{SUB}/providers/Microsoft.MarketplaceOrdering/agreements");
    c.request(
        "GET",
        &format!("{agr}?api-version=2021-01-01"),
        Some(&t),
        None,
    );
    c.request(
        "GET",
        &format!("{agr}/redhat/offers/rhel-byos/plans/rhel-lvm96-gen2?api-version=2021-01-01"),
        Some(&t),
        None,
    );
    c.request(
        "POST",
        &format!("{agr}/redhat/offers/rhel-byos/plans/rhel-lvm96-gen2/sign?api-version=2021-01-01"),
        Some(&t),
        None,
    );
    c.request(
        "POST",
        &format!(
            "{agr}/redhat/offers/rhel-byos/plans/rhel-lvm96-gen2/cancel?api-version=2021-01-01"
        ),
        Some(&t),
        None,
    );

    let net = format!("{rg}/providers/Microsoft.Network");
    c.put_and_wait(&t, &format!("{net}/networkSecurityGroups/nsg?api-version={NETWORK}"), json!({ "location": "eastus", "properties": { "securityRules": [{ "name": "ssh", "properties": { "priority": 100, "direction": "Inbound", "access": "Allow", "protocol": "Tcp", "sourcePortRange": "*", "destinationPortRange": "22", "sourceAddressPrefix": "*", "destinationAddressPrefix": "*" } }] } }));
    c.put_and_wait(&t, &format!("{net}/virtualNetworks/vnet?api-version={NETWORK}"), json!({ "location": "eastus", "properties": { "addressSpace": { "addressPrefixes": ["10.9.0.0/16"] }, "subnets": [{ "name": "a", "properties": { "addressPrefix": "10.9.1.0/24" } }] } }));
    c.put_and_wait(
        &t,
        &format!("{net}/virtualNetworks/vnet/subnets/b?api-version={NETWORK}"),
        json!({ "properties": { "addressPrefix": "10.9.2.0/24" } }),
    );
    c.request(
        "GET",
        &format!("{net}/virtualNetworks/vnet/subnets?api-version={NETWORK}"),
        Some(&t),
        None,
    );
    c.put_and_wait(&t, &format!("{net}/publicIPAddresses/ip?api-version={NETWORK}"), json!({ "location": "eastus", "sku": { "name": "Standard" }, "properties": { "publicIPAllocationMethod": "Static" } }));
    c.put_and_wait(&t, &format!("{net}/networkInterfaces/nic?api-version={NETWORK}"), json!({ "location": "eastus", "properties": { "networkSecurityGroup": { "id": format!("{net}/networkSecurityGroups/nsg") }, "ipConfigurations": [{ "name": "p", "properties": { "subnet": { "id": format!("{net}/virtualNetworks/vnet/subnets/a") }, "publicIPAddress": { "id": format!("{net}/publicIPAddresses/ip") } } }] } }));
    c.request(
        "PATCH",
        &format!("{net}/networkInterfaces/nic?api-version={NETWORK}"),
        Some(&t),
        Some(&json!({ "tags": { "x": "y" } })),
    );

    let compute = format!("{rg}/providers/Microsoft.Compute");
    c.put_and_wait(&t, &format!("{compute}/images/img?api-version={COMPUTE}"), json!({ "location": "eastus", "properties": { "hyperVGeneration": "V2", "storageProfile": { "osDisk": { "osType": "Linux", "osState": "Generalized", "blobUri": "http://127.0.0.1:10000/devstoreaccount1/vhds/a.vhd" } } } }));
    c.request(
        "GET",
        &format!("{compute}/images?api-version={COMPUTE}"),
        Some(&t),
        None,
    );
    c.request(
        "PATCH",
        &format!("{compute}/images/img?api-version={COMPUTE}"),
        Some(&t),
        Some(&json!({ "tags": { "a": "b" } })),
    );
    c.put_and_wait(&t, &format!("{compute}/disks/d?api-version=2023-10-02"), json!({ "location": "eastus", "properties": { "creationData": { "createOption": "Empty" }, "diskSizeGB": 8 } }));
    c.put_and_wait(
        &t,
        &format!("{compute}/galleries/g?api-version=2023-07-03"),
        json!({ "location": "eastus", "properties": {} }),
    );
    c.put_and_wait(&t, &format!("{compute}/galleries/g/images/rhel?api-version=2023-07-03"), json!({ "location": "eastus", "properties": { "osType": "Linux", "osState": "Generalized", "hyperVGeneration": "V2", "identifier": { "publisher": "me", "offer": "rhel", "sku": "9" } } }));
    c.put_and_wait(&t, &format!("{compute}/galleries/g/images/rhel/versions/1.0.0?api-version=2023-07-03"), json!({ "location": "eastus", "properties": { "storageProfile": { "source": { "id": format!("{compute}/images/img") } } } }));
    c.request(
        "GET",
        &format!("{compute}/galleries/g/images?api-version=2023-07-03"),
        Some(&t),
        None,
    );
    c.request(
        "GET",
        &format!("{compute}/galleries/g/images/rhel/versions?api-version=2023-07-03"),
        Some(&t),
        None,
    );

    let vm = format!("{compute}/virtualMachines/vm");
    let r = c.put_and_wait(&t, &format!("{vm}?api-version={COMPUTE}"), json!({
        "location": "eastus",
        "properties": {
            "hardwareProfile": { "vmSize": "Standard_D2s_v5" },
            "storageProfile": { "imageReference": { "publisher": "RedHat", "offer": "RHEL", "sku": "9-lvm-gen2", "version": "latest" }, "osDisk": { "createOption": "FromImage", "deleteOption": "Delete" } },
            "osProfile": { "adminUsername": "cloud-user", "linuxConfiguration": { "disablePasswordAuthentication": true, "ssh": { "publicKeys": [{ "path": "/home/cloud-user/.ssh/authorized_keys", "keyData": "ssh-ed25519 AAAA k" }] } } },
            "networkProfile": { "networkInterfaces": [{ "id": format!("{net}/networkInterfaces/nic") }] }
        }
    }));
    assert_eq!(r.status, 200, "{}", r.text);
    c.request(
        "GET",
        &format!("{vm}/instanceView?api-version={COMPUTE}"),
        Some(&t),
        None,
    );
    for action in ["powerOff", "start", "deallocate", "start", "restart"] {
        let r = c.request(
            "POST",
            &format!("{vm}/{action}?api-version={COMPUTE}"),
            Some(&t),
            None,
        );
        c.wait_async(&t, r.header("azure-asyncoperation").unwrap());
    }
    c.request(
        "PATCH",
        &format!("{vm}?api-version={COMPUTE}"),
        Some(&t),
        Some(&json!({ "tags": { "a": "b" } })),
    );
    let rc = c.request(
        "PUT",
        &format!("{vm}/runCommands/status?api-version={COMPUTE}"),
        Some(&t),
        Some(&json!({ "location": "eastus", "properties": { "source": { "script": "echo hi" } } })),
    );
    c.wait_async(&t, rc.header("azure-asyncoperation").unwrap());
    c.request(
        "GET",
        &format!("{vm}/runCommands/status?api-version={COMPUTE}"),
        Some(&t),
        None,
    );
    c.request(
        "GET",
        &format!("{vm}/runCommands?api-version={COMPUTE}"),
        Some(&t),
        None,
    );
    c.request(
        "DELETE",
        &format!("{vm}/runCommands/status?api-version={COMPUTE}"),
        Some(&t),
        None,
    );

    let acct = format!("{rg}/providers/Microsoft.Storage/storageAccounts/tourstore");
    let r = c.request("PUT", &format!("{acct}?api-version=2023-05-01"), Some(&t), Some(&json!({ "location": "eastus", "sku": { "name": "Standard_LRS" }, "kind": "StorageV2" })));
    c.wait_location(&t, r.header("location").expect("Location"));
    c.request(
        "GET",
        &format!("{acct}?api-version=2023-05-01"),
        Some(&t),
        None,
    );
    c.request(
        "POST",
        &format!("{acct}/listKeys?api-version=2023-05-01"),
        Some(&t),
        None,
    );
    c.request("POST", &format!("{acct}/ListAccountSas?api-version=2023-05-01"), Some(&t), Some(&json!({ "signedServices": "b", "signedResourceTypes": "sco", "signedPermission": "rl", "signedExpiry": "2099-01-01T00:00:00Z" })));
    c.request("POST", &format!("{acct}/ListServiceSas?api-version=2023-05-01"), Some(&t), Some(&json!({ "canonicalizedResource": "/blob/tourstore/vhds", "signedResource": "c", "signedPermission": "r", "signedExpiry": "2099-01-01T00:00:00Z" })));
    c.request(
        "DELETE",
        &format!("{acct}?api-version=2023-05-01"),
        Some(&t),
        None,
    );
    c.request(
        "DELETE",
        &format!("{vm}?api-version={COMPUTE}"),
        Some(&t),
        None,
    );
    c.request(
        "DELETE",
        &format!("{compute}/images/img?api-version={COMPUTE}"),
        Some(&t),
        None,
    );

    let keys = "/redhat/api/rhsm/v2/activation_keys";
    c.request("POST", keys, Some(&rh), Some(&json!({ "name": "k" })));
    c.request("GET", keys, Some(&rh), None);
    c.request("GET", &format!("{keys}/k"), Some(&rh), None);
    c.request(
        "PUT",
        &format!("{keys}/k"),
        Some(&rh),
        Some(&json!({ "usage": "Production" })),
    );
    c.request(
        "GET",
        &format!("{keys}/k/available_repositories"),
        Some(&rh),
        None,
    );
    c.request(
        "POST",
        &format!("{keys}/k/additional_repositories"),
        Some(&rh),
        Some(&json!([{ "repositoryLabel": "rhel-9-for-x86_64-appstream-rpms" }])),
    );
    c.request(
        "DELETE",
        &format!("{keys}/k/additional_repositories"),
        Some(&rh),
        Some(&json!([{ "repositoryLabel": "rhel-9-for-x86_64-appstream-rpms" }])),
    );
    c.request("DELETE", &format!("{keys}/k"), Some(&rh), None);

    let src = "/redhat/api/sources/v3.1";
    c.request("GET", &format!("{src}/source_types"), Some(&rh), None);
    c.request("GET", &format!("{src}/application_types"), Some(&rh), None);
    let r = c.request("POST", &format!("{src}/bulk_create"), Some(&rh), Some(&json!({
        "sources": [{ "name": "tour", "source_type_name": "azure" }],
        "applications": [{ "source_name": "tour", "application_type_name": "/insights/platform/cloud-meter" }],
        "authentications": [{ "resource_type": "Application", "resource_name": "/insights/platform/cloud-meter", "authtype": "lighthouse_subscription_id", "username": SUB }],
    })));
    let id = r.body["sources"][0]["id"].as_str().unwrap().to_string();
    c.request(
        "GET",
        &format!("{src}/sources?filter[name]=tour"),
        Some(&rh),
        None,
    );
    c.request("GET", &format!("{src}/sources/{id}"), Some(&rh), None);
    c.request(
        "PATCH",
        &format!("{src}/sources/{id}"),
        Some(&rh),
        Some(&json!({ "name": "tour2" })),
    );
    c.request(
        "GET",
        &format!("{src}/sources/{id}/applications"),
        Some(&rh),
        None,
    );
    c.request(
        "GET",
        &format!("{src}/sources/{id}/authentications"),
        Some(&rh),
        None,
    );
    c.request("DELETE", &format!("{src}/sources/{id}"), Some(&rh), None);

    let ib = "/redhat/api/image-builder/v1";
    c.request("GET", &format!("{ib}/distributions"), Some(&rh), None);
    c.request(
        "GET",
        &format!("{ib}/architectures/rhel-9.6"),
        Some(&rh),
        None,
    );
    let r = c.request("POST", &format!("{ib}/compose"), Some(&rh), Some(&json!({ "distribution": "rhel-9.6", "image_requests": [{ "architecture": "x86_64", "image_type": "azure", "upload_request": { "type": "azure", "options": { "tenant_id": TENANT, "subscription_id": SUB, "resource_group": "tour", "image_name": "ib" } } }] })));
    let cid = r.body["id"].as_str().unwrap().to_string();
    c.request("GET", &format!("{ib}/composes"), Some(&rh), None);
    c.request("GET", &format!("{ib}/composes/{cid}"), Some(&rh), None);
    c.request("DELETE", &format!("{ib}/composes/{cid}"), Some(&rh), None);

    c.request(
        "DELETE",
        &format!("{rg}?api-version=2024-03-01"),
        Some(&t),
        None,
    );
}

#[test]
fn every_served_request_is_in_the_specs() {
    let c = Cloud::start();
    tour(&c);
    let log: Vec<Json> = c
        .control("GET", "requests", None)
        .text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        // The tour's deliberate miss, which must answer 404.
        .filter(|e: &Json| {
            !(e["status"] == 404 && e["path"].as_str().unwrap_or("").contains("/nope"))
        })
        .collect();
    assert!(log.len() > 60, "the tour covered {} requests", log.len());
    let misses = rhelazure_acceptance_tests::unspecified_requests(
        &rhelazure_acceptance_tests::spec_routes(),
        &log,
    );
    assert!(
        misses.is_empty(),
        "requests outside the specs (spec-routes.json) or to operation URLs never handed out:\n{}",
        misses.join("\n")
    );
}
