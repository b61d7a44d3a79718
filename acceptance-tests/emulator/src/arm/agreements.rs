//! Microsoft.MarketplaceOrdering agreements (api-version 2021-01-01): the
//! Marketplace terms of plan images such as `rhel-byos`, accepted once per
//! subscription and plan.

use axum::http::Method;
use axum::response::Response;
use serde_json::{json, Value as Json};

use crate::http::{json_response, now_ms, rfc3339, ArmError, Req};
use crate::Emulator;

pub const API: &str = "2021-01-01";

/// The terms' signature: a stable digest of the plan, as the service's is.
fn signature(publisher: &str, offer: &str, plan: &str) -> String {
    let d = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        format!("{publisher}/{offer}/{plan}").as_bytes(),
    );
    d.as_ref()
        .iter()
        .take(20)
        .map(|b| format!("{b:02X}"))
        .collect()
}

fn plan_exists(emu: &Emulator, publisher: &str, offer: &str, plan: &str) -> bool {
    publisher.eq_ignore_ascii_case(&emu.seed().catalog.publisher)
        && emu.seed().catalog.offers.iter().any(|o| {
            o.byos
                && o.name.eq_ignore_ascii_case(offer)
                && o.skus.iter().any(|k| k.name.eq_ignore_ascii_case(plan))
        })
}

fn terms(
    sub: &str,
    publisher: &str,
    offer: &str,
    plan: &str,
    accepted: bool,
    retrieved: &str,
) -> Json {
    json!({
        "id": format!("/subscriptions/{sub}/providers/Microsoft.MarketplaceOrdering/offerTypes/VirtualMachine/publishers/{publisher}/offers/{offer}/plans/{plan}/agreements/current"),
        "name": plan,
        "type": "Microsoft.MarketplaceOrdering/offertypes",
        "properties": {
            "publisher": publisher, "product": offer, "plan": plan,
            "licenseTextLink": format!("https://mpcprodsa.blob.core.windows.net/legalterms/3E5ED_legalterms_{}.txt", offer.to_ascii_uppercase()),
            "privacyPolicyLink": "https://www.redhat.com/en/about/privacy-policy",
            "marketplaceTermsLink": "https://mpcprodsa.blob.core.windows.net/marketplaceterms/3EDEF_marketplaceterms_VIRTUALMACHINE.txt",
            "retrieveDatetime": retrieved,
            "signature": signature(publisher, offer, plan),
            "accepted": accepted,
        }
    })
}

