//! Protobuf messages as the Temporal CLI prints them: Go's protojson as api-go's
//! `temporalproto.CustomJSONMarshalOptions` configures it (FACTS §4.1), over `prost-reflect`.
//!
//! lowerCamelCase names, fields in field-number order, only populated fields (present
//! sub-messages even when empty), enums by name, 64-bit integers as strings, bytes as padded
//! base64, `Timestamp` as RFC 3339 UTC with 0/3/6/9 fraction digits, `Duration` as seconds,
//! map keys sorted. Indented (`-o json`: two spaces, `"k": v`) or compact (`-o jsonl`). Temporal
//! payloads may be shown in shorthand (their decoded JSON) when every payload qualifies.

use std::fmt::Write as _;
use std::sync::OnceLock;

use super::gojson::{self, Flavour, Json};

use base64::Engine as _;
use prost_reflect::{
    DescriptorPool, DynamicMessage, FieldDescriptor, Kind, MapKey, ReflectMessage, Value,
};

include!(concat!(env!("OUT_DIR"), "/descriptors.rs"));

/// The descriptor pool that holds `full_name`, a root message (see build.rs), decoded on first use.
fn pool_for(full_name: &str) -> Option<&'static DescriptorPool> {
    static POOLS: OnceLock<Vec<OnceLock<DescriptorPool>>> = OnceLock::new();
    let pools = POOLS.get_or_init(|| ROOT_SETS.iter().map(|_| OnceLock::new()).collect());
    let i = ROOT_SETS.iter().position(|(root, _)| *root == full_name)?;
    Some(pools[i].get_or_init(|| {
        DescriptorPool::decode(ROOT_SETS[i].1).expect("the embedded descriptor set decodes")
    }))
}

/// Starts decoding the descriptors of the root message `full_name` on a side thread (once per
/// root), so a later [`decode`] finds them ready or waits only for the rest.
pub fn warm_in_background(full_name: &'static str) {
    static STARTED: OnceLock<Vec<std::sync::atomic::AtomicBool>> = OnceLock::new();
    let started = STARTED.get_or_init(|| {
        ROOT_SETS
            .iter()
            .map(|_| std::sync::atomic::AtomicBool::new(false))
            .collect()
    });
    let Some(i) = ROOT_SETS.iter().position(|(root, _)| *root == full_name) else {
        return;
    };
    if !started[i].swap(true, std::sync::atomic::Ordering::AcqRel) {
        std::thread::spawn(move || {
            let _ = pool_for(full_name);
        });
    }
}

/// Decodes `bytes` as the message `full_name` of the Temporal API (a root listed in build.rs).
pub fn decode(full_name: &str, bytes: &[u8]) -> Result<DynamicMessage, String> {
    let desc = pool_for(full_name)
        .and_then(|p| p.get_message_by_name(full_name))
        .ok_or_else(|| format!("unknown message `{full_name}`"))?;
    DynamicMessage::decode(desc, bytes).map_err(|e| e.to_string())
}

/// Output options.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Two-space indentation (`-o json`); compact otherwise (`-o jsonl`).
    pub indent: bool,
    /// Payload shorthand (off with `--no-json-shorthand-payloads`).
    pub shorthand: bool,
}

/// Renders a message. `Err` names a construct this renderer does not reproduce exactly (the caller
/// then uses the CLI instead).
pub fn to_json(msg: &DynamicMessage, opts: Options) -> Result<String, String> {
    let mut w = Writer {
        out: String::new(),
        opts,
    };
    w.message(msg, 0)?;
    Ok(w.out)
}

struct Writer {
    out: String,
    opts: Options,
}

impl Writer {
    fn newline(&mut self, level: usize) {
        gojson::newline(self.opts.indent, level, &mut self.out);
    }

    fn key(&mut self, k: &str) {
        string(&mut self.out, k);
        self.out.push_str(if self.opts.indent { ": " } else { ":" });
    }

