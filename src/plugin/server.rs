//! The gRPC services: `tfplugin6.Provider` over a [`ProviderService`], and the
//! three small go-plugin services (controller, stdio, broker).
//!
//! Each handler decodes the DynamicValues with the schema, calls the provider,
//! and encodes the answer; a value that cannot be decoded becomes a diagnostic,
//! never a gRPC error or a panic.

use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::Notify;
use tokio_stream::Stream;
use tonic::{Request, Response, Status, Streaming};

use super::convert::{self, decode, encode};
use super::diag::{Diagnostic, Diagnostics};
use super::logging;
use super::proto::plugin as gp;
use super::proto::tfplugin6 as pb;
use super::schema::{AttributeType, Block, Schema};
use super::service::{
    ActionEvent, ApplyRequest, ListEvent, ListRequest, MoveRequest, PlanRequest, ProviderService,
};
use super::value::Value;

type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

/// The provider service as Terraform calls it.
pub struct GrpcProvider<S: ProviderService> {
    service: Arc<S>,
    schema_response: OnceLock<pb::get_provider_schema::Response>,
}

impl<S: ProviderService> GrpcProvider<S> {
    pub fn new(service: Arc<S>) -> Self {
        GrpcProvider {
            service,
            schema_response: OnceLock::new(),
        }
    }

    fn resource_schema(&self, type_name: &str) -> Result<&Schema, Diagnostics> {
        self.service
            .schemas()
            .resources
            .get(type_name)
            .ok_or_else(|| unknown_type("resource", type_name))
    }

    fn action_schema(&self, type_name: &str) -> Result<&Schema, Diagnostics> {
        self.service
            .schemas()
            .actions
            .get(type_name)
            .ok_or_else(|| unknown_type("action", type_name))
    }

    /// The identity of the object `state` describes, encoded for Terraform;
    /// None for a type without identity, a null state, or an identity that is
    /// not known yet.
    fn identity_data(
        &self,
        type_name: &str,
        state: &Value,
        diags: &mut Diagnostics,
    ) -> Option<pb::ResourceIdentityData> {
        let schema = self.service.schemas().identities.get(type_name)?;
        if state.is_null() {
            return None;
        }
        let identity = self.service.identity_of(type_name, state)?;
        encode(&identity, &schema.value_type(), "identity")
            .map_err(|d| diags.push(d))
            .ok()
            .map(|dv| pb::ResourceIdentityData {
                identity_data: Some(dv),
            })
    }
}

fn unknown_type(kind: &str, type_name: &str) -> Diagnostics {
    Diagnostic::error(
        format!("Unknown {kind} type"),
        format!("This provider has no {kind} type {type_name:?}. Check the spelling and the provider version."),
    )
    .into()
}

fn capabilities() -> pb::ServerCapabilities {
    pb::ServerCapabilities {
        plan_destroy: true,
        get_provider_schema_optional: true,
        move_resource_state: true,
        generate_resource_config: true,
    }
}

/// A configuration decoded as `schema` types it, its sensitive values
/// registered with the log redactor before anything can log them.
fn decode_config(
    schema: &Schema,
    dv: Option<&pb::DynamicValue>,
    what: &str,
) -> Result<Value, Diagnostic> {
    let value = decode(dv, &schema.block.value_type(), what)?;
    redact_sensitive(&schema.block, &value);
    Ok(value)
}

/// Registers every sensitive string in `value` with the log redactor, so that
/// nothing the schema marks sensitive can reach a log line afterwards.
fn redact_sensitive(block: &Block, value: &Value) {
    fn walk_attrs(attrs: &[super::schema::Attribute], value: &Value) {
        for a in attrs {
            let v = value.attr(&a.name);
            if a.sensitive {
                logging::redact_value(v);
            } else if let AttributeType::Nested(n) = &a.ty {
                for_each_object(v, &mut |o| walk_attrs(&n.attributes, o));
            }
        }
    }
    fn for_each_object(v: &Value, f: &mut dyn FnMut(&Value)) {
        match v {
            Value::Object(_) => f(v),
            Value::List(items) | Value::Set(items) | Value::Tuple(items) => {
                items.iter().for_each(&mut *f)
            }
            Value::Map(m) => m.values().for_each(f),
            _ => {}
        }
    }
    walk_attrs(&block.attributes, value);
    for b in &block.blocks {
        for_each_object(value.attr(&b.type_name), &mut |o| {
            redact_sensitive(&b.block, o)
        });
    }
}

/// Logs one RPC at debug level when it finishes.
struct RpcTimer {
    rpc: &'static str,
    type_name: String,
    start: Instant,
}

impl RpcTimer {
    fn start(rpc: &'static str, type_name: &str) -> Self {
        tracing::trace!(target: "rhelazure.plugin", rpc, type_name, "rpc started");
        RpcTimer {
            rpc,
            type_name: type_name.to_string(),
            start: Instant::now(),
        }
    }
}

impl Drop for RpcTimer {
    fn drop(&mut self) {
        let ms = self.start.elapsed().as_secs_f64() * 1000.0;
        tracing::debug!(target: "rhelazure.plugin", rpc = self.rpc, type_name = %self.type_name, duration_ms = ms, "rpc finished");
    }
}

fn system_time_to_proto(t: SystemTime) -> prost_types::Timestamp {
    let d = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or(Duration::ZERO);
    prost_types::Timestamp {
        seconds: d.as_secs() as i64,
        nanos: d.subsec_nanos() as i32,
    }
}

