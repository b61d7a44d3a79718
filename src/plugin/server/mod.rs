//! The gRPC services: `tfplugin6.Provider` over a [`ProviderService`], and the
//! three small go-plugin services (controller, stdio, broker).
//!
//! Each handler decodes the DynamicValues with the schema, calls the provider,
//! and encodes the answer; a value that cannot be decoded becomes a diagnostic,
//! never a gRPC error or a panic.
//!
//! The `Provider` trait is implemented here, each RPC handed to the file of its
//! family: `provider` (metadata, schemas, configure), `resources`,
//! `data_sources` (and ephemeral resources), `list`, `functions`, `actions`;
//! state stores are not offered. `go_plugin` holds the controller, stdio and
//! broker services. The family files share this file's imports and helpers
//! (`use super::*`): one server split for reading.

pub use go_plugin::{Broker, Controller, Stdio};

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
    let value = decode(dv, schema.value_type(), what)?;
    if schema.has_sensitive() {
        redact_sensitive(&schema.block, &value);
    }
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

// After `try_diags!`: a macro is in scope only below its definition.
mod actions;
mod data_sources;
mod functions;
mod go_plugin;
mod list;
mod provider;
mod resources;

#[tonic::async_trait]
impl<S: ProviderService> pb::provider_server::Provider for GrpcProvider<S> {
    async fn get_metadata(
        &self,
        req: Request<pb::get_metadata::Request>,
    ) -> Result<Response<pb::get_metadata::Response>, Status> {
        provider::get_metadata(self, req).await
    }

    async fn get_provider_schema(
        &self,
        req: Request<pb::get_provider_schema::Request>,
    ) -> Result<Response<pb::get_provider_schema::Response>, Status> {
        provider::get_provider_schema(self, req).await
    }

    async fn validate_provider_config(
        &self,
        req: Request<pb::validate_provider_config::Request>,
    ) -> Result<Response<pb::validate_provider_config::Response>, Status> {
        provider::validate_provider_config(self, req).await
    }

    async fn validate_resource_config(
        &self,
        req: Request<pb::validate_resource_config::Request>,
    ) -> Result<Response<pb::validate_resource_config::Response>, Status> {
        resources::validate_resource_config(self, req).await
    }

    async fn validate_data_resource_config(
        &self,
        req: Request<pb::validate_data_resource_config::Request>,
    ) -> Result<Response<pb::validate_data_resource_config::Response>, Status> {
        data_sources::validate_data_resource_config(self, req).await
    }

    async fn upgrade_resource_state(
        &self,
        req: Request<pb::upgrade_resource_state::Request>,
    ) -> Result<Response<pb::upgrade_resource_state::Response>, Status> {
        resources::upgrade_resource_state(self, req).await
    }

    async fn get_resource_identity_schemas(
        &self,
        req: Request<pb::get_resource_identity_schemas::Request>,
    ) -> Result<Response<pb::get_resource_identity_schemas::Response>, Status> {
        provider::get_resource_identity_schemas(self, req).await
    }

    async fn upgrade_resource_identity(
        &self,
        req: Request<pb::upgrade_resource_identity::Request>,
    ) -> Result<Response<pb::upgrade_resource_identity::Response>, Status> {
        resources::upgrade_resource_identity(self, req).await
    }

    async fn configure_provider(
        &self,
        req: Request<pb::configure_provider::Request>,
    ) -> Result<Response<pb::configure_provider::Response>, Status> {
        provider::configure_provider(self, req).await
    }

    async fn read_resource(
        &self,
        req: Request<pb::read_resource::Request>,
    ) -> Result<Response<pb::read_resource::Response>, Status> {
        resources::read_resource(self, req).await
    }

    async fn plan_resource_change(
        &self,
        req: Request<pb::plan_resource_change::Request>,
    ) -> Result<Response<pb::plan_resource_change::Response>, Status> {
        resources::plan_resource_change(self, req).await
    }

    async fn apply_resource_change(
        &self,
        req: Request<pb::apply_resource_change::Request>,
    ) -> Result<Response<pb::apply_resource_change::Response>, Status> {
        resources::apply_resource_change(self, req).await
    }

