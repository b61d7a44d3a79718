//! Crash testing at chosen events: the provider is SIGKILLed right after a
//! named request reached the local cloud (a create answered, a poll of a
//! long-running operation, a delete) or midway through a blob upload, never
//! at a guessed wall-clock time; and the [`Inventory`] that says, by id, what
//! a run left in both clouds, so that a duplicate, an orphan or a lost object
//! after a kill is visible.
//!
//! The request kills use the emulator's `hold_ms` fault: the local cloud
//! serves the request and logs it, then holds the answer while the harness
//! (which sees the one-shot fault consumed) kills the provider. So the
//! service acted and the provider never heard, the hardest case for
//! idempotency. With `hold: false` the answer is sent and the kill follows
//! it at once (the provider heard, Terraform never did).

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde_json::{json, Value as Json};

use crate::{LocalCloud, Workspace, COMMAND_DEADLINE};

/// Where a [`KillPoint`] fires.
#[derive(Clone, Debug)]
pub enum KillAt {
    /// The first request with this method whose path contains `path`
    /// (case-insensitive), served by the local cloud.
    Request {
        method: &'static str,
        path: &'static str,
    },
    /// Once the page blob `container/blob` of the storage account (ARM id)
    /// holds at least `at_least` bytes of data: midway through an upload
    /// (blob traffic goes straight to Azurite, so this reads its page list).
    BlobBytes {
        account: String,
        blob: String,
        at_least: u64,
    },
}

/// A named event to kill the provider at.
#[derive(Clone, Debug)]
pub struct KillPoint {
    /// What happened, e.g. "VM create answered".
    pub event: &'static str,
    pub at: KillAt,
}

impl KillPoint {
    pub const fn request(event: &'static str, method: &'static str, path: &'static str) -> Self {
        KillPoint {
            event,
            at: KillAt::Request { method, path },
        }
    }
}

impl fmt::Display for KillPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.at {
            KillAt::Request { method, path } => write!(f, "{} ({method} …{path}…)", self.event),
            KillAt::BlobBytes { blob, at_least, .. } => {
                write!(f, "{} ({blob} holds {at_least} bytes)", self.event)
            }
        }
    }
}

impl Workspace {
    /// Runs `terraform <args>` and SIGKILLs the provider at `point`. With
    /// `hold`, a request point's answer is held until the provider is dead
    /// (the service acted, the provider never heard). Returns whether the
    /// point was reached (and the provider killed there).
    pub fn run_killed_at(
        &self,
        cloud: &LocalCloud,
        args: &[&str],
        point: &KillPoint,
        hold: bool,
    ) -> bool {
        match &point.at {
            KillAt::Request { method, path } => {
                let (status, fault) = cloud.control(
                    "POST",
                    "faults",
                    json!({ "method": method, "path": path, "count": 1, "hold_ms": if hold { 20_000 } else { 0 } }),
                );
                assert_eq!(status, 201, "the emulator took the kill point: {fault}");
                let id = fault["id"].clone();
                let fired = || {
                    let (_, faults) = cloud.control("GET", "faults", Json::Null);
                    !faults
                        .as_array()
                        .is_some_and(|fs| fs.iter().any(|f| f["id"] == id))
                };
                let (killed, _) =
                    self.apply_killing_provider_when_args(args, COMMAND_DEADLINE, fired);
                if !killed {
                    // Never reached: take the trap away before anything else runs.
                    assert_eq!(cloud.control("DELETE", "faults", Json::Null).0, 204);
                }
                killed
            }
            KillAt::BlobBytes {
                account,
                blob,
                at_least,
            } => {
                let (killed, _) =
                    self.apply_killing_provider_when_args(args, COMMAND_DEADLINE, || {
                        cloud.page_blob_bytes(account, blob) >= *at_least
                    });
                killed
            }
        }
    }
}

