//! The framework's generic lifecycle, driven through `ProviderService` exactly
//! as the gRPC server drives it: plan (defaults, unknowns, requires-replace),
//! apply (create / update / delete, half-failed create kept), read (drift and
//! gone), import, state upgrade, moves, functions, stop; and the identity
//! the gRPC server sends along with each state.
//!
//! The resource here is a small in-memory "cloud" defined by the test.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rhelazure::framework::validators::one_of;
use rhelazure::framework::{
    timeouts, ApplyOutcome, Attr, Ctx, Diagnostic, Diagnostics, IdentityDef, IdentityValues,
    PlanContext, Private, ProviderDef, Registry, Resource, ResourceSchema, Value,
};
use rhelazure::plugin::service::{ApplyRequest, MoveRequest, PlanRequest, ProviderService};

#[derive(Default)]
struct Cloud {
    objects: Mutex<BTreeMap<String, (String, String)>>, // id -> (name, size)
    fail_create_after_alloc: Arc<AtomicBool>,
}

#[derive(Default)]
struct TestProvider {
    fail_create_after_alloc: Arc<AtomicBool>,
}

#[async_trait]
impl ProviderDef<Cloud> for TestProvider {
    fn schema(&self) -> ResourceSchema {
        ResourceSchema::new("test", vec![Attr::string("region").optional()])
    }
    async fn configure(&self, _tf: &str, _config: &Value) -> Result<Cloud, Diagnostics> {
        Ok(Cloud {
            objects: Default::default(),
            fail_create_after_alloc: self.fail_create_after_alloc.clone(),
        })
    }
}

struct Thing;

/// A thing's identity is its id and zone; the zone is computed afresh on
/// every change, so an update's plan does not know it.
struct ThingIdentity;

impl IdentityDef for ThingIdentity {
    fn attributes(&self) -> Vec<(&'static str, &'static str)> {
        vec![("id", "the id"), ("zone", "the zone")]
    }
    fn of_state(&self, state: &Value) -> Option<IdentityValues> {
        let id = state.attr("id").as_str()?;
        let zone = state.attr("zone").as_str()?;
        Some([("id".into(), id.into()), ("zone".into(), zone.into())].into())
    }
    fn import_id(&self, identity: &IdentityValues) -> Result<String, Diagnostic> {
        Ok(identity["id"].clone())
    }
}

fn obj(pairs: &[(&str, Value)]) -> Value {
    let mut m: BTreeMap<String, Value> = ["id", "name", "size", "generation", "zone", "timeouts"]
        .iter()
        .map(|k| (k.to_string(), Value::Null))
        .collect();
    for (k, v) in pairs {
        m.insert(k.to_string(), v.clone());
    }
    Value::Object(m)
}

