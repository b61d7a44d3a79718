//! Provider-level RPCs: metadata, schemas, provider configuration, stop.

use super::*;

pub(super) async fn get_metadata<S: ProviderService>(
    p: &GrpcProvider<S>,
    _: Request<pb::get_metadata::Request>,
) -> Result<Response<pb::get_metadata::Response>, Status> {
    use pb::get_metadata as m;
    let s = p.service.schemas();
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

pub(super) async fn get_provider_schema<S: ProviderService>(
    p: &GrpcProvider<S>,
    _: Request<pb::get_provider_schema::Request>,
) -> Result<Response<pb::get_provider_schema::Response>, Status> {
    let _t = RpcTimer::start("GetProviderSchema", "");
    let resp = p.schema_response.get_or_init(|| {
        let s = p.service.schemas();
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

pub(super) async fn validate_provider_config<S: ProviderService>(
    p: &GrpcProvider<S>,
    req: Request<pb::validate_provider_config::Request>,
) -> Result<Response<pb::validate_provider_config::Response>, Status> {
    let _t = RpcTimer::start("ValidateProviderConfig", "");
    let req = req.into_inner();
    let block = &p.service.schemas().provider.block;
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
    let diags = p.service.validate_provider_config(&config).await;
    Ok(Response::new(pb::validate_provider_config::Response {
        diagnostics: convert::diagnostics(&diags),
    }))
}

pub(super) async fn get_resource_identity_schemas<S: ProviderService>(
    p: &GrpcProvider<S>,
    _: Request<pb::get_resource_identity_schemas::Request>,
) -> Result<Response<pb::get_resource_identity_schemas::Response>, Status> {
    Ok(Response::new(pb::get_resource_identity_schemas::Response {
        identity_schemas: p
            .service
            .schemas()
            .identities
            .iter()
            .map(|(name, s)| (name.clone(), convert::identity_schema(s)))
            .collect(),
        diagnostics: Vec::new(),
    }))
}

pub(super) async fn configure_provider<S: ProviderService>(
    p: &GrpcProvider<S>,
    req: Request<pb::configure_provider::Request>,
) -> Result<Response<pb::configure_provider::Response>, Status> {
    let _t = RpcTimer::start("ConfigureProvider", "");
    let req = req.into_inner();
    let block = &p.service.schemas().provider.block;
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
    let diags = p
        .service
        .configure_provider(&req.terraform_version, &config)
        .await;
    Ok(Response::new(pb::configure_provider::Response {
        diagnostics: convert::diagnostics(&diags),
    }))
}

pub(super) async fn stop_provider<S: ProviderService>(
    p: &GrpcProvider<S>,
    _: Request<pb::stop_provider::Request>,
) -> Result<Response<pb::stop_provider::Response>, Status> {
    let _t = RpcTimer::start("StopProvider", "");
    let error = p.service.stop().await.unwrap_or_default();
    Ok(Response::new(pb::stop_provider::Response { error }))
}