/// What both clouds hold, by id: ARM resources and resource groups (ids
/// lower-cased, the random suffix of OS disk names masked), accepted
/// Marketplace terms, activation keys, Cloud Access sources with their
/// applications and authentications (by source name: Sources numbers
/// them), Image Builder composes (by image name: their ids are random) and
/// blobs. A count above 1 is a duplicate.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Inventory(pub BTreeMap<String, i64>);

impl Inventory {
    /// What changed from `before` to `self` (keys whose count moved, with
    /// the change): a run's footprint.
    pub fn since(&self, before: &Inventory) -> BTreeMap<String, i64> {
        let mut out = BTreeMap::new();
        for k in self.0.keys().chain(before.0.keys()) {
            let d = self.0.get(k).copied().unwrap_or(0) - before.0.get(k).copied().unwrap_or(0);
            if d != 0 {
                out.insert(k.clone(), d);
            }
        }
        out
    }
}

/// How `got` differs from `want` (two footprints), one line per id:
/// duplicates and orphans (more than a clean run makes) and lost objects
/// (fewer).
pub fn footprint_differences(
    want: &BTreeMap<String, i64>,
    got: &BTreeMap<String, i64>,
) -> Vec<String> {
    let mut out = Vec::new();
    for k in want
        .keys()
        .chain(got.keys().filter(|k| !want.contains_key(*k)))
    {
        let (w, g) = (
            want.get(k).copied().unwrap_or(0),
            got.get(k).copied().unwrap_or(0),
        );
        if g > w {
            out.push(format!("extra (duplicate or orphan): {k} ({g} vs {w})"));
        } else if g < w {
            out.push(format!("lost: {k} ({g} vs {w})"));
        }
    }
    out
}

/// Hex runs of 32 (the suffix Azure gives OS disk names) read as `*`, so the
/// same disk of two runs has one key.
fn mask_random_suffix(id: &str) -> String {
    let mut out = String::new();
    let mut run = String::new();
    for c in id.chars().chain(std::iter::once('/')) {
        if c.is_ascii_hexdigit() {
            run.push(c);
            continue;
        }
        out.push_str(if run.len() == 32 { "*" } else { &run });
        run.clear();
        out.push(c);
    }
    out.pop();
    out
}

impl LocalCloud {
    /// Everything both clouds hold now (see [`Inventory`]).
    pub fn inventory(&self) -> Inventory {
        let state = self.state();
        let mut inv = BTreeMap::<String, i64>::new();
        let mut add = |k: String| *inv.entry(k).or_default() += 1;
        let mut accounts = Vec::new();
        for sub in state["subscriptions"].as_object().into_iter().flatten() {
            let sub = sub.1;
            for rg in sub["resource_groups"].as_object().into_iter().flatten() {
                add(format!("arm resourcegroup {}", rg.0));
            }
            for id in sub["resources"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|r| r.0)
            {
                if id.contains("/microsoft.storage/storageaccounts/")
                    && !id.contains("/blobservices")
                {
                    accounts.push(id.clone());
                }
                add(format!("arm {}", mask_random_suffix(id)));
            }
            for (k, a) in sub["agreements"].as_object().into_iter().flatten() {
                if a["accepted"] == true {
                    add(format!("terms accepted {k}"));
                }
            }
        }
        for k in state["activation_keys"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|k| k.0)
        {
            add(format!("activation key {k}"));
        }
        let source_name = |id: &Json| {
            let id = match id {
                Json::String(s) => s.clone(),
                other => other.to_string(),
            };
            state["sources"][&id]["name"]
                .as_str()
                .map_or(format!("source #{id}"), str::to_string)
        };
        for s in state["sources"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|s| s.1)
        {
            add(format!("source {}", s["name"].as_str().unwrap_or("?")));
        }
        for a in state["applications"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|a| a.1)
        {
            add(format!(
                "source application {}/{}",
                source_name(&a["source_id"]),
                a["application_type_id"]
            ));
        }
        for a in state["authentications"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|a| a.1)
        {
            add(format!(
                "source authentication {} {}",
                a["resource_type"].as_str().unwrap_or("?"),
                a["authtype"].as_str().unwrap_or("?")
            ));
        }
        // A failed compose made nothing; what a kill must not leave is a
        // second running or finished build of the same image.
        for c in state["composes"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|c| c.1)
        {
            if c["status"] == "failure" {
                continue;
            }
            add(format!(
                "compose {}",
                c["request"]["image_name"].as_str().unwrap_or("?")
            ));
        }
        // Every storage account of the local cloud is Azurite's one account:
        // list it once, through the first account's SAS.
        if let Some(account) = accounts.first() {
            for blob in self.blobs(account) {
                add(format!("blob {blob}"));
            }
        }
        Inventory(inv)
    }

