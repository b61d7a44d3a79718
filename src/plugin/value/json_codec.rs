//! JSON `DynamicValue` encoding (state files, `RawState.json`, and the rare
//! request that arrives as JSON). JSON cannot express unknowns, so only known
//! values pass through here. Numbers keep every digit (serde_json with
//! `arbitrary_precision`).

use std::collections::BTreeMap;

use serde_json::Value as J;

use super::msgpack_codec::kind;
use super::{CodecError, Number, Type, Value, MAX_DEPTH};
use crate::plugin::diag::Trail;

/// Strict decode: every object attribute must be in the type.
pub fn decode(bytes: &[u8], ty: &Type) -> Result<Value, CodecError> {
    from_json(parse(bytes)?, ty, &Trail::Root, 0, false)
}

/// Lenient decode for stored state: attributes the schema no longer has are dropped,
/// missing ones become null (the shape `UpgradeResourceState` must cope with).
pub fn decode_lenient(bytes: &[u8], ty: &Type) -> Result<Value, CodecError> {
    from_json(parse(bytes)?, ty, &Trail::Root, 0, true)
}

/// A serde_json value (e.g. a typed model serialized by serde) read as `ty`, leniently.
pub fn value_from_serde(j: J, ty: &Type) -> Result<Value, CodecError> {
    from_json(j, ty, &Trail::Root, 0, true)
}

pub fn encode(value: &Value, ty: &Type) -> Result<Vec<u8>, CodecError> {
    let j = to_json(value, ty, &Trail::Root)?;
    Ok(serde_json::to_vec(&j).expect("a JSON value always serializes"))
}

fn parse(bytes: &[u8]) -> Result<J, CodecError> {
    // serde_json refuses nesting beyond 128 levels by itself.
    serde_json::from_slice(bytes)
        .map_err(|e| CodecError::new(&Trail::Root, format!("invalid JSON: {e}")))
}

/// Reads `j` as `ty`. It takes the JSON by value so that strings and keys
/// move into the result instead of being copied (models are written through
/// here, and state read).
fn from_json(
    j: J,
    ty: &Type,
    path: &Trail<'_>,
    depth: usize,
    lenient: bool,
) -> Result<Value, CodecError> {
    if depth > MAX_DEPTH {
        return Err(CodecError::new(path, "value nested too deeply"));
    }
    let number = |text: &str| {
        Number::parse(text)
            .map(Value::Number)
            .map_err(|e| CodecError::new(path, e.to_string()))
    };
    Ok(match (ty, j) {
        (_, J::Null) => Value::Null,
        (Type::Bool, J::Bool(b)) => Value::Bool(b),
        (Type::Number, J::Number(n)) => number(&n.to_string())?,
        // cty's JSON decoder accepts numbers written as strings too.
        (Type::Number, J::String(s)) => number(&s)?,
        (Type::String, J::String(s)) => Value::String(s),
        // Terraform converts primitives to string where a string is expected.
        (Type::String, J::Number(n)) => Value::String(n.to_string()),
        (Type::String, J::Bool(b)) => Value::String(b.to_string()),
        (Type::List(t) | Type::Set(t), J::Array(items)) => {
            let vals = items
                .into_iter()
                .enumerate()
                .map(|(i, x)| from_json(x, t, &path.index(i), depth + 1, lenient))
                .collect::<Result<Vec<_>, _>>()?;
            if matches!(ty, Type::Set(_)) {
                Value::Set(vals)
            } else {
                Value::List(vals)
            }
        }
        (Type::Tuple(types), J::Array(items)) => {
            if items.len() != types.len() {
                return Err(CodecError::new(
                    path,
                    format!(
                        "tuple needs {} elements, found {}",
                        types.len(),
                        items.len()
                    ),
                ));
            }
            Value::Tuple(
                items
                    .into_iter()
                    .zip(types)
                    .enumerate()
                    .map(|(i, (x, t))| from_json(x, t, &path.index(i), depth + 1, lenient))
                    .collect::<Result<_, _>>()?,
            )
        }
        (Type::Map(t), J::Object(m)) => {
            let mut out = BTreeMap::new();
            for (k, x) in m {
                let v = from_json(x, t, &path.key(&k), depth + 1, lenient)?;
                out.insert(k, v);
            }
            Value::Map(out)
        }
        (Type::Object(obj), J::Object(m)) => {
            let mut out = BTreeMap::new();
            for (k, x) in m {
                match obj.attrs.get(&k) {
                    Some(t) => {
                        let v = from_json(x, t, &path.attr(&k), depth + 1, lenient)?;
                        out.insert(k, v);
                    }
                    None if lenient => {}
                    None => {
                        return Err(CodecError::new(
                            path,
                            format!("unsupported attribute {k:?}"),
                        ))
                    }
                }
            }
            if out.len() < obj.attrs.len() {
                for name in obj.attrs.keys() {
                    out.entry(name.clone()).or_insert(Value::Null);
                }
            }
            Value::Object(out)
        }
        (Type::Dynamic, J::Object(mut m)) if m.contains_key("type") && m.contains_key("value") => {
            let (Some(t), Some(v)) = (m.remove("type"), m.remove("value")) else {
                unreachable!("both keys were just found")
            };
            let inner = Type::from_json(&t).map_err(|e| CodecError::new(path, e.to_string()))?;
            from_json(v, &inner, path, depth + 1, lenient)?
        }
        (ty, j) => {
            let what = match ty {
                Type::Bool => "bool",
                Type::Number => "number",
                Type::String => "string",
                Type::List(_) | Type::Set(_) | Type::Tuple(_) => "array",
                Type::Map(_) | Type::Object(_) => "object",
                Type::Dynamic => "{\"type\", \"value\"} object",
            };
            return Err(CodecError::new(
                path,
                format!("expected {what}, found JSON {j}"),
            ));
        }
    })
}

