//! What a resource author sees: traits for resources, list resources,
//! actions, data sources, ephemeral resources, functions and the provider
//! itself; schema builders with plan and
//! validation behaviour; typed models; timeouts; private state.
//!
//! [`Registry`] turns a set of these into a `plugin::service::ProviderService`,
//! doing the generic work (plan defaults, requires-replace, validation, import,
//! state upgrades) once for everyone.

pub mod action;
pub mod generate;
pub mod list;
pub mod model;
pub mod plan;
pub mod private;
mod registry;
pub mod schema;
pub mod timeouts;
pub mod validators;

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::watch;

pub use crate::plugin::diag::{AttributePath, Diagnostic, Diagnostics};
pub use crate::plugin::schema::{BlockNesting, FunctionSignature, ObjectNesting, Parameter};
pub use crate::plugin::service::{FunctionError, MoveRequest};
pub use crate::plugin::value::{Number, Type, Value};
pub use action::{Action, ActionProgress};
pub use list::{Found, ListQuery, ListResource, ListResults};
pub use private::Private;
pub use registry::Registry;
pub use schema::{Attr, BlockDef, ResourceSchema};

/// Per-call context: the configured provider data (`C`, e.g. API clients) and
/// whether Terraform asked us to stop.
pub struct Ctx<C> {
    data: Option<Arc<C>>,
    stop: watch::Receiver<bool>,
    /// Warnings a successful call adds to its response (read has no other way).
    warnings: std::sync::Mutex<Diagnostics>,
}

impl<C> Ctx<C> {
    /// The configured provider data; an error diagnostic if the provider is not
    /// configured yet (e.g. its configuration depends on values unknown at plan time).
    pub fn data(&self) -> Result<&C, Diagnostic> {
        self.data.as_deref().ok_or_else(|| {
            Diagnostic::error(
                "Provider not configured",
                "The rhelazure provider has not been configured yet. If its configuration uses values \
                 known only after apply, apply those first (for example with -target).",
            )
        })
    }

    pub fn is_configured(&self) -> bool {
        self.data.is_some()
    }

    /// Adds warnings to this call's response, whatever its outcome.
    pub fn warn(&self, d: Diagnostics) {
        if let Ok(mut w) = self.warnings.lock() {
            w.extend(d);
        }
    }

    /// The warnings added with [`Ctx::warn`].
    pub fn take_warnings(&self) -> Diagnostics {
        self.warnings
            .lock()
            .map(|mut w| std::mem::take(&mut *w))
            .unwrap_or_default()
    }

    /// Resolves when Terraform sends StopProvider (Ctrl-C): long waits select on it.
    pub async fn stopped(&self) {
        let mut rx = self.stop.clone();
        let _ = rx.wait_for(|s| *s).await;
    }
}

/// The outcome of create / update: the new state, even when there is an error
/// (a half-finished create must still be tracked), plus private state.
pub struct ApplyOutcome {
    pub state: Value,
    pub private: Private,
    pub diagnostics: Diagnostics,
}

impl ApplyOutcome {
    pub fn ok(state: Value) -> Self {
        ApplyOutcome {
            state,
            private: Private::default(),
            diagnostics: Diagnostics::new(),
        }
    }
    pub fn failed(state: Value, diagnostics: Diagnostics) -> Self {
        ApplyOutcome {
            state,
            private: Private::default(),
            diagnostics,
        }
    }
}

/// Everything `modify_plan` may read and change.
pub struct PlanContext<'a> {
    /// Null on create.
    pub prior: &'a Value,
    pub config: &'a Value,
    /// Already filled by the generic plan.
    pub planned: Value,
    pub requires_replace: Vec<AttributePath>,
    pub private: Private,
    pub diagnostics: Diagnostics,
}

impl PlanContext<'_> {
    pub fn is_create(&self) -> bool {
        self.prior.is_null()
    }

    /// Sets a planned attribute (top level).
    pub fn set(&mut self, attr: &str, v: impl Into<Value>) {
        if let Some(m) = self.planned.as_object_mut() {
            m.insert(attr.to_string(), v.into());
        }
    }

    pub fn require_replace(&mut self, attr: &str) {
        let p = AttributePath::attrs(&[attr]);
        if !self.requires_replace.contains(&p) {
            self.requires_replace.push(p);
        }
    }
}

