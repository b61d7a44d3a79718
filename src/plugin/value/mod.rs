//! Terraform's values, independent of any encoding.
//!
//! `Type` mirrors cty's type system (the `type` bytes of a schema attribute are
//! its JSON form) and `Value` one cty value, including null and unknown.
//! Values are untyped on purpose: the schema says what type a slot has, and the
//! codecs in [`msgpack`] and [`json`] read and write them with it, the way
//! Terraform's own `DynamicValue` handling does.

mod de;
mod json_codec;
mod msgpack_codec;
mod number;

pub use number::{Number, NumberError};

use std::collections::{BTreeMap, BTreeSet};

use super::diag::{AttributePath, PathStep, Trail};

/// Decoders and encoders between `Value` and msgpack.
pub mod msgpack {
    pub use super::msgpack_codec::{decode, encode};
}

/// Decoders and encoders between `Value` and JSON (state files, `RawState`).
pub mod json {
    pub use super::json_codec::{decode, decode_lenient, encode, value_from_serde};
}

/// Deepest nesting accepted from the wire; deeper input is refused, not recursed into.
pub(crate) const MAX_DEPTH: usize = 64;

/// A cty type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Type {
    Bool,
    Number,
    String,
    /// Any type; values travel with their concrete type beside them.
    Dynamic,
    List(Box<Type>),
    Set(Box<Type>),
    Map(Box<Type>),
    Object(ObjectType),
    Tuple(Vec<Type>),
}

/// An object type: attribute types plus the set of attributes that may be omitted
/// (cty's `optional()` modifier, used in function parameter types).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObjectType {
    pub attrs: BTreeMap<String, Type>,
    pub optional: BTreeSet<String>,
}

/// Why a type constraint could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid type constraint: {0}")]
pub struct TypeError(pub String);

impl Type {
    pub fn list(t: Type) -> Type {
        Type::List(Box::new(t))
    }
    pub fn set(t: Type) -> Type {
        Type::Set(Box::new(t))
    }
    pub fn map(t: Type) -> Type {
        Type::Map(Box::new(t))
    }
    pub fn object<I: IntoIterator<Item = (S, Type)>, S: Into<String>>(attrs: I) -> Type {
        Type::Object(ObjectType {
            attrs: attrs.into_iter().map(|(k, v)| (k.into(), v)).collect(),
            optional: BTreeSet::new(),
        })
    }

