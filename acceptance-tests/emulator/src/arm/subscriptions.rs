//! The Subscriptions API: `Subscriptions_List` (`GET /subscriptions`),
//! `Subscriptions_Get` and `Subscriptions_ListLocations`. The provider calls
//! none of them; `az login` and `az account list-locations` do, so the
//! provider's Azure CLI credential is tested against the real `az`, and the
//! shapes are read by Microsoft's own SDK. Shapes follow the public
//! 2022-12-01 API (the shared specs carry only the resources API, which has
//! none of these operations).

use axum::response::Response;
use serde_json::{json, Value as Json};

use super::check_resources_api;
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
    check_resources_api(req, &SUBSCRIPTIONS_APIS)?;
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

/// `GET /subscriptions/{id}` (`Subscriptions_Get`).
pub fn get(emu: &Emulator, req: &Req, sub: &str) -> Result<Response, ArmError> {
    check_resources_api(req, &SUBSCRIPTIONS_APIS)?;
    let st = emu.state();
    let s = st.subscription(sub).expect("serve() answered unknown ones");
    Ok(json_response(200, &body(s)))
}

/// What the public Azure cloud says of the regions the local cloud knows
/// (`displayName`, geography, physical location, pair), so region pickers and
/// `az account list-locations` read the same names as on Azure.
struct Region {
    name: &'static str,
    display: &'static str,
    geography: &'static str,
    group: &'static str,
    physical: &'static str,
    paired: &'static str,
}

const REGIONS: [Region; 9] = [
    Region {
        name: "eastus",
        display: "East US",
        geography: "United States",
        group: "US",
        physical: "Virginia",
        paired: "westus",
    },
    Region {
        name: "eastus2",
        display: "East US 2",
        geography: "United States",
        group: "US",
        physical: "Virginia",
        paired: "centralus",
    },
    Region {
        name: "westus",
        display: "West US",
        geography: "United States",
        group: "US",
        physical: "California",
        paired: "eastus",
    },
    Region {
        name: "westus2",
        display: "West US 2",
        geography: "United States",
        group: "US",
        physical: "Washington",
        paired: "westcentralus",
    },
    Region {
        name: "centralus",
        display: "Central US",
        geography: "United States",
        group: "US",
        physical: "Iowa",
        paired: "eastus2",
    },
    Region {
        name: "northeurope",
        display: "North Europe",
        geography: "Europe",
        group: "Europe",
        physical: "Ireland",
        paired: "westeurope",
    },
    Region {
        name: "westeurope",
        display: "West Europe",
        geography: "Europe",
        group: "Europe",
        physical: "Netherlands",
        paired: "northeurope",
    },
    Region {
        name: "uksouth",
        display: "UK South",
        geography: "United Kingdom",
        group: "Europe",
        physical: "London",
        paired: "ukwest",
    },
    Region {
        name: "swedencentral",
        display: "Sweden Central",
        geography: "Sweden",
        group: "Europe",
        physical: "Gävle",
        paired: "swedensouth",
    },
];

/// `GET /subscriptions/{id}/locations` (`Subscriptions_ListLocations`): the
/// seed's regions, in the spec's `LocationListResult` (one page, no
/// `nextLink`, as the spec's `x-ms-pageable` says).
pub fn list_locations(emu: &Emulator, req: &Req, sub: &str) -> Result<Response, ArmError> {
    check_resources_api(req, &SUBSCRIPTIONS_APIS)?;
    let id = |name: &str| format!("/subscriptions/{sub}/locations/{name}");
    let value: Vec<Json> = emu
        .seed()
        .locations
        .iter()
        .map(|name| match REGIONS.iter().find(|r| r.name == name) {
            Some(r) => json!({
                "id": id(r.name),
                "name": r.name,
                "type": "Region",
                "displayName": r.display,
                "regionalDisplayName": format!("({}) {}", r.group, r.display),
                "metadata": {
                    "regionType": "Physical",
                    "regionCategory": "Recommended",
                    "geography": r.geography,
                    "geographyGroup": r.group,
                    "physicalLocation": r.physical,
                    "pairedRegion": [{ "name": r.paired, "id": id(r.paired) }],
                },
            }),
            // A region a custom seed names without public facts here.
            None => json!({
                "id": id(name),
                "name": name,
                "type": "Region",
                "displayName": name,
                "regionalDisplayName": name,
                "metadata": { "regionType": "Physical", "regionCategory": "Other" },
            }),
        })
        .collect();
    Ok(json_response(200, &json!({ "value": value })))
}
