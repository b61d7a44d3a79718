//! Subscription resources through real Terraform against the local cloud:
//! `rhelazure_activation_key` and `rhelazure_marketplace_agreement` — create,
//! empty second plan, update in place, replacement, import (CLI and `import`
//! block), drift (changed and deleted out of band), destroy with nothing left,
//! and bad input / missing credentials as diagnostics.

use rhelazure_acceptance_tests::{terraform_with_query, terraforms, LocalCloud, Workspace};
use serde_json::json;

fn key_config(name: &str, usage: &str) -> String {
    format!(
        r#"
provider "rhelazure" {{}}

resource "rhelazure_activation_key" "k" {{
  name          = "{name}"
  service_level = "Premium"
  usage         = "{usage}"
  role          = "Red Hat Enterprise Linux Server"
  additional_repositories = ["rhel-9-for-x86_64-appstream-rpms"]
}}
"#
    )
}

#[test]
fn activation_key_lifecycle() {
    let cloud = LocalCloud::start();
    for tf in terraforms() {
        let name = format!("hosts-{}", tf.version.replace('.', "-"));
        let ws = Workspace::new(&tf, &key_config(&name, "Production")).cloud(&cloud);
        ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
        ws.assert_no_changes();
        let (s, key) = cloud.redhat("GET", &format!("/api/rhsm/v2/activation_keys/{name}"), None);
        assert_eq!(
            (s, key["body"]["usage"].as_str()),
            (200, Some("Production"))
        );

        // In place, then replacement.
        ws.write_config(&key_config(&name, "Development/Test"));
        assert_eq!(
            ws.planned_actions("rhelazure_activation_key.k"),
            vec!["update"],
            "terraform {}",
            tf.version
        );
        ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
        assert_eq!(
            cloud
                .redhat("GET", &format!("/api/rhsm/v2/activation_keys/{name}"), None)
                .1["body"]["usage"],
            "Development/Test"
        );
        ws.write_config(&key_config(&format!("{name}-2"), "Development/Test"));
        assert_eq!(
            ws.planned_actions("rhelazure_activation_key.k"),
            vec!["delete", "create"]
        );
        ws.write_config(&key_config(&name, "Development/Test"));

        // Drift: changed, then deleted out of band.
        cloud.redhat(
            "PUT",
            &format!("/api/rhsm/v2/activation_keys/{name}"),
            Some(json!({ "usage": "Production" })),
        );
        assert_eq!(
            ws.planned_actions("rhelazure_activation_key.k"),
            vec!["update"],
            "a changed attribute plans the fix"
        );
        cloud.redhat(
            "DELETE",
            &format!("/api/rhsm/v2/activation_keys/{name}"),
            None,
        );
        assert_eq!(
            ws.planned_actions("rhelazure_activation_key.k"),
            vec!["create"],
            "a deleted key plans a re-create"
        );
        ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
        ws.assert_no_changes();

        // Import with the CLI and with an import block, each into a fresh state.
        let imported = Workspace::new(&tf, &key_config(&name, "Development/Test")).cloud(&cloud);
        imported
            .run(&["import", "-no-color", "rhelazure_activation_key.k", &name])
            .ok();
        imported.assert_no_changes();
        if tf.has_resource_identity() {
            assert_eq!(
                imported.identity("rhelazure_activation_key.k")["name"],
                name.as_str()
            );
            imported.assert_imports_by_identity(
                &cloud,
                &key_config(&name, "Development/Test"),
                "rhelazure_activation_key.k",
            );
        }
        let block = Workspace::new(
            &tf,
            &format!(
                "{}\nimport {{\n  to = rhelazure_activation_key.k\n  id = \"{name}\"\n}}\n",
                key_config(&name, "Development/Test")
            ),
        )
        .cloud(&cloud);
        assert_eq!(
            block.planned_actions("rhelazure_activation_key.k"),
            vec!["no-op"],
            "imported as it is"
        );
        block.run(&["apply", "-auto-approve", "-no-color"]).ok();
        block.assert_no_changes();

        // Destroy leaves nothing behind.
        ws.run(&["destroy", "-auto-approve", "-no-color"]).ok();
        assert_eq!(
            cloud
                .redhat("GET", &format!("/api/rhsm/v2/activation_keys/{name}"), None)
                .0,
            404
        );
        assert!(
            cloud.state()["activation_keys"]
                .as_object()
                .unwrap()
                .is_empty(),
            "no key left"
        );
    }
    cloud.assert_requests_in_spec();
}

