//! Identity: an Entra ID token endpoint (client credentials -> signed JWT),
//! App Service's managed identity endpoint, GitHub Actions' OIDC token service,
//! Red Hat SSO's token endpoint (offline-token refresh, service-account client
//! credentials), and the checks ARM and Red Hat routes apply to bearer tokens,
//! answering with each service's real 401 bodies.
//!
//! Tokens are HS256 JWTs signed with a key kept in the emulator state, so they
//! survive a restart with `--state`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use serde_json::{json, Value as Json};

use crate::http::{json_response, now_secs, ArmError, Req};
use crate::Emulator;

/// Audiences ARM accepts (as Azure does, with and without the trailing slash).
pub const ARM_AUDIENCES: [&str; 4] = [
    "https://management.core.windows.net/",
    "https://management.core.windows.net",
    "https://management.azure.com/",
    "https://management.azure.com",
];

pub fn sign(key: &[u8], claims: &Json) -> String {
    let header = B64.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = B64.encode(serde_json::to_vec(claims).unwrap_or_default());
    let input = format!("{header}.{payload}");
    let k = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key);
    let sig = aws_lc_rs::hmac::sign(&k, input.as_bytes());
    format!("{input}.{}", B64.encode(sig.as_ref()))
}

/// The claims of a token we signed, or why it is not one.
pub fn verify(key: &[u8], token: &str) -> Result<Json, &'static str> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("malformed");
    };
    let sig = B64.decode(s).map_err(|_| "malformed")?;
    let k = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key);
    aws_lc_rs::hmac::verify(&k, format!("{h}.{p}").as_bytes(), &sig).map_err(|_| "signature")?;
    let claims: Json = serde_json::from_slice(&B64.decode(p).map_err(|_| "malformed")?)
        .map_err(|_| "malformed")?;
    Ok(claims)
}

