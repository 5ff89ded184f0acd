//! Protobuf messages as the Temporal CLI prints them: Go's protojson as api-go's
//! `temporalproto.CustomJSONMarshalOptions` configures it (FACTS §4.1).
//!
//! lowerCamelCase names, fields in field-number order, only populated fields (present
//! sub-messages even when empty), enums by name, 64-bit integers as strings, bytes as padded
//! base64, `Timestamp` as RFC 3339 UTC with 0/3/6/9 fraction digits, `Duration` as seconds,
//! map keys sorted. Indented (`-o json`: two spaces, `"k": v`) or compact (`-o jsonl`). Temporal
//! payloads may be shown in shorthand (their decoded JSON) when every payload qualifies.
//!
//! The renderer reads a message's protobuf wire bytes against static tables generated at build
//! time from the Temporal API descriptors (build.rs): no descriptor is decoded at run time.
//! Decoding follows protobuf's rules (the native executor first checks that a response holds
//! nothing these tables lack, [`unknown_value`]): unknown fields skipped, the last value of a
//! singular field wins (a repeated sub-message is merged), packed and unpacked repeated scalars
//! both read, the last member of a oneof set wins, a map entry's missing key or value is its
//! default.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::gojson::{self, Flavour, Json};

use base64::Engine as _;

/// A message's fields (in declaration order, the order Go's protojson writes them in) and what
/// it is rendered as.
#[derive(Debug)]
pub(crate) struct Msg {
    name: Name,
    special: Special,
    /// A span of [`FIELDS`], and of [`BY_NUMBER`]: there, indexes into the message's fields,
    /// sorted by field number (for the wire reader's lookup).
    fields: Span,
}

impl Msg {
    /// The message's full name (`temporal.api.common.v1.Payload`).
    pub(crate) fn name(&self) -> &'static str {
        self.name.get()
    }

    fn fields(&self) -> &'static [F] {
        self.fields.of(&FIELDS)
    }

    /// The index into `fields` of the field numbered `number`, if the message declares it. For
    /// the fields of one message in wire order: encoders write them in number order, so the
    /// field after the one found last (`after`, a position in `by_number`) is looked at first,
    /// before a search.
    fn field_index(&self, number: u64, after: &mut usize) -> Option<usize> {
        let fields = self.fields();
        let by_number = self.fields.of(&BY_NUMBER);
        let p = match by_number.get(*after) {
            Some(&i) if u64::from(fields[usize::from(i)].number) == number => *after,
            _ => by_number
                .binary_search_by_key(&number, |&i| u64::from(fields[usize::from(i)].number))
                .ok()?,
        };
        *after = p + 1;
        Some(usize::from(by_number[p]))
    }
}

/// A string of the generated tables: `len` bytes of [`NAMES`] from `at`. The tables hold no
/// pointers (spans and indexes instead), so that a static-pie binary has none of them to
/// relocate, and no page of them to copy, at each start.
#[derive(Clone, Copy, Debug)]
struct Name {
    at: u32,
    len: u16,
}

impl Name {
    fn get(self) -> &'static str {
        let at = self.at as usize;
        &NAMES[at..at + usize::from(self.len)]
    }
}

/// `len` items of a generated array from `at`.
#[derive(Clone, Copy, Debug)]
struct Span {
    at: u16,
    len: u16,
}

impl Span {
    fn of<T>(self, all: &'static [T]) -> &'static [T] {
        let at = usize::from(self.at);
        &all[at..at + usize::from(self.len)]
    }
}

/// Messages rendered other than field by field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Special {
    None,
    Timestamp,
    Duration,
    Payload,
    Payloads,
    /// Well-known types this renderer does not reproduce (`Any`, `Struct`, wrappers…): the
    /// command falls back to the CLI.
    Unsupported,
}

/// One field.
#[derive(Debug)]
struct F {
    number: u32,
    json: Name,
    ty: Ty,
    card: Card,
    /// 1 + the index of the field's oneof in its message; 0 for none.
    oneof: u32,
}

/// A field's type; `Enum` and `Msg` index [`ENUMS`] and [`MESSAGES`].
#[expect(
    dead_code,
    reason = "every protobuf type is handled; the rendered messages use only some of them today"
)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ty {
    F64,
    F32,
    I64,
    U64,
    I32,
    Fixed64,
    Fixed32,
    Bool,
    Str,
    Bytes,
    U32,
    SFixed32,
    SFixed64,
    SInt32,
    SInt64,
    Enum(usize),
    Msg(usize),
}

/// A field's cardinality and presence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Card {
    /// Singular without presence: shown when not the default value.
    Implicit,
    /// Singular with presence (sub-messages, oneof members, `optional`): shown when set.
    Explicit,
    Repeated,
    Map,
}

/// An enum's values by number.
#[derive(Debug)]
struct Enum {
    name: Name,
    /// A span of [`VALUES`]: by number, a name each.
    values: Span,
}

impl Enum {
    fn values(&self) -> &'static [(i32, Name)] {
        self.values.of(&VALUES)
    }
}

include!(concat!(env!("OUT_DIR"), "/schema.rs"));

/// The index of the message `full_name` (a root listed in build.rs, or one it reaches).
pub(crate) fn message_index(full_name: &str) -> Option<usize> {
    MESSAGES.iter().position(|m| m.name() == full_name)
}

/// Output options.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Two-space indentation (`-o json`); compact otherwise (`-o jsonl`).
    pub indent: bool,
    /// Payload shorthand (off with `--no-json-shorthand-payloads`).
    pub shorthand: bool,
}

/// Renders the message `full_name` from its wire bytes. `Err` names a construct this renderer
/// does not reproduce exactly, or bytes that are not that message (the caller then uses the CLI
/// instead).
pub fn render(full_name: &str, bytes: &[u8], opts: Options) -> Result<String, String> {
    let index = message_index(full_name).ok_or_else(|| format!("unknown message `{full_name}`"))?;
    let mut w = Writer {
        out: String::with_capacity(bytes.len() * 2 + 64),
        opts,
    };
    w.message(index, &[bytes], 0)?;
    Ok(w.out)
}

/// The first thing in `bytes` (a `full_name` message in wire format) that these tables do not
/// know, or that tgate would not print as Go does: a field number a message does not declare, or
/// an enum number an enum does not name, as `Message#number` or `Enum=number`; a negative zero in
/// a float field without presence (which prost drops on decoding). Go's protojson writes what its own (newer) schema knows, so
/// a response holding such a value is left to the CLI rather than printed without it. `Err` when
/// the message is not in the tables or the bytes are not protobuf.
pub fn unknown_value(full_name: &str, bytes: &[u8]) -> Result<Option<String>, String> {
    let index = message_index(full_name).ok_or_else(|| format!("unknown message `{full_name}`"))?;
    unknown_in(index, bytes, 0)
}

