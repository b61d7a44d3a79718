//! The sweeper: deletes what the acceptance suite made, in Azure and at Red
//! Hat, by its marks alone, so a run that was interrupted (a killed
//! process, a lost machine) leaves nothing on a real bill for long.
//!
//! What carries the suite's marks ([`crate::target::SUITE_PREFIX`] in the
//! name, [`crate::target::SUITE_TAG`] on Azure objects):
//! - resource groups (everything a scenario makes in Azure is in its run's
//!   group, so deleting the group deletes it all);
//! - RHSM activation keys, Sources (Cloud Access) integrations and Image
//!   Builder composes (by image name; the API deletes a compose's record,
//!   its image lives in the run's resource group);
//! - Marketplace terms the suite accepted: only those its journal lists
//!   (terms accepted before a run are never in it), cancelled when still
//!   accepted.
//!
//! `make sweep-real` sweeps the whole suite's marks on real accounts
//! (`cargo run -p rhelazure-acceptance-tests --bin sweep-real`); every
//! target sweeps its own run when it ends.

use std::path::Path;
use std::time::Duration;

use crate::services::Services;
use crate::target::{SUITE_PREFIX, SUITE_TAG};

/// Whose leftovers to delete.
#[derive(Clone, Debug)]
pub enum Scope {
    /// Everything with the suite's marks (the sweeper).
    Suite,
    /// One run's (a target at its end).
    Run(String),
}

impl Scope {
    fn name_matches(&self, name: &str) -> bool {
        let name = name.to_ascii_lowercase();
        match self {
            Scope::Suite => name.starts_with(SUITE_PREFIX),
            Scope::Run(id) => {
                name.starts_with(&format!("{SUITE_PREFIX}-{id}-"))
                    || name.starts_with(&format!("{SUITE_PREFIX}{id}"))
            }
        }
    }

    fn tag_matches(&self, tags: &serde_json::Value) -> bool {
        match (self, tags[SUITE_TAG].as_str()) {
            (Scope::Suite, Some(_)) => true,
            (Scope::Run(id), Some(run)) => run == id,
            _ => false,
        }
    }

    fn run_matches(&self, run: &str) -> bool {
        match self {
            Scope::Suite => true,
            Scope::Run(id) => run == id,
        }
    }
}

/// What a sweep deleted (or cancelled).
#[derive(Debug, Default)]
pub struct Swept {
    pub resource_groups: Vec<String>,
    pub activation_keys: Vec<String>,
    pub sources: Vec<String>,
    pub composes: Vec<String>,
    pub terms: Vec<String>,
    /// What could not be deleted, with the service's answer.
    pub failures: Vec<String>,
}

impl std::fmt::Display for Swept {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (what, list) in [
            ("resource groups", &self.resource_groups),
            ("activation keys", &self.activation_keys),
            ("Cloud Access sources", &self.sources),
            ("Image Builder composes", &self.composes),
            ("Marketplace terms cancelled", &self.terms),
            ("could not delete", &self.failures),
        ] {
            writeln!(
                f,
                "{what}: {}",
                if list.is_empty() {
                    "none".to_string()
                } else {
                    list.join(", ")
                }
            )?;
        }
        Ok(())
    }
}

/// The ARM path of Marketplace terms (`MarketplaceAgreements_Get`).
pub fn agreement_path(sub: &str, publisher: &str, offer: &str, plan: &str) -> String {
    format!("/subscriptions/{sub}/providers/Microsoft.MarketplaceOrdering/offerTypes/virtualmachine/publishers/{publisher}/offers/{offer}/plans/{plan}/agreements/current?api-version=2021-01-01")
}

/// Every page of an ARM list (`value` + `nextLink`).
fn arm_list(services: &Services, path: &str) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    let mut next = Some(path.to_string());
    while let Some(p) = next.take() {
        let (s, body) = services.arm("GET", &p, None);
        if s != 200 {
            break;
        }
        out.extend(body["value"].as_array().cloned().unwrap_or_default());
        next = body["nextLink"]
            .as_str()
            .and_then(|l| l.strip_prefix(&services.arm_endpoint()).map(str::to_string));
    }
    out
}

/// Every item of a Red Hat list paged by `limit` / `offset` (`data`).
fn redhat_list(services: &Services, path: &str) -> Vec<serde_json::Value> {
    const PAGE: usize = 100;
    let mut out = Vec::new();
    let join = if path.contains('?') { '&' } else { '?' };
    loop {
        let (s, body) = services.redhat(
            "GET",
            &format!("{path}{join}limit={PAGE}&offset={}", out.len()),
            None,
        );
        let page = body["data"].as_array().cloned().unwrap_or_default();
        if s != 200 || page.is_empty() {
            break;
        }
        let n = page.len();
        out.extend(page);
        if n < PAGE {
            break;
        }
    }
    out
}

/// Deletes everything `scope` covers; resource groups are waited for (up
/// to `patience`), so a sweep that returns has left nothing behind.
pub fn sweep(services: &Services, scope: &Scope, journal: &Path, patience: Duration) -> Swept {
    sweep_or_list(services, scope, journal, patience, false)
}

