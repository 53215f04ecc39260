//! Canonical JSON, written by a serde serializer without building a `serde_json::Value`.
//!
//! Rules: object keys sorted by their UTF-8 bytes (that is, by code point), recursively; no
//! whitespace; strings escape only `"`, `\` and control characters (`\b \f \n \r \t`, else
//! `\u00xx`); numbers are integers when integral (`17.0` → `17`, `-0.0` → `0`), other finite floats use
//! Rust's shortest round-trip decimal form, non-finite floats are `null`. Objects are buffered to sort
//! their keys; the buffers are pooled, so encoding many documents allocates little.

use std::fmt;

use serde::Serialize;
use serde::ser;

/// Why a value could not be written as canonical JSON (only a `Serialize` impl reporting an error).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot write canonical JSON: {0}")]
pub struct CanonicalError(String);

impl ser::Error for CanonicalError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self(msg.to_string())
    }
}

/// Writes canonical JSON into a reusable buffer; keep one per batch of documents.
#[derive(Debug, Default)]
pub struct Encoder {
    buf: Vec<u8>,
    pools: Pools,
}

impl Encoder {
    /// A fresh encoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// The canonical JSON of `value`, valid until the next call.
    pub fn encode<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<&[u8], CanonicalError> {
        self.buf.clear();
        value.serialize(Canonical { out: &mut self.buf, pools: &mut self.pools })?;
        Ok(&self.buf)
    }
}

/// The canonical JSON of `value` as bytes (valid UTF-8).
pub fn to_canonical_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, CanonicalError> {
    Encoder::new().encode(value).map(<[u8]>::to_vec)
}

/// One object member: where its key and value are in a [`MapWriter`]'s buffers, and the first 8 key
/// bytes as a big-endian number (zero-padded) to order most keys without comparing slices.
#[derive(Debug, Clone, Copy)]
struct Member {
    prefix: u64,
    key: (usize, usize),
    value: (usize, usize),
}

fn key_prefix(key: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    let n = key.len().min(8);
    word[..n].copy_from_slice(&key[..n]);
    u64::from_be_bytes(word)
}

/// Spare buffers for nested objects.
#[derive(Debug, Default)]
struct Pools {
    bytes: Vec<Vec<u8>>,
    members: Vec<Vec<Member>>,
}

impl Pools {
    fn bytes(&mut self) -> Vec<u8> {
        self.bytes.pop().unwrap_or_default()
    }

    fn members(&mut self) -> Vec<Member> {
        self.members.pop().unwrap_or_default()
    }

    fn give(&mut self, mut keys: Vec<u8>, mut vals: Vec<u8>, mut members: Vec<Member>) {
        keys.clear();
        vals.clear();
        members.clear();
        self.bytes.push(keys);
        self.bytes.push(vals);
        self.members.push(members);
    }
}

type Res = Result<(), CanonicalError>;

/// The value serializer: appends canonical JSON to `out`.
struct Canonical<'a> {
    out: &'a mut Vec<u8>,
    pools: &'a mut Pools,
}

impl<'a> ser::Serializer for Canonical<'a> {
    type Ok = ();
    type Error = CanonicalError;
    type SerializeSeq = SeqWriter<'a>;
    type SerializeTuple = SeqWriter<'a>;
    type SerializeTupleStruct = SeqWriter<'a>;
    type SerializeTupleVariant = SeqWriter<'a>;
    type SerializeMap = MapWriter<'a>;
    type SerializeStruct = MapWriter<'a>;
    type SerializeStructVariant = MapWriter<'a>;

