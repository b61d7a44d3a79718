//! `Registry`: the resources, list resources, data sources, ephemeral
//! resources and functions of a provider, served as one `ProviderService`.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use tokio::sync::watch;

use crate::plugin::diag::{Diagnostic, Diagnostics};
use crate::plugin::schema::{IdentityAttribute, IdentitySchema};
use crate::plugin::service::{
    ActionEvent, ApplyRequest, ApplyResponse, FunctionError, ImportResponse, ImportedResource,
    ListEvent, ListRequest, MoveRequest, MoveResponse, OpenEphemeralResponse, PlanRequest,
    PlanResponse, ProviderSchemas, ProviderService, ReadResponse, RenewEphemeralResponse,
};
use crate::plugin::value::{json, Type, Value};

use super::action::{Action, ActionProgress};
use super::list::{ListQuery, ListResource, ListResults};
use super::schema::ResourceSchema;
use super::{generate, plan};
use super::{
    Ctx, DataSource, EphemeralResource, Function, IdentityValues, PlanContext, Private,
    ProviderDef, Resource,
};

#[cfg(feature = "bench-floor")]
mod floor;

struct Entry<T: ?Sized> {
    schema: ResourceSchema,
    imp: Box<T>,
}

pub struct Registry<C: Send + Sync + 'static> {
    provider: Entry<dyn ProviderDef<C>>,
    resources: BTreeMap<String, Entry<dyn Resource<C>>>,
    lists: BTreeMap<String, Entry<dyn ListResource<C>>>,
    actions: BTreeMap<String, Entry<dyn Action<C>>>,
    data_sources: BTreeMap<String, Entry<dyn DataSource<C>>>,
    ephemerals: BTreeMap<String, Entry<dyn EphemeralResource<C>>>,
    functions: BTreeMap<String, Box<dyn Function>>,
    schemas: ProviderSchemas,
    data: RwLock<Option<Arc<C>>>,
    stop: watch::Sender<bool>,
}

