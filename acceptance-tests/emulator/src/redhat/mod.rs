//! Red Hat APIs under the `/redhat` base URL (console.redhat.com in real life),
//! each behind an SSO bearer token: RHSM v2 activation keys (here); Sources
//! (Cloud Access) and hosted Image Builder are still to come.

mod rhsm;

use axum::response::Response;
use serde_json::json;

use crate::http::{json_response, Req};
use crate::Emulator;

pub fn handle(emu: &Emulator, req: &Req) -> Response {
    let seg: Vec<&str> = req.segments.iter().map(String::as_str).collect();
    match seg.as_slice() {
        ["redhat", "api", "rhsm", "v2", rest @ ..] => match crate::auth::check_redhat(emu, req) {
            Ok(_) => rhsm::handle(emu, req, rest),
            Err(why) => rhsm::error(401, &why),
        },
        _ => json_response(
            404,
            &json!({ "errors": [{ "status": "404", "detail": format!("no Red Hat API route {} {} in the local cloud", req.method, req.path) }] }),
        ),
    }
}