#[async_trait]
impl Resource<Cloud> for Thing {
    fn type_name(&self) -> &'static str {
        "test_thing"
    }
    fn schema(&self) -> ResourceSchema {
        ResourceSchema::new(
            "a thing",
            vec![
                Attr::string("id").computed().use_state_for_unknown(),
                Attr::string("name").required().force_new(),
                Attr::string("size")
                    .required()
                    .validate(one_of(&["small", "large"])),
                Attr::string("generation").default("V2"),
                Attr::string("zone").computed(),
            ],
        )
        .version(1)
        .blocks(vec![timeouts::block(&["create"])])
    }
    fn identity(&self) -> Option<&dyn IdentityDef> {
        Some(&ThingIdentity)
    }
    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        if config.attr("name").as_str() == Some("forbidden") {
            diags.push(
                Diagnostic::error("Bad name", "no")
                    .at(rhelazure::framework::AttributePath::attrs(&["name"])),
            );
        }
    }
    async fn modify_plan(&self, _ctx: &Ctx<Cloud>, plan: &mut PlanContext<'_>) {
        if plan.planned.attr("size").as_str() == Some("large") && plan.is_create() {
            plan.diagnostics
                .push(Diagnostic::warning("Large", "costs more"));
        }
    }
    async fn create(
        &self,
        ctx: &Ctx<Cloud>,
        planned: &Value,
        _config: &Value,
        _private: &Private,
    ) -> ApplyOutcome {
        let cloud = ctx.data().unwrap();
        if planned.attr("name").as_str() == Some("wait") {
            // A long wait that Ctrl-C (StopProvider) must interrupt.
            tokio::select! {
                _ = ctx.stopped() => return ApplyOutcome::failed(Value::Null, Diagnostic::error("Interrupted", "stopped").into()),
                _ = tokio::time::sleep(std::time::Duration::from_secs(60)) => {}
            }
        }
        let id = format!("/things/{}", planned.attr("name").as_str().unwrap());
        cloud.objects.lock().unwrap().insert(
            id.clone(),
            (
                planned.attr("name").as_str().unwrap().into(),
                planned.attr("size").as_str().unwrap().into(),
            ),
        );
        let mut state = planned.clone();
        let m = state.as_object_mut().unwrap();
        m.insert("id".into(), Value::from(id.as_str()));
        m.insert("zone".into(), "z1".into());
        if cloud.fail_create_after_alloc.load(Ordering::SeqCst) {
            return ApplyOutcome::failed(
                state,
                Diagnostic::error("Create failed half-way", "boom").into(),
            );
        }
        let mut out = ApplyOutcome::ok(state);
        out.private.set("created_by_us", true);
        out
    }
    async fn read(
        &self,
        ctx: &Ctx<Cloud>,
        state: &Value,
        private: &Private,
    ) -> Result<Option<(Value, Private)>, Diagnostics> {
        let cloud = ctx.data().map_err(Diagnostics::from)?;
        let id = state.attr("id").as_str().unwrap_or_default().to_string();
        let Some((name, size)) = cloud.objects.lock().unwrap().get(&id).cloned() else {
            return Ok(None);
        };
        let mut s = state.clone();
        let m = s.as_object_mut().unwrap();
        m.insert("name".into(), name.into());
        m.insert("size".into(), size.into());
        if m.get("generation").is_none_or(Value::is_null) {
            m.insert("generation".into(), "V2".into());
        }
        Ok(Some((s, private.clone())))
    }
    async fn update(
        &self,
        ctx: &Ctx<Cloud>,
        _prior: &Value,
        planned: &Value,
        _c: &Value,
        p: &Private,
    ) -> ApplyOutcome {
        let cloud = ctx.data().unwrap();
        let id = planned.attr("id").as_str().unwrap().to_string();
        cloud.objects.lock().unwrap().get_mut(&id).unwrap().1 =
            planned.attr("size").as_str().unwrap().into();
        let mut state = planned.clone();
        state
            .as_object_mut()
            .unwrap()
            .insert("zone".into(), "z1".into());
        ApplyOutcome {
            state,
            private: p.clone(),
            diagnostics: Diagnostics::new(),
        }
    }
    async fn delete(&self, ctx: &Ctx<Cloud>, prior: &Value, _p: &Private) -> Diagnostics {
        let cloud = ctx.data().unwrap();
        cloud
            .objects
            .lock()
            .unwrap()
            .remove(prior.attr("id").as_str().unwrap());
        Diagnostics::new()
    }
    fn upgrade_state(
        &self,
        from: i64,
        mut state: serde_json::Value,
    ) -> Result<serde_json::Value, Diagnostic> {
        assert_eq!(from, 0);
        // v0 called it "sku".
        let sku = state["sku"].take();
        state["size"] = sku;
        Ok(state)
    }
    fn move_state(&self, req: &MoveRequest) -> Option<Result<Value, Diagnostics>> {
        (req.source_type_name == "old_thing").then(|| {
            let j: serde_json::Value = serde_json::from_slice(&req.source_state_json).unwrap();
            Ok(obj(&[
                ("id", Value::from(j["id"].as_str().unwrap())),
                ("name", Value::from(j["name"].as_str().unwrap())),
                ("size", "small".into()),
                ("generation", "V2".into()),
                ("zone", "z1".into()),
            ]))
        })
    }
}

