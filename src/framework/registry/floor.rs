//! The plugin floor `make bench` measures the provider against: the same
//! provider, resource and data source schemas, served by the same plugin
//! server, doing no work (no API call, no plan logic). Terraform's own
//! per-resource cost for a plugin is what is left, so "ours / floor" is the
//! provider's own overhead. Built only with the `bench-floor` feature, for
//! the `rhelazure-bench-floor` binary; never part of the provider users run.

use async_trait::async_trait;

use super::Registry;
use crate::framework::{
    ApplyOutcome, Ctx, DataSource, Diagnostics, Private, ProviderDef, Resource, ResourceSchema,
    Value,
};

impl<C: Send + Sync + 'static> Registry<C> {
    /// This registry's schemas with no-op implementations. List resources,
    /// actions, ephemeral resources, functions and resource identities are
    /// left out: the benchmark exercises managed resources only.
    pub fn into_floor(self) -> Registry<()> {
        let mut floor = Registry::new(NoopProvider(self.provider.schema));
        for (name, e) in self.resources {
            floor = floor.resource(NoopResource(leak(name), e.schema));
        }
        for (name, e) in self.data_sources {
            floor = floor.data_source(NoopDataSource(leak(name), e.schema));
        }
        floor
    }
}

/// Type names live as long as the process (the traits want `&'static str`).
fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// What apply "learns": every value unknown at plan becomes null, which
/// Terraform accepts for any computed attribute.
fn known(v: &Value) -> Value {
    match v {
        Value::Unknown(_) => Value::Null,
        Value::List(x) => Value::List(x.iter().map(known).collect()),
        Value::Set(x) => Value::Set(x.iter().map(known).collect()),
        Value::Tuple(x) => Value::Tuple(x.iter().map(known).collect()),
        Value::Map(m) => Value::Map(m.iter().map(|(k, v)| (k.clone(), known(v))).collect()),
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), known(v))).collect()),
        other => other.clone(),
    }
}

struct NoopProvider(ResourceSchema);

#[async_trait]
impl ProviderDef<()> for NoopProvider {
    fn schema(&self) -> ResourceSchema {
        self.0.clone()
    }
    async fn configure(&self, _tf: &str, _config: &Value) -> Result<(), Diagnostics> {
        Ok(())
    }
}

struct NoopResource(&'static str, ResourceSchema);

#[async_trait]
impl Resource<()> for NoopResource {
    fn type_name(&self) -> &'static str {
        self.0
    }
    fn schema(&self) -> ResourceSchema {
        self.1.clone()
    }
    async fn create(
        &self,
        _ctx: &Ctx<()>,
        planned: &Value,
        _config: &Value,
        _private: &Private,
    ) -> ApplyOutcome {
        ApplyOutcome::ok(known(planned))
    }
    async fn read(
        &self,
        _ctx: &Ctx<()>,
        state: &Value,
        private: &Private,
    ) -> Result<Option<(Value, Private)>, Diagnostics> {
        Ok(Some((state.clone(), private.clone())))
    }
    async fn update(
        &self,
        _ctx: &Ctx<()>,
        _prior: &Value,
        planned: &Value,
        _config: &Value,
        _private: &Private,
    ) -> ApplyOutcome {
        ApplyOutcome::ok(known(planned))
    }
    async fn delete(&self, _ctx: &Ctx<()>, _prior: &Value, _private: &Private) -> Diagnostics {
        Diagnostics::new()
    }
}

struct NoopDataSource(&'static str, ResourceSchema);

#[async_trait]
impl DataSource<()> for NoopDataSource {
    fn type_name(&self) -> &'static str {
        self.0
    }
    fn schema(&self) -> ResourceSchema {
        self.1.clone()
    }
    async fn read(&self, _ctx: &Ctx<()>, config: &Value) -> Result<Value, Diagnostics> {
        Ok(known(config))
    }
}
