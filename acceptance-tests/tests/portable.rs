//! The scenarios that run on any target (see the harness's `target`
//! module): the local cloud, the local cloud posing as real accounts (both
//! in `make test`), or real Azure and Red Hat (`make testacc-real`). A
//! scenario knows its target only by its capabilities; drift is made through
//! ARM and Red Hat's APIs themselves, as it would be on real accounts.
//!
//! `RHELAZURE_TARGET=real` without credentials lists every scenario as
//! ignored, with the reason: never as passed. Run with `--include-ignored`
//! anyway, each fails saying what is missing.
//!
//! This file has its own harness (libtest-mimic) because which scenarios
//! exist, and whether they can run, is known only at run time.

use libtest_mimic::{Arguments, Failed, Trial};
use rhelazure_acceptance_tests::target::{self, Requested, Target};
use rhelazure_acceptance_tests::{shapes, terraforms, LocalCloud, Terraform};
use serde_json::json;

type Scenario = fn(&Target, &Terraform);

/// Every portable scenario: name, what it costs on a real account (see
/// docs/guides/testing-against-real-accounts.md), and the scenario.
const SCENARIOS: [(&str, Scenario); 5] = [
    ("activation_key", activation_key),
    ("gallery", gallery),
    ("payg_host", payg_host),
    ("byos_registered_host", byos_registered_host),
    ("image_build", image_build),
];

const SSH_KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPortableSuiteKey acceptance@example";

fn main() {
    let args = Arguments::from_args();
    let mut trials = Vec::new();
    match target::requested() {
        Requested::Local => {
            for (name, scenario) in SCENARIOS {
                trials.push(Trial::test(format!("local::{name}"), move || {
                    run(Target::local(), scenario)
                }));
                trials.push(Trial::test(format!("posing_as_real::{name}"), move || {
                    run(Target::posing_as_real(None), scenario)
                }));
            }
            trials.push(Trial::test(
                "recording::redacted_judged_and_shaped_like_the_local_cloud",
                || guarded(recording_round_trip),
            ));
            trials.push(Trial::test(
                "recording::committed_recordings_against_the_local_cloud",
                || guarded(committed_recordings),
            ));
            trials.push(Trial::test(
                "sweeper::deletes_what_an_interrupted_run_left_and_nothing_else",
                || guarded(sweeper),
            ));
        }
        Requested::Real => {
            let missing = target::real_environment().err();
            for (name, scenario) in SCENARIOS {
                let why = missing.as_ref().map(|u| u.0.clone());
                let trial = Trial::test(format!("real::{name}"), move || match why {
                    Some(why) => Err(Failed::from(format!("not run: {why}"))),
                    None => run(Target::real().map_err(|u| Failed::from(u.0))?, scenario),
                });
                trials.push(match &missing {
                    Some(_) => trial.with_ignored_flag(true),
                    None => trial,
                });
            }
            if let Some(why) = &missing {
                eprintln!("real-account scenarios ignored: {}", why.0);
            }
        }
    }
    libtest_mimic::run(&args, trials).exit();
}

/// Runs `scenario` on `target` with the newest Terraform here, then sweeps
/// the run, which must find nothing the scenario's destroy left behind
/// beyond the harness's own resource group.
fn run(mut target: Target, scenario: Scenario) -> Result<(), Failed> {
    let tf = terraforms().pop().expect("a Terraform");
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| scenario(&target, &tf)));
    let swept = target.sweep();
    match outcome {
        Err(panic) => Err(Failed::from(panic_message(panic))),
        Ok(()) => {
            // Compose records stay at Image Builder after a destroy (the
            // API keeps them for quota); the sweeper deletes those.
            let leftovers = swept.activation_keys.len() + swept.sources.len() + swept.terms.len();
            if !swept.failures.is_empty() || leftovers > 0 {
                return Err(Failed::from(format!(
                    "{}: the destroy left objects behind, or the sweep failed:\n{swept}",
                    target.label
                )));
            }
            Ok(())
        }
    }
}

/// A check that panics on failure, as a trial's result.
fn guarded(check: fn()) -> Result<(), Failed> {
    std::panic::catch_unwind(check).map_err(|panic| Failed::from(panic_message(panic)))
}

