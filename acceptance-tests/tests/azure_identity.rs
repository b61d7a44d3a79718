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

/// A workspace on the local cloud without the client secret, with `creds`
/// in its environment instead, logging at debug into `debug.log`.
fn with_credentials(cloud: &LocalCloud, creds: &[(&str, &str)]) -> Workspace {
    let mut ws = Workspace::new(&terraforms()[0], CONFIG).cloud(cloud);
    let log = ws.path().join("debug.log");
    ws = ws
        .env("ARM_CLIENT_SECRET", "")
        .env("ARM_USE_CLI", "false")
        .env("TF_LOG", "debug")
        .env("TF_LOG_PATH", log.to_str().unwrap());
    for (k, v) in creds {
        ws = ws.env(k, v);
    }
    ws
}

/// Applies (a real ARM call) and checks the credential the provider chose.
fn authenticates_with(ws: &Workspace, method: &str) {
    let r = ws.run(&["apply", "-auto-approve", "-no-color"]);
    assert_eq!(r.code, 0, "{}", r.all());
    let log = std::fs::read_to_string(ws.path().join("debug.log")).unwrap_or_default();
    let chosen = log
        .lines()
        .find(|l| l.contains("Azure credential chosen"))
        .unwrap_or_default();
    assert!(chosen.contains(method), "expected {method}: {chosen}");
}

/// Applies and expects a failure that says `why`.
fn is_refused(ws: &Workspace, why: &str) {
    let r = ws.run(&["apply", "-auto-approve", "-no-color"]);
    assert_ne!(r.code, 0);
    assert!(r.all().contains(why), "{}", r.all());
}

/// How many requests to `path` the emulator answered 200.
fn answered(cloud: &LocalCloud, path: impl Fn(&str) -> bool) -> usize {
    cloud
        .request_log()
        .iter()
        .filter(|e| path(e["path"].as_str().unwrap_or("")) && e["status"] == 200)
        .count()
}

#[test]
fn a_managed_identity_authenticates_without_any_secret() {
    let cloud = LocalCloud::start();
    let header = seed()["tenants"][0]["service_principals"][0]["managed_identity_header"]
        .as_str()
        .unwrap()
        .to_string();
    let endpoint = format!("{}/msi/token", cloud.get("ARM_ENDPOINT"));
    let msi = |header: &str| {
        with_credentials(
            &cloud,
            &[
                ("ARM_USE_MSI", "true"),
                ("IDENTITY_ENDPOINT", &endpoint),
                ("IDENTITY_HEADER", header),
            ],
        )
    };
    authenticates_with(&msi(&header), "ManagedIdentity");
    assert!(
        answered(&cloud, |p| p == "/msi/token") >= 1,
        "the token came from the managed identity endpoint"
    );
    // A host whose identity header is wrong: refused, and said so.
    is_refused(
        &msi("not-the-header-of-this-host"),
        "X-IDENTITY-HEADER is missing or invalid",
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
    let job = |token: &str| {
        with_credentials(
            &cloud,
            &[
                ("ARM_USE_OIDC", "true"),
                ("ACTIONS_ID_TOKEN_REQUEST_URL", &url),
                ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", token),
            ],
        )
    };
    authenticates_with(&job(&request_token), "Oidc");
    assert!(answered(&cloud, |p| p == "/github-actions/idtoken") >= 1);
    assert!(answered(&cloud, |p| p.ends_with("/oauth2/v2.0/token")) >= 1);
    // A job without `id-token: write` (no valid request token): refused with the fix.
    is_refused(&job("not-this-jobs-token"), "id-token: write");
}

#[test]
fn a_client_certificate_authenticates_through_terraform() {
    let cloud = LocalCloud::start();
    let pfx = repo_root().join("acceptance-tests/fixtures/service-principal.pfx");
    let ws = with_credentials(
        &cloud,
        &[
            ("ARM_CLIENT_CERTIFICATE_PATH", pfx.to_str().unwrap()),
            (
                "ARM_CLIENT_CERTIFICATE_PASSWORD",
                "local-cloud-pfx-password",
            ),
        ],
    )
    .secret("local-cloud-pfx-password");
    authenticates_with(&ws, "ClientCertificate");
}
