//! `make bench`, Terraform-level figures (never asserted), each measured in
//! the same run as its reference:
//! 1. per-resource overhead over Terraform's floor: `apply` and `plan` of N
//!    `rhelazure_activation_key` against the local cloud (no added latency)
//!    next to N of Terraform's built-in `terraform_data`; plus the provider's
//!    own CPU time per resource (through `benches/support/rusage-wrap.py`);
//! 2. a fleet of `rhelazure_atomic_host` applied and destroyed with the
//!    emulator enforcing an ARM write budget: wall time against the minimum
//!    the budget allows, 429s received;
//! 3. `terraform query` over an estate of N RHEL VMs (Terraform 1.14+):
//!    seconds, and the provider's CPU and peak memory;
//! 4. instructions per created and per refreshed resource, ours and the
//!    plugin floor's, counted by valgrind's callgrind (skipped without
//!    valgrind): a figure that does not move with the machine's load or
//!    speed, as CPU seconds do.
//!
//! Writes `benches/results/terraform-scale.md` and `.svg`, `fleet.md`,
//! `query.md` and `instructions.md`. Knobs: `BENCH_RUNS` (default 5),
//! `BENCH_SIZES` (default `10,100,1000`), `BENCH_FLEET` (default 100),
//! `BENCH_ESTATE` (default `2500,10000`), `BENCH_INSTRUCTIONS` (two sizes,
//! default `100,300`; `none` skips), `BENCH_FLEET_TIMELINE` (a directory: every request of each
//! fleet command, seconds from its start, one file per command, for looking
//! into where a run lost time). Uses the release provider (`make bench`
//! builds it).

#[path = "../../benches/support/common.rs"]
mod common;
#[path = "../../benches/support/svg.rs"]
mod svg;

use common::{env_list, env_or, stats};

use std::fmt::Write as _;
use std::time::Instant;

use rhelazure_acceptance_tests::{repo_root, terraforms, LocalCloud, Terraform, Workspace};
use serde_json::json;

/// Seconds of one Terraform command (which must succeed).
fn timed(ws: &Workspace, args: &[&str]) -> f64 {
    let t = Instant::now();
    ws.run(args).ok();
    t.elapsed().as_secs_f64()
}

const APPLY: [&str; 3] = ["apply", "-auto-approve", "-no-color"];
const PLAN: [&str; 2] = ["plan", "-no-color"];
const DESTROY: [&str; 3] = ["destroy", "-auto-approve", "-no-color"];

fn floor_config(n: usize) -> String {
    format!("resource \"terraform_data\" \"r\" {{\n  count = {n}\n  input = \"bench-${{count.index}}\"\n}}\n")
}

fn key_config(n: usize) -> String {
    format!(
        "resource \"rhelazure_activation_key\" \"r\" {{\n  count         = {n}\n  name          = \"bench-${{count.index}}\"\n  service_level = \"Self-Support\"\n  usage         = \"Development/Test\"\n  role          = \"Red Hat Enterprise Linux Server\"\n}}\n"
    )
}

/// Logs off: the suite's trace logging would measure the logger.
fn quiet(ws: Workspace) -> Workspace {
    ws.env("TF_LOG", "")
}

