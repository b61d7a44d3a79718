//! `rhelazure_atomic_host` through real Terraform against the local cloud:
//! create (VM + NIC + public IP), empty re-plan, in-place updates (size with
//! deallocation, tags, containers through Run Command restarting only what
//! changed), import, drift, plan-time terms check, destroy leaving nothing.

use rhelazure_acceptance_tests::{
    eventually, terraform_with_query, terraforms, LocalCloud, Workspace, COMMAND_DEADLINE, SETTLE,
};
use serde_json::{json, Value};

const KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTests ops@example";

fn config(sub: &str, name: &str, size: &str, containers: &str, tags: &str) -> String {
    format!(
        r#"
resource "rhelazure_atomic_host" "h" {{
  name                = "{name}"
  resource_group_name = "rhel-demo"
  location            = "eastus"
  subnet_id           = "/subscriptions/{sub}/resourceGroups/rhel-demo/providers/Microsoft.Network/virtualNetworks/rhel-demo-vnet/subnets/hosts"
  size                = "{size}"
  ssh_public_keys     = ["{KEY}"]
  public_ip           = true
  marketplace_image = {{
    publisher = "RedHat"
    offer     = "RHEL"
    sku       = "9-lvm-gen2"
  }}
  containers = [{containers}]
  tags       = {{ {tags} }}
}}
output "host" {{ value = rhelazure_atomic_host.h }}
"#
    )
}

const WEB: &str = r#"{ name = "web", image = "registry.access.redhat.com/ubi9/httpd-24", ports = ["8080:8080"] }"#;
const DB: &str = r#"{ name = "db", image = "registry.redhat.io/rhel9/postgresql-16", environment = { POSTGRESQL_USER = "app" } }"#;

/// ARM ids (lower-cased) of the host's VM, NIC, public IP and disks in the emulator.
fn host_objects(cloud: &LocalCloud, name: &str) -> Vec<String> {
    let state = cloud.state();
    let mut out = Vec::new();
    for s in state["subscriptions"].as_object().unwrap().values() {
        for k in s["resources"].as_object().unwrap().keys() {
            let last = k.rsplit('/').next().unwrap_or("");
            if last.starts_with(&name.to_ascii_lowercase()) && !k.contains("/runcommands/") {
                out.push(k.clone());
            }
        }
    }
    out
}

fn guest(cloud: &LocalCloud, vm: &str) -> Value {
    cloud
        .control("GET", &format!("guest?vm={vm}"), Value::Null)
        .1
}

