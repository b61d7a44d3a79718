//! Managed resource RPCs: validate, upgrade, read, plan, apply, import, move,
//! and config generation.

use super::*;

pub(super) async fn validate_resource_config<S: ProviderService>(
    p: &GrpcProvider<S>,
    req: Request<pb::validate_resource_config::Request>,
) -> Result<Response<pb::validate_resource_config::Response>, Status> {
    let req = req.into_inner();
    let _t = RpcTimer::start("ValidateResourceConfig", &req.type_name);
    let resp = pb::validate_resource_config::Response::default();
    let schema = try_diags!(p.resource_schema(&req.type_name).map_err(first), resp);
    let config = try_diags!(
        decode_config(schema, req.config.as_ref(), "resource configuration"),
        resp
    );
    let diags = p
        .service
        .validate_resource_config(&req.type_name, &config)
        .await;
    Ok(Response::new(pb::validate_resource_config::Response {
        diagnostics: convert::diagnostics(&diags),
    }))
}

pub(super) async fn upgrade_resource_state<S: ProviderService>(
    p: &GrpcProvider<S>,
    req: Request<pb::upgrade_resource_state::Request>,
) -> Result<Response<pb::upgrade_resource_state::Response>, Status> {
    let req = req.into_inner();
    let _t = RpcTimer::start("UpgradeResourceState", &req.type_name);
    let resp = pb::upgrade_resource_state::Response::default();
    let schema = try_diags!(p.resource_schema(&req.type_name).map_err(first), resp);
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
    let (value, mut diags) = p
        .service
        .upgrade_resource_state(&req.type_name, req.version, &raw.json)
        .await;
    redact_sensitive(&schema.block, &value);
    let upgraded_state = if diags.has_errors() {
        None
    } else {
        match encode(&value, schema.value_type(), "upgraded state") {
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

/// Every identity schema is at version 0 so far: the stored identity
/// (JSON) is read with the current schema and handed back.
pub(super) async fn upgrade_resource_identity<S: ProviderService>(
    p: &GrpcProvider<S>,
    req: Request<pb::upgrade_resource_identity::Request>,
) -> Result<Response<pb::upgrade_resource_identity::Response>, Status> {
    let req = req.into_inner();
    let _t = RpcTimer::start("UpgradeResourceIdentity", &req.type_name);
    let resp = pb::upgrade_resource_identity::Response::default();
    let Some(schema) = p.service.schemas().identities.get(&req.type_name) else {
        return Ok(Response::new(pb::upgrade_resource_identity::Response {
            diagnostics: convert::diagnostics(&unknown_type("resource identity", &req.type_name)),
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

pub(super) async fn read_resource<S: ProviderService>(
    p: &GrpcProvider<S>,
    req: Request<pb::read_resource::Request>,
) -> Result<Response<pb::read_resource::Response>, Status> {
    let req = req.into_inner();
    let _t = RpcTimer::start("ReadResource", &req.type_name);
    let resp = pb::read_resource::Response::default();
    let schema = try_diags!(p.resource_schema(&req.type_name).map_err(first), resp);
    let ty = schema.value_type();
    let state = try_diags!(
        decode(req.current_state.as_ref(), ty, "current state"),
        resp
    );
    redact_sensitive(&schema.block, &state);
    let out = p
        .service
        .read_resource(&req.type_name, &state, &req.private)
        .await;
    let mut diags = out.diagnostics;
    redact_sensitive(&schema.block, &out.new_state);
    let new_state = encode(&out.new_state, ty, "state")
        .map_err(|d| diags.push(d))
        .ok();
    let new_identity = p
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

pub(super) async fn plan_resource_change<S: ProviderService>(
    p: &GrpcProvider<S>,
    req: Request<pb::plan_resource_change::Request>,
) -> Result<Response<pb::plan_resource_change::Response>, Status> {
    let req = req.into_inner();
    let _t = RpcTimer::start("PlanResourceChange", &req.type_name);
    let resp = pb::plan_resource_change::Response::default();
    let schema = try_diags!(p.resource_schema(&req.type_name).map_err(first), resp);
    let ty = schema.value_type();
    let prior_state = try_diags!(decode(req.prior_state.as_ref(), ty, "prior state"), resp);
    let proposed_new_state = try_diags!(
        decode(req.proposed_new_state.as_ref(), ty, "proposed new state"),
        resp
    );
    let config = try_diags!(decode(req.config.as_ref(), ty, "configuration"), resp);
    redact_sensitive(&schema.block, &config);
    redact_sensitive(&schema.block, &prior_state);
    let out = p
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
    let planned_state = encode(&out.planned_state, ty, "planned state")
        .map_err(|d| diags.push(d))
        .ok();
    // Unknown during a create's plan (None): Terraform then takes it from the apply.
    let planned_identity = p
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

pub(super) async fn apply_resource_change<S: ProviderService>(
    p: &GrpcProvider<S>,
    req: Request<pb::apply_resource_change::Request>,
) -> Result<Response<pb::apply_resource_change::Response>, Status> {
    let req = req.into_inner();
    let _t = RpcTimer::start("ApplyResourceChange", &req.type_name);
    let resp = pb::apply_resource_change::Response::default();
    let schema = try_diags!(p.resource_schema(&req.type_name).map_err(first), resp);
    let ty = schema.value_type();
    let prior_state = try_diags!(decode(req.prior_state.as_ref(), ty, "prior state"), resp);
    let planned_state = try_diags!(
        decode(req.planned_state.as_ref(), ty, "planned state"),
        resp
    );
    let config = try_diags!(decode(req.config.as_ref(), ty, "configuration"), resp);
    redact_sensitive(&schema.block, &config);
    redact_sensitive(&schema.block, &planned_state);
    let out = p
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
    let new_state = encode(&out.new_state, ty, "new state")
        .map_err(|d| diags.push(d))
        .ok();
    let new_identity = p
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

pub(super) async fn import_resource_state<S: ProviderService>(
    p: &GrpcProvider<S>,
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
        p.service.schemas().identities.get(&req.type_name),
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
            match p.service.import_id_from_identity(&req.type_name, &value) {
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
    let out = p.service.import_resource_state(&req.type_name, &id).await;
    let mut diags = out.diagnostics;
    let mut imported = Vec::new();
    for r in out.imported {
        let Some(schema) = p.service.schemas().resources.get(&r.type_name) else {
            diags.extend(unknown_type("resource", &r.type_name));
            continue;
        };
        if let Ok(state) =
            encode(&r.state, schema.value_type(), "imported state").map_err(|d| diags.push(d))
        {
            let identity = p
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

pub(super) async fn move_resource_state<S: ProviderService>(
    p: &GrpcProvider<S>,
    req: Request<pb::move_resource_state::Request>,
) -> Result<Response<pb::move_resource_state::Response>, Status> {
    let req = req.into_inner();
    let _t = RpcTimer::start("MoveResourceState", &req.target_type_name);
    let target_type_name = req.target_type_name.clone();
    let resp = pb::move_resource_state::Response::default();
    let schema = try_diags!(
        p.resource_schema(&req.target_type_name).map_err(first),
        resp
    );
    let out = p
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
        let state = encode(&out.target_state, schema.value_type(), "moved state")
            .map_err(|d| diags.push(d))
            .ok();
        let identity = p.identity_data(&target_type_name, &out.target_state, &mut diags);
        (state, identity)
    };
    Ok(Response::new(pb::move_resource_state::Response {
        target_state,
        target_private: out.target_private,
        diagnostics: convert::diagnostics(&diags),
        target_identity,
    }))
}

pub(super) async fn generate_resource_config<S: ProviderService>(
    p: &GrpcProvider<S>,
    req: Request<pb::generate_resource_config::Request>,
) -> Result<Response<pb::generate_resource_config::Response>, Status> {
    let req = req.into_inner();
    let _t = RpcTimer::start("GenerateResourceConfig", &req.type_name);
    let resp = pb::generate_resource_config::Response::default();
    let schema = try_diags!(p.resource_schema(&req.type_name).map_err(first), resp);
    let ty = schema.value_type();
    let state = try_diags!(decode(req.state.as_ref(), ty, "resource state"), resp);
    redact_sensitive(&schema.block, &state);
    let config = try_diags!(
        p.service
            .generate_resource_config(&req.type_name, &state)
            .map_err(first),
        resp
    );
    let config = try_diags!(encode(&config, ty, "generated configuration"), resp);
    Ok(Response::new(pb::generate_resource_config::Response {
        config: Some(config),
        diagnostics: Vec::new(),
    }))
}