/// A workspace of N keys whose plugin is `wrapper` (a helper in
/// `benches/support/` standing in under the provider's name) running the
/// real binary in `plugin_dir`. The returned directory holds the wrapper:
/// keep it while the workspace runs.
fn wrapped(
    tf: &Terraform,
    cloud: &LocalCloud,
    plugin_dir: &std::path::Path,
    n: usize,
    wrapper: &str,
) -> (tempfile::TempDir, Workspace) {
    let wrap = tempfile::tempdir().unwrap();
    let shim = wrap.path().join("terraform-provider-rhelazure");
    std::fs::copy(repo_root().join("benches/support").join(wrapper), &shim).unwrap();
    // The workspace reads the plugin directory when it is made; restored
    // after, since what follows (the RPC breakdown) measures the provider.
    let before = std::env::var_os("RHELAZURE_PROVIDER_DIR");
    std::env::set_var("RHELAZURE_PROVIDER_DIR", wrap.path());
    let ws = quiet(Workspace::new(tf, &key_config(n)).cloud(cloud)).env(
        "RHELAZURE_REAL_PROVIDER",
        plugin_dir
            .join("terraform-provider-rhelazure")
            .to_str()
            .unwrap(),
    );
    match before {
        Some(dir) => std::env::set_var("RHELAZURE_PROVIDER_DIR", dir),
        None => std::env::remove_var("RHELAZURE_PROVIDER_DIR"),
    }
    (wrap, ws)
}

/// The CPU seconds for (apply, plan) of N keys of the plugin in `plugin_dir`
/// (the provider or the floor), summed over every plugin process Terraform
/// starts, through the rusage wrapper.
fn provider_cpu(
    tf: &Terraform,
    cloud: &LocalCloud,
    plugin_dir: &std::path::Path,
    n: usize,
) -> (f64, f64) {
    let (wrap, ws) = wrapped(tf, cloud, plugin_dir, n, "rusage-wrap.py");
    let log = wrap.path().join("rusage.log");
    let ws = ws.env("RHELAZURE_RUSAGE_LOG", log.to_str().unwrap());
    let sum = |path: &std::path::Path| -> f64 {
        let total = rusage_lines(path).iter().map(|(cpu, _)| cpu).sum();
        let _ = std::fs::remove_file(path);
        total
    };
    ws.run(&APPLY).ok();
    let apply = sum(&log);
    ws.run(&PLAN).ok();
    let plan = sum(&log);
    ws.run(&DESTROY).ok();
    (apply, plan)
}