#[test]
fn atomic_host_lifecycle() {
    let cloud = LocalCloud::start();
    let sub = cloud.get("ARM_SUBSCRIPTION_ID");
    for tf in terraforms() {
        let name = format!("ah{}", tf.version.replace('.', ""));
        let ws = Workspace::new(
            &tf,
            &config(&sub, &name, "Standard_B2s", WEB, "env = \"test\""),
        )
        .cloud(&cloud);
        ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
        let out = ws.run(&["output", "-json"]).ok().json();
        let h = &out["host"]["value"];
        let vm = h["id"].as_str().unwrap().to_string();
        assert!(
            h["private_ip_address"]
                .as_str()
                .unwrap()
                .starts_with("10.42.1."),
            "terraform {}: {h}",
            tf.version
        );
        assert!(h["public_ip_address"].is_string());
        assert!(h["first_boot_sha256"].is_string());
        assert_eq!(h["plan"], Value::Null, "PAYG RHEL has no purchase plan");
        let objects = host_objects(&cloud, &name);
        assert_eq!(objects.len(), 4, "VM, NIC, public IP, OS disk: {objects:?}");
        ws.assert_no_changes();

        // In place: a second container, other tags, a size in another family.
        ws.write_config(&config(
            &sub,
            &name,
            "Standard_E2s_v5",
            &format!("{WEB}, {DB}"),
            "env = \"prod\"",
        ));
        assert_eq!(
            ws.planned_actions("rhelazure_atomic_host.h"),
            vec!["update"]
        );
        ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
        let g = guest(&cloud, &vm);
        assert!(
            g["files"]["/etc/containers/systemd/db.container"]
                .as_str()
                .unwrap()
                .contains("Image=registry.redhat.io/rhel9/postgresql-16"),
            "{g}"
        );
        let restarted: Vec<String> = serde_json::from_value(g["restarted"].clone()).unwrap();
        assert!(
            restarted.contains(&"db.service".to_string()),
            "{restarted:?}"
        );
        assert!(
            !restarted.contains(&"web.service".to_string()),
            "only what changed restarts: {restarted:?}"
        );
        assert_eq!(
            g["unknown_commands"],
            json!([]),
            "every command of the script is one a host has"
        );
        let (_, vmj) = cloud.arm("GET", &format!("{vm}?api-version=2024-03-01"), None);
        assert_eq!(
            vmj["properties"]["hardwareProfile"]["vmSize"],
            "Standard_E2s_v5"
        );
        assert_eq!(vmj["tags"]["env"], "prod");
        ws.assert_no_changes();

        // Import by the VM id: never a replacement.
        let imp = Workspace::new(
            &tf,
            &config(
                &sub,
                &name,
                "Standard_E2s_v5",
                &format!("{WEB}, {DB}"),
                "env = \"prod\"",
            ),
        )
        .cloud(&cloud);
        imp.run(&["import", "-no-color", "rhelazure_atomic_host.h", &vm])
            .ok();
        let plan = imp.plan_json();
        let change = &plan["resource_changes"][0]["change"];
        let actions: Vec<String> = serde_json::from_value(change["actions"].clone()).unwrap();
        assert!(
            actions == vec!["update"] || actions == vec!["no-op"],
            "imported host plans {actions:?}: replace_paths {} before {} after {}",
            change["replace_paths"],
            change["before"],
            change["after"]
        );
        imp.run(&["apply", "-auto-approve", "-no-color"]).ok();
        imp.assert_no_changes();
        if tf.has_resource_identity() {
            let cfg = config(
                &sub,
                &name,
                "Standard_E2s_v5",
                &format!("{WEB}, {DB}"),
                "env = \"prod\"",
            );
            // As after an import by id: the first apply writes the configured
            // containers to the host in place (Azure never returns customData).
            imp.assert_imports_by_identity_updating(&cloud, &cfg, "rhelazure_atomic_host.h", 1);
        }

        // Drift: deleted out of band -> re-create.
        let (s, _) = cloud.arm_settled("DELETE", &format!("{vm}?api-version=2024-03-01"), None);
        assert!(s == 200 || s == 202 || s == 204, "{s}");
        assert_eq!(
            ws.planned_actions("rhelazure_atomic_host.h"),
            vec!["create"]
        );
        ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
        ws.assert_no_changes();

        ws.run(&["destroy", "-auto-approve", "-no-color"]).ok();
        assert_eq!(
            host_objects(&cloud, &name),
            Vec::<String>::new(),
            "destroy left nothing"
        );
    }
    cloud.assert_requests_in_spec();
}

#[test]
fn byos_image_without_terms_fails_at_plan() {
    let cloud = LocalCloud::start();
    let sub = cloud.get("ARM_SUBSCRIPTION_ID");
    // Enrol in Cloud Access out of band so the gold image is visible, but accept no terms.
    let tf = &terraforms()[0];
    let enrol = Workspace::new(
        tf,
        "resource \"rhelazure_cloud_access\" \"c\" { name = \"plan-check\" }\n",
    )
    .cloud(&cloud);
    enrol.run(&["apply", "-auto-approve", "-no-color"]).ok();
    let cfg = config(&sub, "byoshost", "Standard_B2s", WEB, "")
        .replace("\"RHEL\"", "\"rhel-byos\"")
        .replace("\"9-lvm-gen2\"", "\"rhel-lvm96-gen2\"");
    let ws = Workspace::new(tf, &cfg).cloud(&cloud);
    let r = ws.run(&["plan", "-no-color"]);
    assert_eq!(r.code, 1);
    let all = r.all();
    assert!(all.contains("Marketplace terms not accepted"), "{all}");
    assert!(
        all.contains("resource \"rhelazure_marketplace_agreement\""),
        "names the fix: {all}"
    );
    assert!(
        all.contains("marketplace_image"),
        "points at the attribute: {all}"
    );
    assert!(host_objects(&cloud, "byoshost").is_empty());
    enrol.run(&["destroy", "-auto-approve", "-no-color"]).ok();
}

#[test]
fn failed_create_is_tracked_and_replaced_cleanly() {
    let cloud = LocalCloud::start();
    let sub = cloud.get("ARM_SUBSCRIPTION_ID");
    let tf = &terraforms()[0];
    let (s, _) = cloud.control(
        "POST",
        "faults",
        json!({ "method": "PUT", "path": "/virtualMachines/ahfail", "lro_fail": true, "count": 1 }),
    );
    assert!(s < 300, "{s}");
    let ws = Workspace::new(tf, &config(&sub, "ahfail", "Standard_B2s", WEB, "")).cloud(&cloud);
    let r = ws.run(&["apply", "-auto-approve", "-no-color"]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        r.all()
            .contains("Could not create the virtual machine ahfail"),
        "{}",
        r.all()
    );
    let state = ws.run(&["show", "-json"]).ok().json();
    let res = &state["values"]["root_module"]["resources"][0];
    assert_eq!(
        res["tainted"], true,
        "the half-made host is tracked, tainted: {res}"
    );
    assert!(res["values"]["network_interface_id"].is_string(), "{res}");
    assert!(res["values"]["public_ip_id"].is_string(), "{res}");

    // The next apply replaces it; exactly one VM, NIC, public IP and disk remain.
    assert_eq!(
        ws.planned_actions("rhelazure_atomic_host.h"),
        vec!["delete", "create"]
    );
    ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
    let objects = host_objects(&cloud, "ahfail");
    assert_eq!(objects.len(), 4, "{objects:?}");
    ws.assert_no_changes();
    ws.run(&["destroy", "-auto-approve", "-no-color"]).ok();
    assert!(host_objects(&cloud, "ahfail").is_empty());
}

