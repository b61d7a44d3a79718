//! The Red Hat client against the local cloud over HTTPS: SSO tokens (offline
//! token, service account, refused credentials), renewal on 401, activation
//! keys, Cloud Access enrolment through Sources making gold images visible in
//! ARM, and Image Builder composes (success, and failure reasons verbatim).

use std::time::{Duration, Instant};

use rhelazure::redhat::models::image_builder::ComposeRequest;
use rhelazure::redhat::models::rhsm::{CreateActivationKey, UpdateActivationKey};
use rhelazure::redhat::RedHatSettings;
use rhelazure::redhat::{RedHatClient, RedHatError};
use serde_json::json;

mod emulated;
use emulated::EmulatedCloud;

/// The emulator with 100 ms long-running operations, and Red Hat clients for it.
struct Cloud(EmulatedCloud);

impl std::ops::Deref for Cloud {
    type Target = EmulatedCloud;
    fn deref(&self) -> &EmulatedCloud {
        &self.0
    }
}

impl Cloud {
    fn start() -> Cloud {
        Cloud(EmulatedCloud::start(Duration::from_millis(100)))
    }
    fn settings(&self) -> RedHatSettings {
        RedHatSettings {
            offline_token: Some(self.env("RH_OFFLINE_TOKEN")),
            api_url: self.env("RH_API_URL"),
            sso_url: self.env("RH_SSO_URL"),
            ..Default::default()
        }
    }
    fn client(&self, s: &RedHatSettings) -> RedHatClient {
        RedHatClient::new(s, Some(self.http.clone())).unwrap()
    }
}

fn soon() -> Instant {
    Instant::now() + Duration::from_secs(60)
}

#[test]
fn tokens_and_renewal() {
    let cloud = Cloud::start();
    let rh = cloud.client(&cloud.settings());
    cloud.rt.block_on(async {
        assert!(rh
            .get_activation_key("none", soon())
            .await
            .unwrap()
            .is_none());
    });
    // The emulator forgets its signing key on reset: the cached token is refused once, then renewed.
    cloud.control("POST", "reset", json!({}));
    cloud.rt.block_on(async {
        assert!(
            rh.get_activation_key("none", soon())
                .await
                .unwrap()
                .is_none(),
            "renewed after a 401"
        );
    });

    let svc = RedHatSettings {
        client_id: Some("b6e2f1a4-local-cloud-svc".into()),
        client_secret: Some("local-cloud-svc-secret-58c1d2".into()),
        ..cloud.settings()
    };
    cloud
        .rt
        .block_on(async { assert!(cloud.client(&svc).access_token(soon()).await.is_ok()) });

    let bad = RedHatSettings {
        offline_token: Some("expired-offline-token".into()),
        ..cloud.settings()
    };
    let err = cloud
        .rt
        .block_on(cloud.client(&bad).access_token(soon()))
        .unwrap_err();
    assert!(matches!(err, RedHatError::Auth(_)));
    assert!(
        err.to_string().contains("RH_OFFLINE_TOKEN") && err.to_string().contains("invalid_grant"),
        "{err}"
    );
    assert!(
        !err.to_string().contains("expired-offline-token"),
        "the token is not echoed"
    );

    let none = RedHatSettings {
        offline_token: None,
        ..cloud.settings()
    };
    let err = RedHatClient::new(&none, None).unwrap_err();
    assert!(err.to_string().contains("RH_OFFLINE_TOKEN"));
}

#[test]
fn activation_keys() {
    let cloud = Cloud::start();
    let rh = cloud.client(&cloud.settings());
    cloud.rt.block_on(async {
        let k = rh
            .create_activation_key(
                &CreateActivationKey {
                    name: Some("hosts".into()),
                    service_level: Some("Premium".into()),
                    usage: Some("Production".into()),
                    ..Default::default()
                },
                soon(),
            )
            .await
            .unwrap();
        assert_eq!(k.name.as_deref(), Some("hosts"));
        let err = rh
            .create_activation_key(
                &CreateActivationKey {
                    name: Some("hosts".into()),
                    ..Default::default()
                },
                soon(),
            )
            .await
            .unwrap_err();
        assert_eq!(err.status(), Some(400));
        assert!(err.to_string().contains("already exists"), "{err}");
        rh.add_repositories(
            "hosts",
            &["rhel-9-for-x86_64-appstream-rpms".into()],
            soon(),
        )
        .await
        .unwrap();
        let k = rh
            .update_activation_key(
                "hosts",
                &UpdateActivationKey {
                    usage: Some("Development/Test".into()),
                    ..Default::default()
                },
                soon(),
            )
            .await
            .unwrap();
        assert_eq!(k.usage.as_deref(), Some("Development/Test"));
        let got = rh
            .get_activation_key("hosts", soon())
            .await
            .unwrap()
            .unwrap();
        let labels: Vec<_> = got
            .additional_repositories
            .unwrap_or_default()
            .into_iter()
            .filter_map(|r| r.repository_label)
            .collect();
        assert_eq!(labels, ["rhel-9-for-x86_64-appstream-rpms"]);
        rh.remove_repositories(
            "hosts",
            &["rhel-9-for-x86_64-appstream-rpms".into()],
            soon(),
        )
        .await
        .unwrap();
        rh.delete_activation_key("hosts", soon()).await.unwrap();
        rh.delete_activation_key("hosts", soon()).await.unwrap();
        assert!(rh
            .get_activation_key("hosts", soon())
            .await
            .unwrap()
            .is_none());
    });
}