fn main() {
    let release = repo_root().join("target/release");
    assert!(
        release.join("terraform-provider-rhelazure").exists(),
        "build the release provider first (make bench does)"
    );
    std::env::set_var("RHELAZURE_PROVIDER_DIR", &release);
    let runs: usize = env_or("BENCH_RUNS", 5);
    // BENCH_SIZES=none or BENCH_FLEET=0 skip a part.
    let sizes: Vec<usize> = env_list("BENCH_SIZES", "10,100,1000");
    let fleet: usize = env_or("BENCH_FLEET", 100);
    let tf = terraforms().remove(0);
    let cloud = LocalCloud::start();

    let mut report = String::new();
    let _ = writeln!(report, "# Terraform-level overhead over terraform_data\n");
    let _ = writeln!(
        report,
        "Terraform {}, release provider, local cloud on loopback (no added latency), {} cores. \
         Median of {runs} runs (min–max). Seconds of wall time per command.\n",
        tf.version,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let _ = writeln!(report, "## Per-resource overhead over the floors\n");
    let _ = writeln!(
        report,
        "Ours: N × `rhelazure_activation_key`, each a real RHSM create (one POST: its answer is the key) and, at plan, a refresh (GET). \
         Plugin floor: the same N resources served by `rhelazure-bench-floor`, this provider's schemas through the \
         same plugin server doing no work (no API call, no plan logic): what any plugin costs Terraform, so \
         ours / plugin floor is this provider's own overhead. Terraform's floor: N × `terraform_data`, built \
         into Terraform (no plugin process at all), which no plugin can reach.\n"
    );
    let _ = writeln!(
        report,
        "| N | command | terraform_data | plugin floor | rhelazure_activation_key | ours / plugin floor | ours / terraform_data | provider CPU per resource | plugin floor CPU per resource |"
    );
    let _ = writeln!(report, "|---|---|---|---|---|---|---|---|---|");
    let floor_dir = floor_plugin();
    let mut chart = Vec::new();
    let mut breakdown = None;
    for &n in &sizes {
        let (mut ta, mut tp, mut fa, mut fp, mut oa, mut op) =
            (vec![], vec![], vec![], vec![], vec![], vec![]);
        for _ in 0..runs {
            let builtin = quiet(Workspace::plain(&tf, &floor_config(n)));
            ta.push(timed(&builtin, &APPLY));
            tp.push(timed(&builtin, &PLAN));
            builtin.run(&DESTROY).ok();
            std::env::set_var("RHELAZURE_PROVIDER_DIR", floor_dir.path());
            let floor = quiet(Workspace::new(&tf, &key_config(n)).cloud(&cloud));
            std::env::set_var("RHELAZURE_PROVIDER_DIR", &release);
            fa.push(timed(&floor, &APPLY));
            fp.push(timed(&floor, &PLAN));
            floor.run(&DESTROY).ok();
            let ours = quiet(Workspace::new(&tf, &key_config(n)).cloud(&cloud));
            oa.push(timed(&ours, &APPLY));
            op.push(timed(&ours, &PLAN));
            ours.run(&DESTROY).ok();
        }
        let (cpu_apply, cpu_plan) = provider_cpu(&tf, &cloud, &release, n);
        // The same measure of the floor: what the plugin protocol alone costs.
        let (floor_apply, floor_plan) = provider_cpu(&tf, &cloud, floor_dir.path(), n);
        for (cmd, builtin, floor, ours, cpu, floor_cpu, per) in [
            ("apply", ta, fa, oa, cpu_apply, floor_apply, "created"),
            ("plan", tp, fp, op, cpu_plan, floor_plan, "refreshed"),
        ] {
            let (t, f, o) = (stats(builtin), stats(floor), stats(ours));
            let _ = writeln!(
                report,
                "| {n} | {cmd} | {:.2} ({:.2}–{:.2}) | {:.2} ({:.2}–{:.2}) | {:.2} ({:.2}–{:.2}) | **{:.2}×** | {:.2}× | {:.3} ms per {per} | {:.3} ms |",
                t.median,
                t.min,
                t.max,
                f.median,
                f.min,
                f.max,
                o.median,
                o.min,
                o.max,
                o.median / f.median,
                o.median / t.median,
                cpu * 1000.0 / n as f64,
                floor_cpu * 1000.0 / n as f64
            );
            chart.push((format!("{cmd} N={n}"), vec![t.median, f.median, o.median]));
        }
        breakdown = Some((n, rpc_breakdown(&tf, &cloud, n)));
        eprintln!("N={n} done");
    }
    if let Some((n, rows)) = breakdown {
        let _ = writeln!(
            report,
            "\n### Where the provider's time goes (N = {n}, one apply then one plan)\n\n\
             Handler time per RPC kind, summed over every provider process Terraform started, from the \
             provider's own `rpc finished` debug lines (the timing ends before the line is written).\n"
        );
        let _ = writeln!(
            report,
            "| RPC | calls | total ms | mean ms |\n|---|---|---|---|"
        );
        for (rpc, calls, total) in rows {
            let _ = writeln!(
                report,
                "| {rpc} | {calls} | {total:.1} | {:.3} |",
                total / calls as f64
            );
        }
    }
    let _ = writeln!(report, "\n![apply and plan times](terraform-scale.svg)\n");

    // A skipped part (BENCH_SIZES=none) leaves its report and chart as they were.
    if !sizes.is_empty() {
        std::fs::write(
            repo_root().join("benches/results/terraform-scale.svg"),
            svg::bar_chart(
                "terraform apply / plan of N resources (median seconds)",
                "s",
                &["terraform_data", "plugin floor", "rhelazure_activation_key"],
                &chart,
            ),
        )
        .unwrap();
        let path = repo_root().join("benches/results/terraform-scale.md");
        std::fs::write(&path, &report).unwrap();
        println!("{report}\nwritten to {}", path.display());
    }
    if fleet > 0 {
        fleet_report(&tf, &cloud, fleet, runs);
    }
    let counted: Vec<usize> = env_list("BENCH_INSTRUCTIONS", "100,300");
    if let [small, large] = counted[..] {
        instructions_report(&tf, &cloud, &release, floor_dir.path(), small, large);
    }
    let estates: Vec<usize> = env_list("BENCH_ESTATE", "2500,10000");
    if !estates.is_empty() {
        match terraforms().into_iter().find(|t| t.at_least(1, 14)) {
            Some(tf) => query_report(&tf, &release, &estates, runs),
            None => eprintln!("query bench skipped: no Terraform 1.14+"),
        }
    }
}

/// Instructions (valgrind's callgrind, every plugin process Terraform
/// starts) of `apply` and of `plan` (a refresh of every key) of N keys.
fn instructions(
    tf: &Terraform,
    cloud: &LocalCloud,
    plugin_dir: &std::path::Path,
    n: usize,
) -> (u64, u64) {
    let out = tempfile::tempdir().unwrap();
    let (_wrap, ws) = wrapped(tf, cloud, plugin_dir, n, "callgrind-wrap.sh");
    let ws = ws.env("RHELAZURE_CALLGRIND_DIR", out.path().to_str().unwrap());
    // The sum of every process's `summary:` (or `totals:`) line; the files are
    // removed so the next command counts only its own processes.
    let take = || -> u64 {
        let mut total = 0;
        for entry in std::fs::read_dir(out.path()).unwrap().flatten() {
            if !entry
                .file_name()
                .to_string_lossy()
                .starts_with("callgrind.out.")
            {
                continue;
            }
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            total += text
                .lines()
                .find_map(|l| {
                    l.strip_prefix("summary:")
                        .or_else(|| l.strip_prefix("totals:"))
                })
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(0);
            let _ = std::fs::remove_file(entry.path());
        }
        total
    };
    ws.run(&APPLY).ok();
    let apply = take();
    ws.run(&PLAN).ok();
    let plan = take();
    ws.run(&DESTROY).ok();
    (apply, plan)
}

/// Instructions per created and per refreshed key, ours and the floor's:
/// the difference between `large` and `small` keys over the difference in
/// keys, so what every command pays once (process starts, handshakes,
/// schemas, loading root certificates) is not spread over the keys.
fn instructions_report(
    tf: &Terraform,
    cloud: &LocalCloud,
    release: &std::path::Path,
    floor: &std::path::Path,
    small: usize,
    large: usize,
) {
    if std::process::Command::new("valgrind")
        .arg("--version")
        .output()
        .is_err()
    {
        return eprintln!("instruction counts skipped: no valgrind");
    }
    let per_key = |dir: &std::path::Path| {
        let (a1, p1) = instructions(tf, cloud, dir, small);
        let (a2, p2) = instructions(tf, cloud, dir, large);
        let keys = (large - small) as f64;
        (
            (a2 as f64 - a1 as f64) / keys,
            (p2 as f64 - p1 as f64) / keys,
            a1,
            p1,
        )
    };
    let (oa, op, oa1, op1) = per_key(release);
    let (fa, fp, fa1, fp1) = per_key(floor);
    let mut report = String::new();
    let _ = writeln!(report, "# Instructions per resource\n");
    let _ = writeln!(
        report,
        "Terraform {}, release builds, local cloud on loopback. Instructions executed by every plugin process \
         Terraform starts, counted by valgrind's callgrind (`benches/support/callgrind-wrap.sh`): the same for the \
         same binaries and inputs whatever the machine's speed or load, so these figures compare across machines \
         and days where CPU seconds do not. Per resource: (count at N = {large} − count at N = {small}) / {}, so \
         what each command pays once (process starts, TLS handshakes, schemas, root certificates) is left out; \
         the whole count at N = {small} is given beside it. Ours: `rhelazure_activation_key` (a real RHSM \
         create, a refresh at plan); plugin floor: `rhelazure-bench-floor`, the same schemas doing no work.\n",
        tf.version,
        large - small
    );
    let _ = writeln!(
        report,
        "| command | ours per resource | plugin floor per resource | ours / floor | ours at N = {small} | floor at N = {small} |"
    );
    let _ = writeln!(report, "|---|---|---|---|---|---|");
    let m = |x: u64| format!("{:.1} M", x as f64 / 1e6);
    for (cmd, per, o, f, o1, f1) in [
        ("apply", "created", oa, fa, oa1, fa1),
        ("plan", "refreshed", op, fp, op1, fp1),
    ] {
        let _ = writeln!(
            report,
            "| {cmd} | {:.0} k per {per} | {:.0} k | **{:.2}×** | {} | {} |",
            o / 1e3,
            f / 1e3,
            o / f,
            m(o1),
            m(f1)
        );
    }
    let path = repo_root().join("benches/results/instructions.md");
    std::fs::write(&path, &report).unwrap();
    println!("{report}\nwritten to {}", path.display());
}

/// The plugin floor, built release (`make bench` builds it), in a directory
/// of its own under the provider's name, for a dev override.
fn floor_plugin() -> tempfile::TempDir {
    let built = repo_root().join("target/release/rhelazure-bench-floor");
    assert!(
        built.exists(),
        "build the plugin floor first: cargo build --release --features bench-floor --bin rhelazure-bench-floor (make bench does)"
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(&built, dir.path().join("terraform-provider-rhelazure")).unwrap();
    dir
}

/// (RPC kind, calls, total handler ms) over one apply and one plan of N
/// keys, read from the provider's `rpc finished` debug lines in
/// Terraform's log; the most expensive first.
fn rpc_breakdown(tf: &Terraform, cloud: &LocalCloud, n: usize) -> Vec<(String, usize, f64)> {
    let log = tempfile::NamedTempFile::new().unwrap();
    let ws = Workspace::new(tf, &key_config(n))
        .cloud(cloud)
        .env("TF_LOG", "")
        .env("TF_LOG_PROVIDER", "DEBUG")
        .env("TF_LOG_PATH", log.path().to_str().unwrap());
    ws.run(&APPLY).ok();
    ws.run(&PLAN).ok();
    let text = std::fs::read_to_string(log.path()).unwrap_or_default();
    ws.env("TF_LOG_PROVIDER", "").run(&DESTROY).ok();
    let mut by_rpc: std::collections::BTreeMap<String, (usize, f64)> = Default::default();
    for line in text.lines().filter(|l| l.contains("rpc finished")) {
        let field = |k: &str| {
            line.split(&format!("{k}="))
                .nth(1)
                .and_then(|v| v.split_whitespace().next())
                .map(|v| v.trim_matches('"').to_string())
        };
        if let (Some(rpc), Some(ms)) = (
            field("rpc"),
            field("duration_ms").and_then(|m| m.parse::<f64>().ok()),
        ) {
            let e = by_rpc.entry(rpc).or_default();
            e.0 += 1;
            e.1 += ms;
        }
    }
    let mut rows: Vec<(String, usize, f64)> =
        by_rpc.into_iter().map(|(k, (c, t))| (k, c, t)).collect();
    rows.sort_by(|a, b| b.2.total_cmp(&a.2));
    rows
}

/// (CPU seconds, peak RSS KiB) of each provider process in a rusage log.
fn rusage_lines(path: &std::path::Path) -> Vec<(f64, f64)> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace().map(|x| x.parse::<f64>().ok());
            Some((f.next()??, f.next().flatten().unwrap_or(0.0)))
        })
        .collect()
}