    fn message(&mut self, msg: &DynamicMessage, level: usize) -> Result<(), String> {
        let name = msg.descriptor().full_name().to_owned();
        match name.as_str() {
            "google.protobuf.Timestamp" => return self.timestamp(msg),
            "google.protobuf.Duration" => return self.duration(msg),
            "google.protobuf.Any"
            | "google.protobuf.Struct"
            | "google.protobuf.Value"
            | "google.protobuf.ListValue"
            | "google.protobuf.FieldMask" => {
                return Err(format!("{name} is not rendered natively"));
            }
            n if n.starts_with("google.protobuf.") && n.ends_with("Value") => {
                return Err(format!("{name} is not rendered natively"));
            }
            "temporal.api.common.v1.Payload" if self.opts.shorthand => {
                if let Some(v) = shorthand(msg)? {
                    gojson::write_value(
                        &v,
                        Flavour::Protojson,
                        self.opts.indent,
                        level,
                        &mut self.out,
                    );
                    return Ok(());
                }
            }
            "temporal.api.common.v1.Payloads" if self.opts.shorthand => {
                let items = match msg.get_field_by_name("payloads").as_deref() {
                    Some(Value::List(items)) => items.clone(),
                    _ => Vec::new(),
                };
                let mut values = Vec::with_capacity(items.len());
                for item in &items {
                    match item {
                        Value::Message(p) => values.push(shorthand(p)?),
                        _ => return Err("malformed Payloads".to_owned()),
                    }
                }
                // Go's encoder has already opened the array when it meets a payload it cannot
                // shorten, and an empty list writes nothing: neither is reproduced.
                if values.is_empty() || values.iter().any(Option::is_none) {
                    return Err(
                        "Payloads that are not all shorthand are not rendered natively".to_owned(),
                    );
                }
                let values = Json::Arr(values.into_iter().flatten().collect());
                gojson::write_value(
                    &values,
                    Flavour::Protojson,
                    self.opts.indent,
                    level,
                    &mut self.out,
                );
                return Ok(());
            }
            _ => {}
        }
        let mut fields: Vec<FieldDescriptor> = msg
            .descriptor()
            .fields()
            .filter(|f| msg.has_field(f))
            .collect();
        fields.sort_by_key(FieldDescriptor::number);
        if fields.is_empty() {
            self.out.push_str("{}");
            return Ok(());
        }
        self.out.push('{');
        for (i, f) in fields.iter().enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            self.newline(level + 1);
            self.key(f.json_name());
            let v = msg.get_field(f);
            self.value(&v, f, level + 1)?;
        }
        self.newline(level);
        self.out.push('}');
        Ok(())
    }

    fn value(&mut self, v: &Value, f: &FieldDescriptor, level: usize) -> Result<(), String> {
        match v {
            Value::List(items) => {
                self.out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    self.newline(level + 1);
                    self.single(item, &f.kind(), level + 1)?;
                }
                self.newline(level);
                self.out.push(']');
                Ok(())
            }
            Value::Map(map) => {
                let value_kind = match f.kind() {
                    Kind::Message(entry) => entry.map_entry_value_field().kind(),
                    other => other,
                };
                let mut entries: Vec<(&MapKey, &Value)> = map.iter().collect();
                entries.sort_by(|a, b| map_key_order(a.0, b.0));
                self.out.push('{');
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    self.newline(level + 1);
                    self.key(&map_key_text(k));
                    self.single(v, &value_kind, level + 1)?;
                }
                self.newline(level);
                self.out.push('}');
                Ok(())
            }
            other => self.single(other, &f.kind(), level),
        }
    }

    fn single(&mut self, v: &Value, kind: &Kind, level: usize) -> Result<(), String> {
        match v {
            Value::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            Value::I32(i) => write!(self.out, "{i}").unwrap_or_default(),
            Value::U32(i) => write!(self.out, "{i}").unwrap_or_default(),
            Value::I64(i) => write!(self.out, "\"{i}\"").unwrap_or_default(),
            Value::U64(i) => write!(self.out, "\"{i}\"").unwrap_or_default(),
            Value::F32(x) => float(&mut self.out, f64::from(*x), true),
            Value::F64(x) => float(&mut self.out, *x, false),
            Value::String(s) => string(&mut self.out, s),
            Value::Bytes(b) => {
                let enc = base64::engine::general_purpose::STANDARD.encode(b);
                string(&mut self.out, &enc);
            }
            Value::EnumNumber(n) => match kind {
                Kind::Enum(e) => match e.get_value(*n) {
                    Some(ev) => string(&mut self.out, ev.name()),
                    None => write!(self.out, "{n}").unwrap_or_default(),
                },
                _ => write!(self.out, "{n}").unwrap_or_default(),
            },
            Value::Message(m) => self.message(m, level)?,
            Value::List(_) | Value::Map(_) => return Err("nested list or map".to_owned()),
        }
        Ok(())
    }

    fn timestamp(&mut self, msg: &DynamicMessage) -> Result<(), String> {
        let (secs, nanos) = seconds_nanos(msg);
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        write!(
            self.out,
            "\"{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}{}Z\"",
            rem / 3600,
            (rem / 60) % 60,
            rem % 60,
            fraction(nanos)
        )
        .unwrap_or_default();
        Ok(())
    }

    fn duration(&mut self, msg: &DynamicMessage) -> Result<(), String> {
        let (secs, nanos) = seconds_nanos(msg);
        let sign = if secs < 0 || nanos < 0 { "-" } else { "" };
        write!(
            self.out,
            "\"{sign}{}{}s\"",
            secs.unsigned_abs(),
            fraction(nanos.abs())
        )
        .unwrap_or_default();
        Ok(())
    }
}