fn to_json(v: &Value, ty: &Type, path: &Trail<'_>) -> Result<J, CodecError> {
    let mismatch = || {
        CodecError::new(
            path,
            format!("value {} does not fit type {}", kind(v), ty.to_json()),
        )
    };
    Ok(match (v, ty) {
        (Value::Null, _) => J::Null,
        (Value::Unknown(_), _) => {
            return Err(CodecError::new(
                path,
                "unknown values cannot be written as JSON",
            ))
        }
        (_, Type::Dynamic) => {
            let inner = v.infer_type();
            serde_json::json!({ "value": to_json(v, &inner, path)?, "type": inner.to_json() })
        }
        (Value::Bool(b), Type::Bool) => J::Bool(*b),
        (Value::Number(n), Type::Number) => J::Number(n.to_serde()),
        (Value::String(s), Type::String) => J::String(s.clone()),
        (
            Value::List(items) | Value::Set(items) | Value::Tuple(items),
            Type::List(t) | Type::Set(t),
        ) => J::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, x)| to_json(x, t, &path.index(i)))
                .collect::<Result<_, _>>()?,
        ),
        (Value::Tuple(items) | Value::List(items), Type::Tuple(types))
            if items.len() == types.len() =>
        {
            J::Array(
                items
                    .iter()
                    .zip(types)
                    .enumerate()
                    .map(|(i, (x, t))| to_json(x, t, &path.index(i)))
                    .collect::<Result<_, _>>()?,
            )
        }
        (Value::Map(m) | Value::Object(m), Type::Map(t)) => J::Object(
            m.iter()
                .map(|(k, x)| Ok((k.clone(), to_json(x, t, &path.key(k))?)))
                .collect::<Result<_, CodecError>>()?,
        ),
        (Value::Object(m) | Value::Map(m), Type::Object(obj)) => {
            if let Some(extra) = m.keys().find(|k| !obj.attrs.contains_key(*k)) {
                return Err(CodecError::new(
                    path,
                    format!("attribute {extra:?} is not in the schema"),
                ));
            }
            J::Object(
                obj.attrs
                    .iter()
                    .map(|(k, t)| {
                        Ok((
                            k.clone(),
                            to_json(m.get(k).unwrap_or(&Value::Null), t, &path.attr(k))?,
                        ))
                    })
                    .collect::<Result<_, CodecError>>()?,
            )
        }
        _ => return Err(mismatch()),
    })
}