fn unknown_in(index: usize, mut buf: &[u8], depth: usize) -> Result<Option<String>, String> {
    // prost refuses a message nested more than 100 levels before this walk sees it.
    if depth > 100 {
        return Err("the response nests too deeply".to_owned());
    }
    let msg = &MESSAGES[index];
    if msg.special == Special::Unsupported {
        return Ok(None);
    }
    let mut after = 0;
    while !buf.is_empty() {
        let (number, value) = next_field(&mut buf)?;
        let Some(i) = msg.field_index(number, &mut after) else {
            return Ok(Some(format!("{}#{number}", msg.name())));
        };
        let f = &msg.fields()[i];
        let found = match (f.ty, value) {
            (Ty::Msg(sub), Wire::Len(b)) => unknown_in(sub, b, depth + 1)?,
            // A negative zero in a field without presence: Go writes it (`-0`: its bits are not
            // zero), while prost, which decodes it for tgate, drops it as the default value.
            (Ty::F32, Wire::Fixed32(0x8000_0000))
            | (Ty::F64, Wire::Fixed64(0x8000_0000_0000_0000))
                if f.card == Card::Implicit =>
            {
                Some(format!("a negative zero in {}#{number}", msg.name()))
            }
            (Ty::Enum(e), Wire::Varint(v)) => unknown_enum(e, v),
            (Ty::Enum(e), Wire::Len(mut packed)) => {
                let mut found = None;
                while found.is_none() && !packed.is_empty() {
                    found = unknown_enum(e, varint(&mut packed)?);
                }
                found
            }
            _ => None,
        };
        if found.is_some() {
            return Ok(found);
        }
    }
    Ok(None)
}

fn unknown_enum(e: usize, v: u64) -> Option<String> {
    // An enum is an int32 on the wire, sign-extended to 64 bits when negative.
    let n = v as i64 as i32;
    let known = ENUMS[e]
        .values()
        .binary_search_by_key(&n, |&(k, _)| k)
        .is_ok();
    (!known).then(|| format!("{}={n}", ENUMS[e].name.get()))
}

/// One value as it appears on the wire.
#[derive(Clone, Copy, Debug)]
enum Wire<'a> {
    Varint(u64),
    Fixed64(u64),
    Fixed32(u32),
    Len(&'a [u8]),
}

fn malformed() -> String {
    "the response is not valid protobuf".to_owned()
}

fn varint(buf: &mut &[u8]) -> Result<u64, String> {
    let mut v = 0u64;
    for i in 0..10 {
        let (&b, rest) = buf.split_first().ok_or_else(malformed)?;
        *buf = rest;
        v |= u64::from(b & 0x7f) << (7 * i);
        if b < 0x80 {
            return Ok(v);
        }
    }
    Err(malformed())
}

fn take<const N: usize>(buf: &mut &[u8]) -> Result<[u8; N], String> {
    let (head, rest) = buf.split_first_chunk::<N>().ok_or_else(malformed)?;
    *buf = rest;
    Ok(*head)
}

/// The next field of a message: its number and value.
fn next_field<'a>(buf: &mut &'a [u8]) -> Result<(u64, Wire<'a>), String> {
    let key = varint(buf)?;
    let value = match key & 7 {
        0 => Wire::Varint(varint(buf)?),
        1 => Wire::Fixed64(u64::from_le_bytes(take::<8>(buf)?)),
        2 => {
            let len = usize::try_from(varint(buf)?).map_err(|_| malformed())?;
            if len > buf.len() {
                return Err(malformed());
            }
            let (value, rest) = buf.split_at(len);
            *buf = rest;
            Wire::Len(value)
        }
        5 => Wire::Fixed32(u32::from_le_bytes(take::<4>(buf)?)),
        _ => return Err("groups are not rendered natively".to_owned()),
    };
    Ok((key >> 3, value))
}

/// A message's values, one slot per field of its table: every occurrence, in wire order, with
/// the position of the last (for oneofs: the member set last wins).
struct Slots<'a> {
    values: Vec<Vec<Wire<'a>>>,
    last: Vec<usize>,
}

fn collect<'a>(msg: &Msg, parts: &[&'a [u8]]) -> Result<Slots<'a>, String> {
    let mut slots = Slots {
        values: vec![Vec::new(); msg.fields().len()],
        last: vec![0; msg.fields().len()],
    };
    let mut position = 0;
    let mut after = 0;
    for part in parts {
        let mut buf = *part;
        while !buf.is_empty() {
            let (number, value) = next_field(&mut buf)?;
            position += 1;
            if let Some(i) = msg.field_index(number, &mut after) {
                slots.values[i].push(value);
                slots.last[i] = position;
            }
        }
    }
    Ok(slots)
}

/// A decoded singular value.
#[derive(Clone, Copy, Debug)]
enum Scalar<'a> {
    Bool(bool),
    I32(i32),
    U32(u32),
    I64(i64),
    U64(u64),
    F32(f32),
    F64(f64),
    Str(&'a str),
    Bytes(&'a [u8]),
    Enum(i32, usize),
    Msg(&'a [u8], usize),
}

impl Scalar<'_> {
    /// Whether this is the type's default (an implicit-presence field holding it is not shown).
    /// Floats compare by bits, as Go does (`-0` is shown).
    fn is_default(&self) -> bool {
        match *self {
            Scalar::Bool(b) => !b,
            Scalar::I32(v) | Scalar::Enum(v, _) => v == 0,
            Scalar::U32(v) => v == 0,
            Scalar::I64(v) => v == 0,
            Scalar::U64(v) => v == 0,
            Scalar::F32(v) => v.to_bits() == 0,
            Scalar::F64(v) => v.to_bits() == 0,
            Scalar::Str(s) => s.is_empty(),
            Scalar::Bytes(b) => b.is_empty(),
            Scalar::Msg(..) => false,
        }
    }
}

/// Decodes one value of type `ty`.
fn scalar<'a>(ty: Ty, wire: Wire<'a>) -> Result<Scalar<'a>, String> {
    Ok(match (ty, wire) {
        (Ty::Bool, Wire::Varint(v)) => Scalar::Bool(v != 0),
        (Ty::I32, Wire::Varint(v)) => Scalar::I32(v as i32),
        (Ty::U32, Wire::Varint(v)) => Scalar::U32(v as u32),
        (Ty::I64, Wire::Varint(v)) => Scalar::I64(v as i64),
        (Ty::U64, Wire::Varint(v)) => Scalar::U64(v),
        (Ty::SInt32, Wire::Varint(v)) => {
            let v = v as u32;
            Scalar::I32((v >> 1) as i32 ^ -((v & 1) as i32))
        }
        (Ty::SInt64, Wire::Varint(v)) => Scalar::I64((v >> 1) as i64 ^ -((v & 1) as i64)),
        (Ty::Enum(e), Wire::Varint(v)) => Scalar::Enum(v as i32, e),
        (Ty::Fixed32, Wire::Fixed32(v)) => Scalar::U32(v),
        (Ty::SFixed32, Wire::Fixed32(v)) => Scalar::I32(v as i32),
        (Ty::F32, Wire::Fixed32(v)) => Scalar::F32(f32::from_bits(v)),
        (Ty::Fixed64, Wire::Fixed64(v)) => Scalar::U64(v),
        (Ty::SFixed64, Wire::Fixed64(v)) => Scalar::I64(v as i64),
        (Ty::F64, Wire::Fixed64(v)) => Scalar::F64(f64::from_bits(v)),
        (Ty::Str, Wire::Len(b)) => Scalar::Str(
            std::str::from_utf8(b).map_err(|_| "a string field is not UTF-8".to_owned())?,
        ),
        (Ty::Bytes, Wire::Len(b)) => Scalar::Bytes(b),
        (Ty::Msg(m), Wire::Len(b)) => Scalar::Msg(b, m),
        _ => return Err(malformed()),
    })
}