#[test]
fn provider_killed_during_vm_create_is_adopted_by_the_next_apply() {
    let cloud = LocalCloud::start();
    let sub = cloud.get("ARM_SUBSCRIPTION_ID");
    let tf = &terraforms()[0];
    // A slow VM create, so the provider dies while the operation runs.
    cloud.configure(json!({ "lro_delay_ms": 4000 }));
    let ws = Workspace::new(tf, &config(&sub, "ahkill", "Standard_B2s", WEB, "")).cloud(&cloud);
    let vm_exists = || {
        host_objects(&cloud, "ahkill")
            .iter()
            .any(|k| k.contains("/virtualmachines/"))
    };
    let (killed, ok) = ws.apply_killing_provider_when(COMMAND_DEADLINE, vm_exists);
    assert!(
        killed && !ok,
        "killed mid-create (killed {killed}, ok {ok}); the apply printed:\n{}",
        ws.killed_run_log()
    );
    let state = ws.run(&["show", "-json"]).ok().json();
    assert!(
        state["values"]["root_module"]["resources"]
            .as_array()
            .is_none_or(|r| r.is_empty()),
        "Terraform got nothing back from the killed provider: {state}"
    );

    // The next apply adopts the VM (marked at creation) instead of failing on
    // "already exists" or making a second one.
    cloud.configure(json!({ "lro_delay_ms": 0 }));
    let r = ws.run(&["apply", "-auto-approve", "-no-color"]);
    assert_eq!(r.code, 0, "{}", r.all());
    let objects = host_objects(&cloud, "ahkill");
    assert_eq!(
        objects.len(),
        4,
        "one VM, NIC, public IP, disk: {objects:?}"
    );
    ws.assert_no_changes();
    let out = ws.run(&["show", "-json"]).ok().json();
    let tags = &out["values"]["root_module"]["resources"][0]["values"]["tags"];
    assert!(
        tags.get("rhelazure-host").is_none(),
        "the marker tag is hidden: {tags}"
    );
    ws.run(&["destroy", "-auto-approve", "-no-color"]).ok();
    assert!(host_objects(&cloud, "ahkill").is_empty());
}

#[test]
fn failing_run_command_reports_stderr() {
    let cloud = LocalCloud::start();
    let sub = cloud.get("ARM_SUBSCRIPTION_ID");
    let tf = &terraforms()[0];
    let ws = Workspace::new(tf, &config(&sub, "ahcmd", "Standard_B2s", WEB, "")).cloud(&cloud);
    ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
    let (s, _) = cloud.control(
        "POST",
        "run-commands/fail",
        json!({ "vm": "ahcmd", "exit_code": 125, "stderr": "Error: short-name resolution enforced but cannot prompt without a TTY" }),
    );
    assert!(s < 300, "{s}");
    ws.write_config(&config(&sub, "ahcmd", "Standard_B2s", DB, ""));
    let r = ws.run(&["apply", "-auto-approve", "-no-color"]);
    assert_eq!(r.code, 1);
    let all = r.all();
    assert!(
        all.contains("Command on the host failed") && all.contains("exit code 125"),
        "{all}"
    );
    assert!(
        all.contains("short-name resolution enforced"),
        "stderr tail: {all}"
    );
    // Nothing was recorded as applied: the next apply tries again and succeeds.
    ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
    ws.assert_no_changes();
    ws.run(&["destroy", "-auto-approve", "-no-color"]).ok();
}

/// 50 small hosts without public IPs, named by `names` (with `count.index`),
/// and their private IPs as the output `ips`.
fn fleet_of_fifty(sub: &str, names: &str) -> String {
    config(sub, names, "Standard_B1s", "", "")
        .replace("  public_ip           = true\n", "")
        .replace(
            "resource \"rhelazure_atomic_host\" \"h\" {\n",
            "resource \"rhelazure_atomic_host\" \"h\" {\n  count = 50\n",
        )
        .replace(
            "output \"host\" { value = rhelazure_atomic_host.h }",
            "output \"ips\" { value = rhelazure_atomic_host.h[*].private_ip_address }",
        )
}

