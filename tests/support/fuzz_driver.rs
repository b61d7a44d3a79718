//! One fuzz input → one protocol call into the real provider service, called
//! in process exactly as the gRPC server would be, but without a network.
//! Shared by `fuzz/fuzz_targets/plugin_inputs.rs` (cargo fuzz) and
//! `tests/fuzz_replay.rs` (corpus replay and a bounded random run in `make test`).
//!
//! Layout of an input: byte 0 picks the call, byte 1 the resource / data
//! source / function, the rest is the payload (msgpack or JSON bytes as
//! Terraform would send them, or an import id). The only property checked is
//! the one that matters: no panic; bad bytes end as diagnostics.
#![allow(dead_code)] // each includer uses part of it

use std::sync::{Arc, OnceLock};

use rhelazure::plugin::proto::tfplugin6 as pb;
use rhelazure::plugin::proto::tfplugin6::provider_server::Provider as _;
use rhelazure::plugin::server::GrpcProvider;
use rhelazure::plugin::service::ProviderService as _;

type Service = GrpcProvider<rhelazure::framework::Registry<rhelazure::provider::ProviderData>>;

/// The service and the names inputs pick from: resources, data sources, functions.
type Target = (Service, Vec<String>, Vec<String>, Vec<String>);

fn service() -> &'static Target {
    static S: OnceLock<Target> = OnceLock::new();
    S.get_or_init(|| {
        let registry = rhelazure::resources::registry();
        let schemas = registry.schemas();
        let resources = schemas.resources.keys().cloned().collect();
        let data_sources = schemas.data_sources.keys().cloned().collect();
        let functions = schemas.functions.keys().cloned().collect();
        (
            GrpcProvider::new(Arc::new(registry)),
            resources,
            data_sources,
            functions,
        )
    })
}

/// The number of call kinds byte 0 selects from.
pub const CALLS: u8 = 9;

fn pick(names: &[String], b: u8) -> String {
    names
        .get(usize::from(b) % names.len().max(1))
        .cloned()
        .unwrap_or_default()
}

fn msgpack(bytes: &[u8]) -> Option<pb::DynamicValue> {
    Some(pb::DynamicValue {
        msgpack: bytes.to_vec(),
        json: Vec::new(),
    })
}

/// Runs one input. Panics only if the provider does.
pub async fn exercise(data: &[u8]) {
    let [call, which, payload @ ..] = data else {
        return;
    };
    let (svc, resources, data_sources, functions) = service();
    let resource = pick(resources, *which);
    // Responses are dropped: an Err status or diagnostics are both fine.
    match call % CALLS {
        0 => drop(
            svc.validate_resource_config(tonic::Request::new(
                pb::validate_resource_config::Request {
                    type_name: resource,
                    config: msgpack(payload),
                    ..Default::default()
                },
            ))
            .await,
        ),
        1 => drop(
            svc.validate_resource_config(tonic::Request::new(
                pb::validate_resource_config::Request {
                    type_name: resource,
                    config: Some(pb::DynamicValue {
                        msgpack: Vec::new(),
                        json: payload.to_vec(),
                    }),
                    ..Default::default()
                },
            ))
            .await,
        ),
        2 => drop(
            svc.upgrade_resource_state(tonic::Request::new(pb::upgrade_resource_state::Request {
                type_name: resource,
                version: i64::from(*which % 3),
                raw_state: Some(pb::RawState {
                    json: payload.to_vec(),
                    flatmap: Default::default(),
                }),
            }))
            .await,
        ),
        3 => drop(
            svc.validate_provider_config(tonic::Request::new(
                pb::validate_provider_config::Request {
                    config: msgpack(payload),
                },
            ))
            .await,
        ),
        4 => drop(
            svc.call_function(tonic::Request::new(pb::call_function::Request {
                name: pick(functions, *which),
                arguments: payload
                    .split(|b| *b == 0xc1) // 0xc1 is never used by msgpack: a safe separator
                    .map(|a| pb::DynamicValue {
                        msgpack: a.to_vec(),
                        json: Vec::new(),
                    })
                    .collect(),
            }))
            .await,
        ),
        5 => drop(
            svc.validate_data_resource_config(tonic::Request::new(
                pb::validate_data_resource_config::Request {
                    type_name: pick(data_sources, *which),
                    config: msgpack(payload),
                },
            ))
            .await,
        ),
        6 => drop(
            svc.import_resource_state(tonic::Request::new(pb::import_resource_state::Request {
                type_name: resource,
                id: String::from_utf8_lossy(payload).into_owned(),
                ..Default::default()
            }))
            .await,
        ),
        7 => drop(
            svc.plan_resource_change(tonic::Request::new(pb::plan_resource_change::Request {
                type_name: resource,
                prior_state: msgpack(&[0xc0]),
                proposed_new_state: msgpack(payload),
                config: msgpack(payload),
                ..Default::default()
            }))
            .await,
        ),
        _ => drop(
            svc.configure_provider(tonic::Request::new(pb::configure_provider::Request {
                terraform_version: "1.11.0".into(),
                config: msgpack(payload),
                ..Default::default()
            }))
            .await,
        ),
    }
}

/// Structured seeds: for every call and target, a payload Terraform could
/// really send (an all-null object of the schema's type, `{}` as JSON, an
/// import id), so mutations start near valid input.
pub fn seeds() -> Vec<Vec<u8>> {
    use rhelazure::plugin::value::{msgpack as mp, Value};
    let (_, resources, data_sources, functions) = service();
    let registry = rhelazure::resources::registry();
    let schemas = registry.schemas();
    let null_object = |ty: &rhelazure::plugin::value::Type| {
        let fields = match ty {
            rhelazure::plugin::value::Type::Object(o) => {
                o.attrs.keys().map(|k| (k.clone(), Value::Null)).collect()
            }
            _ => Default::default(),
        };
        mp::encode(&Value::Object(fields), ty).unwrap_or_else(|_| vec![0xc0])
    };
    let mut out = Vec::new();
    for (i, name) in resources.iter().enumerate() {
        let ty = schemas.resources[name].block.value_type();
        let b = i as u8;
        out.push([&[0, b][..], &null_object(&ty)].concat());
        out.push([&[1, b][..], b"{}"].concat());
        out.push([&[2, b][..], b"{\"id\":\"x\"}"].concat());
        out.push(
            [
                &[6, b][..],
                b"/subscriptions/0/resourceGroups/rg/providers/Microsoft.Compute/images/x",
            ]
            .concat(),
        );
        out.push([&[7, b][..], &null_object(&ty)].concat());
    }
    for (i, name) in data_sources.iter().enumerate() {
        let ty = schemas.data_sources[name].block.value_type();
        out.push([&[5, i as u8][..], &null_object(&ty)].concat());
    }
    for (i, _) in functions.iter().enumerate() {
        // msgpack fixstr "RedHat:RHEL:9-lvm-gen2:latest"
        let urn = "RedHat:RHEL:9-lvm-gen2:latest";
        out.push([&[4, i as u8, 0xa0 | urn.len() as u8][..], urn.as_bytes()].concat());
    }
    let provider_ty = rhelazure::provider::provider_schema().value_type();
    out.push([&[3, 0][..], &null_object(&provider_ty)].concat());
    out.push([&[8, 0][..], &null_object(&provider_ty)].concat());
    out
}
