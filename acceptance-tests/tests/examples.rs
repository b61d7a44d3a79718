//! The configurations under `examples/` are applied, re-planned and destroyed
//! here against the local cloud, exactly as a user copies them, so they never
//! rot. Each must leave the clouds as it found them.

use rhelazure_acceptance_tests::{terraforms, LocalCloud, Workspace};
use serde_json::{json, Value};

/// What a configuration can leave behind in the emulator: ARM resources and
/// resource groups, accepted terms, Cloud Access enrolment, RHSM keys and
/// Sources objects. (Compose history and RP registrations stay, as at Red Hat
/// and Azure.)
fn footprint(cloud: &LocalCloud) -> Value {
    let state = cloud.state();
    let keys = |v: &Value| -> Vec<String> {
        v.as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    };
    let subs: Vec<Value> = state["subscriptions"]
        .as_object()
        .unwrap()
        .values()
        .map(|s| {
            let accepted: Vec<&String> = s["agreements"]
                .as_object()
                .unwrap()
                .iter()
                .filter(|(_, a)| a["accepted"] == json!(true))
                .map(|(k, _)| k)
                .collect();
            json!({
                "resources": keys(&s["resources"]),
                "resource_groups": keys(&s["resource_groups"]),
                "accepted_terms": accepted,
                "cloud_access": s["cloud_access"],
            })
        })
        .collect();
    json!({
        "subscriptions": subs,
        "activation_keys": keys(&state["activation_keys"]),
        "sources": keys(&state["sources"]),
        "applications": keys(&state["applications"]),
        "authentications": keys(&state["authentications"]),
    })
}

/// apply, an empty plan, `edit` on the applied workspace, destroy, nothing
/// left behind; returns the outputs of the first apply.
fn apply_edit_and_destroy(
    cloud: &LocalCloud,
    ws: &Workspace,
    before: &Value,
    edit: impl FnOnce(&Workspace),
) -> Value {
    ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
    ws.assert_no_changes();
    let out = ws.run(&["output", "-json"]).ok().json();
    assert_ne!(&footprint(cloud), before, "the example created something");
    edit(ws);
    ws.run(&["destroy", "-auto-approve", "-no-color"]).ok();
    assert_eq!(&footprint(cloud), before, "destroy left nothing behind");
    out
}

