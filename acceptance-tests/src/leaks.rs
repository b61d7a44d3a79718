//! Secret-leak scanning for every workspace of the suite.
//!
//! Each Terraform command of a [`crate::Workspace`] runs with `TF_LOG=trace`
//! (unless a test asks for its own level) and, when the workspace is dropped,
//! its logs, its state files and the output of every command are searched for:
//! - every credential the test used (the emulator's seeded client secrets,
//!   offline tokens and service-account secrets, plus any a test registers),
//! - anything shaped like a bearer token (a JWT: `eyJ…​.eyJ…`),
//! - a SAS signature (`sig=` followed by a value).
//!
//! Values Terraform itself stores as sensitive (attributes listed in
//! `sensitive_attributes` of the state, `sensitive_values` / `*_sensitive` of
//! the JSON views, sensitive outputs and variables) are masked first: Terraform
//! keeps those on purpose, and only those.

use serde_json::Value as Json;

/// Secrets shorter than this are not searched for (they would match noise).
const MIN_LEN: usize = 8;

/// Where one leak was found and a masked excerpt around it.
#[derive(Debug)]
pub struct Leak {
    pub place: String,
    pub what: String,
    pub excerpt: String,
}

impl std::fmt::Display for Leak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} in {}: …{}…", self.what, self.place, self.excerpt)
    }
}

/// Leaks in free text (a log, a command's output).
pub fn in_text(text: &str, secrets: &[String], place: &str) -> Vec<Leak> {
    let mut leaks = Vec::new();
    for s in secrets.iter().filter(|s| s.len() >= MIN_LEN) {
        for (form, encoded) in encodings(s) {
            if let Some(at) = text.find(encoded.as_str()) {
                let what = match form {
                    "as is" => "a credential of the test".to_string(),
                    form => format!("a credential of the test ({form})"),
                };
                leaks.push(leak(text, at, encoded.len(), place, &what));
                break;
            }
        }
    }
    if let Some((at, len)) = find_jwt(text) {
        leaks.push(leak(text, at, len, place, "a bearer token (JWT)"));
    }
    if let Some((at, len)) = find_sas_signature(text) {
        leaks.push(leak(text, at, len, place, "a SAS signature"));
    }
    leaks
}

/// Leaks in JSON Terraform wrote (a state file, `show -json`, a plan JSON),
/// after masking what Terraform marks sensitive.
pub fn in_terraform_json(doc: &Json, secrets: &[String], place: &str) -> Vec<Leak> {
    let mut doc = doc.clone();
    mask_terraform_sensitive(&mut doc);
    let mut found = Vec::new();
    strings_with_paths(&doc, String::new(), &mut |path, s| {
        for leak in in_text(s, secrets, &format!("{place} at {path}")) {
            found.push(leak);
        }
    });
    found
}

/// Every string in `v` (object keys included) with its JSON path.
fn strings_with_paths(v: &Json, path: String, f: &mut dyn FnMut(&str, &str)) {
    match v {
        Json::String(s) => f(&path, s),
        Json::Object(m) => {
            for (k, x) in m {
                f(&path, k);
                strings_with_paths(x, format!("{path}.{k}"), f);
            }
        }
        Json::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                strings_with_paths(x, format!("{path}[{i}]"), f);
            }
        }
        _ => {}
    }
}

/// The forms a secret takes on its way through logs and payloads: as is,
/// JSON-escaped, percent-encoded, and base64 (standard and URL-safe) as a
/// whole or inside a larger base64 blob (a VM's customData), where it shows
/// in one of three alignments. Each form is the part fixed by the secret
/// alone, so it is found whatever surrounds it.
fn encodings(secret: &str) -> Vec<(&'static str, String)> {
    use base64::engine::general_purpose::{STANDARD, URL_SAFE};
    use base64::Engine as _;
    let mut forms = vec![("as is", secret.to_string())];
    let json = serde_json::to_string(secret).unwrap_or_default();
    let json = json.trim_matches('"').to_string();
    if json != secret {
        forms.push(("JSON-escaped", json));
    }
    let percent: String = secret
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    if percent != secret {
        forms.push(("percent-encoded", percent));
    }
    for (name, engine) in [("base64", &STANDARD), ("base64url", &URL_SAFE)] {
        for offset in 0..3usize {
            let mut bytes = vec![0u8; offset];
            bytes.extend_from_slice(secret.as_bytes());
            let encoded = engine.encode(&bytes);
            // Characters made only of the secret's bits.
            let start = (offset * 8).div_ceil(6);
            let end = (bytes.len() * 8) / 6;
            if end > start && end - start >= MIN_LEN {
                forms.push((name, encoded[start..end].to_string()));
            }
        }
    }
    forms
}