/// [`sweep`], or with `dry_run` only what it would delete (nothing changes).
pub fn sweep_or_list(
    services: &Services,
    scope: &Scope,
    journal: &Path,
    patience: Duration,
    dry_run: bool,
) -> Swept {
    let mut swept = Swept::default();
    let sub = services.get("ARM_SUBSCRIPTION_ID");

    // Marketplace terms first: a cancelled agreement needs nothing else.
    if let Ok(text) = std::fs::read_to_string(journal) {
        let mut kept = String::new();
        for line in text.lines() {
            let Ok(t) = serde_json::from_str::<serde_json::Value>(line) else {
                continue;
            };
            if !scope.run_matches(t["run"].as_str().unwrap_or("")) {
                kept.push_str(line);
                kept.push('\n');
                continue;
            }
            let (p, o, plan) = (
                t["publisher"].as_str().unwrap_or(""),
                t["offer"].as_str().unwrap_or(""),
                t["plan"].as_str().unwrap_or(""),
            );
            let (s, b) = services.arm("GET", &agreement_path(&sub, p, o, plan), None);
            if s == 200 && b["properties"]["accepted"] == serde_json::json!(true) && dry_run {
                swept.terms.push(format!("{p}:{o}:{plan}"));
                kept.push_str(line);
                kept.push('\n');
            } else if s == 200 && b["properties"]["accepted"] == serde_json::json!(true) {
                let cancel = format!("/subscriptions/{sub}/providers/Microsoft.MarketplaceOrdering/agreements/{p}/offers/{o}/plans/{plan}/cancel?api-version=2021-01-01");
                match services.arm("POST", &cancel, None) {
                    (200, _) => swept.terms.push(format!("{p}:{o}:{plan}")),
                    (s, b) => {
                        swept
                            .failures
                            .push(format!("terms {p}:{o}:{plan}: {s} {b}"));
                        kept.push_str(line);
                        kept.push('\n');
                    }
                }
            }
        }
        let _ = std::fs::write(journal, kept);
    }

    // Resource groups: by name or by tag; deletes run side by side.
    let groups: Vec<String> = arm_list(
        services,
        &format!("/subscriptions/{sub}/resourcegroups?api-version=2024-03-01"),
    )
    .into_iter()
    .filter(|g| {
        let name = g["name"].as_str().unwrap_or("");
        scope.name_matches(name) || scope.tag_matches(&g["tags"])
    })
    .filter_map(|g| g["name"].as_str().map(str::to_string))
    .collect();
    if dry_run {
        swept.resource_groups = groups;
        return list_redhat(services, scope, swept);
    }
    for name in &groups {
        let path = format!("/subscriptions/{sub}/resourcegroups/{name}?api-version=2024-03-01");
        match services.arm("DELETE", &path, None) {
            (200 | 202 | 204 | 404, _) => {}
            (s, b) => swept
                .failures
                .push(format!("resource group {name}: {s} {b}")),
        }
    }
    for name in &groups {
        let path = format!("/subscriptions/{sub}/resourcegroups/{name}?api-version=2024-03-01");
        let gone = wait(patience, || services.arm("GET", &path, None).0 == 404);
        if gone {
            swept.resource_groups.push(name.clone());
        } else {
            swept.failures.push(format!(
                "resource group {name}: still there after {patience:?}"
            ));
        }
    }

    delete_redhat(services, scope, swept)
}

/// The Red Hat objects `scope` covers, by kind: (kind, name, delete path).
fn redhat_leftovers(services: &Services, scope: &Scope) -> Vec<(&'static str, String, String)> {
    let mut out = Vec::new();
    let (s, keys) = services.redhat("GET", "/api/rhsm/v2/activation_keys", None);
    if s == 200 {
        for k in keys["body"].as_array().into_iter().flatten() {
            if let Some(name) = k["name"].as_str().filter(|n| scope.name_matches(n)) {
                out.push((
                    "key",
                    name.to_string(),
                    format!("/api/rhsm/v2/activation_keys/{name}"),
                ));
            }
        }
    }
    for source in redhat_list(services, "/api/sources/v3.1/sources") {
        if let (Some(name), Some(id)) = (source["name"].as_str(), source["id"].as_str()) {
            if scope.name_matches(name) {
                out.push((
                    "source",
                    name.to_string(),
                    format!("/api/sources/v3.1/sources/{id}"),
                ));
            }
        }
    }
    for compose in redhat_list(services, "/api/image-builder/v1/composes") {
        if let (Some(name), Some(id)) = (compose["image_name"].as_str(), compose["id"].as_str()) {
            if scope.name_matches(name) {
                out.push((
                    "compose",
                    format!("{name} ({id})"),
                    format!("/api/image-builder/v1/composes/{id}"),
                ));
            }
        }
    }
    out
}

fn file_under(swept: &mut Swept, kind: &str, name: String) {
    match kind {
        "key" => swept.activation_keys.push(name),
        "source" => swept.sources.push(name),
        _ => swept.composes.push(name),
    }
}

fn list_redhat(services: &Services, scope: &Scope, mut swept: Swept) -> Swept {
    for (kind, name, _) in redhat_leftovers(services, scope) {
        file_under(&mut swept, kind, name);
    }
    swept
}

fn delete_redhat(services: &Services, scope: &Scope, mut swept: Swept) -> Swept {
    for (kind, name, path) in redhat_leftovers(services, scope) {
        match services.redhat("DELETE", &path, None) {
            (200 | 202 | 204 | 404, _) => file_under(&mut swept, kind, name),
            (s, b) => swept.failures.push(format!("{kind} {name}: {s} {b}")),
        }
    }
    swept
}

/// Polls `done` until it holds or `within` passes; whether it held.
fn wait(within: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + within;
    let mut pause = Duration::from_millis(50);
    loop {
        if done() {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_secs(10));
    }
}