impl<C: Send + Sync + 'static> Registry<C> {
    /// Attributes and blocks, at every depth, whose author wrote no
    /// description (the registry docs and the language server show nothing
    /// else); `tests/docs.rs` wants none.
    pub fn undescribed(&self) -> Vec<String> {
        let mut out = self.provider.schema.undescribed("provider");
        let kinds = [
            (
                "resource",
                self.resources
                    .iter()
                    .map(|(n, e)| (n, &e.schema))
                    .collect::<Vec<_>>(),
            ),
            (
                "list",
                self.lists.iter().map(|(n, e)| (n, &e.schema)).collect(),
            ),
            (
                "action",
                self.actions.iter().map(|(n, e)| (n, &e.schema)).collect(),
            ),
            (
                "data source",
                self.data_sources
                    .iter()
                    .map(|(n, e)| (n, &e.schema))
                    .collect(),
            ),
            (
                "ephemeral",
                self.ephemerals
                    .iter()
                    .map(|(n, e)| (n, &e.schema))
                    .collect(),
            ),
        ];
        for (kind, schemas) in kinds {
            for (name, schema) in schemas {
                out.extend(schema.undescribed(&format!("{kind} {name}")));
            }
        }
        out
    }

    pub fn new(provider: impl ProviderDef<C> + 'static) -> Self {
        let schema = provider.schema();
        let schemas = ProviderSchemas {
            provider: schema.to_protocol(),
            ..Default::default()
        };
        Registry {
            provider: Entry {
                schema,
                imp: Box::new(provider),
            },
            resources: BTreeMap::new(),
            lists: BTreeMap::new(),
            actions: BTreeMap::new(),
            data_sources: BTreeMap::new(),
            ephemerals: BTreeMap::new(),
            functions: BTreeMap::new(),
            schemas,
            data: RwLock::new(None),
            stop: watch::channel(false).0,
        }
    }

    pub fn resource(mut self, r: impl Resource<C> + 'static) -> Self {
        let schema = r.schema();
        self.schemas
            .resources
            .insert(r.type_name().to_string(), schema.to_protocol());
        if let Some(identity) = r.identity() {
            self.schemas.identities.insert(
                r.type_name().to_string(),
                IdentitySchema {
                    version: 0,
                    attributes: identity
                        .attributes()
                        .iter()
                        .map(|(name, description)| IdentityAttribute {
                            name: name.to_string(),
                            ty: Type::String,
                            required_for_import: true,
                            optional_for_import: false,
                            description: description.to_string(),
                        })
                        .collect(),
                },
            );
        }
        self.resources.insert(
            r.type_name().to_string(),
            Entry {
                schema,
                imp: Box::new(r),
            },
        );
        self
    }

    /// Adds the list resource of a managed resource already added, which
    /// must have an identity (each result is named by it).
    pub fn list_resource(mut self, l: impl ListResource<C> + 'static) -> Self {
        let name = l.type_name();
        assert!(
            self.resources
                .get(name)
                .is_some_and(|r| r.imp.identity().is_some()),
            "list resource {name}: add the resource first, with an identity"
        );
        let schema = l.schema();
        self.schemas
            .list_resources
            .insert(name.to_string(), schema.to_protocol());
        self.lists.insert(
            name.to_string(),
            Entry {
                schema,
                imp: Box::new(l),
            },
        );
        self
    }

    pub fn action(mut self, a: impl Action<C> + 'static) -> Self {
        let schema = a.schema();
        self.schemas
            .actions
            .insert(a.type_name().to_string(), schema.to_protocol());
        self.actions.insert(
            a.type_name().to_string(),
            Entry {
                schema,
                imp: Box::new(a),
            },
        );
        self
    }

    pub fn data_source(mut self, d: impl DataSource<C> + 'static) -> Self {
        let schema = d.schema();
        self.schemas
            .data_sources
            .insert(d.type_name().to_string(), schema.to_protocol());
        self.data_sources.insert(
            d.type_name().to_string(),
            Entry {
                schema,
                imp: Box::new(d),
            },
        );
        self
    }

    pub fn ephemeral_resource(mut self, e: impl EphemeralResource<C> + 'static) -> Self {
        let schema = e.schema();
        self.schemas
            .ephemeral_resources
            .insert(e.type_name().to_string(), schema.to_protocol());
        self.ephemerals.insert(
            e.type_name().to_string(),
            Entry {
                schema,
                imp: Box::new(e),
            },
        );
        self
    }

    pub fn function(mut self, f: impl Function + 'static) -> Self {
        self.schemas
            .functions
            .insert(f.name().to_string(), f.signature());
        self.functions.insert(f.name().to_string(), Box::new(f));
        self
    }

    fn ctx(&self) -> Ctx<C> {
        Ctx {
            data: self.data.read().ok().and_then(|d| d.clone()),
            stop: self.stop.subscribe(),
            warnings: Default::default(),
        }
    }

    fn find_resource(&self, type_name: &str) -> Result<&Entry<dyn Resource<C>>, Diagnostics> {
        self.resources
            .get(type_name)
            .ok_or_else(|| unknown_resource(type_name))
    }
}

fn unknown_resource(type_name: &str) -> Diagnostics {
    Diagnostic::error(
        "Unknown resource type",
        format!("This provider has no resource type {type_name:?}."),
    )
    .into()
}

fn validate_with(
    schema: &ResourceSchema,
    config: &Value,
    extra: impl FnOnce(&mut Diagnostics),
) -> Diagnostics {
    let mut diags = plan::validate(schema, config);
    extra(&mut diags);
    diags
}

