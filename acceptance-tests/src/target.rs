//! One harness, two targets: the scenarios of `tests/portable.rs` run against
//! whatever the environment points at.
//!
//! - `RHELAZURE_TARGET` unset or `local`: the local cloud, with its control
//!   API ([`Capabilities::control_api`]: fault injection, out-of-band guest
//!   facts, the emulator's state).
//! - `RHELAZURE_TARGET=real`: real Azure and Red Hat, with the `ARM_*` and
//!   `RH_*` credentials the provider reads. Without them every scenario is
//!   reported as ignored, never as passed (`tests/portable.rs`).
//! - The real code path on the local cloud ("posing as real", run by
//!   `make test`): the target is built exactly as for real accounts, from
//!   the local cloud's `ARM_*` / `RH_*` environment alone, with no handle on
//!   the control API, so that path cannot rot.
//!
//! Every target gets a run id; everything a scenario makes is named with
//! the suite's prefix and the run id ([`RunNames`]) and tagged with
//! [`SUITE_TAG`], in a resource group of its own that the harness makes
//! (with a virtual network for hosts) and deletes at the end, through the
//! sweeper ([`crate::sweep`]), which also finds what an interrupted run left.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;

use crate::recorder::Recorder;
use crate::services::{Reply, Services};
use crate::{LocalCloud, Terraform, Workspace};

/// The tag on every Azure object the suite makes; its value is the run id.
pub const SUITE_TAG: &str = "rhelazure-acceptance";
/// The start of every name the suite gives (resource groups, activation
/// keys, Cloud Access sources, Image Builder image names).
pub const SUITE_PREFIX: &str = "rhazacc";

/// The credentials a real target needs: the harness calls ARM itself (set-up,
/// drift, checks, the sweeper) with a service principal's secret, and Red Hat
/// with an offline token or a service account.
pub const REAL_CREDENTIALS: [&str; 4] = [
    "ARM_SUBSCRIPTION_ID",
    "ARM_TENANT_ID",
    "ARM_CLIENT_ID",
    "ARM_CLIENT_SECRET",
];

/// What the target lets a scenario do beyond Terraform and the public APIs.
#[derive(Clone, Copy, Debug)]
pub struct Capabilities {
    /// The local cloud's control API (fault injection, out-of-band facts).
    pub control_api: bool,
    /// Real Azure and Red Hat: checks only they can answer (RHUI content on
    /// a pay-as-you-go host) run.
    pub real_services: bool,
}

/// Names of one scenario run: `rhazacc-<run>-<what>`.
#[derive(Clone, Debug)]
pub struct RunNames {
    pub run_id: String,
    pub location: String,
    pub resource_group: String,
}

impl RunNames {
    fn new(location: String) -> RunNames {
        let run_id = format!(
            "{:06x}",
            (std::process::id() as u64 * 7919
                + std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(0))
                & 0xff_ffff
        );
        let resource_group = format!("{SUITE_PREFIX}-{run_id}-rg");
        RunNames {
            run_id,
            location,
            resource_group,
        }
    }

    /// `rhazacc-<run>-<what>` (activation keys, sources, hosts).
    pub fn name(&self, what: &str) -> String {
        format!("{SUITE_PREFIX}-{}-{what}", self.run_id)
    }

    /// The same without hyphens, for names that allow none (galleries).
    pub fn compact(&self, what: &str) -> String {
        format!("{SUITE_PREFIX}{}{what}", self.run_id)
    }
}

/// Why a target cannot be had (real mode without credentials).
#[derive(Debug)]
pub struct Unavailable(pub String);

/// Which target `RHELAZURE_TARGET` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Requested {
    Local,
    Real,
}

pub fn requested() -> Requested {
    match std::env::var("RHELAZURE_TARGET").as_deref() {
        Ok("real") => Requested::Real,
        Ok("" | "local") | Err(_) => Requested::Local,
        Ok(other) => panic!("RHELAZURE_TARGET={other}: expected `local` or `real`"),
    }
}

/// The real-account environment of this process, or why it is not complete.
pub fn real_environment() -> Result<Vec<(String, String)>, Unavailable> {
    let env: Vec<(String, String)> = std::env::vars()
        .filter(|(k, v)| {
            !v.is_empty() && (k.starts_with("ARM_") || k.starts_with("RH_") || k == "SSL_CERT_FILE")
        })
        .collect();
    let has = |k: &str| env.iter().any(|(n, _)| n == k);
    let mut missing: Vec<&str> = REAL_CREDENTIALS
        .iter()
        .copied()
        .filter(|k| !has(k))
        .collect();
    let service_account = has("RH_CLIENT_ID") && has("RH_CLIENT_SECRET");
    if !(has("RH_OFFLINE_TOKEN") || service_account) {
        missing.push("RH_OFFLINE_TOKEN (or RH_CLIENT_ID + RH_CLIENT_SECRET)");
    }
    if missing.is_empty() {
        Ok(env)
    } else {
        Err(Unavailable(format!(
            "RHELAZURE_TARGET=real without {}",
            missing.join(", ")
        )))
    }
}