    fn serialize_bool(self, v: bool) -> Res {
        self.out.extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Res {
        self.serialize_i64(v.into())
    }
    fn serialize_i16(self, v: i16) -> Res {
        self.serialize_i64(v.into())
    }
    fn serialize_i32(self, v: i32) -> Res {
        self.serialize_i64(v.into())
    }
    fn serialize_i64(self, v: i64) -> Res {
        write_i64(self.out, v);
        Ok(())
    }
    fn serialize_i128(self, v: i128) -> Res {
        self.out.extend_from_slice(v.to_string().as_bytes());
        Ok(())
    }
    fn serialize_u8(self, v: u8) -> Res {
        self.serialize_u64(v.into())
    }
    fn serialize_u16(self, v: u16) -> Res {
        self.serialize_u64(v.into())
    }
    fn serialize_u32(self, v: u32) -> Res {
        self.serialize_u64(v.into())
    }
    fn serialize_u64(self, v: u64) -> Res {
        write_u64(self.out, v);
        Ok(())
    }
    fn serialize_u128(self, v: u128) -> Res {
        self.out.extend_from_slice(v.to_string().as_bytes());
        Ok(())
    }
    fn serialize_f32(self, v: f32) -> Res {
        self.serialize_f64(v.into())
    }
    fn serialize_f64(self, v: f64) -> Res {
        write_f64(self.out, v);
        Ok(())
    }
    fn serialize_char(self, v: char) -> Res {
        write_string(self.out, v.encode_utf8(&mut [0; 4]).as_bytes());
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Res {
        write_string(self.out, v.as_bytes());
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Res {
        self.out.push(b'[');
        for (i, b) in v.iter().enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            write_u64(self.out, u64::from(*b));
        }
        self.out.push(b']');
        Ok(())
    }
    fn serialize_none(self) -> Res {
        self.serialize_unit()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Res {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Res {
        self.out.extend_from_slice(b"null");
        Ok(())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Res {
        self.serialize_unit()
    }
    fn serialize_unit_variant(self, _name: &'static str, _index: u32, variant: &'static str) -> Res {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _name: &'static str, value: &T) -> Res {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Res {
        open_variant(self.out, variant);
        value.serialize(Canonical { out: &mut *self.out, pools: &mut *self.pools })?;
        self.out.push(b'}');
        Ok(())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<SeqWriter<'a>, CanonicalError> {
        Ok(SeqWriter::new(self, b"]"))
    }
    fn serialize_tuple(self, len: usize) -> Result<SeqWriter<'a>, CanonicalError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<SeqWriter<'a>, CanonicalError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<SeqWriter<'a>, CanonicalError> {
        open_variant(self.out, variant);
        Ok(SeqWriter::new(self, b"]}"))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<MapWriter<'a>, CanonicalError> {
        Ok(MapWriter::new(self, b"}"))
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<MapWriter<'a>, CanonicalError> {
        Ok(MapWriter::new(self, b"}"))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<MapWriter<'a>, CanonicalError> {
        open_variant(self.out, variant);
        Ok(MapWriter::new(self, b"}}"))
    }
}

/// Writes `{"variant":` for the externally tagged enum forms.
fn open_variant(out: &mut Vec<u8>, variant: &str) {
    out.push(b'{');
    write_string(out, variant.as_bytes());
    out.push(b':');
}

/// Arrays, tuples and tuple variants.
struct SeqWriter<'a> {
    out: &'a mut Vec<u8>,
    pools: &'a mut Pools,
    first: bool,
    close: &'static [u8],
}

impl<'a> SeqWriter<'a> {
    fn new(ser: Canonical<'a>, close: &'static [u8]) -> Self {
        ser.out.push(b'[');
        Self { out: ser.out, pools: ser.pools, first: true, close }
    }

    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Res {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        value.serialize(Canonical { out: &mut *self.out, pools: &mut *self.pools })
    }

    fn finish(self) -> Res {
        self.out.extend_from_slice(self.close);
        Ok(())
    }
}

impl ser::SerializeSeq for SeqWriter<'_> {
    type Ok = ();
    type Error = CanonicalError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Res {
        self.element(value)
    }
    fn end(self) -> Res {
        self.finish()
    }
}

impl ser::SerializeTuple for SeqWriter<'_> {
    type Ok = ();
    type Error = CanonicalError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Res {
        self.element(value)
    }
    fn end(self) -> Res {
        self.finish()
    }
}

impl ser::SerializeTupleStruct for SeqWriter<'_> {
    type Ok = ();
    type Error = CanonicalError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Res {
        self.element(value)
    }
    fn end(self) -> Res {
        self.finish()
    }
}

impl ser::SerializeTupleVariant for SeqWriter<'_> {
    type Ok = ();
    type Error = CanonicalError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Res {
        self.element(value)
    }
    fn end(self) -> Res {
        self.finish()
    }
}