#[test]
fn activation_key_bad_input_and_missing_credentials() {
    let cloud = LocalCloud::start();
    for tf in terraforms() {
        let ws = Workspace::new(&tf, &key_config("bad name!", "Production")).cloud(&cloud);
        let r = ws.run(&["validate", "-no-color"]);
        assert_eq!(r.code, 1);
        assert!(
            r.all()
                .contains("name must be letters, digits, '_' and '-' only"),
            "{}",
            r.all()
        );
        let ws = Workspace::new(&tf, &key_config("ok", "Sometimes")).cloud(&cloud);
        assert!(ws
            .run(&["validate", "-no-color"])
            .all()
            .contains("usage must be one of"));

        // An offline token from the Hybrid Cloud Console is refreshed with the
        // console's client (read from the token); forcing another client
        // gets Red Hat SSO's refusal and says which setting chose it.
        let console = console_offline_token();
        let ws = Workspace::new(&tf, &key_config("console-token", "Production"))
            .cloud(&cloud)
            .env("RH_OFFLINE_TOKEN", &console);
        ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
        ws.run(&["destroy", "-auto-approve", "-no-color"]).ok();
        let ws = Workspace::new(&tf, &key_config("console-token", "Production"))
            .cloud(&cloud)
            .env("RH_OFFLINE_TOKEN", &console)
            .env("RH_OFFLINE_TOKEN_CLIENT_ID", "rhsm-api");
        let r = ws.run(&["apply", "-auto-approve", "-no-color"]);
        assert_eq!(r.code, 1);
        assert!(
            r.all()
                .contains("Token client and authorized client don't match")
                && r.all().contains("offline_token_client_id"),
            "{}",
            r.all()
        );

        // No Red Hat credentials: the plan says which settings are missing.
        let ws = Workspace::new(&tf, &key_config("ok", "Production"))
            .cloud(&cloud)
            .env("RH_OFFLINE_TOKEN", "");
        let r = ws.run(&["plan", "-no-color"]);
        assert_eq!(r.code, 1);
        assert!(
            r.all().contains("Red Hat credentials are missing")
                && r.all().contains("RH_OFFLINE_TOKEN"),
            "{}",
            r.all()
        );
    }
}

/// The local cloud's offline token from the "Hybrid Cloud Console" (the
/// seed's token whose `azp` is the console's client).
fn console_offline_token() -> String {
    use base64::Engine;
    let seed: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            rhelazure_acceptance_tests::repo_root()
                .join("acceptance-tests/emulator/seed/seed.json"),
        )
        .unwrap(),
    )
    .unwrap();
    seed["redhat"]["offline_tokens"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t.as_str())
        .find(|t| {
            let claims = t.split('.').nth(1).unwrap_or_default();
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(claims)
                .ok()
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                .is_some_and(|c| c["azp"] == "cloud-services")
        })
        .expect("the seed has a console offline token")
        .to_string()
}

fn terms_config(plan: &str) -> String {
    format!(
        r#"
provider "rhelazure" {{}}

resource "rhelazure_marketplace_agreement" "byos" {{
  publisher = "redhat"
  offer     = "rhel-byos"
  plan      = "{plan}"
}}
"#
    )
}

fn accepted(cloud: &LocalCloud, plan: &str) -> bool {
    let sub = cloud.get("ARM_SUBSCRIPTION_ID");
    let path = format!("/subscriptions/{sub}/providers/Microsoft.MarketplaceOrdering/offerTypes/virtualmachine/publishers/redhat/offers/rhel-byos/plans/{plan}/agreements/current?api-version=2021-01-01");
    cloud.arm("GET", &path, None).1["properties"]["accepted"] == true
}