fn leak(text: &str, at: usize, len: usize, place: &str, what: &str) -> Leak {
    let from = floor_char(text, at.saturating_sub(60));
    let to = floor_char(text, (at + len + 40).min(text.len()));
    let shown = floor_char(text, (at + 4).min(text.len()));
    Leak {
        place: place.to_string(),
        what: what.to_string(),
        // The secret itself is cut to 4 characters, so the failure does not leak it again.
        excerpt: format!(
            "{}{}[…]{}",
            &text[from..at],
            &text[at..shown],
            &text[floor_char(text, at + len).max(shown)..to]
        )
        .replace('\n', "⏎"),
    }
}

fn floor_char(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn is_b64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// `eyJ<header>.eyJ<payload>`: a JSON header and payload, base64url encoded.
fn find_jwt(text: &str) -> Option<(usize, usize)> {
    let b = text.as_bytes();
    let mut from = 0;
    while let Some(off) = text[from..].find("eyJ") {
        let start = from + off;
        let mut i = start;
        while i < b.len() && is_b64url(b[i]) {
            i += 1;
        }
        if i - start >= 10 && text[i..].starts_with(".eyJ") {
            let mut j = i + 1;
            while j < b.len() && (is_b64url(b[j]) || b[j] == b'.') {
                j += 1;
            }
            return Some((start, j - start));
        }
        from = start + 3;
    }
    None
}

/// `sig=<value>` of a SAS URL, unless the value is visibly masked.
fn find_sas_signature(text: &str) -> Option<(usize, usize)> {
    let b = text.as_bytes();
    let mut from = 0;
    while let Some(off) = text[from..].find("sig=") {
        let start = from + off + 4;
        let mut i = start;
        while i < b.len() && (b[i].is_ascii_alphanumeric() || b"%+/=".contains(&b[i])) {
            i += 1;
        }
        if i - start >= 16 {
            return Some((start, i - start));
        }
        from = start;
    }
    None
}

const MASK: &str = "(sensitive)";

/// Replaces, in place, every value Terraform marks sensitive in any of its
/// JSON shapes (raw state v4, `show -json` of a state or a plan).
pub fn mask_terraform_sensitive(doc: &mut Json) {
    // Sensitive root variables (plan JSON): `configuration` says which.
    let sensitive_vars: Vec<String> = doc["configuration"]["root_module"]["variables"]
        .as_object()
        .map(|vars| {
            vars.iter()
                .filter(|(_, v)| v["sensitive"] == Json::Bool(true))
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default();
    if let Some(vars) = doc.get_mut("variables").and_then(Json::as_object_mut) {
        for name in sensitive_vars {
            if let Some(v) = vars.get_mut(&name) {
                *v = Json::String(MASK.into());
            }
        }
    }
    // The configuration section echoes the user's own source (literals
    // included, even inside nested sensitive attributes): not the provider's.
    if let Some(m) = doc.as_object_mut() {
        m.remove("configuration");
    }
    // Terraform marks an attribute sensitive in `resource_changes` but, for a
    // replacement, may leave it out of `planned_values.sensitive_values`: what
    // Terraform marks sensitive for an address anywhere counts everywhere.
    let after_sensitive: Vec<(String, Json)> = doc["resource_changes"]
        .as_array()
        .map(|rc| {
            rc.iter()
                .filter_map(|c| {
                    Some((
                        c["address"].as_str()?.to_string(),
                        c["change"]["after_sensitive"].clone(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    walk(doc, &after_sensitive);
}

/// Masks every sensitive value under `v`; `after_sensitive` holds the plan's
/// sensitivity shape per resource address.
fn walk(v: &mut Json, after_sensitive: &[(String, Json)]) {
    match v {
        Json::Object(m) => {
            // A resource whose address the plan marks: {"address": …, "values": …}
            let shape = m
                .get("address")
                .and_then(Json::as_str)
                .and_then(|a| after_sensitive.iter().find(|(addr, _)| addr == a))
                .map(|(_, s)| s.clone());
            if let (Some(shape), Some(values)) = (shape, m.get_mut("values")) {
                mask_by_shape(values, &shape);
            }
            // `show -json`: {"values": …, "sensitive_values": …}
            if let Some(sens) = m.get("sensitive_values").cloned() {
                if let Some(values) = m.get_mut("values") {
                    mask_by_shape(values, &sens);
                }
            }
            // plan changes: before/after with before_sensitive/after_sensitive
            for (val, sens) in [("before", "before_sensitive"), ("after", "after_sensitive")] {
                if let Some(s) = m.get(sens).cloned() {
                    if let Some(x) = m.get_mut(val) {
                        mask_by_shape(x, &s);
                    }
                }
            }
            // outputs: {"sensitive": true, "value": …}
            if m.get("sensitive") == Some(&Json::Bool(true)) {
                if let Some(x) = m.get_mut("value") {
                    *x = Json::String(MASK.into());
                }
            }
            // raw state: {"attributes": …, "sensitive_attributes": [[step…]…]}
            if let Some(Json::Array(paths)) = m.get("sensitive_attributes").cloned() {
                if let Some(attrs) = m.get_mut("attributes") {
                    for path in &paths {
                        mask_path(attrs, path);
                    }
                }
            }
            m.values_mut().for_each(|x| walk(x, after_sensitive));
        }
        Json::Array(items) => items.iter_mut().for_each(|x| walk(x, after_sensitive)),
        _ => {}
    }
}

/// `shape` mirrors `v`, with `true` where a value is sensitive.
fn mask_by_shape(v: &mut Json, shape: &Json) {
    match (v, shape) {
        (v, Json::Bool(true)) => *v = Json::String(MASK.into()),
        (Json::Object(m), Json::Object(s)) => {
            for (k, sub) in s {
                if let Some(x) = m.get_mut(k) {
                    mask_by_shape(x, sub);
                }
            }
        }
        (Json::Array(items), Json::Array(s)) => {
            for (x, sub) in items.iter_mut().zip(s) {
                mask_by_shape(x, sub);
            }
        }
        _ => {}
    }
}

/// A state v4 path: a list of `{"type": "get_attr", "value": name}` or
/// `{"type": "index", "value": {"value": key, "type": …}}` steps (the form
/// Terraform 1.11 and 1.15 write).
fn mask_path(v: &mut Json, path: &Json) {
    let Some(steps) = path.as_array() else {
        return;
    };
    let mut cur = v;
    for step in steps {
        let next = match (step["type"].as_str(), &step["value"]) {
            (Some("get_attr"), Json::String(name)) => cur.get_mut(name.as_str()),
            (Some("index"), key) => {
                let key = if key.get("value").is_some() {
                    &key["value"]
                } else {
                    key
                };
                match key {
                    Json::Number(n) => n
                        .as_u64()
                        .and_then(|i| cur.get_mut(usize::try_from(i).ok()?)),
                    Json::String(k) => cur.get_mut(k.as_str()),
                    _ => None,
                }
            }
            _ => None,
        };
        match next {
            Some(n) => cur = n,
            None => return,
        }
    }
    *cur = Json::String(MASK.into());
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_credentials_tokens_and_signatures_but_not_masked_ones() {
        let secrets = vec!["Sup3rS3cretValue".to_string()];
        assert_eq!(in_text("x Sup3rS3cretValue y", &secrets, "t").len(), 1);
        assert!(in_text("x [REDACTED] y", &secrets, "t").is_empty());
        let jwt = "Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln";
        assert_eq!(in_text(jwt, &[], "t")[0].what, "a bearer token (JWT)");
        assert!(in_text("eyJ short", &[], "t").is_empty());
        let sas = "https://a/b?sv=2021&sig=AbCdEfGhIjKlMnOpQrStUv%3D";
        assert_eq!(in_text(sas, &[], "t")[0].what, "a SAS signature");
        assert!(in_text("sig=[REDACTED]", &[], "t").is_empty());
        let shown = in_text("x Sup3rS3cretValue y", &secrets, "t")[0].to_string();
        assert!(!shown.contains("Sup3rS3cretValue"), "{shown}");
    }

    #[test]
    fn encoded_credentials_are_found_too() {
        use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
        use base64::Engine as _;
        let secret = "activation/key+with spaces&\"quotes\"";
        let secrets = vec![secret.to_string()];
        let found = |text: &str| in_text(text, &secrets, "t");
        // Inside a cloud-config that travels base64-encoded (customData),
        // at every alignment.
        for prefix in ["", "a", "ab", "rh_subscription:\n  activation-key: "] {
            let blob = STANDARD.encode(format!("{prefix}{secret}\nmore"));
            let leaks = found(&format!("customData={blob}"));
            assert_eq!(leaks.len(), 1, "{prefix:?}");
            assert!(leaks[0].what.contains("base64"), "{}", leaks[0].what);
        }
        let url = URL_SAFE_NO_PAD.encode(format!("xy{secret}"));
        // (Where no character differs, the standard form already matches.)
        assert!(found(&url)[0].what.contains("base64"));
        let json = serde_json::to_string(&json!({ "k": secret })).unwrap();
        assert!(found(&json)[0].what.contains("JSON-escaped"));
        assert!(
            found("key=activation%2Fkey%2Bwith%20spaces%26%22quotes%22")[0]
                .what
                .contains("percent-encoded")
        );
        assert!(found(&STANDARD.encode("something else entirely")).is_empty());
    }

    #[test]
    fn what_terraform_marks_sensitive_is_masked_and_nothing_else() {
        let secrets = vec!["Sup3rS3cretValue".to_string()];
        let state = json!({"resources": [{"instances": [{
            "attributes": {"registration": [{"activation_key": "Sup3rS3cretValue"}], "name": "n"},
            "sensitive_attributes": [[{"type": "get_attr", "value": "registration"},
                {"type": "index", "value": {"value": 0, "type": "number"}},
                {"type": "get_attr", "value": "activation_key"}]]
        }]}]});
        assert!(in_terraform_json(&state, &secrets, "s").is_empty());
        let leaky = json!({"resources": [{"instances": [{
            "attributes": {"name": "Sup3rS3cretValue"}, "sensitive_attributes": []
        }]}]});
        assert_eq!(in_terraform_json(&leaky, &secrets, "s").len(), 1);
        let show = json!({"values": {"root_module": {"resources": [{
            "values": {"token": "Sup3rS3cretValue", "id": "x"},
            "sensitive_values": {"token": true}
        }]}}, "outputs": {"o": {"sensitive": true, "value": "Sup3rS3cretValue"}}});
        assert!(in_terraform_json(&show, &secrets, "s").is_empty());
        let plan = json!({"resource_changes": [{"change": {
            "after": {"p": "Sup3rS3cretValue"}, "after_sensitive": {"p": true},
            "before": null, "before_sensitive": false}}],
            "variables": {"v": {"value": "Sup3rS3cretValue"}},
            "configuration": {"root_module": {"variables": {"v": {"sensitive": true}}}}});
        assert!(in_terraform_json(&plan, &secrets, "s").is_empty());
        // A replacement: planned_values forgets the mark, resource_changes has it.
        let replace = json!({
            "planned_values": {"root_module": {"resources": [{"address": "x.y",
                "values": {"c": {"k": "Sup3rS3cretValue"}}, "sensitive_values": {"c": {}}}]}},
            "resource_changes": [{"address": "x.y", "change": {"after": {"c": {"k": "Sup3rS3cretValue"}},
                "after_sensitive": {"c": {"k": true}}}}],
            "configuration": {"root_module": {"resources": [{"expressions": {"c": {"constant_value": {"k": "Sup3rS3cretValue"}}}}]}}
        });
        assert!(in_terraform_json(&replace, &secrets, "s").is_empty());
    }
}
