//! The ARM client against the local cloud over HTTPS: the credential chain's
//! client secret against the emulated Entra ID, typed errors with ARM's codes
//! and request ids, long-running operations (Azure-AsyncOperation and
//! Location), on-demand provider registration, retries on injected 5xx / 429
//! with their hints, pacing ahead of the subscription budget, the catalogue's
//! numeric `latest`, and Marketplace terms.

use std::sync::Arc;
use std::time::{Duration, Instant};

use azure_core::http::{Method, Transport};
use rhelazure::arm::AzureSettings;
use rhelazure::arm::{ArmClient, ArmError};
use serde_json::json;

mod emulated;
use emulated::EmulatedCloud;

/// The emulator with instant long-running operations, and ARM clients for it.
struct Cloud(EmulatedCloud);

impl std::ops::Deref for Cloud {
    type Target = EmulatedCloud;
    fn deref(&self) -> &EmulatedCloud {
        &self.0
    }
}

impl Cloud {
    fn start() -> Cloud {
        Cloud(EmulatedCloud::start(Duration::from_millis(0)))
    }

    fn with_lro_delay(delay: Duration) -> Cloud {
        Cloud(EmulatedCloud::start(delay))
    }

    fn transport(&self) -> Transport {
        Transport::new(Arc::new(self.http.clone()))
    }

    fn settings(&self) -> AzureSettings {
        AzureSettings {
            subscription_id: Some(self.env("ARM_SUBSCRIPTION_ID")),
            tenant_id: Some(self.env("ARM_TENANT_ID")),
            client_id: Some(self.env("ARM_CLIENT_ID")),
            client_secret: Some(self.env("ARM_CLIENT_SECRET")),
            arm_endpoint: self.env("ARM_ENDPOINT"),
            authority_host: self.env("ARM_AUTHORITY_HOST"),
            environment: "public".into(),
            ..Default::default()
        }
    }

    fn client(&self) -> ArmClient {
        ArmClient::new(&self.settings(), Some(self.transport())).unwrap()
    }
}

fn soon() -> Instant {
    Instant::now() + Duration::from_secs(60)
}

#[test]
fn crud_with_long_running_operations_and_typed_errors() {
    let cloud = Cloud::start();
    let arm = cloud.client();
    cloud.run(async {
        let rg = arm.sub_path("/resourceGroups/arm-client");
        arm.call(Method::Put, &rg, Some("2024-03-01"), Some(&json!({ "location": "eastus" })), soon()).await.unwrap();
        let img = format!("{rg}/providers/Microsoft.Compute/images/rhel");
        let body = json!({ "location": "eastus", "properties": { "hyperVGeneration": "V2", "storageProfile": { "osDisk": { "osType": "Linux", "osState": "Generalized", "blobUri": "https://127.0.0.1:1/devstoreaccount1/vhds/a.vhd" } } } });
        let op = arm.begin(Method::Put, &img, "2024-03-01", Some(&body), soon()).await.unwrap();
        let id = op.resource().unwrap()["id"].as_str().unwrap().to_string();
        assert!(id.ends_with("/images/rhel"), "the id is known before waiting");
        let done = op.wait(soon()).await.unwrap().unwrap();
        assert_eq!(done["properties"]["provisioningState"], "Succeeded");

        // Typed errors: code, target, ids.
        let bad = arm.call(Method::Put, &format!("{rg}/providers/Microsoft.Compute/images/x"), Some("2024-03-01"), Some(&json!({ "location": "eastus", "properties": {} })), soon()).await.unwrap_err();
        let api = bad.api().unwrap();
        assert_eq!((api.status, api.code.as_str(), api.target.as_deref()), (400, "InvalidParameter", Some("storageProfile.osDisk")));
        assert!(api.request_id.is_some() && !api.client_request_id.is_empty());
        assert!(bad.to_string().contains("x-ms-client-request-id"));
        assert!(arm.get(&format!("{rg}/providers/Microsoft.Compute/images/nope"), "2024-03-01", soon()).await.unwrap().is_none());

        // DELETE through Location polling.
        assert!(arm.run(Method::Delete, &img, "2024-03-01", None, soon()).await.unwrap().is_none());
        assert!(arm.get(&img, "2024-03-01", soon()).await.unwrap().is_none());
    });
}

