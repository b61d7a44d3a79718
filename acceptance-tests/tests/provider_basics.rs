//! The provider through real Terraform, with no cloud needed: schema, provider
//! block validation, the URN functions in plan and apply, and secret hygiene
//! in Terraform's own trace log. Runs once per Terraform version available.

use rhelazure_acceptance_tests::{terraforms, Workspace, PROVIDER_ADDRESS};

const FUNCTIONS_CONFIG: &str = r#"
provider "rhelazure" {}

locals {
  parts = provider::rhelazure::parse_image_urn("RedHat:rhel-byos:rhel-lvm96-gen2:9.6.2025052113")
}

output "parts" {
  value = local.parts
}

output "round_trip" {
  value = provider::rhelazure::build_image_urn(local.parts)
}

output "latest" {
  value = provider::rhelazure::build_image_urn({ publisher = "RedHat", offer = "RHEL", sku = "10-lvm-gen2" })
}
"#;

#[test]
fn validate_schema_plan_apply_with_functions() {
    for tf in terraforms() {
        let ws = Workspace::new(&tf, FUNCTIONS_CONFIG);
        ws.run(&["validate", "-no-color"]).ok();

        let schema = ws.run(&["providers", "schema", "-json"]).ok().json();
        let ours = &schema["provider_schemas"][PROVIDER_ADDRESS];
        assert!(
            ours.is_object(),
            "terraform {}: our provider is in the schema",
            tf.version
        );
        let funcs = &ours["functions"];
        assert_eq!(
            funcs["parse_image_urn"]["return_type"][0], "object",
            "terraform {}",
            tf.version
        );
        assert_eq!(funcs["build_image_urn"]["return_type"], "string");
        let provider_attrs = &ours["provider"]["block"]["attributes"];
        assert_eq!(provider_attrs["client_secret"]["sensitive"], true);
        assert_eq!(provider_attrs["subscription_id"]["optional"], true);
        assert_eq!(
            ours["provider"]["block"]["block_types"]["redhat"]["block"]["attributes"]
                ["offline_token"]["sensitive"],
            true
        );

        ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
        let out = ws.run(&["output", "-json"]).ok().json();
        assert_eq!(out["parts"]["value"]["publisher"], "RedHat");
        assert_eq!(out["parts"]["value"]["offer"], "rhel-byos");
        assert_eq!(out["parts"]["value"]["sku"], "rhel-lvm96-gen2");
        assert_eq!(out["parts"]["value"]["version"], "9.6.2025052113");
        assert_eq!(
            out["round_trip"]["value"],
            "RedHat:rhel-byos:rhel-lvm96-gen2:9.6.2025052113"
        );
        assert_eq!(out["latest"]["value"], "RedHat:RHEL:10-lvm-gen2:latest");

        // Nothing changes on a second plan.
        let plan = ws.run(&["plan", "-detailed-exitcode", "-no-color"]);
        assert_eq!(
            plan.code, 0,
            "terraform {}: second plan must be empty:\n{}{}",
            tf.version, plan.stdout, plan.stderr
        );
        ws.run(&["destroy", "-auto-approve", "-no-color"]).ok();
    }
}

#[test]
fn a_bad_urn_fails_with_the_functions_message() {
    for tf in terraforms() {
        let ws = Workspace::new(
            &tf,
            r#"
output "x" {
  value = provider::rhelazure::parse_image_urn("RedHat:RHEL:9")
}
"#,
        );
        let run = ws.run(&["plan", "-no-color"]);
        assert_eq!(run.code, 1, "terraform {}", tf.version);
        let all = run.all();
        assert!(
            all.contains("\"RedHat:RHEL:9\" is not an image URN: it has 3 parts"),
            "terraform {}: {all}",
            tf.version
        );

        ws.write_config(
            r#"
output "x" {
  value = provider::rhelazure::build_image_urn({ publisher = "RedHat", offer = "RHEL" })
}
"#,
        );
        let run = ws.run(&["plan", "-no-color"]);
        assert_eq!(run.code, 1);
        assert!(run.all().contains("image.sku is required"), "{}", run.all());
    }
}