async fn registry() -> Registry<Cloud> {
    registry_with(TestProvider::default()).await
}

async fn registry_with(p: TestProvider) -> Registry<Cloud> {
    let r = Registry::new(p)
        .resource(Thing)
        .function(rhelazure::resources::image_urn::ParseImageUrn);
    assert!(r
        .configure_provider("1.11.4", &Value::Null)
        .await
        .is_empty());
    r
}

async fn plan(
    r: &Registry<Cloud>,
    prior: &Value,
    config: &Value,
) -> rhelazure::plugin::service::PlanResponse {
    // Terraform's proposed new state: config, with prior values for computed attributes left null.
    let mut proposed = config.clone();
    if let (Some(p), Some(m)) = (prior.as_object(), proposed.as_object_mut()) {
        for k in ["id", "generation", "zone"] {
            if m.get(k).is_none_or(Value::is_null) {
                m.insert(k.into(), p.get(k).cloned().unwrap_or_default());
            }
        }
    }
    r.plan_resource_change(PlanRequest {
        type_name: "test_thing".into(),
        prior_state: prior.clone(),
        proposed_new_state: proposed,
        config: config.clone(),
        prior_private: vec![],
    })
    .await
}

async fn apply(
    r: &Registry<Cloud>,
    prior: &Value,
    planned: &Value,
    private: Vec<u8>,
) -> rhelazure::plugin::service::ApplyResponse {
    r.apply_resource_change(ApplyRequest {
        type_name: "test_thing".into(),
        prior_state: prior.clone(),
        planned_state: planned.clone(),
        config: planned.clone(),
        planned_private: private,
    })
    .await
}

#[tokio::test]
async fn create_read_update_replace_delete() {
    let r = registry().await;
    let config = obj(&[("name", "a".into()), ("size", "large".into())]);
    let p = plan(&r, &Value::Null, &config).await;
    assert!(p.planned_state.attr("id").is_unknown());
    assert_eq!(p.planned_state.attr("generation"), &Value::from("V2"));
    assert_eq!(p.diagnostics.0[0].summary, "Large");

    let created = apply(&r, &Value::Null, &p.planned_state, p.planned_private).await;
    assert!(!created.diagnostics.has_errors());
    let state = created.new_state;
    assert_eq!(state.attr("id"), &Value::from("/things/a"));
    let private = Private::from_bytes(&created.private);
    assert_eq!(private.get::<bool>("created_by_us"), Some(true));

    // Second plan is empty: the planned state equals the prior state.
    let p = plan(&r, &state, &config).await;
    assert_eq!(p.planned_state, state);
    assert!(p.requires_replace.is_empty());

    // In-place update keeps the id (use_state_for_unknown) and replaces nothing.
    let bigger = obj(&[("name", "a".into()), ("size", "small".into())]);
    let p = plan(&r, &state, &bigger).await;
    assert!(p.requires_replace.is_empty());
    assert_eq!(p.planned_state.attr("id"), &Value::from("/things/a"));
    let updated = apply(&r, &state, &p.planned_state, created.private.clone())
        .await
        .new_state;
    assert_eq!(updated.attr("size"), &Value::from("small"));

    // A force_new attribute plans a replacement.
    let renamed = obj(&[("name", "b".into()), ("size", "small".into())]);
    let p = plan(&r, &updated, &renamed).await;
    assert_eq!(
        p.requires_replace,
        vec![rhelazure::framework::AttributePath::attrs(&["name"])]
    );

    // Drift: changed out of band -> read shows the real value; gone -> null.
    let data = r.read_resource("test_thing", &updated, &[]).await;
    assert_eq!(data.new_state.attr("size"), &Value::from("small"));
    let deleted = apply(&r, &updated, &Value::Null, vec![]).await;
    assert!(deleted.new_state.is_null() && deleted.diagnostics.is_empty());
    assert!(r
        .read_resource("test_thing", &updated, &[])
        .await
        .new_state
        .is_null());
}

