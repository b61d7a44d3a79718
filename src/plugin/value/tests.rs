//! Codec tests: round trips for every type, unknowns and refinements, numbers
//! beyond i64/f64, and malformed input (which must give errors, not panics).

use std::collections::BTreeMap;

use super::*;

fn obj(pairs: &[(&str, Value)]) -> Value {
    Value::Object(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect::<BTreeMap<_, _>>(),
    )
}

fn num(s: &str) -> Value {
    Value::Number(Number::parse(s).unwrap())
}

fn everything_type() -> Type {
    Type::object([
        ("b", Type::Bool),
        ("n", Type::Number),
        ("s", Type::String),
        ("l", Type::list(Type::String)),
        ("st", Type::set(Type::Number)),
        ("m", Type::map(Type::Bool)),
        ("t", Type::Tuple(vec![Type::String, Type::Number])),
        (
            "o",
            Type::object([("x", Type::String), ("y", Type::list(Type::Number))]),
        ),
        ("d", Type::Dynamic),
        ("nul", Type::String),
    ])
}

fn everything_value() -> Value {
    obj(&[
        ("b", true.into()),
        ("n", num("-12.5")),
        ("s", "héllo".into()),
        ("l", Value::List(vec!["a".into(), "b".into()])),
        ("st", Value::Set(vec![num("3"), num("1")])),
        (
            "m",
            Value::Map(BTreeMap::from([("k".to_string(), false.into())])),
        ),
        ("t", Value::Tuple(vec!["x".into(), num("2")])),
        (
            "o",
            obj(&[
                ("x", "y".into()),
                ("y", Value::List(vec![num("1"), num("2.25")])),
            ]),
        ),
        ("d", Value::List(vec!["dyn".into()])),
        ("nul", Value::Null),
    ])
}

#[test]
fn msgpack_round_trips_every_type() {
    let ty = everything_type();
    let v = everything_value();
    let bytes = msgpack::encode(&v, &ty).unwrap();
    assert_eq!(msgpack::decode(&bytes, &ty).unwrap(), v);
}