/// Where real runs note the Marketplace terms they accepted, for the
/// sweeper: `RHELAZURE_ACC_JOURNAL`, or `target/acceptance-real-terms.jsonl`.
pub fn real_terms_journal() -> PathBuf {
    std::env::var_os("RHELAZURE_ACC_JOURNAL")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::repo_root().join("target/acceptance-real-terms.jsonl"))
}

/// How long real long-running operations may take (a VM, a resource group
/// delete, an Image Builder compose), and the local cloud's settling time.
#[derive(Clone, Copy, Debug)]
pub struct Patience {
    pub arm: Duration,
}

/// One scenario's target: the provider's environment, a client for the
/// services, the run's names, and (locally) the local cloud.
pub struct Target {
    pub label: &'static str,
    pub caps: Capabilities,
    pub names: RunNames,
    pub patience: Patience,
    services: Services,
    /// The environment the provider gets (through the recorder when recording).
    provider_env: Vec<(String, String)>,
    secrets: Vec<String>,
    /// The local cloud with its control API (local mode only).
    cloud: Option<LocalCloud>,
    /// The local cloud posing as the real services: kept running, never
    /// handed to a scenario.
    _backing: Option<LocalCloud>,
    /// Marketplace terms this run accepted, for the sweeper to cancel.
    journal: PathBuf,
    recorder: Option<Recorder>,
    /// Set once the run is swept: Drop does it otherwise.
    swept: bool,
}

impl Target {
    /// The local cloud, control API included.
    pub fn local() -> Target {
        let cloud = LocalCloud::start();
        let env = cloud.env.clone();
        let secrets = cloud.secrets();
        let journal = cloud.dir_path().join("accepted-terms.jsonl");
        let mut t = Target::build(
            "local",
            Capabilities {
                control_api: true,
                real_services: false,
            },
            env,
            secrets,
            journal,
            SETUP_PATIENCE_LOCAL,
            None,
        );
        t.cloud = Some(cloud);
        t.set_up();
        t
    }

    /// The real code path against the local cloud: built from the `ARM_*` /
    /// `RH_*` environment a user would export, no control API. With
    /// `record`, every exchange goes through the recorder.
    pub fn posing_as_real(record: Option<PathBuf>) -> Target {
        let cloud = LocalCloud::start();
        let env: Vec<(String, String)> = cloud
            .env
            .iter()
            .filter(|(k, _)| k.starts_with("ARM_") || k.starts_with("RH_") || k == "SSL_CERT_FILE")
            .cloned()
            .collect();
        let journal = cloud.dir_path().join("accepted-terms.jsonl");
        let mut t = Target::real_with(env, journal, record, SETUP_PATIENCE_LOCAL);
        t.label = "posing-as-real";
        // The leak check also knows every credential of the local cloud's seed.
        t.secrets.extend(cloud.secrets());
        // Checks only the real services can answer stay off here.
        t.caps.real_services = false;
        t._backing = Some(cloud);
        t.set_up();
        t
    }

    /// Real Azure and Red Hat, from this process's environment;
    /// `RHELAZURE_RECORD_DIR` records every exchange there.
    pub fn real() -> Result<Target, Unavailable> {
        let env = real_environment()?;
        let journal = real_terms_journal();
        let record = std::env::var_os("RHELAZURE_RECORD_DIR").map(PathBuf::from);
        let mut t = Target::real_with(
            env,
            journal,
            record,
            Patience {
                arm: Duration::from_secs(40 * 60),
            },
        );
        t.set_up();
        Ok(t)
    }

    fn real_with(
        env: Vec<(String, String)>,
        journal: PathBuf,
        record: Option<PathBuf>,
        patience: Patience,
    ) -> Target {
        let secrets: Vec<String> = env
            .iter()
            .filter(|(k, _)| {
                matches!(
                    k.as_str(),
                    "ARM_CLIENT_SECRET"
                        | "ARM_CLIENT_CERTIFICATE_PASSWORD"
                        | "RH_OFFLINE_TOKEN"
                        | "RH_CLIENT_SECRET"
                )
            })
            .map(|(_, v)| v.clone())
            .collect();
        let recorder = record.map(|dir| {
            // The organization is an account identifier too: read it first,
            // straight from Red Hat, so the recorder can replace it.
            let direct = Services::new(env.clone());
            let (_, org) = direct.redhat("GET", "/api/rhsm/v2/organization", None);
            let org = org["body"]["id"].as_str().map(str::to_string);
            Recorder::start(&env, &secrets, &dir, org.as_deref())
        });
        Target::build(
            "real",
            Capabilities {
                control_api: false,
                real_services: true,
            },
            env,
            secrets,
            journal,
            patience,
            recorder,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn build(
        label: &'static str,
        caps: Capabilities,
        env: Vec<(String, String)>,
        secrets: Vec<String>,
        journal: PathBuf,
        patience: Patience,
        recorder: Option<Recorder>,
    ) -> Target {
        let location = std::env::var("RHELAZURE_ACC_LOCATION").unwrap_or_else(|_| "eastus".into());
        // With a recorder, the provider and the harness both talk through it.
        let provider_env = match &recorder {
            Some(r) => r.env_for_clients(&env),
            None => env.clone(),
        };
        Target {
            label,
            caps,
            names: RunNames::new(location),
            patience,
            services: Services::new(provider_env.clone()),
            provider_env,
            secrets,
            cloud: None,
            _backing: None,
            journal,
            recorder,
            swept: false,
        }
    }

    /// The local cloud's control API, where the target has one.
    pub fn control(&self) -> Option<&LocalCloud> {
        self.cloud.as_ref()
    }

    /// ARM, Entra ID and Red Hat, called as another tool would.
    pub fn services(&self) -> &Services {
        &self.services
    }

    pub fn subscription_id(&self) -> String {
        self.services.get("ARM_SUBSCRIPTION_ID")
    }

    /// The run's resource group id.
    pub fn resource_group_id(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}",
            self.subscription_id(),
            self.names.resource_group
        )
    }

