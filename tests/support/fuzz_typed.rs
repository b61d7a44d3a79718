//! Typed fuzzing: the input's bytes *draw* a well-typed value of the
//! target's schema (strings from a pool of plausible and hostile ones), so
//! decoding succeeds and the resource code itself runs: with a configured
//! provider, it calls the cloud. Random bytes (`fuzz_driver`) almost never
//! decode, so they test the protocol layer; these test what lies under it.
//!
//! Layout of an input: byte 0 picks the call, byte 1 the target (by index
//! among the names of its kind, modulo), the rest feeds the draws. Running
//! out of bytes draws zeros, so every input is valid and replays exactly.
#![allow(dead_code)]

use rhelazure::plugin::proto::tfplugin6 as pb;
use rhelazure::plugin::proto::tfplugin6::provider_server::Provider as _;
use rhelazure::plugin::service::ProviderService as _;
use rhelazure::plugin::value::{msgpack, Type, Value};

pub type Service = rhelazure::plugin::server::GrpcProvider<
    rhelazure::framework::Registry<rhelazure::provider::ProviderData>,
>;

/// The bytes of an input, drawn from front to back.
pub struct Draw<'a>(&'a [u8]);

impl Draw<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }
}

/// Strings a value is drawn from: what real configurations hold (the local
/// cloud's names, RHEL versions, license types, URNs) and what breaks naive
/// code (empty, unicode, very long, path tricks, ids of the wrong shape).
fn strings(subscription: &str) -> Vec<String> {
    let rg = format!("/subscriptions/{subscription}/resourceGroups/rhel-demo");
    vec![
        String::new(),
        "eastus".into(),
        "westeurope".into(),
        "rhel-demo".into(),
        "fuzz".into(),
        "fuzz-host".into(),
        "9".into(),
        "9.6".into(),
        "8.10".into(),
        "rhel-9.6".into(),
        "rhel-96".into(),
        "x86_64".into(),
        "aarch64".into(),
        "byos".into(),
        "payg".into(),
        "RHEL_BASE".into(),
        "RHEL_BYOS".into(),
        "NONE".into(),
        "V2".into(),
        "Standard_B2s".into(),
        "RedHat:RHEL:9-lvm-gen2:latest".into(),
        "redhat".into(),
        "rhel-byos".into(),
        "rhel-lvm96-gen2".into(),
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFuzzKey fuzz@example".into(),
        "quay.io/fuzz/image:latest".into(),
        "30m".into(),
        "-1s".into(),
        subscription.to_string(),
        rg.clone(),
        format!("{rg}/providers/Microsoft.Compute/virtualMachines/fuzz-host"),
        format!("{rg}/providers/Microsoft.Compute/images/fuzz"),
        format!("{rg}/providers/Microsoft.Network/virtualNetworks/rhel-demo-vnet/subnets/hosts"),
        format!("{rg}/providers/Microsoft.Storage/storageAccounts/fuzzstore"),
        "/subscriptions/../../etc/passwd".into(),
        "https://127.0.0.1:1/devstoreaccount1/vhds/x.vhd".into(),
        "/nonexistent/disk.raw".into(),
        "ünïcødé-名前".into(),
        "a".repeat(300),
        "%00%2F..%2F".into(),
        "{\"json\": true}".into(),
    ]
}