/// `terraform query` of every RHEL VM of an estate of N, `runs` times per
/// N: wall seconds, and the provider's CPU and peak memory (the process that
/// served the list).
fn query_report(tf: &Terraform, release: &std::path::Path, estates: &[usize], runs: usize) {
    let mut report = String::new();
    let _ = writeln!(
        report,
        "# `terraform query` over a RHEL estate
"
    );
    let _ = writeln!(
        report,
        "Terraform {}, release provider, local cloud on loopback (100 VMs per ARM page). \
         `list \"rhelazure_vm_license\"` with `limit` = N over N pay-as-you-go RHEL VMs. \
         Median of {runs} runs (min–max); provider CPU and peak RSS are the largest of the \
         provider processes of the command (the one that listed).\n",
        tf.version
    );
    let _ = writeln!(
        report,
        "| VMs | query s | provider CPU s | provider peak RSS MiB |"
    );
    let _ = writeln!(report, "|---|---|---|---|");
    for &n in estates {
        let cloud = LocalCloud::start();
        cloud.seed_rhel_vms("estate-", n);
        let wrap = tempfile::tempdir().unwrap();
        std::fs::copy(
            repo_root().join("benches/support/rusage-wrap.py"),
            wrap.path().join("terraform-provider-rhelazure"),
        )
        .unwrap();
        let log = wrap.path().join("rusage.log");
        std::env::set_var("RHELAZURE_PROVIDER_DIR", wrap.path());
        let ws = quiet(Workspace::from_example(tf, "estate-inventory").cloud(&cloud))
            .env(
                "RHELAZURE_REAL_PROVIDER",
                release
                    .join("terraform-provider-rhelazure")
                    .to_str()
                    .unwrap(),
            )
            .env("RHELAZURE_RUSAGE_LOG", log.to_str().unwrap());
        std::env::set_var("RHELAZURE_PROVIDER_DIR", release);
        std::fs::write(
            ws.path().join("estate.tfquery.hcl"),
            format!("list \"rhelazure_vm_license\" \"all\" {{\n  provider = rhelazure\n  limit    = {n}\n}}\n"),
        )
        .unwrap();
        let (mut secs, mut cpu, mut rss) = (vec![], vec![], vec![]);
        for _ in 0..runs {
            let _ = std::fs::remove_file(&log);
            let t = Instant::now();
            let r = ws.run(&["query", "-no-color"]);
            r.ok();
            secs.push(t.elapsed().as_secs_f64());
            let found = r.stdout.lines().filter(|l| l.starts_with("list.")).count();
            assert_eq!(found, n, "every VM listed");
            let procs = rusage_lines(&log);
            cpu.push(procs.iter().map(|p| p.0).fold(0.0, f64::max));
            rss.push(procs.iter().map(|p| p.1).fold(0.0, f64::max) / 1024.0);
        }
        let (s, c, m) = (stats(secs), stats(cpu), stats(rss));
        let _ = writeln!(
            report,
            "| {n} | {:.2} ({:.2}–{:.2}) | {:.2} | {:.1} ({:.1}–{:.1}) |",
            s.median, s.min, s.max, c.median, m.median, m.min, m.max
        );
        eprintln!("estate of {n} done");
    }
    let path = repo_root().join("benches/results/query.md");
    std::fs::write(&path, &report).unwrap();
    println!("{report}\nwritten to {}", path.display());
}

