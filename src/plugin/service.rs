//! The seam between the protocol and the provider: what the gRPC server asks of
//! a provider, in plain Rust types (values already decoded, diagnostics, no
//! protobuf). `framework::Registry` implements it; tests can implement it too.

use std::collections::BTreeMap;
use std::time::SystemTime;

use async_trait::async_trait;

use super::diag::{AttributePath, Diagnostics};
use super::schema::{FunctionSignature, IdentitySchema, Schema};
use super::value::Value;

/// Every schema the provider serves, computed once per process.
#[derive(Clone, Debug, Default)]
pub struct ProviderSchemas {
    pub provider: Schema,
    pub resources: BTreeMap<String, Schema>,
    pub data_sources: BTreeMap<String, Schema>,
    pub ephemeral_resources: BTreeMap<String, Schema>,
    pub functions: BTreeMap<String, FunctionSignature>,
    /// Identity schemas of the resources that have one.
    pub identities: BTreeMap<String, IdentitySchema>,
    /// The `config` block of each list resource (Terraform 1.14+ `list`
    /// blocks), by the managed resource type it lists.
    pub list_resources: BTreeMap<String, Schema>,
    /// The configuration schema of each action (Terraform 1.14+ `action` blocks).
    pub actions: BTreeMap<String, Schema>,
}

pub struct PlanRequest {
    pub type_name: String,
    /// Null when creating.
    pub prior_state: Value,
    /// Null when destroying.
    pub proposed_new_state: Value,
    pub config: Value,
    pub prior_private: Vec<u8>,
}

#[derive(Default)]
pub struct PlanResponse {
    pub planned_state: Value,
    pub requires_replace: Vec<AttributePath>,
    pub planned_private: Vec<u8>,
    pub diagnostics: Diagnostics,
}

pub struct ApplyRequest {
    pub type_name: String,
    pub prior_state: Value,
    /// Null when destroying.
    pub planned_state: Value,
    pub config: Value,
    pub planned_private: Vec<u8>,
}

/// New state (null when deleted or when a create left nothing behind) plus diagnostics.
/// A create that fails half-way returns what exists *and* an error: Terraform then
/// keeps the object as tainted.
#[derive(Default)]
pub struct ApplyResponse {
    pub new_state: Value,
    pub private: Vec<u8>,
    pub diagnostics: Diagnostics,
}

#[derive(Default)]
pub struct ReadResponse {
    /// Null when the object is gone.
    pub new_state: Value,
    pub private: Vec<u8>,
    pub diagnostics: Diagnostics,
}

pub struct ImportedResource {
    pub type_name: String,
    pub state: Value,
    pub private: Vec<u8>,
}

#[derive(Default)]
pub struct ImportResponse {
    pub imported: Vec<ImportedResource>,
    pub diagnostics: Diagnostics,
}

pub struct MoveRequest {
    pub source_provider_address: String,
    pub source_type_name: String,
    pub source_schema_version: i64,
    pub source_state_json: Vec<u8>,
    pub target_type_name: String,
    pub source_private: Vec<u8>,
}

#[derive(Default)]
pub struct MoveResponse {
    pub target_state: Value,
    pub target_private: Vec<u8>,
    pub diagnostics: Diagnostics,
}

#[derive(Default)]
pub struct OpenEphemeralResponse {
    pub result: Value,
    pub private: Option<Vec<u8>>,
    pub renew_at: Option<SystemTime>,
    pub diagnostics: Diagnostics,
}

#[derive(Default)]
pub struct RenewEphemeralResponse {
    pub private: Option<Vec<u8>>,
    pub renew_at: Option<SystemTime>,
    pub diagnostics: Diagnostics,
}

/// A `list` block's request (`terraform query`).
pub struct ListRequest {
    pub type_name: String,
    /// The `config` block, of the list resource's schema.
    pub config: Value,
    /// Whether each result carries the whole resource object.
    pub include_resource_object: bool,
    /// At most this many results.
    pub limit: usize,
}

/// One result of a list, or (with no identity) diagnostics alone.
#[derive(Default)]
pub struct ListEvent {
    /// The object's identity, of the resource's identity schema.
    pub identity: Option<Value>,
    pub display_name: String,
    /// The object as the resource's state, when the request asked for it.
    pub resource_object: Option<Value>,
    pub diagnostics: Diagnostics,
}