fn not_offered(what: &str) -> Vec<pb::Diagnostic> {
    convert::diagnostics(
        &Diagnostic::error(
            format!("{what} are not supported"),
            format!("The rhelazure provider does not offer {what}. This request should not have been sent; please report it with your configuration."),
        )
        .into(),
    )
}

macro_rules! try_diags {
    ($e:expr, $resp:expr) => {
        match $e {
            Ok(v) => v,
            Err(d) => {
                let mut r = $resp;
                r.diagnostics = convert::diagnostics(&Diagnostics::from(d));
                return Ok(Response::new(r));
            }
        }
    };
}

#[tonic::async_trait]
impl<S: ProviderService> pb::provider_server::Provider for GrpcProvider<S> {
    async fn get_metadata(
        &self,
        _: Request<pb::get_metadata::Request>,
    ) -> Result<Response<pb::get_metadata::Response>, Status> {
        use pb::get_metadata as m;
        let s = self.service.schemas();
        Ok(Response::new(m::Response {
            server_capabilities: Some(capabilities()),
            resources: s
                .resources
                .keys()
                .map(|k| m::ResourceMetadata {
                    type_name: k.clone(),
                })
                .collect(),
            data_sources: s
                .data_sources
                .keys()
                .map(|k| m::DataSourceMetadata {
                    type_name: k.clone(),
                })
                .collect(),
            ephemeral_resources: s
                .ephemeral_resources
                .keys()
                .map(|k| m::EphemeralMetadata {
                    type_name: k.clone(),
                })
                .collect(),
            functions: s
                .functions
                .keys()
                .map(|k| m::FunctionMetadata { name: k.clone() })
                .collect(),
            list_resources: s
                .list_resources
                .keys()
                .map(|k| m::ListResourceMetadata {
                    type_name: k.clone(),
                })
                .collect(),
            actions: s
                .actions
                .keys()
                .map(|k| m::ActionMetadata {
                    type_name: k.clone(),
                })
                .collect(),
            ..Default::default()
        }))
    }

