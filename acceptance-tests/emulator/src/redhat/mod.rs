//! Red Hat APIs under the `/redhat` base URL (console.redhat.com in real life),
//! each behind an SSO bearer token: RHSM v2 activation keys ([`rhsm`]),
//! Sources for Cloud Access enrolment ([`sources`]) and hosted Image Builder
//! ([`image_builder`]). Each answers errors in its own API's shape.

mod compose_schema;
mod image_builder;
mod rhsm;
mod sources;

use axum::response::Response;
use serde_json::json;

use crate::http::{json_response, Req};
use crate::state::State;
use crate::Emulator;

pub fn handle(emu: &Emulator, req: &Req) -> Response {
    let seg: Vec<&str> = req.segments.iter().map(String::as_str).collect();
    let auth = crate::auth::check_redhat(emu, req);
    match seg.as_slice() {
        ["redhat", "api", "rhsm", "v2", rest @ ..] => match auth {
            Ok(_) => rhsm::handle(emu, req, rest),
            Err(why) => rhsm::error(401, &why),
        },
        ["redhat", "api", "sources", "v3.1", rest @ ..] => match auth {
            Ok(_) => sources::handle(emu, req, rest),
            Err(why) => sources::error(401, &why),
        },
        ["redhat", "api", "image-builder", v, rest @ ..] if *v == "v1" || *v == "v1.0" => {
            match auth {
                Ok(_) => image_builder::handle(emu, req, rest),
                Err(why) => image_builder::error(401, "Unauthorized", &why),
            }
        }
        _ => json_response(
            404,
            &json!({ "errors": [{ "status": "404", "detail": format!("no Red Hat API route {} {} in the local cloud", req.method, req.path) }] }),
        ),
    }
}

/// Time-driven progress of Red Hat objects (compose phases).
pub fn advance(st: &mut State, now: u64, emu: &Emulator) {
    image_builder::advance(st, now, emu);
}