#[test]
fn marketplace_agreement_lifecycle() {
    let cloud = LocalCloud::start();
    let sub = cloud.get("ARM_SUBSCRIPTION_ID");
    for tf in terraforms() {
        let plan = "rhel-lvm96-gen2";
        let ws = Workspace::new(&tf, &terms_config(plan)).cloud(&cloud);
        ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
        assert!(accepted(&cloud, plan));
        ws.assert_no_changes();

        // Cancelled out of band: drift, accepted again by the next apply.
        cloud.arm("POST", &format!("/subscriptions/{sub}/providers/Microsoft.MarketplaceOrdering/agreements/redhat/offers/rhel-byos/plans/{plan}/cancel?api-version=2021-01-01"), None);
        assert_eq!(
            ws.planned_actions("rhelazure_marketplace_agreement.byos"),
            vec!["create"]
        );
        ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
        assert!(accepted(&cloud, plan));

        // Another plan replaces.
        ws.write_config(&terms_config("rhel-lvm9-gen2"));
        assert_eq!(
            ws.planned_actions("rhelazure_marketplace_agreement.byos"),
            vec!["delete", "create"]
        );
        ws.write_config(&terms_config(plan));

        // A second configuration adopts the same terms; destroying it leaves them accepted.
        let other = Workspace::new(&tf, &terms_config(plan)).cloud(&cloud);
        other.run(&["apply", "-auto-approve", "-no-color"]).ok();
        let r = other.run(&["destroy", "-auto-approve", "-no-color"]);
        r.ok();
        assert!(r.all().contains("Terms left accepted"), "{}", r.all());
        assert!(
            accepted(&cloud, plan),
            "still accepted for the first configuration"
        );
        ws.assert_no_changes();

        // Import (CLI and block).
        let imported = Workspace::new(&tf, &terms_config(plan)).cloud(&cloud);
        imported
            .run(&[
                "import",
                "-no-color",
                "rhelazure_marketplace_agreement.byos",
                &format!("redhat:rhel-byos:{plan}"),
            ])
            .ok();
        imported.assert_no_changes();
        if tf.has_resource_identity() {
            let identity = imported.identity("rhelazure_marketplace_agreement.byos");
            assert_eq!(identity["publisher"], "redhat");
            imported.assert_imports_by_identity(
                &cloud,
                &terms_config(plan),
                "rhelazure_marketplace_agreement.byos",
            );
        }
        let block = Workspace::new(&tf, &format!("{}\nimport {{\n  to = rhelazure_marketplace_agreement.byos\n  id = \"redhat:rhel-byos:{plan}\"\n}}\n", terms_config(plan))).cloud(&cloud);
        assert_eq!(
            block.planned_actions("rhelazure_marketplace_agreement.byos"),
            vec!["no-op"]
        );

        // The configuration that accepted them cancels them on destroy.
        ws.run(&["destroy", "-auto-approve", "-no-color"]).ok();
        assert!(
            !accepted(&cloud, plan),
            "cancelled by the resource that accepted them"
        );
    }
    cloud.assert_requests_in_spec();
}

/// One provider block, terms in another subscription of its tenant (one that
/// has not registered Microsoft.MarketplaceOrdering yet): accepted there and
/// only there, imported by ARM id, a move to another subscription replaces,
/// destroy cancels them there.
#[test]
fn marketplace_agreement_in_another_subscription() {
    let cloud = LocalCloud::start();
    let main = cloud.get("ARM_SUBSCRIPTION_ID");
    let fresh = "5ab5c41d-0000-4000-a000-0000000fe5e5";
    let plan = "rhel-lvm96-gen2";
    let terms = |sub: &str| {
        format!("/subscriptions/{sub}/providers/Microsoft.MarketplaceOrdering/offerTypes/virtualmachine/publishers/redhat/offers/rhel-byos/plans/{plan}/agreements/current")
    };
    let accepted_in = |sub: &str| {
        cloud
            .arm(
                "GET",
                &format!("{}?api-version=2021-01-01", terms(sub)),
                None,
            )
            .1["properties"]["accepted"]
            == true
    };
    let config = |sub: &str| {
        terms_config(plan).replace(
            "  publisher = \"redhat\"",
            &format!("  subscription_id = \"{sub}\"\n  publisher = \"redhat\""),
        )
    };
    let tf = &terraforms()[0];
    let ws = Workspace::new(tf, &config(fresh)).cloud(&cloud);
    ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
    assert!(accepted_in(fresh) && !accepted_in(&main));
    ws.assert_no_changes();
    let id = ws
        .run(&[
            "state",
            "show",
            "-no-color",
            "rhelazure_marketplace_agreement.byos",
        ])
        .ok()
        .stdout
        .clone();
    assert!(
        id.contains(&format!("subscription_id     = \"{fresh}\"")),
        "{id}"
    );

    // Import by the ARM id: the subscription comes from the id.
    let imported = Workspace::new(tf, &config(fresh)).cloud(&cloud);
    imported
        .run(&[
            "import",
            "-no-color",
            "rhelazure_marketplace_agreement.byos",
            &terms(fresh),
        ])
        .ok();
    imported.assert_no_changes();
    let again = Workspace::new(tf, &config(fresh)).cloud(&cloud);
    let bad = again.run(&[
        "import",
        "-no-color",
        "rhelazure_marketplace_agreement.byos",
        "/subscriptions/x/providers/Microsoft.MarketplaceOrdering",
    ]);
    assert_ne!(bad.code, 0);
    assert!(bad.all().contains("Invalid import id"), "{}", bad.all());

    // Another subscription is another agreement.
    ws.write_config(&config(&main));
    assert_eq!(
        ws.planned_actions("rhelazure_marketplace_agreement.byos"),
        vec!["delete", "create"]
    );
    ws.write_config(&config(fresh));
    ws.run(&["destroy", "-auto-approve", "-no-color"]).ok();
    assert!(
        !accepted_in(fresh),
        "cancelled where this resource accepted them"
    );
}