fn bearer(req: &Req) -> Option<&str> {
    let h = req.header("authorization")?;
    let (scheme, token) = h.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

fn aad_error(status: u16, error: &str, code: u32, description: &str) -> axum::response::Response {
    json_response(
        status,
        &json!({
            "error": error,
            "error_description": format!("AADSTS{code}: {description}"),
            "error_codes": [code],
            "timestamp": crate::http::rfc3339(crate::http::now_ms()),
            "trace_id": crate::http::guid(),
            "correlation_id": crate::http::guid(),
        }),
    )
}

/// Entra ID's AADSTS90002 answer (with `error`: the token endpoint says
/// `invalid_request`, OpenID discovery `invalid_tenant`) unless the seed has `tenant`.
fn unknown_tenant(emu: &Emulator, tenant: &str, error: &str) -> Option<axum::response::Response> {
    let known = emu
        .seed()
        .tenants
        .iter()
        .any(|t| t.id.eq_ignore_ascii_case(tenant));
    (!known).then(|| {
        aad_error(
            400,
            error,
            90002,
            &format!("Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."),
        )
    })
}

/// `POST {authority}/{tenant}/oauth2/v2.0/token` (client credentials).
pub fn entra_token(emu: &Emulator, req: &Req, tenant: &str) -> axum::response::Response {
    let form = req.form();
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    if get("grant_type") != "client_credentials" {
        return aad_error(
            400,
            "unsupported_grant_type",
            70003,
            "The app requested an unsupported grant type. Use client_credentials.",
        );
    }
    if let Some(refused) = unknown_tenant(emu, tenant, "invalid_request") {
        return refused;
    }
    let seed = emu.seed();
    let client_id = get("client_id");
    let Some((t, sp)) = seed.tenant_of_client(client_id) else {
        return aad_error(400, "unauthorized_client", 700016, &format!("Application with identifier '{client_id}' was not found in the directory '{tenant}'."));
    };
    if !t.id.eq_ignore_ascii_case(tenant) {
        return aad_error(400, "unauthorized_client", 700016, &format!("Application with identifier '{client_id}' was not found in the directory '{tenant}'."));
    }
    let assertion_header = jwt_part(get("client_assertion"), 0).unwrap_or(Json::Null);
    let is_assertion =
        get("client_assertion_type") == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
    if is_assertion
        && (assertion_header.get("x5t#S256").is_some() || assertion_header.get("x5t").is_some())
    {
        // A certificate credential: signed by a key whose certificate is registered on the app.
        let token_url = format!("{}/{tenant}/oauth2/v2.0/token", emu.base_url());
        if let Err(r) =
            check_certificate_assertion(get("client_assertion"), &assertion_header, sp, &token_url)
        {
            return r;
        }
    } else if is_assertion {
        // Workload identity federation: the assertion's issuer, subject and audience
        // must match a federated credential of the app. (The local cloud has no
        // issuer keys to fetch, so the assertion's signature is not checked.)
        let Some(c) = jwt_part(get("client_assertion"), 1) else {
            return aad_error(
                400,
                "invalid_request",
                50027,
                "JWT token is invalid or malformed.",
            );
        };
        if c["exp"].as_u64().unwrap_or(0) <= now_secs() {
            return aad_error(
                400,
                "invalid_client",
                700024,
                "Client assertion is not within its valid time range.",
            );
        }
        let aud_ok = |f: &crate::seed::Federated| {
            c["aud"] == json!(f.audience)
                || c["aud"]
                    .as_array()
                    .is_some_and(|a| a.contains(&json!(f.audience)))
        };
        let matched = sp
            .federated
            .iter()
            .any(|f| c["iss"] == json!(f.issuer) && c["sub"] == json!(f.subject) && aud_ok(f));
        if !matched {
            return aad_error(400, "invalid_request", 70021, &format!("No matching federated identity record found for presented assertion. Assertion Issuer: '{}'. Assertion Subject: '{}'. Assertion Audience: '{}'.", c["iss"].as_str().unwrap_or(""), c["sub"].as_str().unwrap_or(""), c["aud"]));
        }
    } else if get("client_secret") != sp.client_secret {
        return aad_error(401, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.");
    }
    let scope = get("scope");
    let Some(resource) = scope.strip_suffix("/.default") else {
        return aad_error(400, "invalid_scope", 1002012, &format!("The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."));
    };
    let Some((token, lifetime)) = access_token(emu, &t.id, &sp.client_id, resource) else {
        return aad_error(400, "invalid_resource", 500011, &format!("The resource principal named {resource} was not found in the tenant named {tenant}."));
    };
    json_response(
        200,
        &json!({ "token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime, "access_token": token }),
    )
}

/// `GET {authority}/{tenant}/v2.0/.well-known/openid-configuration`: Entra
/// ID's OpenID discovery document, which MSAL (and so `az login`) reads before
/// its first token request. Endpoints point back at this origin.
pub fn openid_configuration(emu: &Emulator, tenant: &str) -> axum::response::Response {
    if let Some(refused) = unknown_tenant(emu, tenant, "invalid_tenant") {
        return refused;
    }
    let base = format!("{}/{tenant}", emu.base_url());
    json_response(
        200,
        &json!({
            "issuer": format!("{base}/v2.0"),
            "authorization_endpoint": format!("{base}/oauth2/v2.0/authorize"),
            "token_endpoint": format!("{base}/oauth2/v2.0/token"),
            "device_authorization_endpoint": format!("{base}/oauth2/v2.0/devicecode"),
            "end_session_endpoint": format!("{base}/oauth2/v2.0/logout"),
            "jwks_uri": format!("{base}/discovery/v2.0/keys"),
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "response_modes_supported": ["query", "fragment", "form_post"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "request_uri_parameter_supported": false,
            "tenant_region_scope": null,
            "cloud_instance_name": "rhelazure.local",
        }),
    )
}

/// Part `i` of a JWT (0 header, 1 claims) as JSON, without checking anything.
fn jwt_part(jwt: &str, i: usize) -> Option<Json> {
    let p = jwt.split('.').nth(i)?;
    serde_json::from_slice(&B64.decode(p.trim_end_matches('=')).ok()?).ok()
}

/// Checks a certificate-signed client assertion (RS256, `x5t#S256` or `x5t`
/// naming a certificate registered on the app, `iss` = `sub` = the client,
/// `aud` = the token endpoint, not expired), with Entra ID's error codes.
fn check_certificate_assertion(
    jwt: &str,
    header: &Json,
    sp: &crate::seed::ServicePrincipal,
    token_url: &str,
) -> Result<(), axum::response::Response> {
    use rustls::pki_types::pem::PemObject as _;
    let thumb = |der: &[u8], alg| B64.encode(aws_lc_rs::digest::digest(alg, der));
    let cert = sp
        .certificates
        .iter()
        .filter_map(|pem| rustls::pki_types::CertificateDer::from_pem_slice(pem.as_bytes()).ok())
        .find(|der| {
            header["x5t#S256"].as_str() == Some(thumb(der, &aws_lc_rs::digest::SHA256).as_str())
                || header["x5t"].as_str()
                    == Some(thumb(der, &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY).as_str())
        })
        .ok_or_else(|| {
            aad_error(401, "invalid_client", 700027, "The certificate with identifier used to sign the client assertion is not registered on application.")
        })?;
    let bad_sig = || {
        aad_error(
            401,
            "invalid_client",
            700027,
            "Client assertion failed signature validation.",
        )
    };
    if header["alg"] != "RS256" {
        return Err(bad_sig());
    }
    let (input, sig) = jwt.rsplit_once('.').ok_or_else(bad_sig)?;
    let sig = B64.decode(sig).map_err(|_| bad_sig())?;
    let ee = webpki::EndEntityCert::try_from(&cert).map_err(|_| bad_sig())?;
    ee.verify_signature(
        webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA256,
        input.as_bytes(),
        &sig,
    )
    .map_err(|_| bad_sig())?;
    let claims = jwt_part(input, 1).unwrap_or(Json::Null);
    if claims["iss"] != json!(sp.client_id) || claims["sub"] != json!(sp.client_id) {
        return Err(aad_error(400, "invalid_client", 700023, "Client assertion audience claim does not match Realm issuer, or the issuer and subject are not the client."));
    }
    if claims["aud"] != json!(token_url) {
        return Err(aad_error(
            400,
            "invalid_client",
            700016,
            &format!("Client assertion audience must be {token_url}."),
        ));
    }
    if claims["exp"].as_u64().unwrap_or(0) <= now_secs() {
        return Err(aad_error(
            400,
            "invalid_client",
            700024,
            "Client assertion is not within its valid time range.",
        ));
    }
    Ok(())
}

/// A signed access token of `client_id` (tenant `tenant_id`) for `resource`,
/// and its lifetime; `None` for a resource Entra does not know.
fn access_token(
    emu: &Emulator,
    tenant_id: &str,
    client_id: &str,
    resource: &str,
) -> Option<(String, u64)> {
    let base = emu.base_url();
    let aud = if resource.trim_end_matches('/') == base.trim_end_matches('/') {
        // Tokens for the local ARM endpoint carry the public ARM audience, as sovereign-cloud tokens carry theirs.
        "https://management.azure.com/".to_string()
    } else if resource.starts_with("https://") {
        format!("{}/", resource.trim_end_matches('/'))
    } else {
        return None;
    };
    let lifetime = emu.token_lifetime_secs();
    let now = now_secs();
    let claims = json!({
        "aud": aud,
        "iss": format!("https://sts.windows.net/{tenant_id}/"),
        "iat": now, "nbf": now, "exp": now + lifetime,
        "appid": client_id, "oid": client_id, "sub": client_id,
        "tid": tenant_id, "ver": "1.0",
    });
    Some((sign(&emu.signing_key(), &claims), lifetime))
}

/// App Service's managed identity endpoint (`IDENTITY_ENDPOINT`, API version
/// 2019-08-01): `GET ?api-version&resource[&client_id]` with the
/// `X-IDENTITY-HEADER` secret of the host (`IDENTITY_HEADER`).
pub fn managed_identity_token(emu: &Emulator, req: &Req) -> axum::response::Response {
    let msi_error = |status: u16, msg: &str| {
        json_response(status, &json!({ "statusCode": status, "message": msg }))
    };
    if req.query("api-version") != Some("2019-08-01") {
        return msi_error(400, "api-version 2019-08-01 is required");
    }
    let header = req.header("x-identity-header").unwrap_or("");
    let seed = emu.seed();
    let Some((t, sp)) = seed.tenants.iter().find_map(|t| {
        t.service_principals
            .iter()
            .find(|sp| !header.is_empty() && sp.managed_identity_header.as_deref() == Some(header))
            .map(|sp| (t, sp))
    }) else {
        return msi_error(401, "The X-IDENTITY-HEADER is missing or invalid.");
    };
    if req.query("client_id").is_some_and(|c| c != sp.client_id) {
        return msi_error(
            400,
            "No managed identity with that client_id is assigned to this host.",
        );
    }
    let resource = req.query("resource").unwrap_or("");
    let Some((token, lifetime)) = access_token(emu, &t.id, &sp.client_id, resource) else {
        return msi_error(400, &format!("Unknown resource {resource}."));
    };
    json_response(
        200,
        &json!({
            "access_token": token, "expires_on": (now_secs() + lifetime).to_string(),
            "resource": resource, "token_type": "Bearer", "client_id": sp.client_id,
        }),
    )
}

/// The Instance Metadata Service's identity endpoint (`GET
/// /metadata/identity/oauth2/token?api-version&resource[&client_id]` with
/// `Metadata: true`), for the identities assigned to the virtual machine (the
/// seed's managed identities). Errors are IMDS's `invalid_request` answers.
pub fn imds_token(emu: &Emulator, req: &Req) -> axum::response::Response {
    let bad = |desc: &str| {
        json_response(
            400,
            &json!({ "error": "invalid_request", "error_description": desc }),
        )
    };
    if req.header("metadata") != Some("true") {
        return bad("Required metadata header not specified");
    }
    match req.query("api-version") {
        None => return bad("Required query variable 'api-version' is missing"),
        Some("2018-02-01" | "2019-08-01" | "2021-02-01") => {}
        Some(_) => return bad("Invalid api version"),
    }
    let Some(resource) = req.query("resource").filter(|r| !r.is_empty()) else {
        return bad("Required query variable 'resource' is missing");
    };
    let seed = emu.seed();
    let assigned: Vec<(&crate::seed::Tenant, &crate::seed::ServicePrincipal)> = seed
        .tenants
        .iter()
        .flat_map(|t| t.service_principals.iter().map(move |sp| (t, sp)))
        .filter(|(_, sp)| sp.managed_identity_header.is_some())
        .collect();
    let chosen = match req.query("client_id") {
        Some(c) => assigned
            .iter()
            .find(|(_, sp)| sp.client_id.eq_ignore_ascii_case(c)),
        None if assigned.len() > 1 => {
            return bad("Multiple user assigned identities exist, please specify the clientId / resourceId of the identity in the token request")
        }
        None => assigned.first(),
    };
    let Some((t, sp)) = chosen else {
        return bad("Identity not found");
    };
    let Some((token, lifetime)) = access_token(emu, &t.id, &sp.client_id, resource) else {
        return bad(&format!("Invalid resource {resource}"));
    };
    let now = now_secs();
    json_response(
        200,
        &json!({
            "access_token": token, "refresh_token": "", "client_id": sp.client_id,
            "expires_in": lifetime.to_string(), "ext_expires_in": lifetime.to_string(),
            "expires_on": (now + lifetime).to_string(), "not_before": now.to_string(),
            "resource": resource, "token_type": "Bearer",
        }),
    )
}

/// GitHub Actions' OIDC token service (`ACTIONS_ID_TOKEN_REQUEST_URL`): with
/// the job's bearer `ACTIONS_ID_TOKEN_REQUEST_TOKEN`, `GET ...&audience=A`
/// answers `{"value": JWT}` issued by token.actions.githubusercontent.com.
pub fn github_actions_token(emu: &Emulator, req: &Req) -> axum::response::Response {
    let seed = emu.seed();
    let Some(gha) = &seed.github_actions else {
        return json_response(404, &json!({ "message": "Not Found" }));
    };
    let bearer = req
        .header("authorization")
        .and_then(|h| h.strip_prefix("Bearer "))
        .unwrap_or("");
    if bearer != gha.request_token {
        return json_response(401, &json!({ "message": "Bad credentials" }));
    }
    let aud = req.query("audience").unwrap_or("");
    let now = now_secs();
    let claims = json!({
        "iss": "https://token.actions.githubusercontent.com", "sub": gha.subject, "aud": aud,
        "iat": now, "nbf": now, "exp": now + 300, "repository": gha.subject.split(':').nth(1).unwrap_or(""),
    });
    json_response(
        200,
        &json!({ "count": 1, "value": sign(&emu.signing_key(), &claims) }),
    )
}

/// Azure DevOps' OIDC endpoint (`SYSTEM_OIDCREQUESTURI`, `POST
/// .../oidctoken?api-version=7.1&serviceConnectionId=ID` with the job's
/// `SYSTEM_ACCESSTOKEN`): answers `{"oidcToken": JWT}` issued by
/// `https://vstoken.dev.azure.com/{organization id}` for the service connection.
pub fn azure_devops_token(emu: &Emulator, req: &Req) -> axum::response::Response {
    let seed = emu.seed();
    let Some(ado) = &seed.azure_devops else {
        return json_response(404, &json!({ "message": "Not Found" }));
    };
    let bearer = req
        .header("authorization")
        .and_then(|h| h.strip_prefix("Bearer "))
        .unwrap_or("");
    if bearer != ado.request_token {
        return json_response(
            401,
            &json!({ "message": "TF400813: The user '' is not authorized to access this resource." }),
        );
    }
    if req.query("api-version").is_none() {
        return json_response(
            400,
            &json!({ "message": "No api-version was supplied for the \"POST\" request.", "typeKey": "VssVersionNotSpecifiedException" }),
        );
    }
    let connection = req.query("serviceConnectionId").unwrap_or("");
    if connection != ado.service_connection_id {
        return json_response(
            404,
            &json!({ "message": format!("Service connection {connection} was not found or is not authorized for this pipeline."), "typeKey": "ServiceEndpointNotFoundException" }),
        );
    }
    let now = now_secs();
    let claims = json!({
        "iss": format!("https://vstoken.dev.azure.com/{}", ado.organization_id), "sub": ado.subject,
        "aud": "api://AzureADTokenExchange", "iat": now, "nbf": now, "exp": now + 600,
    });
    json_response(
        200,
        &json!({ "oidcToken": sign(&emu.signing_key(), &claims) }),
    )
}

/// The tenant a request's bearer token claims to be from, unchecked: tenant-level
/// ARM calls (listing subscriptions) are answered for the caller's own tenant,
/// after [`check_arm`] verified the token for it.
pub fn claimed_tenant(req: &Req) -> String {
    bearer(req)
        .and_then(|t| jwt_part(t, 1))
        .and_then(|c| c["tid"].as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Checks an ARM request's bearer token for the subscription's tenant.
pub fn check_arm(emu: &Emulator, req: &Req, subscription_tenant: &str) -> Result<Json, ArmError> {
    let unauthorized = |code: &str, msg: String, desc: &str| {
        ArmError::new(401, code, msg).header(
            "WWW-Authenticate",
            format!("Bearer authorization_uri=\"{}/{subscription_tenant}\", error=\"invalid_token\", error_description=\"{desc}\"", emu.base_url()),
        )
    };
    let Some(token) = bearer(req) else {
        return Err(unauthorized(
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing.".into(),
            "The authentication failed because of missing 'Authorization' header.",
        ));
    };
    let claims = verify(&emu.signing_key(), token).map_err(|_| {
        unauthorized(
            "InvalidAuthenticationToken",
            "The access token is invalid.".into(),
            "The access token is invalid.",
        )
    })?;
    let exp = claims["exp"].as_u64().unwrap_or(0);
    let now = now_secs();
    if exp <= now {
        return Err(unauthorized(
            "ExpiredAuthenticationToken",
            format!(
                "The access token expiry UTC time '{}' is earlier than current UTC time '{}'.",
                crate::http::rfc3339(exp * 1000),
                crate::http::rfc3339(now * 1000)
            ),
            "The access token has expired.",
        ));
    }
    let aud = claims["aud"].as_str().unwrap_or("");
    if !ARM_AUDIENCES.contains(&aud) {
        return Err(unauthorized(
            "InvalidAuthenticationTokenAudience",
            format!("The access token has been obtained for wrong audience or resource '{aud}'. It should exactly match with one of the allowed audiences '{}'.", ARM_AUDIENCES.join("','")),
            "The access token has been obtained for wrong audience.",
        ));
    }
    let tid = claims["tid"].as_str().unwrap_or("");
    if !tid.eq_ignore_ascii_case(subscription_tenant) {
        return Err(unauthorized(
            "InvalidAuthenticationTokenTenant",
            format!(
                "The access token is from the wrong issuer 'https://sts.windows.net/{tid}/'. It must match the tenant 'https://sts.windows.net/{subscription_tenant}/' associated with this subscription. Please use the authority (URL) 'https://login.windows.net/{subscription_tenant}' to get the token. Note, if the subscription is transferred to another tenant there is no impact to the services, but information about new tenant could take time to propagate (up to an hour). If you just transferred your subscription and see this error message, please try back later."
            ),
            "The access token is from the wrong issuer.",
        ));
    }
    Ok(claims)
}

/// The public clients of Red Hat SSO that issue offline tokens.
const OFFLINE_TOKEN_CLIENTS: [&str; 2] = ["rhsm-api", "cloud-services"];

/// `POST {sso}/auth/realms/redhat-external/protocol/openid-connect/token`.
pub fn redhat_token(emu: &Emulator, req: &Req) -> axum::response::Response {
    let form = req.form();
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    let seed = emu.seed();
    let rh = &seed.redhat;
    let oidc_error = |status: u16, error: &str, desc: &str| {
        json_response(
            status,
            &json!({ "error": error, "error_description": desc }),
        )
    };
    let (subject, scope) = match get("grant_type") {
        "refresh_token" => {
            // Red Hat SSO (Keycloak) binds an offline token to the client that
            // issued it (its `azp`): `rhsm-api` for the Customer Portal's API
            // Tokens page, `cloud-services` for the Hybrid Cloud Console's.
            // Refreshing with another known client is refused as Keycloak does.
            if !OFFLINE_TOKEN_CLIENTS.contains(&get("client_id")) {
                return oidc_error(
                    401,
                    "unauthorized_client",
                    "Invalid client or Invalid client credentials",
                );
            }
            let token = get("refresh_token");
            if !rh.offline_tokens.iter().any(|t| t == token) {
                return oidc_error(400, "invalid_grant", "Invalid refresh token");
            }
            if jwt_part(token, 1)
                .and_then(|c| c["azp"].as_str().map(str::to_string))
                .as_deref()
                != Some(get("client_id"))
            {
                return oidc_error(
                    400,
                    "invalid_grant",
                    "Invalid refresh token. Token client and authorized client don't match",
                );
            }
            (
                "offline-token-user".to_string(),
                "openid api.iam offline_access",
            )
        }
        "client_credentials" => {
            let ok = rh.service_accounts.iter().any(|s| {
                s.client_id == get("client_id") && s.client_secret == get("client_secret")
            });
            if !ok {
                return oidc_error(
                    401,
                    "invalid_client",
                    "Invalid client or Invalid client credentials",
                );
            }
            (
                format!("service-account-{}", get("client_id")),
                "openid api.iam.service_accounts api.console",
            )
        }
        "" => return oidc_error(400, "invalid_request", "Missing form parameter: grant_type"),
        other => {
            return oidc_error(
                400,
                "unsupported_grant_type",
                &format!("Unsupported grant_type {other}"),
            )
        }
    };
    let lifetime = emu.redhat_token_lifetime_secs();
    let now = now_secs();
    let claims = json!({
        "iss": format!("{}/sso/auth/realms/redhat-external", emu.base_url()),
        "aud": "cloud-services", "azp": get("client_id"), "sub": subject, "typ": "Bearer",
        "iat": now, "exp": now + lifetime, "scope": scope,
        "organization": { "id": rh.org_id, "account_number": rh.account_number },
    });
    let token = sign(&emu.signing_key(), &claims);
    json_response(
        200,
        &json!({
            "access_token": token, "expires_in": lifetime, "refresh_expires_in": 0,
            "token_type": "Bearer", "not-before-policy": 0, "scope": scope,
        }),
    )
}

/// Why a Red Hat API request is not authenticated (each API words its 401 itself).
pub fn check_redhat(emu: &Emulator, req: &Req) -> Result<Json, String> {
    let token = bearer(req).ok_or_else(|| "Missing Authorization header".to_string())?;
    let claims = verify(&emu.signing_key(), token).map_err(|_| "Invalid token".to_string())?;
    if claims["aud"] != "cloud-services" {
        return Err("Invalid token: wrong audience".into());
    }
    if claims["exp"].as_u64().unwrap_or(0) <= now_secs() {
        return Err("Token expired".into());
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_tokens_verify_and_tampering_fails() {
        let key = b"k3y";
        let t = sign(key, &json!({"aud": "x", "exp": 1}));
        assert_eq!(verify(key, &t).unwrap()["aud"], "x");
        assert!(verify(b"other", &t).is_err());
        let mut bad = t.clone();
        bad.insert(bad.len() / 2, 'A');
        assert!(verify(key, &bad).is_err());
        assert!(verify(key, "not.a.jwt.at.all").is_err());
    }
}
