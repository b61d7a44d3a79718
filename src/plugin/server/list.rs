//! `terraform query`: ListResource streams results as the service finds them.

use super::*;

/// Streams results as the service finds them: a task lists into a small
/// channel, each event is encoded as it arrives, and when Terraform has
/// enough and drops the stream, the channel closes and the listing stops.
pub(super) async fn list_resource<S: ProviderService>(
    p: &GrpcProvider<S>,
    req: Request<pb::list_resource::Request>,
) -> Result<Response<BoxStream<pb::list_resource::Event>>, Status> {
    let req = req.into_inner();
    let _t = RpcTimer::start("ListResource", &req.type_name);
    let error_stream =
        |d: Diagnostics| -> Result<Response<BoxStream<pb::list_resource::Event>>, Status> {
            let event = pb::list_resource::Event {
                diagnostic: convert::diagnostics(&d),
                ..Default::default()
            };
            Ok(Response::new(Box::pin(tokio_stream::once(Ok(event)))))
        };
    let schemas = p.service.schemas();
    let (Some(list_schema), Some(resource), Some(identity)) = (
        schemas.list_resources.get(&req.type_name),
        schemas.resources.get(&req.type_name),
        schemas.identities.get(&req.type_name),
    ) else {
        return error_stream(unknown_type("list resource", &req.type_name));
    };
    let config = match decode(
        req.config.as_ref(),
        list_schema.value_type(),
        "list configuration",
    ) {
        Ok(c) => c,
        Err(d) => return error_stream(d.into()),
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<ListEvent>(16);
    let service = p.service.clone();
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

pub(super) async fn validate_list_resource_config<S: ProviderService>(
    p: &GrpcProvider<S>,
    req: Request<pb::validate_list_resource_config::Request>,
) -> Result<Response<pb::validate_list_resource_config::Response>, Status> {
    let req = req.into_inner();
    let _t = RpcTimer::start("ValidateListResourceConfig", &req.type_name);
    let resp = pb::validate_list_resource_config::Response::default();
    let Some(schema) = p.service.schemas().list_resources.get(&req.type_name) else {
        return Ok(Response::new(pb::validate_list_resource_config::Response {
            diagnostics: convert::diagnostics(&unknown_type("list resource", &req.type_name)),
        }));
    };
    let config = try_diags!(
        decode(
            req.config.as_ref(),
            schema.value_type(),
            "list configuration"
        ),
        resp
    );
    let diags = p
        .service
        .validate_list_resource_config(&req.type_name, &config)
        .await;
    Ok(Response::new(pb::validate_list_resource_config::Response {
        diagnostics: convert::diagnostics(&diags),
    }))
}