#[test]
fn marketplace_agreement_errors() {
    let cloud = LocalCloud::start();
    for tf in terraforms() {
        let ws = Workspace::new(&tf, &terms_config("bad plan!")).cloud(&cloud);
        assert_eq!(ws.run(&["validate", "-no-color"]).code, 1);
        let ws = Workspace::new(&tf, &terms_config("no-such-plan")).cloud(&cloud);
        let r = ws.run(&["apply", "-auto-approve", "-no-color"]);
        assert_eq!(r.code, 1);
        assert!(
            r.all().contains("redhat:rhel-byos:no-such-plan"),
            "{}",
            r.all()
        );
        assert!(
            r.all().contains("NotFound") || r.all().contains("No such Marketplace plan"),
            "{}",
            r.all()
        );
    }
}

/// A create whose answer was lost after RHSM made the key (the connection
/// dropped after serving) is adopted, never duplicated; a key of that name
/// with other settings is refused with the import hint instead.
#[test]
fn activation_key_create_with_a_lost_answer_is_adopted() {
    let cloud = LocalCloud::start();
    let tf = &terraforms()[0];
    cloud.inject_fault(
        json!({ "method": "POST", "path": "/api/rhsm/v2/activation_keys", "drop_after_serving": true, "count": 1 }),
    );
    let ws = Workspace::new(tf, &key_config("lost-answer", "Production")).cloud(&cloud);
    let first = ws.run(&["apply", "-auto-approve", "-no-color"]);
    if first.code != 0 {
        // Not retried (a POST is not idempotent): a clear error, then the re-run adopts.
        assert!(first.all().contains("activation key"), "{}", first.all());
        ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
    }
    ws.assert_no_changes();
    let keys = cloud.state()["activation_keys"].clone();
    assert_eq!(
        keys.as_object().unwrap().keys().collect::<Vec<_>>(),
        vec!["lost-answer"],
        "exactly one key"
    );

    // Same name, other settings, made by someone else: refused, not adopted.
    let (s, _) = cloud.redhat(
        "POST",
        "/api/rhsm/v2/activation_keys",
        Some(json!({ "name": "taken-elsewhere", "serviceLevel": "Standard", "usage": "Production", "role": "Red Hat Enterprise Linux Server" })),
    );
    assert_eq!(s, 200);
    let other = Workspace::new(tf, &key_config("taken-elsewhere", "Production")).cloud(&cloud);
    let r = other.run(&["apply", "-auto-approve", "-no-color"]);
    assert_ne!(r.code, 0);
    let out = r.all();
    assert!(
        out.contains("Activation key already exists")
            && out.contains("terraform import")
            && out.contains("with rhelazure_activation_key.k"),
        "{out}"
    );
    assert_eq!(
        cloud.state()["activation_keys"]["taken-elsewhere"]["serviceLevel"],
        "Standard",
        "the other key is left alone"
    );
    ws.run(&["destroy", "-auto-approve", "-no-color"]).ok();
}