#[test]
fn a_failed_operation_is_a_typed_error() {
    let cloud = Cloud::start();
    let arm = cloud.client();
    cloud.control("POST", "faults", json!({ "method": "PUT", "path": "/images/", "lro_fail": true, "code": "InternalOperationError", "message": "disk copy failed", "count": 1 }));
    cloud.run(async {
        let rg = arm.sub_path("/resourceGroups/rhel-demo");
        let body = json!({ "location": "eastus", "properties": { "storageProfile": { "osDisk": { "osType": "Linux", "osState": "Generalized", "blobUri": "https://x/y.vhd" } } } });
        let err = arm.run(Method::Put, &format!("{rg}/providers/Microsoft.Compute/images/f"), "2024-03-01", Some(&body), soon()).await.unwrap_err();
        match err {
            ArmError::OperationFailed(e) => {
                assert_eq!((e.status.as_str(), e.code.as_str(), e.message.as_str()), ("Failed", "InternalOperationError", "disk copy failed"));
            }
            other => panic!("expected OperationFailed, got {other}"),
        }
    });
}

#[test]
fn missing_registration_registers_that_namespace_and_retries() {
    let cloud = Cloud::start();
    let mut s = cloud.settings();
    s.subscription_id = Some("5ab5c41d-0000-4000-a000-0000000fe5e5".into());
    let arm = ArmClient::new(&s, Some(cloud.transport())).unwrap();
    cloud.run(async {
        let rg = arm.sub_path("/resourceGroups/fresh");
        arm.call(Method::Put, &rg, Some("2024-03-01"), Some(&json!({ "location": "eastus" })), soon()).await.unwrap();
        let body = json!({ "location": "eastus", "properties": { "storageProfile": { "osDisk": { "osType": "Linux", "osState": "Generalized", "blobUri": "https://x/y.vhd" } } } });
        let img = arm.run(Method::Put, &format!("{rg}/providers/Microsoft.Compute/images/i"), "2024-03-01", Some(&body), soon()).await.unwrap();
        assert_eq!(img.unwrap()["properties"]["provisioningState"], "Succeeded");
        let state = arm.get(&arm.sub_path("/providers/Microsoft.Compute"), "2024-03-01", soon()).await.unwrap().unwrap();
        assert_eq!(state["registrationState"], "Registered");
        let network = arm.get(&arm.sub_path("/providers/Microsoft.Network"), "2024-03-01", soon()).await.unwrap().unwrap();
        assert_eq!(network["registrationState"], "NotRegistered", "only the namespace needed");
    });
}

/// A client of one subscription calling into another (Cloud Access of a
/// subscription other than the provider's): a missing registration is
/// registered in the subscription the call went to, not the client's own.
#[test]
fn a_call_into_another_subscription_registers_there() {
    let cloud = Cloud::start();
    let arm = cloud.client();
    let fresh = "5ab5c41d-0000-4000-a000-0000000fe5e5";
    cloud.run(async {
        // A path into the other subscription, through this subscription's client.
        let offers = format!("/subscriptions/{fresh}/providers/Microsoft.Compute/locations/eastus/publishers/RedHat/artifacttypes/vmimage/offers");
        let listed = arm.get(&offers, "2024-03-01", soon()).await.unwrap().unwrap();
        assert!(listed.to_string().contains("RHEL"), "{listed}");
        // The same client, moved to that subscription.
        let skus = arm
            .in_subscription(fresh)
            .list_skus("eastus", "RedHat", "RHEL", soon())
            .await
            .unwrap();
        assert!(!skus.is_empty());
        let path = format!("/subscriptions/{fresh}/providers/Microsoft.Compute");
        let state = arm.get(&path, "2024-03-01", soon()).await.unwrap().unwrap();
        assert_eq!(state["registrationState"], "Registered");
        // The client's own subscription is untouched and still served.
        assert_eq!(arm.subscription_id(), cloud.env("ARM_SUBSCRIPTION_ID"));
        assert!(!arm
            .list_skus("eastus", "RedHat", "RHEL", soon())
            .await
            .unwrap()
            .is_empty());
    });
}

#[test]
fn retries_honour_hints_within_the_deadline() {
    let cloud = Cloud::start();
    let arm = cloud.client();
    cloud.control("POST", "faults", json!({ "method": "GET", "path": "/resourceGroups/rhel-demo", "status": 503, "retry_after": 1, "count": 2 }));
    cloud.run(async {
        let rg = arm.sub_path("/resourceGroups/rhel-demo");
        let got = arm.get(&rg, "2024-03-01", soon()).await.unwrap().unwrap();
        assert_eq!(got["name"], "rhel-demo");
        assert_eq!(
            arm.retry.retries.load(std::sync::atomic::Ordering::Relaxed),
            2,
            "two 503s, two retries"
        );
    });
    // Not enough time left for the hinted wait: the error comes back at once.
    cloud.control("POST", "faults", json!({ "method": "GET", "path": "/resourceGroups/rhel-demo", "status": 429, "retry_after": 30, "count": 1 }));
    cloud.run(async {
        let rg = arm.sub_path("/resourceGroups/rhel-demo");
        let err = arm
            .get(&rg, "2024-03-01", Instant::now() + Duration::from_secs(5))
            .await
            .unwrap_err();
        assert_eq!(err.status(), Some(429));
    });
}