    /// An account SAS for Azurite's blobs (read, list, write, create),
    /// through the storage account `account`; asked once per account.
    pub(crate) fn account_sas(&self, account: &str) -> String {
        let mut cache = self.sas.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(sas) = cache.get(account) {
            return sas.clone();
        }
        let (status, body) = self.arm(
            "POST",
            &format!("{account}/ListAccountSas?api-version=2023-05-01"),
            Some(json!({ "signedServices": "b", "signedResourceTypes": "sco", "signedPermission": "rlwc", "signedExpiry": "2099-01-01T00:00:00Z" })),
        );
        assert_eq!(status, 200, "listAccountSas: {body}");
        let sas = body["accountSasToken"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        cache.insert(account.to_string(), sas.clone());
        sas
    }

    /// Every blob in Azurite, as `container/blob`.
    pub fn blobs(&self, account: &str) -> Vec<String> {
        let sas = self.account_sas(account);
        let endpoint = self.get("RHELAZURE_BLOB_ENDPOINT");
        let names = |xml: &str, tag: &str| -> Vec<String> {
            // Names sit in <Container><Name>...</Name> / <Blob><Name>...</Name>.
            xml.split(&format!("<{tag}>"))
                .skip(1)
                .filter_map(|s| {
                    let s = s.split("<Name>").nth(1)?;
                    Some(s[..s.find("</Name>")?].to_string())
                })
                .collect()
        };
        let containers = self.blob_get(&format!("{endpoint}?comp=list&{sas}"));
        let mut out = Vec::new();
        for c in names(&containers, "Container") {
            let blobs = self.blob_get(&format!("{endpoint}/{c}?restype=container&comp=list&{sas}"));
            out.extend(
                names(&blobs, "Blob")
                    .into_iter()
                    .map(|b| format!("{c}/{b}")),
            );
        }
        out
    }

    /// Bytes of data in the page blob `container/blob` (the sum of its
    /// page ranges); 0 when it does not exist.
    pub fn page_blob_bytes(&self, account: &str, blob: &str) -> u64 {
        let sas = self.account_sas(account);
        let xml = self.blob_get(&format!(
            "{}/{blob}?comp=pagelist&{sas}",
            self.get("RHELAZURE_BLOB_ENDPOINT")
        ));
        let mut total = 0;
        for range in xml.split("<PageRange>").skip(1) {
            let num = |tag: &str| -> Option<u64> {
                let s = range.split(&format!("<{tag}>")).nth(1)?;
                s[..s.find('<')?].parse().ok()
            };
            if let (Some(start), Some(end)) = (num("Start"), num("End")) {
                total += end + 1 - start;
            }
        }
        total
    }
}

/// A SplitMix64 generator: seeded soak and crash runs replay exactly.
pub struct Rng(u64, u64);

impl Rng {
    /// Seeded from `var` when it is set (to replay a run), else from the
    /// clock; the seed is printed either way.
    pub fn from_env(var: &str) -> Rng {
        let seed = std::env::var(var)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or(Duration::ZERO)
                    .as_nanos() as u64
            });
        eprintln!("{var}={seed}");
        Rng(seed, seed)
    }

    /// The seed it started from (to replay the run).
    pub fn seed(&self) -> u64 {
        self.1
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}
