//! Image Builder's request check: a `ComposeRequest` is judged against the
//! whole schema of the vendored `api.yaml` (distribution enum, nested
//! customizations, upload options, unknown properties), as the service's Go
//! server judges it with kin-openapi before any handler runs, then by the
//! rules the spec leaves to the service's own validator (a user needs a
//! password or an SSH key). The spec is read once, at the first compose.

use std::sync::OnceLock;

use serde_json::{json, Value as Json};

const API_YAML: &str = include_str!("../../../../specs/redhat-image-builder/api.yaml");

/// The check of one request body: Err with the service's wording.
pub fn check(body: &Json) -> Result<(), String> {
    let validator =
        validator().map_err(|e| format!("the local cloud could not read api.yaml: {e}"))?;
    if let Some(e) = validator.iter_errors(body).next() {
        let at = e.instance_path().to_string();
        return Err(format!(
            "request body has an error: doesn't match schema: {}{e}",
            if at.is_empty() {
                String::new()
            } else {
                format!("{at}: ")
            }
        ));
    }
    // User: "At least one of password, ssh_key must be set, validator takes care of it."
    let users = body["customizations"]["users"]
        .as_array()
        .into_iter()
        .flatten();
    for (i, u) in users.enumerate() {
        let set = |k: &str| u[k].as_str().is_some_and(|v| !v.is_empty());
        if !set("password") && !set("ssh_key") {
            return Err(format!(
                "request body has an error: customizations.users[{i}]: at least one of password, ssh_key must be set"
            ));
        }
    }
    Ok(())
}

fn validator() -> Result<&'static jsonschema::Validator, &'static str> {
    static VALIDATOR: OnceLock<Result<jsonschema::Validator, String>> = OnceLock::new();
    VALIDATOR
        .get_or_init(|| {
            let spec: Json = serde_yaml_ng::from_str(API_YAML).map_err(|e| e.to_string())?;
            let mut components = spec["components"].clone();
            to_json_schema(&mut components);
            let root =
                json!({ "$ref": "#/components/schemas/ComposeRequest", "components": components });
            jsonschema::draft4::options()
                .should_validate_formats(false)
                .build(&root)
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(String::as_str)
}

/// OpenAPI 3.0 schema objects are JSON Schema draft 4 but for `nullable`,
/// which becomes a `null` type; `example` and `readOnly` only annotate.
fn to_json_schema(v: &mut Json) {
    match v {
        Json::Object(m) => {
            if m.remove("nullable") == Some(Json::Bool(true)) {
                if let Some(Json::String(t)) = m.get("type").cloned() {
                    m.insert("type".into(), json!([t, "null"]));
                }
            }
            m.remove("example");
            for (k, child) in m.iter_mut() {
                // Property names are data, not schema keywords.
                if k == "properties" {
                    if let Json::Object(props) = child {
                        props.values_mut().for_each(to_json_schema);
                    }
                } else {
                    to_json_schema(child);
                }
            }
        }
        Json::Array(a) => a.iter_mut().for_each(to_json_schema),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::check;
    use serde_json::json;

    fn request() -> serde_json::Value {
        json!({
            "distribution": "rhel-9.6",
            "image_requests": [{
                "architecture": "x86_64",
                "image_type": "azure",
                "upload_request": { "type": "azure", "options": {
                    "tenant_id": "b8f1ef54-0000-4000-a000-000000000001",
                    "subscription_id": "5ab5c41d-0000-4000-a000-00000000d3e0",
                    "resource_group": "rhel-demo",
                    "image_name": "golden"
                } }
            }],
            "customizations": { "packages": ["podman"], "users": [{ "name": "ops", "ssh_key": "ssh-ed25519 AAAA ops" }] }
        })
    }

    #[test]
    fn the_whole_schema_judges_a_compose_request() {
        assert_eq!(check(&request()), Ok(()));
        let mut r = request();
        r["distribution"] = json!("rhel-9.5");
        assert!(
            check(&r).unwrap_err().contains("/distribution"),
            "not in the enum"
        );
        let mut r = request();
        r["image_requests"][0]["regionz"] = json!(["x"]);
        assert!(
            check(&r).unwrap_err().contains("/image_requests/0"),
            "unknown property where the spec closes the object"
        );
        let mut r = request();
        r["customizations"]["packagez"] = json!(["x"]);
        assert_eq!(check(&r), Ok(()), "Customizations is open in the spec");
        let mut r = request();
        r["image_requests"][0]["architecture"] = json!("ppc64le");
        assert!(check(&r).is_err(), "architecture enum");
        let mut r = request();
        r["customizations"]["users"] = json!([{ "name": "ops" }]);
        assert!(check(&r)
            .unwrap_err()
            .contains("at least one of password, ssh_key"));
        let mut r = request();
        r["image_requests"] = json!([]);
        assert!(check(&r).is_err(), "exactly one image request");
    }
}
