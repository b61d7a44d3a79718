//! The tenant-level `Subscriptions_List` (`GET /subscriptions`). The provider
//! does not call it; `az login` does, so the provider's Azure CLI credential
//! can be tested against the real `az`. Shapes follow the public 2022-12-01 API (the shared
//! specs carry only the resources API, which has no subscription list).

use axum::response::Response;
use serde_json::{json, Value as Json};

use super::check_api;
use crate::http::{json_response, ArmError, Req};
use crate::state::Subscription;
use crate::Emulator;

/// api-versions the public subscriptions API answers to (the CLI pins 2022-12-01).
const SUBSCRIPTIONS_APIS: [&str; 7] = [
    "2016-06-01",
    "2018-06-01",
    "2019-06-01",
    "2019-11-01",
    "2020-01-01",
    "2021-01-01",
    "2022-12-01",
];

fn body(s: &Subscription) -> Json {
    json!({
        "id": format!("/subscriptions/{}", s.id),
        "subscriptionId": s.id,
        "tenantId": s.tenant_id,
        "displayName": s.display_name,
        "state": "Enabled",
        "subscriptionPolicies": {
            "locationPlacementId": "Public_2014-09-01",
            "quotaId": "PayAsYouGo_2014-09-01",
            "spendingLimit": "Off"
        },
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "tags": {}
    })
}

/// `GET /subscriptions`: the subscriptions of the caller's tenant.
pub fn list(emu: &Emulator, req: &Req) -> Result<Response, ArmError> {
    let tenant = crate::auth::claimed_tenant(req);
    crate::auth::check_arm(emu, req, &tenant)?;
    if req.method != axum::http::Method::GET {
        return Err(ArmError::new(
            405,
            "MethodNotAllowed",
            "The requested resource does not support this method.",
        ));
    }
    check_api(req, &SUBSCRIPTIONS_APIS, "subscriptions")?;
    let st = emu.state();
    let value: Vec<Json> = st
        .subscriptions
        .values()
        .filter(|s| s.tenant_id.eq_ignore_ascii_case(&tenant))
        .map(body)
        .collect();
    Ok(json_response(
        200,
        &json!({ "value": value, "count": { "type": "Total", "value": value.len() } }),
    ))
}
