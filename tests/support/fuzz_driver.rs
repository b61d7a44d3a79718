//! One fuzz input → one protocol call into the real provider service, called
//! in process exactly as the gRPC server would be, but without a network.
//! Shared by `fuzz/fuzz_targets/plugin_inputs.rs` (cargo fuzz) and
//! `tests/fuzz_replay.rs` (corpus replay and a bounded random run in `make test`).
//!
//! Layout of an input: byte 0 picks the call; then the name of the resource /
//! data source / ephemeral resource / function it targets, ended by a 0 byte
//! (by name, so adding a type never retargets committed inputs; a name that
//! is no target's, as mutations make, picks one by its bytes); the rest is
//! the payload (msgpack or JSON bytes as Terraform would send them, or an
//! import id). The only property checked is the one that matters: no panic;
//! bad bytes end as diagnostics.
#![allow(dead_code)] // each includer uses part of it

use std::sync::{Arc, OnceLock};

use rhelazure::plugin::proto::tfplugin6 as pb;
use rhelazure::plugin::proto::tfplugin6::provider_server::Provider as _;
use rhelazure::plugin::server::GrpcProvider;
use rhelazure::plugin::service::ProviderService as _;

type Service = GrpcProvider<rhelazure::framework::Registry<rhelazure::provider::ProviderData>>;

/// The service and the names inputs pick from.
struct Target {
    svc: Service,
    resources: Vec<String>,
    data_sources: Vec<String>,
    ephemerals: Vec<String>,
    functions: Vec<String>,
    actions: Vec<String>,
}

fn service() -> &'static Target {
    static S: OnceLock<Target> = OnceLock::new();
    S.get_or_init(|| {
        let registry = rhelazure::resources::registry();
        let schemas = registry.schemas();
        let names = |m: &std::collections::BTreeMap<String, _>| m.keys().cloned().collect();
        Target {
            resources: names(&schemas.resources),
            data_sources: names(&schemas.data_sources),
            ephemerals: names(&schemas.ephemeral_resources),
            functions: schemas.functions.keys().cloned().collect(),
            actions: names(&schemas.actions),
            svc: GrpcProvider::new(Arc::new(registry)),
        }
    })
}

/// The number of call kinds byte 0 selects from.
pub const CALLS: u8 = 22;

/// The target named `name`, or (a name no target has) one picked by its bytes.
fn pick(names: &[String], name: &[u8]) -> String {
    if let Some(n) = names.iter().find(|n| n.as_bytes() == name) {
        return n.clone();
    }
    let sum: usize = name.iter().map(|b| usize::from(*b)).sum();
    names
        .get(sum % names.len().max(1))
        .cloned()
        .unwrap_or_default()
}

/// An input for `call` on the target `name` with `payload`.
pub fn input(call: u8, name: &str, payload: &[u8]) -> Vec<u8> {
    [&[call][..], name.as_bytes(), &[0], payload].concat()
}

fn msgpack(bytes: &[u8]) -> Option<pb::DynamicValue> {
    Some(pb::DynamicValue {
        msgpack: bytes.to_vec(),
        json: Vec::new(),
    })
}

