//! RHEL Marketplace naming: from a selector (RHEL version, architecture,
//! Hyper-V generation, partitioning, variant, billing) to the offer and SKU
//! Red Hat publishes on Azure, following the published patterns
//! (`9-lvm-gen2`, `96-gen2`, `9_6`, `9_6-arm64`, `96sapha-gen2`,
//! `rhel-lvm96-gen2`, ...). Also the pure function
//! `provider::rhelazure::rhel_marketplace_sku`.

use crate::attr_name;
use crate::framework::{model, Function, FunctionError, FunctionSignature, Parameter, Type, Value};

/// A selector as users write it: the function's argument, and the same
/// attributes of the `rhelazure_marketplace_image` data source.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
#[serde(default)]
pub struct SelectorArgs {
    /// `9.6` written as a number reads as "9.6".
    #[serde(deserialize_with = "string_or_number")]
    pub rhel_version: Option<String>,
    pub architecture: Option<String>,
    pub hyper_v_generation: Option<String>,
    pub partitioning: Option<String>,
    pub variant: Option<String>,
    pub billing: Option<String>,
}

fn string_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    use serde::Deserialize;
    Ok(match Option::<serde_json::Value>::deserialize(d)? {
        Some(serde_json::Value::String(s)) => Some(s),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        Some(other) => {
            return Err(serde::de::Error::custom(format!(
                "rhel_version must be a string such as \"9.6\", not {other}"
            )))
        }
        None => None,
    })
}

/// What the function returns.
#[derive(serde::Serialize)]
struct OfferSku {
    offer: String,
    sku: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    pub major: u32,
    pub minor: Option<u32>,
    pub arm64: bool,
    pub gen2: bool,
    pub raw: bool,
    pub variant: String,
    pub byos: bool,
}

/// What is wrong with a selector, and which attribute says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectorError {
    pub attr: &'static str,
    pub message: String,
}

fn err(attr: &'static str, message: impl Into<String>) -> SelectorError {
    SelectorError {
        attr,
        message: message.into(),
    }
}

pub const VARIANTS: [&str; 4] = ["base", "ha", "sap-apps", "sap-ha"];

impl Selector {
    /// From the selector's strings; `None` means the default.
    pub fn parse(
        rhel_version: &str,
        architecture: Option<&str>,
        generation: Option<&str>,
        partitioning: Option<&str>,
        variant: Option<&str>,
        billing: Option<&str>,
    ) -> Result<Selector, SelectorError> {
        let (maj, min) = match rhel_version.split_once('.') {
            Some((a, b)) => (a, Some(b)),
            None => (rhel_version, None),
        };
        let major: u32 = maj.parse().ok().filter(|m| [8, 9, 10].contains(m)).ok_or_else(|| {
            err(attr_name!(SelectorArgs.rhel_version), format!("RHEL {rhel_version:?} is not published on Azure by Red Hat: use 8, 9 or 10, optionally with a minor version such as \"9.6\""))
        })?;
        let minor = match min {
            None => None,
            Some(m) => Some(m.parse::<u32>().ok().filter(|m| *m <= 10).ok_or_else(|| {
                err(
                    attr_name!(SelectorArgs.rhel_version),
                    format!("{rhel_version:?} has no valid minor version (such as \"9.6\")"),
                )
            })?),
        };
        let arm64 = match architecture.unwrap_or("x64") {
            "x64" => false,
            "arm64" => true,
            other => {
                return Err(err(
                    attr_name!(SelectorArgs.architecture),
                    format!("architecture must be \"x64\" or \"arm64\"; got {other:?}"),
                ))
            }
        };
        let gen2 = match generation.unwrap_or("V2") {
            "V2" => true,
            "V1" => false,
            other => {
                return Err(err(
                    attr_name!(SelectorArgs.hyper_v_generation),
                    format!("hyper_v_generation must be \"V1\" or \"V2\"; got {other:?}"),
                ))
            }
        };
        let raw = match partitioning.unwrap_or("lvm") {
            "lvm" => false,
            "raw" => true,
            other => {
                return Err(err(
                    attr_name!(SelectorArgs.partitioning),
                    format!("partitioning must be \"lvm\" or \"raw\"; got {other:?}"),
                ))
            }
        };
        let variant = variant.unwrap_or("base").to_string();
        if !VARIANTS.contains(&variant.as_str()) {
            return Err(err(
                attr_name!(SelectorArgs.variant),
                format!("variant must be one of base, ha, sap-apps, sap-ha; got {variant:?}"),
            ));
        }
        let byos = match billing.unwrap_or("payg") {
            "payg" => false,
            "byos" => true,
            other => {
                return Err(err(
                    attr_name!(SelectorArgs.billing),
                    format!("billing must be \"payg\" or \"byos\"; got {other:?}"),
                ))
            }
        };
        Ok(Selector {
            major,
            minor,
            arm64,
            gen2,
            raw,
            variant,
            byos,
        })
    }

