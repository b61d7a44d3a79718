//! `rhelazure_image_build` through real Terraform against the local cloud:
//! a hosted Image Builder compose delivers a managed image into the resource
//! group; changes rebuild; import recovers the request; drift; the service's
//! failure reason (missing tenant authorization) surfaces with the fix.

use rhelazure_acceptance_tests::{terraform_with_query, terraforms, LocalCloud, Workspace};
use serde_json::json;

/// Sensitive in the schema: the suite's leak check looks for it everywhere.
const ACTIVATION_KEY: &str = "image-build-activation-key-5c1e";

fn config(name: &str, packages: &str) -> String {
    format!(
        r#"
provider "rhelazure" {{}}

resource "rhelazure_image_build" "img" {{
  distribution        = "rhel-9.6"
  image_name          = "{name}"
  resource_group_name = "rhel-demo"
  customizations = {{
    packages = [{packages}]
    users    = [{{ name = "ops", ssh_key = "ssh-ed25519 AAAAC3Nza ops@example", groups = ["wheel"] }}]
    subscription = {{
      organization   = 11009103
      activation_key = "{ACTIVATION_KEY}"
      insights       = true
    }}
  }}
}}
"#
    )
}

#[test]
fn image_build_lifecycle() {
    let cloud = LocalCloud::start();
    let sub = cloud.get("ARM_SUBSCRIPTION_ID");
    for tf in terraforms() {
        let name = format!("rhel96-{}", tf.version.replace('.', "-"));
        let image = format!("/subscriptions/{sub}/resourceGroups/rhel-demo/providers/Microsoft.Compute/images/{name}");
        let ws = Workspace::new(&tf, &config(&name, "\"podman\""))
            .cloud(&cloud)
            .secret(ACTIVATION_KEY);
        ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
        let (s, img) = cloud.arm("GET", &format!("{image}?api-version=2024-03-01"), None);
        assert_eq!(
            (s, img["properties"]["hyperVGeneration"].as_str()),
            (200, Some("V2")),
            "terraform {}",
            tf.version
        );
        ws.assert_no_changes();

        // Another package list is another image: replacement.
        ws.write_config(&config(&name, "\"podman\", \"tmux\""));
        assert_eq!(
            ws.planned_actions("rhelazure_image_build.img"),
            vec!["delete", "create"]
        );
        ws.write_config(&config(&name, "\"podman\""));

        // Import by the image id rebuilds the state from the compose request.
        let imp = Workspace::new(&tf, &config(&name, "\"podman\""))
            .cloud(&cloud)
            .secret(ACTIVATION_KEY);
        imp.run(&["import", "-no-color", "rhelazure_image_build.img", &image])
            .ok();
        imp.assert_no_changes();
        if tf.has_resource_identity() {
            imp.assert_imports_by_identity(
                &cloud,
                &config(&name, "\"podman\""),
                "rhelazure_image_build.img",
            );
        }

        // Deleted out of band: plans a new build.
        cloud.arm_settled("DELETE", &format!("{image}?api-version=2024-03-01"), None);
        assert_eq!(
            ws.planned_actions("rhelazure_image_build.img"),
            vec!["create"]
        );
        ws.run(&["apply", "-auto-approve", "-no-color"]).ok();

        ws.run(&["destroy", "-auto-approve", "-no-color"]).ok();
        assert_eq!(
            cloud
                .arm("GET", &format!("{image}?api-version=2024-03-01"), None)
                .0,
            404,
            "nothing left behind"
        );
    }
    cloud.assert_requests_in_spec();
}

