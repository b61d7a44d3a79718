//! Survival under crashes and faults, with the real Terraform CLI on
//! `examples/quickstart` (six resources across ARM, RHSM, Sources and Image
//! Builder):
//! - the provider SIGKILLed at random points of applies and of a destroy, then
//!   the command run again: it converges with no duplicate and no orphan in
//!   the emulator, and the state file always parses;
//! - storms of 5xx, 429 with Retry-After, connections dropped before and after
//!   the server acted, slow answers and long-running operations that end
//!   `Failed`: every run either succeeds or fails with a clear error, a re-run
//!   converges, and nothing is lost or left behind.
//!
//! The random points come from `CRASH_SEED` (printed; set it to replay a failure).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rhelazure_acceptance_tests::{terraforms, LocalCloud, Workspace, COMMAND_DEADLINE};
use serde_json::json;

/// How many objects of each kind the clouds hold: ARM resources by type, and
/// Red Hat's activation keys, sources, applications and authentications.
fn inventory(cloud: &LocalCloud) -> BTreeMap<String, usize> {
    let state = cloud.state();
    let mut out = BTreeMap::new();
    for sub in state["subscriptions"].as_object().unwrap().values() {
        for id in sub["resources"].as_object().unwrap().keys() {
            let segs: Vec<&str> = id.split('/').collect();
            let kind = match segs
                .iter()
                .rposition(|s| s.eq_ignore_ascii_case("providers"))
            {
                Some(p) => segs[p + 1..]
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| i % 2 == 1 || *i == 0)
                    .map(|(_, s)| s.to_ascii_lowercase())
                    .collect::<Vec<_>>()
                    .join("/"),
                None => "resourcegroups".into(),
            };
            *out.entry(kind).or_default() += 1;
        }
    }
    for coll in [
        "activation_keys",
        "sources",
        "applications",
        "authentications",
    ] {
        out.insert(
            format!("redhat/{coll}"),
            state[coll].as_object().map_or(0, |m| m.len()),
        );
    }
    out
}

/// The inventory a clean apply of the quickstart leaves, on a cloud of its own.
fn reference_inventory(tf: &rhelazure_acceptance_tests::Terraform) -> BTreeMap<String, usize> {
    let cloud = LocalCloud::start();
    let ws = Workspace::quickstart(tf, &cloud);
    ws.run(&["apply", "-auto-approve", "-no-color"]).ok();
    let inv = inventory(&cloud);
    ws.run(&["destroy", "-auto-approve", "-no-color"]).ok();
    inv
}

fn assert_state_file_intact(ws: &Workspace, when: &str) {
    if let Ok(bytes) = std::fs::read(ws.path().join("terraform.tfstate")) {
        let doc: serde_json::Value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("{when}: the state file is not JSON: {e}"));
        assert_eq!(doc["version"], 4, "{when}: state format");
    }
    let show = ws.run(&["show", "-json", "-no-color"]);
    assert_eq!(show.code, 0, "{when}: terraform show: {}", show.all());
}

/// xorshift64*, seeded from `CRASH_SEED` or the clock.
struct Rng(u64);
impl Rng {
    fn from_env() -> Rng {
        let seed = std::env::var("CRASH_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
            });
        eprintln!("CRASH_SEED={seed}");
        Rng(seed | 1)
    }
    fn millis(&mut self, lo: u64, hi: u64) -> Duration {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        Duration::from_millis(lo + self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % (hi - lo))
    }
}

#[test]
fn provider_killed_at_random_points_converges_without_duplicates() {
    let tf = &terraforms()[0];
    let reference = reference_inventory(tf);
    let cloud = LocalCloud::start();
    let baseline = inventory(&cloud);
    // Slow enough that an apply lasts several seconds, so kills land inside it.
    cloud.configure(json!({ "lro_delay_ms": 1200, "compose_phase_ms": 700 }));
    let mut rng = Rng::from_env();
    let ws = Workspace::quickstart(tf, &cloud);
    let mut kills = 0;
    for round in 0..4 {
        let at = rng.millis(300, 4000);
        let started = Instant::now();
        let (killed, ok) =
            ws.apply_killing_provider_when(COMMAND_DEADLINE, || started.elapsed() >= at);
        eprintln!("round {round}: kill at {at:?}: killed {killed}, apply ok {ok}");
        if !killed && !ok {
            let out = std::fs::read_to_string(ws.path().join("killed-run.log")).unwrap_or_default();
            panic!("an apply after a kill failed on its own:\n{out}");
        }
        kills += usize::from(killed);
        assert_state_file_intact(&ws, &format!("after round {round}"));
        if ok {
            break;
        }
    }
    assert!(kills > 0, "the provider was killed at least once");
    let r = ws.run(&["apply", "-auto-approve", "-no-color"]);
    assert_eq!(
        r.code,
        0,
        "after {kills} kills, apply converges: {}",
        r.all()
    );
    ws.assert_no_changes();
    assert_eq!(
        inventory(&cloud),
        reference,
        "after {kills} kills: exactly what a clean apply makes, no duplicate, no orphan"
    );

    // A destroy killed midway, then finished.
    let at = rng.millis(200, 2000);
    let started = Instant::now();
    let destroy = ws.apply_killing_provider_when_args(
        &["destroy", "-auto-approve", "-no-color"],
        COMMAND_DEADLINE,
        || started.elapsed() >= at,
    );
    eprintln!("destroy killed at {at:?}: {destroy:?}");
    assert_state_file_intact(&ws, "after the killed destroy");
    cloud.configure(json!({ "lro_delay_ms": 0 }));
    ws.run(&["destroy", "-auto-approve", "-no-color"]).ok();
    assert_eq!(inventory(&cloud), baseline, "nothing left behind");
}