/// Terraform 1.14+: the organization's activation keys, made elsewhere, are
/// listed by `terraform query`, and the generated configuration adopts them
/// with no changes.
#[test]
fn activation_keys_are_listed_and_adopted() {
    let Some(tf) = terraform_with_query() else {
        return eprintln!("skipped: no Terraform 1.14+ to run terraform query");
    };
    let cloud = LocalCloud::start();
    for (name, usage) in [
        ("team-web", "Production"),
        ("team-db", "Development/Test"),
        ("other-key", "Production"),
    ] {
        let (s, b) = cloud.redhat(
            "POST",
            "/api/rhsm/v2/activation_keys",
            Some(json!({ "name": name, "serviceLevel": "Premium", "usage": usage, "role": "Red Hat Enterprise Linux Server", "releaseVersion": "9.6" })),
        );
        assert_eq!(s, 200, "{b}");
    }
    let (s, b) = cloud.redhat(
        "POST",
        "/api/rhsm/v2/activation_keys/team-web/additional_repositories",
        Some(json!([{ "repositoryLabel": "rhel-9-for-x86_64-appstream-rpms" }])),
    );
    assert!(s < 300, "{b}");
    let ws = Workspace::new(&tf, "provider \"rhelazure\" {}\n").cloud(&cloud);
    ws.write_query("keys", "list \"rhelazure_activation_key\" \"team\" {\n  provider = rhelazure\n  config {\n    name_prefix = \"team-\"\n  }\n}\n");
    let r = ws.query();
    let lines = r.listed("rhelazure_activation_key.team");
    assert_eq!(lines.len(), 2, "{}", r.stdout);
    assert!(
        lines.iter().any(|l| l.contains("name=team-db")
            && l.ends_with("team-db: Premium, Development/Test, Red Hat Enterprise Linux Server")),
        "{}",
        r.stdout
    );
    let generated = ws.generate_config();
    assert!(
        generated.contains("rhel-9-for-x86_64-appstream-rpms")
            && !generated.lines().any(|l| l.trim_start().starts_with("id ")),
        "{generated}"
    );
    let r = ws.run(&["apply", "-auto-approve", "-no-color"]);
    r.ok();
    assert!(
        r.stdout
            .contains("2 imported, 0 added, 0 changed, 0 destroyed"),
        "{}\n{generated}",
        r.stdout
    );
    ws.assert_no_changes();
    ws.run(&["destroy", "-auto-approve", "-no-color"]).ok();
    let keys = cloud.state()["activation_keys"].clone();
    assert!(
        keys.get("team-web").is_none() && keys.get("other-key").is_some(),
        "{keys}"
    );
}

/// Terraform 1.14+: Red Hat terms accepted out of band are listed by
/// `terraform query`, and the generated configuration adopts them with no
/// changes; destroying adopted terms leaves them accepted.
#[test]
fn accepted_terms_are_listed_and_adopted() {
    let Some(tf) = terraform_with_query() else {
        return eprintln!("skipped: no Terraform 1.14+ to run terraform query");
    };
    let cloud = LocalCloud::start();
    let sub = cloud.get("ARM_SUBSCRIPTION_ID");
    for plan in ["rhel-lvm96-gen2", "rhel-lvm10-gen2"] {
        let (s, b) = cloud.arm("POST", &format!("/subscriptions/{sub}/providers/Microsoft.MarketplaceOrdering/agreements/redhat/offers/rhel-byos/plans/{plan}/sign?api-version=2021-01-01"), None);
        assert!(s < 300, "{b}");
        assert!(accepted(&cloud, plan));
    }
    let ws = Workspace::new(&tf, "provider \"rhelazure\" {}\n").cloud(&cloud);
    ws.write_query("terms", "list \"rhelazure_marketplace_agreement\" \"byos\" {\n  provider = rhelazure\n  config {\n    offer = \"rhel-byos\"\n  }\n}\n");
    let r = ws.query();
    let lines = r.listed("rhelazure_marketplace_agreement.byos");
    assert_eq!(lines.len(), 2, "{}", r.stdout);
    assert!(
        lines
            .iter()
            .any(|l| l.ends_with("redhat:rhel-byos:rhel-lvm10-gen2 (accepted)")),
        "{}",
        r.stdout
    );
    ws.generate_config();
    let r = ws.run(&["apply", "-auto-approve", "-no-color"]);
    r.ok();
    assert!(
        r.stdout
            .contains("2 imported, 0 added, 0 changed, 0 destroyed"),
        "{}",
        r.stdout
    );
    ws.assert_no_changes();
    ws.run(&["destroy", "-auto-approve", "-no-color"]).ok();
    assert!(
        accepted(&cloud, "rhel-lvm96-gen2"),
        "adopted terms stay accepted"
    );
}