/// A managed resource: its schema next to its CRUD.
#[async_trait]
pub trait Resource<C: Send + Sync + 'static>: Send + Sync {
    /// Full type name, e.g. `rhelazure_image`.
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> ResourceSchema;

    /// Checks beyond per-attribute validators (e.g. "exactly one of a or b").
    fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}

    /// Resource-specific planning after the generic plan (derived values,
    /// extra replacement triggers, plan-time checks against the API).
    async fn modify_plan(&self, _ctx: &Ctx<C>, _plan: &mut PlanContext<'_>) {}

    /// `private` is what the plan recorded (`PlanContext::private`).
    async fn create(
        &self,
        ctx: &Ctx<C>,
        planned: &Value,
        config: &Value,
        private: &Private,
    ) -> ApplyOutcome;
    /// `Ok(None)`: the object is gone (Terraform plans to create it again).
    async fn read(
        &self,
        ctx: &Ctx<C>,
        state: &Value,
        private: &Private,
    ) -> Result<Option<(Value, Private)>, Diagnostics>;
    async fn update(
        &self,
        ctx: &Ctx<C>,
        prior: &Value,
        planned: &Value,
        config: &Value,
        private: &Private,
    ) -> ApplyOutcome;
    async fn delete(&self, ctx: &Ctx<C>, prior: &Value, private: &Private) -> Diagnostics;

    /// From the id given to `terraform import` / an `import` block to a partial
    /// state that `read` completes. The default sets the `id` attribute.
    async fn import(&self, _ctx: &Ctx<C>, id: &str) -> Result<Value, Diagnostics> {
        let schema = self.schema();
        if !schema.attrs.iter().any(|a| a.name() == "id") {
            return Err(Diagnostic::error(
                "Import not supported",
                format!("{} cannot be imported.", self.type_name()),
            )
            .into());
        }
        let mut m: std::collections::BTreeMap<String, Value> = Default::default();
        m.insert("id".into(), Value::from(id));
        Ok(Value::Object(m))
    }

    /// Rewrites state JSON written by schema version `from` (older than the current one)
    /// into the current shape. Called once per older version step is not required:
    /// this gets the stored version and must produce the current shape.
    fn upgrade_state(
        &self,
        from: i64,
        _state: serde_json::Value,
    ) -> Result<serde_json::Value, Diagnostic> {
        Err(Diagnostic::error(
            "Unsupported state version",
            format!(
                "{} has no upgrade from schema version {from}.",
                self.type_name()
            ),
        ))
    }

    /// `moved { from = other_type.x  to = this_type.y }`: `None` means this
    /// resource accepts no moves from that source.
    fn move_state(&self, _req: &MoveRequest) -> Option<Result<Value, Diagnostics>> {
        None
    }

    /// The resource's identity (Terraform 1.12+): what names one object, for
    /// `import { identity = { ... } }`. None: the resource has no identity.
    fn identity(&self) -> Option<&dyn IdentityDef> {
        None
    }
}

/// A resource identity: its string attributes (each required for import),
/// how a state gives them, and the import id they name.
pub trait IdentityDef: Send + Sync {
    /// (name, description) of each attribute.
    fn attributes(&self) -> Vec<(&'static str, &'static str)>;

    /// The identity of the object `state` describes, or None while it is not
    /// known yet. It must never change over the object's life: normalise what
    /// the service may spell differently from one answer to the next.
    fn of_state(&self, state: &Value) -> Option<IdentityValues>;

    /// The id [`Resource::import`] takes for an identity, so that import by
    /// identity and by id are one path.
    fn import_id(&self, identity: &IdentityValues) -> Result<String, Diagnostic>;
}

/// Identity attribute values by name.
pub type IdentityValues = std::collections::BTreeMap<String, String>;

/// A data source.
#[async_trait]
pub trait DataSource<C: Send + Sync + 'static>: Send + Sync {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> ResourceSchema;
    fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}
    /// Returns the config with its computed attributes filled.
    async fn read(&self, ctx: &Ctx<C>, config: &Value) -> Result<Value, Diagnostics>;
}

/// The result of opening an ephemeral resource.
pub struct EphemeralOpen {
    pub result: Value,
    pub private: Option<Private>,
    pub renew_at: Option<std::time::SystemTime>,
}

/// An ephemeral resource: a value that lives for one Terraform run, never stored.
#[async_trait]
pub trait EphemeralResource<C: Send + Sync + 'static>: Send + Sync {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> ResourceSchema;
    fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}
    async fn open(&self, ctx: &Ctx<C>, config: &Value) -> Result<EphemeralOpen, Diagnostics>;
    async fn renew(
        &self,
        _ctx: &Ctx<C>,
        _private: &Private,
    ) -> Result<Option<std::time::SystemTime>, Diagnostics> {
        Ok(None)
    }
    async fn close(&self, _ctx: &Ctx<C>, _private: &Private) -> Diagnostics {
        Diagnostics::new()
    }
}

/// A provider-defined function: pure, so it works the same in Terraform and OpenTofu.
pub trait Function: Send + Sync {
    fn name(&self) -> &'static str;
    fn signature(&self) -> FunctionSignature;
    fn call(&self, args: &[Value]) -> Result<Value, FunctionError>;
}

/// The provider block: its schema and how it becomes the data every call gets.
#[async_trait]
pub trait ProviderDef<C: Send + Sync + 'static>: Send + Sync {
    fn schema(&self) -> ResourceSchema;
    fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}
    async fn configure(&self, terraform_version: &str, config: &Value) -> Result<C, Diagnostics>;
}