    async fn import_resource_state(
        &self,
        req: Request<pb::import_resource_state::Request>,
    ) -> Result<Response<pb::import_resource_state::Response>, Status> {
        resources::import_resource_state(self, req).await
    }

    async fn move_resource_state(
        &self,
        req: Request<pb::move_resource_state::Request>,
    ) -> Result<Response<pb::move_resource_state::Response>, Status> {
        resources::move_resource_state(self, req).await
    }

    async fn read_data_source(
        &self,
        req: Request<pb::read_data_source::Request>,
    ) -> Result<Response<pb::read_data_source::Response>, Status> {
        data_sources::read_data_source(self, req).await
    }

    async fn generate_resource_config(
        &self,
        req: Request<pb::generate_resource_config::Request>,
    ) -> Result<Response<pb::generate_resource_config::Response>, Status> {
        resources::generate_resource_config(self, req).await
    }

    async fn validate_ephemeral_resource_config(
        &self,
        req: Request<pb::validate_ephemeral_resource_config::Request>,
    ) -> Result<Response<pb::validate_ephemeral_resource_config::Response>, Status> {
        data_sources::validate_ephemeral_resource_config(self, req).await
    }

    async fn open_ephemeral_resource(
        &self,
        req: Request<pb::open_ephemeral_resource::Request>,
    ) -> Result<Response<pb::open_ephemeral_resource::Response>, Status> {
        data_sources::open_ephemeral_resource(self, req).await
    }

    async fn renew_ephemeral_resource(
        &self,
        req: Request<pb::renew_ephemeral_resource::Request>,
    ) -> Result<Response<pb::renew_ephemeral_resource::Response>, Status> {
        data_sources::renew_ephemeral_resource(self, req).await
    }

    async fn close_ephemeral_resource(
        &self,
        req: Request<pb::close_ephemeral_resource::Request>,
    ) -> Result<Response<pb::close_ephemeral_resource::Response>, Status> {
        data_sources::close_ephemeral_resource(self, req).await
    }

    type ListResourceStream = BoxStream<pb::list_resource::Event>;
    async fn list_resource(
        &self,
        req: Request<pb::list_resource::Request>,
    ) -> Result<Response<Self::ListResourceStream>, Status> {
        list::list_resource(self, req).await
    }

    async fn validate_list_resource_config(
        &self,
        req: Request<pb::validate_list_resource_config::Request>,
    ) -> Result<Response<pb::validate_list_resource_config::Response>, Status> {
        list::validate_list_resource_config(self, req).await
    }

    async fn get_functions(
        &self,
        req: Request<pb::get_functions::Request>,
    ) -> Result<Response<pb::get_functions::Response>, Status> {
        functions::get_functions(self, req).await
    }

    async fn call_function(
        &self,
        req: Request<pb::call_function::Request>,
    ) -> Result<Response<pb::call_function::Response>, Status> {
        functions::call_function(self, req).await
    }

    async fn plan_action(
        &self,
        req: Request<pb::plan_action::Request>,
    ) -> Result<Response<pb::plan_action::Response>, Status> {
        actions::plan_action(self, req).await
    }

    type InvokeActionStream = BoxStream<pb::invoke_action::Event>;
    async fn invoke_action(
        &self,
        req: Request<pb::invoke_action::Request>,
    ) -> Result<Response<Self::InvokeActionStream>, Status> {
        actions::invoke_action(self, req).await
    }

    async fn validate_action_config(
        &self,
        req: Request<pb::validate_action_config::Request>,
    ) -> Result<Response<pb::validate_action_config::Response>, Status> {
        actions::validate_action_config(self, req).await
    }

    async fn stop_provider(
        &self,
        req: Request<pb::stop_provider::Request>,
    ) -> Result<Response<pb::stop_provider::Response>, Status> {
        provider::stop_provider(self, req).await
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
}

fn first(d: Diagnostics) -> Diagnostic {
    d.0.into_iter()
        .next()
        .unwrap_or_else(|| Diagnostic::error("Unknown error", ""))
}