    /// The JSON form Terraform uses in schemas: `"string"`, `["list","string"]`, ...
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::{json, Value as J};
        match self {
            Type::Bool => json!("bool"),
            Type::Number => json!("number"),
            Type::String => json!("string"),
            Type::Dynamic => json!("dynamic"),
            Type::List(t) => json!(["list", t.to_json()]),
            Type::Set(t) => json!(["set", t.to_json()]),
            Type::Map(t) => json!(["map", t.to_json()]),
            Type::Tuple(ts) => json!(["tuple", ts.iter().map(Type::to_json).collect::<Vec<_>>()]),
            Type::Object(o) => {
                let attrs: serde_json::Map<String, J> = o
                    .attrs
                    .iter()
                    .map(|(k, t)| (k.clone(), t.to_json()))
                    .collect();
                if o.optional.is_empty() {
                    json!(["object", attrs])
                } else {
                    json!(["object", attrs, o.optional.iter().collect::<Vec<_>>()])
                }
            }
        }
    }

    /// The type as a Terraform type constraint: `string`, `list(string)`,
    /// `object({ name = string, port = optional(number) })`, `any` for dynamic.
    pub fn to_constraint(&self) -> String {
        match self {
            Type::Bool => "bool".into(),
            Type::Number => "number".into(),
            Type::String => "string".into(),
            Type::Dynamic => "any".into(),
            Type::List(t) => format!("list({})", t.to_constraint()),
            Type::Set(t) => format!("set({})", t.to_constraint()),
            Type::Map(t) => format!("map({})", t.to_constraint()),
            Type::Tuple(ts) => format!(
                "tuple([{}])",
                ts.iter()
                    .map(Type::to_constraint)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Type::Object(o) => {
                let attrs: Vec<String> = o
                    .attrs
                    .iter()
                    .map(|(k, t)| {
                        if o.optional.contains(k) {
                            format!("{k} = optional({})", t.to_constraint())
                        } else {
                            format!("{k} = {}", t.to_constraint())
                        }
                    })
                    .collect();
                format!("object({{ {} }})", attrs.join(", "))
            }
        }
    }

    /// Compact JSON bytes, as in `Schema.Attribute.type`.
    pub fn to_json_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(&self.to_json()).expect("a JSON value always serializes")
    }

    pub fn from_json_bytes(bytes: &[u8]) -> Result<Type, TypeError> {
        let v: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| TypeError(e.to_string()))?;
        Type::from_json(&v)
    }

    pub fn from_json(v: &serde_json::Value) -> Result<Type, TypeError> {
        Self::from_json_depth(v, 0)
    }

    fn from_json_depth(v: &serde_json::Value, depth: usize) -> Result<Type, TypeError> {
        use serde_json::Value as J;
        if depth > MAX_DEPTH {
            return Err(TypeError("type nested too deeply".into()));
        }
        match v {
            J::String(s) => match s.as_str() {
                "bool" => Ok(Type::Bool),
                "number" => Ok(Type::Number),
                "string" => Ok(Type::String),
                "dynamic" => Ok(Type::Dynamic),
                other => Err(TypeError(format!("unknown primitive type {other:?}"))),
            },
            J::Array(parts) => {
                let kind = parts
                    .first()
                    .and_then(J::as_str)
                    .ok_or_else(|| TypeError("a complex type starts with its kind".into()))?;
                let arg = parts
                    .get(1)
                    .ok_or_else(|| TypeError(format!("{kind} needs an argument")))?;
                let elem = || Self::from_json_depth(arg, depth + 1).map(Box::new);
                match (kind, parts.len()) {
                    ("list", 2) => Ok(Type::List(elem()?)),
                    ("set", 2) => Ok(Type::Set(elem()?)),
                    ("map", 2) => Ok(Type::Map(elem()?)),
                    ("tuple", 2) => {
                        let items = arg
                            .as_array()
                            .ok_or_else(|| TypeError("tuple needs an array".into()))?;
                        items
                            .iter()
                            .map(|t| Self::from_json_depth(t, depth + 1))
                            .collect::<Result<_, _>>()
                            .map(Type::Tuple)
                    }
                    ("object", 2 | 3) => {
                        let attrs = arg
                            .as_object()
                            .ok_or_else(|| TypeError("object needs a map of attributes".into()))?;
                        let mut o = ObjectType::default();
                        for (k, t) in attrs {
                            o.attrs
                                .insert(k.clone(), Self::from_json_depth(t, depth + 1)?);
                        }
                        if let Some(opt) = parts.get(2) {
                            let names = opt.as_array().ok_or_else(|| {
                                TypeError("optional attributes must be a list".into())
                            })?;
                            for n in names {
                                let n = n.as_str().ok_or_else(|| {
                                    TypeError("optional attribute names are strings".into())
                                })?;
                                if !o.attrs.contains_key(n) {
                                    return Err(TypeError(format!(
                                        "optional attribute {n:?} is not in the object"
                                    )));
                                }
                                o.optional.insert(n.to_string());
                            }
                        }
                        Ok(Type::Object(o))
                    }
                    _ => Err(TypeError(format!(
                        "unknown or malformed type kind {kind:?}"
                    ))),
                }
            }
            _ => Err(TypeError("a type is a string or an array".into())),
        }
    }
}

/// What Terraform knows about a value it does not know yet (protocol "refinements").
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Refinements {
    /// As on the wire: `Some(true)` definitely null, `Some(false)` definitely not null.
    pub nullness: Option<bool>,
    pub string_prefix: Option<String>,
    /// Bound and whether it is inclusive.
    pub number_lower: Option<(Number, bool)>,
    pub number_upper: Option<(Number, bool)>,
    pub length_lower: Option<u64>,
    pub length_upper: Option<u64>,
}

impl Refinements {
    pub fn is_empty(&self) -> bool {
        *self == Refinements::default()
    }
}

