//! `make bench`: the provider's own overhead, measured the way Terraform meets
//! it. Each figure is the median of N runs with min and max, next to a
//! reference measured in the same run (spawning `/bin/true` is the floor for
//! "start a process"). Writes benches/results/plugin-overhead.md. Never asserted.

#[path = "support/common.rs"]
mod common;
#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use common::{stats, Stats};

use rhelazure::plugin::proto::tfplugin6 as pb;
use rhelazure::plugin::proto::tfplugin6::provider_client::ProviderClient;
use rhelazure::plugin::value::{msgpack, Value};

const RUNS: usize = 15;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::main]
async fn main() {
    let (pem, der, key) = support::terraform_style_client_cert();
    let mut floor = Vec::new();
    let mut handshake = Vec::new();
    let mut first_schema = Vec::new();
    let mut warm_schema = Vec::new();
    let mut rss = Vec::new();
    let mut schema_bytes = 0;
    let config_type = rhelazure::provider::provider_schema().value_type();
    let config = msgpack::encode(&Value::Object(Default::default()), &config_type).unwrap();

    for _ in 0..RUNS {
        let t = Instant::now();
        std::process::Command::new("/bin/true").status().unwrap();
        floor.push(ms(t.elapsed()));

        let t = Instant::now();
        let mut p = support::start(&[("PLUGIN_CLIENT_CERT", &pem)]);
        handshake.push(ms(t.elapsed()));

        let channel = support::connect(&p, Some((der.clone(), key.clone())))
            .await
            .unwrap();
        let mut client = ProviderClient::new(channel.clone());
        let t = Instant::now();
        let schema = client
            .get_provider_schema(pb::get_provider_schema::Request {})
            .await
            .unwrap()
            .into_inner();
        first_schema.push(ms(t.elapsed()));
        schema_bytes = prost::Message::encoded_len(&schema);
        let t = Instant::now();
        for _ in 0..20 {
            client
                .get_provider_schema(pb::get_provider_schema::Request {})
                .await
                .unwrap();
        }
        warm_schema.push(ms(t.elapsed()) / 20.0);
        client
            .configure_provider(pb::configure_provider::Request {
                terraform_version: "1.11.4".into(),
                config: Some(pb::DynamicValue {
                    msgpack: config.clone(),
                    json: vec![],
                }),
                client_capabilities: None,
            })
            .await
            .unwrap();
        rss.push(peak_rss_kib(p.child.id()) as f64 / 1024.0);
        rhelazure::plugin::proto::plugin::grpc_controller_client::GrpcControllerClient::new(
            channel,
        )
        .shutdown(rhelazure::plugin::proto::plugin::Empty {})
        .await
        .unwrap();
        support::wait_exit(&mut p, Duration::from_secs(5));
    }

    let size = std::fs::metadata(support::BIN)
        .map(|m| m.len())
        .unwrap_or(0) as f64
        / 1_048_576.0;
    let row = |name: &str, s: Stats, unit: &str| {
        format!(
            "| {name} | {:.2} | {:.2} | {:.2} | {unit} |\n",
            s.median, s.min, s.max
        )
    };
    let mut report = String::from("# Plugin overhead\n\n");
    report += &format!(
        "Binary: `{}` ({}), {RUNS} runs each. Machine: {} cores.\n\n",
        // Relative to the repository: a report names no path of the machine
        // that produced it.
        std::path::Path::new(support::BIN)
            .strip_prefix(env!("CARGO_MANIFEST_DIR"))
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| "terraform-provider-rhelazure".into()),
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release profile"
        },
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    report += "| measure | median | min | max | unit |\n|---|---|---|---|---|\n";
    report += &row(
        "spawn `/bin/true` (floor: starting any process)",
        stats(floor),
        "ms",
    );
    report += &row(
        "start -> handshake line (AutoMTLS: server key + cert generated)",
        stats(handshake),
        "ms",
    );
    report += &row(
        "first GetProviderSchema (schema encoded, over mTLS)",
        stats(first_schema),
        "ms",
    );
    report += &row("warm GetProviderSchema", stats(warm_schema), "ms");
    report += &row(
        "peak RSS after GetProviderSchema + ConfigureProvider",
        stats(rss),
        "MiB",
    );
    report += &format!(
        "\nSchema: **{:.1} KiB** on the wire (the GetProviderSchema answer, protobuf: every resource, data source, list, action, ephemeral resource and function).\n",
        schema_bytes as f64 / 1024.0
    );
    report += &format!("\nBinary size: **{size:.1} MiB** (stripped release build). For scale, the published azurerm provider binary is over 230 MB.\n");
    println!("{report}");
    let out =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/results/plugin-overhead.md");
    std::fs::write(&out, report).unwrap();
    println!("written to {}", out.display());
}