    async fn get_provider_schema(
        &self,
        _: Request<pb::get_provider_schema::Request>,
    ) -> Result<Response<pb::get_provider_schema::Response>, Status> {
        let _t = RpcTimer::start("GetProviderSchema", "");
        let resp = self.schema_response.get_or_init(|| {
            let s = self.service.schemas();
            let map = |m: &std::collections::BTreeMap<String, Schema>| {
                m.iter()
                    .map(|(k, v)| (k.clone(), convert::schema(v)))
                    .collect()
            };
            pb::get_provider_schema::Response {
                provider: Some(convert::schema(&s.provider)),
                resource_schemas: map(&s.resources),
                data_source_schemas: map(&s.data_sources),
                ephemeral_resource_schemas: map(&s.ephemeral_resources),
                list_resource_schemas: map(&s.list_resources),
                action_schemas: s
                    .actions
                    .iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            pb::ActionSchema {
                                schema: Some(convert::schema(v)),
                            },
                        )
                    })
                    .collect(),
                functions: s
                    .functions
                    .iter()
                    .map(|(k, f)| (k.clone(), convert::function(f)))
                    .collect(),
                server_capabilities: Some(capabilities()),
                ..Default::default()
            }
        });
        Ok(Response::new(resp.clone()))
    }

    async fn validate_provider_config(
        &self,
        req: Request<pb::validate_provider_config::Request>,
    ) -> Result<Response<pb::validate_provider_config::Response>, Status> {
        let _t = RpcTimer::start("ValidateProviderConfig", "");
        let req = req.into_inner();
        let block = &self.service.schemas().provider.block;
        let resp = pb::validate_provider_config::Response::default();
        let config = try_diags!(
            decode(
                req.config.as_ref(),
                &block.value_type(),
                "provider configuration"
            ),
            resp
        );
        redact_sensitive(block, &config);
        let diags = self.service.validate_provider_config(&config).await;
        Ok(Response::new(pb::validate_provider_config::Response {
            diagnostics: convert::diagnostics(&diags),
        }))
    }

    async fn validate_resource_config(
        &self,
        req: Request<pb::validate_resource_config::Request>,
    ) -> Result<Response<pb::validate_resource_config::Response>, Status> {
        let req = req.into_inner();
        let _t = RpcTimer::start("ValidateResourceConfig", &req.type_name);
        let resp = pb::validate_resource_config::Response::default();
        let schema = try_diags!(self.resource_schema(&req.type_name).map_err(first), resp);
        let config = try_diags!(
            decode_config(schema, req.config.as_ref(), "resource configuration"),
            resp
        );
        let diags = self
            .service
            .validate_resource_config(&req.type_name, &config)
            .await;
        Ok(Response::new(pb::validate_resource_config::Response {
            diagnostics: convert::diagnostics(&diags),
        }))
    }

    async fn validate_data_resource_config(
        &self,
        req: Request<pb::validate_data_resource_config::Request>,
    ) -> Result<Response<pb::validate_data_resource_config::Response>, Status> {
        let req = req.into_inner();
        let _t = RpcTimer::start("ValidateDataResourceConfig", &req.type_name);
        let resp = pb::validate_data_resource_config::Response::default();
        let Some(schema) = self.service.schemas().data_sources.get(&req.type_name) else {
            return Ok(Response::new(pb::validate_data_resource_config::Response {
                diagnostics: convert::diagnostics(&unknown_type("data source", &req.type_name)),
            }));
        };
        let config = try_diags!(
            decode_config(schema, req.config.as_ref(), "data source configuration"),
            resp
        );
        let diags = self
            .service
            .validate_data_source_config(&req.type_name, &config)
            .await;
        Ok(Response::new(pb::validate_data_resource_config::Response {
            diagnostics: convert::diagnostics(&diags),
        }))
    }

    async fn upgrade_resource_state(
        &self,
        req: Request<pb::upgrade_resource_state::Request>,
    ) -> Result<Response<pb::upgrade_resource_state::Response>, Status> {
        let req = req.into_inner();
        let _t = RpcTimer::start("UpgradeResourceState", &req.type_name);
        let resp = pb::upgrade_resource_state::Response::default();
        let schema = try_diags!(self.resource_schema(&req.type_name).map_err(first), resp);
        let raw = req.raw_state.unwrap_or_default();
        if raw.json.is_empty() && !raw.flatmap.is_empty() {
            return Ok(Response::new(pb::upgrade_resource_state::Response {
                diagnostics: convert::diagnostics(
                    &Diagnostic::error(
                        "Unsupported state format",
                        "This state was written in the pre-0.12 flatmap format, which this provider never produced.",
                    )
                    .into(),
                ),
                ..Default::default()
            }));
        }
        let (value, mut diags) = self
            .service
            .upgrade_resource_state(&req.type_name, req.version, &raw.json)
            .await;
        redact_sensitive(&schema.block, &value);
        let upgraded_state = if diags.has_errors() {
            None
        } else {
            match encode(&value, &schema.block.value_type(), "upgraded state") {
                Ok(v) => Some(v),
                Err(d) => {
                    diags.push(d);
                    None
                }
            }
        };
        Ok(Response::new(pb::upgrade_resource_state::Response {
            upgraded_state,
            diagnostics: convert::diagnostics(&diags),
        }))
    }

    async fn get_resource_identity_schemas(
        &self,
        _: Request<pb::get_resource_identity_schemas::Request>,
    ) -> Result<Response<pb::get_resource_identity_schemas::Response>, Status> {
        Ok(Response::new(pb::get_resource_identity_schemas::Response {
            identity_schemas: self
                .service
                .schemas()
                .identities
                .iter()
                .map(|(name, s)| (name.clone(), convert::identity_schema(s)))
                .collect(),
            diagnostics: Vec::new(),
        }))
    }

    /// Every identity schema is at version 0 so far: the stored identity
    /// (JSON) is read with the current schema and handed back.
    async fn upgrade_resource_identity(
        &self,
        req: Request<pb::upgrade_resource_identity::Request>,
    ) -> Result<Response<pb::upgrade_resource_identity::Response>, Status> {
        let req = req.into_inner();
        let _t = RpcTimer::start("UpgradeResourceIdentity", &req.type_name);
        let resp = pb::upgrade_resource_identity::Response::default();
        let Some(schema) = self.service.schemas().identities.get(&req.type_name) else {
            return Ok(Response::new(pb::upgrade_resource_identity::Response {
                diagnostics: convert::diagnostics(&unknown_type(
                    "resource identity",
                    &req.type_name,
                )),
                ..resp
            }));
        };
        if req.version != schema.version {
            let d = Diagnostic::error(
                "Unsupported identity version",
                format!(
                    "{} has identity schema version {}; the stored identity has version {}.",
                    req.type_name, schema.version, req.version
                ),
            );
            return Ok(Response::new(pb::upgrade_resource_identity::Response {
                diagnostics: convert::diagnostics(&d.into()),
                ..resp
            }));
        }
        let ty = schema.value_type();
        let raw = pb::DynamicValue {
            msgpack: Vec::new(),
            json: req.raw_identity.map(|r| r.json).unwrap_or_default(),
        };
        let identity = try_diags!(decode(Some(&raw), &ty, "stored identity"), resp);
        let upgraded = try_diags!(encode(&identity, &ty, "identity"), resp);
        Ok(Response::new(pb::upgrade_resource_identity::Response {
            upgraded_identity: Some(pb::ResourceIdentityData {
                identity_data: Some(upgraded),
            }),
            diagnostics: Vec::new(),
        }))
    }

    async fn configure_provider(
        &self,
        req: Request<pb::configure_provider::Request>,
    ) -> Result<Response<pb::configure_provider::Response>, Status> {
        let _t = RpcTimer::start("ConfigureProvider", "");
        let req = req.into_inner();
        let block = &self.service.schemas().provider.block;
        let resp = pb::configure_provider::Response::default();
        let config = try_diags!(
            decode(
                req.config.as_ref(),
                &block.value_type(),
                "provider configuration"
            ),
            resp
        );
        redact_sensitive(block, &config);
        let diags = self
            .service
            .configure_provider(&req.terraform_version, &config)
            .await;
        Ok(Response::new(pb::configure_provider::Response {
            diagnostics: convert::diagnostics(&diags),
        }))
    }

    async fn read_resource(
        &self,
        req: Request<pb::read_resource::Request>,
    ) -> Result<Response<pb::read_resource::Response>, Status> {
        let req = req.into_inner();
        let _t = RpcTimer::start("ReadResource", &req.type_name);
        let resp = pb::read_resource::Response::default();
        let schema = try_diags!(self.resource_schema(&req.type_name).map_err(first), resp);
        let ty = schema.block.value_type();
        let state = try_diags!(
            decode(req.current_state.as_ref(), &ty, "current state"),
            resp
        );
        redact_sensitive(&schema.block, &state);
        let out = self
            .service
            .read_resource(&req.type_name, &state, &req.private)
            .await;
        let mut diags = out.diagnostics;
        redact_sensitive(&schema.block, &out.new_state);
        let new_state = encode(&out.new_state, &ty, "state")
            .map_err(|d| diags.push(d))
            .ok();
        let new_identity = self
            .identity_data(&req.type_name, &out.new_state, &mut diags)
            .or_else(|| req.current_identity.filter(|_| !out.new_state.is_null()));
        Ok(Response::new(pb::read_resource::Response {
            new_state,
            private: out.private,
            diagnostics: convert::diagnostics(&diags),
            new_identity,
            ..Default::default()
        }))
    }

    async fn plan_resource_change(
        &self,
        req: Request<pb::plan_resource_change::Request>,
    ) -> Result<Response<pb::plan_resource_change::Response>, Status> {
        let req = req.into_inner();
        let _t = RpcTimer::start("PlanResourceChange", &req.type_name);
        let resp = pb::plan_resource_change::Response::default();
        let schema = try_diags!(self.resource_schema(&req.type_name).map_err(first), resp);
        let ty = schema.block.value_type();
        let prior_state = try_diags!(decode(req.prior_state.as_ref(), &ty, "prior state"), resp);
        let proposed_new_state = try_diags!(
            decode(req.proposed_new_state.as_ref(), &ty, "proposed new state"),
            resp
        );
        let config = try_diags!(decode(req.config.as_ref(), &ty, "configuration"), resp);
        redact_sensitive(&schema.block, &config);
        redact_sensitive(&schema.block, &prior_state);
        let out = self
            .service
            .plan_resource_change(PlanRequest {
                type_name: req.type_name.clone(),
                prior_state,
                proposed_new_state,
                config,
                prior_private: req.prior_private,
            })
            .await;
        let mut diags = out.diagnostics;
        let planned_state = encode(&out.planned_state, &ty, "planned state")
            .map_err(|d| diags.push(d))
            .ok();
        // Unknown during a create's plan (None): Terraform then takes it from the apply.
        let planned_identity = self
            .identity_data(&req.type_name, &out.planned_state, &mut diags)
            .or_else(|| req.prior_identity.filter(|_| !out.planned_state.is_null()));
        Ok(Response::new(pb::plan_resource_change::Response {
            planned_identity,
            planned_state,
            requires_replace: out
                .requires_replace
                .iter()
                .map(convert::path_to_proto)
                .collect(),
            planned_private: out.planned_private,
            diagnostics: convert::diagnostics(&diags),
            ..Default::default()
        }))
    }

    async fn apply_resource_change(
        &self,
        req: Request<pb::apply_resource_change::Request>,
    ) -> Result<Response<pb::apply_resource_change::Response>, Status> {
        let req = req.into_inner();
        let _t = RpcTimer::start("ApplyResourceChange", &req.type_name);
        let resp = pb::apply_resource_change::Response::default();
        let schema = try_diags!(self.resource_schema(&req.type_name).map_err(first), resp);
        let ty = schema.block.value_type();
        let prior_state = try_diags!(decode(req.prior_state.as_ref(), &ty, "prior state"), resp);
        let planned_state = try_diags!(
            decode(req.planned_state.as_ref(), &ty, "planned state"),
            resp
        );
        let config = try_diags!(decode(req.config.as_ref(), &ty, "configuration"), resp);
        redact_sensitive(&schema.block, &config);
        redact_sensitive(&schema.block, &planned_state);
        let out = self
            .service
            .apply_resource_change(ApplyRequest {
                type_name: req.type_name.clone(),
                prior_state,
                planned_state,
                config,
                planned_private: req.planned_private,
            })
            .await;
        let mut diags = out.diagnostics;
        let new_state = encode(&out.new_state, &ty, "new state")
            .map_err(|d| diags.push(d))
            .ok();
        let new_identity = self
            .identity_data(&req.type_name, &out.new_state, &mut diags)
            .or_else(|| req.planned_identity.filter(|_| !out.new_state.is_null()));
        Ok(Response::new(pb::apply_resource_change::Response {
            new_identity,
            new_state,
            private: out.private,
            diagnostics: convert::diagnostics(&diags),
            ..Default::default()
        }))
    }

    async fn import_resource_state(
        &self,
        req: Request<pb::import_resource_state::Request>,
    ) -> Result<Response<pb::import_resource_state::Response>, Status> {
        let req = req.into_inner();
        let _t = RpcTimer::start("ImportResourceState", &req.type_name);
        let resp = pb::import_resource_state::Response::default();
        // `import { identity = { ... } }` (Terraform 1.12+): the identity names
        // the object; the resource turns it into the id it imports by.
        let given_identity = req.identity.clone().filter(|i| i.identity_data.is_some());
        let id = match (
            &given_identity,
            self.service.schemas().identities.get(&req.type_name),
        ) {
            (Some(identity), Some(schema)) if req.id.is_empty() => {
                let value = try_diags!(
                    decode(
                        identity.identity_data.as_ref(),
                        &schema.value_type(),
                        "identity"
                    ),
                    resp
                );
                match self.service.import_id_from_identity(&req.type_name, &value) {
                    Ok(id) => id,
                    Err(d) => {
                        return Ok(Response::new(pb::import_resource_state::Response {
                            diagnostics: convert::diagnostics(&d),
                            ..resp
                        }))
                    }
                }
            }
            _ => req.id.clone(),
        };
        let out = self
            .service
            .import_resource_state(&req.type_name, &id)
            .await;
        let mut diags = out.diagnostics;
        let mut imported = Vec::new();
        for r in out.imported {
            let Some(schema) = self.service.schemas().resources.get(&r.type_name) else {
                diags.extend(unknown_type("resource", &r.type_name));
                continue;
            };
            if let Ok(state) = encode(&r.state, &schema.block.value_type(), "imported state")
                .map_err(|d| diags.push(d))
            {
                let identity = self
                    .identity_data(&r.type_name, &r.state, &mut diags)
                    .or_else(|| given_identity.clone());
                imported.push(pb::import_resource_state::ImportedResource {
                    type_name: r.type_name,
                    state: Some(state),
                    private: r.private,
                    identity,
                });
            }
        }
        Ok(Response::new(pb::import_resource_state::Response {
            imported_resources: imported,
            diagnostics: convert::diagnostics(&diags),
            deferred: None,
        }))
    }

    async fn move_resource_state(
        &self,
        req: Request<pb::move_resource_state::Request>,
    ) -> Result<Response<pb::move_resource_state::Response>, Status> {
        let req = req.into_inner();
        let _t = RpcTimer::start("MoveResourceState", &req.target_type_name);
        let target_type_name = req.target_type_name.clone();
        let resp = pb::move_resource_state::Response::default();
        let schema = try_diags!(
            self.resource_schema(&req.target_type_name).map_err(first),
            resp
        );
        let out = self
            .service
            .move_resource_state(MoveRequest {
                source_provider_address: req.source_provider_address,
                source_type_name: req.source_type_name,
                source_schema_version: req.source_schema_version,
                source_state_json: req.source_state.map(|s| s.json).unwrap_or_default(),
                target_type_name: req.target_type_name,
                source_private: req.source_private,
            })
            .await;
        let mut diags = out.diagnostics;
        let (target_state, target_identity) = if diags.has_errors() {
            (None, None)
        } else {
            let state = encode(&out.target_state, &schema.block.value_type(), "moved state")
                .map_err(|d| diags.push(d))
                .ok();
            let identity = self.identity_data(&target_type_name, &out.target_state, &mut diags);
            (state, identity)
        };
        Ok(Response::new(pb::move_resource_state::Response {
            target_state,
            target_private: out.target_private,
            diagnostics: convert::diagnostics(&diags),
            target_identity,
        }))
    }

    async fn read_data_source(
        &self,
        req: Request<pb::read_data_source::Request>,
    ) -> Result<Response<pb::read_data_source::Response>, Status> {
        let req = req.into_inner();
        let _t = RpcTimer::start("ReadDataSource", &req.type_name);
        let resp = pb::read_data_source::Response::default();
        let Some(schema) = self.service.schemas().data_sources.get(&req.type_name) else {
            return Ok(Response::new(pb::read_data_source::Response {
                diagnostics: convert::diagnostics(&unknown_type("data source", &req.type_name)),
                ..Default::default()
            }));
        };
        let ty = schema.block.value_type();
        let config = try_diags!(
            decode(req.config.as_ref(), &ty, "data source configuration"),
            resp
        );
        redact_sensitive(&schema.block, &config);
        let (state, mut diags) = self.service.read_data_source(&req.type_name, &config).await;
        redact_sensitive(&schema.block, &state);
        let state = if diags.has_errors() {
            None
        } else {
            encode(&state, &ty, "data source state")
                .map_err(|d| diags.push(d))
                .ok()
        };
        Ok(Response::new(pb::read_data_source::Response {
            state,
            diagnostics: convert::diagnostics(&diags),
            deferred: None,
        }))
    }

    async fn generate_resource_config(
        &self,
        req: Request<pb::generate_resource_config::Request>,
    ) -> Result<Response<pb::generate_resource_config::Response>, Status> {
        let req = req.into_inner();
        let _t = RpcTimer::start("GenerateResourceConfig", &req.type_name);
        let resp = pb::generate_resource_config::Response::default();
        let schema = try_diags!(self.resource_schema(&req.type_name).map_err(first), resp);
        let ty = schema.block.value_type();
        let state = try_diags!(decode(req.state.as_ref(), &ty, "resource state"), resp);
        redact_sensitive(&schema.block, &state);
        let config = try_diags!(
            self.service
                .generate_resource_config(&req.type_name, &state)
                .map_err(first),
            resp
        );
        let config = try_diags!(encode(&config, &ty, "generated configuration"), resp);
        Ok(Response::new(pb::generate_resource_config::Response {
            config: Some(config),
            diagnostics: Vec::new(),
        }))
    }

    async fn validate_ephemeral_resource_config(
        &self,
        req: Request<pb::validate_ephemeral_resource_config::Request>,
    ) -> Result<Response<pb::validate_ephemeral_resource_config::Response>, Status> {
        let req = req.into_inner();
        let _t = RpcTimer::start("ValidateEphemeralResourceConfig", &req.type_name);
        let resp = pb::validate_ephemeral_resource_config::Response::default();
        let Some(schema) = self
            .service
            .schemas()
            .ephemeral_resources
            .get(&req.type_name)
        else {
            return Ok(Response::new(
                pb::validate_ephemeral_resource_config::Response {
                    diagnostics: convert::diagnostics(&unknown_type(
                        "ephemeral resource",
                        &req.type_name,
                    )),
                },
            ));
        };
        let config = try_diags!(
            decode_config(
                schema,
                req.config.as_ref(),
                "ephemeral resource configuration"
            ),
            resp
        );
        let diags = self
            .service
            .validate_ephemeral_resource_config(&req.type_name, &config)
            .await;
        Ok(Response::new(
            pb::validate_ephemeral_resource_config::Response {
                diagnostics: convert::diagnostics(&diags),
            },
        ))
    }

    async fn open_ephemeral_resource(
        &self,
        req: Request<pb::open_ephemeral_resource::Request>,
    ) -> Result<Response<pb::open_ephemeral_resource::Response>, Status> {
        let req = req.into_inner();
        let _t = RpcTimer::start("OpenEphemeralResource", &req.type_name);
        let resp = pb::open_ephemeral_resource::Response::default();
        let Some(schema) = self
            .service
            .schemas()
            .ephemeral_resources
            .get(&req.type_name)
        else {
            return Ok(Response::new(pb::open_ephemeral_resource::Response {
                diagnostics: convert::diagnostics(&unknown_type(
                    "ephemeral resource",
                    &req.type_name,
                )),
                ..Default::default()
            }));
        };
        let ty = schema.block.value_type();
        let config = try_diags!(
            decode(req.config.as_ref(), &ty, "ephemeral resource configuration"),
            resp
        );
        redact_sensitive(&schema.block, &config);
        let out = self
            .service
            .open_ephemeral_resource(&req.type_name, &config)
            .await;
        redact_sensitive(&schema.block, &out.result);
        let mut diags = out.diagnostics;
        let result = if diags.has_errors() {
            None
        } else {
            encode(&out.result, &ty, "ephemeral result")
                .map_err(|d| diags.push(d))
                .ok()
        };
        Ok(Response::new(pb::open_ephemeral_resource::Response {
            diagnostics: convert::diagnostics(&diags),
            renew_at: out.renew_at.map(system_time_to_proto),
            result,
            private: out.private,
            deferred: None,
        }))
    }

    async fn renew_ephemeral_resource(
        &self,
        req: Request<pb::renew_ephemeral_resource::Request>,
    ) -> Result<Response<pb::renew_ephemeral_resource::Response>, Status> {
        let req = req.into_inner();
        let _t = RpcTimer::start("RenewEphemeralResource", &req.type_name);
        let out = self
            .service
            .renew_ephemeral_resource(&req.type_name, req.private.as_deref())
            .await;
        Ok(Response::new(pb::renew_ephemeral_resource::Response {
            diagnostics: convert::diagnostics(&out.diagnostics),
            renew_at: out.renew_at.map(system_time_to_proto),
            private: out.private,
        }))
    }

    async fn close_ephemeral_resource(
        &self,
        req: Request<pb::close_ephemeral_resource::Request>,
    ) -> Result<Response<pb::close_ephemeral_resource::Response>, Status> {
        let req = req.into_inner();
        let _t = RpcTimer::start("CloseEphemeralResource", &req.type_name);
        let diags = self
            .service
            .close_ephemeral_resource(&req.type_name, req.private.as_deref())
            .await;
        Ok(Response::new(pb::close_ephemeral_resource::Response {
            diagnostics: convert::diagnostics(&diags),
        }))
    }

    type ListResourceStream = BoxStream<pb::list_resource::Event>;

    /// Streams results as the service finds them: a task lists into a small
    /// channel, each event is encoded as it arrives, and when Terraform has
    /// enough and drops the stream, the channel closes and the listing stops.
    async fn list_resource(
        &self,
        req: Request<pb::list_resource::Request>,
    ) -> Result<Response<Self::ListResourceStream>, Status> {
        let req = req.into_inner();
        let _t = RpcTimer::start("ListResource", &req.type_name);
        let error_stream = |d: Diagnostics| -> Result<Response<Self::ListResourceStream>, Status> {
            let event = pb::list_resource::Event {
                diagnostic: convert::diagnostics(&d),
                ..Default::default()
            };
            Ok(Response::new(Box::pin(tokio_stream::once(Ok(event)))))
        };
        let schemas = self.service.schemas();
        let (Some(list_schema), Some(resource), Some(identity)) = (
            schemas.list_resources.get(&req.type_name),
            schemas.resources.get(&req.type_name),
            schemas.identities.get(&req.type_name),
        ) else {
            return error_stream(unknown_type("list resource", &req.type_name));
        };
        let config = match decode(
            req.config.as_ref(),
            &list_schema.block.value_type(),
            "list configuration",
        ) {
            Ok(c) => c,
            Err(d) => return error_stream(d.into()),
        };
        let (tx, rx) = tokio::sync::mpsc::channel::<ListEvent>(16);
        let service = self.service.clone();
        let request = ListRequest {
            type_name: req.type_name,
            config,
            include_resource_object: req.include_resource_object,
            limit: usize::try_from(req.limit).unwrap_or(0),
        };
        tokio::spawn(async move { service.list_resource(request, tx).await });
        let block = resource.block.clone();
        let (state_ty, identity_ty) = (block.value_type(), identity.value_type());
        let to_event = move |e: ListEvent| {
            let mut diags = e.diagnostics;
            let identity = e.identity.and_then(|i| {
                encode(&i, &identity_ty, "identity")
                    .map_err(|d| diags.push(d))
                    .ok()
                    .map(|dv| pb::ResourceIdentityData {
                        identity_data: Some(dv),
                    })
            });
            let resource_object = e.resource_object.and_then(|o| {
                redact_sensitive(&block, &o);
                encode(&o, &state_ty, "resource object")
                    .map_err(|d| diags.push(d))
                    .ok()
            });
            Ok(pb::list_resource::Event {
                identity,
                display_name: e.display_name,
                resource_object,
                diagnostic: convert::diagnostics(&diags),
            })
        };
        let events =
            tokio_stream::StreamExt::map(tokio_stream::wrappers::ReceiverStream::new(rx), to_event);
        Ok(Response::new(Box::pin(events)))
    }

    async fn validate_list_resource_config(
        &self,
        req: Request<pb::validate_list_resource_config::Request>,
    ) -> Result<Response<pb::validate_list_resource_config::Response>, Status> {
        let req = req.into_inner();
        let _t = RpcTimer::start("ValidateListResourceConfig", &req.type_name);
        let resp = pb::validate_list_resource_config::Response::default();
        let Some(schema) = self.service.schemas().list_resources.get(&req.type_name) else {
            return Ok(Response::new(pb::validate_list_resource_config::Response {
                diagnostics: convert::diagnostics(&unknown_type("list resource", &req.type_name)),
            }));
        };
        let config = try_diags!(
            decode(
                req.config.as_ref(),
                &schema.block.value_type(),
                "list configuration"
            ),
            resp
        );
        let diags = self
            .service
            .validate_list_resource_config(&req.type_name, &config)
            .await;
        Ok(Response::new(pb::validate_list_resource_config::Response {
            diagnostics: convert::diagnostics(&diags),
        }))
    }

    async fn get_functions(
        &self,
        _: Request<pb::get_functions::Request>,
    ) -> Result<Response<pb::get_functions::Response>, Status> {
        let functions = self
            .service
            .schemas()
            .functions
            .iter()
            .map(|(k, f)| (k.clone(), convert::function(f)))
            .collect();
        Ok(Response::new(pb::get_functions::Response {
            functions,
            diagnostics: Vec::new(),
        }))
    }

    async fn call_function(
        &self,
        req: Request<pb::call_function::Request>,
    ) -> Result<Response<pb::call_function::Response>, Status> {
        let req = req.into_inner();
        let _t = RpcTimer::start("CallFunction", &req.name);
        let fail = |text: String, argument: Option<i64>| {
            Ok(Response::new(pb::call_function::Response {
                result: None,
                error: Some(pb::FunctionError {
                    text,
                    function_argument: argument,
                }),
            }))
        };
        let Some(sig) = self.service.schemas().functions.get(&req.name) else {
            return fail(
                format!("This provider has no function {:?}.", req.name),
                None,
            );
        };
        let mut args = Vec::with_capacity(req.arguments.len());
        for (i, dv) in req.arguments.iter().enumerate() {
            let ty = match sig.parameters.get(i) {
                Some(p) => p.ty.clone(),
                None => match &sig.variadic {
                    Some(p) => p.ty.clone(),
                    None => {
                        return fail(
                            format!(
                                "Too many arguments: {} takes {}.",
                                req.name,
                                sig.parameters.len()
                            ),
                            None,
                        )
                    }
                },
            };
            match decode(Some(dv), &ty, "function argument") {
                Ok(v) => args.push(v),
                Err(d) => return fail(format!("{}: {}", d.summary, d.detail), Some(i as i64)),
            }
        }
        match self.service.call_function(&req.name, args).await {
            Ok(v) => match encode(&v, &sig.return_type, "function result") {
                Ok(result) => Ok(Response::new(pb::call_function::Response {
                    result: Some(result),
                    error: None,
                })),
                Err(d) => fail(format!("{}: {}", d.summary, d.detail), None),
            },
            Err(e) => fail(e.text, e.argument.map(|a| a as i64)),
        }
    }

    async fn validate_state_store_config(
        &self,
        _: Request<pb::validate_state_store::Request>,
    ) -> Result<Response<pb::validate_state_store::Response>, Status> {
        Ok(Response::new(pb::validate_state_store::Response {
            diagnostics: not_offered("state stores"),
        }))
    }

    async fn configure_state_store(
        &self,
        _: Request<pb::configure_state_store::Request>,
    ) -> Result<Response<pb::configure_state_store::Response>, Status> {
        Ok(Response::new(pb::configure_state_store::Response {
            diagnostics: not_offered("state stores"),
        }))
    }

    type ReadStateBytesStream = BoxStream<pb::read_state_bytes::Response>;

    async fn read_state_bytes(
        &self,
        _: Request<pb::read_state_bytes::Request>,
    ) -> Result<Response<Self::ReadStateBytesStream>, Status> {
        let r = pb::read_state_bytes::Response {
            diagnostics: not_offered("state stores"),
            ..Default::default()
        };
        Ok(Response::new(Box::pin(tokio_stream::once(Ok(r)))))
    }

    async fn write_state_bytes(
        &self,
        _: Request<Streaming<pb::write_state_bytes::RequestChunk>>,
    ) -> Result<Response<pb::write_state_bytes::Response>, Status> {
        Ok(Response::new(pb::write_state_bytes::Response {
            diagnostics: not_offered("state stores"),
        }))
    }

    async fn get_states(
        &self,
        _: Request<pb::get_states::Request>,
    ) -> Result<Response<pb::get_states::Response>, Status> {
        Ok(Response::new(pb::get_states::Response {
            diagnostics: not_offered("state stores"),
            ..Default::default()
        }))
    }

    async fn delete_state(
        &self,
        _: Request<pb::delete_state::Request>,
    ) -> Result<Response<pb::delete_state::Response>, Status> {
        Ok(Response::new(pb::delete_state::Response {
            diagnostics: not_offered("state stores"),
        }))
    }

    async fn plan_action(
        &self,
        req: Request<pb::plan_action::Request>,
    ) -> Result<Response<pb::plan_action::Response>, Status> {
        let req = req.into_inner();
        let _t = RpcTimer::start("PlanAction", &req.action_type);
        let resp = pb::plan_action::Response::default();
        let schema = try_diags!(self.action_schema(&req.action_type).map_err(first), resp);
        let config = try_diags!(
            decode_config(schema, req.config.as_ref(), "action configuration"),
            resp
        );
        let diags = self.service.plan_action(&req.action_type, &config).await;
        Ok(Response::new(pb::plan_action::Response {
            diagnostics: convert::diagnostics(&diags),
            deferred: None,
        }))
    }

    type InvokeActionStream = BoxStream<pb::invoke_action::Event>;

    /// Streams progress as the action reports it, then its end: a task runs
    /// the action into a channel, as for lists.
    async fn invoke_action(
        &self,
        req: Request<pb::invoke_action::Request>,
    ) -> Result<Response<Self::InvokeActionStream>, Status> {
        use pb::invoke_action::event;
        let req = req.into_inner();
        let _t = RpcTimer::start("InvokeAction", &req.action_type);
        let completed = |d: &Diagnostics| pb::invoke_action::Event {
            r#type: Some(event::Type::Completed(event::Completed {
                diagnostics: convert::diagnostics(d),
            })),
        };
        let config = self.action_schema(&req.action_type).and_then(|schema| {
            decode_config(schema, req.config.as_ref(), "action configuration")
                .map_err(Diagnostics::from)
        });
        let config = match config {
            Ok(c) => c,
            Err(d) => {
                return Ok(Response::new(Box::pin(tokio_stream::once(Ok(completed(
                    &d,
                ))))))
            }
        };
        let (tx, rx) = tokio::sync::mpsc::channel::<ActionEvent>(64);
        let service = self.service.clone();
        let action_type = req.action_type;
        tokio::spawn(async move { service.invoke_action(&action_type, &config, tx).await });
        let events = tokio_stream::StreamExt::map(
            tokio_stream::wrappers::ReceiverStream::new(rx),
            move |e| {
                Ok(match e {
                    ActionEvent::Progress(message) => pb::invoke_action::Event {
                        r#type: Some(event::Type::Progress(event::Progress { message })),
                    },
                    ActionEvent::Completed(d) => completed(&d),
                })
            },
        );
        Ok(Response::new(Box::pin(events)))
    }

    async fn validate_action_config(
        &self,
        req: Request<pb::validate_action_config::Request>,
    ) -> Result<Response<pb::validate_action_config::Response>, Status> {
        let req = req.into_inner();
        let _t = RpcTimer::start("ValidateActionConfig", &req.type_name);
        let resp = pb::validate_action_config::Response::default();
        let schema = try_diags!(self.action_schema(&req.type_name).map_err(first), resp);
        let config = try_diags!(
            decode_config(schema, req.config.as_ref(), "action configuration"),
            resp
        );
        let diags = self
            .service
            .validate_action_config(&req.type_name, &config)
            .await;
        Ok(Response::new(pb::validate_action_config::Response {
            diagnostics: convert::diagnostics(&diags),
        }))
    }

    async fn stop_provider(
        &self,
        _: Request<pb::stop_provider::Request>,
    ) -> Result<Response<pb::stop_provider::Response>, Status> {
        let _t = RpcTimer::start("StopProvider", "");
        let error = self.service.stop().await.unwrap_or_default();
        Ok(Response::new(pb::stop_provider::Response { error }))
    }
}

