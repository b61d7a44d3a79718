//! msgpack `DynamicValue` encoding, per Terraform's object wire format.
//!
//! Decoding is driven by the schema type, as in Terraform: the same bytes mean
//! different things for a set and a tuple. Unknowns are msgpack extensions
//! (code 0 plain, code 12 with refinements; any other code also means unknown).
//! `rmp` supplies markers and the writers; the type-driven walk is ours because
//! no msgpack crate knows cty's typing rules. Nothing here panics on input:
//! truncated, malformed or over-deep data is a `CodecError` with its path.

use std::collections::BTreeMap;

use rmp::Marker;

use super::{CodecError, Number, Refinements, Type, Value, MAX_DEPTH};
use crate::plugin::diag::Trail;

const EXT_REFINED_UNKNOWN: i8 = 12;

/// Reads one value of type `ty` from `bytes`; trailing bytes are an error.
pub fn decode(bytes: &[u8], ty: &Type) -> Result<Value, CodecError> {
    let mut r = Reader { buf: bytes, pos: 0 };
    let root = Trail::Root;
    let v = r.value(ty, &root, 0)?;
    if r.pos != bytes.len() {
        return Err(CodecError::new(
            &root,
            format!("{} unexpected trailing bytes", bytes.len() - r.pos),
        ));
    }
    Ok(v)
}