/// A payload's metadata entry.
fn metadata<'m>(meta: &'m std::collections::HashMap<MapKey, Value>, key: &str) -> Option<&'m [u8]> {
    match meta.get(&MapKey::String(key.to_owned())) {
        Some(Value::Bytes(b)) => Some(b),
        _ => None,
    }
}

/// The shorthand value of a `Payload` (FACTS §4.1): its decoded JSON when the metadata is exactly
/// `{encoding: json/plain}`, or `json/protobuf` plus `messageType` (which is added to the object
/// as `_protoMessageType`); `None` keeps the normal form. `Err` for what the CLI itself would fail
/// on (data that is not JSON) or cases whose Go output is not pinned down here (`binary/null`, a
/// top-level `null` or `[]`): the CLI renders those.
pub fn shorthand(payload: &DynamicMessage) -> Result<Option<Json>, String> {
    let meta = match payload.get_field_by_name("metadata").as_deref() {
        Some(Value::Map(m)) => m.clone(),
        _ => return Ok(None),
    };
    let data = match payload.get_field_by_name("data").as_deref() {
        Some(Value::Bytes(b)) => b.clone(),
        _ => Default::default(),
    };
    let encoding = metadata(&meta, "encoding");
    match encoding {
        Some(b"json/plain") if meta.len() == 1 => match gojson::parse(&data)? {
            Json::Null => Err("a null payload is rendered by the CLI".to_owned()),
            Json::Arr(a) if a.is_empty() => {
                Err("an empty-array payload is rendered by the CLI".to_owned())
            }
            v => Ok(Some(v)),
        },
        Some(b"json/protobuf") => {
            let Some(ty) = metadata(&meta, "messageType").filter(|t| !t.is_empty()) else {
                return Ok(None);
            };
            if meta.len() != 2 {
                return Ok(None);
            }
            let ty = std::str::from_utf8(ty).map_err(|_| "messageType is not UTF-8".to_owned())?;
            match gojson::parse(&data)? {
                Json::Obj(mut m) => {
                    m.insert("_protoMessageType".to_owned(), Json::Str(ty.to_owned()));
                    Ok(Some(Json::Obj(m)))
                }
                _ => Err("a json/protobuf payload that is not an object".to_owned()),
            }
        }
        Some(b"binary/null") => Err("binary/null payloads are rendered by the CLI".to_owned()),
        _ => Ok(None),
    }
}

/// The `seconds` and `nanos` of a `Timestamp` or `Duration`.
fn seconds_nanos(msg: &DynamicMessage) -> (i64, i32) {
    let secs = msg
        .get_field_by_name("seconds")
        .and_then(|v| v.as_i64())
        .unwrap_or(0);
    let nanos = msg
        .get_field_by_name("nanos")
        .and_then(|v| v.as_i32())
        .unwrap_or(0);
    (secs, nanos)
}

