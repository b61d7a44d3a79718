//! Provider-defined functions: their signatures and CallFunction.

use super::*;

pub(super) async fn get_functions<S: ProviderService>(
    p: &GrpcProvider<S>,
    _: Request<pb::get_functions::Request>,
) -> Result<Response<pb::get_functions::Response>, Status> {
    let functions = p
        .service
        .schemas()
        .functions
        .iter()
        .map(|(k, f)| (k.clone(), convert::function(f)))
        .collect();
    Ok(Response::new(pb::get_functions::Response {
        functions,
        diagnostics: Vec::new(),
    }))
}

pub(super) async fn call_function<S: ProviderService>(
    p: &GrpcProvider<S>,
    req: Request<pb::call_function::Request>,
) -> Result<Response<pb::call_function::Response>, Status> {
    let req = req.into_inner();
    let _t = RpcTimer::start("CallFunction", &req.name);
    let fail = |text: String, argument: Option<i64>| {
        Ok(Response::new(pb::call_function::Response {
            result: None,
            error: Some(pb::FunctionError {
                text,
                function_argument: argument,
            }),
        }))
    };
    let Some(sig) = p.service.schemas().functions.get(&req.name) else {
        return fail(
            format!("This provider has no function {:?}.", req.name),
            None,
        );
    };
    let mut args = Vec::with_capacity(req.arguments.len());
    for (i, dv) in req.arguments.iter().enumerate() {
        let ty = match sig.parameters.get(i) {
            Some(p) => p.ty.clone(),
            None => match &sig.variadic {
                Some(p) => p.ty.clone(),
                None => {
                    return fail(
                        format!(
                            "Too many arguments: {} takes {}.",
                            req.name,
                            sig.parameters.len()
                        ),
                        None,
                    )
                }
            },
        };
        match decode(Some(dv), &ty, "function argument") {
            Ok(v) => args.push(v),
            Err(d) => return fail(format!("{}: {}", d.summary, d.detail), Some(i as i64)),
        }
    }
    match p.service.call_function(&req.name, args).await {
        Ok(v) => match encode(&v, &sig.return_type, "function result") {
            Ok(result) => Ok(Response::new(pb::call_function::Response {
                result: Some(result),
                error: None,
            })),
            Err(d) => fail(format!("{}: {}", d.summary, d.detail), None),
        },
        Err(e) => fail(e.text, e.argument.map(|a| a as i64)),
    }
}
