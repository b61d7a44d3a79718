//! `provider::rhelazure::parse_image_urn` and `build_image_urn`: Azure Marketplace
//! image URNs (`publisher:offer:sku:version`, e.g. `RedHat:RHEL:9-lvm-gen2:latest`)
//! to and from their parts. Pure functions: no API calls, same answer everywhere.

use crate::attr_name;
use crate::framework::{model, Function, FunctionError, FunctionSignature, Parameter, Type, Value};

const EXAMPLE: &str = "RedHat:RHEL:9-lvm-gen2:latest";

/// A URN's parts: what `parse_image_urn` returns and `build_image_urn` reads.
#[derive(Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
struct Urn<T> {
    publisher: T,
    offer: T,
    sku: T,
    version: T,
}

/// Names the fields (`attr_name!` takes a plain type name).
type UrnText = Urn<String>;

impl<T> Urn<T> {
    /// The parts with their names, in URN order.
    fn named(self) -> [(&'static str, T); 4] {
        [
            (attr_name!(UrnText.publisher), self.publisher),
            (attr_name!(UrnText.offer), self.offer),
            (attr_name!(UrnText.sku), self.sku),
            (attr_name!(UrnText.version), self.version),
        ]
    }
}

const PARTS: [&str; 4] = [
    attr_name!(UrnText.publisher),
    attr_name!(UrnText.offer),
    attr_name!(UrnText.sku),
    attr_name!(UrnText.version),
];

fn urn_object_type() -> Type {
    Type::object(PARTS.iter().map(|p| (*p, Type::String)))
}

/// Why one part of a URN is not acceptable, or `None` if it is.
fn check_part(name: &str, value: &str) -> Option<String> {
    if value.is_empty() {
        return Some(format!("the {name} is empty"));
    }
    if name == "version" {
        let numeric = value
            .split('.')
            .all(|c| !c.is_empty() && c.bytes().all(|b| b.is_ascii_digit()));
        if value != "latest" && !numeric {
            return Some(format!("the version {value:?} must be \"latest\" or numbers separated by dots (such as \"9.6.2025052113\")"));
        }
        return None;
    }
    if let Some(c) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Some(format!("the {name} {value:?} contains {c:?}; only letters, digits, '-', '_' and '.' are allowed"));
    }
    None
}

/// Splits and checks a URN.
pub fn parse_urn(urn: &str) -> Result<[String; 4], String> {
    let parts: Vec<&str> = urn.split(':').collect();
    if parts.len() != 4 {
        return Err(format!(
            "{urn:?} is not an image URN: it has {} part{}, but a URN has 4 (publisher:offer:sku:version), such as {EXAMPLE:?}.",
            parts.len(),
            if parts.len() == 1 { "" } else { "s" }
        ));
    }
    for (name, value) in PARTS.iter().zip(&parts) {
        if let Some(why) = check_part(name, value) {
            return Err(format!("{urn:?} is not an image URN: {why}."));
        }
    }
    Ok([
        parts[0].into(),
        parts[1].into(),
        parts[2].into(),
        parts[3].into(),
    ])
}

pub struct ParseImageUrn;

impl Function for ParseImageUrn {
    fn name(&self) -> &'static str {
        "parse_image_urn"
    }

    fn signature(&self) -> FunctionSignature {
        FunctionSignature {
            parameters: vec![Parameter {
                name: "urn".into(),
                ty: Type::String,
                allow_null: false,
                allow_unknown: false,
                description: format!("An image URN such as `{EXAMPLE}`."),
            }],
            variadic: None,
            return_type: urn_object_type(),
            summary: "Split an Azure Marketplace image URN into its parts".into(),
            description: "Returns an object with `publisher`, `offer`, `sku` and `version` from a URN \
                          `publisher:offer:sku:version`. Fails with a message naming the faulty part when the URN is malformed."
                .into(),
            deprecation: None,
        }
    }

    fn call(&self, args: &[Value]) -> Result<Value, FunctionError> {
        let urn = args.first().and_then(Value::as_str).ok_or(FunctionError {
            text: "urn must be a string.".into(),
            argument: Some(0),
        })?;
        let [publisher, offer, sku, version] = parse_urn(urn).map_err(|text| FunctionError {
            text,
            argument: Some(0),
        })?;
        let parts = Urn {
            publisher,
            offer,
            sku,
            version,
        };
        model::encode(&parts, &urn_object_type()).map_err(|d| FunctionError {
            text: d.detail,
            argument: None,
        })
    }
}

pub struct BuildImageUrn;