/// Objects (maps, structs, struct variants): members are buffered, then written sorted by key.
struct MapWriter<'a> {
    out: &'a mut Vec<u8>,
    pools: &'a mut Pools,
    /// Raw (unescaped) key text of every member.
    keys: Vec<u8>,
    /// Canonical value text of every member.
    vals: Vec<u8>,
    members: Vec<Member>,
    /// Key range waiting for its value (`serialize_key` then `serialize_value`).
    pending: (usize, usize),
    close: &'static [u8],
}

impl<'a> MapWriter<'a> {
    fn new(ser: Canonical<'a>, close: &'static [u8]) -> Self {
        Self {
            keys: ser.pools.bytes(),
            vals: ser.pools.bytes(),
            members: ser.pools.members(),
            out: ser.out,
            pools: ser.pools,
            pending: (0, 0),
            close,
        }
    }

    fn value<T: Serialize + ?Sized>(&mut self, value: &T) -> Res {
        let start = self.vals.len();
        value.serialize(Canonical { out: &mut self.vals, pools: &mut *self.pools })?;
        let (ks, ke) = self.pending;
        self.members.push(Member {
            prefix: key_prefix(&self.keys[ks..ke]),
            key: (ks, ke),
            value: (start, self.vals.len()),
        });
        Ok(())
    }

    fn field<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Res {
        let start = self.keys.len();
        self.keys.extend_from_slice(key.as_bytes());
        self.pending = (start, self.keys.len());
        self.value(value)
    }

    fn finish(self) -> Res {
        let Self { out, pools, keys, vals, mut members, close, .. } = self;
        // Stable: members with equal keys (possible only with a hand-built flattened `extra`) keep
        // their order.
        // Equal prefixes fall back to the whole key, so the order is plain byte order.
        members
            .sort_by(|a, b| a.prefix.cmp(&b.prefix).then_with(|| keys[a.key.0..a.key.1].cmp(&keys[b.key.0..b.key.1])));
        out.push(b'{');
        for (i, m) in members.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_string(out, &keys[m.key.0..m.key.1]);
            out.push(b':');
            out.extend_from_slice(&vals[m.value.0..m.value.1]);
        }
        out.extend_from_slice(close);
        pools.give(keys, vals, members);
        Ok(())
    }
}

impl ser::SerializeMap for MapWriter<'_> {
    type Ok = ();
    type Error = CanonicalError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Res {
        let start = self.keys.len();
        key.serialize(KeyWriter { out: &mut self.keys, pools: &mut *self.pools })?;
        self.pending = (start, self.keys.len());
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Res {
        self.value(value)
    }
    fn end(self) -> Res {
        self.finish()
    }
}

impl ser::SerializeStruct for MapWriter<'_> {
    type Ok = ();
    type Error = CanonicalError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Res {
        self.field(key, value)
    }
    fn end(self) -> Res {
        self.finish()
    }
}

impl ser::SerializeStructVariant for MapWriter<'_> {
    type Ok = ();
    type Error = CanonicalError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Res {
        self.field(key, value)
    }
    fn end(self) -> Res {
        self.finish()
    }
}

/// The key serializer: appends the raw key text (escaped later). Strings are taken as they are,
/// numbers and booleans as their JSON text (as `serde_json` does); any other key becomes the text of
/// its canonical JSON, so no key is rejected.
struct KeyWriter<'a> {
    out: &'a mut Vec<u8>,
    pools: &'a mut Pools,
}

impl<'a> KeyWriter<'a> {
    fn into_value(self) -> Canonical<'a> {
        Canonical { out: self.out, pools: self.pools }
    }
}

impl<'a> ser::Serializer for KeyWriter<'a> {
    type Ok = ();
    type Error = CanonicalError;
    type SerializeSeq = SeqWriter<'a>;
    type SerializeTuple = SeqWriter<'a>;
    type SerializeTupleStruct = SeqWriter<'a>;
    type SerializeTupleVariant = SeqWriter<'a>;
    type SerializeMap = MapWriter<'a>;
    type SerializeStruct = MapWriter<'a>;
    type SerializeStructVariant = MapWriter<'a>;