pub fn handle(emu: &Emulator, req: &Req, sub: &str) -> Result<Response, ArmError> {
    let v = req.api_version().unwrap_or_default();
    if v != API {
        return Err(ArmError::bad_request("NoRegisteredProviderFound", format!("No registered resource provider found for location 'global' and API version '{v}' for type 'offerTypes'. The supported api-versions are '{API}'.")));
    }
    let seg = &req.segments;
    let s: Vec<String> = seg.iter().map(|x| x.to_ascii_lowercase()).collect();
    let s: Vec<&str> = s.iter().map(String::as_str).collect();
    let not_found = |p: &str, o: &str, plan: &str| {
        ArmError::new(404, "NotFound", format!("Offer with PublisherId: '{p}', OfferId: '{o}', PlanId: '{plan}' was not found in the Marketplace."))
    };
    match (req.method.clone(), &s[4..]) {
        (
            m,
            ["offertypes", ot, "publishers", _, "offers", _, "plans", _, "agreements", "current"],
        ) => {
            if *ot != "virtualmachine" {
                return Err(ArmError::bad_request(
                    "InvalidOfferType",
                    format!(
                        "Offer type '{}' is not supported; use 'virtualmachine'.",
                        seg[5]
                    ),
                ));
            }
            let (p, o, plan) = (seg[7].clone(), seg[9].clone(), seg[11].clone());
            if !plan_exists(emu, &p, &o, &plan) {
                return Err(not_found(&p, &o, &plan));
            }
            let key = format!(
                "{}/{}/{}",
                p.to_ascii_lowercase(),
                o.to_ascii_lowercase(),
                plan.to_ascii_lowercase()
            );
            let mut st = emu.state();
            let subst = st.subscription_mut(sub).expect("checked");
            match m {
                Method::GET => {
                    let accepted = subst
                        .agreements
                        .get(&key)
                        .is_some_and(|a| a["accepted"] == json!(true));
                    Ok(json_response(
                        200,
                        &terms(&subst.id, &p, &o, &plan, accepted, &rfc3339(now_ms())),
                    ))
                }
                Method::PUT => {
                    let body = req.json_body()?;
                    let props = &body["properties"];
                    for (field, want) in [("publisher", &p), ("product", &o), ("plan", &plan)] {
                        if !props[field]
                            .as_str()
                            .is_some_and(|x| x.eq_ignore_ascii_case(want))
                        {
                            return Err(ArmError::bad_request(
                                "InvalidAgreement",
                                format!("properties.{field} must be '{want}' for this agreement."),
                            )
                            .target(&format!("properties.{field}")));
                        }
                    }
                    if props["signature"].as_str() != Some(signature(&p, &o, &plan).as_str()) {
                        return Err(ArmError::bad_request("InvalidAgreementSignature", "The agreement signature does not match the current terms. GET the terms and send them back unchanged with accepted set.").target("properties.signature"));
                    }
                    let Some(accepted) = props["accepted"].as_bool() else {
                        return Err(ArmError::bad_request(
                            "InvalidAgreement",
                            "properties.accepted is required.",
                        )
                        .target("properties.accepted"));
                    };
                    let now = rfc3339(now_ms());
                    subst
                        .agreements
                        .insert(key, json!({ "accepted": accepted, "signDate": now }));
                    Ok(json_response(
                        200,
                        &terms(&subst.id, &p, &o, &plan, accepted, &now),
                    ))
                }
                _ => Err(ArmError::new(
                    405,
                    "MethodNotAllowed",
                    "GET or PUT the current agreement.",
                )),
            }
        }
        (Method::GET, ["agreements"]) => {
            let st = emu.state();
            let subst = st.subscription(sub).expect("checked");
            let list: Vec<Json> = subst
                .agreements
                .iter()
                .filter(|(_, a)| a["accepted"] == json!(true))
                .map(|(k, a)| {
                    let parts: Vec<&str> = k.split('/').collect();
                    old_agreement(&subst.id, parts[0], parts[1], parts[2], a)
                })
                .collect();
            // `OldAgreementTermsList` (2021-01-01): an object with `value`.
            Ok(json_response(200, &json!({ "value": list })))
        }
        (m, ["agreements", _, "offers", _, "plans", _, rest @ ..]) => {
            let (p, o, plan) = (seg[5].clone(), seg[7].clone(), seg[9].clone());
            if !plan_exists(emu, &p, &o, &plan) {
                return Err(not_found(&p, &o, &plan));
            }
            let key = format!(
                "{}/{}/{}",
                p.to_ascii_lowercase(),
                o.to_ascii_lowercase(),
                plan.to_ascii_lowercase()
            );
            let mut st = emu.state();
            let subst = st.subscription_mut(sub).expect("checked");
            let now = rfc3339(now_ms());
            match (m, rest) {
                (Method::GET, []) => {}
                (Method::POST, ["sign"]) => {
                    subst
                        .agreements
                        .insert(key.clone(), json!({ "accepted": true, "signDate": now }));
                }
                (Method::POST, ["cancel"]) => {
                    subst
                        .agreements
                        .insert(key.clone(), json!({ "accepted": false, "cancelDate": now }));
                }
                _ => {
                    return Err(ArmError::new(
                        405,
                        "MethodNotAllowed",
                        "Use GET, or POST sign / cancel.",
                    ))
                }
            }
            let a = subst
                .agreements
                .get(&key)
                .cloned()
                .unwrap_or(json!({ "accepted": false }));
            Ok(json_response(
                200,
                &old_agreement(&subst.id, &p, &o, &plan, &a),
            ))
        }
        _ => Err(ArmError::new(
            404,
            "InvalidResourceType",
            format!(
                "No MarketplaceOrdering route for {} {}.",
                req.method, req.path
            ),
        )),
    }
}

fn old_agreement(sub: &str, p: &str, o: &str, plan: &str, a: &Json) -> Json {
    let active = a["accepted"] == json!(true);
    let mut props = json!({
        "id": format!("/subscriptions/{sub}/providers/Microsoft.MarketplaceOrdering/agreements/{p}/offers/{o}/plans/{plan}"),
        "publisher": p, "offer": o, "state": if active { "Active" } else { "Canceled" },
    });
    if active {
        props["signDate"] = a["signDate"].clone();
    } else if a.get("cancelDate").is_some() {
        props["cancelDate"] = a["cancelDate"].clone();
    }
    json!({
        "id": format!("/subscriptions/{sub}/providers/Microsoft.MarketplaceOrdering/agreements/{p}/offers/{o}/plans/{plan}"),
        "name": plan, "type": "Microsoft.MarketplaceOrdering/agreements", "properties": props,
    })
}
