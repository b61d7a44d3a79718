//! Fuzzing that reaches the cloud code: a provider *configured* against the
//! in-process local cloud (ARM, Entra ID and Red Hat's APIs) takes random
//! but well-typed calls (see `support/fuzz_typed.rs`): reads, plans of
//! creates and updates, applies of creates, updates and deletes, imports,
//! data sources, ephemeral open / renew / close, lists and actions. The
//! only property checked is that nothing panics; that the calls got past
//! decoding into the resource code is checked by the local cloud's request
//! log. `FUZZ_SEED=<n>` replays a run; `FUZZ_TYPED_INPUTS=<n>` runs longer.

use std::sync::Arc;
use std::time::Duration;

mod emulated;
#[path = "support/fuzz_run.rs"]
mod fuzz_run;
#[path = "support/fuzz_typed.rs"]
mod fuzz_typed;

use rhelazure::plugin::proto::tfplugin6 as pb;
use rhelazure::plugin::proto::tfplugin6::provider_server::Provider as _;
use rhelazure::plugin::value::{msgpack, Type, Value};

const INPUTS: usize = 1_500;
/// How long one call may wait on the cloud before it is dropped.
const CALL_LIMIT: Duration = Duration::from_secs(2);

#[test]
fn typed_inputs_drive_a_configured_provider_into_the_cloud_without_a_panic() {
    let cloud = emulated::EmulatedCloud::start(Duration::ZERO);
    // The provider reads its settings from the environment, as users set
    // them (this test binary runs nothing else that reads it).
    for (k, v) in cloud.all_env() {
        std::env::set_var(k, v);
    }
    let svc = fuzz_typed::Service::new(Arc::new(rhelazure::resources::registry()));
    let provider_ty = rhelazure::provider::provider_schema().value_type();
    let null_config = match &provider_ty {
        Type::Object(o) => {
            Value::Object(o.attrs.keys().map(|k| (k.clone(), Value::Null)).collect())
        }
        _ => Value::Null,
    };
    let configured = cloud.run(svc.configure_provider(tonic::Request::new(
        pb::configure_provider::Request {
            terraform_version: "1.11.4".into(),
            config: Some(pb::DynamicValue {
                msgpack: msgpack::encode(&null_config, &provider_ty).unwrap(),
                json: Vec::new(),
            }),
            ..Default::default()
        },
    )));
    let diags = configured
        .expect("configure answers")
        .into_inner()
        .diagnostics;
    assert!(
        diags
            .iter()
            .all(|d| d.severity != pb::diagnostic::Severity::Error as i32),
        "the provider configures against the local cloud: {diags:?}"
    );
    let typed = Arc::new(fuzz_typed::Typed::new(
        svc,
        &cloud.env("ARM_SUBSCRIPTION_ID"),
    ));

    let seed = fuzz_run::seed();
    let inputs = fuzz_run::inputs("FUZZ_TYPED_INPUTS", INPUTS);
    eprintln!("typed fuzz: FUZZ_SEED={seed} ({inputs} inputs)");
    let mut rng = fuzz_run::Rng::new(seed);
    let mut timed_out = 0;
    for i in 0..inputs {
        let len = 16 + rng.below(240);
        let input: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
        let shown = input.clone();
        let task_typed = typed.clone();
        let run = cloud.run(async move {
            let task = tokio::spawn(async move { task_typed.exercise(&input).await });
            tokio::time::timeout(CALL_LIMIT, task).await
        });
        match run {
            Ok(Ok(())) => {}
            Ok(Err(e)) if e.is_panic() => {
                panic!("typed input #{i} (FUZZ_SEED={seed}) panicked the provider: {shown:02x?}")
            }
            Ok(Err(_)) => {}
            // A call still waiting on the cloud after CALL_LIMIT (a long-running
            // create) is dropped, as Terraform's cancellation would.
            Err(_) => {
                if std::env::var_os("FUZZ_SHOW_TIMEOUTS").is_some() {
                    eprintln!("timed out: {}", typed.describe(&shown));
                }
                timed_out += 1
            }
        }
    }
    let log = cloud.requests();
    let cloud_calls = log
        .iter()
        .filter(|e| {
            let p = e["path"].as_str().unwrap_or("");
            p.starts_with("/subscriptions/") || p.starts_with("/redhat/")
        })
        .count();
    eprintln!(
        "typed fuzz: {inputs} inputs, {cloud_calls} calls reached ARM or Red Hat, {timed_out} timed out"
    );
    assert!(
        cloud_calls >= inputs / 20,
        "the typed inputs reach the cloud code ({cloud_calls} API calls for {inputs} inputs)"
    );
}