    fn serialize_bool(self, v: bool) -> Res {
        self.into_value().serialize_bool(v)
    }
    fn serialize_i8(self, v: i8) -> Res {
        self.into_value().serialize_i8(v)
    }
    fn serialize_i16(self, v: i16) -> Res {
        self.into_value().serialize_i16(v)
    }
    fn serialize_i32(self, v: i32) -> Res {
        self.into_value().serialize_i32(v)
    }
    fn serialize_i64(self, v: i64) -> Res {
        self.into_value().serialize_i64(v)
    }
    fn serialize_i128(self, v: i128) -> Res {
        self.into_value().serialize_i128(v)
    }
    fn serialize_u8(self, v: u8) -> Res {
        self.into_value().serialize_u8(v)
    }
    fn serialize_u16(self, v: u16) -> Res {
        self.into_value().serialize_u16(v)
    }
    fn serialize_u32(self, v: u32) -> Res {
        self.into_value().serialize_u32(v)
    }
    fn serialize_u64(self, v: u64) -> Res {
        self.into_value().serialize_u64(v)
    }
    fn serialize_u128(self, v: u128) -> Res {
        self.into_value().serialize_u128(v)
    }
    fn serialize_f32(self, v: f32) -> Res {
        self.into_value().serialize_f32(v)
    }
    fn serialize_f64(self, v: f64) -> Res {
        self.into_value().serialize_f64(v)
    }
    fn serialize_char(self, v: char) -> Res {
        self.out.extend_from_slice(v.encode_utf8(&mut [0; 4]).as_bytes());
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Res {
        self.out.extend_from_slice(v.as_bytes());
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Res {
        self.into_value().serialize_bytes(v)
    }
    fn serialize_none(self) -> Res {
        self.into_value().serialize_none()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Res {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Res {
        self.into_value().serialize_unit()
    }
    fn serialize_unit_struct(self, name: &'static str) -> Res {
        self.into_value().serialize_unit_struct(name)
    }
    fn serialize_unit_variant(self, _name: &'static str, _index: u32, variant: &'static str) -> Res {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _name: &'static str, value: &T) -> Res {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        value: &T,
    ) -> Res {
        self.into_value().serialize_newtype_variant(name, index, variant, value)
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<SeqWriter<'a>, CanonicalError> {
        self.into_value().serialize_seq(len)
    }
    fn serialize_tuple(self, len: usize) -> Result<SeqWriter<'a>, CanonicalError> {
        self.into_value().serialize_tuple(len)
    }
    fn serialize_tuple_struct(self, name: &'static str, len: usize) -> Result<SeqWriter<'a>, CanonicalError> {
        self.into_value().serialize_tuple_struct(name, len)
    }
    fn serialize_tuple_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<SeqWriter<'a>, CanonicalError> {
        self.into_value().serialize_tuple_variant(name, index, variant, len)
    }
    fn serialize_map(self, len: Option<usize>) -> Result<MapWriter<'a>, CanonicalError> {
        self.into_value().serialize_map(len)
    }
    fn serialize_struct(self, name: &'static str, len: usize) -> Result<MapWriter<'a>, CanonicalError> {
        self.into_value().serialize_struct(name, len)
    }
    fn serialize_struct_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<MapWriter<'a>, CanonicalError> {
        self.into_value().serialize_struct_variant(name, index, variant, len)
    }
}

/// What a byte turns into inside a JSON string: 0 = itself, `u` = `\u00xx`, else `\` and this byte.
static ESCAPE: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = b'u';
        b += 1;
    }
    table[0x08] = b'b';
    table[0x09] = b't';
    table[0x0a] = b'n';
    table[0x0c] = b'f';
    table[0x0d] = b'r';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

/// Writes a JSON string, escaping only what JSON requires. `s` is UTF-8; multi-byte sequences
/// (all bytes ≥ 0x80) are copied as they are.
fn write_string(out: &mut Vec<u8>, s: &[u8]) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    let mut start = 0;
    let mut i = 0;
    while i < s.len() {
        // Skip clean 8-byte words, then look at the next (at most) 8 bytes one by one.
        i += clean_prefix(&s[i..]);
        let stop = (i + 8).min(s.len());
        while i < stop {
            let escape = ESCAPE[usize::from(s[i])];
            if escape != 0 {
                out.extend_from_slice(&s[start..i]);
                if escape == b'u' {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    out.extend_from_slice(b"\\u00");
                    out.push(HEX[usize::from(s[i] >> 4)]);
                    out.push(HEX[usize::from(s[i] & 0xf)]);
                } else {
                    out.extend_from_slice(&[b'\\', escape]);
                }
                start = i + 1;
            }
            i += 1;
        }
    }
    out.extend_from_slice(&s[start..]);
    out.push(b'"');
}