/// A value of `ty` drawn from `d`: null, unknown (when `unknowns`), or a
/// known value whose parts are drawn in turn.
pub fn value_of(d: &mut Draw, ty: &Type, pool: &[String], unknowns: bool, depth: usize) -> Value {
    match d.byte() % 16 {
        0 => return Value::Null,
        1 if unknowns => return Value::Unknown(None),
        _ => {}
    }
    let many = |d: &mut Draw| {
        if depth > 3 {
            0
        } else {
            usize::from(d.byte() % 3)
        }
    };
    match ty {
        Type::Bool => Value::Bool(d.byte() % 2 == 0),
        Type::Number => Value::from(i64::from(d.byte() as i8) * i64::from(d.byte())),
        Type::String | Type::Dynamic => {
            Value::String(pool[usize::from(d.byte()) % pool.len()].clone())
        }
        Type::List(e) => Value::List(
            (0..many(d))
                .map(|_| value_of(d, e, pool, unknowns, depth + 1))
                .collect(),
        ),
        Type::Set(e) => {
            let mut items: Vec<Value> = Vec::new();
            for _ in 0..many(d) {
                let v = value_of(d, e, pool, unknowns, depth + 1);
                if !items.contains(&v) {
                    items.push(v);
                }
            }
            Value::Set(items)
        }
        Type::Map(e) => Value::Map(
            (0..many(d))
                .map(|i| (format!("k{i}"), value_of(d, e, pool, unknowns, depth + 1)))
                .collect(),
        ),
        Type::Object(o) => Value::Object(
            o.attrs
                .iter()
                .map(|(k, t)| (k.clone(), value_of(d, t, pool, unknowns, depth + 1)))
                .collect(),
        ),
        Type::Tuple(ts) => Value::Tuple(
            ts.iter()
                .map(|t| value_of(d, t, pool, unknowns, depth + 1))
                .collect(),
        ),
    }
}

/// An object of `ty` that is never null as a whole (a config, a state).
fn object_of(d: &mut Draw, ty: &Type, pool: &[String], unknowns: bool) -> Value {
    match ty {
        Type::Object(o) => Value::Object(
            o.attrs
                .iter()
                .map(|(k, t)| (k.clone(), value_of(d, t, pool, unknowns, 1)))
                .collect(),
        ),
        _ => Value::Null,
    }
}

fn dv(v: &Value, ty: &Type) -> Option<pb::DynamicValue> {
    Some(pb::DynamicValue {
        msgpack: msgpack::encode(v, ty).unwrap_or_else(|_| vec![0xc0]),
        json: Vec::new(),
    })
}

/// The number of call kinds byte 0 selects from.
pub const CALLS: u8 = 11;

/// What a configured service and its schemas offer the typed calls.
pub struct Typed {
    pub svc: Service,
    schemas: rhelazure::plugin::service::ProviderSchemas,
    pool: Vec<String>,
}

impl Typed {
    pub fn new(svc: Service, subscription: &str) -> Typed {
        Typed {
            svc,
            schemas: rhelazure::resources::registry().schemas().clone(),
            pool: strings(subscription),
        }
    }

    /// The call and target an input picks, for messages.
    pub fn describe(&self, data: &[u8]) -> String {
        let mut d = Draw(data);
        let call = d.byte() % CALLS;
        let which = usize::from(d.byte());
        let names: Vec<&String> = self.schemas.resources.keys().collect();
        format!(
            "call {call} on {} (or the {which}th of its kind)",
            names[which % names.len()]
        )
    }