/// Gives the subscription an ARM write budget of 20 requests, refilled at 8
/// per second: a token bucket like ARM's own per-subscription write limit,
/// made small enough that 50 hosts meet it.
fn limit_arm_writes(cloud: &LocalCloud) {
    let (s, _) = cloud.control(
        "PUT",
        "throttle",
        json!({ "writes": { "capacity": 20.0, "per_second": 8.0 } }),
    );
    assert!(s < 300, "{s}");
}

/// 50 hosts against an ARM write budget: everything is created and destroyed
/// with no failed resource, and the provider paces itself (few 429s).
#[test]
fn fleet_of_fifty_under_write_limits() {
    let cloud = LocalCloud::start();
    let sub = cloud.get("ARM_SUBSCRIPTION_ID");
    let tf = &terraforms()[0];
    limit_arm_writes(&cloud);
    let ws = Workspace::new(tf, &fleet_of_fifty(&sub, "fleet${count.index}x")).cloud(&cloud);
    ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
    let out = ws.run(&["output", "-json"]).ok().json();
    assert_eq!(out["ips"]["value"].as_array().unwrap().len(), 50);
    ws.assert_no_changes();
    ws.run(&["destroy", "-auto-approve", "-no-color"]).ok();
    assert!(
        host_objects(&cloud, "fleet").is_empty(),
        "destroy left nothing"
    );

    let lines = cloud.request_log();
    let writes = LocalCloud::arm_writes(&lines);
    let throttled = lines.iter().filter(|e| e["status"] == 429).count();
    eprintln!("fleet of 50: {writes} ARM writes, {throttled} answered 429");
    assert!(
        writes >= 200,
        "NIC + VM per host, created and deleted: {writes}"
    );
}

/// Two Terraform runs at once against one subscription's ARM write budget
/// (two teams' pipelines), 50 hosts each: each provider process paces only
/// itself, so together they can overdraw the budget and ARM answers 429
/// (how many depends on timing; the count is printed); both applies still
/// succeed (a 429 is retried after its Retry-After, never an error), and
/// both destroys leave nothing.
#[test]
fn two_fleets_share_one_subscription_budget() {
    let cloud = LocalCloud::start();
    let sub = cloud.get("ARM_SUBSCRIPTION_ID");
    let tf = &terraforms()[0];
    limit_arm_writes(&cloud);
    let fleet = |prefix: &str| {
        let names = format!("{prefix}${{count.index}}");
        Workspace::new(tf, &fleet_of_fifty(&sub, &names)).cloud(&cloud)
    };
    let (a, b) = (fleet("teama"), fleet("teamb"));
    let both = |args: &'static [&'static str]| {
        std::thread::scope(|s| {
            let ra = s.spawn(|| a.run(args));
            let rb = s.spawn(|| b.run(args));
            (ra.join().unwrap(), rb.join().unwrap())
        })
    };
    let (ra, rb) = both(&["apply", "-auto-approve", "-no-color"]);
    ra.ok();
    rb.ok();
    let throttled = cloud
        .request_log()
        .iter()
        .filter(|e| e["status"] == 429)
        .count();
    eprintln!("two fleets of 50 at once: {throttled} answers 429, none surfaced");
    for ws in [&a, &b] {
        let out = ws.run(&["output", "-json"]).ok().json();
        assert_eq!(out["ips"]["value"].as_array().unwrap().len(), 50);
        ws.assert_no_changes();
    }
    let (da, db) = both(&["destroy", "-auto-approve", "-no-color"]);
    da.ok();
    db.ok();
    for prefix in ["teama", "teamb"] {
        assert!(
            host_objects(&cloud, prefix).is_empty(),
            "{prefix}: destroy left nothing"
        );
    }
}