#[test]
fn image_build_failure_reason_and_bad_input() {
    let cloud = LocalCloud::start();
    for tf in terraforms() {
        let bad = Workspace::new(
            &tf,
            &config("-bad-name", "\"podman\"").replace("rhel-9.6", "rhel-11"),
        )
        .cloud(&cloud)
        .secret(ACTIVATION_KEY);
        let r = bad.run(&["validate", "-no-color"]);
        assert_eq!(r.code, 1);
        assert!(
            r.all().contains("distribution must be one of")
                && r.all().contains("\"rhel-9.6\"")
                && r.all().contains("\"rhel-95\""),
            "the spec's distributions: {}",
            r.all()
        );
        assert!(
            r.all().contains("image_name must be 1-60 letters"),
            "{}",
            r.all()
        );
        // Image Builder refuses a user without a password or a key: so
        // does validation (a configuration without the secret, since
        // Terraform quotes the configuration's lines).
        let keyless = Workspace::new(
            &tf,
            "resource \"rhelazure_image_build\" \"img\" {\n  distribution = \"rhel-9.6\"\n  image_name = \"keyless\"\n  resource_group_name = \"rhel-demo\"\n  customizations = {\n    users = [{ name = \"ops\" }]\n  }\n}\n",
        )
        .cloud(&cloud);
        let r = keyless.run(&["validate", "-no-color"]);
        assert!(
            r.code == 1 && r.all().contains("\"ssh_key\" is required"),
            "{}",
            r.all()
        );
    }
    cloud.control(
        "PUT",
        "image-builder",
        json!({ "tenant_id": cloud.get("ARM_TENANT_ID"), "authorized": false }),
    );
    for tf in terraforms() {
        let ws = Workspace::new(
            &tf,
            &config(
                &format!("denied-{}", tf.version.replace('.', "-")),
                "\"podman\"",
            ),
        )
        .cloud(&cloud)
        .secret(ACTIVATION_KEY);
        let r = ws.run(&["apply", "-auto-approve", "-no-color"]);
        assert_eq!(r.code, 1);
        let all = r.all();
        assert!(
            all.contains("Red Hat Image Builder is not authorized"),
            "the service's reason verbatim: {all}"
        );
        assert!(
            all.contains("Contributor role on the resource group")
                && all.contains("az ad sp create --id b94bb246-b02c-4985-9c22-d44e66f657f4"),
            "the fix: {all}"
        );
        assert!(
            !all.contains(ACTIVATION_KEY),
            "the activation key is not echoed"
        );
    }
}