/// `.123`, `.123456`, `.123456789` or nothing, as Go's protojson prints fractions.
fn fraction(nanos: i32) -> String {
    if nanos == 0 {
        String::new()
    } else if nanos % 1_000_000 == 0 {
        format!(".{:03}", nanos / 1_000_000)
    } else if nanos % 1_000 == 0 {
        format!(".{:06}", nanos / 1_000)
    } else {
        format!(".{nanos:09}")
    }
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn map_key_order(a: &MapKey, b: &MapKey) -> std::cmp::Ordering {
    match (a, b) {
        (MapKey::String(x), MapKey::String(y)) => x.cmp(y),
        (MapKey::I32(x), MapKey::I32(y)) => x.cmp(y),
        (MapKey::I64(x), MapKey::I64(y)) => x.cmp(y),
        (MapKey::U32(x), MapKey::U32(y)) => x.cmp(y),
        (MapKey::U64(x), MapKey::U64(y)) => x.cmp(y),
        (MapKey::Bool(x), MapKey::Bool(y)) => x.cmp(y),
        _ => map_key_text(a).cmp(&map_key_text(b)),
    }
}

fn map_key_text(k: &MapKey) -> String {
    match k {
        MapKey::String(s) => s.clone(),
        MapKey::Bool(b) => b.to_string(),
        MapKey::I32(i) => i.to_string(),
        MapKey::I64(i) => i.to_string(),
        MapKey::U32(i) => i.to_string(),
        MapKey::U64(i) => i.to_string(),
    }
}

/// A float64 as Go prints it in JSON (protojson and `encoding/json` agree).
pub(crate) fn go_float(out: &mut String, v: f64) {
    float(out, v, false);
}

/// A float32 as Go's `encoding/json` writes it (shortest digits at 32 bits).
pub(crate) fn go_float32(out: &mut String, v: f32) {
    float(out, f64::from(v), true);
}

/// Go protojson's number formatting: shortest round-trip digits, `e` notation below 1e-6 and
/// from 1e21 (exponent `e+21`, `e-7`), `NaN`/`Infinity` as strings.
fn float(out: &mut String, v: f64, is32: bool) {
    if v.is_nan() {
        out.push_str("\"NaN\"");
        return;
    }
    if v.is_infinite() {
        out.push_str(if v > 0.0 {
            "\"Infinity\""
        } else {
            "\"-Infinity\""
        });
        return;
    }
    let abs = v.abs();
    let exp_form = abs != 0.0 && !(1e-6..1e21).contains(&abs);
    let text = match (exp_form, is32) {
        (false, true) => format!("{}", v as f32),
        (false, false) => format!("{v}"),
        (true, true) => format!("{:e}", v as f32),
        (true, false) => format!("{v:e}"),
    };
    if let Some((mant, exp)) = text.split_once('e') {
        let e: i32 = exp.parse().unwrap_or(0);
        if e >= 0 {
            let _ = write!(out, "{mant}e+{e:02}");
        } else {
            let _ = write!(out, "{mant}e-{}", -e);
        }
    } else {
        out.push_str(&text);
    }
}

/// A JSON string as Go's protojson writes it: `"` `\` and control characters escaped, nothing else.
fn string(out: &mut String, s: &str) {
    gojson::write_string(s, Flavour::Protojson, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_fractions() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-719_162), (1, 1, 1));
        assert_eq!(civil_from_days(20_414), (2025, 11, 22));
        assert_eq!(fraction(0), "");
        assert_eq!(fraction(500_000_000), ".500");
        assert_eq!(fraction(807_106_000), ".807106");
        assert_eq!(fraction(807_106_584), ".807106584");
    }

    #[test]
    fn go_float_format() {
        let f = |v: f64| {
            let mut s = String::new();
            float(&mut s, v, false);
            s
        };
        assert_eq!(f(1.5), "1.5");
        assert_eq!(f(1e21), "1e+21");
        assert_eq!(f(1.5e-7), "1.5e-7");
        assert_eq!(f(100.0), "100");
        assert_eq!(f(0.0), "0");
    }
}
#[cfg(test)]
mod pool_size {
    #[test]
    fn every_root_decodes_on_its_own() {
        for (root, _) in super::ROOT_SETS {
            let pool = super::pool_for(root).unwrap();
            assert!(pool.get_message_by_name(root).is_some(), "{root}");
        }
        // Only roots have a set of their own.
        assert!(super::pool_for("temporal.api.failure.v1.Failure").is_none());
    }
}