/// What a panic said (assertion messages are `String`s or `&str`s).
fn panic_message(panic: Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "panicked".into())
}

/// The recorder on the real code path (the local cloud posing as the
/// services): three scenarios recorded; the recording holds no secret, no
/// account identifier, no token and no local address; it goes to the spec
/// validators with the suite's traffic; replayed on a fresh local cloud it
/// shows no difference of shape, and a recording made to differ shows
/// exactly its differences.
fn recording_round_trip() {
    let dir = tempfile::tempdir().expect("temp dir");
    let tf = terraforms().pop().expect("a Terraform");
    let mut target = Target::posing_as_real(Some(dir.path().to_path_buf()));
    let rh = target.services();
    let ids: Vec<String> = ["ARM_SUBSCRIPTION_ID", "ARM_TENANT_ID", "ARM_CLIENT_ID"]
        .iter()
        .map(|k| rh.get(k))
        .chain(
            rh.redhat("GET", "/api/rhsm/v2/organization", None).1["body"]["id"]
                .as_str()
                .map(str::to_string),
        )
        .collect();
    for scenario in [activation_key as Scenario, gallery, payg_host] {
        scenario(&target, &tf);
    }
    target.sweep();
    let file = target.recording().expect("recording");
    let secrets = target.secrets().to_vec();
    drop(target);

    let text = std::fs::read_to_string(&file).unwrap();
    let leaks = rhelazure_acceptance_tests::leaks::in_text(&text, &secrets, "the recording");
    assert!(
        leaks.is_empty(),
        "{}",
        leaks
            .iter()
            .map(|l| l.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
    for id in &ids {
        assert!(
            !text.to_ascii_lowercase().contains(&id.to_ascii_lowercase()),
            "identifier {id} in the recording"
        );
    }
    for forbidden in ["eyJ", "127.0.0.1", "Bearer ", "access_token\":\"e"] {
        assert!(!text.contains(forbidden), "{forbidden:?} in the recording");
    }
    let recording = shapes::read_recording(&file);
    assert!(
        recording.len() > 50,
        "{} exchanges recorded",
        recording.len()
    );
    for service in ["arm", "login", "redhat-api", "redhat-sso"] {
        assert!(
            recording.iter().any(|e| e["service"] == service),
            "no {service} exchange recorded"
        );
    }
    // Judged by the spec validators with the rest of the suite's traffic.
    let traffic = rhelazure_acceptance_tests::traffic_dir();
    std::fs::create_dir_all(&traffic).unwrap();
    std::fs::copy(&file, traffic.join("recording-round-trip.jsonl")).unwrap();

    let differences = shapes::compare(&recording, &LocalCloud::start());
    assert!(
        differences.is_empty(),
        "the local cloud answered its own recording differently:\n{}",
        differences.join("\n")
    );

    // Made to differ at three exchanges: those three, and nothing else.
    let mut changed = recording.clone();
    let arm_put = |e: &serde_json::Value| {
        e["service"] == "arm" && e["method"] == "PUT" && e["response_body"]["location"].is_string()
    };
    let first = changed.iter().position(arm_put).expect("an ARM PUT");
    changed[first]["response_body"]
        .as_object_mut()
        .unwrap()
        .remove("location");
    let second = changed
        .iter()
        .position(|e| e["service"] == "redhat-api" && e["method"] == "GET" && e["status"] == 200)
        .expect("a Red Hat GET");
    changed[second]["status"] = json!(418);
    let third = changed
        .iter()
        .position(|e| {
            e["service"] == "arm"
                && e["response_headers"]["azure-asyncoperation"].is_string()
                && e["method"] != "GET"
        })
        .expect("a long-running ARM write");
    changed[third]["response_headers"]
        .as_object_mut()
        .unwrap()
        .remove("azure-asyncoperation");
    let differences = shapes::compare(&changed, &LocalCloud::start());
    let path = |i: usize| {
        format!(
            "{} {}",
            changed[i]["method"].as_str().unwrap(),
            changed[i]["path"].as_str().unwrap()
        )
    };
    let expected = [
        format!(
            "{}: response field `location`: only in the local cloud's answer",
            path(first)
        ),
        format!("{}: status: recorded 418, local cloud 200", path(second)),
        format!(
            "{}: header `azure-asyncoperation`: only in the local cloud's answer",
            path(third)
        ),
    ];
    for e in &expected {
        assert!(
            differences.contains(e),
            "missing {e:?} in:\n{}",
            differences.join("\n")
        );
    }
    assert_eq!(
        differences.len(),
        expected.len(),
        "{}",
        differences.join("\n")
    );
}

/// The recordings committed in acceptance-tests/recordings/ (made on real
/// accounts by `make testacc-real RECORD=1`): each replayed on a fresh local
/// cloud; a difference of shape fails unless known-differences.txt lists it
/// with its evidence. They also go to the spec validators with the suite's
/// traffic.
fn committed_recordings() {
    let dir = rhelazure_acceptance_tests::repo_root().join("acceptance-tests/recordings");
    let known = std::fs::read_to_string(dir.join("known-differences.txt")).unwrap_or_default();
    let known: Vec<&str> = known
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.split(" # ").next().unwrap_or(l).trim())
        .collect();
    let traffic = rhelazure_acceptance_tests::traffic_dir();
    let mut unexplained = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("acceptance-tests/recordings") {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "jsonl") {
            continue;
        }
        std::fs::create_dir_all(&traffic).unwrap();
        std::fs::copy(
            &path,
            traffic.join(format!(
                "committed-{}",
                path.file_name().unwrap().to_string_lossy()
            )),
        )
        .unwrap();
        for d in shapes::compare(&shapes::read_recording(&path), &LocalCloud::start()) {
            if !known.contains(&d.as_str()) {
                unexplained.push(format!(
                    "{}: {d}",
                    path.file_name().unwrap().to_string_lossy()
                ));
            }
        }
    }
    assert!(
        unexplained.is_empty(),
        "the local cloud drifted from the recorded services:\n{}",
        unexplained.join("\n")
    );
}