#[test]
fn pacing_ahead_of_the_write_budget() {
    let cloud = Cloud::start();
    let arm = cloud.client();
    // 25 writes, refilled at 10 a second: the client sees the budget shrink and slows down.
    cloud.control(
        "PUT",
        "throttle",
        json!({ "writes": { "capacity": 25.0, "per_second": 10.0 } }),
    );
    cloud.run(async {
        for i in 0..40 {
            let rg = arm.sub_path(&format!("/resourceGroups/paced-{i}"));
            arm.call(
                Method::Put,
                &rg,
                Some("2024-03-01"),
                Some(&json!({ "location": "eastus" })),
                soon(),
            )
            .await
            .unwrap();
        }
    });
    let paced = arm
        .throttle
        .paced
        .load(std::sync::atomic::Ordering::Relaxed);
    let retries = arm.retry.retries.load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        paced > 0,
        "the client paced itself before the budget ran out"
    );
    eprintln!("40 writes against a 25-request budget: {paced} paced, {retries} retried after 429");
}

#[test]
fn catalogue_and_terms() {
    let cloud = Cloud::start();
    let arm = cloud.client();
    cloud.run(async {
        let v = arm
            .get_image_version("eastus", "RedHat", "RHEL", "8-lvm-gen2", "latest", soon())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(v.version, "8.10.2025012007", "numeric latest");
        assert_eq!(v.hyper_v_generation.as_deref(), Some("V2"));
        assert!(arm
            .get_image_version("eastus", "RedHat", "RHEL", "nope", "latest", soon())
            .await
            .unwrap()
            .is_none());
        let terms = arm
            .get_terms("redhat", "rhel-byos", "rhel-lvm96-gen2", soon())
            .await
            .unwrap()
            .unwrap();
        assert!(!terms.is_accepted());
        let accepted = arm
            .accept_terms("redhat", "rhel-byos", "rhel-lvm96-gen2", soon())
            .await
            .unwrap();
        assert!(accepted.is_accepted());
        arm.cancel_terms("redhat", "rhel-byos", "rhel-lvm96-gen2", soon())
            .await
            .unwrap();
        let after = arm
            .get_terms("redhat", "rhel-byos", "rhel-lvm96-gen2", soon())
            .await
            .unwrap()
            .unwrap();
        assert!(!after.is_accepted());
    });
}

#[test]
fn wrong_secret_is_an_auth_error_naming_the_cause() {
    let cloud = Cloud::start();
    let mut s = cloud.settings();
    s.client_secret = Some("wrong".into());
    let arm = ArmClient::new(&s, Some(cloud.transport())).unwrap();
    let err = cloud
        .run(arm.get(
            &arm.sub_path("/resourceGroups/rhel-demo"),
            "2024-03-01",
            soon(),
        ))
        .unwrap_err();
    assert!(matches!(err, ArmError::Auth(_)), "{err}");
    assert!(err.to_string().contains("AADSTS7000215"), "{err}");
    assert!(
        !err.to_string().contains("wrong"),
        "the secret is not echoed"
    );
}

/// An unsigned JWT with these claims (the local cloud checks claims, not signatures).
fn assertion(iss: &str, sub: &str, aud: &str) -> String {
    use base64::Engine;
    let b64 = |v: serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 600;
    format!(
        "{}.{}.sig",
        b64(json!({ "alg": "RS256", "typ": "JWT" })),
        b64(json!({ "iss": iss, "sub": sub, "aud": aud, "exp": exp }))
    )
}

#[test]
fn oidc_workload_identity_from_a_token_file_or_given_directly() {
    let cloud = Cloud::start();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(
        &file,
        assertion(
            "https://token.actions.githubusercontent.com",
            "repo:rhel-on-azure/rhelazure:ref:refs/heads/main",
            "api://AzureADTokenExchange",
        ),
    )
    .unwrap();
    let mut s = cloud.settings();
    s.client_secret = None;
    s.use_oidc = true;
    s.oidc_token_file_path = Some(file.display().to_string());
    let arm = ArmClient::new(&s, Some(cloud.transport())).unwrap();
    let rg = cloud
        .run(arm.get(
            &arm.sub_path("/resourceGroups/rhel-demo"),
            "2024-03-01",
            soon(),
        ))
        .unwrap();
    assert_eq!(rg.unwrap()["name"], "rhel-demo");

    // The same token given directly (oidc_token, ARM_OIDC_TOKEN).
    let direct = AzureSettings {
        oidc_token_file_path: None,
        oidc_token: Some(std::fs::read_to_string(&file).unwrap()),
        ..s.clone()
    };
    let arm = ArmClient::new(&direct, Some(cloud.transport())).unwrap();
    let rg = cloud.run(arm.get(
        &arm.sub_path("/resourceGroups/rhel-demo"),
        "2024-03-01",
        soon(),
    ));
    assert_eq!(rg.unwrap().unwrap()["name"], "rhel-demo");

    // A token from another repository is refused, with Entra's reason.
    std::fs::write(
        &file,
        assertion(
            "https://token.actions.githubusercontent.com",
            "repo:someone/else:ref:refs/heads/main",
            "api://AzureADTokenExchange",
        ),
    )
    .unwrap();
    let arm = ArmClient::new(&s, Some(cloud.transport())).unwrap();
    let err = cloud
        .run(arm.get(
            &arm.sub_path("/resourceGroups/rhel-demo"),
            "2024-03-01",
            soon(),
        ))
        .unwrap_err();
    assert!(err.to_string().contains("AADSTS70021"), "{err}");
}