/// One value of any cty type.
///
/// Dynamic-typed slots hold the concrete value; its type is inferred again when
/// it is encoded (see [`Value::infer_type`]).
#[derive(Clone, Debug, Default)]
pub enum Value {
    #[default]
    Null,
    /// Not known until apply; refinements narrow it down.
    Unknown(Option<Box<Refinements>>),
    Bool(bool),
    Number(Number),
    String(String),
    List(Vec<Value>),
    /// Unordered; equality ignores order.
    Set(Vec<Value>),
    Tuple(Vec<Value>),
    Map(BTreeMap<String, Value>),
    Object(BTreeMap<String, Value>),
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        use Value::*;
        match (self, other) {
            (Null, Null) => true,
            (Unknown(a), Unknown(b)) => a == b,
            (Bool(a), Bool(b)) => a == b,
            (Number(a), Number(b)) => a == b,
            (String(a), String(b)) => a == b,
            (List(a), List(b)) | (Tuple(a), Tuple(b)) => a == b,
            (Set(a), Set(b)) => {
                // Multiset comparison: sets from Terraform may arrive in any order.
                if a.len() != b.len() {
                    return false;
                }
                let mut used = vec![false; b.len()];
                a.iter().all(
                    |x| match b.iter().enumerate().find(|(i, y)| !used[*i] && x == *y) {
                        Some((i, _)) => {
                            used[i] = true;
                            true
                        }
                        None => false,
                    },
                )
            }
            (Map(a), Map(b)) | (Object(a), Object(b)) => a == b,
            _ => false,
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_string())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<i64> for Value {
    fn from(n: i64) -> Self {
        Value::Number(Number::from(n))
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(o: Option<T>) -> Self {
        o.map_or(Value::Null, Into::into)
    }
}

impl Value {
    pub fn unknown() -> Value {
        Value::Unknown(None)
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    pub fn is_unknown(&self) -> bool {
        matches!(self, Value::Unknown(_))
    }

    /// This value with every unknown inside it made null: what a failed apply
    /// returns for what it never learned (Terraform accepts no unknown after apply).
    pub fn unknowns_to_null(self) -> Value {
        match self {
            Value::Unknown(_) => Value::Null,
            Value::List(v) => Value::List(v.into_iter().map(Value::unknowns_to_null).collect()),
            Value::Set(v) => Value::Set(v.into_iter().map(Value::unknowns_to_null).collect()),
            Value::Tuple(v) => Value::Tuple(v.into_iter().map(Value::unknowns_to_null).collect()),
            Value::Map(m) => Value::Map(
                m.into_iter()
                    .map(|(k, v)| (k, v.unknowns_to_null()))
                    .collect(),
            ),
            Value::Object(m) => Value::Object(
                m.into_iter()
                    .map(|(k, v)| (k, v.unknowns_to_null()))
                    .collect(),
            ),
            known => known,
        }
    }

    /// True when neither this value nor anything inside it is unknown.
    pub fn is_fully_known(&self) -> bool {
        match self {
            Value::Unknown(_) => false,
            Value::List(v) | Value::Set(v) | Value::Tuple(v) => v.iter().all(Value::is_fully_known),
            Value::Map(m) | Value::Object(m) => m.values().all(Value::is_fully_known),
            _ => true,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_number(&self) -> Option<&Number> {
        match self {
            Value::Number(n) => Some(n),
            _ => None,
        }
    }

    /// Attributes of an object (or entries of a map).
    pub fn as_object(&self) -> Option<&BTreeMap<String, Value>> {
        match self {
            Value::Object(m) | Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_object_mut(&mut self) -> Option<&mut BTreeMap<String, Value>> {
        match self {
            Value::Object(m) | Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_elements(&self) -> Option<&[Value]> {
        match self {
            Value::List(v) | Value::Set(v) | Value::Tuple(v) => Some(v),
            _ => None,
        }
    }

    /// Attribute `name` of an object; `Null` when absent or when self is not an object.
    pub fn attr(&self, name: &str) -> &Value {
        static NULL: Value = Value::Null;
        self.as_object().and_then(|m| m.get(name)).unwrap_or(&NULL)
    }

    /// The value at `path`, if every step exists.
    pub fn at(&self, path: &AttributePath) -> Option<&Value> {
        let mut cur = self;
        for step in path.steps() {
            cur = match (step, cur) {
                (PathStep::Attr(n), Value::Object(m)) => m.get(n)?,
                (PathStep::Key(k), Value::Map(m)) => m.get(k)?,
                (PathStep::Index(i), Value::List(v) | Value::Tuple(v)) => {
                    v.get(usize::try_from(*i).ok()?)?
                }
                _ => return None,
            };
        }
        Some(cur)
    }

    /// A type that describes this value, for dynamic-typed slots.
    pub fn infer_type(&self) -> Type {
        fn elem(v: &[Value]) -> Type {
            v.iter()
                .find(|e| !e.is_null() && !e.is_unknown())
                .map_or(Type::Dynamic, Value::infer_type)
        }
        match self {
            Value::Null | Value::Unknown(_) => Type::Dynamic,
            Value::Bool(_) => Type::Bool,
            Value::Number(_) => Type::Number,
            Value::String(_) => Type::String,
            Value::List(v) => Type::list(elem(v)),
            Value::Set(v) => Type::set(elem(v)),
            Value::Tuple(v) => Type::Tuple(v.iter().map(Value::infer_type).collect()),
            Value::Map(m) => Type::map(elem(&m.values().cloned().collect::<Vec<_>>())),
            Value::Object(m) => Type::object(m.iter().map(|(k, v)| (k.clone(), v.infer_type()))),
        }
    }

    /// Plain JSON: unknown becomes null (callers check
    /// [`Value::is_fully_known`] first when that matters), sets become arrays.
    /// Typed models read the same without building it (`&Value` is a serde
    /// `Deserializer`, `de.rs`), which falls back to it for enums with data.
    pub fn to_serde(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Null | Value::Unknown(_) => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Number(n) => J::Number(n.to_serde()),
            Value::String(s) => J::String(s.clone()),
            Value::List(v) | Value::Set(v) | Value::Tuple(v) => {
                J::Array(v.iter().map(Value::to_serde).collect())
            }
            Value::Map(m) | Value::Object(m) => {
                J::Object(m.iter().map(|(k, v)| (k.clone(), v.to_serde())).collect())
            }
        }
    }
}

/// An error reading or writing a value, with where it happened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CodecError {
    pub path: AttributePath,
    pub message: String,
}

impl CodecError {
    pub(crate) fn new(at: &Trail<'_>, message: impl Into<String>) -> Self {
        CodecError {
            path: at.to_path(),
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests;