#[tokio::test]
async fn half_finished_create_is_returned_with_the_error() {
    let fail = Arc::new(AtomicBool::new(true));
    let r = registry_with(TestProvider {
        fail_create_after_alloc: fail.clone(),
    })
    .await;
    let config = obj(&[("name", "half".into()), ("size", "small".into())]);
    let p = plan(&r, &Value::Null, &config).await;
    let out = apply(&r, &Value::Null, &p.planned_state, vec![]).await;
    // Terraform gets both: the object that exists (to keep as tainted) and the error.
    assert!(out.diagnostics.has_errors());
    assert_eq!(out.new_state.attr("id"), &Value::from("/things/half"));
    // A failed delete keeps the object in state instead of forgetting it.
    let r_state = out.new_state.clone();
    fail.store(false, Ordering::SeqCst);
    assert!(r
        .read_resource("test_thing", &r_state, &[])
        .await
        .new_state
        .attr("id")
        .as_str()
        .is_some());
}

#[tokio::test]
async fn validation_import_upgrade_move_and_functions() {
    let r = registry().await;
    let d = r
        .validate_resource_config(
            "test_thing",
            &obj(&[("name", "forbidden".into()), ("size", "huge".into())]),
        )
        .await;
    let paths: Vec<String> = d
        .iter()
        .filter_map(|d| d.path.as_ref().map(|p| p.to_string()))
        .collect();
    assert_eq!(paths.len(), 2, "{d:?}");
    assert!(paths.contains(&"size".to_string()) && paths.contains(&"name".to_string()));
    let d = r
        .validate_resource_config(
            "test_thing",
            &obj(&[("timeouts", obj(&[("create", "soon".into())]))]),
        )
        .await;
    assert_eq!(d.0[0].path.as_ref().unwrap().to_string(), "timeouts.create");

    let imported = r.import_resource_state("test_thing", "/things/x").await;
    assert_eq!(
        imported.imported[0].state.attr("id"),
        &Value::from("/things/x")
    );

    let (v, d) = r
        .upgrade_resource_state(
            "test_thing",
            0,
            br#"{"id":"/things/a","name":"a","sku":"small"}"#,
        )
        .await;
    assert!(d.is_empty(), "{d:?}");
    assert_eq!(v.attr("size"), &Value::from("small"));
    let (_, d) = r.upgrade_resource_state("test_thing", 7, b"{}").await;
    assert!(d.0[0].summary.contains("newer provider"));
    let (v, d) = r
        .upgrade_resource_state(
            "test_thing",
            1,
            br#"{"id":"x","name":"a","size":"small","removed_attr":1}"#,
        )
        .await;
    assert!(d.is_empty() && v.attr("name") == &Value::from("a"));

    let moved = r
        .move_resource_state(MoveRequest {
            source_provider_address: "registry.terraform.io/hashicorp/old".into(),
            source_type_name: "old_thing".into(),
            source_schema_version: 0,
            source_state_json: br#"{"id":"/things/m","name":"m"}"#.to_vec(),
            target_type_name: "test_thing".into(),
            source_private: vec![],
        })
        .await;
    assert!(moved.diagnostics.is_empty());
    assert_eq!(moved.target_state.attr("id"), &Value::from("/things/m"));
    let refused = r
        .move_resource_state(MoveRequest {
            source_provider_address: "x".into(),
            source_type_name: "other".into(),
            source_schema_version: 0,
            source_state_json: b"{}".to_vec(),
            target_type_name: "test_thing".into(),
            source_private: vec![],
        })
        .await;
    assert!(refused.diagnostics.has_errors());

    let f = r
        .call_function("parse_image_urn", vec!["a:b:c:latest".into()])
        .await
        .unwrap();
    assert_eq!(f.attr("sku"), &Value::from("c"));
    assert!(r.call_function("nope", vec![]).await.is_err());
}

#[tokio::test]
async fn stop_interrupts_long_waits() {
    let r = Arc::new(registry().await);
    let config = obj(&[("name", "wait".into()), ("size", "small".into())]);
    let p = plan(&r, &Value::Null, &config).await;
    let r2 = r.clone();
    let task =
        tokio::spawn(async move { apply(&r2, &Value::Null, &p.planned_state, vec![]).await });
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert_eq!(r.stop().await, None);
    let out = tokio::time::timeout(std::time::Duration::from_secs(5), task)
        .await
        .expect("stop must interrupt")
        .unwrap();
    assert_eq!(out.diagnostics.0[0].summary, "Interrupted");
}