/// Some resource providers answer a PUT with 201 and a non-terminal
/// `provisioningState`, without `Azure-AsyncOperation` or `Location`: the
/// client follows the resource itself, to success or to a typed failure.
#[test]
fn an_operation_reported_only_through_provisioning_state_is_followed() {
    let cloud = Cloud::with_lro_delay(Duration::from_millis(1500));
    let arm = cloud.client();
    let rg = arm.sub_path("/resourceGroups/rhel-demo");
    let body = json!({ "location": "eastus", "properties": { "storageProfile": { "osDisk": { "osType": "Linux", "osState": "Generalized", "blobUri": "https://x/y.vhd" } } } });
    cloud.control("POST", "faults", json!({ "method": "PUT", "path": "/images/state-only", "omit_operation_headers": true, "count": 1 }));
    cloud.run(async {
        let img = format!("{rg}/providers/Microsoft.Compute/images/state-only");
        let op = arm
            .begin(Method::Put, &img, "2024-03-01", Some(&body), soon())
            .await
            .unwrap();
        assert_eq!(
            op.resource().unwrap()["properties"]["provisioningState"],
            "Creating"
        );
        assert!(!op.is_done(), "no operation header, but still creating");
        let done = op.wait(soon()).await.unwrap().unwrap();
        assert_eq!(done["properties"]["provisioningState"], "Succeeded");
    });
    cloud.control("POST", "faults", json!({ "method": "PUT", "path": "/images/state-fails", "omit_operation_headers": true, "count": 1 }));
    cloud.control(
        "POST",
        "faults",
        json!({ "method": "PUT", "path": "/images/state-fails", "lro_fail": true, "count": 1 }),
    );
    cloud.run(async {
        let img = format!("{rg}/providers/Microsoft.Compute/images/state-fails");
        let err = arm
            .run(Method::Put, &img, "2024-03-01", Some(&body), soon())
            .await
            .unwrap_err();
        match err {
            ArmError::OperationFailed(e) => {
                assert_eq!(e.status, "Failed");
                assert!(e.resource.ends_with("/images/state-fails"));
            }
            other => panic!("expected OperationFailed, got {other}"),
        }
    });
}

/// Client certificates (PKCS#12 with a password, or PEM): an RS256 assertion
/// the emulator verifies against the certificate registered on the app; an
/// unregistered certificate and a wrong password are refused, saying why.
#[test]
fn client_certificate_from_pfx_or_pem() {
    let cloud = Cloud::start();
    let fixture = |n: &str| {
        format!(
            "{}/acceptance-tests/fixtures/{n}",
            env!("CARGO_MANIFEST_DIR")
        )
    };
    let rg_of = |s: &AzureSettings| {
        let arm = ArmClient::new(s, Some(cloud.transport()))?;
        cloud.run(arm.get(
            &arm.sub_path("/resourceGroups/rhel-demo"),
            "2024-03-01",
            soon(),
        ))
    };
    let mut s = cloud.settings();
    s.client_secret = None;
    s.client_certificate_path = Some(fixture("service-principal.pfx"));
    s.client_certificate_password = Some("local-cloud-pfx-password".into());
    assert_eq!(rg_of(&s).unwrap().unwrap()["name"], "rhel-demo");
    s.client_certificate_path = Some(fixture("service-principal.pem"));
    s.client_certificate_password = None;
    assert_eq!(rg_of(&s).unwrap().unwrap()["name"], "rhel-demo");

    s.client_certificate_path = Some(fixture("unregistered.pem"));
    let err = rg_of(&s).unwrap_err().to_string();
    assert!(
        err.contains("AADSTS700027") && err.contains("not registered"),
        "{err}"
    );

    s.client_certificate_path = Some(fixture("service-principal.pfx"));
    s.client_certificate_password = Some("wrong".into());
    let err = rg_of(&s).unwrap_err().to_string();
    assert!(err.contains("client_certificate_password"), "{err}");
}