fn first(d: Diagnostics) -> Diagnostic {
    d.0.into_iter()
        .next()
        .unwrap_or_else(|| Diagnostic::error("Unknown error", ""))
}

/// `plugin.GRPCController`: Terraform's request to exit.
pub struct Controller {
    pub shutdown: Arc<Notify>,
}

#[tonic::async_trait]
impl gp::grpc_controller_server::GrpcController for Controller {
    async fn shutdown(&self, _: Request<gp::Empty>) -> Result<Response<gp::Empty>, Status> {
        tracing::debug!(target: "rhelazure.plugin", "shutdown requested by Terraform");
        self.shutdown.notify_one();
        Ok(Response::new(gp::Empty {}))
    }
}

/// `plugin.GRPCStdio`: we never write to stdout/stderr except log lines, which
/// Terraform reads from the process's stderr directly; the stream stays open
/// and empty until the server stops.
pub struct Stdio;

#[tonic::async_trait]
impl gp::grpc_stdio_server::GrpcStdio for Stdio {
    type StreamStdioStream = BoxStream<gp::StdioData>;

    async fn stream_stdio(
        &self,
        _: Request<()>,
    ) -> Result<Response<Self::StreamStdioStream>, Status> {
        Ok(Response::new(Box::pin(tokio_stream::pending())))
    }
}

/// `plugin.GRPCBroker`: accepted and ignored; providers open no extra connections.
pub struct Broker;

#[tonic::async_trait]
impl gp::grpc_broker_server::GrpcBroker for Broker {
    type StartStreamStream = BoxStream<gp::ConnInfo>;

    async fn start_stream(
        &self,
        req: Request<Streaming<gp::ConnInfo>>,
    ) -> Result<Response<Self::StartStreamStream>, Status> {
        let mut incoming = req.into_inner();
        // Drain what the client sends so its stream never blocks; answer nothing.
        tokio::spawn(async move { while let Ok(Some(_)) = incoming.message().await {} });
        Ok(Response::new(Box::pin(tokio_stream::pending())))
    }
}
