//! `rhelazure_vm_license` through real Terraform against the local cloud: a VM
//! from a custom image moved to pay-as-you-go RHEL (the AHBForRHEL extension
//! is installed first, as Azure requires), changed in place, drift, import,
//! and reset to NONE on destroy.

use rhelazure_acceptance_tests::{terraforms, LocalCloud, Workspace};
use serde_json::json;

fn config(vm: &str, lt: &str) -> String {
    format!("resource \"rhelazure_vm_license\" \"l\" {{\n  virtual_machine_id = \"{vm}\"\n  license_type = \"{lt}\"\n}}\n")
}

#[test]
fn hybrid_benefit_lifecycle() {
    let cloud = LocalCloud::start();
    for tf in terraforms() {
        let id = cloud.custom_image_vm(&format!("ahb-{}", tf.version.replace('.', "-")));
        let license = || {
            cloud
                .arm("GET", &format!("{id}?api-version=2024-03-01"), None)
                .1["properties"]["licenseType"]
                .as_str()
                .map(str::to_string)
        };
        let ws = Workspace::new(&tf, &config(&id, "RHEL_BASE")).cloud(&cloud);
        ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
        assert_eq!(
            license().as_deref(),
            Some("RHEL_BASE"),
            "terraform {}",
            tf.version
        );
        let ext = cloud.arm(
            "GET",
            &format!("{id}/extensions/AHBForRHEL?api-version=2024-03-01"),
            None,
        );
        assert_eq!(
            (ext.0, ext.1["properties"]["publisher"].as_str()),
            (200, Some("Microsoft.Azure.AzureHybridBenefit")),
            "the extension came first"
        );
        ws.assert_no_changes();

        ws.write_config(&config(&id, "RHEL_EUS"));
        assert_eq!(ws.planned_actions("rhelazure_vm_license.l"), vec!["update"]);
        ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
        assert_eq!(license().as_deref(), Some("RHEL_EUS"));

        // A timeouts-only edit: one in-place update, computed values kept.
        ws.write_config(
            &config(&id, "RHEL_EUS").replace("}\n", "  timeouts {\n    update = \"45m\"\n  }\n}\n"),
        );
        assert_eq!(ws.planned_actions("rhelazure_vm_license.l"), vec!["update"]);
        let plan = ws.plan_json();
        let after = &plan["resource_changes"][0]["change"]["after_unknown"];
        assert!(
            after
                .as_object()
                .is_some_and(|m| m.values().all(|v| v == false || v.is_object())),
            "nothing unknown after a timeouts edit: {after}"
        );
        ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
        ws.assert_no_changes();

        // Changed out of band: the plan puts it back.
        cloud.arm_settled(
            "PATCH",
            &format!("{id}?api-version=2024-03-01"),
            Some(json!({ "properties": { "licenseType": "RHEL_SAPAPPS" } })),
        );
        assert_eq!(ws.planned_actions("rhelazure_vm_license.l"), vec!["update"]);
        ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
        // Hybrid Benefit removed out of band as azurerm spells it ("None"):
        // drift too, put back by the plan.
        let (status, body) = cloud.arm_settled(
            "PATCH",
            &format!("{id}?api-version=2024-03-01"),
            Some(json!({ "properties": { "licenseType": "None" } })),
        );
        assert!(status < 300, "{body}");
        assert_eq!(ws.planned_actions("rhelazure_vm_license.l"), vec!["update"]);
        ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
        ws.assert_no_changes();

        let imp = Workspace::new(&tf, &config(&id, "RHEL_EUS")).cloud(&cloud);
        imp.run(&["import", "-no-color", "rhelazure_vm_license.l", &id])
            .ok();
        imp.assert_no_changes();
        if tf.has_resource_identity() {
            imp.assert_imports_by_identity(
                &cloud,
                &config(&id, "RHEL_EUS"),
                "rhelazure_vm_license.l",
            );
        }

        let r = ws.run(&["destroy", "-auto-approve", "-no-color"]);
        r.ok();
        assert!(
            r.all().contains("RHUI repositories not restored"),
            "{}",
            r.all()
        );
        assert_eq!(license().as_deref(), Some("NONE"));

        // RHEL_BYOS needs Cloud Access. Azure would take it (it knows
        // nothing of Red Hat), so the provider asks Red Hat first and
        // refuses, naming the fix, before anything changes.
        let patches = || {
            cloud
                .request_log()
                .iter()
                .filter(|e| {
                    e["method"] == "PATCH" && e["request_body"].to_string().contains("RHEL_BYOS")
                })
                .count()
        };
        let byos = Workspace::new(&tf, &config(&id, "RHEL_BYOS")).cloud(&cloud);
        let r = byos.run(&["apply", "-auto-approve", "-no-color"]);
        assert_eq!(r.code, 1);
        assert!(
            r.all()
                .contains("Subscription not enabled for Red Hat Cloud Access")
                && r.all().contains("is not enrolled in Red Hat Cloud Access")
                && r.all().contains("rhelazure_cloud_access"),
            "{}",
            r.all()
        );
        assert_eq!(patches(), 0, "Azure was never asked");

        let bad = Workspace::new(&tf, &config("not-an-id", "RHEL_FREE")).cloud(&cloud);
        let r = bad.run(&["validate", "-no-color"]);
        assert!(
            r.all().contains("license_type must be one of")
                && r.all().contains("Invalid virtual machine id"),
            "{}",
            r.all()
        );
    }
    cloud.assert_requests_in_spec();
}

