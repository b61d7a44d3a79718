//! Actions (Terraform 1.14+): plan, invoke (streamed progress), validate.

use super::*;

pub(super) async fn plan_action<S: ProviderService>(
    p: &GrpcProvider<S>,
    req: Request<pb::plan_action::Request>,
) -> Result<Response<pb::plan_action::Response>, Status> {
    let req = req.into_inner();
    let _t = RpcTimer::start("PlanAction", &req.action_type);
    let resp = pb::plan_action::Response::default();
    let schema = try_diags!(p.action_schema(&req.action_type).map_err(first), resp);
    let config = try_diags!(
        decode_config(schema, req.config.as_ref(), "action configuration"),
        resp
    );
    let diags = p.service.plan_action(&req.action_type, &config).await;
    Ok(Response::new(pb::plan_action::Response {
        diagnostics: convert::diagnostics(&diags),
        deferred: None,
    }))
}

/// Streams progress as the action reports it, then its end: a task runs
/// the action into a channel, as for lists.
pub(super) async fn invoke_action<S: ProviderService>(
    p: &GrpcProvider<S>,
    req: Request<pb::invoke_action::Request>,
) -> Result<Response<BoxStream<pb::invoke_action::Event>>, Status> {
    use pb::invoke_action::event;
    let req = req.into_inner();
    let _t = RpcTimer::start("InvokeAction", &req.action_type);
    let completed = |d: &Diagnostics| pb::invoke_action::Event {
        r#type: Some(event::Type::Completed(event::Completed {
            diagnostics: convert::diagnostics(d),
        })),
    };
    let config = p.action_schema(&req.action_type).and_then(|schema| {
        decode_config(schema, req.config.as_ref(), "action configuration")
            .map_err(Diagnostics::from)
    });
    let config = match config {
        Ok(c) => c,
        Err(d) => {
            return Ok(Response::new(Box::pin(tokio_stream::once(Ok(completed(
                &d,
            ))))))
        }
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<ActionEvent>(64);
    let service = p.service.clone();
    let action_type = req.action_type;
    tokio::spawn(async move { service.invoke_action(&action_type, &config, tx).await });
    let events =
        tokio_stream::StreamExt::map(tokio_stream::wrappers::ReceiverStream::new(rx), move |e| {
            Ok(match e {
                ActionEvent::Progress(message) => pb::invoke_action::Event {
                    r#type: Some(event::Type::Progress(event::Progress { message })),
                },
                ActionEvent::Completed(d) => completed(&d),
            })
        });
    Ok(Response::new(Box::pin(events)))
}

pub(super) async fn validate_action_config<S: ProviderService>(
    p: &GrpcProvider<S>,
    req: Request<pb::validate_action_config::Request>,
) -> Result<Response<pb::validate_action_config::Response>, Status> {
    let req = req.into_inner();
    let _t = RpcTimer::start("ValidateActionConfig", &req.type_name);
    let resp = pb::validate_action_config::Response::default();
    let schema = try_diags!(p.action_schema(&req.type_name).map_err(first), resp);
    let config = try_diags!(
        decode_config(schema, req.config.as_ref(), "action configuration"),
        resp
    );
    let diags = p
        .service
        .validate_action_config(&req.type_name, &config)
        .await;
    Ok(Response::new(pb::validate_action_config::Response {
        diagnostics: convert::diagnostics(&diags),
    }))
}
