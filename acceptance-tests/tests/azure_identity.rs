//! Azure credentials other than a client secret, through the real provider
//! binary and Terraform against the local cloud's identity endpoints:
//! - a managed identity (App Service-style `IDENTITY_ENDPOINT` +
//!   `IDENTITY_HEADER`, `ARM_USE_MSI`), no secret anywhere;
//! - OIDC workload identity federation from inside GitHub Actions
//!   (`ARM_USE_OIDC` with `ACTIONS_ID_TOKEN_REQUEST_URL` / `_TOKEN`): the job's
//!   token is fetched, exchanged at Entra ID against the app's federated
//!   credential, and used for ARM; a job with a wrong request token is refused
//!   with an actionable message;
//! - a client certificate (PKCS#12 with a password) signing the assertion;
//! - the Azure CLI's login (`use_cli`): the real `az` (PyPI azure-cli, from
//!   `scripts/install-azure-cli.sh`) registered with the local cloud as a
//!   custom cloud and logged in there; the provider runs `az account
//!   get-access-token` and never sees a secret. Before `az login`, the apply
//!   is refused with the fix.
//!
//! - Kubernetes workload identity (AKS): `ARM_USE_OIDC` and only the pod's
//!   `AZURE_CLIENT_ID`, `AZURE_TENANT_ID`, `AZURE_FEDERATED_TOKEN_FILE`;
//! - a virtual machine's managed identity from IMDS (`ARM_USE_MSI` and no
//!   identity endpoint): IMDS's address is fixed in azure_identity, so that
//!   test runs inside a private network namespace whose loopback also carries
//!   169.254.169.254, where the emulator serves IMDS's identity endpoint.
//!
//! Each run makes a real ARM call (a Marketplace lookup) and logs at debug
//! level which credential was chosen; the suite's leak check makes sure the
//! identity header and request token never reach a log.

use std::path::PathBuf;
use std::process::Command;

use rhelazure_acceptance_tests::{repo_root, terraforms, LocalCloud, Run, Workspace};

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

/// Applies and expects a failure that says each of `why`.
fn is_refused(ws: &Workspace, why: &[&str]) {
    let r = ws.run(&["apply", "-auto-approve", "-no-color"]);
    assert_ne!(r.code, 0);
    for w in why {
        assert!(r.all().contains(w), "{w}: {}", r.all());
    }
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
        &["X-IDENTITY-HEADER is missing or invalid"],
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
    is_refused(&job("not-this-jobs-token"), &["id-token: write"]);
    // azurerm's own names for the same two values, as some pipelines set them.
    let before = answered(&cloud, |p| p == "/github-actions/idtoken");
    let azurerm_names = with_credentials(
        &cloud,
        &[
            ("ARM_USE_OIDC", "true"),
            ("ARM_OIDC_REQUEST_URL", &url),
            ("ARM_OIDC_REQUEST_TOKEN", &request_token),
        ],
    );
    authenticates_with(&azurerm_names, "Oidc");
    assert!(answered(&cloud, |p| p == "/github-actions/idtoken") > before);
}