/// The values of a repeated field, packed runs unpacked.
fn repeated<'a>(ty: Ty, wires: &[Wire<'a>]) -> Result<Vec<Scalar<'a>>, String> {
    let packable = !matches!(ty, Ty::Str | Ty::Bytes | Ty::Msg(_));
    let mut out = Vec::with_capacity(wires.len());
    for &w in wires {
        match w {
            Wire::Len(mut run) if packable => {
                while !run.is_empty() {
                    let item = match ty {
                        Ty::Fixed32 | Ty::SFixed32 | Ty::F32 => {
                            Wire::Fixed32(u32::from_le_bytes(take::<4>(&mut run)?))
                        }
                        Ty::Fixed64 | Ty::SFixed64 | Ty::F64 => {
                            Wire::Fixed64(u64::from_le_bytes(take::<8>(&mut run)?))
                        }
                        _ => Wire::Varint(varint(&mut run)?),
                    };
                    out.push(scalar(ty, item)?);
                }
            }
            w => out.push(scalar(ty, w)?),
        }
    }
    Ok(out)
}

/// The default of a type, for a map entry's missing key or value.
fn default_of(ty: Ty) -> Scalar<'static> {
    match ty {
        Ty::Bool => Scalar::Bool(false),
        Ty::I32 | Ty::SInt32 | Ty::SFixed32 => Scalar::I32(0),
        Ty::U32 | Ty::Fixed32 => Scalar::U32(0),
        Ty::I64 | Ty::SInt64 | Ty::SFixed64 => Scalar::I64(0),
        Ty::U64 | Ty::Fixed64 => Scalar::U64(0),
        Ty::F32 => Scalar::F32(0.0),
        Ty::F64 => Scalar::F64(0.0),
        Ty::Str => Scalar::Str(""),
        Ty::Bytes => Scalar::Bytes(&[]),
        Ty::Enum(e) => Scalar::Enum(0, e),
        Ty::Msg(m) => Scalar::Msg(&[], m),
    }
}

/// A map key, ordered as Go sorts them (strings bytewise, numbers numerically).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Key<'a> {
    Bool(bool),
    Signed(i64),
    Unsigned(u64),
    Str(&'a str),
}

impl std::fmt::Display for Key<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Key::Bool(b) => write!(f, "{b}"),
            Key::Signed(i) => write!(f, "{i}"),
            Key::Unsigned(u) => write!(f, "{u}"),
            Key::Str(s) => f.write_str(s),
        }
    }
}

/// One map entry's key and value (defaults for what is missing).
fn entry<'a>(entry_msg: usize, bytes: &'a [u8]) -> Result<(Key<'a>, Scalar<'a>), String> {
    let msg = &MESSAGES[entry_msg];
    let (Some(kf), Some(vf)) = (msg.fields().first(), msg.fields().get(1)) else {
        return Err(malformed());
    };
    let slots = collect(msg, &[bytes])?;
    let key = match slots.values[0].last() {
        Some(&w) => scalar(kf.ty, w)?,
        None => default_of(kf.ty),
    };
    let value = match slots.values[1].last() {
        Some(&w) => scalar(vf.ty, w)?,
        None => default_of(vf.ty),
    };
    let key = match key {
        Scalar::Bool(b) => Key::Bool(b),
        Scalar::I32(i) => Key::Signed(i.into()),
        Scalar::I64(i) => Key::Signed(i),
        Scalar::U32(u) => Key::Unsigned(u.into()),
        Scalar::U64(u) => Key::Unsigned(u),
        Scalar::Str(s) => Key::Str(s),
        _ => return Err(malformed()),
    };
    Ok((key, value))
}

