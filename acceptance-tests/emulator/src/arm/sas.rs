//! `listAccountSas` / `listServiceSas` of storage accounts: SAS tokens signed
//! with Azurite's well-known development key for its account, so a client that
//! authenticates blob calls with a SAS from ARM works against the local cloud's
//! Azurite exactly as it would against Azure. String-to-sign formats are the
//! storage service's for SAS version 2020-12-06 and later.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde_json::{json, Value as Json};

use crate::azurite::{AZURITE_ACCOUNT, AZURITE_KEY};
use crate::http::ArmError;

pub const SAS_VERSION: &str = "2022-11-02";

fn sign(string_to_sign: &str) -> String {
    let key = B64
        .decode(AZURITE_KEY)
        .expect("the development key is base64");
    let k = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &key);
    B64.encode(aws_lc_rs::hmac::sign(&k, string_to_sign.as_bytes()).as_ref())
}

fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn s<'a>(body: &'a Json, k: &str) -> &'a str {
    body[k].as_str().unwrap_or("")
}

fn required(body: &Json, k: &str) -> Result<(), ArmError> {
    if s(body, k).is_empty() {
        return Err(ArmError::bad_request(
            "InvalidParameter",
            format!("Required parameter '{k}' is missing (null)."),
        )
        .target(k));
    }
    Ok(())
}

fn query(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

pub fn account_sas(body: &Json) -> Result<Json, ArmError> {
    for k in [
        "signedServices",
        "signedResourceTypes",
        "signedPermission",
        "signedExpiry",
    ] {
        required(body, k)?;
    }
    let (ss, srt, sp, st, se, sip, spr) = (
        s(body, "signedServices"),
        s(body, "signedResourceTypes"),
        s(body, "signedPermission"),
        s(body, "signedStart"),
        s(body, "signedExpiry"),
        s(body, "signedIp"),
        s(body, "signedProtocol"),
    );
    let to_sign = format!(
        "{AZURITE_ACCOUNT}\n{sp}\n{ss}\n{srt}\n{st}\n{se}\n{sip}\n{spr}\n{SAS_VERSION}\n\n"
    );
    let sig = sign(&to_sign);
    let token = query(&[
        ("sv", SAS_VERSION),
        ("ss", ss),
        ("srt", srt),
        ("sp", sp),
        ("st", st),
        ("se", se),
        ("sip", sip),
        ("spr", spr),
        ("sig", &sig),
    ]);
    Ok(json!({ "accountSasToken": token }))
}

pub fn service_sas(body: &Json, account: &str) -> Result<Json, ArmError> {
    for k in [
        "canonicalizedResource",
        "signedResource",
        "signedPermission",
        "signedExpiry",
    ] {
        required(body, k)?;
    }
    // The resource is named for the ARM account; Azurite holds it under its development account.
    let resource = s(body, "canonicalizedResource");
    let prefix = format!("/blob/{account}/");
    let Some(rest) = resource.strip_prefix(&prefix) else {
        return Err(ArmError::bad_request(
            "InvalidParameter",
            format!("canonicalizedResource must start with '{prefix}'"),
        )
        .target("canonicalizedResource"));
    };
    let canonical = format!("/blob/{AZURITE_ACCOUNT}/{rest}");
    let (sr, sp, st, se, si, sip, spr) = (
        s(body, "signedResource"),
        s(body, "signedPermission"),
        s(body, "signedStart"),
        s(body, "signedExpiry"),
        s(body, "signedIdentifier"),
        s(body, "signedIp"),
        s(body, "signedProtocol"),
    );
    let (rscc, rscd, rsce, rscl, rsct) = (
        s(body, "rscc"),
        s(body, "rscd"),
        s(body, "rsce"),
        s(body, "rscl"),
        s(body, "rsct"),
    );
    let to_sign = format!("{sp}\n{st}\n{se}\n{canonical}\n{si}\n{sip}\n{spr}\n{SAS_VERSION}\n{sr}\n\n\n{rscc}\n{rscd}\n{rsce}\n{rscl}\n{rsct}");
    let sig = sign(&to_sign);
    let token = query(&[
        ("sv", SAS_VERSION),
        ("sr", sr),
        ("sp", sp),
        ("st", st),
        ("se", se),
        ("si", si),
        ("sip", sip),
        ("spr", spr),
        ("rscc", rscc),
        ("rscd", rscd),
        ("rsce", rsce),
        ("rscl", rscl),
        ("rsct", rsct),
        ("sig", &sig),
    ]);
    Ok(json!({ "serviceSasToken": token }))
}