/// Every change a plan holds to managed resources, as "address: actions",
/// no-ops left out. (Data sources that depend on a resource with a change
/// planned are read during apply, by Terraform's rule; they change nothing.)
fn changes(ws: &Workspace) -> Vec<String> {
    let plan = ws.plan_json();
    plan["resource_changes"]
        .as_array()
        .map(|rc| {
            rc.iter()
                .filter(|c| c["mode"] == "managed" && c["change"]["actions"] != json!(["no-op"]))
                .map(|c| {
                    format!(
                        "{}: {}",
                        c["address"].as_str().unwrap(),
                        c["change"]["actions"]
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Adds a `timeouts` block to every `rhelazure_*` resource of `main.tf` (none
/// may have one), plans, and requires exactly one in-place update per
/// resource and nothing else: computed values an update does not change keep
/// their state value, so nothing that depends on them is replaced. Applies it
/// and requires an empty plan after.
fn a_timeouts_edit_updates_only_in_place(ws: &Workspace, version: &str) {
    let path = ws.path().join("main.tf");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut expected = Vec::new();
    let mut edited = String::new();
    for line in text.lines() {
        edited.push_str(line);
        edited.push('\n');
        let words: Vec<&str> = line.split('"').collect();
        if line.starts_with("resource \"rhelazure_") && words.len() >= 4 {
            edited.push_str("  timeouts {\n    create = \"2h\"\n  }\n");
            expected.push(format!("{}.{}: [\"update\"]", words[1], words[3]));
        }
    }
    std::fs::write(&path, edited).unwrap();
    let mut planned = changes(ws);
    // count / for_each instances plan one update each: compare by resource.
    planned = planned
        .into_iter()
        .map(|c| {
            let (addr, actions) = c.split_once(": ").unwrap();
            format!("{}: {actions}", addr.split('[').next().unwrap())
        })
        .collect();
    planned.dedup();
    expected.sort();
    planned.sort();
    assert_eq!(planned, expected, "terraform {version}: a timeouts edit");
    ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
    ws.assert_no_changes();
}

/// Edits `main.tf` of the workspace: `from` (which must be there) becomes `to`.
fn edit_main_tf(ws: &Workspace, from: &str, to: &str) {
    let path = ws.path().join("main.tf");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "main.tf has {from:?}");
    std::fs::write(&path, text.replace(from, to)).unwrap();
}

#[test]
fn quickstart() {
    let cloud = LocalCloud::start();
    let before = footprint(&cloud);
    for tf in terraforms() {
        let ws = Workspace::from_example(&tf, "quickstart")
            .cloud(&cloud)
            .env(
                "TF_VAR_ssh_public_key",
                "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIQuickstartKey ops@example",
            );
        // Renaming the enrolment plans that one update: the agreement and
        // the host stay as they are.
        let out = apply_edit_and_destroy(&cloud, &ws, &before, |ws| {
            edit_main_tf(
                ws,
                "name = \"${var.name_prefix}-subscription\"",
                "name = \"${var.name_prefix}-enrolment\"",
            );
            assert_eq!(
                changes(ws),
                vec!["rhelazure_cloud_access.this: [\"update\"]".to_string()],
                "terraform {}: a rename",
                tf.version
            );
            ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
            ws.assert_no_changes();
            // Cloud Access, terms, activation key, Image Builder build, host.
            a_timeouts_edit_updates_only_in_place(ws, &tf.version);
        });
        let s = &out["summary"]["value"];
        assert_eq!(
            s["byos_gold_image"], "RedHat:rhel-byos:rhel-lvm96-gen2:9.6.2025052113",
            "terraform {}",
            tf.version
        );
        assert!(s["payg_image"]
            .as_str()
            .unwrap()
            .starts_with("RedHat:RHEL:9-"));
        assert!(s["built_image"]
            .as_str()
            .unwrap()
            .ends_with("/images/quickstart-rhel96-podman"));
        assert_eq!(out["payg_sku_for_sap"]["value"], "96sapha-gen2");
        assert!(
            s["host"].as_str().unwrap().contains("running web"),
            "{}",
            s["host"]
        );
    }
    cloud.assert_requests_in_spec();
}

#[test]
fn byos_gold_image() {
    let cloud = LocalCloud::start();
    let before = footprint(&cloud);
    for tf in terraforms() {
        let ws = Workspace::from_example(&tf, "byos-gold-image").cloud(&cloud);
        // A timeouts edit, then a rename (documented as in place), of the
        // enrolment: each plans that one update and nothing else (no
        // agreement replaced, which would cancel the terms).
        let out = apply_edit_and_destroy(&cloud, &ws, &before, |ws| {
            let only_the_enrolment = vec!["rhelazure_cloud_access.this: [\"update\"]".to_string()];
            edit_main_tf(ws, "create = \"3h\"", "create = \"4h\"");
            assert_eq!(
                changes(ws),
                only_the_enrolment,
                "terraform {}: a timeouts edit",
                tf.version
            );
            ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
            ws.assert_no_changes();
            edit_main_tf(
                ws,
                "name = \"${var.name_prefix}-subscription\"",
                "name = \"${var.name_prefix}-renamed\"",
            );
            assert_eq!(
                changes(ws),
                only_the_enrolment,
                "terraform {}: a rename",
                tf.version
            );
            ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
            ws.assert_no_changes();
        });
        let gold = &out["gold_images"]["value"];
        assert_eq!(
            gold["9.6"]["urn"], "RedHat:rhel-byos:rhel-lvm96-gen2:9.6.2025052113",
            "terraform {}",
            tf.version
        );
        assert_eq!(gold["9.6"]["plan"]["product"], "rhel-byos");
        assert!(gold["10"]["urn"]
            .as_str()
            .unwrap()
            .starts_with("RedHat:rhel-byos:"));
        assert_eq!(out["activation_key"]["value"], "byos-hosts");
    }
    cloud.assert_requests_in_spec();
}

#[test]
fn image_from_vhd() {
    let cloud = LocalCloud::start();
    // The example takes an existing storage account, as users bring theirs.
    let account = format!(
        "/subscriptions/{}/resourceGroups/rhel-demo/providers/Microsoft.Storage/storageAccounts/examplevhds",
        cloud.get("ARM_SUBSCRIPTION_ID")
    );
    let (s, _) = cloud.arm_settled(
        "PUT",
        &format!("{account}?api-version=2023-05-01"),
        Some(
            json!({ "location": "eastus", "sku": { "name": "Standard_LRS" }, "kind": "StorageV2" }),
        ),
    );
    assert_eq!(s, 202);
    let before = footprint(&cloud);
    for tf in terraforms() {
        let ws = Workspace::from_example(&tf, "image-from-vhd")
            .cloud(&cloud)
            .env("TF_VAR_storage_account_id", &account);
        let out = apply_edit_and_destroy(&cloud, &ws, &before, |ws| {
            a_timeouts_edit_updates_only_in_place(ws, &tf.version)
        });
        let up = &out["upload"]["value"];
        // 4 MiB of data plus the 512-byte footer went; the other 60 MiB were zeros.
        assert_eq!(
            up["uploaded_bytes"],
            4 * 1024 * 1024 + 512,
            "terraform {}",
            tf.version
        );
        assert_eq!(up["skipped_zero_bytes"], 60 * 1024 * 1024);
        assert!(
            !ws.path().join("disk.raw").exists(),
            "the example removed its disk"
        );
    }
    cloud.assert_requests_in_spec();
}

#[test]
fn atomic_fleet() {
    let cloud = LocalCloud::start();
    let before = footprint(&cloud);
    for tf in terraforms() {
        let ws = Workspace::from_example(&tf, "atomic-fleet")
            .cloud(&cloud)
            .env("TF_VAR_redhat_organization", "11009103")
            .env(
                "TF_VAR_ssh_public_key",
                "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleFleetKey ops@example",
            );
        // A size change after apply is an in-place update of every host.
        ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
        let plan = {
            ws.run(&[
                "plan",
                "-out=tf.plan",
                "-no-color",
                "-var",
                "host_size=Standard_B2ms",
            ])
            .ok();
            ws.run(&["show", "-json", "tf.plan"]).ok().json()
        };
        let hosts: Vec<&Value> = plan["resource_changes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["type"] == "rhelazure_atomic_host")
            .collect();
        assert_eq!(hosts.len(), 3, "terraform {}", tf.version);
        for h in hosts {
            assert_eq!(
                h["change"]["actions"],
                json!(["update"]),
                "{}",
                h["address"]
            );
        }
        // Renaming the enrolment plans that one update: no host is replaced.
        let out = apply_edit_and_destroy(&cloud, &ws, &before, |ws| {
            edit_main_tf(
                ws,
                "resource \"rhelazure_cloud_access\" \"fleet\" {\n  name = \"atomic-fleet\"",
                "resource \"rhelazure_cloud_access\" \"fleet\" {\n  name = \"atomic-fleet-enrolment\"",
            );
            assert_eq!(
                changes(ws),
                vec!["rhelazure_cloud_access.fleet: [\"update\"]".to_string()],
                "terraform {}: a rename",
                tf.version
            );
        });
        let ips = out["hosts"]["value"].as_object().unwrap();
        assert_eq!(ips.len(), 3);
        assert!(ips
            .values()
            .all(|ip| ip.as_str().unwrap().starts_with("10.42.1.")));
    }
    cloud.assert_requests_in_spec();
}

/// The snippets the registry docs show (`examples/provider`, `resources`,
/// `data-sources`, `ephemeral-resources`, `functions`, and on Terraform
/// 1.14+ `actions` and `list-resources`: tfplugindocs' layout),
/// all in one module, pass `terraform validate` with every Terraform: they
/// use the schemas' attribute names and syntax, and reference each other
/// correctly. Their references to azurerm resources (the provider cannot be
/// installed offline) become ARM id strings of the same kind, and the
/// reader's SSH key file a key.
#[test]
fn registry_doc_snippets_validate() {
    let mut snippets = Vec::new();
    for kind in [
        "provider",
        "resources",
        "data-sources",
        "ephemeral-resources",
        "functions",
    ] {
        let dir = rhelazure_acceptance_tests::repo_root()
            .join("examples")
            .join(kind);
        let mut stack = vec![dir];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).unwrap().flatten() {
                let p = entry.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|e| e == "tf") {
                    snippets.push(p);
                }
            }
        }
    }
    snippets.sort();
    assert!(snippets.len() >= 15, "{snippets:?}");
    let config: String = snippets
        .iter()
        .map(|p| {
            format!(
                "# {}\n{}\n",
                p.display(),
                std::fs::read_to_string(p).unwrap()
            )
        })
        .collect();
    let arm_id = |provider: &str, kind: &str| {
        format!("\"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/{provider}/{kind}/x\"")
    };
    let mut config = config;
    for (reference, provider, kind) in [
        (
            "azurerm_subnet.hosts.id",
            "Microsoft.Network",
            "virtualNetworks/v/subnets",
        ),
        (
            "azurerm_storage_account.images.id",
            "Microsoft.Storage",
            "storageAccounts",
        ),
        (
            "azurerm_linux_virtual_machine.app.id",
            "Microsoft.Compute",
            "virtualMachines",
        ),
    ] {
        config = config.replace(reference, &arm_id(provider, kind));
    }
    assert!(
        !config.contains("azurerm_"),
        "an azurerm reference this test does not know"
    );
    // The reader's own SSH key, which this machine does not have.
    config = config.replace(
        "file(\"~/.ssh/id_ed25519.pub\")",
        "\"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAISnippetKey ops@example\"",
    );
    // Action snippets (`examples/actions/`) need Terraform 1.14's `action` blocks.
    let actions: String = ["rhelazure_host_update", "rhelazure_host_register"]
        .iter()
        .map(|a| {
            let p = rhelazure_acceptance_tests::repo_root()
                .join(format!("examples/actions/{a}/action.tf"));
            std::fs::read_to_string(p).unwrap()
        })
        .collect::<String>()
        .replace(
            "azurerm_linux_virtual_machine.app.id",
            &arm_id("Microsoft.Compute", "virtualMachines"),
        );
    for tf in terraforms() {
        let all = if tf.at_least(1, 14) {
            format!("{config}\n{actions}")
        } else {
            config.clone()
        };
        let ws = Workspace::new(&tf, &all);
        let mut args = vec!["validate", "-no-color"];
        if tf.at_least(1, 14) {
            // The list-resource snippets, as query files.
            let dir = rhelazure_acceptance_tests::repo_root().join("examples/list-resources");
            for entry in std::fs::read_dir(dir).unwrap().flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let snippet = entry.path().join("list-resource.tfquery.hcl");
                std::fs::copy(snippet, ws.path().join(format!("{name}.tfquery.hcl"))).unwrap();
            }
            args.push("-query");
        }
        let r = ws.run(&args);
        assert_eq!(r.code, 0, "terraform {}: {}", tf.version, r.all());
    }
}

/// Stops the local cloud a README's commands started, also when they failed
/// halfway (tests leave no process behind).
struct StopsLocalCloud(std::path::PathBuf);

impl Drop for StopsLocalCloud {
    fn drop(&mut self) {
        let _ = std::process::Command::new(
            rhelazure_acceptance_tests::repo_root().join("scripts/local-cloud.sh"),
        )
        .arg("stop")
        .arg(&self.0)
        .status();
    }
}

/// Runs the "Try it against the local cloud" block of `examples/<name>/README.md`
/// literally, with bash, from a scratch copy of the repository root (the
/// repository's `scripts/` and `modules/`, and this example), so the README cannot drift
/// from what works. `make test` has built everything the block needs.
fn readme_commands_work_as_written(name: &str) {
    use std::process::Command;
    let repo = rhelazure_acceptance_tests::repo_root();
    let readme =
        std::fs::read_to_string(repo.join("examples").join(name).join("README.md")).unwrap();
    let section = readme
        .split("## Try it against the local cloud")
        .nth(1)
        .expect("the README has a local-cloud section");
    let block = section
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("\n```").next())
        .expect("an sh block");
    let root = tempfile::tempdir().unwrap();
    // The repository's scripts, and its modules (examples use them by path).
    for dir in ["scripts", "modules"] {
        std::os::unix::fs::symlink(repo.join(dir), root.path().join(dir)).unwrap();
    }
    let dest = root.path().join("examples").join(name);
    std::fs::create_dir_all(&dest).unwrap();
    for entry in std::fs::read_dir(repo.join("examples").join(name))
        .unwrap()
        .flatten()
    {
        if entry.path().is_file() {
            std::fs::copy(entry.path(), dest.join(entry.file_name())).unwrap();
        }
    }
    let _stop = StopsLocalCloud(root.path().join(".tools/try"));
    // `terraform` in the block is the first Terraform the suite tests with.
    let bin = root.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(&terraforms()[0].path, bin.join("terraform")).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // Its own process group, so that a hang (past the suite's command
    // deadline) is killed with everything it started.
    use std::os::unix::process::CommandExt as _;
    let log = root.path().join("readme-run.log");
    let mut child = Command::new("bash")
        .args(["-e", "-u", "-o", "pipefail", "-c", block])
        .current_dir(root.path())
        .env("PATH", path)
        .env("CHECKPOINT_DISABLE", "1")
        .env("TF_IN_AUTOMATION", "1")
        .env_remove("TF_CLI_CONFIG_FILE")
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(std::fs::File::options().append(true).open(&log).unwrap())
        .process_group(0)
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > rhelazure_acceptance_tests::COMMAND_DEADLINE {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    assert!(
        status.is_some_and(|s| s.success()),
        "examples/{name}/README.md, as written ({}):\n{block}\n--- output\n{}",
        if status.is_none() {
            "killed: it hung"
        } else {
            "failed"
        },
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    assert!(
        !dest.join("terraform.tfstate").exists()
            || std::fs::read_to_string(dest.join("terraform.tfstate"))
                .unwrap()
                .contains("\"resources\": []"),
        "the README's destroy left resources in state"
    );
}

#[test]
fn readme_quickstart() {
    readme_commands_work_as_written("quickstart");
}

#[test]
fn readme_byos_gold_image() {
    readme_commands_work_as_written("byos-gold-image");
}

#[test]
fn readme_image_from_vhd() {
    readme_commands_work_as_written("image-from-vhd");
}

#[test]
fn readme_atomic_fleet() {
    readme_commands_work_as_written("atomic-fleet");
}

#[test]
fn readme_golden_image_pipeline() {
    readme_commands_work_as_written("golden-image-pipeline");
}
