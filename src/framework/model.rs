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
    serde_json::from_value(v.to_serde()).map_err(|e| {
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
    json::value_from_serde(&j, ty).map_err(|e| {
        Diagnostic::error(
            "Internal error",
            format!("model does not fit the schema: {e}"),
        )
        .at(e.path)
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
