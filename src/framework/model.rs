//! Typed models over values, through serde: `#[derive(Deserialize)]` structs
//! read from a (known) value, and serialize back into one of a schema's type.
//! Unknown values read as null, so decode only what is known (apply time), or
//! check `Value::is_fully_known` first.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::plugin::diag::Diagnostic;
use crate::plugin::value::{json, Type, Value};

/// Reads a typed model from a value.
pub fn decode<T: DeserializeOwned>(v: &Value) -> Result<T, Diagnostic> {
    T::deserialize(v).map_err(|e| {
        Diagnostic::error(
            "Unexpected value shape",
            format!("The provider could not read a value: {e}. Please report this."),
        )
    })
}

/// Writes a typed model as a value of `ty`; attributes the model lacks are null.
pub fn encode<T: Serialize>(model: &T, ty: &Type) -> Result<Value, Diagnostic> {
    let j = serde_json::to_value(model).map_err(|e| {
        Diagnostic::error(
            "Internal error",
            format!("could not serialize a model: {e}"),
        )
    })?;
    json::value_from_serde(j, ty).map_err(|e| {
        Diagnostic::error(
            "Internal error",
            format!("model does not fit the schema: {e}"),
        )
        .at(e.path)
    })
}

/// A plan, configuration or state read into a resource's model; what the
/// model cannot read (unknown values, which apply never sees) reads as unset.
pub fn read<T: DeserializeOwned + Default>(v: &Value) -> T {
    decode(v).unwrap_or_default()
}

/// A resource's model written as a value of its schema's type `ty` (from
/// [`schema_type!`]). Each model is held to its schema by a unit test, so
/// this does not fail; if it ever did, the reason is logged (with the
/// attribute) rather than lost, and the value is null.
pub fn write<T: Serialize>(model: &T, ty: &Type) -> Value {
    encode(model, ty).unwrap_or_else(|d| {
        tracing::error!(target: "rhelazure.framework", summary = %d.summary, detail = %d.detail, path = ?d.path, "a model does not fit its schema");
        Value::Null
    })
}

/// The value type of a schema, built on first use and kept for the process:
/// `schema_type!(Image.schema())`. Building a schema (descriptions,
/// validators) to learn its type for every state written was a few percent
/// of the provider's CPU per resource.
#[macro_export]
macro_rules! schema_type {
    ($schema:expr) => {{
        static TYPE: std::sync::OnceLock<$crate::framework::Type> = std::sync::OnceLock::new();
        TYPE.get_or_init(|| $schema.value_type())
    }};
}

/// The name of a typed model's field, which is its attribute's name (each
/// model is held to its schema by `mismatch`): `attr_name!(Model.size)` is
/// `"size"`, and a misspelt field does not compile. Plan-time code, which
/// works on unknown-aware values rather than models, names attributes so.
#[macro_export]
macro_rules! attr_name {
    ($model:ident . $field:ident) => {{
        let _ = |m: &$model| {
            let _ = &m.$field;
        };
        stringify!($field)
    }};
}

/// A diagnostic's attribute path through typed models' fields:
/// `attr_path!(Model.registration, Registration.activation_key)`.
#[macro_export]
macro_rules! attr_path {
    ($($model:ident . $field:ident),+ $(,)?) => {
        $crate::framework::AttributePath::attrs(&[$($crate::attr_name!($model . $field)),+])
    };
}

/// How a model's fields differ from a schema's top-level attributes and
/// blocks; None when they are the same set. Each typed resource checks its
/// model with this in a unit test, so schema and model cannot drift apart.
pub fn mismatch<T: Serialize + Default>(
    schema: &crate::framework::ResourceSchema,
) -> Option<String> {
    mismatch_at::<T>(schema, &[])
}