/// A map field's entries, sorted by key, the last of duplicate keys kept.
fn map_entries<'a>(
    entry_msg: usize,
    wires: &[Wire<'a>],
) -> Result<BTreeMap<Key<'a>, Scalar<'a>>, String> {
    let mut map = BTreeMap::new();
    for w in wires {
        let Wire::Len(bytes) = *w else {
            return Err(malformed());
        };
        let (k, v) = entry(entry_msg, bytes)?;
        map.insert(k, v);
    }
    Ok(map)
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

    /// The message `index` whose wire bytes are the concatenation of `parts`.
    fn message(&mut self, index: usize, parts: &[&[u8]], level: usize) -> Result<(), String> {
        let msg = &MESSAGES[index];
        match msg.special {
            Special::Timestamp => return self.timestamp(msg, parts),
            Special::Duration => return self.duration(msg, parts),
            Special::Unsupported => return Err(format!("{} is not rendered natively", msg.name())),
            Special::Payload if self.opts.shorthand => {
                // A payload given in several parts is their merge (as `collect` reads them).
                if let Some(v) = shorthand_wire(msg, parts)? {
                    self.json(&v, level);
                    return Ok(());
                }
            }
            Special::Payloads if self.opts.shorthand => {
                // Payloads: payloads = 1 (repeated Payload).
                let slots = collect(msg, parts)?;
                let (Some(field), Some(items)) = (msg.fields().first(), slots.values.first())
                else {
                    return Err(malformed());
                };
                let Ty::Msg(payload) = field.ty else {
                    return Err(malformed());
                };
                let mut values = Vec::with_capacity(items.len());
                for w in items {
                    let Wire::Len(item) = *w else {
                        return Err(malformed());
                    };
                    values.push(shorthand_wire(&MESSAGES[payload], &[item])?);
                }
                // All in shorthand (none included): an array of their values. Otherwise the
                // normal form, each payload in shorthand where it can be (checked against the
                // CLI: `[1, binary]` prints `{"payloads":[1,{"metadata":…,"data":…}]}`).
                if values.is_empty() {
                    // (Not `null`, which an empty array inside a payload's value becomes.)
                    self.out.push_str("[]");
                    return Ok(());
                }
                if values.iter().all(Option::is_some) {
                    self.json(&Json::Arr(values.into_iter().flatten().collect()), level);
                    return Ok(());
                }
            }
            _ => {}
        }
        let slots = collect(msg, parts)?;
        // Of a oneof's members, only the one set last counts (encoders write one; a later one
        // replaces an earlier, as in every protobuf runtime).
        let mut oneofs: Vec<(u32, usize)> = Vec::new();
        for (i, f) in msg.fields().iter().enumerate() {
            if f.oneof == 0 || slots.values[i].is_empty() {
                continue;
            }
            match oneofs.iter_mut().find(|(o, _)| *o == f.oneof) {
                Some(winner) if slots.last[i] > slots.last[winner.1] => winner.1 = i,
                Some(_) => {}
                None => oneofs.push((f.oneof, i)),
            }
        }
        // Fields in number order.
        let mut first = true;
        for (i, f) in msg.fields().iter().enumerate() {
            let wires = &slots.values[i];
            if wires.is_empty() || (f.oneof != 0 && !oneofs.contains(&(f.oneof, i))) {
                continue;
            }
            match f.card {
                Card::Implicit => {
                    let Some(&w) = wires.last() else { continue };
                    let v = scalar(f.ty, w)?;
                    if v.is_default() {
                        continue;
                    }
                    self.field(&mut first, f, level);
                    self.single(v, level + 1)?;
                }
                Card::Explicit => {
                    self.field(&mut first, f, level);
                    if let Ty::Msg(m) = f.ty {
                        let mut sub = Vec::with_capacity(wires.len());
                        for w in wires {
                            let Wire::Len(b) = *w else {
                                return Err(malformed());
                            };
                            sub.push(b);
                        }
                        self.message(m, &sub, level + 1)?;
                    } else if let Some(&w) = wires.last() {
                        let v = scalar(f.ty, w)?;
                        self.single(v, level + 1)?;
                    }
                }
                Card::Repeated => {
                    let items = repeated(f.ty, wires)?;
                    if items.is_empty() {
                        continue;
                    }
                    self.field(&mut first, f, level);
                    self.out.push('[');
                    for (j, item) in items.into_iter().enumerate() {
                        if j > 0 {
                            self.out.push(',');
                        }
                        self.newline(level + 2);
                        self.single(item, level + 2)?;
                    }
                    self.newline(level + 1);
                    self.out.push(']');
                }
                Card::Map => {
                    let Ty::Msg(entry_msg) = f.ty else {
                        return Err(malformed());
                    };
                    let entries = map_entries(entry_msg, wires)?;
                    self.field(&mut first, f, level);
                    self.out.push('{');
                    for (j, (k, v)) in entries.into_iter().enumerate() {
                        if j > 0 {
                            self.out.push(',');
                        }
                        self.newline(level + 2);
                        self.key(&k.to_string());
                        self.single(v, level + 2)?;
                    }
                    self.newline(level + 1);
                    self.out.push('}');
                }
            }
        }
        if first {
            self.out.push_str("{}");
        } else {
            self.newline(level);
            self.out.push('}');
        }
        Ok(())
    }

    /// Opens `{` before the first field, `,` before the others, then the field's key.
    fn field(&mut self, first: &mut bool, f: &F, level: usize) {
        self.out.push(if *first { '{' } else { ',' });
        *first = false;
        self.newline(level + 1);
        self.key(f.json.get());
    }

    fn single(&mut self, v: Scalar<'_>, level: usize) -> Result<(), String> {
        match v {
            Scalar::Bool(b) => self.out.push_str(if b { "true" } else { "false" }),
            Scalar::I32(i) => write!(self.out, "{i}").unwrap_or_default(),
            Scalar::U32(i) => write!(self.out, "{i}").unwrap_or_default(),
            Scalar::I64(i) => write!(self.out, "\"{i}\"").unwrap_or_default(),
            Scalar::U64(i) => write!(self.out, "\"{i}\"").unwrap_or_default(),
            Scalar::F32(x) => float(&mut self.out, f64::from(x), true),
            Scalar::F64(x) => float(&mut self.out, x, false),
            Scalar::Str(s) => string(&mut self.out, s),
            Scalar::Bytes(b) => {
                let enc = base64::engine::general_purpose::STANDARD.encode(b);
                string(&mut self.out, &enc);
            }
            Scalar::Enum(n, e) => match ENUMS[e].values().binary_search_by_key(&n, |(k, _)| *k) {
                Ok(j) => string(&mut self.out, ENUMS[e].values()[j].1.get()),
                Err(_) => write!(self.out, "{n}").unwrap_or_default(),
            },
            Scalar::Msg(b, m) => self.message(m, &[b], level)?,
        }
        Ok(())
    }

    fn json(&mut self, v: &Json, level: usize) {
        gojson::write_value(
            v,
            Flavour::Protojson,
            self.opts.indent,
            level,
            &mut self.out,
        );
    }

    fn timestamp(&mut self, msg: &Msg, parts: &[&[u8]]) -> Result<(), String> {
        let (secs, nanos) = seconds_nanos(msg, parts)?;
        // Go refuses what is outside 0001-01-01..=9999-12-31 or not a nanosecond count.
        if !(super::text::ZERO_TIME..=super::text::LAST_TIME).contains(&secs)
            || !(0..1_000_000_000).contains(&nanos)
        {
            return Err(format!("invalid Timestamp ({secs} s, {nanos} ns)"));
        }
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

    fn duration(&mut self, msg: &Msg, parts: &[&[u8]]) -> Result<(), String> {
        let (secs, nanos) = seconds_nanos(msg, parts)?;
        // Go refuses more than 10,000 years, a nanosecond part of a second or more, and
        // seconds and nanoseconds of different signs.
        if secs.unsigned_abs() > 315_576_000_000
            || nanos.unsigned_abs() >= 1_000_000_000
            || (secs < 0 && nanos > 0)
            || (secs > 0 && nanos < 0)
        {
            return Err(format!("invalid Duration ({secs} s, {nanos} ns)"));
        }
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

/// The `seconds` (field 1) and `nanos` (field 2) of a `Timestamp` or `Duration`.
fn seconds_nanos(msg: &Msg, parts: &[&[u8]]) -> Result<(i64, i32), String> {
    let slots = collect(msg, parts)?;
    let get = |i: usize| -> Result<Option<Scalar<'_>>, String> {
        match (
            msg.fields().get(i),
            slots.values.get(i).and_then(|v| v.last()),
        ) {
            (Some(f), Some(&w)) => scalar(f.ty, w).map(Some),
            _ => Ok(None),
        }
    };
    let secs = match get(0)? {
        Some(Scalar::I64(s)) => s,
        _ => 0,
    };
    let nanos = match get(1)? {
        Some(Scalar::I32(n)) => n,
        _ => 0,
    };
    Ok((secs, nanos))
}

/// The shorthand value of the `Payload` (`msg`, its table) whose wire bytes are the
/// concatenation of `parts` (see [`shorthand`]).
fn shorthand_wire(msg: &Msg, parts: &[&[u8]]) -> Result<Option<Json>, String> {
    // Payload: metadata = 1 (map<string, bytes>), data = 2.
    let slots = collect(msg, parts)?;
    let (Some(meta_field), Some(data_field)) = (msg.fields().first(), msg.fields().get(1)) else {
        return Err(malformed());
    };
    let Ty::Msg(entry_msg) = meta_field.ty else {
        return Err(malformed());
    };
    let meta = map_entries(entry_msg, &slots.values[0])?;
    let data = match slots.values[1].last() {
        Some(&w) => match scalar(data_field.ty, w)? {
            Scalar::Bytes(b) => b,
            _ => return Err(malformed()),
        },
        None => &[],
    };
    let get = |key: &str| match meta.get(&Key::Str(key)) {
        Some(Scalar::Bytes(b)) => Some(*b),
        _ => None,
    };
    shorthand_of(get, meta.len(), data)
}

/// The shorthand value of a `Payload` (FACTS §4.1): its decoded JSON when the metadata is exactly
/// `{encoding: json/plain}`, or `json/protobuf` plus `messageType` (which is added to the object
/// as `_protoMessageType`); `None` keeps the normal form. `Err` for what the CLI itself would fail
/// on (data that is not JSON) or cases whose Go output is not pinned down here (a `binary/null`
/// payload with data): the CLI renders those.
pub fn shorthand(
    payload: &temporalio_protos::protos::temporal::api::common::v1::Payload,
) -> Result<Option<Json>, String> {
    let get = |key: &str| payload.metadata.get(key).map(Vec::as_slice);
    shorthand_of(get, payload.metadata.len(), &payload.data)
}

fn shorthand_of<'m>(
    metadata: impl Fn(&str) -> Option<&'m [u8]>,
    entries: usize,
    data: &[u8],
) -> Result<Option<Json>, String> {
    match metadata("encoding") {
        Some(b"json/plain") if entries == 1 => match gojson::parse(data)? {
            // Go reads it as nil, which the CLI writes as the `binary/null` payload an SDK
            // sends for nil (checked against the CLI: a query answer and a completed run's
            // result, alone and in a list). An empty array, here as anywhere in a value, is
            // written `null` by the printers.
            Json::Null => Ok(Some(binary_null())),
            v => Ok(Some(v)),
        },
        Some(b"json/protobuf") => {
            let Some(ty) = metadata("messageType").filter(|t| !t.is_empty()) else {
                return Ok(None);
            };
            if entries != 2 {
                return Ok(None);
            }
            let ty = std::str::from_utf8(ty).map_err(|_| "messageType is not UTF-8".to_owned())?;
            match gojson::parse(data)? {
                Json::Obj(mut m) => {
                    m.insert("_protoMessageType".to_owned(), Json::Str(ty.to_owned()));
                    Ok(Some(Json::Obj(m)))
                }
                _ => Err("a json/protobuf payload that is not an object".to_owned()),
            }
        }
        // The CLI's api-go writes a `binary/null` payload (what an SDK sends for a nil or
        // `None` result) in its normal form, but as an element that lets its `Payloads` be
        // written as an array (checked against the real CLI: a Python workflow returning `None`
        // gives `"result": [{"metadata": {"encoding": "YmluYXJ5L251bGw="}}]` in a close event).
        // With more metadata too (an SDK's unset search attribute names its `type`): the CLI
        // reads it as nil and writes the plain form, its other keys gone (checked as a query
        // answer, alone and beside JSON, in every format). Data in one is not pinned down: it
        // falls back.
        Some(b"binary/null") if data.is_empty() => Ok(Some(binary_null())),
        Some(b"binary/null") => {
            Err("a binary/null payload with data is rendered by the CLI".to_owned())
        }
        _ => Ok(None),
    }
}

/// The plain `binary/null` payload in its normal form: `{"metadata":{"encoding":"YmluYXJ5L251bGw="}}`.
fn binary_null() -> Json {
    let encoding = base64::engine::general_purpose::STANDARD.encode(b"binary/null");
    let metadata = Json::Obj([("encoding".to_owned(), Json::Str(encoding))].into());
    Json::Obj([("metadata".to_owned(), metadata)].into())
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
    // Go compares at the value's own size: a float32 against float32(1e-6) and float32(1e21).
    let exp_form = abs != 0.0
        && if is32 {
            !(1e-6f32..1e21f32).contains(&(abs as f32))
        } else {
            !(1e-6..1e21).contains(&abs)
        };
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
        // A float32 meets the `e` threshold at its own size, as Go compares it.
        let f32 = |v: f32| {
            let mut s = String::new();
            go_float32(&mut s, v);
            s
        };
        assert_eq!(f32(1e-6), "0.000001");
        assert_eq!(f32(9e-7), "9e-7");
        assert_eq!(f32(1.7), "1.7");
    }

    #[test]
    fn unknown_fields_and_enum_values_are_found_at_any_depth() {
        let describe = "temporal.api.workflowservice.v1.DescribeWorkflowExecutionResponse";
        // DescribeWorkflowExecutionResponse.workflow_execution_info (2) holding `inner`.
        let wrap = |inner: &[u8]| {
            let mut b = vec![0x12, inner.len() as u8];
            b.extend_from_slice(inner);
            b
        };
        // WorkflowExecutionInfo: status (5) = 2, history_length (6) = 9: all known.
        let known = [0x28, 2, 0x30, 9];
        assert_eq!(unknown_value(describe, &wrap(&known)), Ok(None));
        assert_eq!(unknown_value(describe, &[]), Ok(None));
        // A field number WorkflowExecutionInfo does not declare (999, varint 7).
        let field = [0x28, 2, 0xb8, 0x3e, 7];
        assert_eq!(
            unknown_value(describe, &wrap(&field)),
            Ok(Some(
                "temporal.api.workflow.v1.WorkflowExecutionInfo#999".to_owned()
            ))
        );
        // A status number WorkflowExecutionStatus does not name.
        let status = [0x28, 99];
        assert_eq!(
            unknown_value(describe, &wrap(&status)),
            Ok(Some(
                "temporal.api.enums.v1.WorkflowExecutionStatus=99".to_owned()
            ))
        );
        // At the top level too, and bytes that are not protobuf are an error.
        assert_eq!(
            unknown_value(describe, &[0xb8, 0x3e, 7]),
            Ok(Some(format!("{describe}#999")))
        );
        assert!(unknown_value(describe, &[0x12, 9, 1]).is_err());
        assert!(unknown_value("no.Such", &[]).is_err());
        // WorkerInfo.worker_heartbeat (1) . host_info (3) . current_host_cpu_usage (3, float):
        // a negative zero (which Go prints, prost drops) is found; a positive one is not.
        let worker = |bits: [u8; 4]| {
            let mut b = vec![0x0a, 7, 0x1a, 5, 0x1d];
            b.extend_from_slice(&bits);
            b
        };
        assert_eq!(
            unknown_value(
                "temporal.api.worker.v1.WorkerInfo",
                &worker([0, 0, 0, 0x80])
            ),
            Ok(Some(
                "a negative zero in temporal.api.worker.v1.WorkerHostInfo#3".to_owned()
            ))
        );
        assert_eq!(
            unknown_value("temporal.api.worker.v1.WorkerInfo", &worker([0, 0, 0, 0])),
            Ok(None)
        );
    }
}