/// Writes `value` as type `ty`. Fails only when the value does not fit the type
/// (a provider bug, reported as a diagnostic rather than sent to Terraform).
pub fn encode(value: &Value, ty: &Type) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::with_capacity(64);
    write_value(&mut out, value, ty, &Trail::Root)?;
    Ok(out)
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, path: &Trail<'_>) -> Result<&'a [u8], CodecError> {
        let end = self.pos.checked_add(n).filter(|e| *e <= self.buf.len());
        match end {
            Some(end) => {
                let s = &self.buf[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            None => Err(CodecError::new(path, "msgpack data ends too early")),
        }
    }

    fn uint(&mut self, n: usize, path: &Trail<'_>) -> Result<u64, CodecError> {
        Ok(self
            .take(n, path)?
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }

    fn marker(&mut self, path: &Trail<'_>) -> Result<Marker, CodecError> {
        Ok(Marker::from_u8(self.take(1, path)?[0]))
    }

    /// Length that follows a marker for str / bin / array / map / ext.
    fn len_after(&mut self, m: Marker, path: &Trail<'_>) -> Result<Option<usize>, CodecError> {
        let n = match m {
            Marker::FixStr(n) => u64::from(n),
            Marker::FixArray(n) | Marker::FixMap(n) => u64::from(n),
            Marker::Str8 | Marker::Bin8 | Marker::Ext8 => self.uint(1, path)?,
            Marker::Str16 | Marker::Bin16 | Marker::Array16 | Marker::Map16 | Marker::Ext16 => {
                self.uint(2, path)?
            }
            Marker::Str32 | Marker::Bin32 | Marker::Array32 | Marker::Map32 | Marker::Ext32 => {
                self.uint(4, path)?
            }
            Marker::FixExt1 => 1,
            Marker::FixExt2 => 2,
            Marker::FixExt4 => 4,
            Marker::FixExt8 => 8,
            Marker::FixExt16 => 16,
            _ => return Ok(None),
        };
        // A length can never exceed what is left; checking here stops huge preallocations.
        if n > (self.buf.len() - self.pos) as u64 {
            return Err(CodecError::new(path, "msgpack length exceeds the data"));
        }
        Ok(Some(n as usize))
    }

    fn is_ext(m: Marker) -> bool {
        matches!(
            m,
            Marker::FixExt1
                | Marker::FixExt2
                | Marker::FixExt4
                | Marker::FixExt8
                | Marker::FixExt16
                | Marker::Ext8
                | Marker::Ext16
                | Marker::Ext32
        )
    }

    fn value(&mut self, ty: &Type, path: &Trail<'_>, depth: usize) -> Result<Value, CodecError> {
        if depth > MAX_DEPTH {
            return Err(CodecError::new(path, "value nested too deeply"));
        }
        let m = self.marker(path)?;
        if m == Marker::Null {
            return Ok(Value::Null);
        }
        if Self::is_ext(m) {
            let len = self.len_after(m, path)?.unwrap_or(0);
            let code = self.take(1, path)?[0] as i8;
            let payload = self.take(len, path)?;
            let refinements = if code == EXT_REFINED_UNKNOWN {
                read_refinements(payload, path)?
            } else {
                None
            };
            return Ok(Value::Unknown(refinements.map(Box::new)));
        }
        let mismatch =
            |what: &str| CodecError::new(path, format!("expected {what}, found msgpack {m:?}"));
        match ty {
            Type::Bool => match m {
                Marker::True => Ok(Value::Bool(true)),
                Marker::False => Ok(Value::Bool(false)),
                _ => Err(mismatch("bool")),
            },
            Type::Number => self.number(m, path).map(Value::Number),
            Type::String => match self.str_after(m, path)? {
                Some(s) => Ok(Value::String(s)),
                None => Err(mismatch("string")),
            },
            Type::List(elem) | Type::Set(elem) => {
                let n = self.array_len(m, path).ok_or_else(|| mismatch("array"))??;
                let mut items = Vec::with_capacity(n.min(1024));
                for i in 0..n {
                    items.push(self.value(elem, &path.index(i), depth + 1)?);
                }
                Ok(if matches!(ty, Type::Set(_)) {
                    Value::Set(items)
                } else {
                    Value::List(items)
                })
            }
            Type::Tuple(types) => {
                let n = self.array_len(m, path).ok_or_else(|| mismatch("array"))??;
                if n != types.len() {
                    return Err(CodecError::new(
                        path,
                        format!("tuple needs {} elements, found {n}", types.len()),
                    ));
                }
                let mut items = Vec::with_capacity(n);
                for (i, t) in types.iter().enumerate() {
                    items.push(self.value(t, &path.index(i), depth + 1)?);
                }
                Ok(Value::Tuple(items))
            }
            Type::Map(elem) => {
                let n = self.map_len(m, path).ok_or_else(|| mismatch("map"))??;
                let mut entries = BTreeMap::new();
                for _ in 0..n {
                    let key = self.key(path)?;
                    let v = self.value(elem, &path.key(&key), depth + 1)?;
                    entries.insert(key, v);
                }
                Ok(Value::Map(entries))
            }
            Type::Object(obj) => {
                let n = self.map_len(m, path).ok_or_else(|| mismatch("object"))??;
                // Terraform writes attributes in name order, the order the
                // schema's map keeps them in: follow along instead of searching
                // for each one, and build the map from the sorted entries.
                let mut expected = obj.attrs.iter();
                let mut entries = Vec::with_capacity(n.min(obj.attrs.len()));
                for _ in 0..n {
                    let bytes = self.key_bytes(path)?;
                    let (key, t) = match expected.clone().next() {
                        Some((name, t)) if name.as_bytes() == bytes => {
                            expected.next();
                            (name.clone(), t)
                        }
                        _ => {
                            let key = utf8(bytes, path)?;
                            match obj.attrs.get_key_value(key) {
                                Some((name, t)) => (name.clone(), t),
                                None => {
                                    return Err(CodecError::new(
                                        path,
                                        format!("unsupported attribute {key:?}"),
                                    ))
                                }
                            }
                        }
                    };
                    let v = self.value(t, &path.attr(&key), depth + 1)?;
                    entries.push((key, v));
                }
                // Sorted input builds in one pass; a repeated key keeps its last value.
                let mut attrs: BTreeMap<String, Value> = entries.into_iter().collect();
                // Terraform sends every attribute; fill in only when some are missing.
                if attrs.len() < obj.attrs.len() {
                    for name in obj.attrs.keys() {
                        attrs.entry(name.clone()).or_insert(Value::Null);
                    }
                }
                Ok(Value::Object(attrs))
            }
            Type::Dynamic => {
                let n = self
                    .array_len(m, path)
                    .ok_or_else(|| mismatch("[type, value] pair"))??;
                if n != 2 {
                    return Err(CodecError::new(
                        path,
                        "a dynamic value is a [type, value] pair",
                    ));
                }
                let tm = self.marker(path)?;
                let ty_bytes = match tm {
                    Marker::Bin8 | Marker::Bin16 | Marker::Bin32 => {
                        let len = self.len_after(tm, path)?.unwrap_or(0);
                        self.take(len, path)?.to_vec()
                    }
                    _ => match self.str_after(tm, path)? {
                        Some(s) => s.into_bytes(),
                        None => {
                            return Err(CodecError::new(
                                path,
                                "dynamic value type must be JSON bytes",
                            ))
                        }
                    },
                };
                let inner = Type::from_json_bytes(&ty_bytes)
                    .map_err(|e| CodecError::new(path, e.to_string()))?;
                self.value(&inner, path, depth + 1)
            }
        }
    }

    fn array_len(&mut self, m: Marker, path: &Trail<'_>) -> Option<Result<usize, CodecError>> {
        matches!(m, Marker::FixArray(_) | Marker::Array16 | Marker::Array32)
            .then(|| self.len_after(m, path).map(|n| n.unwrap_or(0)))
    }

    fn map_len(&mut self, m: Marker, path: &Trail<'_>) -> Option<Result<usize, CodecError>> {
        matches!(m, Marker::FixMap(_) | Marker::Map16 | Marker::Map32)
            .then(|| self.len_after(m, path).map(|n| n.unwrap_or(0)))
    }

    fn key(&mut self, path: &Trail<'_>) -> Result<String, CodecError> {
        let bytes = self.key_bytes(path)?;
        utf8(bytes, path).map(str::to_string)
    }

    /// A map key's bytes, borrowed from the input and not yet checked to be
    /// UTF-8: an object's key that equals an attribute name needs no check.
    fn key_bytes(&mut self, path: &Trail<'_>) -> Result<&'a [u8], CodecError> {
        let m = self.marker(path)?;
        self.str_bytes_after(m, path)?
            .ok_or_else(|| CodecError::new(path, "map keys must be strings"))
    }

    /// The bytes of the string `m` starts; None when `m` starts no string.
    fn str_bytes_after(
        &mut self,
        m: Marker,
        path: &Trail<'_>,
    ) -> Result<Option<&'a [u8]>, CodecError> {
        if !matches!(
            m,
            Marker::FixStr(_) | Marker::Str8 | Marker::Str16 | Marker::Str32
        ) {
            return Ok(None);
        }
        let len = self.len_after(m, path)?.unwrap_or(0);
        self.take(len, path).map(Some)
    }

    fn str_after(&mut self, m: Marker, path: &Trail<'_>) -> Result<Option<String>, CodecError> {
        match self.str_bytes_after(m, path)? {
            Some(bytes) => utf8(bytes, path).map(|s| Some(s.to_string())),
            None => Ok(None),
        }
    }

    fn number(&mut self, m: Marker, path: &Trail<'_>) -> Result<Number, CodecError> {
        let signed = |v: u64, bits: u32| -> i64 {
            let shift = 64 - bits;
            ((v << shift) as i64) >> shift
        };
        let n = match m {
            Marker::FixPos(n) => Number::from(i64::from(n)),
            Marker::FixNeg(n) => Number::from(i64::from(n)),
            Marker::U8 => Number::from(self.uint(1, path)?),
            Marker::U16 => Number::from(self.uint(2, path)?),
            Marker::U32 => Number::from(self.uint(4, path)?),
            Marker::U64 => Number::from(self.uint(8, path)?),
            Marker::I8 => Number::from(signed(self.uint(1, path)?, 8)),
            Marker::I16 => Number::from(signed(self.uint(2, path)?, 16)),
            Marker::I32 => Number::from(signed(self.uint(4, path)?, 32)),
            Marker::I64 => Number::from(self.uint(8, path)? as i64),
            Marker::F32 => {
                let f = f32::from_bits(self.uint(4, path)? as u32);
                Number::from_f64(f64::from(f)).map_err(|e| CodecError::new(path, e.to_string()))?
            }
            Marker::F64 => {
                let f = f64::from_bits(self.uint(8, path)?);
                Number::from_f64(f).map_err(|e| CodecError::new(path, e.to_string()))?
            }
            _ => match self.str_after(m, path)? {
                // Terraform sends numbers beyond int64 / float64 as decimal strings.
                Some(s) => Number::parse(&s).map_err(|e| CodecError::new(path, e.to_string()))?,
                None => {
                    return Err(CodecError::new(
                        path,
                        format!("expected number, found msgpack {m:?}"),
                    ))
                }
            },
        };
        Ok(n)
    }

    /// Skips one value of any shape (unknown refinement keys must be ignored).
    fn skip(&mut self, path: &Trail<'_>, depth: usize) -> Result<(), CodecError> {
        if depth > MAX_DEPTH {
            return Err(CodecError::new(path, "value nested too deeply"));
        }
        let m = self.marker(path)?;
        let fixed = match m {
            Marker::U8 | Marker::I8 => 1,
            Marker::U16 | Marker::I16 => 2,
            Marker::U32 | Marker::I32 | Marker::F32 => 4,
            Marker::U64 | Marker::I64 | Marker::F64 => 8,
            _ => 0,
        };
        if fixed > 0 {
            self.take(fixed, path)?;
            return Ok(());
        }
        if let Some(n) = self.array_len(m, path) {
            for _ in 0..n? {
                self.skip(path, depth + 1)?;
            }
            return Ok(());
        }
        if let Some(n) = self.map_len(m, path) {
            for _ in 0..n? * 2 {
                self.skip(path, depth + 1)?;
            }
            return Ok(());
        }
        if let Some(len) = self.len_after(m, path)? {
            let extra = usize::from(Self::is_ext(m)); // the ext type byte
            self.take(len + extra, path)?;
        }
        Ok(())
    }
}

fn read_refinements(payload: &[u8], path: &Trail<'_>) -> Result<Option<Refinements>, CodecError> {
    let mut r = Reader {
        buf: payload,
        pos: 0,
    };
    let m = r.marker(path)?;
    let n = r
        .map_len(m, path)
        .ok_or_else(|| CodecError::new(path, "refinements must be a map"))??;
    let mut out = Refinements::default();
    for _ in 0..n {
        let km = r.marker(path)?;
        let key = match km {
            Marker::FixPos(k) => i64::from(k),
            _ => {
                r.pos -= 1;
                r.skip(path, 1)?;
                r.skip(path, 1)?;
                continue;
            }
        };
        match key {
            1 => out.nullness = r.value(&Type::Bool, path, 1)?.as_bool(),
            2 => {
                out.string_prefix = r
                    .value(&Type::String, path, 1)?
                    .as_str()
                    .map(str::to_string)
            }
            3 | 4 => {
                let bound = r.value(&Type::Tuple(vec![Type::Number, Type::Bool]), path, 1)?;
                let parsed = match bound.as_elements() {
                    Some([Value::Number(n), Value::Bool(inc)]) => Some((n.clone(), *inc)),
                    _ => None,
                };
                if key == 3 {
                    out.number_lower = parsed;
                } else {
                    out.number_upper = parsed;
                }
            }
            5 | 6 => {
                let len = r
                    .value(&Type::Number, path, 1)?
                    .as_number()
                    .and_then(Number::to_u64);
                if key == 5 {
                    out.length_lower = len;
                } else {
                    out.length_upper = len;
                }
            }
            _ => r.skip(path, 1)?,
        }
    }
    Ok((!out.is_empty()).then_some(out))
}

/// Infallible msgpack writers: writing into a `Vec` cannot fail, so rmp's
/// `Result`s are unwrapped here once instead of at every call.
mod w {
    const VEC: &str = "writing to a Vec cannot fail";
    pub fn nil(o: &mut Vec<u8>) {
        rmp::encode::write_nil(o).expect(VEC)
    }
    pub fn bool(o: &mut Vec<u8>, b: bool) {
        rmp::encode::write_bool(o, b).expect(VEC)
    }
    pub fn sint(o: &mut Vec<u8>, i: i64) {
        rmp::encode::write_sint(o, i).expect(VEC);
    }
    pub fn uint(o: &mut Vec<u8>, u: u64) {
        rmp::encode::write_uint(o, u).expect(VEC);
    }
    pub fn f64(o: &mut Vec<u8>, f: f64) {
        rmp::encode::write_f64(o, f).expect(VEC)
    }
    pub fn str(o: &mut Vec<u8>, s: &str) {
        rmp::encode::write_str(o, s).expect(VEC)
    }
    pub fn bin(o: &mut Vec<u8>, b: &[u8]) {
        rmp::encode::write_bin(o, b).expect(VEC)
    }
    pub fn array_len(o: &mut Vec<u8>, n: usize) {
        rmp::encode::write_array_len(o, n as u32).expect(VEC);
    }
    pub fn map_len(o: &mut Vec<u8>, n: usize) {
        rmp::encode::write_map_len(o, n as u32).expect(VEC);
    }
    pub fn ext_meta(o: &mut Vec<u8>, len: usize, code: i8) {
        rmp::encode::write_ext_meta(o, len as u32, code).expect(VEC);
    }
}

fn write_value(
    out: &mut Vec<u8>,
    v: &Value,
    ty: &Type,
    path: &Trail<'_>,
) -> Result<(), CodecError> {
    let mismatch = || {
        CodecError::new(
            path,
            format!("value {} does not fit type {}", kind(v), ty.to_json()),
        )
    };
    match (v, ty) {
        (Value::Null, _) => w::nil(out),
        (Value::Unknown(refs), _) => write_unknown(out, refs.as_deref()),
        (_, Type::Dynamic) => {
            let inner = v.infer_type();
            w::array_len(out, 2);
            w::bin(out, &inner.to_json_bytes());
            write_value(out, v, &inner, path)?;
        }
        (Value::Bool(b), Type::Bool) => w::bool(out, *b),
        (Value::Number(n), Type::Number) => write_number(out, n),
        (Value::String(s), Type::String) => w::str(out, s),
        (
            Value::List(items) | Value::Set(items) | Value::Tuple(items),
            Type::List(t) | Type::Set(t),
        ) => {
            w::array_len(out, items.len());
            for (i, item) in items.iter().enumerate() {
                write_value(out, item, t, &path.index(i))?;
            }
        }
        (Value::Tuple(items) | Value::List(items), Type::Tuple(types)) => {
            if items.len() != types.len() {
                return Err(mismatch());
            }
            w::array_len(out, items.len());
            for (i, (item, t)) in items.iter().zip(types).enumerate() {
                write_value(out, item, t, &path.index(i))?;
            }
        }
        (Value::Map(m) | Value::Object(m), Type::Map(t)) => {
            w::map_len(out, m.len());
            for (k, item) in m {
                w::str(out, k);
                write_value(out, item, t, &path.key(k))?;
            }
        }
        (Value::Object(m) | Value::Map(m), Type::Object(obj)) => {
            // Every attribute is written, absent ones as null, as Terraform
            // expects. The value's keys and the schema's names are both in
            // name order: walk them side by side instead of searching.
            let extra =
                |k: &str| CodecError::new(path, format!("attribute {k:?} is not in the schema"));
            let mut values = m.iter().peekable();
            w::map_len(out, obj.attrs.len());
            for (k, t) in &obj.attrs {
                let item = match values.peek() {
                    Some((vk, _)) if vk.as_str() < k.as_str() => return Err(extra(vk)),
                    Some(&(vk, v)) if vk == k => {
                        values.next();
                        v
                    }
                    _ => &Value::Null,
                };
                w::str(out, k);
                write_value(out, item, t, &path.attr(k))?;
            }
            if let Some((vk, _)) = values.next() {
                return Err(extra(vk));
            }
        }
        _ => return Err(mismatch()),
    }
    Ok(())
}

/// Msgpack strings must be UTF-8, as cty's are.
fn utf8<'b>(bytes: &'b [u8], path: &Trail<'_>) -> Result<&'b str, CodecError> {
    std::str::from_utf8(bytes).map_err(|_| CodecError::new(path, "string is not valid UTF-8"))
}

fn write_number(out: &mut Vec<u8>, n: &Number) {
    if let Some(i) = n.to_i64() {
        w::sint(out, i);
    } else if let Some(u) = n.to_u64() {
        w::uint(out, u);
    } else if let Some(f) = n.to_f64_exact() {
        w::f64(out, f);
    } else {
        // Beyond int64 and float64: the wire format's decimal-string form keeps every digit.
        w::str(out, &n.to_string());
    }
}

fn write_unknown(out: &mut Vec<u8>, refs: Option<&Refinements>) {
    let Some(r) = refs.filter(|r| !r.is_empty()) else {
        // fixext1, code 0, one zero byte: what terraform-plugin-go writes.
        out.extend_from_slice(&[0xd4, 0x00, 0x00]);
        return;
    };
    let mut body = Vec::new();
    let entries = [
        r.nullness.is_some(),
        r.string_prefix.is_some(),
        r.number_lower.is_some(),
        r.number_upper.is_some(),
        r.length_lower.is_some(),
        r.length_upper.is_some(),
    ];
    w::map_len(&mut body, entries.iter().filter(|b| **b).count());
    if let Some(n) = r.nullness {
        w::uint(&mut body, 1);
        w::bool(&mut body, n);
    }
    if let Some(p) = &r.string_prefix {
        w::uint(&mut body, 2);
        w::str(&mut body, p);
    }
    for (key, bound) in [(3, &r.number_lower), (4, &r.number_upper)] {
        if let Some((n, inclusive)) = bound {
            w::uint(&mut body, key);
            w::array_len(&mut body, 2);
            write_number(&mut body, n);
            w::bool(&mut body, *inclusive);
        }
    }
    for (key, len) in [(5, r.length_lower), (6, r.length_upper)] {
        if let Some(len) = len {
            w::uint(&mut body, key);
            w::uint(&mut body, len);
        }
    }
    w::ext_meta(out, body.len(), EXT_REFINED_UNKNOWN);
    out.extend_from_slice(&body);
}

pub(super) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Unknown(_) => "unknown",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::List(_) => "list",
        Value::Set(_) => "set",
        Value::Tuple(_) => "tuple",
        Value::Map(_) => "map",
        Value::Object(_) => "object",
    }
}