/// Apply and destroy of `fleet` hosts under an ARM write budget, `runs`
/// times: wall time against the minimum the budget allows, 429s.
fn fleet_report(tf: &Terraform, cloud: &LocalCloud, fleet: usize, runs: usize) {
    let (capacity, per_second) = (20.0, 8.0);
    let throttle = |capacity: f64, per_second: f64| {
        let (s, _) = cloud.control(
            "PUT",
            "throttle",
            json!({ "writes": { "capacity": capacity, "per_second": per_second } }),
        );
        assert!(s < 300, "throttle set");
    };
    let sub = cloud.get("ARM_SUBSCRIPTION_ID");
    let hosts = quiet(Workspace::new(tf, &fleet_config(&sub, fleet)).cloud(cloud));
    // The same commands with no budget to speak of: what the workload takes
    // by itself (Terraform's 10 operations at once, each host's operations
    // polled after the Retry-After the local cloud sends).
    throttle(1e9, 1e9);
    let mut unbudgeted: [Vec<f64>; 2] = [vec![], vec![]];
    for _ in 0..runs {
        for (walls, args) in unbudgeted.iter_mut().zip([&APPLY[..], &DESTROY[..]]) {
            walls.push(timed(&hosts, args));
        }
    }
    let mut report = String::new();
    let _ = writeln!(
        report,
        "# Fleet of {fleet} `rhelazure_atomic_host` under an ARM write budget\n"
    );
    let _ = writeln!(
        report,
        "Terraform {}, release provider, local cloud on loopback. The emulator grants {capacity} writes at once, \
         then {per_second} per second (a token bucket, like ARM's per-subscription budget), answering 429 + \
         Retry-After beyond it; each command starts with the whole budget. Minimum = the time the budget \
         needs for the writes made. With no budget = \
         the same commands with the budget lifted: what the workload takes by itself (Terraform's 10 \
         operations at once; each host's network interface and VM created one after the other, each \
         polled after the `Retry-After: 1` the local cloud sends). Median of {runs} \
         apply/destroy cycles (min–max); ARM writes are per command, 429s summed over all runs.\n",
        tf.version
    );
    let _ = writeln!(
        report,
        "| command | wall s | minimum the budget allows s | ours / minimum | with no budget s | ARM writes | answered 429 |"
    );
    let _ = writeln!(report, "|---|---|---|---|---|---|---|");
    let mut rows: Vec<(Vec<f64>, Vec<f64>, usize, usize)> =
        vec![(vec![], vec![], 0, 0), (vec![], vec![], 0, 0)];
    let mut phases: [Vec<[f64; 3]>; 2] = [vec![], vec![]];
    for _ in 0..runs {
        for (row, args) in rows.iter_mut().zip([&APPLY[..], &DESTROY[..]]) {
            // The request log file is cumulative: count only this command's part.
            // Each command starts with the whole budget, as the minimum
            // assumes (else it inherits what the command before it left).
            throttle(capacity, per_second);
            let before = cloud.request_log().len();
            let started = seconds_of_day(std::time::SystemTime::now());
            let secs = timed(&hosts, args);
            let log = cloud.request_log().split_off(before);
            let writes = LocalCloud::arm_writes(&log);
            phases[usize::from(args == &DESTROY[..])].push(write_phases(&log, started, secs));
            if let Ok(dir) = std::env::var("BENCH_FLEET_TIMELINE") {
                // Every request of the command, seconds from its start: for
                // looking into where a run lost time.
                let lines: Vec<String> = log
                    .iter()
                    .filter_map(|e| {
                        let t = log_seconds_of_day(e["time"].as_str()?)?;
                        Some(format!(
                            "{:.3} {} {} {}",
                            (t - started).rem_euclid(86_400.0),
                            e["method"].as_str()?,
                            e["status"],
                            e["path"].as_str()?
                        ))
                    })
                    .collect();
                let _ = std::fs::write(
                    std::path::Path::new(&dir).join(format!("{}.txt", args[0])),
                    lines.join("\n"),
                );
            }
            row.0.push(secs);
            row.1
                .push(((writes as f64 - capacity) / per_second).max(0.0));
            row.2 = writes;
            row.3 += log.iter().filter(|e| e["status"] == 429).count();
        }
    }
    let write_counts: Vec<usize> = rows.iter().map(|r| r.2).collect();
    for (((wall, minimum, writes, throttled), cmd), free) in
        rows.into_iter().zip(["apply", "destroy"]).zip(unbudgeted)
    {
        let (w, m, f) = (stats(wall), stats(minimum), stats(free));
        let _ = writeln!(
            report,
            "| {cmd} | {:.1} ({:.1}–{:.1}) | {:.1} | **{:.2}×** | {:.1} ({:.1}–{:.1}) | {writes} | {throttled} (over {runs} runs) |",
            w.median,
            w.min,
            w.max,
            m.median,
            w.median / m.median,
            f.median,
            f.min,
            f.max
        );
    }
    let _ = writeln!(
        report,
        "\nWhere the wall time goes (median seconds): before the first ARM write (Terraform, \
         start-up, reads), from the first write to the last (the budget's part), and after the last \
         write (the last operations finishing, Terraform saving state). Times come from the local \
         cloud's request log.\n"
    );
    let _ = writeln!(
        report,
        "| command | before the first write | first to last write | minimum for the writes after the first {capacity} | after the last write |"
    );
    let _ = writeln!(report, "|---|---|---|---|---|");
    for ((cmd, ph), writes) in ["apply", "destroy"].iter().zip(&phases).zip(&write_counts) {
        let col = |i: usize| stats(ph.iter().map(|p| p[i]).collect()).median;
        let _ = writeln!(
            report,
            "| {cmd} | {:.1} | {:.1} | {:.1} | {:.1} |",
            col(0),
            col(1),
            ((*writes as f64 - capacity) / per_second).max(0.0),
            col(2)
        );
    }
    let path = repo_root().join("benches/results/fleet.md");
    std::fs::write(&path, &report).unwrap();
    println!("{report}\nwritten to {}", path.display());
}