/// As `mismatch`, for the model of a nested attribute or block, found by its
/// names from the top (`&["registration"]`, `&["customizations", "users"]`).
pub fn mismatch_at<T: Serialize + Default>(
    schema: &crate::framework::ResourceSchema,
    path: &[&str],
) -> Option<String> {
    use crate::framework::{Attr, BlockDef};
    let (mut attrs, mut blocks): (&[Attr], &[BlockDef]) = (&schema.attrs, &schema.blocks);
    for step in path {
        if let Some(a) = attrs.iter().find(|a| a.name() == *step) {
            (attrs, blocks) = (&a.nested, &[]);
        } else if let Some(b) = blocks.iter().find(|b| b.type_name == *step) {
            (attrs, blocks) = (&b.attrs, &b.blocks);
        } else {
            return Some(format!("the schema has nothing at {path:?}"));
        }
    }
    let fields: std::collections::BTreeSet<String> = match serde_json::to_value(T::default()) {
        Ok(serde_json::Value::Object(m)) => m.into_iter().map(|(k, _)| k).collect(),
        _ => return Some("the model does not serialize as an object".into()),
    };
    let declared: std::collections::BTreeSet<String> = attrs
        .iter()
        .map(|a| a.name().to_string())
        .chain(blocks.iter().map(|b| b.type_name.clone()))
        .collect();
    let only_model: Vec<_> = fields.difference(&declared).collect();
    let only_schema: Vec<_> = declared.difference(&fields).collect();
    (!only_model.is_empty() || !only_schema.is_empty()).then(|| {
        format!("at {path:?}: fields only in the model: {only_model:?}; attributes only in the schema: {only_schema:?}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, Serialize, PartialEq)]
    struct Urn {
        publisher: String,
        version: Option<String>,
        size_gb: Option<u64>,
    }

    #[test]
    fn a_model_and_a_schema_that_differ_are_told_apart() {
        use crate::framework::{timeouts, Attr, ResourceSchema};
        let schema = ResourceSchema::new(
            "",
            vec![
                Attr::string("publisher").required(),
                Attr::string("version").optional(),
            ],
        )
        .blocks(vec![timeouts::block(&["create"])]);
        #[derive(Default, Serialize)]
        struct Same {
            publisher: Option<String>,
            version: Option<String>,
            timeouts: Option<serde_json::Value>,
        }
        #[derive(Default, Serialize)]
        struct Misspelt {
            publisher: Option<String>,
            versoin: Option<String>,
            timeouts: Option<serde_json::Value>,
        }
        assert_eq!(mismatch::<Same>(&schema), None);
        // Nested attributes and blocks are checked where they are.
        let nested = ResourceSchema::new(
            "",
            vec![Attr::nested(
                "disk",
                crate::framework::ObjectNesting::Single,
                vec![Attr::number("size_gb").optional()],
            )],
        )
        .blocks(vec![timeouts::block(&["create"])]);
        #[derive(Default, Serialize)]
        struct Disk {
            size_gb: Option<u64>,
        }
        #[derive(Default, Serialize)]
        struct MisspeltDisk {
            sizegb: Option<u64>,
        }
        #[derive(Default, Serialize)]
        struct Timeouts {
            create: Option<String>,
        }
        assert_eq!(mismatch_at::<Disk>(&nested, &["disk"]), None);
        assert_eq!(mismatch_at::<Timeouts>(&nested, &["timeouts"]), None);
        let why = mismatch_at::<MisspeltDisk>(&nested, &["disk"]).unwrap();
        assert!(why.contains("sizegb") && why.contains("size_gb"), "{why}");
        assert!(mismatch_at::<Disk>(&nested, &["disks"]).is_some());
        let why = mismatch::<Misspelt>(&schema).unwrap();
        assert!(why.contains("versoin") && why.contains("version"), "{why}");
    }

    #[test]
    fn round_trip_through_a_schema_type() {
        let ty = Type::object([
            ("publisher", Type::String),
            ("version", Type::String),
            ("size_gb", Type::Number),
            ("extra", Type::Bool),
        ]);
        let m = Urn {
            publisher: "RedHat".into(),
            version: None,
            size_gb: Some(18446744073709551615),
        };
        let v = encode(&m, &ty).unwrap();
        assert_eq!(v.attr("extra"), &Value::Null);
        assert_eq!(
            v.attr("size_gb").as_number().unwrap().to_u64(),
            Some(u64::MAX)
        );
        assert_eq!(decode::<Urn>(&v).unwrap(), m);
    }
}