/// An Azure DevOps pipeline with a workload-identity service connection, as
/// azurerm users configure it: `ARM_USE_OIDC`, the service connection's id in
/// `ARM_ADO_PIPELINE_SERVICE_CONNECTION_ID`, and the job's own
/// `SYSTEM_OIDCREQUESTURI` / `SYSTEM_ACCESSTOKEN` (or azurerm's
/// `ARM_OIDC_REQUEST_URL` / `_TOKEN`).
#[test]
fn an_azure_devops_service_connection_is_exchanged_for_an_arm_token() {
    let cloud = LocalCloud::start();
    let ado = seed()["azure_devops"].clone();
    let token = ado["request_token"].as_str().unwrap().to_string();
    let connection = ado["service_connection_id"].as_str().unwrap().to_string();
    let url = format!(
        "{}/azure-devops/rhel-platform/0bd0c0de-0000-4000-a000-0000000000e1/_apis/distributedtask/hubs/build/plans/\
         7e57a11a-0000-4000-a000-0000000000e2/jobs/7e57a11a-0000-4000-a000-0000000000e3/oidctoken",
        cloud.get("ARM_ENDPOINT")
    );
    let job = |connection: &str, names: [&str; 2]| {
        with_credentials(
            &cloud,
            &[
                ("ARM_USE_OIDC", "true"),
                ("ARM_ADO_PIPELINE_SERVICE_CONNECTION_ID", connection),
                (names[0], &url),
                (names[1], &token),
            ],
        )
    };
    let ado_names = ["SYSTEM_OIDCREQUESTURI", "SYSTEM_ACCESSTOKEN"];
    authenticates_with(&job(&connection, ado_names), "Oidc");
    let served = || answered(&cloud, |p| p.ends_with("/oidctoken"));
    assert_eq!(served(), 1, "one token from Azure DevOps");
    let azurerm_names = ["ARM_OIDC_REQUEST_URL", "ARM_OIDC_REQUEST_TOKEN"];
    authenticates_with(&job(&connection, azurerm_names), "Oidc");
    assert_eq!(served(), 2);
    // A service connection the pipeline may not use: refused, naming the setting.
    is_refused(
        &job("00000000-0000-4000-a000-000000000000", ado_names),
        &["ARM_ADO_PIPELINE_SERVICE_CONNECTION_ID", "404"],
    );
}

/// `client_id_file_path` / `client_secret_file_path` (mounted secrets).
#[test]
fn the_client_id_and_secret_are_read_from_files() {
    let cloud = LocalCloud::start();
    let dir = tempfile::tempdir().unwrap();
    let (id_file, secret_file) = (dir.path().join("client-id"), dir.path().join("secret"));
    std::fs::write(&id_file, format!("{}\n", cloud.get("ARM_CLIENT_ID"))).unwrap();
    std::fs::write(
        &secret_file,
        format!("{}\n", cloud.get("ARM_CLIENT_SECRET")),
    )
    .unwrap();
    let ws = |secret: &std::path::Path| {
        with_credentials(
            &cloud,
            &[
                ("ARM_CLIENT_ID", ""),
                ("ARM_CLIENT_ID_FILE_PATH", id_file.to_str().unwrap()),
                ("ARM_CLIENT_SECRET_FILE_PATH", secret.to_str().unwrap()),
            ],
        )
    };
    authenticates_with(&ws(&secret_file), "ClientSecret");
    is_refused(
        &ws(&dir.path().join("missing")),
        &["client_secret_file_path", "missing"],
    );
}