    /// The subnet the harness made for hosts in the run's resource group.
    pub fn subnet_id(&self) -> String {
        format!(
            "{}/providers/Microsoft.Network/virtualNetworks/{}/subnets/hosts",
            self.resource_group_id(),
            self.names.name("vnet")
        )
    }

    /// A workspace whose Terraform (and so the provider) talks to this target.
    pub fn workspace(&self, tf: &Terraform, config: &str) -> Workspace {
        let mut ws = Workspace::new(tf, config);
        for (k, v) in &self.provider_env {
            ws = ws.env(k, v);
        }
        for s in &self.secrets {
            ws = ws.secret(s);
        }
        ws
    }

    /// An ARM write that waits for Azure to finish it, with this target's patience.
    pub fn arm_settled(&self, method: &str, path: &str, body: Option<serde_json::Value>) -> Reply {
        self.services
            .arm_settled(method, path, body, self.patience.arm)
    }

    /// The run's resource group and a virtual network with a `hosts` subnet,
    /// made through ARM and tagged with the run id.
    fn set_up(&mut self) {
        let tags = json!({ SUITE_TAG: self.names.run_id });
        let (s, b) = self.services.arm(
            "PUT",
            &format!("{}?api-version=2024-03-01", self.resource_group_id()),
            Some(json!({ "location": self.names.location, "tags": tags })),
        );
        assert!(s < 300, "{}: the run's resource group: {s} {b}", self.label);
        let vnet = format!(
            "{}/providers/Microsoft.Network/virtualNetworks/{}",
            self.resource_group_id(),
            self.names.name("vnet")
        );
        let (s, b) = self.arm_settled(
            "PUT",
            &format!("{vnet}?api-version=2024-01-01"),
            Some(json!({
                "location": self.names.location,
                "tags": tags,
                "properties": {
                    "addressSpace": { "addressPrefixes": ["10.88.0.0/16"] },
                    "subnets": [{ "name": "hosts", "properties": { "addressPrefix": "10.88.1.0/24" } }]
                }
            })),
        );
        assert!(
            s < 300,
            "{}: the run's virtual network: {s} {b}",
            self.label
        );
    }

    /// Notes Marketplace terms a scenario is about to have accepted, unless
    /// they already are (terms someone accepted before are never cancelled
    /// by the sweeper).
    pub fn note_terms(&self, publisher: &str, offer: &str, plan: &str) {
        let (s, b) = self.services.arm(
            "GET",
            &crate::sweep::agreement_path(&self.subscription_id(), publisher, offer, plan),
            None,
        );
        if s == 200 && b["properties"]["accepted"] == json!(true) {
            return;
        }
        let line = json!({ "publisher": publisher, "offer": offer, "plan": plan, "run": self.names.run_id }).to_string() + "\n";
        use std::io::Write as _;
        if let Some(dir) = self.journal.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.journal)
            .expect("the terms journal");
        f.write_all(line.as_bytes()).expect("the terms journal");
    }

    /// Deletes everything of this run (see [`crate::sweep`]); returns what
    /// it found. Drop does it when a scenario did not.
    pub fn sweep(&mut self) -> crate::sweep::Swept {
        self.swept = true;
        crate::sweep::sweep(
            &self.services,
            &crate::sweep::Scope::Run(self.names.run_id.clone()),
            &self.journal,
            self.patience.arm,
        )
    }

    /// The credentials this target holds: no log, plan, state or recording
    /// may show them.
    pub fn secrets(&self) -> &[String] {
        &self.secrets
    }

    /// The recording of this target's exchanges so far (when recording).
    pub fn recording(&self) -> Option<PathBuf> {
        self.recorder.as_ref().map(|r| r.file().to_path_buf())
    }
}

const SETUP_PATIENCE_LOCAL: Patience = Patience { arm: crate::SETTLE };

impl Drop for Target {
    fn drop(&mut self) {
        if !self.swept {
            self.swept = true;
            // Best effort while a scenario's own panic unwinds: a failed
            // sweep must not hide it (the sweeper finds leftovers later).
            let services = &self.services;
            let scope = crate::sweep::Scope::Run(self.names.run_id.clone());
            let journal = self.journal.clone();
            let patience = self.patience.arm;
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                crate::sweep::sweep(services, &scope, &journal, patience)
            }));
        }
    }
}