#[async_trait]
impl<C: Send + Sync + 'static> ProviderService for Registry<C> {
    fn schemas(&self) -> &ProviderSchemas {
        &self.schemas
    }

    async fn validate_provider_config(&self, config: &Value) -> Diagnostics {
        validate_with(&self.provider.schema, config, |d| {
            self.provider.imp.validate(config, d)
        })
    }

    async fn configure_provider(&self, terraform_version: &str, config: &Value) -> Diagnostics {
        match self.provider.imp.configure(terraform_version, config).await {
            Ok(data) => {
                if let Ok(mut slot) = self.data.write() {
                    *slot = Some(Arc::new(data));
                }
                Diagnostics::new()
            }
            Err(d) => d,
        }
    }

    async fn validate_resource_config(&self, type_name: &str, config: &Value) -> Diagnostics {
        match self.find_resource(type_name) {
            Ok(r) => validate_with(&r.schema, config, |d| r.imp.validate(config, d)),
            Err(d) => d,
        }
    }

    async fn validate_data_source_config(&self, type_name: &str, config: &Value) -> Diagnostics {
        match self.data_sources.get(type_name) {
            Some(r) => validate_with(&r.schema, config, |d| r.imp.validate(config, d)),
            None => Diagnostic::error("Unknown data source", type_name.to_string()).into(),
        }
    }

    async fn validate_ephemeral_resource_config(
        &self,
        type_name: &str,
        config: &Value,
    ) -> Diagnostics {
        match self.ephemerals.get(type_name) {
            Some(r) => validate_with(&r.schema, config, |d| r.imp.validate(config, d)),
            None => Diagnostic::error("Unknown ephemeral resource", type_name.to_string()).into(),
        }
    }

    async fn upgrade_resource_state(
        &self,
        type_name: &str,
        version: i64,
        raw: &[u8],
    ) -> (Value, Diagnostics) {
        let r = match self.find_resource(type_name) {
            Ok(r) => r,
            Err(d) => return (Value::Null, d),
        };
        // Registered together with the entry; its value type is built once.
        let Some(served) = self.schemas.resources.get(type_name) else {
            return (Value::Null, unknown_resource(type_name));
        };
        let ty = served.value_type();
        let current = r.schema.version;
        let bytes = if version == current {
            raw.to_vec()
        } else if version > current {
            return (
                Value::Null,
                Diagnostic::error(
                    "State from a newer provider",
                    format!(
                        "This {type_name} was stored by a newer provider (schema version {version}, this provider knows {current}). Upgrade the provider."
                    ),
                )
                .into(),
            );
        } else {
            let old: serde_json::Value = match serde_json::from_slice(raw) {
                Ok(v) => v,
                Err(e) => {
                    return (
                        Value::Null,
                        Diagnostic::error("Unreadable state", e.to_string()).into(),
                    )
                }
            };
            match r.imp.upgrade_state(version, old) {
                Ok(v) => serde_json::to_vec(&v).unwrap_or_default(),
                Err(d) => return (Value::Null, d.into()),
            }
        };
        match json::decode_lenient(&bytes, ty) {
            Ok(v) => (v, Diagnostics::new()),
            Err(e) => (
                Value::Null,
                crate::plugin::convert::codec_diag(e, "Unreadable state").into(),
            ),
        }
    }

    async fn read_resource(&self, type_name: &str, state: &Value, private: &[u8]) -> ReadResponse {
        let r = match self.find_resource(type_name) {
            Ok(r) => r,
            Err(diagnostics) => {
                return ReadResponse {
                    new_state: state.clone(),
                    diagnostics,
                    ..Default::default()
                }
            }
        };
        if state.is_null() {
            return ReadResponse::default();
        }
        let ctx = self.ctx();
        let mut out = match r.imp.read(&ctx, state, &Private::from_bytes(private)).await {
            Ok(Some((new_state, p))) => ReadResponse {
                new_state,
                private: p.to_bytes(),
                diagnostics: Diagnostics::new(),
            },
            Ok(None) => ReadResponse::default(),
            // Keep the prior state when the read fails: losing it would orphan the object.
            Err(diagnostics) => ReadResponse {
                new_state: state.clone(),
                private: private.to_vec(),
                diagnostics,
            },
        };
        out.diagnostics.extend(ctx.take_warnings());
        out
    }

    async fn plan_resource_change(&self, req: PlanRequest) -> PlanResponse {
        let r = match self.find_resource(&req.type_name) {
            Ok(r) => r,
            Err(diagnostics) => {
                return PlanResponse {
                    diagnostics,
                    ..Default::default()
                }
            }
        };
        if req.proposed_new_state.is_null() {
            // Destroy: nothing to plan beyond "gone".
            return PlanResponse {
                planned_private: req.prior_private,
                ..Default::default()
            };
        }
        let planned = plan::plan(
            &r.schema,
            &req.prior_state,
            &req.proposed_new_state,
            &req.config,
        );
        let mut pc = PlanContext {
            prior: &req.prior_state,
            config: &req.config,
            planned: planned.state,
            requires_replace: planned.requires_replace,
            private: Private::from_bytes(&req.prior_private),
            diagnostics: Diagnostics::new(),
        };
        let ctx = self.ctx();
        r.imp.modify_plan(&ctx, &mut pc).await;
        PlanResponse {
            planned_state: pc.planned,
            requires_replace: pc.requires_replace,
            planned_private: pc.private.to_bytes(),
            diagnostics: pc.diagnostics,
        }
    }

    async fn apply_resource_change(&self, req: ApplyRequest) -> ApplyResponse {
        let r = match self.find_resource(&req.type_name) {
            Ok(r) => r,
            Err(diagnostics) => {
                return ApplyResponse {
                    new_state: req.prior_state,
                    diagnostics,
                    ..Default::default()
                }
            }
        };
        let ctx = self.ctx();
        let private = Private::from_bytes(&req.planned_private);
        if req.planned_state.is_null() {
            let diagnostics = r.imp.delete(&ctx, &req.prior_state, &private).await;
            // A failed delete keeps the object in state, so it is not forgotten.
            let new_state = if diagnostics.has_errors() {
                req.prior_state
            } else {
                Value::Null
            };
            return ApplyResponse {
                new_state,
                private: req.planned_private,
                diagnostics,
            };
        }
        let out = if req.prior_state.is_null() {
            r.imp
                .create(&ctx, &req.planned_state, &req.config, &private)
                .await
        } else {
            r.imp
                .update(
                    &ctx,
                    &req.prior_state,
                    &req.planned_state,
                    &req.config,
                    &private,
                )
                .await
        };
        // A failed create or update returns what exists so Terraform keeps
        // tracking it (tainted); what it never learned is null, not unknown.
        let new_state = if out.diagnostics.has_errors() {
            out.state.unknowns_to_null()
        } else {
            out.state
        };
        ApplyResponse {
            new_state,
            private: out.private.to_bytes(),
            diagnostics: out.diagnostics,
        }
    }

    async fn import_resource_state(&self, type_name: &str, id: &str) -> ImportResponse {
        let r = match self.find_resource(type_name) {
            Ok(r) => r,
            Err(diagnostics) => {
                return ImportResponse {
                    diagnostics,
                    ..Default::default()
                }
            }
        };
        match r.imp.import(&self.ctx(), id).await {
            Ok(state) => ImportResponse {
                imported: vec![ImportedResource {
                    type_name: type_name.to_string(),
                    state,
                    private: Vec::new(),
                }],
                diagnostics: Diagnostics::new(),
            },
            Err(diagnostics) => ImportResponse {
                diagnostics,
                ..Default::default()
            },
        }
    }

    fn identity_of(&self, type_name: &str, state: &Value) -> Option<Value> {
        let values = self
            .resources
            .get(type_name)?
            .imp
            .identity()?
            .of_state(state)?;
        Some(Value::Object(
            values
                .into_iter()
                .map(|(k, v)| (k, Value::from(v)))
                .collect(),
        ))
    }

    fn import_id_from_identity(
        &self,
        type_name: &str,
        identity: &Value,
    ) -> Result<String, Diagnostics> {
        let r = self.find_resource(type_name)?;
        let mut values = IdentityValues::new();
        for (name, v) in identity.as_object().into_iter().flatten() {
            match v.as_str() {
                Some(s) if !s.is_empty() => {
                    values.insert(name.clone(), s.to_string());
                }
                _ => {
                    return Err(Diagnostic::error(
                        "Incomplete identity",
                        format!("Importing {type_name} by identity needs {name}."),
                    )
                    .into())
                }
            }
        }
        let Some(identity) = r.imp.identity() else {
            return Err(Diagnostic::error(
                "Import by identity not supported",
                format!("{type_name} has no resource identity."),
            )
            .into());
        };
        identity.import_id(&values).map_err(Diagnostics::from)
    }

    async fn move_resource_state(&self, req: MoveRequest) -> MoveResponse {
        let r = match self.find_resource(&req.target_type_name) {
            Ok(r) => r,
            Err(diagnostics) => {
                return MoveResponse {
                    diagnostics,
                    ..Default::default()
                }
            }
        };
        match r.imp.move_state(&req) {
            Some(Ok(target_state)) => MoveResponse { target_state, ..Default::default() },
            Some(Err(diagnostics)) => MoveResponse { diagnostics, ..Default::default() },
            None => MoveResponse {
                diagnostics: Diagnostic::error(
                    "Unsupported resource move",
                    format!(
                        "{} cannot be moved from {} ({}). Remove the `moved` block and import the object instead.",
                        req.target_type_name, req.source_type_name, req.source_provider_address
                    ),
                )
                .into(),
                ..Default::default()
            },
        }
    }

    async fn read_data_source(&self, type_name: &str, config: &Value) -> (Value, Diagnostics) {
        let Some(d) = self.data_sources.get(type_name) else {
            return (
                Value::Null,
                Diagnostic::error("Unknown data source", type_name.to_string()).into(),
            );
        };
        match d.imp.read(&self.ctx(), config).await {
            Ok(v) => (v, Diagnostics::new()),
            Err(diags) => (Value::Null, diags),
        }
    }

    async fn open_ephemeral_resource(
        &self,
        type_name: &str,
        config: &Value,
    ) -> OpenEphemeralResponse {
        let Some(e) = self.ephemerals.get(type_name) else {
            return OpenEphemeralResponse {
                diagnostics: Diagnostic::error("Unknown ephemeral resource", type_name.to_string())
                    .into(),
                ..Default::default()
            };
        };
        match e.imp.open(&self.ctx(), config).await {
            Ok(o) => OpenEphemeralResponse {
                result: o.result,
                private: o.private.map(|p| p.to_bytes()),
                renew_at: o.renew_at,
                diagnostics: Diagnostics::new(),
            },
            Err(diagnostics) => OpenEphemeralResponse {
                diagnostics,
                ..Default::default()
            },
        }
    }

    async fn renew_ephemeral_resource(
        &self,
        type_name: &str,
        private: Option<&[u8]>,
    ) -> RenewEphemeralResponse {
        let Some(e) = self.ephemerals.get(type_name) else {
            return RenewEphemeralResponse::default();
        };
        let p = Private::from_bytes(private.unwrap_or_default());
        match e.imp.renew(&self.ctx(), &p).await {
            Ok(renew_at) => RenewEphemeralResponse {
                private: Some(p.to_bytes()),
                renew_at,
                diagnostics: Diagnostics::new(),
            },
            Err(diagnostics) => RenewEphemeralResponse {
                diagnostics,
                ..Default::default()
            },
        }
    }

    async fn close_ephemeral_resource(
        &self,
        type_name: &str,
        private: Option<&[u8]>,
    ) -> Diagnostics {
        let Some(e) = self.ephemerals.get(type_name) else {
            return Diagnostics::new();
        };
        e.imp
            .close(
                &self.ctx(),
                &Private::from_bytes(private.unwrap_or_default()),
            )
            .await
    }

    async fn call_function(&self, name: &str, args: Vec<Value>) -> Result<Value, FunctionError> {
        let f = self.functions.get(name).ok_or_else(|| FunctionError {
            text: format!("This provider has no function {name:?}."),
            argument: None,
        })?;
        f.call(&args)
    }

    async fn validate_list_resource_config(&self, type_name: &str, config: &Value) -> Diagnostics {
        match self.lists.get(type_name) {
            Some(l) => validate_with(&l.schema, config, |d| l.imp.validate(config, d)),
            None => Diagnostic::error("Unknown list resource", type_name.to_string()).into(),
        }
    }

    async fn list_resource(&self, req: ListRequest, out: tokio::sync::mpsc::Sender<ListEvent>) {
        let found = self.lists.get(&req.type_name).and_then(|l| {
            let identity = self.resources.get(&req.type_name)?.imp.identity()?;
            Some((l, identity))
        });
        let Some((list, identity)) = found else {
            let diagnostics = Diagnostic::error("Unknown list resource", req.type_name).into();
            let _ = out
                .send(ListEvent {
                    diagnostics,
                    ..Default::default()
                })
                .await;
            return;
        };
        let ctx = self.ctx();
        let query = ListQuery {
            config: &req.config,
            include_resource: req.include_resource_object,
            limit: req.limit,
        };
        let mut results =
            ListResults::new(out.clone(), identity, query.include_resource, query.limit);
        let mut diagnostics = match list.imp.list(&ctx, &query, &mut results).await {
            Ok(()) => Diagnostics::new(),
            Err(d) => d,
        };
        diagnostics.extend(ctx.take_warnings());
        if !diagnostics.is_empty() {
            let _ = out
                .send(ListEvent {
                    diagnostics,
                    ..Default::default()
                })
                .await;
        }
    }

    fn generate_resource_config(
        &self,
        type_name: &str,
        state: &Value,
    ) -> Result<Value, Diagnostics> {
        let r = self.find_resource(type_name)?;
        Ok(generate::config_from_state(&r.schema, state))
    }

    async fn validate_action_config(&self, type_name: &str, config: &Value) -> Diagnostics {
        match self.actions.get(type_name) {
            Some(a) => validate_with(&a.schema, config, |d| a.imp.validate(config, d)),
            None => Diagnostic::error("Unknown action", type_name.to_string()).into(),
        }
    }

    async fn plan_action(&self, type_name: &str, config: &Value) -> Diagnostics {
        match self.actions.get(type_name) {
            Some(a) => {
                let mut d = validate_with(&a.schema, config, |d| a.imp.validate(config, d));
                if !d.has_errors() {
                    d.extend(a.imp.plan(&self.ctx(), config).await);
                }
                d
            }
            None => Diagnostic::error("Unknown action", type_name.to_string()).into(),
        }
    }

    async fn invoke_action(
        &self,
        type_name: &str,
        config: &Value,
        out: tokio::sync::mpsc::Sender<ActionEvent>,
    ) {
        let diagnostics = match self.actions.get(type_name) {
            Some(a) => {
                let ctx = self.ctx();
                let mut d = a
                    .imp
                    .invoke(&ctx, config, &ActionProgress::new(out.clone()))
                    .await;
                d.extend(ctx.take_warnings());
                d
            }
            None => Diagnostic::error("Unknown action", type_name.to_string()).into(),
        };
        let _ = out.send(ActionEvent::Completed(diagnostics)).await;
    }

    async fn stop(&self) -> Option<String> {
        let _ = self.stop.send(true);
        None
    }
}