/// Through the gRPC server: no identity while the object does not exist, its
/// identity from the state once it does, and while a plan leaves part of it
/// unknown the prior identity, so Terraform never sees it vanish.
#[tokio::test]
async fn grpc_server_sends_identity_with_state() {
    use rhelazure::plugin::proto::tfplugin6 as pb;
    use rhelazure::plugin::proto::tfplugin6::provider_server::Provider as _;
    use rhelazure::plugin::server::GrpcProvider;
    use rhelazure::plugin::value::msgpack;

    let r = Arc::new(registry().await);
    let ty = r.schemas().resources["test_thing"].block.value_type();
    let id_ty = r.schemas().identities["test_thing"].value_type();
    let dv = |v: &Value| {
        Some(pb::DynamicValue {
            msgpack: msgpack::encode(v, &ty).unwrap(),
            json: vec![],
        })
    };
    let identity_of = |i: &Option<pb::ResourceIdentityData>| {
        i.as_ref().map(|i| {
            let raw = &i.identity_data.as_ref().unwrap().msgpack;
            let v = msgpack::decode(raw, &id_ty).unwrap();
            let s = |k| v.attr(k).as_str().unwrap().to_string();
            (s("id"), s("zone"))
        })
    };
    let grpc = GrpcProvider::new(r.clone());
    // Terraform's proposed new state: the configuration, with the prior
    // values of the computed attributes it leaves null.
    let plan = |prior: Value, config: Value, prior_identity| {
        let mut proposed = config.clone();
        if let (Some(p), Some(m)) = (prior.as_object(), proposed.as_object_mut()) {
            for (k, v) in m.iter_mut().filter(|(_, v)| v.is_null()) {
                *v = p.get(k).cloned().unwrap_or_default();
            }
        }
        let req = pb::plan_resource_change::Request {
            type_name: "test_thing".into(),
            prior_state: dv(&prior),
            proposed_new_state: dv(&proposed),
            config: dv(&config),
            prior_identity,
            ..Default::default()
        };
        let grpc = &grpc;
        async move {
            grpc.plan_resource_change(tonic::Request::new(req))
                .await
                .unwrap()
                .into_inner()
        }
    };

    let config = obj(&[("name", "a".into()), ("size", "small".into())]);
    let planned = plan(Value::Null, config.clone(), None).await;
    assert!(planned.diagnostics.is_empty(), "{:?}", planned.diagnostics);
    assert_eq!(
        identity_of(&planned.planned_identity),
        None,
        "not created yet"
    );

    let applied = grpc
        .apply_resource_change(tonic::Request::new(pb::apply_resource_change::Request {
            type_name: "test_thing".into(),
            prior_state: dv(&Value::Null),
            planned_state: planned.planned_state.clone(),
            config: dv(&config),
            planned_identity: planned.planned_identity.clone(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();

    let identity = |v: &Option<pb::ResourceIdentityData>| {
        identity_of(v).map(|(id, zone)| format!("{id}@{zone}"))
    };
    assert_eq!(
        identity(&applied.new_identity).as_deref(),
        Some("/things/a@z1")
    );
    let state = msgpack::decode(&applied.new_state.unwrap().msgpack, &ty).unwrap();

    // An update: the plan leaves the zone unknown, so the state cannot say the
    // identity; the server passes the prior identity on instead of dropping it.
    let resized = obj(&[("name", "a".into()), ("size", "large".into())]);
    let update = plan(state, resized, applied.new_identity.clone()).await;
    let planned = msgpack::decode(&update.planned_state.unwrap().msgpack, &ty).unwrap();
    assert!(planned.attr("zone").is_unknown());
    assert_eq!(
        identity(&update.planned_identity).as_deref(),
        Some("/things/a@z1")
    );
}
