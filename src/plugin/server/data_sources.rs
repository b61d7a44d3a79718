//! Data source and ephemeral resource RPCs.

use super::*;

pub(super) async fn validate_data_resource_config<S: ProviderService>(
    p: &GrpcProvider<S>,
    req: Request<pb::validate_data_resource_config::Request>,
) -> Result<Response<pb::validate_data_resource_config::Response>, Status> {
    let req = req.into_inner();
    let _t = RpcTimer::start("ValidateDataResourceConfig", &req.type_name);
    let resp = pb::validate_data_resource_config::Response::default();
    let Some(schema) = p.service.schemas().data_sources.get(&req.type_name) else {
        return Ok(Response::new(pb::validate_data_resource_config::Response {
            diagnostics: convert::diagnostics(&unknown_type("data source", &req.type_name)),
        }));
    };
    let config = try_diags!(
        decode_config(schema, req.config.as_ref(), "data source configuration"),
        resp
    );
    let diags = p
        .service
        .validate_data_source_config(&req.type_name, &config)
        .await;
    Ok(Response::new(pb::validate_data_resource_config::Response {
        diagnostics: convert::diagnostics(&diags),
    }))
}

pub(super) async fn read_data_source<S: ProviderService>(
    p: &GrpcProvider<S>,
    req: Request<pb::read_data_source::Request>,
) -> Result<Response<pb::read_data_source::Response>, Status> {
    let req = req.into_inner();
    let _t = RpcTimer::start("ReadDataSource", &req.type_name);
    let resp = pb::read_data_source::Response::default();
    let Some(schema) = p.service.schemas().data_sources.get(&req.type_name) else {
        return Ok(Response::new(pb::read_data_source::Response {
            diagnostics: convert::diagnostics(&unknown_type("data source", &req.type_name)),
            ..Default::default()
        }));
    };
    let ty = schema.value_type();
    let config = try_diags!(
        decode(req.config.as_ref(), ty, "data source configuration"),
        resp
    );
    redact_sensitive(&schema.block, &config);
    let (state, mut diags) = p.service.read_data_source(&req.type_name, &config).await;
    redact_sensitive(&schema.block, &state);
    let state = if diags.has_errors() {
        None
    } else {
        encode(&state, ty, "data source state")
            .map_err(|d| diags.push(d))
            .ok()
    };
    Ok(Response::new(pb::read_data_source::Response {
        state,
        diagnostics: convert::diagnostics(&diags),
        deferred: None,
    }))
}

pub(super) async fn validate_ephemeral_resource_config<S: ProviderService>(
    p: &GrpcProvider<S>,
    req: Request<pb::validate_ephemeral_resource_config::Request>,
) -> Result<Response<pb::validate_ephemeral_resource_config::Response>, Status> {
    let req = req.into_inner();
    let _t = RpcTimer::start("ValidateEphemeralResourceConfig", &req.type_name);
    let resp = pb::validate_ephemeral_resource_config::Response::default();
    let Some(schema) = p.service.schemas().ephemeral_resources.get(&req.type_name) else {
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
    let diags = p
        .service
        .validate_ephemeral_resource_config(&req.type_name, &config)
        .await;
    Ok(Response::new(
        pb::validate_ephemeral_resource_config::Response {
            diagnostics: convert::diagnostics(&diags),
        },
    ))
}

pub(super) async fn open_ephemeral_resource<S: ProviderService>(
    p: &GrpcProvider<S>,
    req: Request<pb::open_ephemeral_resource::Request>,
) -> Result<Response<pb::open_ephemeral_resource::Response>, Status> {
    let req = req.into_inner();
    let _t = RpcTimer::start("OpenEphemeralResource", &req.type_name);
    let resp = pb::open_ephemeral_resource::Response::default();
    let Some(schema) = p.service.schemas().ephemeral_resources.get(&req.type_name) else {
        return Ok(Response::new(pb::open_ephemeral_resource::Response {
            diagnostics: convert::diagnostics(&unknown_type("ephemeral resource", &req.type_name)),
            ..Default::default()
        }));
    };
    let ty = schema.value_type();
    let config = try_diags!(
        decode(req.config.as_ref(), ty, "ephemeral resource configuration"),
        resp
    );
    redact_sensitive(&schema.block, &config);
    let out = p
        .service
        .open_ephemeral_resource(&req.type_name, &config)
        .await;
    redact_sensitive(&schema.block, &out.result);
    let mut diags = out.diagnostics;
    let result = if diags.has_errors() {
        None
    } else {
        encode(&out.result, ty, "ephemeral result")
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

pub(super) async fn renew_ephemeral_resource<S: ProviderService>(
    p: &GrpcProvider<S>,
    req: Request<pb::renew_ephemeral_resource::Request>,
) -> Result<Response<pb::renew_ephemeral_resource::Response>, Status> {
    let req = req.into_inner();
    let _t = RpcTimer::start("RenewEphemeralResource", &req.type_name);
    let out = p
        .service
        .renew_ephemeral_resource(&req.type_name, req.private.as_deref())
        .await;
    Ok(Response::new(pb::renew_ephemeral_resource::Response {
        diagnostics: convert::diagnostics(&out.diagnostics),
        renew_at: out.renew_at.map(system_time_to_proto),
        private: out.private,
    }))
}

pub(super) async fn close_ephemeral_resource<S: ProviderService>(
    p: &GrpcProvider<S>,
    req: Request<pb::close_ephemeral_resource::Request>,
) -> Result<Response<pb::close_ephemeral_resource::Response>, Status> {
    let req = req.into_inner();
    let _t = RpcTimer::start("CloseEphemeralResource", &req.type_name);
    let diags = p
        .service
        .close_ephemeral_resource(&req.type_name, req.private.as_deref())
        .await;
    Ok(Response::new(pb::close_ephemeral_resource::Response {
        diagnostics: convert::diagnostics(&diags),
    }))
}