/// A host from a custom image (`source_image_id` of an Image Builder build) in
/// the same apply: no purchase plan, bootc image switched in place.
#[test]
fn host_from_an_image_builder_image() {
    let cloud = LocalCloud::start();
    let sub = cloud.get("ARM_SUBSCRIPTION_ID");
    let tf = &terraforms()[0];
    let cfg = |bootc: &str| {
        format!(
            r#"
resource "rhelazure_image_build" "img" {{
  distribution        = "rhel-9.6"
  image_name          = "hostimage"
  resource_group_name = "rhel-demo"
  customizations      = {{ packages = ["podman"] }}
}}

resource "rhelazure_atomic_host" "h" {{
  name                = "fromimage"
  resource_group_name = "rhel-demo"
  location            = "eastus"
  subnet_id           = "/subscriptions/{sub}/resourceGroups/rhel-demo/providers/Microsoft.Network/virtualNetworks/rhel-demo-vnet/subnets/hosts"
  size                = "Standard_B2s"
  ssh_public_keys     = ["{KEY}"]
  source_image_id     = rhelazure_image_build.img.id
  bootc_image         = "{bootc}"
}}
output "host" {{ value = rhelazure_atomic_host.h }}
"#
        )
    };
    let ws = Workspace::new(tf, &cfg("registry.redhat.io/rhel9/rhel-bootc:9.6")).cloud(&cloud);
    ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
    let out = ws.run(&["output", "-json"]).ok().json();
    let h = &out["host"]["value"];
    assert_eq!(h["plan"], Value::Null);
    assert!(h["source_image_id"]
        .as_str()
        .unwrap()
        .ends_with("/images/hostimage"));
    ws.assert_no_changes();

    ws.write_config(&cfg("quay.io/example/app-os:2"));
    assert_eq!(
        ws.planned_actions("rhelazure_atomic_host.h"),
        vec!["update"]
    );
    ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
    let g = guest(&cloud, h["id"].as_str().unwrap());
    assert_eq!(g["booted_image"], "quay.io/example/app-os:2", "{g}");
    ws.assert_no_changes();
    ws.run(&["destroy", "-auto-approve", "-no-color"]).ok();
    assert!(host_objects(&cloud, "fromimage").is_empty());
}

#[test]
fn arm64_image_on_an_x64_size_fails_at_plan_and_arm64_hosts_change_in_place() {
    let cloud = LocalCloud::start();
    let sub = cloud.get("ARM_SUBSCRIPTION_ID");
    let tf = &terraforms()[0];
    let cfg = config(&sub, "armhost", "Standard_B2s", WEB, "")
        .replace("\"RHEL\"", "\"rhel-arm64\"")
        .replace("\"9-lvm-gen2\"", "\"9_6-arm64\"");
    let ws = Workspace::new(tf, &cfg).cloud(&cloud);
    let r = ws.run(&["plan", "-no-color"]);
    assert_eq!(r.code, 1);
    let all = r.all();
    assert!(all.contains("Image and size do not match"), "{all}");
    assert!(
        all.contains("Standard_D2ps_v5") && all.contains("size"),
        "{all}"
    );
    // With an Arm64 size the same image applies; managed Run Command is not
    // offered on Arm64, so in-place container changes use the action runCommand.
    let arm_cfg = cfg.replace("Standard_B2s", "Standard_D2ps_v5");
    ws.write_config(&arm_cfg);
    ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
    let vm = ws.run(&["output", "-json"]).ok().json()["host"]["value"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    ws.write_config(&arm_cfg.replace(WEB, &format!("{WEB}, {DB}")));
    assert_eq!(
        ws.planned_actions("rhelazure_atomic_host.h"),
        vec!["update"]
    );
    ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
    let g = guest(&cloud, &vm);
    assert!(
        g["files"]["/etc/containers/systemd/db.container"].is_string(),
        "{g}"
    );
    assert_eq!(g["restarted"], json!(["db.service"]), "{g}");
    let runs = cloud.control("GET", "run-commands", Value::Null).1;
    assert!(
        runs.as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == "RunShellScript"
                && r["script"].as_str().unwrap().contains("db.container")),
        "{runs}"
    );
    ws.assert_no_changes();
    ws.run(&["destroy", "-auto-approve", "-no-color"]).ok();
    assert!(host_objects(&cloud, "armhost").is_empty());
}