impl Function for BuildImageUrn {
    fn name(&self) -> &'static str {
        "build_image_urn"
    }

    fn signature(&self) -> FunctionSignature {
        FunctionSignature {
            parameters: vec![Parameter {
                name: "image".into(),
                // Dynamic, so `version` can be left out and a whole
                // `rhelazure_marketplace_image` data source object can be passed.
                ty: Type::Dynamic,
                allow_null: false,
                allow_unknown: false,
                description: "An object with `publisher`, `offer`, `sku` and optionally `version` (default `latest`). \
                              Other attributes are ignored."
                    .into(),
            }],
            variadic: None,
            return_type: Type::String,
            summary: "Build an Azure Marketplace image URN from its parts".into(),
            description: "The inverse of `parse_image_urn`: joins `publisher`, `offer`, `sku` and `version` with colons, \
                          checking each part."
                .into(),
            deprecation: None,
        }
    }

    fn call(&self, args: &[Value]) -> Result<Value, FunctionError> {
        let fail = |text: String| FunctionError {
            text,
            argument: Some(0),
        };
        let given =
            match args.first() {
                Some(v @ (Value::Object(m) | Value::Map(m))) if !m.is_empty() => v,
                _ => return Err(fail(
                    "image must be an object with publisher, offer, sku and optionally version."
                        .into(),
                )),
            };
        // Any other attributes are ignored; the parts may be of any type here.
        let given: Urn<Option<serde_json::Value>> =
            model::decode(given).map_err(|d| fail(d.detail))?;
        let mut out = Vec::with_capacity(4);
        for (name, part) in given.named() {
            let part = match part {
                Some(serde_json::Value::String(s)) => s,
                None | Some(serde_json::Value::Null) if name == attr_name!(UrnText.version) => {
                    "latest".to_string()
                }
                None | Some(serde_json::Value::Null) => {
                    return Err(fail(format!("image.{name} is required.")))
                }
                Some(other) => {
                    let kind = match other {
                        serde_json::Value::Bool(_) => "bool",
                        serde_json::Value::Number(_) => "number",
                        serde_json::Value::Array(_) => "list",
                        _ => "object",
                    };
                    return Err(fail(format!(
                        "image.{name} must be a string, not a {kind}."
                    )));
                }
            };
            if let Some(why) = check_part(name, &part) {
                return Err(fail(format!("image.{name}: {why}.")));
            }
            out.push(part);
        }
        Ok(Value::String(out.join(":")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn parses_real_urns() {
        let v = ParseImageUrn
            .call(&["RedHat:rhel-byos:rhel-lvm96-gen2:9.6.2025052113".into()])
            .unwrap();
        assert_eq!(v.attr("offer"), &Value::from("rhel-byos"));
        assert_eq!(v.attr("version"), &Value::from("9.6.2025052113"));
    }

    #[test]
    fn bad_urns_say_what_is_wrong() {
        let e = ParseImageUrn.call(&["RedHat:RHEL:9".into()]).unwrap_err();
        assert!(e.text.contains("has 3 parts"), "{}", e.text);
        assert_eq!(e.argument, Some(0));
        assert!(ParseImageUrn
            .call(&["RedHat:RHEL:9 x:latest".into()])
            .unwrap_err()
            .text
            .contains("sku"));
        assert!(ParseImageUrn
            .call(&["RedHat:RHEL:9:newest".into()])
            .unwrap_err()
            .text
            .contains("version"));
        assert!(ParseImageUrn
            .call(&["RedHat::9:latest".into()])
            .unwrap_err()
            .text
            .contains("offer is empty"));
    }

    #[test]
    fn build_is_the_inverse_and_defaults_version() {
        let parts = ParseImageUrn
            .call(&["RedHat:RHEL:9-lvm-gen2:9.6.1".into()])
            .unwrap();
        assert_eq!(
            BuildImageUrn.call(&[parts]).unwrap(),
            Value::from("RedHat:RHEL:9-lvm-gen2:9.6.1")
        );
        let mut m = BTreeMap::new();
        m.insert("publisher".to_string(), Value::from("RedHat"));
        m.insert("offer".to_string(), Value::from("RHEL"));
        m.insert("sku".to_string(), Value::from("10-lvm-gen2"));
        m.insert("plan".to_string(), Value::Null);
        assert_eq!(
            BuildImageUrn.call(&[Value::Object(m.clone())]).unwrap(),
            Value::from("RedHat:RHEL:10-lvm-gen2:latest")
        );
        m.remove("sku");
        assert!(BuildImageUrn
            .call(&[Value::Object(m)])
            .unwrap_err()
            .text
            .contains("image.sku is required"));
    }
}