#[test]
fn provider_block_errors_point_at_the_attribute() {
    for tf in terraforms() {
        let ws = Workspace::new(
            &tf,
            r#"
provider "rhelazure" {
  environment = "mars"
}
data "rhelazure_client_config" "current" {}
"#,
        );
        let run = ws.run(&["plan", "-no-color"]);
        assert_eq!(run.code, 1, "terraform {}", tf.version);
        let all = run.all();
        assert!(
            all.contains(
                "environment must be one of \"public\", \"usgovernment\", \"china\"; got \"mars\""
            ),
            "{all}"
        );
        // Terraform shows the offending line when the path is set.
        assert!(
            all.contains("environment = \"mars\""),
            "diagnostic points at the attribute: {all}"
        );

        // Plain-HTTP endpoints to non-loopback hosts are refused at configure time.
        ws.write_config(
            r#"
provider "rhelazure" {
  arm_endpoint = "http://management.example.com"
}
data "rhelazure_client_config" "current" {}
"#,
        );
        let run = ws.run(&["plan", "-no-color"]);
        assert_eq!(run.code, 1);
        assert!(
            run.all().contains("credentials must travel over https"),
            "{}",
            run.all()
        );
    }
}

#[test]
fn secrets_never_reach_the_trace_log() {
    let secret = "sUp3r-s3cret-client-value-8f2e";
    let token = "offline-token-eyJhbGciOi-test-4711";
    for tf in terraforms() {
        let ws = Workspace::new(
            &tf,
            &format!(
                r#"
provider "rhelazure" {{
  client_secret = "{secret}"
  redhat {{
    offline_token = "{token}"
  }}
}}
data "rhelazure_client_config" "current" {{}}
output "credential" {{ value = data.rhelazure_client_config.current.redhat_credential }}
"#
            ),
        );
        let log = ws.path().join("trace.log");
        let ws = ws
            .env("TF_LOG", "trace")
            .env("TF_LOG_PATH", log.to_str().unwrap());
        ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
        assert_eq!(
            ws.run(&["output", "-raw", "credential"]).ok().stdout,
            "offline_token"
        );
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(
            text.contains("provider.terraform-provider-rhelazure"),
            "provider lines reach Terraform's log"
        );
        assert!(
            text.contains("rpc finished"),
            "our hclog lines are parsed by Terraform"
        );
        for s in [secret, token] {
            let hits: Vec<&str> = text.lines().filter(|l| l.contains(s)).collect();
            assert!(
                hits.is_empty(),
                "terraform {}: secret in the log:\n{}",
                tf.version,
                hits.join("\n")
            );
        }
    }
}

#[test]
fn client_config_merges_block_and_environment() {
    for tf in terraforms() {
        let ws = Workspace::new(
            &tf,
            r#"
provider "rhelazure" {
  subscription_id = "00000000-0000-0000-0000-00000000c0de"
  environment     = "usgovernment"
  redhat {
    client_id     = "svc-account"
    client_secret = "svc-secret-value"
  }
}
data "rhelazure_client_config" "current" {}
output "cfg" { value = data.rhelazure_client_config.current }
"#,
        )
        .env("ARM_TENANT_ID", "11111111-2222-3333-4444-555555555555")
        .env("ARM_SUBSCRIPTION_ID", "ignored-because-the-block-wins")
        .env("RH_API_URL", "http://127.0.0.1:9/");
        ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
        let cfg = &ws.run(&["output", "-json", "cfg"]).ok().json();
        assert_eq!(
            cfg["subscription_id"], "00000000-0000-0000-0000-00000000c0de",
            "terraform {}",
            tf.version
        );
        assert_eq!(cfg["tenant_id"], "11111111-2222-3333-4444-555555555555");
        assert_eq!(cfg["environment"], "usgovernment");
        assert_eq!(cfg["arm_endpoint"], "https://management.usgovcloudapi.net");
        assert_eq!(cfg["redhat_api_url"], "http://127.0.0.1:9");
        assert_eq!(cfg["redhat_credential"], "service_account");
        assert!(!cfg.to_string().contains("svc-secret-value"));
        ws.run(&["destroy", "-auto-approve", "-no-color"]).ok();
    }
}

#[test]
fn every_available_terraform_is_used() {
    let versions: Vec<String> = terraforms()
        .into_iter()
        .map(|t| format!("{} ({})", t.version, t.path.display()))
        .collect();
    eprintln!("acceptance tests run against: {}", versions.join(", "));
    // When the 1.15 shim is installed (make test does it), it must be among them.
    if rhelazure_acceptance_tests::repo_root()
        .join(".tools/bin/terraform-1.15")
        .exists()
        && std::env::var("RHELAZURE_TERRAFORM").is_err()
    {
        assert!(
            versions.iter().any(|v| v.starts_with("1.15.")),
            "{versions:?}"
        );
    }
}