#[test]
fn hyper_v_generation_mismatch_fails_at_plan() {
    let cloud = LocalCloud::start();
    let sub = cloud.get("ARM_SUBSCRIPTION_ID");
    let tf = &terraforms()[0];
    // A generation 2 image on an A-family size (generation 1 only).
    let cfg = config(&sub, "genhost", "Standard_A2_v2", WEB, "");
    let ws = Workspace::new(tf, &cfg).cloud(&cloud);
    let r = ws.run(&["plan", "-no-color"]);
    assert_eq!(r.code, 1);
    let all = r.all();
    assert!(
        all.contains("Image and size do not match") && all.contains("generation 2"),
        "{all}"
    );
    // Created on a size that fits, then resized in place to one that does
    // not: refused at plan, before any deallocation.
    ws.write_config(&config(&sub, "genhost", "Standard_B2s", WEB, ""));
    ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
    ws.write_config(&cfg);
    let r = ws.run(&["plan", "-no-color"]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(r.all().contains("boots only generation 1"), "{}", r.all());
    ws.write_config(&config(&sub, "genhost", "Standard_B2s", WEB, ""));
    ws.run(&["destroy", "-auto-approve", "-no-color"]).ok();
    assert!(host_objects(&cloud, "genhost").is_empty());
}

#[test]
fn host_drift_is_detected_and_fixed_in_place() {
    let cloud = LocalCloud::start();
    let sub = cloud.get("ARM_SUBSCRIPTION_ID");
    let tf = &terraforms()[0];
    let image = "registry.redhat.io/rhel9/rhel-bootc:9.6";
    let cfg = config(&sub, "drifty", "Standard_B2s", &format!("{WEB}, {DB}"), "").replace(
        "  containers = [",
        &format!("  detect_host_drift = true\n  bootc_image = \"{image}\"\n  containers = ["),
    );
    let ws = Workspace::new(tf, &cfg).cloud(&cloud);
    ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
    let vm = ws.run(&["output", "-json"]).ok().json()["host"]["value"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // cloud-init wrote the units on first boot; the status command agrees.
    let g = guest(&cloud, &vm);
    assert!(
        g["files"]["/etc/containers/systemd/web.container"].is_string(),
        "{g}"
    );
    assert_eq!(g["booted_image"], image);
    ws.assert_no_changes();
    let out = ws.run(&["output", "-json"]).ok().json();
    assert!(
        out["host"]["value"]["booted_image_digest"]
            .as_str()
            .is_some_and(|d| d.starts_with("sha256:")),
        "a refresh with detect_host_drift reads the digest: {out}"
    );

    // Out of band: one unit edited, the other deleted, another image booted.
    let db = "/etc/containers/systemd/db.container";
    let web = "/etc/containers/systemd/web.container";
    cloud.control(
        "PATCH",
        &format!("guest?vm={vm}"),
        json!({ "files": { web: "[Container]\nImage=evil\n", db: null }, "booted_image": "quay.io/someone/else:1" }),
    );
    let r = ws.run(&["plan", "-no-color", "-detailed-exitcode"]);
    assert_eq!(r.code, 2, "drift plans a change: {}", r.all());
    let all = r.all();
    assert!(
        all.contains("Host drift: container units") && all.contains("db.container is missing"),
        "{all}"
    );
    assert!(
        all.contains("web.container differs from what Terraform wrote"),
        "{all}"
    );
    assert!(
        all.contains("Host drift: booted image") && all.contains("quay.io/someone/else:1"),
        "{all}"
    );
    assert!(all.contains("update in-place"), "{all}");
    assert_eq!(
        ws.planned_actions("rhelazure_atomic_host.h"),
        vec!["update"]
    );
    ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
    let g = guest(&cloud, &vm);
    assert!(
        g["files"][web].as_str().unwrap().contains("ubi9/httpd-24"),
        "{g}"
    );
    assert!(
        g["files"][db].as_str().unwrap().contains("postgresql-16"),
        "{g}"
    );
    assert_eq!(g["booted_image"], image, "{g}");
    assert_eq!(g["unknown_commands"], json!([]), "{g}");
    ws.assert_no_changes();
    ws.run(&["destroy", "-auto-approve", "-no-color"]).ok();
    assert!(host_objects(&cloud, "drifty").is_empty());
}

/// One provider block, a host in another subscription of the tenant: Azure
/// keeps a NIC in its virtual network's subscription, so the host goes where
/// its subnet is (registering Compute there on demand), and is read, changed
/// and destroyed there.
#[test]
fn a_host_lands_in_the_subscription_of_its_subnet() {
    let cloud = LocalCloud::start();
    let main = cloud.get("ARM_SUBSCRIPTION_ID");
    let fresh = "5ab5c41d-0000-4000-a000-0000000fe5e5";
    // The other subscription's network, made as its owner would.
    let provider = format!("/subscriptions/{fresh}/providers/Microsoft.Network");
    cloud.arm(
        "POST",
        &format!("{provider}/register?api-version=2024-03-01"),
        None,
    );
    let registered = || {
        cloud
            .arm("GET", &format!("{provider}?api-version=2024-03-01"), None)
            .1["registrationState"]
            == "Registered"
    };
    eventually("Microsoft.Network registration", SETTLE, registered);
    let rg = format!("/subscriptions/{fresh}/resourceGroups/rhel-other");
    assert_eq!(
        cloud
            .arm(
                "PUT",
                &format!("{rg}?api-version=2024-03-01"),
                Some(serde_json::json!({ "location": "eastus" }))
            )
            .0
            / 100,
        2
    );
    let vnet = format!("{rg}/providers/Microsoft.Network/virtualNetworks/other-vnet");
    let body = serde_json::json!({ "location": "eastus", "properties": {
        "addressSpace": { "addressPrefixes": ["10.50.0.0/16"] },
        "subnets": [{ "name": "hosts", "properties": { "addressPrefix": "10.50.1.0/24" } }] } });
    assert_eq!(
        cloud
            .arm_settled("PUT", &format!("{vnet}?api-version=2024-01-01"), Some(body))
            .0
            / 100,
        2
    );

    let subnet = format!("{vnet}/subnets/hosts");
    let host = |size: &str| {
        config(&main, "elsewhere", size, WEB, "env = \"other\"")
            .replace("resource_group_name = \"rhel-demo\"", "resource_group_name = \"rhel-other\"")
            .replace(
                &format!("/subscriptions/{main}/resourceGroups/rhel-demo/providers/Microsoft.Network/virtualNetworks/rhel-demo-vnet/subnets/hosts"),
                &subnet,
            )
    };
    let ws = Workspace::new(&terraforms()[0], &host("Standard_B2s")).cloud(&cloud);
    ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
    let out = ws.run(&["output", "-json"]).ok().json();
    let id = out["host"]["value"]["id"].as_str().unwrap().to_string();
    assert!(
        id.starts_with(&format!(
            "/subscriptions/{fresh}/resourceGroups/rhel-other/"
        )),
        "{id}"
    );
    assert!(out["host"]["value"]["private_ip_address"]
        .as_str()
        .unwrap()
        .starts_with("10.50.1."));
    let objects = host_objects(&cloud, "elsewhere");
    assert_eq!(objects.len(), 4, "{objects:?}");
    assert!(
        objects
            .iter()
            .all(|o| o.starts_with(&format!("/subscriptions/{fresh}"))),
        "{objects:?}"
    );
    ws.assert_no_changes();
    // In place, there.
    ws.write_config(&host("Standard_E2s_v5"));
    assert_eq!(
        ws.planned_actions("rhelazure_atomic_host.h"),
        vec!["update"]
    );
    ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
    ws.assert_no_changes();
    ws.run(&["destroy", "-auto-approve", "-no-color"]).ok();
    assert!(
        host_objects(&cloud, "elsewhere").is_empty(),
        "nothing left behind"
    );
}

/// A registration to an organization other than that of the provider's Red
/// Hat credentials is refused at plan time (it would fail at first boot,
/// after the apply); the right one plans; without Red Hat credentials the
/// organization cannot be checked and the plan goes on.
#[test]
fn a_registration_to_another_organization_is_refused_at_plan() {
    // The key "hosts" is not registered with the leak check: the refusal's
    // snippet is Terraform quoting the configuration's own source (the
    // literal key with it), the user's file rather than anything the
    // provider let out. Keys the provider carries are checked in
    // `a_write_only_activation_key_reaches_the_host_and_nothing_else`.
    let cloud = LocalCloud::start();
    let tf = &terraforms()[0];
    let sub = cloud.get("ARM_SUBSCRIPTION_ID");
    let registered = |org: &str| {
        config(&sub, "registered", "Standard_B2s", WEB, "")
            .replace(
                "  containers =",
                &format!(
                    "  registration = {{\n    organization   = {org}\n    activation_key = \"hosts\"\n  }}\n  containers ="
                ),
            )
            // The key is sensitive: no output of the whole host.
            .replace("output \"host\" { value = rhelazure_atomic_host.h }", "")
    };
    let plan = |ws: &Workspace| ws.run(&["plan", "-no-color", "-input=false"]);
    let wrong = Workspace::new(tf, &registered("12345678")).cloud(&cloud);
    let r = plan(&wrong);
    assert_ne!(r.code, 0, "{}", r.all());
    // The diagnostic points at the attribute: Terraform quotes its line.
    assert!(r.all().contains("registration = {"), "{}", r.all());
    for w in [
        "Not the organization of the Red Hat credentials",
        "organization 11009103",
    ] {
        assert!(r.all().contains(w), "{w}: {}", r.all());
    }
    let right = Workspace::new(tf, &registered("11009103")).cloud(&cloud);
    let r = plan(&right);
    assert_eq!(r.code, 0, "{}", r.all());
    let unchecked = Workspace::new(tf, &registered("12345678"))
        .cloud(&cloud)
        .env("RH_OFFLINE_TOKEN", "")
        .env("RH_CLIENT_ID", "")
        .env("RH_CLIENT_SECRET", "");
    let r = plan(&unchecked);
    assert_eq!(r.code, 0, "{}", r.all());
}

/// `registration.activation_key_wo` (write-only, Terraform 1.11+): the host
/// gets the key at first boot, and no plan, state, output or log holds it
/// (the suite's leak check reads them all); bumping
/// `activation_key_wo_version` replaces the host so it registers with the
/// current key; the two spellings of the key cannot be mixed.
#[test]
fn a_write_only_activation_key_reaches_the_host_and_nothing_else() {
    use base64::Engine as _;
    let cloud = LocalCloud::start();
    let sub = cloud.get("ARM_SUBSCRIPTION_ID");
    let key = "write-only-activation-key-7f3a91";
    let with_registration = |name: &str, registration: &str| {
        format!(
            "variable \"key\" {{\n  type      = string\n  sensitive = true\n}}\n{}",
            config(&sub, name, "Standard_B2s", WEB, "")
                .replace(
                    "  containers =",
                    &format!("  registration = {{\n{registration}\n  }}\n  containers =")
                )
                .replace("output \"host\" { value = rhelazure_atomic_host.h }", "")
        )
    };
    for tf in terraforms() {
        let name = format!("wo{}", tf.version.replace('.', ""));
        let registration = |version: u32| {
            format!(
                "    organization               = 11009103\n    activation_key_wo          = var.key\n    activation_key_wo_version  = {version}"
            )
        };
        let ws = Workspace::new(&tf, &with_registration(&name, &registration(1)))
            .cloud(&cloud)
            .env("TF_VAR_key", key)
            .secret(key);
        ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
        ws.assert_no_changes();
        // The host got it: its first-boot cloud-config registers with the key.
        let vm = format!(
            "/subscriptions/{sub}/resourcegroups/rhel-demo/providers/microsoft.compute/virtualmachines/{name}"
        );
        let state = cloud.state();
        let custom_data = state["subscriptions"][sub.to_ascii_lowercase()]["resources"][&vm]
            ["body"]["_customData"]
            .as_str()
            .unwrap_or_else(|| panic!("no customData for {vm}"))
            .to_string();
        let cloud_config = String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(custom_data)
                .unwrap(),
        )
        .unwrap();
        assert!(
            cloud_config.contains(key),
            "terraform {}: {cloud_config}",
            tf.version
        );
        // Not in state, in any form Terraform shows.
        let shown = ws.run(&["show", "-json", "-no-color"]).ok().stdout.clone();
        assert!(!shown.contains(key), "terraform {}", tf.version);
        let tfstate = std::fs::read_to_string(ws.path().join("terraform.tfstate")).unwrap();
        assert!(!tfstate.contains(key), "terraform {}", tf.version);

        // A new version of the key: the host is replaced to register again.
        ws.write_config(&with_registration(&name, &registration(2)));
        assert_eq!(
            ws.planned_actions("rhelazure_atomic_host.h"),
            vec!["delete", "create"],
            "terraform {}",
            tf.version
        );
        ws.run(&["destroy", "-auto-approve", "-no-color"]).ok();

        // Both spellings, or a version without the write-only key: refused.
        for (registration, why) in [
            (
                "    organization      = 11009103\n    activation_key    = \"k\"\n    activation_key_wo = var.key".to_string(),
                "One activation key",
            ),
            (
                "    organization              = 11009103\n    activation_key            = \"k\"\n    activation_key_wo_version = 1".to_string(),
                "Version without a write-only key",
            ),
        ] {
            let bad = Workspace::new(&tf, &with_registration(&name, &registration))
                .cloud(&cloud)
                .env("TF_VAR_key", key)
                .secret(key);
            // A plan: `terraform validate` knows no variable values yet.
            let r = bad.run(&["plan", "-no-color", "-input=false"]);
            assert_ne!(r.code, 0);
            assert!(r.all().contains(why), "terraform {}: {}", tf.version, r.all());
        }
    }
}

/// Terraform 1.14+: a host applied by another configuration is listed by
/// `terraform query` and adopted through the generated configuration
/// without being replaced.
#[test]
fn hosts_are_listed_and_adopted() {
    let Some(tf) = terraform_with_query() else {
        return eprintln!("skipped: no Terraform 1.14+ to run terraform query");
    };
    let cloud = LocalCloud::start();
    let sub = cloud.get("ARM_SUBSCRIPTION_ID");
    let other = Workspace::new(
        &tf,
        &config(&sub, "listed-host", "Standard_B2s", "", "team = \"web\""),
    )
    .cloud(&cloud);
    other.run(&["apply", "-auto-approve", "-no-color"]).ok();
    let ws = Workspace::new(&tf, "provider \"rhelazure\" {}\n").cloud(&cloud);
    ws.write_query("hosts", "list \"rhelazure_atomic_host\" \"demo\" {\n  provider = rhelazure\n  config {\n    resource_group_name = \"rhel-demo\"\n  }\n}\n");
    let r = ws.query();
    let lines = r.listed("rhelazure_atomic_host.demo");
    assert_eq!(lines.len(), 1, "{}", r.stdout);
    assert!(
        lines[0].ends_with("listed-host (rhel-demo): Standard_B2s"),
        "{}",
        r.stdout
    );
    let generated = ws.generate_config();
    let r = ws.run(&["apply", "-auto-approve", "-no-color"]);
    r.ok();
    assert!(
        r.stdout.contains("1 imported, 0 added") && r.stdout.contains("0 destroyed"),
        "{}\n{generated}",
        r.stdout
    );
    ws.assert_no_changes();
    other.run(&["destroy", "-auto-approve", "-no-color"]).ok();
}