#[test]
fn cloud_access_enrolment_shows_gold_images() {
    let cloud = Cloud::start();
    let rh = cloud.client(&cloud.settings());
    let sub = cloud.env("ARM_SUBSCRIPTION_ID");
    cloud.rt.block_on(async {
        let azure = rhelazure::arm::AzureSettings {
            subscription_id: Some(sub.clone()),
            tenant_id: Some(cloud.env("ARM_TENANT_ID")),
            client_id: Some(cloud.env("ARM_CLIENT_ID")),
            client_secret: Some(cloud.env("ARM_CLIENT_SECRET")),
            arm_endpoint: cloud.env("ARM_ENDPOINT"),
            authority_host: cloud.env("ARM_AUTHORITY_HOST"),
            ..Default::default()
        };
        let arm = rhelazure::arm::ArmClient::new(
            &azure,
            Some(azure_core::http::Transport::new(std::sync::Arc::new(
                cloud.http.clone(),
            ))),
        )
        .unwrap();
        let offers = arm.list_offers("eastus", "RedHat", soon()).await.unwrap();
        assert!(
            !offers.contains(&"rhel-byos".to_string()),
            "no gold images before enrolment"
        );
        let src = rh
            .enrol_azure_subscription(
                "rhel-on-azure",
                &rhelazure::redhat::Enrolment {
                    subscription_id: sub.clone(),
                    tenant_id: Some("tenant-of-the-test".into()),
                },
                soon(),
            )
            .await
            .unwrap();
        // Gold images appear an operation's delay after enrolment: poll for them.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let offers = arm.list_offers("eastus", "RedHat", soon()).await.unwrap();
            if offers.contains(&"rhel-byos".to_string()) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "no gold images a minute after enrolment: {offers:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let id = src.id.clone().unwrap();
        assert_eq!(
            rh.find_source("rhel-on-azure", soon())
                .await
                .unwrap()
                .unwrap()
                .id,
            src.id
        );
        let apps = rh.source_applications(&id, soon()).await.unwrap();
        assert_eq!(
            apps[0].availability_status.as_ref().map(|s| s.as_str()),
            Some("available")
        );
        let enrolment = rh.source_enrolment(&id, soon()).await.unwrap().unwrap();
        assert_eq!(enrolment.subscription_id, sub);
        assert_eq!(
            enrolment.tenant_id.as_deref(),
            Some("tenant-of-the-test"),
            "the tenant is kept where the spec puts it"
        );
        let renamed = rh.rename_source(&id, "renamed", soon()).await.unwrap();
        assert_eq!(renamed.name.as_deref(), Some("renamed"));
        rh.delete_source(&id, soon()).await.unwrap();
        assert!(rh.get_source(&id, soon()).await.unwrap().is_none());
        assert!(
            !arm.list_offers("eastus", "RedHat", soon())
                .await
                .unwrap()
                .contains(&"rhel-byos".to_string()),
            "withdrawn"
        );
    });
}

#[test]
fn image_builder_compose_and_failure_reason() {
    let cloud = Cloud::start();
    let rh = cloud.client(&cloud.settings());
    let (tenant, sub) = (cloud.env("ARM_TENANT_ID"), cloud.env("ARM_SUBSCRIPTION_ID"));
    let request = |name: &str| -> ComposeRequest {
        serde_json::from_value(json!({
            "distribution": "rhel-9.6", "image_name": name,
            "image_requests": [{ "architecture": "x86_64", "image_type": "azure", "upload_request": { "type": "azure", "options": { "tenant_id": tenant, "subscription_id": sub, "resource_group": "rhel-demo", "image_name": name, "hyper_v_generation": "V2" } } }],
        }))
        .unwrap()
    };
    cloud.rt.block_on(async {
        let c = rh.compose(&request("ok-image"), soon()).await.unwrap();
        let s = rh.wait_compose(&c.id, soon()).await.unwrap();
        assert_eq!(
            (s.status.as_str(), s.image_name.as_deref()),
            ("success", Some("ok-image"))
        );
    });
    cloud.control(
        "PUT",
        "image-builder",
        json!({ "tenant_id": tenant, "authorized": false }),
    );
    cloud.rt.block_on(async {
        let c = rh.compose(&request("denied"), soon()).await.unwrap();
        let err = rh.wait_compose(&c.id, soon()).await.unwrap_err();
        let RedHatError::ComposeFailed {
            reason, details, ..
        } = &err
        else {
            panic!("{err}")
        };
        assert!(reason.contains("not authorized"), "{reason}");
        assert!(
            details.as_deref().unwrap_or("").contains("Contributor"),
            "the fix is named: {details:?}"
        );
        let bad = rh
            .compose(
                &ComposeRequest {
                    // Not a distribution the spec has: the service refuses it.
                    distribution: Some("rhel-42".into()),
                    image_requests: Some(vec![]),
                    ..Default::default()
                },
                soon(),
            )
            .await
            .unwrap_err();
        assert_eq!(bad.status(), Some(400));
    });
}