/// `resource_provider_registrations = "none"` (or azurerm's older
/// `ARM_SKIP_PROVIDER_REGISTRATION`): a subscription without Microsoft.Compute
/// registered is left as it is and the error says how to register it; by
/// default the provider registers it on demand.
#[test]
fn provider_registration_can_be_left_to_the_subscription_owner() {
    let cloud = LocalCloud::start();
    let fresh = "5ab5c41d-0000-4000-a000-0000000fe5e5";
    let config = CONFIG.replace(
        "rhel_version = \"9\"",
        &format!("rhel_version = \"9\"\n  subscription_id = \"{fresh}\""),
    );
    let compute =
        format!("/subscriptions/{fresh}/providers/Microsoft.Compute?api-version=2024-03-01");
    let state = || cloud.arm("GET", &compute, None).1["registrationState"].clone();
    for setting in [
        ("ARM_RESOURCE_PROVIDER_REGISTRATIONS", "none"),
        ("ARM_SKIP_PROVIDER_REGISTRATION", "true"),
    ] {
        let ws = Workspace::new(&terraforms()[0], &config)
            .cloud(&cloud)
            .env(setting.0, setting.1);
        let r = ws.run(&["apply", "-auto-approve", "-no-color"]);
        assert_ne!(r.code, 0, "{}", r.all());
        for w in [
            "MissingSubscriptionRegistration",
            "az provider register --namespace Microsoft.Compute",
        ] {
            assert!(r.all().contains(w), "{setting:?} {w}: {}", r.all());
        }
        assert_eq!(state(), "NotRegistered", "{setting:?}");
    }
    let ws = Workspace::new(&terraforms()[0], &config)
        .cloud(&cloud)
        .env("ARM_RESOURCE_PROVIDER_REGISTRATIONS", "core");
    let r = ws.run(&["apply", "-auto-approve", "-no-color"]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert_eq!(state(), "Registered");
}

/// `auxiliary_tenant_ids` is accepted (pipelines set it for azurerm) and
/// ignored with a warning that says why.
#[test]
fn auxiliary_tenants_are_accepted_with_a_warning() {
    let cloud = LocalCloud::start();
    let ws = Workspace::new(&terraforms()[0], CONFIG).cloud(&cloud).env(
        "ARM_AUXILIARY_TENANT_IDS",
        "0ther000-0000-4000-a000-0000000000ff",
    );
    let r = ws.run(&["apply", "-auto-approve", "-no-color"]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        r.all().contains("auxiliary_tenant_ids is ignored"),
        "{}",
        r.all()
    );
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
    // The same bundle base64-encoded in ARM_CLIENT_CERTIFICATE, as pipelines keep it.
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(std::fs::read(&pfx).unwrap());
    let ws = with_credentials(
        &cloud,
        &[
            ("ARM_CLIENT_CERTIFICATE", &encoded),
            (
                "ARM_CLIENT_CERTIFICATE_PASSWORD",
                "local-cloud-pfx-password",
            ),
        ],
    )
    .secret("local-cloud-pfx-password")
    .secret(&encoded);
    authenticates_with(&ws, "ClientCertificate");
}

/// The real Azure CLI with a config directory of its own (outside the
/// workspace: `az login` keeps the service principal's secret there, as it
/// does on a developer's machine), trusting the local cloud's CA.
struct AzureCli {
    config: tempfile::TempDir,
    bin: PathBuf,
    ca: String,
}

impl AzureCli {
    fn new(cloud: &LocalCloud) -> AzureCli {
        let install = repo_root().join("scripts/install-azure-cli.sh");
        let ok = Command::new(install)
            .status()
            .expect("install-azure-cli.sh runs");
        assert!(ok.success(), "the Azure CLI could not be installed");
        AzureCli {
            config: tempfile::tempdir().unwrap(),
            bin: repo_root().join(".tools/azure-cli/bin"),
            ca: cloud.get("SSL_CERT_FILE"),
        }
    }

    /// What `az` (and so the provider's credential) needs in its environment.
    fn env(&self) -> Vec<(String, String)> {
        let path = format!(
            "{}:{}",
            self.bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        vec![
            ("PATH".into(), path),
            (
                "AZURE_CONFIG_DIR".into(),
                self.config.path().display().to_string(),
            ),
            ("REQUESTS_CA_BUNDLE".into(), self.ca.clone()),
            ("AZURE_CORE_COLLECT_TELEMETRY".into(), "false".into()),
            ("AZURE_CORE_SURVEY_MESSAGE".into(), "false".into()),
        ]
    }

    fn run(&self, args: &[&str]) -> String {
        let r: Run = Command::new(self.bin.join("az"))
            .args(args)
            .envs(self.env())
            .output()
            .expect("az runs")
            .into();
        assert_eq!(r.code, 0, "az {}: {}", args[..2].join(" "), r.all());
        r.all()
    }

    /// `az cloud register` + `az login --service-principal`, as an Azure Stack
    /// user would against a private cloud (no instance discovery at
    /// login.microsoftonline.com, which is not reachable from here).
    fn log_in(&self, cloud: &LocalCloud) {
        let arm = format!("{}/", cloud.get("ARM_ENDPOINT"));
        let authority = cloud.get("ARM_AUTHORITY_HOST");
        self.run(&[
            "cloud",
            "register",
            "--name",
            "rhelazure-local",
            "--skip-endpoint-discovery",
            "--endpoint-resource-manager",
            &arm,
            "--endpoint-active-directory",
            &authority,
            "--endpoint-active-directory-resource-id",
            "https://management.core.windows.net/",
        ]);
        self.run(&["cloud", "set", "--name", "rhelazure-local"]);
        self.run(&["config", "set", "core.instance_discovery=false"]);
        let listed = self.run(&[
            "login",
            "--service-principal",
            "--username",
            &cloud.get("ARM_CLIENT_ID"),
            "--password",
            &cloud.get("ARM_CLIENT_SECRET"),
            "--tenant",
            &cloud.get("ARM_TENANT_ID"),
            "--output",
            "json",
        ]);
        assert!(
            listed.contains(&cloud.get("ARM_SUBSCRIPTION_ID")),
            "az login lists the local cloud's subscription: {listed}"
        );
    }
}

#[test]
fn the_azure_cli_login_is_used_without_a_secret_in_terraform() {
    let cloud = LocalCloud::start();
    let az = AzureCli::new(&cloud);
    // Tenant and subscription stay set (ARM_TENANT_ID, ARM_SUBSCRIPTION_ID), as
    // most users have them: `az` refuses to be given both, so the credential
    // must pass only one.
    let workspace = || {
        let mut ws = with_credentials(&cloud, &[("ARM_CLIENT_ID", ""), ("ARM_USE_CLI", "true")]);
        for (k, v) in az.env() {
            ws = ws.env(&k, &v);
        }
        ws
    };
    // Not logged in yet: refused, with the fix.
    is_refused(
        &workspace(),
        &[
            "Please run 'az login'",
            "none of client_secret, client_certificate_path, use_oidc or use_msi is set",
        ],
    );

    az.log_in(&cloud);
    // Microsoft's own SDK reads the Subscriptions API's answers.
    let shown: serde_json::Value =
        serde_json::from_str(&az.run(&["account", "show", "--output", "json"])).unwrap();
    assert_eq!(shown["id"], cloud.get("ARM_SUBSCRIPTION_ID"));
    let regions: serde_json::Value =
        serde_json::from_str(&az.run(&["account", "list-locations", "--output", "json"])).unwrap();
    let eastus = regions
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "eastus")
        .unwrap_or_else(|| panic!("eastus among {regions}"));
    assert_eq!(eastus["displayName"], "East US");
    let before = cloud.request_log().len();
    authenticates_with(&workspace(), "AzureCli");
    let during = &cloud.request_log()[before..];
    let from =
        |e: &serde_json::Value, who: &str| e["user_agent"].as_str().unwrap_or("").contains(who);
    // The ARM token came from az (MSAL, on the CLI's login), the ARM call from the provider.
    assert!(
        during.iter().any(|e| e["path"]
            .as_str()
            .unwrap_or("")
            .ends_with("/oauth2/v2.0/token")
            && e["status"] == 200
            && !from(e, "terraform-provider-rhelazure")),
        "az fetched the token"
    );
    assert!(
        during.iter().any(|e| e["path"]
            .as_str()
            .unwrap_or("")
            .starts_with("/subscriptions/")
            && e["status"] == 200
            && from(e, "terraform-provider-rhelazure")),
        "the provider called ARM with it"
    );
}

/// Where IMDS answers on every Azure virtual machine.
const IMDS: &str = "169.254.169.254:80";
/// Set for the test binary re-run inside the IMDS network namespace.
const IN_IMDS_NETNS: &str = "RHELAZURE_TEST_IN_IMDS_NETNS";

#[test]
fn a_virtual_machines_managed_identity_comes_from_imds() {
    // A new network namespace: only loopback, up, with IMDS's link-local
    // address added to it. Nothing outside this test sees the address; the
    // namespace ends with its last process. `--map-root-user` lets a user
    // without root do this (user namespaces), and changes nothing for root.
    let inside = "ip link set lo up && ip addr add 169.254.169.254/32 dev lo && exec \"$0\" \"$@\"";
    let out = Command::new("unshare")
        .args(["--net", "--map-root-user", "--", "sh", "-c", inside])
        .arg(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "imds_inside_a_network_namespace",
            "--ignored",
            "--nocapture",
        ])
        .env(IN_IMDS_NETNS, "1")
        .output()
        .expect("unshare runs (util-linux)");
    let r = Run::from(out);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        r.all().contains("1 passed"),
        "the test ran inside: {}",
        r.all()
    );
}