/// Length of the run of whole 8-byte words at the start of `s` that need no escaping; the word that
/// stops it (and any shorter tail) is left to the caller.
fn clean_prefix(s: &[u8]) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let has_zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let mut done = 0;
    for chunk in s.chunks_exact(8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word);
        // Bytes below 0x20, or equal to `"` or `\`, (with possible false positives, never misses).
        let control = x.wrapping_sub(ONES * 0x20) & !x & HIGH;
        if control | has_zero(x ^ (ONES * u64::from(b'"'))) | has_zero(x ^ (ONES * u64::from(b'\\'))) != 0 {
            break;
        }
        done += 8;
    }
    done
}

fn write_u64(out: &mut Vec<u8>, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        // `v % 10` is below 10, so the cast is exact.
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

fn write_i64(out: &mut Vec<u8>, v: i64) {
    if v < 0 {
        out.push(b'-');
    }
    write_u64(out, v.unsigned_abs());
}

/// Integral values print as integers (Rust's `Display` has no `.0` and no exponent), so `17.0` and
/// `17` agree; `-0.0` prints as `0`; NaN and infinities as `null`.
fn write_f64(out: &mut Vec<u8>, v: f64) {
    if !v.is_finite() {
        out.extend_from_slice(b"null");
    } else if v == 0.0 {
        out.push(b'0');
    } else {
        out.extend_from_slice(v.to_string().as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn canon(v: &serde_json::Value) -> String {
        String::from_utf8(to_canonical_vec(v).expect("encodes")).expect("utf-8")
    }

    #[test]
    fn sorts_keys_recursively_without_whitespace() {
        let v = json!({"b": 1, "a": {"z": [3, {"y": 1, "x": 2}], "c": null}, "A": true});
        assert_eq!(canon(&v), r#"{"A":true,"a":{"c":null,"z":[3,{"x":2,"y":1}]},"b":1}"#);
    }

    #[test]
    fn escapes_only_what_json_requires() {
        let v = json!("q\"b\\n\n\t\r\u{8}\u{c}\u{1}\u{1f}é\u{2028}/<");
        assert_eq!(canon(&v), "\"q\\\"b\\\\n\\n\\t\\r\\b\\f\\u0001\\u001fé\u{2028}/<\"");
        // Keys are escaped the same way and sorted by their raw bytes.
        let v = json!({"é": 1, "\n": 2, "z": 3});
        assert_eq!(canon(&v), "{\"\\n\":2,\"z\":3,\"é\":1}");
    }

    #[test]
    fn numbers_are_normalised() {
        let cases = [
            ("17", "17"),
            ("17.0", "17"),
            ("-3.0", "-3"),
            ("-0.0", "0"),
            ("1.5", "1.5"),
            ("0.1", "0.1"),
            ("1e2", "100"),
            ("-9223372036854775808", "-9223372036854775808"),
            ("18446744073709551615", "18446744073709551615"),
        ];
        for (input, want) in cases {
            let v: serde_json::Value = serde_json::from_str(input).expect("number");
            assert_eq!(canon(&v), want, "{input}");
        }
    }

    #[test]
    fn canonical_output_parses_back_to_the_same_value() {
        let v = json!({"k": ["a", 1, 2.5, false, null, {"x": "\u{0}"}], "e": {}, "s": []});
        let bytes = to_canonical_vec(&v).expect("encodes");
        let back: serde_json::Value = serde_json::from_slice(&bytes).expect("valid JSON");
        assert_eq!(back, v);
    }

    #[test]
    fn rust_data_model_forms() {
        #[derive(Serialize)]
        enum E {
            Unit,
            New(u8),
            Tuple(u8, char),
            Struct { b: u8, a: u8 },
        }
        let mut map = std::collections::BTreeMap::new();
        map.insert(2u32, 'x');
        map.insert(10u32, 'y');
        let v = (E::Unit, E::New(1), E::Tuple(2, 'c'), E::Struct { b: 1, a: 2 }, map, Some(()));
        let got = String::from_utf8(to_canonical_vec(&v).expect("encodes")).expect("utf-8");
        assert_eq!(got, r#"["Unit",{"New":1},{"Tuple":[2,"c"]},{"Struct":{"a":2,"b":1}},{"10":"y","2":"x"},null]"#);
    }
}