#[test]
fn json_round_trips_every_type() {
    let ty = everything_type();
    let v = everything_value();
    let bytes = json::encode(&v, &ty).unwrap();
    assert_eq!(json::decode(&bytes, &ty).unwrap(), v);
    let text = String::from_utf8(bytes).unwrap();
    assert!(
        text.contains(r#""d":{"value":["dyn"],"type":["list","string"]}"#)
            || text.contains(r#""d":{"type""#),
        "{text}"
    );
}

#[test]
fn sets_compare_without_order() {
    assert_eq!(
        Value::Set(vec![num("1"), num("2")]),
        Value::Set(vec![num("2"), num("1")])
    );
    assert_ne!(
        Value::List(vec![num("1"), num("2")]),
        Value::List(vec![num("2"), num("1")])
    );
    assert_ne!(
        Value::Set(vec![num("1"), num("1")]),
        Value::Set(vec![num("1"), num("2")])
    );
}

#[test]
fn numbers_keep_every_digit() {
    for text in [
        "123456789012345678901234567890",
        "-98765432109876543210",
        "18446744073709551615",
        "9223372036854775807",
        "-9223372036854775808",
        "0.1",
        "3.141592653589793238462643383279502884197",
        "1e+400",
    ] {
        let v = num(text);
        let bytes = msgpack::encode(&v, &Type::Number).unwrap();
        assert_eq!(
            msgpack::decode(&bytes, &Type::Number).unwrap(),
            v,
            "msgpack {text}"
        );
        let bytes = json::encode(&v, &Type::Number).unwrap();
        assert_eq!(
            json::decode(&bytes, &Type::Number).unwrap(),
            v,
            "json {text}"
        );
    }
    // Terraform's encodings of the same number: int, float and decimal string.
    assert_eq!(msgpack::decode(&[0x2a], &Type::Number).unwrap(), num("42"));
    assert_eq!(
        msgpack::decode(&[0xd0, 0xd6], &Type::Number).unwrap(),
        num("-42")
    );
    let mut f = vec![0xcb];
    f.extend_from_slice(&1.5f64.to_be_bytes());
    assert_eq!(msgpack::decode(&f, &Type::Number).unwrap(), num("1.5"));
    assert_eq!(
        msgpack::decode(&[0xa3, b'1', b'e', b'3'], &Type::Number).unwrap(),
        num("1000")
    );
    // Small integers go out as integers, as Terraform expects.
    assert_eq!(
        msgpack::encode(&num("7"), &Type::Number).unwrap(),
        vec![0x07]
    );
}

#[test]
fn plain_unknown_is_the_three_bytes_terraform_plugin_go_writes() {
    assert_eq!(
        msgpack::encode(&Value::unknown(), &Type::String).unwrap(),
        vec![0xd4, 0x00, 0x00]
    );
    assert!(msgpack::decode(&[0xd4, 0x00, 0x00], &Type::String)
        .unwrap()
        .is_unknown());
    // Any other extension code also means unknown.
    assert!(msgpack::decode(&[0xd4, 0x05, 0x00], &Type::Bool)
        .unwrap()
        .is_unknown());
}

#[test]
fn refinements_survive_a_round_trip() {
    let r = Refinements {
        nullness: Some(false),
        string_prefix: Some("rhel-".into()),
        number_lower: Some((Number::from(1i64), true)),
        number_upper: Some((Number::parse("1e30").unwrap(), false)),
        length_lower: Some(1),
        length_upper: Some(10),
    };
    let v = Value::Unknown(Some(Box::new(r)));
    let bytes = msgpack::encode(&v, &Type::String).unwrap();
    assert_eq!(bytes[0], 0xc7, "ext8 carrying the refinement map");
    assert_eq!(msgpack::decode(&bytes, &Type::String).unwrap(), v);
}

#[test]
fn refinement_payload_ignores_unknown_keys() {
    // ext8, len, code 12, map{1: false, 9: [1, "x"], 2: "ab"}
    let payload = [
        0x83, 0x01, 0xc2, 0x09, 0x92, 0x01, 0xa1, b'x', 0x02, 0xa2, b'a', b'b',
    ];
    let mut bytes = vec![0xc7, payload.len() as u8, 12];
    bytes.extend_from_slice(&payload);
    let v = msgpack::decode(&bytes, &Type::String).unwrap();
    let Value::Unknown(Some(r)) = v else {
        panic!("expected refined unknown, got {v:?}")
    };
    assert_eq!(r.nullness, Some(false));
    assert_eq!(r.string_prefix.as_deref(), Some("ab"));
}

#[test]
fn unknowns_inside_collections_and_objects() {
    let ty = Type::object([("a", Type::list(Type::String)), ("b", Type::String)]);
    let v = obj(&[
        ("a", Value::List(vec!["x".into(), Value::unknown()])),
        ("b", Value::unknown()),
    ]);
    let bytes = msgpack::encode(&v, &ty).unwrap();
    let back = msgpack::decode(&bytes, &ty).unwrap();
    assert_eq!(back, v);
    assert!(!back.is_fully_known());
    assert!(json::encode(&v, &ty).is_err(), "JSON cannot carry unknowns");
}

#[test]
fn missing_object_attributes_decode_as_null() {
    // {"a": "x"} against an object with a and b.
    let bytes = [0x81, 0xa1, b'a', 0xa1, b'x'];
    let ty = Type::object([("a", Type::String), ("b", Type::Number)]);
    let v = msgpack::decode(&bytes, &ty).unwrap();
    assert_eq!(v.attr("b"), &Value::Null);
}

#[test]
fn lenient_json_drops_attributes_the_schema_no_longer_has() {
    let ty = Type::object([("a", Type::String)]);
    assert!(json::decode(br#"{"a":"x","gone":1}"#, &ty).is_err());
    assert_eq!(
        json::decode_lenient(br#"{"a":"x","gone":1}"#, &ty).unwrap(),
        obj(&[("a", "x".into())])
    );
}

#[test]
fn malformed_msgpack_is_an_error_with_a_path_never_a_panic() {
    let ty = everything_type();
    let good = msgpack::encode(&everything_value(), &ty).unwrap();
    // Every truncation.
    for cut in 0..good.len() {
        assert!(
            msgpack::decode(&good[..cut], &ty).is_err(),
            "truncated at {cut}"
        );
    }
    // Trailing garbage.
    let mut long = good.clone();
    long.push(0xc0);
    assert!(msgpack::decode(&long, &ty).is_err());
    // Every single-byte corruption: any outcome but a panic.
    for i in 0..good.len() {
        for b in [0x00, 0x7f, 0x80, 0xc1, 0xd4, 0xdd, 0xdf, 0xff] {
            let mut bad = good.clone();
            bad[i] = b;
            let _ = msgpack::decode(&bad, &ty);
        }
    }
    // Pseudo-random inputs against several types.
    let mut seed: u64 = 0x9e3779b97f4a7c15;
    for _ in 0..20_000 {
        let len = (seed % 40) as usize;
        let mut buf = Vec::with_capacity(len);
        for _ in 0..len {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            buf.push((seed >> 33) as u8);
        }
        for t in [
            &ty,
            &Type::Dynamic,
            &Type::list(Type::Dynamic),
            &Type::Number,
        ] {
            let _ = msgpack::decode(&buf, t);
        }
    }
}

#[test]
fn objects_decode_whatever_the_order_of_their_attributes() {
    let ty = Type::object([("a", Type::String), ("b", Type::Bool), ("c", Type::Number)]);
    let want = |a: Value, b: Value, c: Value| {
        Value::Object([("a".into(), a), ("b".into(), b), ("c".into(), c)].into())
    };
    // Terraform's order (by name), another order, attributes left out, a key twice.
    let sorted = [
        0x83, 0xa1, b'a', 0xa1, b'x', 0xa1, b'b', 0xc3, 0xa1, b'c', 0x07,
    ];
    let shuffled = [
        0x83, 0xa1, b'c', 0x07, 0xa1, b'a', 0xa1, b'x', 0xa1, b'b', 0xc3,
    ];
    let partial = [0x81, 0xa1, b'b', 0xc3];
    let repeated = [
        0x83, 0xa1, b'a', 0xa1, b'x', 0xa1, b'b', 0xc3, 0xa1, b'a', 0xa1, b'y',
    ];
    let full = want(Value::from("x"), Value::Bool(true), Value::from(7i64));
    assert_eq!(msgpack::decode(&sorted, &ty).unwrap(), full);
    assert_eq!(msgpack::decode(&shuffled, &ty).unwrap(), full);
    assert_eq!(
        msgpack::decode(&partial, &ty).unwrap(),
        want(Value::Null, Value::Bool(true), Value::Null)
    );
    // As a map insert would: the last value of a repeated key wins.
    assert_eq!(
        msgpack::decode(&repeated, &ty).unwrap(),
        want(Value::from("y"), Value::Bool(true), Value::Null)
    );
}

#[test]
fn specific_malformations_are_explained() {
    let e =
        msgpack::decode(&[0xdd, 0xff, 0xff, 0xff, 0xff], &Type::list(Type::String)).unwrap_err();
    assert!(e.message.contains("exceeds"), "{e}");
    let e = msgpack::decode(&[0xa2, 0xff, 0xfe], &Type::String).unwrap_err();
    assert!(e.message.contains("UTF-8"));
    let e = msgpack::decode(
        &[0x81, 0xa1, b'z', 0xc0],
        &Type::object([("a", Type::String)]),
    )
    .unwrap_err();
    assert!(e.message.contains("\"z\""));
    // A wrong type deep inside reports where.
    let ty = Type::object([("a", Type::list(Type::String))]);
    let e = msgpack::decode(&[0x81, 0xa1, b'a', 0x92, 0xa1, b'x', 0x05], &ty).unwrap_err();
    assert_eq!(e.path.to_string(), "a[1]");
    // Nesting deeper than we accept.
    let mut nested_ty = Type::String;
    for _ in 0..100 {
        nested_ty = Type::list(nested_ty);
    }
    let bytes: Vec<u8> = std::iter::repeat_n(0x91, 100).chain([0xa0]).collect();
    assert!(msgpack::decode(&bytes, &nested_ty)
        .unwrap_err()
        .message
        .contains("deeply"));
}

#[test]
fn dynamic_values_carry_their_type() {
    // ["string" as bin, "hi"]
    let t = br#""string""#;
    let mut bytes = vec![0x92, 0xc4, t.len() as u8];
    bytes.extend_from_slice(t);
    bytes.extend_from_slice(&[0xa2, b'h', b'i']);
    assert_eq!(
        msgpack::decode(&bytes, &Type::Dynamic).unwrap(),
        Value::from("hi")
    );
    let obj_v = obj(&[("publisher", "RedHat".into())]);
    let enc = msgpack::encode(&obj_v, &Type::Dynamic).unwrap();
    assert_eq!(msgpack::decode(&enc, &Type::Dynamic).unwrap(), obj_v);
    assert!(msgpack::decode(&[0x92, 0xc4, 0x03, b'b', b'a', b'd', 0xc0], &Type::Dynamic).is_err());
}

#[test]
fn type_constraints_parse_and_print() {
    for text in [
        r#""string""#,
        r#"["list","number"]"#,
        r#"["map",["set","bool"]]"#,
        r#"["tuple",["string","dynamic"]]"#,
        r#"["object",{"a":"string","b":["list","number"]}]"#,
        r#"["object",{"a":"string","b":"number"},["b"]]"#,
    ] {
        let t = Type::from_json_bytes(text.as_bytes()).unwrap();
        assert_eq!(String::from_utf8(t.to_json_bytes()).unwrap(), text);
    }
    for bad in [
        r#""str""#,
        r#"["list"]"#,
        r#"["object",{"a":"string"},["zz"]]"#,
        "42",
        "[]",
        "{",
    ] {
        assert!(Type::from_json_bytes(bad.as_bytes()).is_err(), "{bad}");
    }
}

#[test]
fn unknowns_become_null_at_any_depth() {
    let v = obj(&[
        ("id", Value::from("x")),
        ("skus", Value::unknown()),
        (
            "nested",
            Value::List(vec![obj(&[
                ("a", Value::unknown()),
                ("b", Value::Bool(true)),
            ])]),
        ),
        (
            "tags",
            Value::Map([("k".to_string(), Value::unknown())].into_iter().collect()),
        ),
    ]);
    assert!(!v.is_fully_known());
    let known = v.unknowns_to_null();
    assert!(known.is_fully_known());
    assert_eq!(known.attr("id").as_str(), Some("x"));
    assert!(known.attr("skus").is_null());
    assert_eq!(
        known.attr("nested"),
        &Value::List(vec![obj(&[("a", Value::Null), ("b", Value::Bool(true))])])
    );
}

#[test]
fn an_object_attribute_the_schema_lacks_is_named_wherever_it_sorts() {
    // Writing walks the value beside the schema's names: an extra key must be
    // caught before, between and after them.
    let ty = Type::object([("b", Type::String), ("d", Type::String)]);
    for extra in ["a", "c", "e"] {
        let v = Value::Object(
            [("b", "x"), ("d", "y"), (extra, "z")]
                .into_iter()
                .map(|(k, s)| (k.to_string(), Value::from(s)))
                .collect(),
        );
        let e = msgpack::encode(&v, &ty).unwrap_err();
        assert!(e.message.contains(&format!("{extra:?}")), "{extra}: {e}");
    }
    // Absent attributes are written as null.
    let v = Value::Object([("d".to_string(), Value::from("y"))].into());
    let back = msgpack::decode(&msgpack::encode(&v, &ty).unwrap(), &ty).unwrap();
    assert_eq!(back.attr("b"), &Value::Null);
    assert_eq!(back.attr("d"), &Value::from("y"));
    // Object keys are strings, and UTF-8.
    let e = msgpack::decode(&[0x81, 0x01, 0xc0], &ty).unwrap_err();
    assert!(e.message.contains("keys must be strings"), "{e}");
    let e = msgpack::decode(&[0x81, 0xa1, 0xff, 0xc0], &ty).unwrap_err();
    assert!(e.message.contains("UTF-8"), "{e}");
}
