//! Azure credentials other than a client secret, through the real provider
//! binary and Terraform against the local cloud's identity endpoints:
//! - a managed identity (App Service-style `IDENTITY_ENDPOINT` +
//!   `IDENTITY_HEADER`, `ARM_USE_MSI`), no secret anywhere;
//! - OIDC workload identity federation from inside GitHub Actions
//!   (`ARM_USE_OIDC` with `ACTIONS_ID_TOKEN_REQUEST_URL` / `_TOKEN`): the job's
//!   token is fetched, exchanged at Entra ID against the app's federated
//!   credential, and used for ARM; a job with a wrong request token is refused
//!   with an actionable message;
//! - a client certificate (PKCS#12 with a password) signing the assertion.
//!
//! Each run makes a real ARM call (a Marketplace lookup) and logs at debug
//! level which credential was chosen; the suite's leak check makes sure the
//! identity header and request token never reach a log.

use rhelazure_acceptance_tests::{repo_root, terraforms, LocalCloud, Workspace};

const CONFIG: &str = r#"
data "rhelazure_marketplace_image" "payg" {
  location     = "eastus"
  rhel_version = "9"
}
output "sku" { value = data.rhelazure_marketplace_image.payg.sku }
"#;

fn seed() -> serde_json::Value {
    let text =
        std::fs::read_to_string(repo_root().join("acceptance-tests/emulator/seed/seed.json"))
            .unwrap();
    serde_json::from_str(&text).unwrap()
}

/// A workspace on the local cloud without the client secret, logging at debug.
fn without_secret(cloud: &LocalCloud) -> (Workspace, std::path::PathBuf) {
    let ws = Workspace::new(&terraforms()[0], CONFIG).cloud(cloud);
    let log = ws.path().join("debug.log");
    let ws = ws
        .env("ARM_CLIENT_SECRET", "")
        .env("ARM_USE_CLI", "false")
        .env("TF_LOG", "debug")
        .env("TF_LOG_PATH", log.to_str().unwrap());
    (ws, log)
}

fn credential_chosen(log: &std::path::Path) -> String {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .find(|l| l.contains("Azure credential chosen"))
        .unwrap_or_default()
        .to_string()
}

#[test]
fn a_managed_identity_authenticates_without_any_secret() {
    let cloud = LocalCloud::start();
    let header = seed()["tenants"][0]["service_principals"][0]["managed_identity_header"]
        .as_str()
        .unwrap()
        .to_string();
    let (ws, log) = without_secret(&cloud);
    let ws = ws
        .env("ARM_USE_MSI", "true")
        .env(
            "IDENTITY_ENDPOINT",
            &format!("{}/msi/token", cloud.get("ARM_ENDPOINT")),
        )
        .env("IDENTITY_HEADER", &header);
    let r = ws.run(&["apply", "-auto-approve", "-no-color"]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        credential_chosen(&log).contains("ManagedIdentity"),
        "{}",
        credential_chosen(&log)
    );
    let msi_calls = cloud
        .request_log()
        .iter()
        .filter(|e| e["path"] == "/msi/token" && e["status"] == 200)
        .count();
    assert!(
        msi_calls >= 1,
        "the token came from the managed identity endpoint"
    );

    // A host whose identity header is wrong: refused, and said so.
    let (bad, _) = without_secret(&cloud);
    let bad = bad
        .env("ARM_USE_MSI", "true")
        .env(
            "IDENTITY_ENDPOINT",
            &format!("{}/msi/token", cloud.get("ARM_ENDPOINT")),
        )
        .env("IDENTITY_HEADER", "not-the-header-of-this-host");
    let r = bad.run(&["apply", "-auto-approve", "-no-color"]);
    assert_ne!(r.code, 0);
    assert!(
        r.all().contains("X-IDENTITY-HEADER is missing or invalid"),
        "{}",
        r.all()
    );
}

#[test]
fn github_actions_oidc_is_exchanged_for_an_arm_token() {
    let cloud = LocalCloud::start();
    let request_token = seed()["github_actions"]["request_token"]
        .as_str()
        .unwrap()
        .to_string();
    let url = format!(
        "{}/github-actions/idtoken?api-version=2.0",
        cloud.get("ARM_ENDPOINT")
    );
    let (ws, log) = without_secret(&cloud);
    let ws = ws
        .env("ARM_USE_OIDC", "true")
        .env("ACTIONS_ID_TOKEN_REQUEST_URL", &url)
        .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", &request_token);
    let r = ws.run(&["apply", "-auto-approve", "-no-color"]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        credential_chosen(&log).contains("Oidc"),
        "{}",
        credential_chosen(&log)
    );
    let requests = cloud.request_log();
    assert!(requests
        .iter()
        .any(|e| e["path"] == "/github-actions/idtoken" && e["status"] == 200));
    assert!(requests.iter().any(|e| e["path"]
        .as_str()
        .unwrap_or("")
        .ends_with("/oauth2/v2.0/token")
        && e["status"] == 200));

    // A job without `id-token: write` (no valid request token): refused with the fix.
    let (bad, _) = without_secret(&cloud);
    let bad = bad
        .env("ARM_USE_OIDC", "true")
        .env("ACTIONS_ID_TOKEN_REQUEST_URL", &url)
        .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "not-this-jobs-token");
    let r = bad.run(&["apply", "-auto-approve", "-no-color"]);
    assert_ne!(r.code, 0);
    assert!(r.all().contains("id-token: write"), "{}", r.all());
}

#[test]
fn a_client_certificate_authenticates_through_terraform() {
    let cloud = LocalCloud::start();
    let pfx = repo_root().join("acceptance-tests/fixtures/service-principal.pfx");
    let (ws, log) = without_secret(&cloud);
    let ws = ws
        .env("ARM_CLIENT_CERTIFICATE_PATH", pfx.to_str().unwrap())
        .env(
            "ARM_CLIENT_CERTIFICATE_PASSWORD",
            "local-cloud-pfx-password",
        )
        .secret("local-cloud-pfx-password");
    let r = ws.run(&["apply", "-auto-approve", "-no-color"]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        credential_chosen(&log).contains("ClientCertificate"),
        "{}",
        credential_chosen(&log)
    );
}