/// A re-run's create that finds the image of an interrupted create's compose
/// while that compose still reads `registering` (Image Builder makes the
/// image in Azure, then reports the compose done) waits for the compose and
/// adopts the image: one compose, no "Image already exists". The local cloud
/// holds the compose in `registering` until the provider has read it twice
/// (once to find it, once waiting), so the interleaving is not left to timing.
#[test]
fn an_image_whose_compose_still_registers_is_adopted() {
    let cloud = LocalCloud::start();
    let tf = terraforms().into_iter().next().expect("a Terraform");
    let sub = cloud.get("ARM_SUBSCRIPTION_ID");
    let image = format!("/subscriptions/{sub}/resourceGroups/rhel-demo/providers/Microsoft.Compute/images/adopt-target?api-version=2024-03-01");

    // The earlier create's compose: the request the provider sends, made
    // by an apply of the same configuration under another image name.
    let source = Workspace::new(&tf, &config("adopt-source", "\"podman\""))
        .cloud(&cloud)
        .secret(ACTIVATION_KEY);
    source.run(&["apply", "-auto-approve", "-no-color"]).ok();
    let source_id = source.values_of_type("rhelazure_image_build")["compose_id"]
        .as_str()
        .expect("a compose id in state")
        .to_string();
    let (s, made) = cloud.redhat(
        "GET",
        &format!("/api/image-builder/v1/composes/{source_id}"),
        None,
    );
    assert_eq!(s, 200, "{made}");
    let mut request = made["request"].clone();
    request["image_requests"][0]["upload_request"]["options"]["image_name"] = json!("adopt-target");
    cloud.configure(json!({ "compose_registering_ms": 600_000 }));
    let (s, started) = cloud.redhat("POST", "/api/image-builder/v1/compose", Some(request));
    assert_eq!(s, 201, "{started}");
    let id = started["id"].as_str().expect("a compose id").to_string();
    let status_path = format!("/api/image-builder/v1/composes/{id}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let (_, st) = cloud.redhat("GET", &status_path, None);
        if st["image_status"]["status"] == "registering" && cloud.arm("GET", &image, None).0 == 200
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never registering with its image in ARM: {st}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let reads = || {
        cloud
            .request_log()
            .iter()
            .filter(|r| {
                r["method"] == "GET"
                    && r["path"]
                        .as_str()
                        .is_some_and(|p| p.ends_with(&status_path))
            })
            .count()
    };
    let before = reads();

    let ws = Workspace::new(&tf, &config("adopt-target", "\"podman\""))
        .cloud(&cloud)
        .secret(ACTIVATION_KEY);
    let applied = std::thread::scope(|scope| {
        let apply = scope.spawn(|| ws.run(&["apply", "-auto-approve", "-no-color"]));
        let waited_until = std::time::Instant::now() + std::time::Duration::from_secs(120);
        while reads() < before + 2
            && !apply.is_finished()
            && std::time::Instant::now() < waited_until
        {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        // The provider is waiting on a compose it read as registering: let
        // the compose finish (also when it never got there, so the apply
        // ends and the assertions below say what went wrong).
        cloud.configure(json!({ "compose_registering_ms": 0 }));
        apply.join().expect("the apply thread")
    });
    applied.ok();
    assert!(
        reads() >= before + 2,
        "the provider read the registering compose and waited"
    );
    assert_eq!(
        ws.values_of_type("rhelazure_image_build")["compose_id"],
        json!(id),
        "the running compose's image is adopted"
    );
    let (_, composes) = cloud.redhat("GET", "/api/image-builder/v1/composes", None);
    let for_target = composes["data"]
        .as_array()
        .expect("a list")
        .iter()
        .filter(|c| {
            c["request"]["image_requests"][0]["upload_request"]["options"]["image_name"]
                == "adopt-target"
        })
        .count();
    assert_eq!(for_target, 1, "no second build: {composes}");
    ws.assert_no_changes();
    ws.run(&["destroy", "-auto-approve", "-no-color"]).ok();
    source.run(&["destroy", "-auto-approve", "-no-color"]).ok();
    assert_eq!(cloud.arm("GET", &image, None).0, 404, "nothing left behind");
}

/// Distributions as Image Builder's spec spells them (`rhel-95`, not
/// `rhel-9.5`), and at plan time only those the account may build: the local
/// cloud offers `rhel-95` but not `rhel-94`, which the spec also defines.
#[test]
fn distributions_follow_the_spec_and_the_account() {
    let cloud = LocalCloud::start();
    let tf = terraforms().remove(0);
    let with = |d: &str| {
        Workspace::new(
            &tf,
            &config("dist-check", "\"podman\"").replace("rhel-9.6", d),
        )
        .cloud(&cloud)
        .secret(ACTIVATION_KEY)
    };
    let dotted = with("rhel-9.5").run(&["validate", "-no-color"]);
    assert_eq!(
        dotted.code,
        1,
        "rhel-9.5 is not in the spec: {}",
        dotted.all()
    );
    assert!(
        dotted.all().contains("distribution must be one of"),
        "{}",
        dotted.all()
    );

    let old_minor = with("rhel-95");
    old_minor.run(&["validate", "-no-color"]).ok();
    assert_eq!(
        old_minor.planned_actions("rhelazure_image_build.img"),
        vec!["create"],
        "rhel-95 is the spec's spelling and offered"
    );

    let not_offered = with("rhel-94");
    not_offered.run(&["validate", "-no-color"]).ok();
    let plan = not_offered.run(&["plan", "-no-color"]);
    assert_eq!(plan.code, 1);
    assert!(
        plan.all().contains("Distribution not offered")
            && plan
                .all()
                .contains("does not build rhel-94 for this account")
            && plan.all().contains("rhel-9.6"),
        "{}",
        plan.all()
    );
}

/// Terraform 1.14+: an image Image Builder delivered for another team is
/// listed by `terraform query` (with its compose) and adopted through the
/// generated configuration; images it did not make are not listed.
#[test]
fn image_builds_are_listed_and_adopted() {
    let Some(tf) = terraform_with_query() else {
        return eprintln!("skipped: no Terraform 1.14+ to run terraform query");
    };
    let cloud = LocalCloud::start();
    let sub = cloud.get("ARM_SUBSCRIPTION_ID");
    let other = Workspace::new(&tf, &config("listed-build", "\"podman\""))
        .cloud(&cloud)
        .secret(ACTIVATION_KEY);
    other.run(&["apply", "-auto-approve", "-no-color"]).ok();
    // A managed image made without Image Builder: not a build.
    let plain = format!("/subscriptions/{sub}/resourceGroups/rhel-demo/providers/Microsoft.Compute/images/plain-img");
    let (s, b) = cloud.managed_image(&plain);
    assert!(s < 300, "{b}");
    let ws = Workspace::new(&tf, "provider \"rhelazure\" {}\n")
        .cloud(&cloud)
        .secret(ACTIVATION_KEY);
    ws.write_query("builds", "list \"rhelazure_image_build\" \"demo\" {\n  provider = rhelazure\n  config {\n    resource_group_name = \"rhel-demo\"\n  }\n}\n\nlist \"rhelazure_image\" \"demo\" {\n  provider = rhelazure\n  config {\n    resource_group_name = \"rhel-demo\"\n  }\n}\n");
    let r = ws.query();
    let lines = |list: &str| r.listed(&format!("{list}.demo"));
    assert_eq!(lines("rhelazure_image_build").len(), 1, "{}", r.stdout);
    assert!(
        lines("rhelazure_image_build")[0].contains("listed-build (rhel-demo): compose "),
        "{}",
        r.stdout
    );
    assert!(
        lines("rhelazure_image")
            .iter()
            .any(|l| l.contains("plain-img (rhel-demo): managed image, Hyper-V V2")),
        "{}",
        r.stdout
    );
    assert!(
        !lines("rhelazure_image")
            .iter()
            .any(|l| l.contains("listed-build")),
        "{}",
        r.stdout
    );
    ws.write_query("builds", "list \"rhelazure_image_build\" \"demo\" {\n  provider = rhelazure\n  config {\n    resource_group_name = \"rhel-demo\"\n  }\n}\n");
    let generated = ws.generate_config();
    // Terraform writes sensitive values as null for the user to fill in;
    // with the key given, the import changes nothing.
    let line = generated
        .lines()
        .find(|l| l.contains("activation_key"))
        .unwrap_or_else(|| panic!("the key's place is generated:\n{generated}"));
    assert!(
        line.contains("null") && line.contains("sensitive"),
        "{line}"
    );
    let filled = generated.replace(
        line,
        &format!("      activation_key = \"{ACTIVATION_KEY}\""),
    );
    std::fs::write(ws.path().join("generated.tf"), &filled).unwrap();
    let r = ws.run(&["plan", "-no-color"]);
    r.ok();
    assert!(
        r.stdout
            .contains("1 to import, 0 to add, 0 to change, 0 to destroy"),
        "{}\n{generated}",
        r.stdout
    );

    // The plain image, adopted as a rhelazure_image.
    let images = Workspace::new(&tf, "provider \"rhelazure\" {}\n").cloud(&cloud);
    images.write_query("images", "list \"rhelazure_image\" \"demo\" {\n  provider = rhelazure\n  config {\n    resource_group_name = \"rhel-demo\"\n  }\n}\n");
    let generated = images.generate_config();
    assert!(generated.contains("plain-img"), "{generated}");
    let r = images.run(&["apply", "-auto-approve", "-no-color"]);
    r.ok();
    assert!(
        r.stdout
            .contains("imported, 0 added, 0 changed, 0 destroyed"),
        "{}\n{generated}",
        r.stdout
    );
    images.assert_no_changes();
    other.run(&["destroy", "-auto-approve", "-no-color"]).ok();
}

/// A build published to a gallery: the compose's managed image becomes a
/// replicated gallery image version and is deleted; a Trusted Launch host
/// boots the version; import by the version id reads the build back; a
/// definition of another generation is refused at plan; destroy leaves
/// nothing.
#[test]
fn image_build_published_to_a_gallery() {
    let cloud = LocalCloud::start();
    let tf = terraforms().into_iter().next().expect("a Terraform");
    let sub = cloud.get("ARM_SUBSCRIPTION_ID");
    let rg = format!("/subscriptions/{sub}/resourceGroups/rhel-demo");
    let config = |generation: &str| {
        format!(
            r#"
resource "rhelazure_gallery" "g" {{
  name                = "builds"
  resource_group_name = "rhel-demo"
  location            = "eastus"
}}

resource "rhelazure_gallery_image" "def" {{
  name                = "rhel9-{generation}"
  gallery_name        = rhelazure_gallery.g.name
  resource_group_name = "rhel-demo"
  location            = "eastus"
  hyper_v_generation  = "{generation}"
  security_type       = {security}
  identifier = {{
    publisher = "contoso"
    offer     = "rhel"
    sku       = "9-{generation}"
  }}
}}

resource "rhelazure_image_build" "b" {{
  distribution        = "rhel-9.6"
  image_name          = "published-{generation}"
  resource_group_name = "rhel-demo"
  customizations      = {{ packages = ["podman"] }}
  gallery = {{
    gallery_name   = rhelazure_gallery.g.name
    image_name     = rhelazure_gallery_image.def.name
    version        = "1.0.0"
    target_regions = ["eastus", "westus"]
  }}
}}

resource "rhelazure_atomic_host" "h" {{
  name                = "published-{generation}"
  resource_group_name = "rhel-demo"
  location            = "eastus"
  subnet_id           = "{rg}/providers/Microsoft.Network/virtualNetworks/rhel-demo-vnet/subnets/hosts"
  size                = "Standard_D2s_v5"
  ssh_public_keys     = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPublishedKey ops@example"]
  source_image_id     = rhelazure_image_build.b.gallery_image_version_id
}}
"#,
            security = if generation == "V2" {
                "\"TrustedLaunchSupported\""
            } else {
                "null"
            }
        )
    };
    let ws = Workspace::new(&tf, &config("V2")).cloud(&cloud);
    ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
    ws.assert_no_changes();
    let version =
        format!("{rg}/providers/Microsoft.Compute/galleries/builds/images/rhel9-V2/versions/1.0.0");
    let image = format!("{rg}/providers/Microsoft.Compute/images/published-V2");
    let build = ws
        .state_resources()
        .into_iter()
        .find(|r| r["type"] == "rhelazure_image_build")
        .expect("the build in state")["values"]
        .clone();
    assert_eq!(build["gallery_image_version_id"], json!(version), "{build}");
    assert_eq!(build["id"], json!(image));
    let (s, v) = cloud.arm("GET", &format!("{version}?api-version=2023-07-03"), None);
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["properties"]["storageProfile"]["source"]["id"],
        json!(image),
        "{v}"
    );
    let regions: Vec<&str> = v["properties"]["publishingProfile"]["targetRegions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(regions, ["eastus", "westus"]);
    assert!(v["tags"]["compose-id"].is_string(), "{v}");
    assert_eq!(
        cloud
            .arm("GET", &format!("{image}?api-version=2024-03-01"), None)
            .0,
        404,
        "the intermediate managed image is deleted"
    );
    let (_, vm) = cloud.arm(
        "GET",
        &format!(
            "{rg}/providers/Microsoft.Compute/virtualMachines/published-V2?api-version=2024-03-01"
        ),
        None,
    );
    assert_eq!(
        vm["properties"]["securityProfile"]["securityType"], "TrustedLaunch",
        "{vm}"
    );

    // Import by the version id reads the same build back; so does import
    // by the (deleted) managed image's id, which identity-based import
    // uses: the version made from it is found.
    for import_id in [&version, &image] {
        ws.run(&["state", "rm", "-no-color", "rhelazure_image_build.b"])
            .ok();
        ws.run(&["import", "-no-color", "rhelazure_image_build.b", import_id])
            .ok();
        ws.assert_no_changes();
    }

    // A definition of the other generation (made by another tool): refused
    // at plan, before any compose.
    let gen1 = format!("{rg}/providers/Microsoft.Compute/galleries/builds/images/rhel9-gen1?api-version=2023-07-03");
    let (s, b) = cloud.arm_settled(
        "PUT",
        &gen1,
        Some(json!({ "location": "eastus", "properties": { "osType": "Linux", "osState": "Generalized", "hyperVGeneration": "V1", "identifier": { "publisher": "contoso", "offer": "rhel", "sku": "9-gen1" } } })),
    );
    assert!(s < 300, "{b}");
    let mismatch = Workspace::new(
        &tf,
        r#"
resource "rhelazure_image_build" "b" {
  distribution        = "rhel-9.6"
  image_name          = "published-mismatch"
  resource_group_name = "rhel-demo"
  gallery = {
    gallery_name = "builds"
    image_name   = "rhel9-gen1"
    version      = "1.0.0"
  }
}
"#,
    )
    .cloud(&cloud);
    let r = mismatch.run(&["plan", "-no-color"]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        r.all()
            .contains("is Hyper-V generation V1, but this build makes V2")
            && r.all().contains("image_name"),
        "{}",
        r.all()
    );
    cloud.arm_settled("DELETE", &gen1, None);
    ws.run(&["destroy", "-auto-approve", "-no-color"]).ok();
    assert_eq!(
        cloud
            .arm("GET", &format!("{version}?api-version=2023-07-03"), None)
            .0,
        404
    );
    assert_eq!(
        cloud
            .arm("GET", &format!("{image}?api-version=2024-03-01"), None)
            .0,
        404
    );
}