/// Runs one input. Panics only if the provider does.
pub async fn exercise(data: &[u8]) {
    let [call, rest @ ..] = data else {
        return;
    };
    let (name, payload) = match rest.iter().position(|b| *b == 0) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    let t = service();
    let svc = &t.svc;
    let resource = pick(&t.resources, name);
    let which = name.first().copied().unwrap_or(0);
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
                version: i64::from(which % 3),
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
                name: pick(&t.functions, name),
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
                    type_name: pick(&t.data_sources, name),
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
        9 => drop(
            svc.read_resource(tonic::Request::new(pb::read_resource::Request {
                type_name: resource,
                current_state: msgpack(payload),
                ..Default::default()
            }))
            .await,
        ),
        10 => drop(
            // An update's plan: a prior state as well as a proposed one.
            svc.plan_resource_change(tonic::Request::new(pb::plan_resource_change::Request {
                type_name: resource,
                prior_state: msgpack(payload),
                proposed_new_state: msgpack(payload),
                config: msgpack(payload),
                prior_private: payload.to_vec(),
                ..Default::default()
            }))
            .await,
        ),
        11 => drop(
            svc.apply_resource_change(tonic::Request::new(pb::apply_resource_change::Request {
                type_name: resource,
                prior_state: msgpack(payload),
                planned_state: msgpack(payload),
                config: msgpack(payload),
                planned_private: payload.to_vec(),
                ..Default::default()
            }))
            .await,
        ),
        12 => {
            let ephemeral = pick(&t.ephemerals, name);
            drop(
                svc.open_ephemeral_resource(tonic::Request::new(
                    pb::open_ephemeral_resource::Request {
                        type_name: ephemeral.clone(),
                        config: msgpack(payload),
                        ..Default::default()
                    },
                ))
                .await,
            );
            drop(
                svc.renew_ephemeral_resource(tonic::Request::new(
                    pb::renew_ephemeral_resource::Request {
                        type_name: ephemeral.clone(),
                        private: Some(payload.to_vec()),
                    },
                ))
                .await,
            );
            drop(
                svc.close_ephemeral_resource(tonic::Request::new(
                    pb::close_ephemeral_resource::Request {
                        type_name: ephemeral,
                        private: Some(payload.to_vec()),
                    },
                ))
                .await,
            );
        }
        13 => drop(
            // Import by identity: the identity is the payload.
            svc.import_resource_state(tonic::Request::new(pb::import_resource_state::Request {
                type_name: resource,
                identity: Some(pb::ResourceIdentityData {
                    identity_data: msgpack(payload),
                }),
                ..Default::default()
            }))
            .await,
        ),
        14 => drop(
            svc.upgrade_resource_identity(tonic::Request::new(
                pb::upgrade_resource_identity::Request {
                    type_name: resource,
                    version: i64::from(which % 2),
                    raw_identity: Some(pb::RawState {
                        json: payload.to_vec(),
                        flatmap: Default::default(),
                    }),
                },
            ))
            .await,
        ),
        16 => drop(
            svc.validate_list_resource_config(tonic::Request::new(
                pb::validate_list_resource_config::Request {
                    type_name: resource,
                    config: msgpack(payload),
                    ..Default::default()
                },
            ))
            .await,
        ),
        17 => {
            // A list: the stream is read to its end, as Terraform reads it.
            let listed = svc
                .list_resource(tonic::Request::new(pb::list_resource::Request {
                    type_name: resource,
                    config: msgpack(payload),
                    include_resource_object: which % 2 == 0,
                    limit: i64::from(which),
                }))
                .await;
            if let Ok(stream) = listed {
                let mut stream = stream.into_inner();
                while tokio_stream::StreamExt::next(&mut stream).await.is_some() {}
            }
        }
        18 => drop(
            svc.generate_resource_config(tonic::Request::new(
                pb::generate_resource_config::Request {
                    type_name: resource,
                    state: msgpack(payload),
                },
            ))
            .await,
        ),
        19 => drop(
            svc.validate_action_config(tonic::Request::new(pb::validate_action_config::Request {
                type_name: pick(&t.actions, name),
                config: msgpack(payload),
            }))
            .await,
        ),
        20 => drop(
            svc.plan_action(tonic::Request::new(pb::plan_action::Request {
                action_type: pick(&t.actions, name),
                config: msgpack(payload),
                ..Default::default()
            }))
            .await,
        ),
        21 => {
            // An invocation: its events are read to the end, as Terraform reads them.
            let invoked = svc
                .invoke_action(tonic::Request::new(pb::invoke_action::Request {
                    action_type: pick(&t.actions, name),
                    config: msgpack(payload),
                    ..Default::default()
                }))
                .await;
            if let Ok(stream) = invoked {
                let mut stream = stream.into_inner();
                while tokio_stream::StreamExt::next(&mut stream).await.is_some() {}
            }
        }
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
    let t = service();
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
    for name in &t.resources {
        let ty = schemas.resources[name].block.value_type();
        let state = null_object(&ty);
        out.push(input(0, name, &state));
        out.push(input(1, name, b"{}"));
        out.push(input(2, name, b"{\"id\":\"x\"}"));
        out.push(input(
            6,
            name,
            b"/subscriptions/0/resourceGroups/rg/providers/Microsoft.Compute/images/x",
        ));
        out.push(input(7, name, &state));
        out.push(input(9, name, &state));
        out.push(input(10, name, &state));
        out.push(input(11, name, &state));
        out.push(input(18, name, &state));
        if let Some(list) = schemas.list_resources.get(name) {
            let config = null_object(&list.block.value_type());
            out.push(input(16, name, &config));
            out.push(input(17, name, &config));
        }
        if let Some(identity) = schemas.identities.get(name) {
            let ty = identity.value_type();
            out.push(input(13, name, &null_object(&ty)));
            out.push(input(14, name, b"{\"name\":\"x\"}"));
        }
    }
    for name in &t.data_sources {
        let ty = schemas.data_sources[name].block.value_type();
        out.push(input(5, name, &null_object(&ty)));
    }
    for name in &t.ephemerals {
        let ty = schemas.ephemeral_resources[name].block.value_type();
        out.push(input(12, name, &null_object(&ty)));
    }
    for name in &t.actions {
        let ty = schemas.actions[name].block.value_type();
        for call in [19, 20, 21] {
            out.push(input(call, name, &null_object(&ty)));
        }
    }
    for name in &t.functions {
        // msgpack fixstr "RedHat:RHEL:9-lvm-gen2:latest"
        let urn = "RedHat:RHEL:9-lvm-gen2:latest";
        out.push(input(
            4,
            name,
            &[&[0xa0 | urn.len() as u8][..], urn.as_bytes()].concat(),
        ));
    }
    let provider_ty = rhelazure::provider::provider_schema().value_type();
    out.push(input(3, "provider", &null_object(&provider_ty)));
    out.push(input(15, "provider", &null_object(&provider_ty)));
    out
}