#[test]
#[ignore = "run by a_virtual_machines_managed_identity_comes_from_imds, inside its network namespace"]
fn imds_inside_a_network_namespace() {
    if std::env::var_os(IN_IMDS_NETNS).is_none() {
        eprintln!("not inside the IMDS network namespace: a_virtual_machines_managed_identity_comes_from_imds runs this");
        return;
    }
    let cloud = LocalCloud::start_with(&[("RHELAZURE_EMULATOR_IMDS_LISTEN", IMDS)]);
    let token_path = "/metadata/identity/oauth2/token";
    // IMDS refuses a request without `Metadata: true` (its guard against SSRF).
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let url = format!(
        "http://{IMDS}{token_path}?api-version=2019-08-01&resource=https://management.azure.com/"
    );
    let mut r = agent.get(&url).call().expect("IMDS answers");
    assert_eq!(r.status().as_u16(), 400);
    let body = r.body_mut().read_to_string().unwrap();
    assert!(
        body.contains("Required metadata header not specified"),
        "{body}"
    );

    let msi = |client_id: &str| {
        with_credentials(
            &cloud,
            &[("ARM_USE_MSI", "true"), ("ARM_CLIENT_ID", client_id)],
        )
    };
    // System-assigned (no client id), then user-assigned by its client id.
    authenticates_with(&msi(""), "ManagedIdentity");
    let assigned = seed()["tenants"][0]["service_principals"][0]["client_id"]
        .as_str()
        .unwrap()
        .to_string();
    authenticates_with(&msi(&assigned), "ManagedIdentity");
    assert!(
        answered(&cloud, |p| p == token_path) >= 2,
        "the tokens came from IMDS"
    );
    // An identity not assigned to this machine: refused, and said so.
    let other = seed()["tenants"][1]["service_principals"][0]["client_id"]
        .as_str()
        .unwrap()
        .to_string();
    is_refused(&msi(&other), &["has not been assigned to this resource"]);
}