    pub fn offer(&self) -> &'static str {
        match (self.byos, self.variant.as_str(), self.arm64, self.raw) {
            (true, ..) => "rhel-byos",
            (false, "ha", ..) => "RHEL-HA",
            (false, "sap-apps", ..) => "RHEL-SAP-APPS",
            (false, "sap-ha", ..) => "RHEL-SAP-HA",
            (false, _, true, _) => "rhel-arm64",
            (false, _, false, true) => "rhel-raw",
            _ => "RHEL",
        }
    }

    pub fn sku(&self) -> Result<String, SelectorError> {
        let (maj, gen2) = (self.major, self.gen2);
        let need_minor = |what: &str| {
            err(attr_name!(SelectorArgs.rhel_version), format!("{what} images are published per minor release: give rhel_version as \"{maj}.N\""))
        };
        if self.byos {
            if self.variant != "base" || self.arm64 {
                return Err(err(
                    attr_name!(SelectorArgs.billing),
                    "bring-your-own-subscription gold images (rhel-byos) are x64 base images only",
                ));
            }
            let kind = if self.raw { "raw" } else { "lvm" };
            let minor = self.minor.map(|m| m.to_string()).unwrap_or_default();
            return Ok(format!(
                "rhel-{kind}{maj}{minor}{}",
                if gen2 { "-gen2" } else { "" }
            ));
        }
        match self.variant.as_str() {
            "ha" => {
                if self.arm64 {
                    return Err(err(
                        attr_name!(SelectorArgs.architecture),
                        "RHEL-HA images are x64 only",
                    ));
                }
                let m = self
                    .minor
                    .ok_or_else(|| need_minor("RHEL for High Availability"))?;
                Ok(format!("{maj}_{m}{}", if gen2 { "-gen2" } else { "" }))
            }
            "sap-apps" | "sap-ha" => {
                if !gen2 || self.arm64 {
                    return Err(err(
                        attr_name!(SelectorArgs.hyper_v_generation),
                        "RHEL for SAP images are x64, Hyper-V generation V2 only",
                    ));
                }
                let m = self.minor.ok_or_else(|| need_minor("RHEL for SAP"))?;
                Ok(format!(
                    "{maj}{m}{}-gen2",
                    if self.variant == "sap-apps" {
                        "sapapps"
                    } else {
                        "sapha"
                    }
                ))
            }
            _ if self.arm64 => {
                if !gen2 {
                    return Err(err(
                        attr_name!(SelectorArgs.hyper_v_generation),
                        "arm64 images are Hyper-V generation V2 only",
                    ));
                }
                let m = self.minor.ok_or_else(|| need_minor("arm64"))?;
                Ok(format!("{maj}_{m}-arm64"))
            }
            _ => {
                let family = if self.raw { "raw" } else { "lvm" };
                Ok(match (self.minor, gen2) {
                    (None, true) => format!("{maj}-{family}-gen2"),
                    (None, false) => format!("{maj}-{family}"),
                    (Some(m), true) => format!("{maj}{m}-gen2"),
                    (Some(m), false) => format!("{maj}_{m}"),
                })
            }
        }
    }
}