/// What an invoked action reports: progress while it runs, then its end.
pub enum ActionEvent {
    Progress(String),
    Completed(Diagnostics),
}

/// A function call that failed: the message, and which argument was at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionError {
    pub text: String,
    pub argument: Option<usize>,
}

/// What a provider does, one method per protocol RPC it supports.
#[async_trait]
pub trait ProviderService: Send + Sync + 'static {
    fn schemas(&self) -> &ProviderSchemas;

    async fn validate_provider_config(&self, config: &Value) -> Diagnostics;
    async fn configure_provider(&self, terraform_version: &str, config: &Value) -> Diagnostics;

    async fn validate_resource_config(&self, type_name: &str, config: &Value) -> Diagnostics;
    async fn validate_data_source_config(&self, type_name: &str, config: &Value) -> Diagnostics;
    async fn validate_ephemeral_resource_config(
        &self,
        type_name: &str,
        config: &Value,
    ) -> Diagnostics;

    /// `raw_state_json` is written by schema `version` (possibly older than current).
    async fn upgrade_resource_state(
        &self,
        type_name: &str,
        version: i64,
        raw_state_json: &[u8],
    ) -> (Value, Diagnostics);
    async fn read_resource(
        &self,
        type_name: &str,
        current_state: &Value,
        private: &[u8],
    ) -> ReadResponse;
    async fn plan_resource_change(&self, req: PlanRequest) -> PlanResponse;
    async fn apply_resource_change(&self, req: ApplyRequest) -> ApplyResponse;
    async fn import_resource_state(&self, type_name: &str, id: &str) -> ImportResponse;

    /// The identity of an object of a resource type with an identity schema,
    /// from its state: an object of the schema's attributes, or None while a
    /// part is unknown (a create's plan) or for a type without identity.
    fn identity_of(&self, _type_name: &str, _state: &Value) -> Option<Value> {
        None
    }

    /// The `terraform import` id that an identity names (import by identity
    /// goes through the same import as import by id).
    fn import_id_from_identity(
        &self,
        type_name: &str,
        _identity: &Value,
    ) -> Result<String, Diagnostics> {
        Err(super::diag::Diagnostic::error(
            "Import by identity not supported",
            format!("{type_name} has no resource identity."),
        )
        .into())
    }
    async fn move_resource_state(&self, req: MoveRequest) -> MoveResponse;
    async fn read_data_source(&self, type_name: &str, config: &Value) -> (Value, Diagnostics);

    async fn open_ephemeral_resource(
        &self,
        type_name: &str,
        config: &Value,
    ) -> OpenEphemeralResponse;
    async fn renew_ephemeral_resource(
        &self,
        type_name: &str,
        private: Option<&[u8]>,
    ) -> RenewEphemeralResponse;
    async fn close_ephemeral_resource(
        &self,
        type_name: &str,
        private: Option<&[u8]>,
    ) -> Diagnostics;

    async fn call_function(&self, name: &str, args: Vec<Value>) -> Result<Value, FunctionError>;

    async fn validate_list_resource_config(&self, type_name: &str, config: &Value) -> Diagnostics;

    /// Sends each result to `out` as it is found, and stops early when `out`
    /// is closed (Terraform has what it asked for).
    async fn list_resource(&self, req: ListRequest, out: tokio::sync::mpsc::Sender<ListEvent>);

    /// The configuration that manages the object `state` describes as it is
    /// (`terraform query -generate-config-out`): what a user would write,
    /// nothing computed-only.
    fn generate_resource_config(
        &self,
        type_name: &str,
        state: &Value,
    ) -> Result<Value, Diagnostics>;

    async fn validate_action_config(&self, type_name: &str, config: &Value) -> Diagnostics;
    /// Checks an action before anything runs (`terraform plan`, and apply
    /// before invoking).
    async fn plan_action(&self, type_name: &str, config: &Value) -> Diagnostics;
    /// Runs the action, sending progress to `out` and ending with exactly one
    /// `Completed`.
    async fn invoke_action(
        &self,
        type_name: &str,
        config: &Value,
        out: tokio::sync::mpsc::Sender<ActionEvent>,
    );

    /// Ctrl-C: cancel in-flight work. Returns an error text if that was not possible.
    async fn stop(&self) -> Option<String>;
}