/// An unsigned service-account token as AKS projects it into the pod (the
/// local cloud checks a federated assertion's claims, not its signature).
fn service_account_token(issuer: &str, subject: &str) -> String {
    use base64::Engine;
    let b64 = |v: serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    format!(
        "{}.{}.c2ln",
        b64(serde_json::json!({ "alg": "RS256", "kid": "aks" })),
        b64(
            serde_json::json!({ "iss": issuer, "sub": subject, "aud": ["api://AzureADTokenExchange"], "iat": now, "exp": now + 3600 })
        )
    )
}

#[test]
fn kubernetes_workload_identity_from_the_pods_environment() {
    let cloud = LocalCloud::start();
    let fed = &seed()["tenants"][0]["service_principals"][0]["federated"][1];
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("azure-identity-token");
    std::fs::write(
        &file,
        service_account_token(
            fed["issuer"].as_str().unwrap(),
            fed["subject"].as_str().unwrap(),
        ),
    )
    .unwrap();
    let pod = |token_file: &str| {
        with_credentials(
            &cloud,
            &[
                ("ARM_USE_OIDC", "true"),
                ("ARM_CLIENT_ID", ""),
                ("ARM_TENANT_ID", ""),
                ("AZURE_CLIENT_ID", &cloud.get("ARM_CLIENT_ID")),
                ("AZURE_TENANT_ID", &cloud.get("ARM_TENANT_ID")),
                ("AZURE_FEDERATED_TOKEN_FILE", token_file),
            ],
        )
    };
    authenticates_with(&pod(file.to_str().unwrap()), "Oidc");
    // azurerm's switch for the same: ARM_USE_AKS_WORKLOAD_IDENTITY instead of ARM_USE_OIDC.
    let aks = with_credentials(
        &cloud,
        &[
            ("ARM_USE_AKS_WORKLOAD_IDENTITY", "true"),
            ("ARM_CLIENT_ID", ""),
            ("ARM_TENANT_ID", ""),
            ("AZURE_CLIENT_ID", &cloud.get("ARM_CLIENT_ID")),
            ("AZURE_TENANT_ID", &cloud.get("ARM_TENANT_ID")),
            ("AZURE_FEDERATED_TOKEN_FILE", file.to_str().unwrap()),
        ],
    );
    authenticates_with(&aks, "Oidc");
    // A service account the app does not trust: Entra's reason comes back.
    std::fs::write(
        &file,
        service_account_token(
            fed["issuer"].as_str().unwrap(),
            "system:serviceaccount:other:intruder",
        ),
    )
    .unwrap();
    is_refused(&pod(file.to_str().unwrap()), &["AADSTS70021"]);
}