/// `provider::rhelazure::rhel_marketplace_sku({ rhel_version = "9.6", ... })`.
pub struct RhelMarketplaceSku;

impl Function for RhelMarketplaceSku {
    fn name(&self) -> &'static str {
        "rhel_marketplace_sku"
    }

    fn signature(&self) -> FunctionSignature {
        FunctionSignature {
            parameters: vec![Parameter {
                name: "selector".into(),
                ty: Type::Dynamic,
                allow_null: false,
                allow_unknown: false,
                description: "An object with `rhel_version` (\"9\", \"9.6\", \"10\") and optionally `architecture` (x64, arm64), \
                              `hyper_v_generation` (V1, V2; default V2), `partitioning` (lvm, raw), `variant` (base, ha, sap-apps, \
                              sap-ha) and `billing` (payg, byos)."
                    .into(),
            }],
            variadic: None,
            return_type: Type::object([("offer", Type::String), ("sku", Type::String)]),
            summary: "The RHEL Marketplace offer and SKU for a selector".into(),
            description: "Maps a RHEL selector to the offer and SKU names Red Hat publishes on Azure, without calling Azure \
                          (use the `rhelazure_marketplace_image` data source to check that the image exists in a region)."
                .into(),
            deprecation: None,
        }
    }

    fn call(&self, args: &[Value]) -> Result<Value, FunctionError> {
        let fail = |text: String| FunctionError {
            text,
            argument: Some(0),
        };
        let sel: SelectorArgs = args
            .first()
            .map(model::decode)
            .transpose()
            .map_err(|_| {
                fail("selector must be an object whose attributes are strings, such as { rhel_version = \"9.6\" }.".into())
            })?
            .unwrap_or_default();
        let version = sel.rhel_version.clone().ok_or_else(|| {
            fail("selector.rhel_version is required, such as \"9\" or \"9.6\".".into())
        })?;
        let parsed = Selector::parse(
            &version,
            sel.architecture.as_deref(),
            sel.hyper_v_generation.as_deref(),
            sel.partitioning.as_deref(),
            sel.variant.as_deref(),
            sel.billing.as_deref(),
        )
        .map_err(|e| fail(format!("selector.{}: {}.", e.attr, e.message)))?;
        let sku = parsed
            .sku()
            .map_err(|e| fail(format!("selector.{}: {}.", e.attr, e.message)))?;
        let found = OfferSku {
            offer: parsed.offer().to_string(),
            sku,
        };
        model::encode(&found, &self.signature().return_type).map_err(|d| fail(d.detail))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_function_reads_its_selector_typed() {
        let arg = |pairs: &[(&str, Value)]| {
            Value::Object(
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.clone()))
                    .collect(),
            )
        };
        let out = RhelMarketplaceSku
            .call(&[arg(&[
                ("rhel_version", Value::from("9.6")),
                ("billing", Value::from("byos")),
                ("extra", Value::from("ignored")),
            ])])
            .unwrap();
        assert_eq!(out.attr("offer"), &Value::from("rhel-byos"));
        assert_eq!(out.attr("sku"), &Value::from("rhel-lvm96-gen2"));
        // A version written as a number is read as the same version.
        let n = serde_json::from_str::<serde_json::Value>("9.6").unwrap();
        let json = crate::plugin::value::json::value_from_serde(n, &Type::Number).unwrap();
        let out = RhelMarketplaceSku
            .call(&[arg(&[("rhel_version", json)])])
            .unwrap();
        assert_eq!(out.attr("sku"), &Value::from("96-gen2"));
        // A wrong attribute is named in the error.
        let e = RhelMarketplaceSku
            .call(&[arg(&[
                ("rhel_version", Value::from("9")),
                ("variant", Value::from("gaming")),
            ])])
            .unwrap_err();
        assert!(e.text.starts_with("selector.variant:"), "{}", e.text);
        let e = RhelMarketplaceSku
            .call(&[arg(&[("rhel_version", Value::Bool(true))])])
            .unwrap_err();
        assert!(
            e.text
                .contains("must be an object whose attributes are strings"),
            "{}",
            e.text
        );
    }

    fn sku(
        v: &str,
        arch: &str,
        gen: &str,
        part: &str,
        variant: &str,
        billing: &str,
    ) -> Result<(String, String), String> {
        let s = Selector::parse(
            v,
            Some(arch),
            Some(gen),
            Some(part),
            Some(variant),
            Some(billing),
        )
        .map_err(|e| e.message)?;
        s.sku()
            .map(|k| (s.offer().to_string(), k))
            .map_err(|e| e.message)
    }

    #[test]
    fn published_names() {
        let ok = |v, a, g, p, var, b, offer: &str, want: &str| {
            assert_eq!(
                sku(v, a, g, p, var, b).unwrap(),
                (offer.to_string(), want.to_string()),
                "{v} {a} {g} {p} {var} {b}"
            )
        };
        ok(
            "9",
            "x64",
            "V2",
            "lvm",
            "base",
            "payg",
            "RHEL",
            "9-lvm-gen2",
        );
        ok("9", "x64", "V1", "lvm", "base", "payg", "RHEL", "9-lvm");
        ok("9.6", "x64", "V2", "lvm", "base", "payg", "RHEL", "96-gen2");
        ok("9.6", "x64", "V1", "lvm", "base", "payg", "RHEL", "9_6");
        ok(
            "10",
            "x64",
            "V2",
            "raw",
            "base",
            "payg",
            "rhel-raw",
            "10-raw-gen2",
        );
        ok(
            "9.6",
            "arm64",
            "V2",
            "lvm",
            "base",
            "payg",
            "rhel-arm64",
            "9_6-arm64",
        );
        ok(
            "9.6", "x64", "V2", "lvm", "ha", "payg", "RHEL-HA", "9_6-gen2",
        );
        ok(
            "9.6",
            "x64",
            "V2",
            "lvm",
            "sap-ha",
            "payg",
            "RHEL-SAP-HA",
            "96sapha-gen2",
        );
        ok(
            "9.6",
            "x64",
            "V2",
            "lvm",
            "sap-apps",
            "payg",
            "RHEL-SAP-APPS",
            "96sapapps-gen2",
        );
        ok(
            "9.6",
            "x64",
            "V2",
            "lvm",
            "base",
            "byos",
            "rhel-byos",
            "rhel-lvm96-gen2",
        );
        ok(
            "9.5",
            "x64",
            "V1",
            "lvm",
            "base",
            "byos",
            "rhel-byos",
            "rhel-lvm95",
        );
        ok(
            "10",
            "x64",
            "V2",
            "lvm",
            "base",
            "byos",
            "rhel-byos",
            "rhel-lvm10-gen2",
        );
    }

    #[test]
    fn impossible_selectors_say_why() {
        assert!(sku("11", "x64", "V2", "lvm", "base", "payg")
            .unwrap_err()
            .contains("8, 9 or 10"));
        assert!(sku("9", "arm64", "V2", "lvm", "base", "payg")
            .unwrap_err()
            .contains("per minor release"));
        assert!(sku("9.6", "arm64", "V1", "lvm", "base", "payg")
            .unwrap_err()
            .contains("V2 only"));
        assert!(sku("9.6", "x64", "V1", "lvm", "sap-ha", "payg")
            .unwrap_err()
            .contains("V2 only"));
        assert!(
            Selector::parse("9", Some("sparc"), None, None, None, None)
                .unwrap_err()
                .attr
                == "architecture"
        );
    }
}