/// Seconds since midnight UTC: the local cloud logs wall-clock times.
fn seconds_of_day(t: std::time::SystemTime) -> f64 {
    let d = t.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    d.as_secs_f64() % 86_400.0
}

/// Seconds since midnight of a log line's `time` (`…THH:MM:SS.ffffff…`).
fn log_seconds_of_day(time: &str) -> Option<f64> {
    let clock = time.split('T').nth(1)?;
    let mut parts = clock.splitn(3, ':');
    let (h, m) = (
        parts.next()?.parse::<f64>().ok()?,
        parts.next()?.parse::<f64>().ok()?,
    );
    let rest = parts.next()?;
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    Some(h * 3600.0 + m * 60.0 + rest[..end].parse::<f64>().ok()?)
}

/// A command's ARM writes in time, from the request log: seconds from its
/// start to the first write, from the first write to the last, and from the
/// last to the command's end (`wall`).
fn write_phases(log: &[serde_json::Value], started: f64, wall: f64) -> [f64; 3] {
    let since_start = |e: &serde_json::Value| {
        let t = log_seconds_of_day(e["time"].as_str()?)?;
        Some((t - started).rem_euclid(86_400.0))
    };
    let writes: Vec<f64> = log
        .iter()
        .filter(|e| LocalCloud::arm_writes(std::slice::from_ref(*e)) == 1)
        .filter_map(since_start)
        .collect();
    let first = writes.iter().cloned().fold(f64::INFINITY, f64::min);
    let last = writes.iter().cloned().fold(0.0, f64::max);
    if writes.is_empty() {
        return [wall, 0.0, 0.0];
    }
    [first, last - first, (wall - last).max(0.0)]
}

fn fleet_config(sub: &str, n: usize) -> String {
    format!(
        r#"
resource "rhelazure_atomic_host" "h" {{
  count               = {n}
  name                = "fleet${{count.index}}"
  resource_group_name = "rhel-demo"
  location            = "eastus"
  subnet_id           = "/subscriptions/{sub}/resourceGroups/rhel-demo/providers/Microsoft.Network/virtualNetworks/rhel-demo-vnet/subnets/hosts"
  size                = "Standard_B1s"
  ssh_public_keys     = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBenchKey ops@example"]
  marketplace_image = {{
    publisher = "RedHat"
    offer     = "RHEL"
    sku       = "9-lvm-gen2"
  }}
  containers = [{{ name = "web", image = "registry.access.redhat.com/ubi9/httpd-24", ports = ["8080:8080"] }}]
}}
"#
    )
}