/// Applies until one succeeds, at most `attempts` times: every failed run
/// ends in a diagnostic (never a crash) and leaves a whole state file, and
/// the next run picks up from there.
fn applies_converge(ws: &Workspace, attempts: usize, when: &str) {
    for attempt in 1..=attempts {
        let r = ws.run(&["apply", "-auto-approve", "-no-color"]);
        assert_state_file_intact(ws, &format!("apply {attempt}"));
        if r.code == 0 {
            return;
        }
        let out = r.all();
        assert!(out.contains("Error:"), "a failure is a diagnostic: {out}");
        assert!(
            !out.contains("panicked") && !out.contains("Plugin did not respond"),
            "the provider survives: {out}"
        );
        eprintln!("apply {attempt} {when} failed cleanly");
    }
    panic!("applies {when} did not converge within {attempts} runs");
}

#[test]
fn fault_storms_end_in_success_or_a_clear_error_and_converge() {
    let tf = &terraforms()[0];
    let reference = reference_inventory(tf);
    let cloud = LocalCloud::start();
    let baseline = inventory(&cloud);
    let storm = [
        json!({ "path": "*", "status": 503, "probability": 0.12 }),
        json!({ "path": "*", "status": 500, "probability": 0.05 }),
        json!({ "path": "*", "status": 429, "retry_after": 1, "probability": 0.08 }),
        json!({ "path": "*", "drop_connection": true, "probability": 0.04 }),
        json!({ "path": "*", "drop_after_serving": true, "probability": 0.04 }),
        json!({ "path": "*", "latency_ms": 400, "probability": 0.1 }),
        json!({ "method": "PUT", "path": "/virtualMachines/", "lro_fail": true, "count": 1 }),
    ];
    let start_storm = || {
        for f in &storm {
            cloud.inject_fault(f.clone());
        }
    };
    start_storm();
    let ws = Workspace::quickstart(tf, &cloud);

    // Under the storm: each run succeeds or says what failed, and a re-run
    // picks up from there.
    applies_converge(&ws, 6, "under the storm");

    // Calm again: nothing to change, nothing duplicated or orphaned.
    assert_eq!(cloud.control("DELETE", "faults", json!(null)).0, 204);
    ws.assert_no_changes();
    assert_eq!(inventory(&cloud), reference, "no duplicate, no orphan");

    // Destroy under the storm too, then finish it calmly.
    start_storm();
    for _ in 0..3 {
        if ws.run(&["destroy", "-auto-approve", "-no-color"]).code == 0 {
            break;
        }
    }
    assert_eq!(cloud.control("DELETE", "faults", json!(null)).0, 204);
    ws.run(&["destroy", "-auto-approve", "-no-color"]).ok();
    assert_eq!(inventory(&cloud), baseline, "nothing left behind");
}

/// Red Hat's services fail too: Red Hat SSO answers 503 and 429, RHSM
/// throttles activation-key creation (429 with Retry-After), an Image Builder
/// compose fails midway, and Sources refuses the enrolment once with 409.
/// Each apply succeeds or fails with a diagnostic, the state file stays
/// whole, a re-run converges, every fault was met, and nothing is
/// duplicated or orphaned.
#[test]
fn red_hat_faults_end_in_success_or_a_clear_error_and_converge() {
    let tf = &terraforms()[0];
    let reference = reference_inventory(tf);
    let cloud = LocalCloud::start();
    let baseline = inventory(&cloud);
    for f in [
        json!({ "path": "/sso/", "status": 503, "count": 2 }),
        json!({ "path": "/sso/", "status": 429, "retry_after": 1, "count": 1 }),
        json!({ "method": "POST", "path": "/api/rhsm/v2/activation_keys", "status": 429, "retry_after": 1, "count": 2 }),
        json!({ "method": "POST", "path": "/api/image-builder/v1/compose", "lro_fail": true, "message": "injected: osbuild failed", "count": 1 }),
        json!({ "method": "POST", "path": "/api/sources/v3.1/bulk_create", "status": 409, "count": 1 }),
    ] {
        cloud.inject_fault(f);
    }
    let ws = Workspace::quickstart(tf, &cloud);
    applies_converge(&ws, 5, "with Red Hat faults");
    let (_, left) = cloud.control("GET", "faults", json!(null));
    assert_eq!(left, json!([]), "every injected fault was met");
    ws.assert_no_changes();
    assert_eq!(inventory(&cloud), reference, "no duplicate, no orphan");
    ws.run(&["destroy", "-auto-approve", "-no-color"]).ok();
    assert_eq!(inventory(&cloud), baseline, "nothing left behind");
}