/// `sweep-real` (the binary `make sweep-real` runs) on the local cloud as a
/// real account: what a run left when its state was lost (a resource group
/// by name and one by tag, an activation key, a Cloud Access source, an
/// Image Builder compose, Marketplace terms it noted) is listed by
/// `--dry-run` and left alone, then deleted; what is not the suite's (a
/// resource group, a key, terms accepted before) stays.
fn sweeper() {
    let cloud = LocalCloud::start();
    let rh = cloud.services();
    let sub = cloud.get("ARM_SUBSCRIPTION_ID");
    let tf = terraforms().pop().expect("a Terraform");
    let group = |name: &str, tags: serde_json::Value| {
        let (s, b) = rh.arm(
            "PUT",
            &format!("/subscriptions/{sub}/resourcegroups/{name}?api-version=2024-03-01"),
            Some(json!({ "location": "eastus", "tags": tags })),
        );
        assert!(s < 300, "{s} {b}");
    };
    group("rhazacc-dead01-rg", json!({}));
    group("tagged-only", json!({ target::SUITE_TAG: "dead01" }));
    group("keep-me", json!({ "owner": "someone" }));
    // Made by the provider, then the state lost: as an interrupted run leaves them.
    let ws = rhelazure_acceptance_tests::Workspace::new(
        &tf,
        r#"
resource "rhelazure_activation_key" "k" {
  name          = "rhazacc-dead01-key"
  service_level = "Self-Support"
  usage         = "Development/Test"
}
resource "rhelazure_activation_key" "other" {
  name          = "keep-key"
  service_level = "Self-Support"
  usage         = "Development/Test"
}
resource "rhelazure_cloud_access" "c" { name = "rhazacc-dead01-source" }
resource "rhelazure_marketplace_agreement" "gold" {
  publisher  = "redhat"
  offer      = "rhel-byos"
  plan       = "rhel-lvm96-gen2"
  depends_on = [rhelazure_cloud_access.c]
}
resource "rhelazure_marketplace_agreement" "before" {
  publisher  = "redhat"
  offer      = "rhel-byos"
  plan       = "rhel-lvm10-gen2"
  depends_on = [rhelazure_cloud_access.c]
}
resource "rhelazure_image_build" "b" {
  distribution        = "rhel-9.6"
  image_name          = "rhazacc-dead01-img"
  resource_group_name = "rhazacc-dead01-rg"
}
"#,
    )
    .cloud(&cloud);
    apply(&ws);
    let journal = cloud.dir_path().join("journal.jsonl");
    std::fs::write(&journal, json!({ "publisher": "redhat", "offer": "rhel-byos", "plan": "rhel-lvm96-gen2", "run": "dead01" }).to_string() + "\n").unwrap();

    let sweep = |args: &[&str]| {
        let out = std::process::Command::new(
            rhelazure_acceptance_tests::repo_root().join("target/debug/sweep-real"),
        )
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(cloud.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("RHELAZURE_ACC_JOURNAL", &journal)
        .output()
        .expect("sweep-real runs");
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let exists = |path: &str| rh.arm("GET", path, None).0 == 200;
    let group_path =
        |name: &str| format!("/subscriptions/{sub}/resourcegroups/{name}?api-version=2024-03-01");
    let key = |name: &str| {
        rh.redhat("GET", &format!("/api/rhsm/v2/activation_keys/{name}"), None)
            .0
            == 200
    };
    let terms = |plan: &str| {
        rh.arm(
            "GET",
            &rhelazure_acceptance_tests::sweep::agreement_path(&sub, "redhat", "rhel-byos", plan),
            None,
        )
        .1["properties"]["accepted"]
            == json!(true)
    };

    let listed = sweep(&["--dry-run"]);
    for what in [
        "rhazacc-dead01-rg",
        "tagged-only",
        "rhazacc-dead01-key",
        "rhazacc-dead01-source",
        "rhazacc-dead01-img",
        "redhat:rhel-byos:rhel-lvm96-gen2",
    ] {
        assert!(listed.contains(what), "{what} listed:\n{listed}");
    }
    for what in ["keep-me", "keep-key", "rhel-lvm10-gen2", "rhel-demo"] {
        assert!(!listed.contains(what), "{what} not listed:\n{listed}");
    }
    assert!(
        exists(&group_path("rhazacc-dead01-rg"))
            && key("rhazacc-dead01-key")
            && terms("rhel-lvm96-gen2"),
        "a dry run changes nothing"
    );

    let swept = sweep(&[]);
    assert!(
        !exists(&group_path("rhazacc-dead01-rg")) && !exists(&group_path("tagged-only")),
        "{swept}"
    );
    assert!(
        !key("rhazacc-dead01-key") && !terms("rhel-lvm96-gen2"),
        "{swept}"
    );
    let (_, sources) = rh.redhat("GET", "/api/sources/v3.1/sources", None);
    assert!(
        !sources.to_string().contains("rhazacc-dead01-source"),
        "{sources}"
    );
    let (_, composes) = rh.redhat("GET", "/api/image-builder/v1/composes", None);
    assert!(
        !composes.to_string().contains("rhazacc-dead01-img"),
        "{composes}"
    );
    assert!(
        exists(&group_path("keep-me"))
            && exists(&group_path("rhel-demo"))
            && key("keep-key")
            && terms("rhel-lvm10-gen2"),
        "what is not the suite's stays: {swept}"
    );
    let after = sweep(&["--dry-run"]);
    assert!(
        after
            .lines()
            .all(|l| l.is_empty() || l.ends_with(": none") || l.starts_with("would")),
        "nothing left:\n{after}"
    );
}

fn apply(ws: &rhelazure_acceptance_tests::Workspace) {
    ws.run(&["apply", "-auto-approve", "-no-color", "-input=false"])
        .ok();
}

/// An activation key: create, nothing to change, update in place, drift
/// made through Red Hat's API, import into a fresh workspace, destroy.
fn activation_key(target: &Target, tf: &Terraform) {
    let name = target.names.name("key");
    let config = |usage: &str| {
        format!(
            r#"
resource "rhelazure_activation_key" "k" {{
  name          = "{name}"
  service_level = "Self-Support"
  usage         = "{usage}"
  role          = "Red Hat Enterprise Linux Server"
}}
"#
        )
    };
    let ws = target.workspace(tf, &config("Development/Test"));
    apply(&ws);
    ws.assert_no_changes();
    let rh = target.services();
    let key_path = format!("/api/rhsm/v2/activation_keys/{name}");
    assert_eq!(
        rh.redhat("GET", &key_path, None).1["body"]["usage"],
        "Development/Test"
    );

    ws.write_config(&config("Production"));
    assert_eq!(
        ws.planned_actions("rhelazure_activation_key.k"),
        vec!["update"]
    );
    apply(&ws);
    assert_eq!(
        rh.redhat("GET", &key_path, None).1["body"]["usage"],
        "Production"
    );

    // Drift through the API, as a colleague in the console would make it.
    let (s, b) = rh.redhat(
        "PUT",
        &key_path,
        Some(json!({ "usage": "Development/Test" })),
    );
    assert!(s < 300, "{s} {b}");
    assert_eq!(
        ws.planned_actions("rhelazure_activation_key.k"),
        vec!["update"]
    );
    apply(&ws);

    let fresh = target.workspace(tf, &config("Production"));
    fresh
        .run(&[
            "import",
            "-no-color",
            "-input=false",
            "rhelazure_activation_key.k",
            &name,
        ])
        .ok();
    fresh.assert_no_changes();

    ws.run(&["destroy", "-auto-approve", "-no-color", "-input=false"])
        .ok();
    assert_eq!(rh.redhat("GET", &key_path, None).0, 404, "the key is gone");
}

/// A Compute Gallery and an image definition: create, update the
/// description in place, drift made through ARM, import, destroy.
fn gallery(target: &Target, tf: &Terraform) {
    let gallery = target.names.compact("gal");
    let rg = &target.names.resource_group;
    let location = &target.names.location;
    let config = |description: &str| {
        format!(
            r#"
resource "rhelazure_gallery" "g" {{
  name                = "{gallery}"
  resource_group_name = "{rg}"
  location            = "{location}"
  description         = "{description}"
}}

resource "rhelazure_gallery_image" "rhel9" {{
  name                = "rhel9"
  gallery_name        = rhelazure_gallery.g.name
  resource_group_name = "{rg}"
  location            = "{location}"
  identifier = {{
    publisher = "acceptance"
    offer     = "rhel"
    sku       = "9-gen2"
  }}
}}
"#
        )
    };
    let ws = target.workspace(tf, &config("first"));
    apply(&ws);
    ws.assert_no_changes();
    ws.write_config(&config("second"));
    assert_eq!(ws.planned_actions("rhelazure_gallery.g"), vec!["update"]);
    apply(&ws);

    let path = format!(
        "{}/providers/Microsoft.Compute/galleries/{gallery}?api-version=2023-07-03",
        target.resource_group_id()
    );
    let (s, b) = target.arm_settled(
        "PATCH",
        &path,
        Some(json!({ "properties": { "description": "changed elsewhere" } })),
    );
    assert!(s < 300, "{s} {b}");
    assert_eq!(ws.planned_actions("rhelazure_gallery.g"), vec!["update"]);
    apply(&ws);
    ws.assert_no_changes();

    let fresh = target.workspace(tf, &config("second"));
    let id = ws.values_of_type("rhelazure_gallery")["id"]
        .as_str()
        .unwrap()
        .to_string();
    fresh
        .run(&[
            "import",
            "-no-color",
            "-input=false",
            "rhelazure_gallery.g",
            &id,
        ])
        .ok();
    assert_eq!(fresh.planned_actions("rhelazure_gallery.g"), vec!["no-op"]);

    ws.run(&["destroy", "-auto-approve", "-no-color", "-input=false"])
        .ok();
    assert_eq!(
        target.services().arm("GET", &path, None).0,
        404,
        "the gallery is gone"
    );
}

fn host_config(target: &Target, name: &str, image: &str, extra: &str) -> String {
    format!(
        r#"
resource "rhelazure_atomic_host" "h" {{
  name                = "{name}"
  resource_group_name = "{rg}"
  location            = "{location}"
  subnet_id           = "{subnet}"
  size                = "Standard_B2s"
  ssh_public_keys     = ["{SSH_KEY}"]
  os_disk = {{ storage_account_type = "Standard_LRS" }}
  marketplace_image = {image}
  {extra}
}}
output "vm" {{ value = rhelazure_atomic_host.h.id }}
output "nic" {{ value = rhelazure_atomic_host.h.network_interface_id }}
output "disk" {{ value = rhelazure_atomic_host.h.os_disk_id }}
"#,
        rg = target.names.resource_group,
        location = target.names.location,
        subnet = target.subnet_id(),
    )
}

/// Runs `script` on the VM through ARM's Run Command (the v1 action), as an
/// operator would; returns the output text.
fn run_on(target: &Target, vm: &str, script: &str) -> String {
    let path = format!("{vm}/runCommand?api-version=2024-03-01");
    let body = json!({ "commandId": "RunShellScript", "script": [script] });
    let rest = target.services();
    let (s, b, headers) = rest.send_with_headers(
        "POST",
        &format!("{}{path}", rest.arm_endpoint()),
        Some(&rest.arm_access_token()),
        Some(body),
        &["azure-asyncoperation", "location"],
    );
    assert!(s < 300, "runCommand: {s} {b}");
    // The result (RunCommandResult) is the Location URL's final answer: 202
    // while the script runs. Without one, the status of the operation
    // carries it (`properties.output`).
    let (url, location_style) = match (headers.get("location"), headers.get("azure-asyncoperation"))
    {
        (Some(l), _) => (l.clone(), true),
        (None, Some(a)) => (a.clone(), false),
        (None, None) => return b.to_string(),
    };
    let mut answer = serde_json::Value::Null;
    rhelazure_acceptance_tests::eventually("Run Command finishes", target.patience.arm, || {
        let (s, b) = rest.send("GET", &url, Some(&rest.arm_access_token()), None);
        answer = b;
        s == 200 && (location_style || !matches!(answer["status"].as_str(), Some("InProgress")))
    });
    answer.to_string()
}

/// The ARM objects a host leaves are gone: VM, NIC, OS disk.
fn assert_host_gone(target: &Target, outputs: &serde_json::Value) {
    for (what, version) in [
        ("vm", "2024-03-01"),
        ("nic", "2024-01-01"),
        ("disk", "2023-10-02"),
    ] {
        let id = outputs[what]["value"].as_str().unwrap_or_default();
        assert!(!id.is_empty(), "no {what} output");
        let (s, _) = target
            .services()
            .arm("GET", &format!("{id}?api-version={version}"), None);
        assert_eq!(s, 404, "{what} {id} is gone after destroy");
    }
}

/// A pay-as-you-go host: create, nothing to change, tags drifted through
/// ARM planned back, destroy with its NIC and disk. On real accounts, RHUI
/// content is read back from the host.
fn payg_host(target: &Target, tf: &Terraform) {
    let name = target.names.name("payg");
    let image = r#"{ publisher = "RedHat", offer = "RHEL", sku = "9-lvm-gen2" }"#;
    let ws = target.workspace(
        tf,
        &host_config(target, &name, image, "tags = { purpose = \"acceptance\" }"),
    );
    apply(&ws);
    ws.assert_no_changes();
    let outputs = ws.run(&["output", "-json"]).ok().json();
    let vm = outputs["vm"]["value"].as_str().unwrap().to_string();

    let (s, b) = target.arm_settled(
        "PATCH",
        &format!("{vm}?api-version=2024-03-01"),
        Some(json!({ "tags": { "purpose": "changed elsewhere" } })),
    );
    assert!(s < 300, "{s} {b}");
    assert_eq!(
        ws.planned_actions("rhelazure_atomic_host.h"),
        vec!["update"]
    );
    apply(&ws);
    ws.assert_no_changes();

    if target.caps.real_services {
        // RHUI serves pay-as-you-go hosts: their repositories are RHUI's.
        let out = run_on(target, &vm, "dnf -q repolist");
        assert!(
            out.contains("rhui"),
            "RHUI repositories on a PAYG host: {out}"
        );
    }
    ws.run(&["destroy", "-auto-approve", "-no-color", "-input=false"])
        .ok();
    assert_host_gone(target, &outputs);
}

/// Bring-your-own-subscription: Cloud Access enrolment, the gold image's
/// terms accepted (checked through ARM: really purchasable), an activation
/// key, and a host from the gold image that registers on first boot; the
/// registration is read back from the host through Run Command.
fn byos_registered_host(target: &Target, tf: &Terraform) {
    let name = target.names.name("byos");
    let rh = target.services();
    let org = rh.redhat("GET", "/api/rhsm/v2/organization", None).1["body"]["id"]
        .as_str()
        .expect("the credentials' organization")
        .to_string();
    let (offer, plan) = ("rhel-byos", "rhel-lvm96-gen2");
    target.note_terms("redhat", offer, plan);
    let image = format!(r#"{{ publisher = "RedHat", offer = "{offer}", sku = "{plan}" }}"#);
    let extra = format!(
        r#"registration = {{
    organization   = {org}
    activation_key = rhelazure_activation_key.hosts.name
  }}
  marketplace_agreement_id = rhelazure_marketplace_agreement.gold.id
  depends_on = [rhelazure_cloud_access.this]"#
    );
    let config = format!(
        r#"
resource "rhelazure_cloud_access" "this" {{
  name = "{source}"
  timeouts {{ create = "4h" }}
}}

resource "rhelazure_marketplace_agreement" "gold" {{
  publisher  = "redhat"
  offer      = "{offer}"
  plan       = "{plan}"
  depends_on = [rhelazure_cloud_access.this]
}}

resource "rhelazure_activation_key" "hosts" {{
  name          = "{key}"
  service_level = "Self-Support"
  usage         = "Development/Test"
  role          = "Red Hat Enterprise Linux Server"
}}
{host}"#,
        source = target.names.name("source"),
        key = target.names.name("hosts"),
        host = host_config(target, &name, &image, &extra),
    );
    let ws = target.workspace(tf, &config);
    apply(&ws);
    ws.assert_no_changes();

    // The gold image is purchasable: its terms read back accepted.
    let sub = target.subscription_id();
    let (s, terms) = rh.arm(
        "GET",
        &rhelazure_acceptance_tests::sweep::agreement_path(&sub, "redhat", offer, plan),
        None,
    );
    assert_eq!(
        (s, &terms["properties"]["accepted"]),
        (200, &json!(true)),
        "{terms}"
    );

    let outputs = ws.run(&["output", "-json"]).ok().json();
    let vm = outputs["vm"]["value"].as_str().unwrap().to_string();
    let identity = run_on(target, &vm, "subscription-manager identity");
    assert!(
        identity.contains(&format!("org ID: {org}")),
        "registered with {org}: {identity}"
    );

    ws.run(&["destroy", "-auto-approve", "-no-color", "-input=false"])
        .ok();
    assert_host_gone(target, &outputs);
}

/// Red Hat's hosted Image Builder delivers a custom image into the run's
/// resource group as a managed image; destroy deletes it.
fn image_build(target: &Target, tf: &Terraform) {
    let image = target.names.name("img");
    let config = format!(
        r#"
resource "rhelazure_image_build" "b" {{
  distribution        = "rhel-9.6"
  image_name          = "{image}"
  resource_group_name = "{rg}"
  customizations = {{ packages = ["podman"] }}
  timeouts {{ create = "2h" }}
}}
output "image" {{ value = rhelazure_image_build.b.id }}
"#,
        rg = target.names.resource_group
    );
    let ws = target.workspace(tf, &config);
    apply(&ws);
    ws.assert_no_changes();
    let id = ws.run(&["output", "-json"]).ok().json()["image"]["value"]
        .as_str()
        .expect("the image id")
        .to_string();
    assert!(
        id.to_ascii_lowercase()
            .starts_with(&target.resource_group_id().to_ascii_lowercase()),
        "delivered into the run's resource group: {id}"
    );
    let path = format!("{id}?api-version=2024-03-01");
    assert_eq!(
        target.services().arm("GET", &path, None).0,
        200,
        "the image is in Azure"
    );
    ws.run(&["destroy", "-auto-approve", "-no-color", "-input=false"])
        .ok();
    assert_eq!(
        target.services().arm("GET", &path, None).0,
        404,
        "the image is gone"
    );
}