    /// Runs one input. Panics only if the provider does.
    pub async fn exercise(&self, data: &[u8]) {
        let mut d = Draw(data);
        let call = d.byte() % CALLS;
        let which = usize::from(d.byte());
        let nth = |names: Vec<&String>| names[which % names.len()].clone();
        let s = &self.schemas;
        let svc = &self.svc;
        let resource = nth(s.resources.keys().collect());
        let rty = s.resources[&resource].block.value_type();
        let pool = &self.pool;
        match call {
            0 => drop(
                svc.read_resource(tonic::Request::new(pb::read_resource::Request {
                    type_name: resource,
                    current_state: dv(&object_of(&mut d, &rty, pool, false), &rty),
                    ..Default::default()
                }))
                .await,
            ),
            1 | 2 => {
                // A create's plan (no prior state) or an update's.
                let prior = if call == 1 {
                    Value::Null
                } else {
                    object_of(&mut d, &rty, pool, false)
                };
                let config = object_of(&mut d, &rty, pool, true);
                drop(
                    svc.plan_resource_change(tonic::Request::new(
                        pb::plan_resource_change::Request {
                            type_name: resource,
                            prior_state: dv(&prior, &rty),
                            proposed_new_state: dv(&config, &rty),
                            config: dv(&config, &rty),
                            ..Default::default()
                        },
                    ))
                    .await,
                )
            }
            3..=5 => {
                // A create, an update or a delete.
                let prior = if call == 3 {
                    Value::Null
                } else {
                    object_of(&mut d, &rty, pool, false)
                };
                let planned = if call == 5 {
                    Value::Null
                } else {
                    object_of(&mut d, &rty, pool, true)
                };
                drop(
                    svc.apply_resource_change(tonic::Request::new(
                        pb::apply_resource_change::Request {
                            type_name: resource,
                            prior_state: dv(&prior, &rty),
                            config: dv(&planned, &rty),
                            planned_state: dv(&planned, &rty),
                            ..Default::default()
                        },
                    ))
                    .await,
                )
            }
            6 => drop(
                svc.import_resource_state(tonic::Request::new(
                    pb::import_resource_state::Request {
                        type_name: resource,
                        id: pool[usize::from(d.byte()) % pool.len()].clone(),
                        ..Default::default()
                    },
                ))
                .await,
            ),
            7 => {
                let name = nth(s.data_sources.keys().collect());
                let ty = s.data_sources[&name].block.value_type();
                drop(
                    svc.read_data_source(tonic::Request::new(pb::read_data_source::Request {
                        type_name: name,
                        config: dv(&object_of(&mut d, &ty, pool, false), &ty),
                        ..Default::default()
                    }))
                    .await,
                )
            }
            8 => {
                // Open, then renew and close with what open handed back.
                let name = nth(s.ephemeral_resources.keys().collect());
                let ty = s.ephemeral_resources[&name].block.value_type();
                let opened = svc
                    .open_ephemeral_resource(tonic::Request::new(
                        pb::open_ephemeral_resource::Request {
                            type_name: name.clone(),
                            config: dv(&object_of(&mut d, &ty, pool, false), &ty),
                            ..Default::default()
                        },
                    ))
                    .await;
                let private = opened.ok().and_then(|r| r.into_inner().private);
                drop(
                    svc.renew_ephemeral_resource(tonic::Request::new(
                        pb::renew_ephemeral_resource::Request {
                            type_name: name.clone(),
                            private: private.clone(),
                        },
                    ))
                    .await,
                );
                drop(
                    svc.close_ephemeral_resource(tonic::Request::new(
                        pb::close_ephemeral_resource::Request {
                            type_name: name,
                            private,
                        },
                    ))
                    .await,
                );
            }
            9 => {
                let name = nth(s.list_resources.keys().collect());
                let ty = s.list_resources[&name].block.value_type();
                let listed = svc
                    .list_resource(tonic::Request::new(pb::list_resource::Request {
                        type_name: name,
                        config: dv(&object_of(&mut d, &ty, pool, false), &ty),
                        include_resource_object: d.byte() % 2 == 0,
                        limit: i64::from(d.byte()),
                    }))
                    .await;
                if let Ok(stream) = listed {
                    let mut stream = stream.into_inner();
                    while tokio_stream::StreamExt::next(&mut stream).await.is_some() {}
                }
            }
            _ => {
                let name = nth(s.actions.keys().collect());
                let ty = s.actions[&name].block.value_type();
                let invoked = svc
                    .invoke_action(tonic::Request::new(pb::invoke_action::Request {
                        action_type: name,
                        config: dv(&object_of(&mut d, &ty, pool, false), &ty),
                        ..Default::default()
                    }))
                    .await;
                if let Ok(stream) = invoked {
                    let mut stream = stream.into_inner();
                    while tokio_stream::StreamExt::next(&mut stream).await.is_some() {}
                }
            }
        }
    }
}