/// Powers a VM on or off through ARM and waits until its instance view says so.
fn power(cloud: &LocalCloud, id: &str, action: &str, state: &str) {
    let (status, body) = cloud.arm(
        "POST",
        &format!("{id}/{action}?api-version=2024-03-01"),
        None,
    );
    assert_eq!(status, 202, "{body}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let vm = cloud
            .arm(
                "GET",
                &format!("{id}?api-version=2024-03-01&$expand=instanceView"),
                None,
            )
            .1;
        let codes = vm["properties"]["instanceView"]["statuses"].to_string();
        if codes.contains(&format!("PowerState/{state}")) {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "{action}: {codes}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// Azure installs extensions only on a running VM: on a deallocated one a
/// pay-as-you-go type that needs AHBForRHEL is refused at `license_type`
/// with the fix, nothing half-done; once the VM runs, it applies; with the
/// extension in place, the type changes on a deallocated VM too.
#[test]
fn hybrid_benefit_on_a_deallocated_vm() {
    let cloud = LocalCloud::start();
    let tf = &terraforms()[0];
    let id = cloud.custom_image_vm("ahb-stopped");
    power(&cloud, &id, "deallocate", "deallocated");
    let ws = Workspace::new(tf, &config(&id, "RHEL_BASE")).cloud(&cloud);
    let r = ws.run(&["apply", "-auto-approve", "-no-color"]);
    assert_ne!(r.code, 0);
    let all = r.all();
    assert!(
        all.contains("The virtual machine is not running")
            && all.contains("az vm start --ids")
            && all.contains("license_type"),
        "{all}"
    );
    let ext = cloud.arm(
        "GET",
        &format!("{id}/extensions/AHBForRHEL?api-version=2024-03-01"),
        None,
    );
    assert_eq!(ext.0, 404, "no extension half-installed");

    power(&cloud, &id, "start", "running");
    ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
    power(&cloud, &id, "deallocate", "deallocated");
    ws.write_config(&config(&id, "RHEL_EUS"));
    ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
    ws.assert_no_changes();
    let lt = cloud
        .arm("GET", &format!("{id}?api-version=2024-03-01"), None)
        .1["properties"]["licenseType"]
        .clone();
    assert_eq!(lt, "RHEL_EUS");
    ws.run(&["destroy", "-auto-approve", "-no-color"]).ok();
}

/// RHEL_BYOS once the subscription is enrolled and Red Hat has granted gold
/// image access: applied. Azure itself accepts RHEL_BYOS on any RHEL VM (out
/// of band, the local cloud takes it as Azure does). Without Red Hat
/// credentials the provider cannot ask: it applies with a warning.
#[test]
fn byos_hybrid_benefit_follows_red_hats_record() {
    let cloud = LocalCloud::start();
    let tf = &terraforms()[0];
    let id = cloud.custom_image_vm("byos-ahb");
    // Azure takes RHEL_BYOS on an unenrolled subscription.
    let (status, body) = cloud.arm_settled(
        "PATCH",
        &format!("{id}?api-version=2024-03-01"),
        Some(json!({ "properties": { "licenseType": "RHEL_BYOS" } })),
    );
    assert!(status < 300, "{body}");
    cloud.arm_settled(
        "PATCH",
        &format!("{id}?api-version=2024-03-01"),
        Some(json!({ "properties": { "licenseType": "NONE" } })),
    );

    // No Red Hat credentials: a warning, and the license is set.
    let blind = Workspace::new(tf, &config(&id, "RHEL_BYOS"))
        .cloud(&cloud)
        .env("RH_OFFLINE_TOKEN", "")
        .env("RH_CLIENT_ID", "")
        .env("RH_CLIENT_SECRET", "");
    let r = blind.run(&["apply", "-auto-approve", "-no-color"]);
    r.ok();
    assert!(
        r.all()
            .contains("RHEL_BYOS set without checking Cloud Access"),
        "{}",
        r.all()
    );
    blind.run(&["destroy", "-auto-approve", "-no-color"]).ok();

    // Enrolled and granted: applied, no warning.
    let config_enrolled = format!(
        "resource \"rhelazure_cloud_access\" \"this\" {{\n  name = \"byos-ahb\"\n}}\n{}",
        config(&id, "RHEL_BYOS")
            .replace("}\n", "  depends_on = [rhelazure_cloud_access.this]\n}\n")
    );
    let ws = Workspace::new(tf, &config_enrolled).cloud(&cloud);
    let r = ws.run(&["apply", "-auto-approve", "-no-color"]);
    r.ok();
    assert!(!r.all().contains("Warning: RHEL_BYOS"), "{}", r.all());
    let enrolment = ws.values_of_type("rhelazure_cloud_access");
    assert_eq!(enrolment["gold_image_access"], "Granted");
    let lt = cloud
        .arm("GET", &format!("{id}?api-version=2024-03-01"), None)
        .1["properties"]["licenseType"]
        .clone();
    assert_eq!(lt, "RHEL_BYOS");
    ws.assert_no_changes();
    ws.run(&["destroy", "-auto-approve", "-no-color"]).ok();
}