/// The renderer against `prost-reflect`'s protojson serialiser (an independent implementation
/// over the same descriptors), on random messages of every root type and on concatenations of
/// two (protobuf's merge: last singular value wins, repeated fields append, sub-messages merge,
/// the later oneof member replaces the earlier).
#[cfg(test)]
mod differential {
    use super::*;
    use prost_reflect::{
        DescriptorPool, DynamicMessage, FieldDescriptor, Kind, MapKey, MessageDescriptor,
        SerializeOptions, Value,
    };

    fn pool() -> DescriptorPool {
        DescriptorPool::decode(
            &include_bytes!(concat!(env!("OUT_DIR"), "/temporal_descriptors.bin"))[..],
        )
        .unwrap()
    }

    /// xorshift64*: deterministic, so a failure names a seed that reproduces it. Durations
    /// are all negative or all not (so that two merged messages hold valid ones).
    struct Rng(u64, bool);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        fn chance(&mut self, percent: u64) -> bool {
            self.below(100) < percent
        }
    }

    fn unsupported(m: &MessageDescriptor) -> bool {
        let name = m.full_name();
        matches!(
            name,
            "google.protobuf.Any"
                | "google.protobuf.Struct"
                | "google.protobuf.Value"
                | "google.protobuf.ListValue"
                | "google.protobuf.FieldMask"
        ) || (name.starts_with("google.protobuf.") && name.ends_with("Value"))
    }

    fn string(rng: &mut Rng) -> String {
        const PARTS: &[&str] = &[
            "a", "Z", "9", " ", "\"", "\\", "\n", "\t", "\u{1}", "é", "日本", "😀", "<", "&",
            "\u{2028}",
        ];
        (0..rng.below(6))
            .map(|_| PARTS[rng.below(PARTS.len() as u64) as usize])
            .collect()
    }

    fn int(rng: &mut Rng) -> i64 {
        match rng.below(5) {
            0 => 0,
            1 => rng.below(100) as i64,
            2 => -(rng.below(100) as i64) - 1,
            3 => i64::MAX - rng.below(3) as i64,
            _ => rng.next() as i64,
        }
    }

    fn single(kind: &Kind, rng: &mut Rng, depth: usize) -> Option<Value> {
        Some(match kind {
            Kind::Double => Value::F64(match rng.below(6) {
                0 => 0.0,
                1 => f64::NAN,
                2 => f64::NEG_INFINITY,
                3 => 1.5e-7,
                4 => -2.5e21,
                _ => f64::from_bits(rng.next() & 0x7fef_ffff_ffff_ffff),
            }),
            // Short dyadic fractions: exact in both renderings of a float32.
            Kind::Float => Value::F32((int(rng) % 1000) as f32 / 8.0),
            Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => Value::I32(int(rng) as i32),
            Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => Value::I64(int(rng)),
            Kind::Uint32 | Kind::Fixed32 => Value::U32(int(rng) as u32),
            Kind::Uint64 | Kind::Fixed64 => Value::U64(int(rng) as u64),
            Kind::Bool => Value::Bool(rng.chance(50)),
            Kind::String => Value::String(string(rng)),
            Kind::Bytes => Value::Bytes((0..rng.below(7)).map(|_| rng.next() as u8).collect()),
            Kind::Enum(e) => {
                let values: Vec<i32> = e.values().map(|v| v.number()).collect();
                Value::EnumNumber(if rng.chance(10) {
                    999
                } else {
                    values[rng.below(values.len() as u64) as usize]
                })
            }
            Kind::Message(m) => {
                if unsupported(m) || depth > 3 {
                    return None;
                }
                Value::Message(message(m, rng, depth + 1))
            }
        })
    }

    fn map_key(kind: &Kind, rng: &mut Rng) -> MapKey {
        match kind {
            Kind::String => MapKey::String(string(rng)),
            Kind::Bool => MapKey::Bool(rng.chance(50)),
            Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => MapKey::I32(int(rng) as i32),
            Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => MapKey::I64(int(rng)),
            Kind::Uint32 | Kind::Fixed32 => MapKey::U32(int(rng) as u32),
            _ => MapKey::U64(int(rng) as u64),
        }
    }

    fn field(f: &FieldDescriptor, rng: &mut Rng, depth: usize) -> Option<Value> {
        if f.is_map() {
            let Kind::Message(entry) = f.kind() else {
                unreachable!()
            };
            let (k, v) = (entry.map_entry_key_field(), entry.map_entry_value_field());
            let mut map = std::collections::HashMap::new();
            for _ in 0..rng.below(4) {
                map.insert(map_key(&k.kind(), rng), single(&v.kind(), rng, depth)?);
            }
            Some(Value::Map(map))
        } else if f.is_list() {
            let items: Option<Vec<Value>> = (0..rng.below(4))
                .map(|_| single(&f.kind(), rng, depth))
                .collect();
            Some(Value::List(items?))
        } else {
            single(&f.kind(), rng, depth)
        }
    }

    fn message(desc: &MessageDescriptor, rng: &mut Rng, depth: usize) -> DynamicMessage {
        let mut msg = DynamicMessage::new(desc.clone());
        match desc.full_name() {
            "google.protobuf.Timestamp" | "google.protobuf.Duration" => {
                let negative = desc.full_name().ends_with("Duration") && rng.1;
                let secs = rng.below(253_402_300_799) as i64;
                let nanos = [0, 5_000_000, 807_106_000, 807_106_584][rng.below(4) as usize];
                let sign = if negative { -1 } else { 1 };
                msg.set_field_by_name("seconds", Value::I64(sign * secs));
                msg.set_field_by_name("nanos", Value::I32(sign as i32 * nanos));
                return msg;
            }
            _ => {}
        }
        for f in desc.fields() {
            if rng.chance(40)
                && let Some(v) = field(&f, rng, depth)
            {
                msg.set_field(&f, v);
            }
        }
        msg
    }

    fn reference(desc: &MessageDescriptor, bytes: &[u8]) -> serde_json::Value {
        let msg = DynamicMessage::decode(desc.clone(), bytes).unwrap();
        msg.serialize_with_options(serde_json::value::Serializer, &SerializeOptions::new())
            .unwrap()
    }

    /// Every number as a float: Go writes the float 1 as `1`, prost-reflect as `1.0`. (Only
    /// 32-bit integers and floats are JSON numbers; 64-bit integers are strings.)
    fn numbers_as_floats(v: serde_json::Value) -> serde_json::Value {
        use serde_json::Value as J;
        match v {
            J::Number(n) => {
                serde_json::Number::from_f64(n.as_f64().unwrap()).map_or(J::Null, J::Number)
            }
            J::Array(a) => J::Array(a.into_iter().map(numbers_as_floats).collect()),
            J::Object(o) => J::Object(
                o.into_iter()
                    .map(|(k, v)| (k, numbers_as_floats(v)))
                    .collect(),
            ),
            other => other,
        }
    }

    /// Where two JSON values first differ: `path: ours != theirs`.
    fn difference(a: &serde_json::Value, b: &serde_json::Value, path: &str) -> Option<String> {
        use serde_json::Value as J;
        match (a, b) {
            (J::Object(x), J::Object(y)) => {
                x.keys()
                    .chain(y.keys())
                    .find_map(|k| match (x.get(k), y.get(k)) {
                        (Some(p), Some(q)) => difference(p, q, &format!("{path}.{k}")),
                        (p, q) => Some(format!("{path}.{k}: {p:?} != {q:?}")),
                    })
            }
            (J::Array(x), J::Array(y)) if x.len() == y.len() => x
                .iter()
                .zip(y)
                .enumerate()
                .find_map(|(i, (p, q))| difference(p, q, &format!("{path}[{i}]"))),
            // serde_json's default float parser (reading our text) may be one unit in the last
            // place off; the reference value is the exact float.
            (J::Number(x), J::Number(y)) => {
                let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
                let ulps = (x.to_bits() as i64)
                    .wrapping_sub(y.to_bits() as i64)
                    .unsigned_abs();
                (ulps > 1 && x.signum() == y.signum() || x.signum() != y.signum() && x != y)
                    .then(|| format!("{path}: {x:e} != {y:e}"))
            }
            _ if a == b => None,
            _ => Some(format!("{path}: {a} != {b}")),
        }
    }

    #[test]
    fn matches_prost_reflect_on_random_messages() {
        let pool = pool();
        let opts = Options {
            indent: false,
            shorthand: false,
        };
        let mut compared = 0;
        for (r, root) in MESSAGES.iter().enumerate().take(ROOT_COUNT) {
            let desc = pool.get_message_by_name(root.name()).unwrap();
            for seed in 1..=300u64 {
                let mut rng = Rng(seed * 7919 + r as u64, seed % 3 == 0);
                let a = prost::Message::encode_to_vec(&message(&desc, &mut rng, 0));
                let b = prost::Message::encode_to_vec(&message(&desc, &mut rng, 0));
                for bytes in [a.clone(), [a, b].concat()] {
                    let ours = render(root.name(), &bytes, opts)
                        .unwrap_or_else(|e| panic!("{} seed {seed}: {e}", root.name()));
                    let ours: serde_json::Value = serde_json::from_str(&ours)
                        .unwrap_or_else(|e| panic!("{} seed {seed}: {e}: {ours}", root.name()));
                    let theirs = numbers_as_floats(reference(&desc, &bytes));
                    let ours = numbers_as_floats(ours);
                    if let Some(diff) = difference(&ours, &theirs, "") {
                        panic!("{} seed {seed}: {diff}", root.name());
                    }
                    compared += 1;
                }
            }
        }
        assert_eq!(compared, ROOT_COUNT * 600);
    }

    /// The generated tables, which hold spans of shared arrays and of one string instead of
    /// pointers, read back as the descriptors say: every message's name, its fields in
    /// declaration order with their numbers, JSON names and types, the by-number index, every
    /// enum's values.
    #[test]
    fn the_tables_read_back_as_the_descriptors() {
        let pool = pool();
        for (index, msg) in MESSAGES.iter().enumerate() {
            let desc = pool
                .get_message_by_name(msg.name())
                .unwrap_or_else(|| panic!("{} is not a message", msg.name()));
            assert_eq!(message_index(msg.name()), Some(index));
            // Declaration order: the descriptor's own list (prost-reflect iterates by number).
            let declared: Vec<FieldDescriptor> = desc
                .descriptor_proto()
                .field
                .iter()
                .map(|f| desc.get_field(f.number() as u32).unwrap())
                .collect();
            assert_eq!(msg.fields().len(), declared.len(), "{}", msg.name());
            for (f, d) in msg.fields().iter().zip(&declared) {
                let field = format!("{}.{}", msg.name(), d.name());
                assert_eq!(
                    (f.number, f.json.get()),
                    (d.number(), d.json_name()),
                    "{field}"
                );
                match (f.ty, d.kind()) {
                    (Ty::Msg(i), Kind::Message(m)) => {
                        assert_eq!(MESSAGES[i].name(), m.full_name(), "{field}");
                    }
                    (Ty::Enum(i), Kind::Enum(e)) => {
                        assert_eq!(ENUMS[i].name.get(), e.full_name(), "{field}");
                    }
                    (Ty::Msg(_) | Ty::Enum(_), kind) => panic!("{field} is {kind:?}"),
                    (_, Kind::Message(_) | Kind::Enum(_)) => panic!("{field} is {:?}", f.ty),
                    _ => {}
                }
            }
            for f in msg.fields() {
                let i = msg
                    .field_index(u64::from(f.number), &mut 0)
                    .unwrap_or_else(|| panic!("{}#{} not found", msg.name(), f.number));
                assert_eq!(msg.fields()[i].number, f.number);
            }
        }
        for e in &ENUMS {
            let desc = pool.get_enum_by_name(e.name.get()).unwrap();
            let mut theirs: Vec<(i32, String)> = desc
                .values()
                .map(|v| (v.number(), v.name().to_owned()))
                .collect();
            theirs.sort_by_key(|(n, _)| *n);
            theirs.dedup_by_key(|(n, _)| *n);
            let ours: Vec<(i32, String)> = e
                .values()
                .iter()
                .map(|(n, v)| (*n, v.get().to_owned()))
                .collect();
            assert_eq!(ours, theirs, "{}", e.name.get());
        }
    }

    /// Go writes fields in declaration order, not number order: `namespace_id` (6) is declared
    /// right after `namespace` (1) in a child workflow's started event.
    #[test]
    fn fields_are_written_in_declaration_order() {
        use temporalio_protos::protos::temporal::api::history::v1::ChildWorkflowExecutionStartedEventAttributes;
        let attrs = ChildWorkflowExecutionStartedEventAttributes {
            namespace: "ns".to_owned(),
            namespace_id: "id".to_owned(),
            initiated_event_id: 6,
            ..Default::default()
        };
        let json = render(
            "temporal.api.history.v1.ChildWorkflowExecutionStartedEventAttributes",
            &prost::Message::encode_to_vec(&attrs),
            Options {
                indent: false,
                shorthand: true,
            },
        )
        .unwrap();
        assert_eq!(
            json,
            r#"{"namespace":"ns","namespaceId":"id","initiatedEventId":"6"}"#
        );
    }

    #[test]
    fn indented_output_is_the_compact_output_reindented() {
        let pool = pool();
        let root = "temporal.api.workflowservice.v1.DescribeWorkflowExecutionResponse";
        let desc = pool.get_message_by_name(root).unwrap();
        for seed in 1..=50u64 {
            let bytes = prost::Message::encode_to_vec(&message(&desc, &mut Rng(seed, false), 0));
            let render_with = |indent| {
                let json = render(
                    root,
                    &bytes,
                    Options {
                        indent,
                        shorthand: false,
                    },
                )
                .unwrap();
                serde_json::from_str::<serde_json::Value>(&json).unwrap()
            };
            assert_eq!(render_with(true), render_with(false), "seed {seed}");
        }
    }

    #[test]
    fn unpacked_repeated_scalars_and_unknown_fields() {
        let opts = Options {
            indent: false,
            shorthand: false,
        };
        // WorkflowExecutionInfo: an unknown field 999 (varint) is skipped; `history_length`
        // (field 6, int64) given twice: the last wins.
        let bytes = [
            0xb8, 0x3e, 7, // field 999 (key 7992 = 0x3e << 7 | 0x38), varint: 7
            0x30, 5, // field 6, varint: 5
            0x30, 9, // field 6, varint: 9
        ];
        let json = render(
            "temporal.api.workflow.v1.WorkflowExecutionInfo",
            &bytes,
            opts,
        );
        assert_eq!(json.unwrap(), r#"{"historyLength":"9"}"#);
        // WorkflowTaskCompletedMetadata: `core_used_flags` (field 1, repeated uint32) as two
        // unpacked values and a packed run of two, in wire order.
        let bytes = [
            0x08, 1, // field 1, varint: 1
            0x0a, 3, 3, 0xac, 0x02, // field 1, packed: 3, 300
            0x08, 4, // field 1, varint: 4
        ];
        let json = render(
            "temporal.api.sdk.v1.WorkflowTaskCompletedMetadata",
            &bytes,
            opts,
        );
        assert_eq!(json.unwrap(), r#"{"coreUsedFlags":[1,3,300,4]}"#);
    }

    #[test]
    fn a_payload_in_two_parts_is_merged_before_its_shorthand() {
        // UserMetadata.summary (field 1, a Payload) given twice: the metadata (one map entry of
        // 22 bytes: key "encoding", value "json/plain"), then the data.
        let metadata = [0x0a, 0x16, 0x0a, 0x08]
            .into_iter()
            .chain(*b"encoding")
            .chain([0x12, 0x0a])
            .chain(*b"json/plain");
        let first: Vec<u8> = metadata.collect();
        let second = [0x12, 0x01, b'7'];
        let bytes = [
            &[0x0a, first.len() as u8][..],
            &first,
            &[0x0a, second.len() as u8],
            &second,
        ]
        .concat();
        let opts = Options {
            indent: false,
            shorthand: true,
        };
        let json = render("temporal.api.sdk.v1.UserMetadata", &bytes, opts).unwrap();
        assert_eq!(json, r#"{"summary":7}"#);
    }

    #[test]
    fn bytes_that_are_not_the_message_are_refused() {
        let root = "temporal.api.workflow.v1.WorkflowExecutionInfo";
        let opts = Options {
            indent: false,
            shorthand: false,
        };
        for bad in [&[0x0a, 0x05, 0x01][..], &[0x08], &[0x0b], &[0x32, 0x01]] {
            assert!(render(root, bad, opts).is_err(), "{bad:?}");
        }
        assert!(render("no.such.Message", &[], opts).is_err());
        // Durations Go refuses: mixed signs (-1 s, +5 ns), 10,001 years; a timestamp in year 0.
        let duration = "temporal.api.workflow.v1.WorkflowExecutionConfig";
        let seconds = |s: i64| {
            let mut b = vec![0x08];
            let mut v = s as u64;
            while v >= 0x80 {
                b.push(v as u8 | 0x80);
                v >>= 7;
            }
            b.push(v as u8);
            b
        };
        // WorkflowExecutionConfig.workflow_execution_timeout is field 2 (Duration).
        for d in [
            [seconds(-1), vec![0x10, 5]].concat(),
            seconds(315_576_000_001),
        ] {
            let bytes = [&[0x12, d.len() as u8][..], &d].concat();
            let err = render(duration, &bytes, opts).unwrap_err();
            assert!(err.contains("invalid Duration"), "{err}");
        }
        let ts = seconds(-62_135_596_801);
        let bytes = [&[0x1a, ts.len() as u8][..], &ts].concat();
        let err = render(root, &bytes, opts).unwrap_err();
        assert!(err.contains("invalid Timestamp"), "{err}");
    }
}
