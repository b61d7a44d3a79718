//! Everything the emulator stores, serializable so `--state FILE` survives a
//! restart. Long-running operations are kept as records with a due time and
//! applied lazily ([`State::advance`]) whenever the state is next touched, so
//! no background task is needed and timing stays deterministic.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::http::ArmError;
use crate::seed::Seed;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub enum OpKind {
    Create,
    Update,
    Delete,
    /// A POST action on a resource (start, deallocate, ...).
    Action(String),
}

/// A long-running operation, as its status endpoints report it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Operation {
    pub id: String,
    pub subscription: String,
    pub namespace: String,
    pub location: String,
    /// Lower-cased ARM id of the resource it works on.
    pub resource_key: String,
    pub kind: OpKind,
    /// InProgress, Succeeded, Failed, Canceled
    pub status: String,
    pub start_ms: u64,
    pub end_ms: Option<u64>,
    pub due_ms: u64,
    /// Set when the operation must end Failed (fault injection, validation found late).
    pub fail: Option<ArmError>,
    /// Body returned by a finished POST action (`final-state-via: location`).
    pub result: Option<Json>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Resource {
    /// The full ARM representation, as GET returns it.
    pub body: Json,
    /// The operation in progress on it, if any.
    pub op: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Subscription {
    pub id: String,
    pub tenant_id: String,
    pub display_name: String,
    /// Lower-cased namespaces registered; `registering` become registered at their due time.
    pub registered: BTreeSet<String>,
    pub registering: BTreeMap<String, u64>,
    /// Lower-cased name -> resource group body.
    pub resource_groups: BTreeMap<String, Json>,
    /// Lower-cased ARM id -> resource.
    pub resources: BTreeMap<String, Resource>,
    /// Lower-cased "publisher/offer/plan" -> agreement properties.
    pub agreements: BTreeMap<String, Json>,
    /// Enrolled in Red Hat Cloud Access (gold images visible).
    pub cloud_access: bool,
    /// Enrolment requested through Sources; gold images appear at this time.
    pub cloud_access_due: Option<u64>,
    /// Red Hat refused gold image access to the enrolment (it stays enrolled,
    /// without access).
    #[serde(default)]
    pub gold_image_access_failed: bool,
}

/// A hosted Image Builder compose.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Compose {
    pub id: String,
    pub request: Json,
    pub created_ms: u64,
    pub created_at: String,
    /// Final outcome once decided: None while running.
    pub status: Option<String>,
    /// Its image is in ARM (from the start of `registering`).
    #[serde(default)]
    pub delivered: bool,
    pub error: Option<Json>,
    /// Forced failure (fault injection).
    pub fail: Option<Json>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct State {
    signing_key: String,
    pub subscriptions: BTreeMap<String, Subscription>,
    pub operations: BTreeMap<String, Operation>,
    /// RHSM activation keys by name.
    pub activation_keys: BTreeMap<String, Json>,
    /// Counter for private IP addresses handed out.
    pub next_host: u32,
    /// Sources API objects by id.
    pub sources: BTreeMap<String, Json>,
    pub applications: BTreeMap<String, Json>,
    pub authentications: BTreeMap<String, Json>,
    pub next_sources_id: u64,
    pub composes: BTreeMap<String, Compose>,
    /// Tenants where Red Hat's Image Builder app is *not* authorized (control API).
    pub image_builder_unauthorized: BTreeSet<String>,
    /// Every Run Command executed: VM, name, script, exit code, output.
    pub run_log: Vec<Json>,
    /// Failures to hand to the next Run Command on a VM (control API).
    pub run_failures: Vec<Json>,
}

impl State {
    pub fn from_seed(seed: &Seed) -> State {
        use base64::Engine as _;
        let mut s = State {
            signing_key: base64::engine::general_purpose::STANDARD
                .encode(crate::http::random_bytes::<32>()),
            next_host: 4,
            next_sources_id: 100,
            ..Default::default()
        };
        for sub in &seed.subscriptions {
            s.subscriptions.insert(
                sub.id.to_ascii_lowercase(),
                Subscription {
                    id: sub.id.clone(),
                    tenant_id: sub.tenant_id.clone(),
                    display_name: sub.display_name.clone(),
                    registered: sub
                        .registered
                        .iter()
                        .map(|n| n.to_ascii_lowercase())
                        .collect(),
                    ..Default::default()
                },
            );
        }
        s
    }

    pub fn signing_key(&self) -> Vec<u8> {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(&self.signing_key)
            .unwrap_or_default()
    }

    pub fn load(path: &Path) -> Result<State, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        serde_json::from_str(&text)
            .map_err(|e| format!("{}: not an emulator state file: {e}", path.display()))
    }

    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(self)?)?;
        std::fs::rename(tmp, path)
    }

    pub fn subscription(&self, id: &str) -> Option<&Subscription> {
        self.subscriptions.get(&id.to_ascii_lowercase())
    }

    pub fn subscription_mut(&mut self, id: &str) -> Option<&mut Subscription> {
        self.subscriptions.get_mut(&id.to_ascii_lowercase())
    }

    /// Moves the state's own clocks to `now` (Cloud Access grants, provider
    /// registrations) and returns the long-running operations that are due,
    /// which the services complete (`Emulator::state`). `gold_image_access_fails`
    /// is the tunable that makes Red Hat's grant end Failed.
    pub fn advance_clocks(&mut self, now: u64, gold_image_access_fails: bool) -> Vec<String> {
        for sub in self.subscriptions.values_mut() {
            if sub.cloud_access_due.is_some_and(|t| t <= now) {
                sub.cloud_access_due = None;
                if gold_image_access_fails {
                    sub.gold_image_access_failed = true;
                } else {
                    sub.cloud_access = true;
                }
            }
            let due: Vec<String> = sub
                .registering
                .iter()
                .filter(|(_, t)| **t <= now)
                .map(|(n, _)| n.clone())
                .collect();
            for n in due {
                sub.registering.remove(&n);
                sub.registered.insert(n);
            }
        }
        self.operations
            .values()
            .filter(|o| o.status == "InProgress" && o.due_ms <= now)
            .map(|o| o.id.clone())
            .collect()
    }
}
