//! The local cloud driven over HTTP, no provider involved: identity and the
//! 401s, resource groups, resource CRUD with long-running operations,
//! validation and dependency errors, the catalogue and terms, throttling,
//! faults, registration, persistence, the request log, RHSM activation keys,
//! Cloud Access enrolment through Sources, and Image Builder composes.

mod support;

use std::time::Duration;

use serde_json::json;
use support::*;

fn image_body(gen: &str) -> serde_json::Value {
    json!({
        "location": "eastus",
        "properties": {
            "hyperVGeneration": gen,
            "storageProfile": { "osDisk": { "osType": "Linux", "osState": "Generalized", "blobUri": "http://127.0.0.1:10000/devstoreaccount1/vhds/rhel.vhd" } }
        }
    })
}

#[test]
fn identity_and_the_real_401s() {
    let c = Cloud::start();
    let rg = format!("{}?api-version=2024-03-01", Cloud::rg_path("rhel-demo"));

    let r = c.request("GET", &rg, None, None);
    assert_eq!((r.status, r.code()), (401, "AuthenticationFailed"));
    assert!(r
        .header("www-authenticate")
        .is_some_and(|h| h.starts_with("Bearer ")));

    let r = c.request("GET", &rg, Some("not-a-token"), None);
    assert_eq!((r.status, r.code()), (401, "InvalidAuthenticationToken"));

    // A token for another audience (Storage) is refused by ARM.
    let storage = c.token_for(TENANT, CLIENT, "https://storage.azure.com/.default");
    assert_eq!(storage.status, 200);
    let r = c.request("GET", &rg, storage.body["access_token"].as_str(), None);
    assert_eq!(
        (r.status, r.code()),
        (401, "InvalidAuthenticationTokenAudience")
    );

    // A token from the wrong tenant.
    let other = c.token_for(
        OTHER_TENANT,
        OTHER_CLIENT,
        "https://management.azure.com/.default",
    );
    let r = c.request("GET", &rg, other.body["access_token"].as_str(), None);
    assert_eq!(
        (r.status, r.code()),
        (401, "InvalidAuthenticationTokenTenant")
    );

    // The local ARM endpoint itself is an accepted scope.
    let local = c.token_for(TENANT, CLIENT, &format!("{}/.default", c.base));
    let r = c.request("GET", &rg, local.body["access_token"].as_str(), None);
    assert_eq!(r.status, 200, "{}", r.text);

    // Expired tokens.
    let mut cfg = c.control("GET", "config", None).body;
    cfg["token_lifetime_s"] = json!(0);
    c.control("PUT", "config", Some(cfg));
    let expired = c.arm_token();
    let r = c.request("GET", &rg, Some(&expired), None);
    assert_eq!((r.status, r.code()), (401, "ExpiredAuthenticationToken"));

    // Token endpoint errors, as Entra words them.
    let bad = c.token_for(
        TENANT,
        (CLIENT.0, "wrong"),
        "https://management.azure.com/.default",
    );
    assert_eq!(
        (bad.status, bad.body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    assert!(bad.body["error_description"]
        .as_str()
        .unwrap()
        .starts_with("AADSTS7000215"));
    let unknown = c.token_for(
        TENANT,
        ("nobody", "x"),
        "https://management.azure.com/.default",
    );
    assert_eq!(unknown.body["error"], "unauthorized_client");
    let wrong_tenant = c.token_for(
        OTHER_TENANT,
        CLIENT,
        "https://management.azure.com/.default",
    );
    assert_eq!(wrong_tenant.body["error"], "unauthorized_client");

    // Red Hat SSO: offline token and service account; RH APIs need its token.
    let rh = c.redhat_token();
    assert_eq!(
        c.request(
            "GET",
            "/redhat/api/rhsm/v2/activation_keys",
            Some(&rh),
            None
        )
        .status,
        200
    );
    let r = c.request("GET", "/redhat/api/rhsm/v2/activation_keys", None, None);
    assert_eq!(r.status, 401);
    assert_eq!(r.body["error"]["code"], 401);
    let arm_token_at_rh = c.request(
        "GET",
        "/redhat/api/rhsm/v2/activation_keys",
        Some(&c.arm_token()),
        None,
    );
    assert_eq!(
        arm_token_at_rh.status, 401,
        "an ARM token is not a Red Hat token"
    );
    let sso = "/sso/auth/realms/redhat-external/protocol/openid-connect/token";
    let bad = c.raw(
        "POST",
        sso,
        None,
        Some((
            "application/x-www-form-urlencoded",
            "grant_type=refresh_token&client_id=rhsm-api&refresh_token=nope".into(),
        )),
    );
    assert_eq!(
        (bad.status, bad.body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    // Offline tokens are bound to the client that issued them, as in Keycloak.
    let refresh = |client: &str, token: &str| {
        c.raw(
            "POST",
            sso,
            None,
            Some((
                "application/x-www-form-urlencoded",
                format!("grant_type=refresh_token&client_id={client}&refresh_token={token}"),
            )),
        )
    };
    assert_eq!(refresh("rhsm-api", OFFLINE_TOKEN).status, 200);
    let console = refresh("cloud-services", CONSOLE_OFFLINE_TOKEN);
    assert_eq!(console.status, 200, "{}", console.text);
    for (client, token) in [
        ("rhsm-api", CONSOLE_OFFLINE_TOKEN),
        ("cloud-services", OFFLINE_TOKEN),
    ] {
        let r = refresh(client, token);
        assert_eq!(
            (
                r.status,
                r.body["error"].as_str(),
                r.body["error_description"].as_str()
            ),
            (
                400,
                Some("invalid_grant"),
                Some("Invalid refresh token. Token client and authorized client don't match")
            ),
            "{client}"
        );
    }
    let unknown_client = refresh("no-such-client", OFFLINE_TOKEN);
    assert_eq!(
        (unknown_client.status, unknown_client.body["error"].as_str()),
        (401, Some("unauthorized_client"))
    );
    let svc = c.raw("POST", sso, None, Some(("application/x-www-form-urlencoded", "grant_type=client_credentials&client_id=b6e2f1a4-local-cloud-svc&client_secret=local-cloud-svc-secret-58c1d2&scope=api.console".into())));
    assert_eq!(svc.status, 200, "{}", svc.text);
    assert_eq!(svc.body["expires_in"], 900);
}

#[test]
fn subscription_and_its_locations() {
    let c = Cloud::start();
    let t = c.arm_token();
    let r = c.request(
        "GET",
        &format!("/subscriptions/{SUB}?api-version=2022-12-01"),
        Some(&t),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["subscriptionId"], SUB);
    assert_eq!(r.body["state"], "Enabled");
    let r = c.request(
        "GET",
        &format!("/subscriptions/{SUB}/locations?api-version=2022-12-01"),
        Some(&t),
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let value = r.body["value"].as_array().unwrap();
    let eastus = value
        .iter()
        .find(|l| l["name"] == "eastus")
        .expect("eastus listed");
    assert_eq!(
        eastus["id"],
        format!("/subscriptions/{SUB}/locations/eastus")
    );
    assert_eq!(eastus["displayName"], "East US");
    assert_eq!(eastus["type"], "Region");
    assert_eq!(eastus["metadata"]["pairedRegion"][0]["name"], "westus");
    assert!(
        r.body.get("nextLink").is_none(),
        "one page, as the spec says"
    );
    let r = c.request(
        "GET",
        &format!("/subscriptions/{SUB}/locations?api-version=2099-01-01"),
        Some(&t),
        None,
    );
    assert_eq!((r.status, r.code()), (400, "InvalidApiVersionParameter"));
}

#[test]
fn resource_groups_api_versions_and_validation() {
    let c = Cloud::start();
    let t = c.arm_token();
    let r = c.request("GET", &Cloud::rg_path("rhel-demo"), Some(&t), None);
    assert_eq!((r.status, r.code()), (400, "MissingApiVersionParameter"));
    let r = c.request(
        "GET",
        &format!("{}?api-version=1999-01-01", Cloud::rg_path("rhel-demo")),
        Some(&t),
        None,
    );
    // Microsoft.Resources' own types: the front door's error, not a resource provider's.
    assert_eq!((r.status, r.code()), (400, "InvalidApiVersionParameter"));
    assert!(
        r.text.contains("The api-version '1999-01-01' is invalid") && r.text.contains("2024-03-01"),
        "names the supported version: {}",
        r.text
    );

    let path = format!("{}?api-version=2024-03-01", Cloud::rg_path("test-rg"));
    let r = c.request("PUT", &path, Some(&t), Some(&json!({})));
    assert_eq!((r.status, r.code()), (400, "LocationRequired"));
    let r = c.request(
        "PUT",
        &path,
        Some(&t),
        Some(&json!({ "location": "Mars Central" })),
    );
    assert_eq!(r.code(), "LocationNotAvailableForResourceGroup");
    let r = c.request(
        "PUT",
        &path,
        Some(&t),
        Some(&json!({ "location": "East US", "tags": { "a": "b" } })),
    );
    assert_eq!(r.status, 201);
    assert_eq!(r.body["location"], "eastus");
    assert_eq!(
        c.request(
            "PUT",
            &path,
            Some(&t),
            Some(&json!({ "location": "eastus" }))
        )
        .status,
        200
    );
    assert_eq!(
        c.request(
            "PUT",
            &path,
            Some(&t),
            Some(&json!({ "location": "westus" }))
        )
        .code(),
        "InvalidResourceGroupLocation"
    );
    assert_eq!(c.request("HEAD", &path, Some(&t), None).status, 204);
    let r = c.request(
        "GET",
        &format!("{}?api-version=2024-03-01", Cloud::rg_path("nope")),
        Some(&t),
        None,
    );
    assert_eq!((r.status, r.code()), (404, "ResourceGroupNotFound"));
    let r = c.request(
        "GET",
        &format!("/subscriptions/{SUB}/resourcegroups?api-version=2024-03-01"),
        Some(&t),
        None,
    );
    assert!(r.body["value"].as_array().unwrap().len() >= 2);
    let r = c.request(
        "GET",
        "/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups?api-version=2024-03-01",
        Some(&t),
        None,
    );
    assert_eq!((r.status, r.code()), (404, "SubscriptionNotFound"));
}

#[test]
fn long_running_create_and_delete_of_an_image() {
    let c = Cloud::start();
    let t = c.arm_token();
    c.create_group(&t, "images");
    let path = format!(
        "{}/providers/Microsoft.Compute/images/rhel9?api-version={COMPUTE}",
        Cloud::rg_path("images")
    );

    let r = c.request("PUT", &path, Some(&t), Some(&image_body("V2")));
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["properties"]["provisioningState"], "Creating");
    assert_eq!(r.body["type"], "Microsoft.Compute/images");
    let op = r
        .header("azure-asyncoperation")
        .expect("Azure-AsyncOperation")
        .to_string();
    assert!(r.header("retry-after").is_some());
    let first = c.request("GET", &op, Some(&t), None);
    assert_eq!(first.body["status"], "InProgress");
    assert_eq!(c.wait_async(&t, &op)["status"], "Succeeded");
    let got = c.request("GET", &path, Some(&t), None);
    assert_eq!(got.body["properties"]["provisioningState"], "Succeeded");
    assert_eq!(got.body["properties"]["hyperVGeneration"], "V2");
    assert!(got
        .header("x-ms-ratelimit-remaining-subscription-reads")
        .is_some());
    assert!(got.header("x-ms-request-id").is_some());

    // Changing the source of an image is not allowed; tags are.
    let mut changed = image_body("V1");
    changed["tags"] = json!({ "x": "y" });
    assert_eq!(
        c.request("PUT", &path, Some(&t), Some(&changed)).code(),
        "PropertyChangeNotAllowed"
    );

    // ETags.
    let mut with_match = image_body("V2");
    with_match["tags"] = json!({ "x": "y" });
    let r = c.raw(
        "PUT",
        &path,
        Some(&t),
        Some(("application/json", with_match.to_string())),
    );
    assert_eq!(r.status, 200);
    c.wait_async(&t, r.header("azure-asyncoperation").unwrap());

    let del = c.request("DELETE", &path, Some(&t), None);
    assert_eq!(del.status, 202);
    let loc = del.header("location").expect("Location").to_string();
    assert_eq!(c.wait_location(&t, &loc).status, 204);
    let r = c.request("GET", &path, Some(&t), None);
    assert_eq!((r.status, r.code()), (404, "ResourceNotFound"));
    assert_eq!(
        c.request("DELETE", &path, Some(&t), None).status,
        204,
        "deleting what is gone is fine"
    );
}

#[test]
fn validation_errors_name_their_target() {
    let c = Cloud::start();
    let t = c.arm_token();
    c.create_group(&t, "v");
    let base = Cloud::rg_path("v");
    let r = c.request(
        "PUT",
        &format!("{base}/providers/Microsoft.Compute/images/x?api-version={COMPUTE}"),
        Some(&t),
        Some(&json!({ "location": "eastus", "properties": {} })),
    );
    assert_eq!((r.status, r.code()), (400, "InvalidParameter"));
    assert_eq!(r.body["error"]["target"], "storageProfile.osDisk");
    let r = c.request(
        "PUT",
        &format!("{base}/providers/Microsoft.Compute/images/bad!name?api-version={COMPUTE}"),
        Some(&t),
        Some(&image_body("V2")),
    );
    assert_eq!(r.code(), "InvalidResourceName");
    let r = c.request("PUT", &format!("{base}/providers/Microsoft.Network/virtualNetworks/n?api-version={NETWORK}"), Some(&t), Some(&json!({ "location": "eastus", "properties": { "addressSpace": { "addressPrefixes": ["10.0.0.0/99"] } } })));
    assert_eq!(r.code(), "InvalidAddressPrefixFormat");
    let r = c.request("PUT", &format!("{base}/providers/Microsoft.Network/publicIPAddresses/p?api-version={NETWORK}"), Some(&t), Some(&json!({ "location": "eastus", "sku": { "name": "Standard" }, "properties": { "publicIPAllocationMethod": "Dynamic" } })));
    assert_eq!(r.code(), "StandardSkuPublicIPAddressesMustBeStatic");
    let r = c.request("PUT", &format!("{base}/providers/Microsoft.Storage/storageAccounts/Bad_Name?api-version=2023-05-01"), Some(&t), Some(&json!({ "location": "eastus", "sku": { "name": "Standard_LRS" }, "kind": "StorageV2" })));
    assert_eq!(r.code(), "AccountNameInvalid");
    let r = c.request(
        "PUT",
        &format!("{base}/providers/Microsoft.Compute/images/x?api-version=2020-01-01"),
        Some(&t),
        Some(&image_body("V2")),
    );
    assert_eq!(r.code(), "NoRegisteredProviderFound");
    let r = c.request(
        "PUT",
        &format!("{base}/providers/Microsoft.Compute/images/x?api-version={COMPUTE}"),
        Some(&t),
        None,
    );
    assert_eq!(r.code(), "InvalidRequestContent");
}

/// NIC + public IP + VM in the demo network; returns (nic path, vm path).
fn network_and_vm(
    c: &Cloud,
    t: &str,
    rg: &str,
    vm: &str,
    image: serde_json::Value,
    plan: Option<serde_json::Value>,
    size: &str,
) -> (String, String, support::Resp) {
    let base = Cloud::rg_path(rg);
    let subnet = format!("/subscriptions/{SUB}/resourceGroups/rhel-demo/providers/Microsoft.Network/virtualNetworks/rhel-demo-vnet/subnets/hosts");
    let pip = format!("{base}/providers/Microsoft.Network/publicIPAddresses/{vm}-ip");
    c.put_and_wait(t, &format!("{pip}?api-version={NETWORK}"), json!({ "location": "eastus", "sku": { "name": "Standard" }, "properties": { "publicIPAllocationMethod": "Static" } }));
    let nic = format!("{base}/providers/Microsoft.Network/networkInterfaces/{vm}-nic");
    let n = c.put_and_wait(t, &format!("{nic}?api-version={NETWORK}"), json!({ "location": "eastus", "properties": { "ipConfigurations": [{ "name": "primary", "properties": { "subnet": { "id": subnet }, "publicIPAddress": { "id": pip } } }] } }));
    assert!(
        n.body["properties"]["ipConfigurations"][0]["properties"]["privateIPAddress"]
            .as_str()
            .unwrap()
            .starts_with("10.42.")
    );
    let vm_path = format!("{base}/providers/Microsoft.Compute/virtualMachines/{vm}");
    let mut body = json!({
        "location": "eastus",
        "properties": {
            "hardwareProfile": { "vmSize": size },
            "storageProfile": { "imageReference": image, "osDisk": { "createOption": "FromImage", "deleteOption": "Delete", "managedDisk": { "storageAccountType": "Premium_LRS" } } },
            "osProfile": { "computerName": vm, "adminUsername": "cloud-user", "customData": "I2Nsb3VkLWNvbmZpZwo=",
                "linuxConfiguration": { "disablePasswordAuthentication": true, "ssh": { "publicKeys": [{ "path": "/home/cloud-user/.ssh/authorized_keys", "keyData": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKey test" }] } } },
            "networkProfile": { "networkInterfaces": [{ "id": nic, "properties": { "primary": true, "deleteOption": "Delete" } }] }
        }
    });
    if let Some(p) = plan {
        body["plan"] = p;
    }
    let r = c.request(
        "PUT",
        &format!("{vm_path}?api-version={COMPUTE}"),
        Some(t),
        Some(&body),
    );
    (nic, vm_path, r)
}

#[test]
fn virtual_machines_plans_terms_generations_and_dependencies() {
    let c = Cloud::start();
    let t = c.arm_token();
    c.create_group(&t, "hosts");
    let payg =
        json!({ "publisher": "RedHat", "offer": "RHEL", "sku": "9-lvm-gen2", "version": "latest" });

    // Generation and architecture mismatches.
    let (_, _, r) = network_and_vm(&c, &t, "hosts", "gen", payg.clone(), None, "Standard_A1_v2");
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(
        r.text.contains("cannot boot Hypervisor Generation '2'"),
        "{}",
        r.text
    );
    let (_, _, r) = network_and_vm(
        &c,
        &t,
        "hosts",
        "arch",
        payg.clone(),
        None,
        "Standard_D2ps_v5",
    );
    assert!(r.text.contains("architecture"), "{}", r.text);

    // Pay-as-you-go works; the OS disk is a real disk; the NIC is attached.
    let (nic, vm, r) = network_and_vm(&c, &t, "hosts", "payg", payg, None, "Standard_D2s_v5");
    assert_eq!(r.status, 201, "{}", r.text);
    c.wait_async(&t, r.header("azure-asyncoperation").unwrap());
    let got = c.request(
        "GET",
        &format!("{vm}?api-version={COMPUTE}"),
        Some(&t),
        None,
    );
    assert!(
        got.body["properties"]["osProfile"]
            .get("customData")
            .is_none(),
        "ARM never returns customData"
    );
    assert_eq!(
        got.body["properties"]["storageProfile"]["imageReference"]["exactVersion"],
        "9.6.2025052113"
    );
    let disk_id = got.body["properties"]["storageProfile"]["osDisk"]["managedDisk"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let disk = c.request(
        "GET",
        &format!("{disk_id}?api-version=2023-10-02"),
        Some(&t),
        None,
    );
    assert_eq!(
        disk.body["managedBy"].as_str().map(str::to_ascii_lowercase),
        Some(vm.to_ascii_lowercase())
    );

    // A NIC in use cannot be deleted, nor a disk attached.
    let r = c.request(
        "DELETE",
        &format!("{nic}?api-version={NETWORK}"),
        Some(&t),
        None,
    );
    assert_eq!((r.status, r.code()), (400, "NicInUse"));
    assert_eq!(
        c.request(
            "DELETE",
            &format!("{disk_id}?api-version=2023-10-02"),
            Some(&t),
            None
        )
        .code(),
        "OperationNotAllowed"
    );

    // Resize across families needs a deallocated VM.
    let r = c.request(
        "PATCH",
        &format!("{vm}?api-version={COMPUTE}"),
        Some(&t),
        Some(&json!({ "properties": { "hardwareProfile": { "vmSize": "Standard_E2s_v5" } } })),
    );
    assert_eq!(r.code(), "OperationNotAllowed", "{}", r.text);
    let r = c.request(
        "POST",
        &format!("{vm}/deallocate?api-version={COMPUTE}"),
        Some(&t),
        None,
    );
    assert_eq!(r.status, 202);
    c.wait_async(&t, r.header("azure-asyncoperation").unwrap());
    let iv = c.request(
        "GET",
        &format!("{vm}/instanceView?api-version={COMPUTE}"),
        Some(&t),
        None,
    );
    assert!(iv.text.contains("PowerState/deallocated"), "{}", iv.text);
    let r = c.request("PATCH", &format!("{vm}?api-version={COMPUTE}"), Some(&t), Some(&json!({ "properties": { "hardwareProfile": { "vmSize": "Standard_E2s_v5" } }, "tags": { "env": "test" } })));
    assert_eq!(r.status, 200, "{}", r.text);
    c.wait_async(&t, r.header("azure-asyncoperation").unwrap());

    // Deleting the VM cascades to disk and NIC (deleteOption Delete) and frees the public IP.
    let r = c.request(
        "DELETE",
        &format!("{vm}?api-version={COMPUTE}"),
        Some(&t),
        None,
    );
    c.wait_async(&t, r.header("azure-asyncoperation").unwrap());
    assert_eq!(
        c.request(
            "GET",
            &format!("{disk_id}?api-version=2023-10-02"),
            Some(&t),
            None
        )
        .status,
        404
    );
    assert_eq!(
        c.request(
            "GET",
            &format!("{nic}?api-version={NETWORK}"),
            Some(&t),
            None
        )
        .status,
        404
    );
    let pip = format!(
        "{}/providers/Microsoft.Network/publicIPAddresses/payg-ip?api-version={NETWORK}",
        Cloud::rg_path("hosts")
    );
    assert!(c.request("GET", &pip, Some(&t), None).body["properties"]
        .get("ipConfiguration")
        .is_none());
}

#[test]
fn byos_needs_enrolment_plan_and_terms() {
    let c = Cloud::start();
    let t = c.arm_token();
    let rh = c.redhat_token();
    c.create_group(&t, "byos");
    let byos = json!({ "publisher": "RedHat", "offer": "rhel-byos", "sku": "rhel-lvm96-gen2", "version": "latest" });
    let plan = json!({ "publisher": "redhat", "product": "rhel-byos", "name": "rhel-lvm96-gen2" });
    let skus = format!("/subscriptions/{SUB}/providers/Microsoft.Compute/locations/eastus/publishers/RedHat/artifacttypes/vmimage/offers/rhel-byos/skus?api-version={COMPUTE}");

    // Not enrolled: the gold images are invisible and private.
    assert_eq!(c.request("GET", &skus, Some(&t), None).status, 404);
    let (_, _, r) = network_and_vm(
        &c,
        &t,
        "byos",
        "b1",
        byos.clone(),
        Some(plan.clone()),
        "Standard_D2s_v5",
    );
    assert_eq!(r.code(), "MarketplacePurchaseEligibilityFailed");
    assert!(
        r.text.contains("is private and can not be purchased"),
        "{}",
        r.text
    );

    // Enrol through Sources (as the provider does), then the catalogue shows them.
    let enrol = json!({
        "sources": [{ "name": "azure-local", "source_type_name": "azure", "app_creation_workflow": "manual_configuration" }],
        "applications": [{ "source_name": "azure-local", "application_type_name": "/insights/platform/cloud-meter" }],
        "authentications": [{ "resource_type": "Application", "resource_name": "/insights/platform/cloud-meter", "authtype": "lighthouse_subscription_id", "username": SUB }],
    });
    let r = c.request(
        "POST",
        "/redhat/api/sources/v3.1/bulk_create",
        Some(&rh),
        Some(&enrol),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let source_id = r.body["sources"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(
        r.body["applications"][0]["availability_status"],
        "available"
    );
    let again = c.request(
        "POST",
        "/redhat/api/sources/v3.1/bulk_create",
        Some(&rh),
        Some(&enrol),
    );
    assert_eq!(again.status, 400, "names are unique");
    eventually("gold images after enrolment", || {
        // Until they show, the offer is unknown here (404), as in Azure.
        let listed = c.request("GET", &skus, Some(&t), None);
        assert!(matches!(listed.status, 200 | 404), "{}", listed.text);
        listed.text.contains("rhel-lvm96-gen2").then_some(())
    });

    // Red Hat's side: RHSM's Cloud Access accounts show the subscription
    // with gold image access granted; the spec's filters apply.
    let accounts = |q: &str| {
        c.request(
            "GET",
            &format!("/redhat/api/rhsm/v2/cloud_access_providers/accounts{q}"),
            Some(&rh),
            None,
        )
    };
    let r = accounts(&format!(
        "?shortName=msaz&providerAccountID={}",
        &SUB[..8].to_uppercase()
    ));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body["body"][0]["providerAccountID"], SUB,
        "partial, without case"
    );
    assert_eq!(r.body["body"][0]["shortName"], "MSAZ");
    assert_eq!(r.body["body"][0]["goldImageAccess"], "Granted");
    assert_eq!(r.body["pagination"]["total"], 1);
    assert_eq!(accounts("?shortName=AWS").body["body"], json!([]));
    assert_eq!(accounts("?goldImageAccess=failed").body["body"], json!([]));

    // The image carries a plan; a VM without it, or without accepted terms, fails.
    let v = c.request("GET", &format!("/subscriptions/{SUB}/providers/Microsoft.Compute/locations/eastus/publishers/RedHat/artifacttypes/vmimage/offers/rhel-byos/skus/rhel-lvm96-gen2/versions/9.6.2025052113?api-version={COMPUTE}"), Some(&t), None);
    assert_eq!(v.body["properties"]["plan"]["product"], "rhel-byos");
    let (_, _, r) = network_and_vm(&c, &t, "byos", "b2", byos.clone(), None, "Standard_D2s_v5");
    assert_eq!(r.code(), "VMMarketplaceInvalidInput");
    // An image with no plan (a managed image) sent with one: nothing to buy.
    let image = format!(
        "{}/providers/Microsoft.Compute/images/plain",
        Cloud::rg_path("byos")
    );
    c.put_and_wait(
        &t,
        &format!("{image}?api-version={COMPUTE}"),
        image_body("V2"),
    );
    let (_, _, r) = network_and_vm(
        &c,
        &t,
        "byos",
        "b4",
        json!({ "id": image }),
        Some(plan.clone()),
        "Standard_D2s_v5",
    );
    assert_eq!(r.code(), "VMMarketplaceInvalidInput", "{}", r.text);
    assert!(
        r.text.contains("does not need Plan information"),
        "{}",
        r.text
    );
    let (_, _, r) = network_and_vm(
        &c,
        &t,
        "byos",
        "b3",
        byos.clone(),
        Some(plan.clone()),
        "Standard_D2s_v5",
    );
    assert_eq!(r.code(), "MarketplacePurchaseEligibilityFailed");
    assert!(
        r.text.contains("You have not accepted the legal terms"),
        "{}",
        r.text
    );

    // Accept: GET the terms and PUT them back accepted.
    let terms_path = format!("/subscriptions/{SUB}/providers/Microsoft.MarketplaceOrdering/offerTypes/virtualmachine/publishers/redhat/offers/rhel-byos/plans/rhel-lvm96-gen2/agreements/current?api-version=2021-01-01");
    let mut terms = c.request("GET", &terms_path, Some(&t), None).body;
    assert_eq!(terms["properties"]["accepted"], false);
    let mut forged = terms.clone();
    forged["properties"]["signature"] = json!("FORGED");
    forged["properties"]["accepted"] = json!(true);
    assert_eq!(
        c.request("PUT", &terms_path, Some(&t), Some(&forged))
            .code(),
        "InvalidAgreementSignature"
    );
    terms["properties"]["accepted"] = json!(true);
    assert_eq!(
        c.request("PUT", &terms_path, Some(&t), Some(&terms)).status,
        200
    );
    let (_, vm, r) = network_and_vm(&c, &t, "byos", "b4", byos, Some(plan), "Standard_D2s_v5");
    assert_eq!(r.status, 201, "{}", r.text);
    c.wait_async(&t, r.header("azure-asyncoperation").unwrap());
    assert_eq!(
        c.request(
            "GET",
            &format!("{vm}?api-version={COMPUTE}"),
            Some(&t),
            None
        )
        .body["plan"]["name"],
        "rhel-lvm96-gen2"
    );

    // Cancel (out of band) shows as not accepted.
    let cancel = c.request("POST", &format!("/subscriptions/{SUB}/providers/Microsoft.MarketplaceOrdering/agreements/redhat/offers/rhel-byos/plans/rhel-lvm96-gen2/cancel?api-version=2021-01-01"), Some(&t), None);
    assert_eq!(cancel.body["properties"]["state"], "Canceled");
    assert_eq!(
        c.request("GET", &terms_path, Some(&t), None).body["properties"]["accepted"],
        false
    );

    // Deleting the source withdraws the gold images.
    assert_eq!(
        c.request(
            "DELETE",
            &format!("/redhat/api/sources/v3.1/sources/{source_id}"),
            Some(&rh),
            None
        )
        .status,
        204
    );
    assert_eq!(c.request("GET", &skus, Some(&t), None).status, 404);
}

#[test]
fn catalogue_latest_is_numeric() {
    let c = Cloud::start();
    let t = c.arm_token();
    let r = c.request("GET", &format!("/subscriptions/{SUB}/providers/Microsoft.Compute/locations/eastus/publishers/RedHat/artifacttypes/vmimage/offers/RHEL/skus/8-lvm-gen2/versions?api-version={COMPUTE}&$orderby=name%20desc&$top=1"), Some(&t), None);
    assert_eq!(r.body[0]["name"], "8.10.2025012007");
    let r = c.request("GET", &format!("/subscriptions/{SUB}/providers/Microsoft.Compute/locations/eastus/publishers/RedHat/artifacttypes/vmimage/offers/RHEL/skus/9-lvm-gen2/versions/9.4.2024081415?api-version={COMPUTE}"), Some(&t), None);
    assert_eq!(
        r.body["properties"]["imageDeprecationStatus"]["imageState"],
        "ScheduledForDeprecation"
    );
    let r = c.request("GET", &format!("/subscriptions/{SUB}/providers/Microsoft.Compute/locations/eastus/publishers/RedHat/artifacttypes/vmimage/offers/NOPE/skus?api-version={COMPUTE}"), Some(&t), None);
    assert_eq!((r.status, r.code()), (404, "NotFound"));
}

#[test]
fn registration_on_demand() {
    let c = Cloud::start();
    let t = c.arm_token();
    let rg = format!("/subscriptions/{FRESH_SUB}/resourceGroups/fresh");
    assert_eq!(
        c.request(
            "PUT",
            &format!("{rg}?api-version=2024-03-01"),
            Some(&t),
            Some(&json!({ "location": "eastus" }))
        )
        .status,
        201
    );
    let img = format!("{rg}/providers/Microsoft.Compute/images/i?api-version={COMPUTE}");
    let r = c.request("PUT", &img, Some(&t), Some(&image_body("V2")));
    assert_eq!(
        (r.status, r.code()),
        (409, "MissingSubscriptionRegistration")
    );
    // ARM's shape: the namespace is named in the detail, not at the top.
    assert_eq!(r.body["error"]["details"][0]["target"], "Microsoft.Compute");
    assert!(r.body["error"].get("target").is_none(), "{}", r.body);
    let reg = c.request("POST", &format!("/subscriptions/{FRESH_SUB}/providers/Microsoft.Compute/register?api-version=2024-03-01"), Some(&t), None);
    assert_eq!(reg.body["registrationState"], "Registering");
    eventually("Microsoft.Compute registered", || {
        let state = c.request(
            "GET",
            &format!(
                "/subscriptions/{FRESH_SUB}/providers/Microsoft.Compute?api-version=2024-03-01"
            ),
            Some(&t),
            None,
        );
        let now = state.body["registrationState"].as_str().unwrap_or_default();
        assert!(matches!(now, "Registering" | "Registered"), "{now}");
        (now == "Registered").then_some(())
    });
    assert_eq!(
        c.request("PUT", &img, Some(&t), Some(&image_body("V2")))
            .status,
        201
    );
}

#[test]
fn throttling_budgets_and_headers() {
    let c = Cloud::start();
    let t = c.arm_token();
    c.control(
        "PUT",
        "throttle",
        Some(json!({ "writes": { "capacity": 3.0, "per_second": 1.0 } })),
    );
    let path = |i: usize| {
        format!(
            "{}?api-version=2024-03-01",
            Cloud::rg_path(&format!("t{i}"))
        )
    };
    let mut remaining = Vec::new();
    for i in 0..3 {
        let r = c.request(
            "PUT",
            &path(i),
            Some(&t),
            Some(&json!({ "location": "eastus" })),
        );
        assert_eq!(r.status, 201);
        remaining.push(
            r.header("x-ms-ratelimit-remaining-subscription-writes")
                .unwrap()
                .parse::<u32>()
                .unwrap(),
        );
    }
    assert_eq!(remaining, vec![2, 1, 0]);
    let r = c.request(
        "PUT",
        &path(9),
        Some(&t),
        Some(&json!({ "location": "eastus" })),
    );
    assert_eq!((r.status, r.code()), (429, "SubscriptionRequestsThrottled"));
    assert_eq!(r.header("retry-after"), Some("1"));
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(
        c.request(
            "PUT",
            &path(9),
            Some(&t),
            Some(&json!({ "location": "eastus" }))
        )
        .status,
        201,
        "refilled"
    );
    // Reads have their own budget.
    assert_eq!(c.request("GET", &path(9), Some(&t), None).status, 200);
}

#[test]
fn fault_injection() {
    let c = Cloud::start();
    let t = c.arm_token();
    let path = format!("{}?api-version=2024-03-01", Cloud::rg_path("rhel-demo"));
    c.control("POST", "faults", Some(json!({ "method": "GET", "path": "/resourceGroups/rhel-demo", "status": 503, "retry_after": 2, "count": 1 })));
    let r = c.request("GET", &path, Some(&t), None);
    assert_eq!((r.status, r.header("retry-after")), (503, Some("2")));
    assert_eq!(
        c.request("GET", &path, Some(&t), None).status,
        200,
        "count exhausted"
    );

    // An LRO that ends Failed.
    c.create_group(&t, "f");
    c.control("POST", "faults", Some(json!({ "method": "PUT", "path": "/images/", "lro_fail": true, "code": "InternalOperationError", "message": "disk copy failed", "count": 1 })));
    let r = c.request(
        "PUT",
        &format!(
            "{}/providers/Microsoft.Compute/images/i?api-version={COMPUTE}",
            Cloud::rg_path("f")
        ),
        Some(&t),
        Some(&image_body("V2")),
    );
    assert_eq!(r.status, 201);
    let done = c.wait_async(&t, r.header("azure-asyncoperation").unwrap());
    assert_eq!(done["status"], "Failed");
    assert_eq!(done["error"]["message"], "disk copy failed");

    // Latency, and a dropped connection.
    c.control(
        "POST",
        "faults",
        Some(json!({ "path": "/resourceGroups/rhel-demo", "latency_ms": 300, "count": 1 })),
    );
    let start = std::time::Instant::now();
    assert_eq!(c.request("GET", &path, Some(&t), None).status, 200);
    assert!(start.elapsed() >= Duration::from_millis(300));
    c.control(
        "POST",
        "faults",
        Some(json!({ "path": "/resourceGroups/rhel-demo", "drop_connection": true, "count": 1 })),
    );
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let dropped = agent
        .get(format!("{}{path}", c.base))
        .header("Authorization", format!("Bearer {t}"))
        .call();
    assert!(
        dropped.is_err(),
        "the connection is dropped without an answer"
    );
    assert_eq!(
        c.request("GET", &path, Some(&t), None).status,
        200,
        "the emulator lives on"
    );
}

#[test]
fn activation_keys() {
    let c = Cloud::start();
    let rh = c.redhat_token();
    let keys = "/redhat/api/rhsm/v2/activation_keys";
    let r = c.request(
        "POST",
        keys,
        Some(&rh),
        Some(&json!({ "name": "bad name!" })),
    );
    assert_eq!(r.status, 400);
    let r = c.request(
        "POST",
        keys,
        Some(&rh),
        Some(&json!({ "name": "k", "serviceLevel": "Gold" })),
    );
    assert!(r.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("serviceLevel"));
    let r = c.request("POST", keys, Some(&rh), Some(&json!({ "name": "rhel-hosts", "role": "Red Hat Enterprise Linux Server", "serviceLevel": "Premium", "usage": "Production", "additionalRepositories": [{ "repositoryLabel": "rhel-9-for-x86_64-appstream-rpms" }] })));
    assert_eq!(r.status, 200, "create answers 200: {}", r.text);
    assert_eq!(r.body["body"]["name"], "rhel-hosts");
    assert!(
        r.body["body"].get("description").is_none(),
        "empty fields are left out"
    );
    assert_eq!(
        c.request(
            "POST",
            keys,
            Some(&rh),
            Some(&json!({ "name": "rhel-hosts" }))
        )
        .status,
        400,
        "duplicate"
    );
    let one = format!("{keys}/rhel-hosts");
    let r = c.request(
        "PUT",
        &one,
        Some(&rh),
        Some(&json!({ "usage": "Development/Test", "description": "lab" })),
    );
    assert_eq!(r.body["body"]["usage"], "Development/Test");
    let r = c.request(
        "POST",
        &format!("{one}/additional_repositories"),
        Some(&rh),
        Some(&json!([{ "repositoryLabel": "codeready-builder-for-rhel-9-x86_64-rpms" }])),
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        c.request(
            "POST",
            &format!("{one}/additional_repositories"),
            Some(&rh),
            Some(&json!([{ "repositoryLabel": "no-such-repo" }]))
        )
        .status,
        400
    );
    c.request(
        "DELETE",
        &format!("{one}/additional_repositories"),
        Some(&rh),
        Some(&json!([{ "repositoryLabel": "rhel-9-for-x86_64-appstream-rpms" }])),
    );
    let got = c.request("GET", &one, Some(&rh), None);
    assert_eq!(
        got.body["body"]["additionalRepositories"],
        json!([{ "repositoryLabel": "codeready-builder-for-rhel-9-x86_64-rpms" }])
    );
    assert_eq!(c.request("DELETE", &one, Some(&rh), None).status, 204);
    assert_eq!(c.request("GET", &one, Some(&rh), None).status, 404);
}

#[test]
fn image_builder_compose_delivers_a_managed_image() {
    let c = Cloud::start();
    let t = c.arm_token();
    let rh = c.redhat_token();
    c.create_group(&t, "ib");
    let compose = |name: &str, rg: &str| {
        json!({
            "distribution": "rhel-9.6", "image_name": name,
            "image_requests": [{ "architecture": "x86_64", "image_type": "azure",
                "upload_request": { "type": "azure", "options": { "tenant_id": TENANT, "subscription_id": SUB, "resource_group": rg, "image_name": name, "hyper_v_generation": "V2" } } }],
            "customizations": { "packages": ["podman"] },
        })
    };
    let bad = c.request(
        "POST",
        "/redhat/api/image-builder/v1/compose",
        Some(&rh),
        Some(&json!({ "distribution": "rhel-42", "image_requests": [] })),
    );
    assert_eq!(bad.status, 400);
    assert!(bad.body["errors"][0]["detail"].is_string());
    // The whole ComposeRequest schema judges, nested objects included, and
    // the rule the spec leaves to the service: a user needs a key or a password.
    let refused = |body: serde_json::Value| {
        let r = c.request(
            "POST",
            "/redhat/api/image-builder/v1/compose",
            Some(&rh),
            Some(&body),
        );
        assert_eq!(r.status, 400, "{}", r.text);
        r.body["errors"][0]["detail"].as_str().unwrap().to_string()
    };
    let mut nested = compose("n", "ib");
    nested["customizations"]["users"] =
        json!([{ "name": "ops", "ssh_key": "ssh-ed25519 AAAA", "groups": "wheel" }]);
    assert!(refused(nested).contains("/customizations/users/0/groups"));
    let mut keyless = compose("k", "ib");
    keyless["customizations"]["users"] = json!([{ "name": "ops", "groups": ["wheel"] }]);
    assert!(refused(keyless).contains("at least one of password, ssh_key"));
    let mut extra = compose("e", "ib");
    extra["image_requests"][0]["region"] = json!("eastus");
    assert!(refused(extra).contains("/image_requests/0"));
    let r = c.request(
        "POST",
        "/redhat/api/image-builder/v1/compose",
        Some(&rh),
        Some(&compose("rhel96-podman", "ib")),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_string();
    let compose_status = |id: &str| {
        c.request(
            "GET",
            &format!("/redhat/api/image-builder/v1/composes/{id}"),
            Some(&rh),
            None,
        )
    };
    let mut seen = Vec::new();
    eventually("the compose ends", || {
        let s = compose_status(&id);
        let status = s.body["image_status"]["status"]
            .as_str()
            .unwrap()
            .to_string();
        if seen.last() != Some(&status) {
            seen.push(status.clone());
        }
        (status == "success" || status == "failure").then_some(())
    });
    assert_eq!(seen.first().map(String::as_str), Some("pending"));
    assert_eq!(seen.last().map(String::as_str), Some("success"), "{seen:?}");
    assert!(seen.contains(&"building".to_string()) && seen.contains(&"uploading".to_string()));
    let img = c.request(
        "GET",
        &format!(
            "{}/providers/Microsoft.Compute/images/rhel96-podman?api-version={COMPUTE}",
            Cloud::rg_path("ib")
        ),
        Some(&t),
        None,
    );
    assert_eq!(img.status, 200, "the image is in the resource group");
    assert_eq!(img.body["properties"]["hyperVGeneration"], "V2");

    // Without the Image Builder authorization in the tenant, the compose fails and says why.
    c.control(
        "PUT",
        "image-builder",
        Some(json!({ "tenant_id": TENANT, "authorized": false })),
    );
    let r = c.request(
        "POST",
        "/redhat/api/image-builder/v1/compose",
        Some(&rh),
        Some(&compose("second", "ib")),
    );
    let id = r.body["id"].as_str().unwrap().to_string();
    let s = eventually("the unauthorized compose ends", || {
        let s = compose_status(&id);
        let status = s.body["image_status"]["status"]
            .as_str()
            .unwrap_or_default();
        matches!(status, "success" | "failure").then_some(s)
    });
    assert_eq!(s.body["image_status"]["status"], "failure");
    assert!(
        s.body["image_status"]["error"]["reason"]
            .as_str()
            .unwrap()
            .contains("not authorized"),
        "{}",
        s.text
    );
}

#[test]
fn resource_group_delete_cascades_and_state_dump_shows_it() {
    let c = Cloud::start();
    let t = c.arm_token();
    c.create_group(&t, "gone");
    c.put_and_wait(
        &t,
        &format!(
            "{}/providers/Microsoft.Compute/images/i?api-version={COMPUTE}",
            Cloud::rg_path("gone")
        ),
        image_body("V2"),
    );
    let r = c.request(
        "DELETE",
        &format!("{}?api-version=2024-03-01", Cloud::rg_path("gone")),
        Some(&t),
        None,
    );
    assert_eq!(r.status, 202);
    let loc = r.header("location").unwrap().to_string();
    c.wait_location(&t, &loc);
    let dump = c.control("GET", "state", None).body;
    let sub = &dump["subscriptions"][SUB];
    let left: Vec<&String> = sub["resources"]
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| k.contains("/resourcegroups/gone/"))
        .collect();
    assert!(left.is_empty(), "nothing left behind: {left:?}");
    assert!(sub["resource_groups"].get("gone").is_none());
    assert_eq!(
        c.request(
            "GET",
            &format!("{}?api-version=2024-03-01", Cloud::rg_path("gone")),
            Some(&t),
            None
        )
        .status,
        404
    );
}

#[test]
fn request_log_records_calls_without_secrets() {
    let c = Cloud::start();
    let t = c.arm_token();
    c.redhat_token();
    c.request(
        "GET",
        &format!("{}?api-version=2024-03-01", Cloud::rg_path("rhel-demo")),
        Some(&t),
        None,
    );
    let log = c.control("GET", "requests", None).text;
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let get = lines.iter().find(|l| l["method"] == "GET").unwrap();
    assert_eq!(get["api_version"], "2024-03-01");
    assert_eq!(get["status"], 200);
    let token_call = lines
        .iter()
        .find(|l| l["path"].as_str().unwrap().ends_with("/oauth2/v2.0/token"))
        .unwrap();
    assert_eq!(token_call["request_body"]["client_secret"], "[REDACTED]");
    for secret in [CLIENT.1, OFFLINE_TOKEN, t.as_str()] {
        assert!(!log.contains(secret), "log leaks a secret");
    }
}

#[test]
fn state_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state.json");
    let opts = rhelazure_emulator::Options {
        state_file: Some(file.clone()),
        lro_delay: Duration::from_millis(10),
        ..Default::default()
    };
    let c = Cloud::start_with(opts.clone());
    let t = c.arm_token();
    c.create_group(&t, "kept");
    c.stop();
    let c = Cloud::start_with(opts);
    let t2 = c.arm_token();
    assert_eq!(
        c.request(
            "GET",
            &format!("{}?api-version=2024-03-01", Cloud::rg_path("kept")),
            Some(&t2),
            None
        )
        .status,
        200
    );
    assert_eq!(
        c.request(
            "GET",
            &format!("{}?api-version=2024-03-01", Cloud::rg_path("kept")),
            Some(&t),
            None
        )
        .status,
        200,
        "tokens from before the restart stay valid"
    );
}

#[test]
fn run_commands_drive_a_simulated_guest() {
    let c = Cloud::start();
    let t = c.arm_token();
    c.create_group(&t, "rc");
    let (_, vm, r) = network_and_vm(
        &c,
        &t,
        "rc",
        "host",
        json!({ "publisher": "RedHat", "offer": "RHEL", "sku": "10-lvm-gen2", "version": "latest" }),
        None,
        "Standard_B2s",
    );
    c.wait_async(&t, r.header("azure-asyncoperation").unwrap());
    let script = "#!/bin/bash\nset -euo pipefail\ncat > /etc/containers/systemd/web.container <<'EOF'\n[Container]\nImage=registry.access.redhat.com/ubi9/ubi:9.6\nEOF\nsystemctl daemon-reload\nsystemctl restart web.service\nbootc switch --apply quay.io/acme/host:2\nsha256sum /etc/containers/systemd/web.container\n";
    let rc = format!("{vm}/runCommands/apply");
    let r = c.request("PUT", &format!("{rc}?api-version={COMPUTE}"), Some(&t), Some(&json!({ "location": "eastus", "properties": { "source": { "script": script }, "asyncExecution": false } })));
    assert_eq!(r.status, 201, "{}", r.text);
    assert!(r.body["properties"].get("instanceView").is_none());
    c.wait_async(&t, r.header("azure-asyncoperation").unwrap());
    let got = c.request(
        "GET",
        &format!("{rc}?api-version={COMPUTE}&$expand=instanceView"),
        Some(&t),
        None,
    );
    let iv = &got.body["properties"]["instanceView"];
    assert_eq!(
        (iv["executionState"].as_str(), iv["exitCode"].as_i64()),
        (Some("Succeeded"), Some(0)),
        "{}",
        got.text
    );
    assert!(iv["output"]
        .as_str()
        .unwrap()
        .contains("/etc/containers/systemd/web.container"));

    // The script is recorded; the guest facts follow it and can be changed to simulate drift.
    let log = c.control("GET", "run-commands", None).body;
    assert_eq!(log[0]["script"], script);
    let guest = c.control("GET", &format!("guest?vm={vm}"), None).body;
    assert_eq!(guest["booted_image"], "quay.io/acme/host:2");
    assert_eq!(guest["restarted"], json!(["web.service"]));
    assert_eq!(guest["unknown_commands"], json!([]));
    c.control(
        "PATCH",
        &format!("guest?vm={vm}"),
        Some(json!({ "booted_image": "quay.io/acme/host:tampered" })),
    );
    let status = c.request("PUT", &format!("{vm}/runCommands/status?api-version={COMPUTE}"), Some(&t), Some(&json!({ "location": "eastus", "properties": { "source": { "script": "bootc status --format json" } } })));
    c.wait_async(&t, status.header("azure-asyncoperation").unwrap());
    let iv = c
        .request(
            "GET",
            &format!("{vm}/runCommands/status?api-version={COMPUTE}&$expand=instanceView"),
            Some(&t),
            None,
        )
        .body;
    assert!(iv["properties"]["instanceView"]["output"]
        .as_str()
        .unwrap()
        .contains("host:tampered"));

    // A queued failure: the next Run Command fails with that stderr.
    c.control(
        "POST",
        "run-commands/fail",
        Some(json!({ "vm": "host", "exit_code": 125, "stderr": "Error: image not known" })),
    );
    let r = c.request(
        "PUT",
        &format!("{rc}?api-version={COMPUTE}"),
        Some(&t),
        Some(&json!({ "location": "eastus", "properties": { "source": { "script": script } } })),
    );
    c.wait_async(&t, r.header("azure-asyncoperation").unwrap());
    let iv = c
        .request(
            "GET",
            &format!("{rc}?api-version={COMPUTE}&$expand=instanceView"),
            Some(&t),
            None,
        )
        .body["properties"]["instanceView"]
        .clone();
    assert_eq!(
        (
            iv["executionState"].as_str(),
            iv["exitCode"].as_i64(),
            iv["error"].as_str()
        ),
        (Some("Failed"), Some(125), Some("Error: image not known"))
    );

    // Asynchronous execution: Pending, then Running after the PUT has
    // ended, then the result.
    c.control("PUT", "config", Some(json!({ "lro_delay_ms": 1500 })));
    let r = c.request("PUT", &format!("{rc}?api-version={COMPUTE}"), Some(&t), Some(&json!({ "location": "eastus", "properties": { "source": { "script": "echo slow" }, "asyncExecution": true } })));
    assert_eq!(r.status, 200, "{}", r.text);
    let view = || {
        c.request(
            "GET",
            &format!("{rc}?api-version={COMPUTE}&$expand=instanceView"),
            Some(&t),
            None,
        )
        .body["properties"]["instanceView"]
            .clone()
    };
    assert_eq!(view()["executionState"], "Pending");
    let status = c.wait_async(&t, r.header("azure-asyncoperation").unwrap());
    assert_eq!(status["status"], "Succeeded");
    assert_eq!(
        view()["executionState"],
        "Running",
        "the script outlives the PUT"
    );
    let done = eventually("the script ends", || {
        let v = view();
        (v["executionState"] != "Running").then_some(v)
    });
    assert_eq!(
        (done["executionState"].as_str(), done["output"].as_str()),
        (Some("Succeeded"), Some("slow\n"))
    );
    c.control("PUT", "config", Some(json!({ "lro_delay_ms": 200 })));

    // A queued timeout ends TimedOut, with Azure's message.
    c.control(
        "POST",
        "run-commands/fail",
        Some(json!({ "vm": "host", "execution_state": "TimedOut", "exit_code": -1 })),
    );
    let r = c.request("PUT", &format!("{rc}?api-version={COMPUTE}"), Some(&t), Some(&json!({ "location": "eastus", "properties": { "source": { "script": "sleep 9999" }, "timeoutInSeconds": 60 } })));
    c.wait_async(&t, r.header("azure-asyncoperation").unwrap());
    let done = eventually("the timeout", || {
        let v = view();
        (v["executionState"] != "Running" && v["executionState"] != "Pending").then_some(v)
    });
    assert_eq!(done["executionState"], "TimedOut");
    assert!(
        done["executionMessage"]
            .as_str()
            .unwrap()
            .contains("60 seconds"),
        "{done}"
    );

    // The v1 action works too (and is what Arm64 hosts must use).
    let r = c.request(
        "POST",
        &format!("{vm}/runCommand?api-version={COMPUTE}"),
        Some(&t),
        Some(&json!({ "commandId": "RunShellScript", "script": ["echo hello"] })),
    );
    assert_eq!(r.status, 202);
    let loc = r.header("location").unwrap().to_string();
    let result = c.wait_location(&t, &loc);
    assert_eq!(result.status, 200, "{}", result.text);
    assert!(result.body["value"][0]["message"]
        .as_str()
        .unwrap()
        .contains("[stdout]\nhello"));

    // A deallocated VM: extensions (managed Run Command is one) and the v1
    // action are refused as Azure refuses them.
    let r = c.request(
        "POST",
        &format!("{vm}/deallocate?api-version={COMPUTE}"),
        Some(&t),
        None,
    );
    c.wait_async(&t, r.header("azure-asyncoperation").unwrap());
    let r = c.request(
        "PUT",
        &format!("{rc}?api-version={COMPUTE}"),
        Some(&t),
        Some(&json!({ "location": "eastus", "properties": { "source": { "script": "true" } } })),
    );
    assert_eq!(
        (r.status, r.code()),
        (409, "OperationNotAllowed"),
        "{}",
        r.text
    );
    assert!(
        r.text
            .contains("Cannot modify extensions in the VM when the VM is not running."),
        "{}",
        r.text
    );
    let r = c.request(
        "DELETE",
        &format!("{rc}?api-version={COMPUTE}"),
        Some(&t),
        None,
    );
    assert_eq!(
        (r.status, r.code()),
        (409, "OperationNotAllowed"),
        "{}",
        r.text
    );
    let r = c.request("PUT", &format!("{vm}/extensions/AHBForRHEL?api-version={COMPUTE}"), Some(&t), Some(&json!({ "location": "eastus", "properties": { "publisher": "Microsoft.Azure.AzureHybridBenefit", "type": "AHBForRHEL", "typeHandlerVersion": "1.0" } })));
    assert_eq!(
        (r.status, r.code()),
        (409, "OperationNotAllowed"),
        "{}",
        r.text
    );
    let r = c.request(
        "POST",
        &format!("{vm}/runCommand?api-version={COMPUTE}"),
        Some(&t),
        Some(&json!({ "commandId": "RunShellScript", "script": ["echo hello"] })),
    );
    assert_eq!(
        (r.status, r.code()),
        (409, "OperationNotAllowed"),
        "{}",
        r.text
    );
    assert!(
        r.text.contains("requires the VM to be running"),
        "{}",
        r.text
    );
}

/// Each operation answers with the operation headers Azure sends for it:
/// a resource group delete and a storage account create with `Location`
/// only (ARM's `/operationresults/`, Storage's `asyncoperations?monitor=true`),
/// Compute and Network creates with `Azure-AsyncOperation` only, deletes
/// with both.
#[test]
fn operation_headers_per_operation() {
    let c = Cloud::start();
    let t = c.arm_token();
    c.create_group(&t, "lro");
    let base = Cloud::rg_path("lro");
    let acct = format!(
        "{base}/providers/Microsoft.Storage/storageAccounts/lrostore?api-version=2023-05-01"
    );
    let r = c.request("PUT", &acct, Some(&t), Some(&json!({ "location": "eastus", "sku": { "name": "Standard_LRS" }, "kind": "StorageV2" })));
    assert_eq!(r.status, 202, "{}", r.text);
    assert!(r.header("azure-asyncoperation").is_none());
    let loc = r.header("location").unwrap().to_string();
    assert!(
        loc.contains("/providers/Microsoft.Storage/locations/eastus/asyncoperations/")
            && loc.contains("monitor=true"),
        "{loc}"
    );
    let done = c.wait_location(&t, &loc);
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(
        done.body["properties"]["provisioningState"], "Succeeded",
        "the account itself at the end"
    );

    let image = format!("{base}/providers/Microsoft.Compute/images/i?api-version={COMPUTE}");
    let r = c.request("PUT", &image, Some(&t), Some(&image_body("V2")));
    assert!(
        r.header("azure-asyncoperation").is_some() && r.header("location").is_none(),
        "{:?}",
        r.header("location")
    );
    c.wait_async(&t, r.header("azure-asyncoperation").unwrap());
    let r = c.request("DELETE", &image, Some(&t), None);
    assert!(r.header("azure-asyncoperation").is_some() && r.header("location").is_some());
    c.wait_async(&t, r.header("azure-asyncoperation").unwrap());

    let r = c.request(
        "DELETE",
        &format!("{base}?api-version=2024-03-01"),
        Some(&t),
        None,
    );
    assert_eq!(r.status, 202);
    assert!(r.header("azure-asyncoperation").is_none());
    let loc = r.header("location").unwrap().to_string();
    assert!(
        loc.contains(&format!("/subscriptions/{SUB}/operationresults/")),
        "{loc}"
    );
    let done = c.wait_location(&t, &loc);
    assert_eq!(done.status, 200, "{}", done.text);
    let r = c.request(
        "GET",
        &format!("{base}?api-version=2024-03-01"),
        Some(&t),
        None,
    );
    assert_eq!(r.status, 404);
}

#[test]
fn etags_and_reset() {
    let c = Cloud::start();
    let t = c.arm_token();
    c.create_group(&t, "etag");
    // Images have no etag in their spec, and Azure sends none.
    let image = format!(
        "{}/providers/Microsoft.Compute/images/e?api-version={COMPUTE}",
        Cloud::rg_path("etag")
    );
    let created = c.put_and_wait(&t, &image, image_body("V2"));
    assert!(created.body.get("etag").is_none(), "{}", created.body);
    // Virtual networks have one: conditional writes are checked against it.
    let vnet_body = json!({ "location": "eastus", "properties": { "addressSpace": { "addressPrefixes": ["10.9.0.0/16"] } } });
    let path = format!(
        "{}/providers/Microsoft.Network/virtualNetworks/e?api-version={NETWORK}",
        Cloud::rg_path("etag")
    );
    let created = c.put_and_wait(&t, &path, vnet_body.clone());
    let etag = created.body["etag"].as_str().unwrap().to_string();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let put_if = |tag: &str| {
        let req = ureq::http::Request::builder()
            .method("PUT")
            .uri(format!("{}{path}", c.base))
            .header("Authorization", format!("Bearer {t}"))
            .header("Content-Type", "application/json")
            .header("If-Match", tag)
            .body(vnet_body.to_string())
            .unwrap();
        agent.run(req).unwrap().status().as_u16()
    };
    assert_eq!(put_if("W/\"stale\""), 412, "a stale ETag is refused");
    assert_eq!(put_if(&etag), 200, "the current ETag is accepted");
    let none_match = ureq::http::Request::builder()
        .method("PUT")
        .uri(format!("{}{path}", c.base))
        .header("Authorization", format!("Bearer {t}"))
        .header("Content-Type", "application/json")
        .header("If-None-Match", "*")
        .body(vnet_body.to_string())
        .unwrap();
    assert_eq!(
        agent.run(none_match).unwrap().status().as_u16(),
        412,
        "If-None-Match: * on an existing resource"
    );

    // Reset returns to the seed: the group is gone, the demo network is back.
    assert_eq!(c.control("POST", "reset", None).status, 204);
    let t = c.arm_token();
    assert_eq!(
        c.request(
            "GET",
            &format!("{}?api-version=2024-03-01", Cloud::rg_path("etag")),
            Some(&t),
            None
        )
        .status,
        404
    );
    assert_eq!(c.request("GET", &format!("{}/providers/Microsoft.Network/virtualNetworks/rhel-demo-vnet?api-version={NETWORK}", Cloud::rg_path("rhel-demo")), Some(&t), None).status, 200);
}
