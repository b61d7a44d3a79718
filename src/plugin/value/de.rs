//! Typed models read straight from a [`Value`]: `&Value` is a serde
//! `Deserializer`, so `T::deserialize(&value)` builds a model without first
//! copying the whole value into a `serde_json::Value` tree (which was about
//! a third of what reading a model cost).
//!
//! It reads exactly as `serde_json::from_value(value.to_serde())` does:
//! unknown reads as null, numbers are handed to `serde_json::Number` (so
//! arbitrary precision behaves the same), and what is rare in models
//! (enums with data) falls back to `serde_json`'s own deserializer.

use serde::de::value::{MapDeserializer, SeqDeserializer};
use serde::de::{Deserializer, IntoDeserializer, Visitor};
use serde::forward_to_deserialize_any;

use super::Value;

type Error = serde_json::Error;

macro_rules! numbers_as_serde_json {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            match self {
                Value::Number(n) => n.to_serde().$method(visitor),
                _ => self.deserialize_any(visitor),
            }
        }
    )*};
}

impl<'de> Deserializer<'de> for &'de Value {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self {
            Value::Null | Value::Unknown(_) => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => n.to_serde().deserialize_any(visitor),
            Value::String(s) => visitor.visit_borrowed_str(s),
            Value::List(items) | Value::Set(items) | Value::Tuple(items) => {
                let mut seq = SeqDeserializer::new(items.iter());
                let out = visitor.visit_seq(&mut seq)?;
                seq.end()?;
                Ok(out)
            }
            Value::Map(m) | Value::Object(m) => {
                let mut map = MapDeserializer::new(m.iter().map(|(k, v)| (k.as_str(), v)));
                let out = visitor.visit_map(&mut map)?;
                map.end()?;
                Ok(out)
            }
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self {
            Value::Null | Value::Unknown(_) => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self {
            Value::String(s) => visitor.visit_enum(s.as_str().into_deserializer()),
            other => other.to_serde().deserialize_enum(name, variants, visitor),
        }
    }

    numbers_as_serde_json! {
        deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
        deserialize_f32 deserialize_f64
    }

    forward_to_deserialize_any! {
        bool char str string bytes byte_buf unit unit_struct seq tuple
        tuple_struct map struct identifier ignored_any
    }
}

impl<'de> IntoDeserializer<'de, Error> for &'de Value {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Deserialize;

    use super::super::{Number, Value};

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "snake_case")]
    enum Level {
        SelfSupport,
        Premium,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Model {
        name: String,
        size_gb: Option<u64>,
        offset: i32,
        ratio: f64,
        enabled: Option<bool>,
        level: Level,
        tags: Vec<String>,
        labels: BTreeMap<String, String>,
        nested: Option<Box<Model>>,
        raw: Option<serde_json::Value>,
        #[serde(default)]
        absent: Option<String>,
    }

    fn obj(pairs: &[(&str, Value)]) -> Value {
        Value::Object(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    fn sample() -> Value {
        let s = |x: &str| Value::String(x.into());
        let n = |x: &str| Value::Number(Number::parse(x).unwrap());
        obj(&[
            ("name", s("key")),
            ("size_gb", n("64")),
            ("offset", n("-3")),
            ("ratio", n("0.25")),
            ("enabled", Value::Unknown(None)),
            ("level", s("self_support")),
            ("tags", Value::Set(vec![s("a"), s("b")])),
            ("labels", Value::Map([("k".to_string(), s("v"))].into())),
            ("nested", Value::Null),
            ("raw", n("123456789012345678901234567890")),
        ])
    }

    /// The point of this deserializer is speed, not a new reading: whatever
    /// `serde_json` makes of `to_serde()`, it must make of the value itself.
    #[test]
    fn reads_a_value_as_serde_json_reads_its_json() {
        let v = sample();
        let direct = Model::deserialize(&v).unwrap();
        let via_json: Model = serde_json::from_value(v.to_serde()).unwrap();
        assert_eq!(direct, via_json);
        assert_eq!(direct.level, Level::SelfSupport);
        assert_eq!(direct.enabled, None, "unknown reads as null");
        assert_eq!(direct.tags, ["a", "b"]);
        assert_eq!(
            direct.raw.unwrap().to_string(),
            "123456789012345678901234567890",
            "numbers keep every digit"
        );
    }

    #[test]
    fn wrong_shapes_are_errors_as_they_are_through_json() {
        let mut v = sample();
        let Value::Object(m) = &mut v else {
            unreachable!()
        };
        for (attr, bad) in [
            ("size_gb", Value::String("x".into())),
            ("size_gb", Value::Number(Number::parse("-1").unwrap())),
            ("offset", Value::Number(Number::parse("1.5").unwrap())),
            ("level", Value::String("gold".into())),
            ("tags", Value::String("a".into())),
            ("name", Value::Null),
        ] {
            let mut m = m.clone();
            m.insert(attr.into(), bad);
            let v = Value::Object(m);
            assert!(Model::deserialize(&v).is_err(), "{attr}");
            assert!(
                serde_json::from_value::<Model>(v.to_serde()).is_err(),
                "{attr}"
            );
        }
        m.remove("name");
        assert!(Model::deserialize(&v).is_err(), "a missing required field");
    }
}
