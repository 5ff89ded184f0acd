//! JSON read the way Go's `encoding/json` reads it into an `interface{}`, for the payload
//! shorthand (FACTS §4.1), and written back the way it writes a `map[string]any` (a closed
//! workflow's description goes through that round trip in the CLI): every number becomes a float64 (so `12345678901234567890` prints as
//! `12345678901234567000` and `-0` keeps its sign), objects are maps (sorted keys, the last
//! duplicate wins), lone surrogates in strings become U+FFFD. serde_json differs on the last
//! three points, hence this small reader. Invalid UTF-8 is refused (Go would substitute).

use std::collections::BTreeMap;

/// A decoded JSON value.
#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// Any number, as Go's float64.
    Num(f64),
    /// A string.
    Str(String),
    /// An array.
    Arr(Vec<Json>),
    /// An object, keys in byte order.
    Obj(BTreeMap<String, Json>),
}

/// Nesting deeper than this is refused (Go allows 10,000; the caller falls back to the CLI).
const MAX_DEPTH: usize = 512;

/// Parses one JSON document (surrounding whitespace allowed). `Err` says where it is not JSON
/// this reader takes (see [`parse_checked`]).
pub fn parse(bytes: &[u8]) -> Result<Json, String> {
    parse_checked(bytes).map_err(|e| match e {
        Refused::NotJson(m) | Refused::Beyond(m) => m,
    })
}

/// Why [`parse_checked`] refused a text.
#[derive(Debug, PartialEq)]
pub enum Refused {
    /// Not JSON: Go's `json.Valid` refuses it too (the first error is one of syntax).
    NotJson(String),
    /// Beyond what this reader takes, though Go may accept it: a number beyond float64, nesting
    /// deeper than [`MAX_DEPTH`], invalid UTF-8 in a string (the rest is not read).
    Beyond(String),
}

/// [`parse`], telling text that is not JSON from JSON this reader does not take.
pub fn parse_checked(bytes: &[u8]) -> Result<Json, Refused> {
    let mut p = Parser {
        b: bytes,
        i: 0,
        beyond: false,
    };
    let parsed = (|| {
        p.ws();
        let v = p.value(0)?;
        p.ws();
        if p.i != p.b.len() {
            return Err(format!(
                "invalid character after top-level value at byte {}",
                p.i
            ));
        }
        Ok(v)
    })();
    parsed.map_err(|m| {
        if p.beyond {
            Refused::Beyond(m)
        } else {
            Refused::NotJson(m)
        }
    })
}

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
    /// Set where the refusal is of JSON beyond this reader, not of its syntax.
    beyond: bool,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    fn err<T>(&self, what: &str) -> Result<T, String> {
        Err(format!("{what} at byte {}", self.i))
    }

    fn literal(&mut self, word: &[u8], v: Json) -> Result<Json, String> {
        if self.b[self.i..].starts_with(word) {
            self.i += word.len();
            Ok(v)
        } else {
            self.err("invalid literal")
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json, String> {
        if depth > MAX_DEPTH {
            self.beyond = true;
            return self.err("nesting too deep");
        }
        match self.b.get(self.i) {
            Some(b'n') => self.literal(b"null", Json::Null),
            Some(b't') => self.literal(b"true", Json::Bool(true)),
            Some(b'f') => self.literal(b"false", Json::Bool(false)),
            Some(b'"') => self.string().map(Json::Str),
            Some(b'[') => {
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.b.get(self.i) == Some(&b']') {
                    self.i += 1;
                    return Ok(Json::Arr(items));
                }
                loop {
                    self.ws();
                    items.push(self.value(depth + 1)?);
                    self.ws();
                    match self.b.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b']') => {
                            self.i += 1;
                            return Ok(Json::Arr(items));
                        }
                        _ => return self.err("expected , or ]"),
                    }
                }
            }
            Some(b'{') => {
                self.i += 1;
                let mut map = BTreeMap::new();
                self.ws();
                if self.b.get(self.i) == Some(&b'}') {
                    self.i += 1;
                    return Ok(Json::Obj(map));
                }
                loop {
                    self.ws();
                    if self.b.get(self.i) != Some(&b'"') {
                        return self.err("expected a string key");
                    }
                    let k = self.string()?;
                    self.ws();
                    if self.b.get(self.i) != Some(&b':') {
                        return self.err("expected :");
                    }
                    self.i += 1;
                    self.ws();
                    let v = self.value(depth + 1)?;
                    map.insert(k, v);
                    self.ws();
                    match self.b.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b'}') => {
                            self.i += 1;
                            return Ok(Json::Obj(map));
                        }
                        _ => return self.err("expected , or }"),
                    }
                }
            }
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => self.err("invalid character"),
        }
    }

    fn number(&mut self) -> Result<Json, String> {
        let start = self.i;
        let digits = |p: &mut Self| {
            let s = p.i;
            while let Some(b'0'..=b'9') = p.b.get(p.i) {
                p.i += 1;
            }
            p.i - s
        };
        if self.b.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        match self.b.get(self.i) {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                digits(self);
            }
            _ => return self.err("invalid number"),
        }
        if self.b.get(self.i) == Some(&b'.') {
            self.i += 1;
            if digits(self) == 0 {
                return self.err("invalid number");
            }
        }
        if let Some(b'e' | b'E') = self.b.get(self.i) {
            self.i += 1;
            if let Some(b'+' | b'-') = self.b.get(self.i) {
                self.i += 1;
            }
            if digits(self) == 0 {
                return self.err("invalid number");
            }
        }
        let text = std::str::from_utf8(&self.b[start..self.i]).unwrap_or_default();
        // Rust's float parsing rounds correctly, as Go's strconv.ParseFloat does; Go refuses what
        // overflows float64.
        match text.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(Json::Num(v)),
            _ => {
                self.beyond = true;
                Err(format!("number {text} out of range"))
            }
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let h = self.b.get(self.i..self.i + 4)?;
        let s = std::str::from_utf8(h).ok()?;
        let v = u32::from_str_radix(s, 16).ok()?;
        if !h.iter().all(u8::is_ascii_hexdigit) {
            return None;
        }
        self.i += 4;
        Some(v)
    }

    fn string(&mut self) -> Result<String, String> {
        self.i += 1; // opening quote
        let mut out: Vec<u8> = Vec::new();
        loop {
            let Some(&c) = self.b.get(self.i) else {
                return self.err("unterminated string");
            };
            match c {
                b'"' => {
                    self.i += 1;
                    // Go replaces invalid UTF-8 byte by byte; rather than copy that, refuse (the
                    // caller falls back to the CLI).
                    return String::from_utf8(out).map_err(|_| {
                        self.beyond = true;
                        "invalid UTF-8 in a string".to_owned()
                    });
                }
                b'\\' => {
                    self.i += 1;
                    let Some(&e) = self.b.get(self.i) else {
                        return self.err("unterminated string");
                    };
                    self.i += 1;
                    let simple = match e {
                        b'"' => Some('"'),
                        b'\\' => Some('\\'),
                        b'/' => Some('/'),
                        b'b' => Some('\u{8}'),
                        b'f' => Some('\u{c}'),
                        b'n' => Some('\n'),
                        b'r' => Some('\r'),
                        b't' => Some('\t'),
                        b'u' => None,
                        _ => return self.err("invalid escape"),
                    };
                    let ch = match simple {
                        Some(ch) => ch,
                        None => {
                            let Some(u) = self.hex4() else {
                                return self.err("invalid \\u escape");
                            };
                            if (0xD800..0xDC00).contains(&u) {
                                // A high surrogate pairs with a following low one; alone it is
                                // U+FFFD (and the next escape is read on its own).
                                let save = self.i;
                                let low = if self.b.get(self.i..self.i + 2) == Some(b"\\u") {
                                    self.i += 2;
                                    self.hex4()
                                } else {
                                    None
                                };
                                match low {
                                    Some(l) if (0xDC00..0xE000).contains(&l) => char::from_u32(
                                        0x10000 + ((u - 0xD800) << 10) + (l - 0xDC00),
                                    )
                                    .unwrap_or('\u{FFFD}'),
                                    _ => {
                                        self.i = save;
                                        '\u{FFFD}'
                                    }
                                }
                            } else {
                                char::from_u32(u).unwrap_or('\u{FFFD}')
                            }
                        }
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
                c if c < 0x20 => return self.err("control character in string"),
                c => {
                    out.push(c);
                    self.i += 1;
                }
            }
        }
    }
}

/// Writes `v` as Go's `encoding/json` does (`json.Marshal`, or `json.MarshalIndent(v, "", "  ")`
/// when `indent`): map keys sorted, `<`, `>`, `&`, U+2028 and U+2029 escaped, numbers as float64.
/// `raw` entries (a `json.RawMessage` at a top-level key) are copied through Go's compaction and
/// re-indentation: their key order is kept and the same characters escaped.
pub fn write_go(v: &Json, indent: bool, out: &mut String) {
    write_value(v, Flavour::EncodingJson, indent, 0, out);
}

/// Which of Go's two JSON writers to match.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavour {
    /// api-go's protojson (payload shorthand values): only `"`, `\` and control characters
    /// escaped; an empty array prints as `null`.
    Protojson,
    /// `encoding/json`: HTML-safe (`<`, `>`, `&`, U+2028, U+2029 escaped too); `[]` stays `[]`.
    EncodingJson,
}

/// A top-level object with some members given as raw JSON text (Go: `map[string]any` holding
/// `json.RawMessage` values), written as `encoding/json` writes it.
pub fn write_go_object_with_raw(
    members: &BTreeMap<String, Json>,
    raw: &BTreeMap<String, String>,
    indent: bool,
    out: &mut String,
) {
    let mut keys: Vec<&String> = members.keys().chain(raw.keys()).collect();
    keys.sort();
    keys.dedup();
    if keys.is_empty() {
        out.push_str("{}");
        return;
    }
    out.push('{');
    for (i, k) in keys.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        newline(indent, 1, out);
        write_string(k, Flavour::EncodingJson, out);
        out.push_str(if indent { ": " } else { ":" });
        match raw.get(*k) {
            Some(text) => reindent(text, indent, 1, out),
            None => write_value(&members[*k], Flavour::EncodingJson, indent, 1, out),
        }
    }
    newline(indent, 0, out);
    out.push('}');
}

/// A line break and `level` two-space indents, when indenting.
pub(crate) fn newline(indent: bool, level: usize, out: &mut String) {
    if indent {
        out.push('\n');
        for _ in 0..level {
            out.push_str("  ");
        }
    }
}

/// `v` in `flavour`, starting at depth `level` (for a value nested in a document being written).
pub(crate) fn write_value(
    v: &Json,
    flavour: Flavour,
    indent: bool,
    level: usize,
    out: &mut String,
) {
    match v {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Num(n) => super::protojson::go_float(out, *n),
        Json::Str(t) => write_string(t, flavour, out),
        Json::Arr(items) if items.is_empty() => out.push_str(match flavour {
            Flavour::Protojson => "null",
            Flavour::EncodingJson => "[]",
        }),
        Json::Arr(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(indent, level + 1, out);
                write_value(item, flavour, indent, level + 1, out);
            }
            newline(indent, level, out);
            out.push(']');
        }
        Json::Obj(map) if map.is_empty() => out.push_str("{}"),
        Json::Obj(map) => {
            out.push('{');
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(indent, level + 1, out);
                write_string(k, flavour, out);
                out.push_str(if indent { ": " } else { ":" });
                write_value(item, flavour, indent, level + 1, out);
            }
            newline(indent, level, out);
            out.push('}');
        }
    }
}

/// A `time.Time` as Go's `encoding/json` writes it (see [`crate::exec::text::rfc3339_nano`]);
/// `None` is Go's zero time, as the SDK's conversions give it for a timestamp not sent.
pub(crate) fn write_go_time(t: Option<(i64, i32)>, out: &mut String) {
    let (secs, nanos) = t.unwrap_or((crate::exec::text::ZERO_TIME, 0));
    write_go_string(&crate::exec::text::rfc3339_nano(secs, nanos), out);
}

/// A JSON string as Go's `encoding/json` writes it (HTML-safe).
pub(crate) fn write_go_string(s: &str, out: &mut String) {
    write_string(s, Flavour::EncodingJson, out);
}

/// A JSON string as `flavour` writes it. Runs of characters written as they are go out whole;
/// only a byte that may need escaping is looked at closer (a native read writes every string
/// of its response through here).
pub(crate) fn write_string(s: &str, flavour: Flavour, out: &mut String) {
    let html = flavour == Flavour::EncodingJson;
    out.reserve(s.len() + 2);
    out.push('"');
    let bytes = s.as_bytes();
    let mut plain = 0;
    for (i, &b) in bytes.iter().enumerate() {
        // Its short escape, or `None` for `\u` and the character's code.
        let short = match b {
            b'"' => Some("\\\""),
            b'\\' => Some("\\\\"),
            b'\n' => Some("\\n"),
            b'\r' => Some("\\r"),
            b'\t' => Some("\\t"),
            0x08 => Some("\\b"),
            0x0c => Some("\\f"),
            0..0x20 => None,
            b'<' | b'>' | b'&' if html => None,
            // U+2028 and U+2029 (E2 80 A8, E2 80 A9): the character starting here.
            0xe2 if html && matches!(bytes.get(i + 1..i + 3), Some([0x80, 0xa8 | 0xa9])) => None,
            _ => continue,
        };
        out.push_str(&s[plain..i]);
        match short {
            Some(escape) => {
                out.push_str(escape);
                plain = i + 1;
            }
            None => {
                let c = s[i..].chars().next().unwrap_or_default();
                out.push_str(&format!("\\u{:04x}", c as u32));
                plain = i + c.len_utf8();
            }
        }
    }
    out.push_str(&s[plain..]);
    out.push('"');
}

/// [`write_string`] character by character: what it must agree with.
#[cfg(test)]
fn write_string_by_char(s: &str, flavour: Flavour, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' if flavour == Flavour::EncodingJson => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Compact JSON text (protojson's, valid) re-indented as Go's `json.Indent` does inside
/// `MarshalIndent`, with `compact`'s HTML escaping; `level` is the depth it starts at.
pub(crate) fn reindent(raw: &str, indent: bool, level: usize, out: &mut String) {
    let mut depth = level;
    let mut in_string = false;
    let mut escaped = false;
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if in_string {
            match c {
                _ if escaped => {
                    escaped = false;
                    out.push(c);
                }
                '\\' => {
                    escaped = true;
                    out.push(c);
                }
                '"' => {
                    in_string = false;
                    out.push(c);
                }
                '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                    out.push_str(&format!("\\u{:04x}", c as u32));
                }
                c => out.push(c),
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                let close = if c == '{' { '}' } else { ']' };
                if chars.peek() == Some(&close) {
                    // Go keeps an empty object or array on one line.
                    out.push(close);
                    chars.next();
                } else {
                    depth += 1;
                    newline(indent, depth, out);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(indent, depth, out);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(indent, depth, out);
            }
            ':' => out.push_str(if indent { ": " } else { ":" }),
            ' ' | '\n' | '\t' | '\r' => {}
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Strings of the characters that matter (and others) are written as the character by
        /// character version writes them, in both flavours.
        #[test]
        fn strings_are_escaped_as_char_by_char(
            s in "[\\x00-\\x20\"\\\\<>&a\u{7f}\u{80}\u{2027}-\u{202a}\u{e280}\u{1f600}é]{0,24}"
        ) {
            for flavour in [Flavour::Protojson, Flavour::EncodingJson] {
                let (mut fast, mut slow) = (String::new(), String::new());
                write_string(&s, flavour, &mut fast);
                write_string_by_char(&s, flavour, &mut slow);
                proptest::prop_assert_eq!(fast, slow);
            }
        }
    }

    #[test]
    fn html_and_line_separators_are_escaped_for_encoding_json_only() {
        let s = "a<b>&\u{2028}\u{2029}\u{2027}\"\\\n\u{1}\u{8}\u{c}\u{7f}é";
        let mut html = String::new();
        write_string(s, Flavour::EncodingJson, &mut html);
        let mut proto = String::new();
        write_string(s, Flavour::Protojson, &mut proto);
        let same = "\\\"\\\\\\n\\u0001\\b\\f\u{7f}é\"";
        assert_eq!(
            html,
            format!("\"a\\u003cb\\u003e\\u0026\\u2028\\u2029\u{2027}{same}")
        );
        assert_eq!(proto, format!("\"a<b>&\u{2028}\u{2029}\u{2027}{same}"));
    }

    fn num(s: &str) -> f64 {
        match parse(s.as_bytes()) {
            Ok(Json::Num(v)) => v,
            other => panic!("{s}: {other:?}"),
        }
    }

    #[test]
    fn numbers_are_go_float64() {
        assert_eq!(num("12345678901234567890"), 12_345_678_901_234_567_000.0);
        assert!(num("-0").is_sign_negative());
        assert_eq!(num("1e-7"), 1e-7);
        assert_eq!(num("9007199254740993"), 9_007_199_254_740_992.0);
        assert!(parse(b"1E400").is_err());
        for bad in ["01", "1.", ".5", "+1", "1e", "-", "0x1"] {
            assert!(parse(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    /// Text that is not JSON (Go's json.Valid refuses it too) is told from JSON this reader does
    /// not take (Go's accepts it).
    #[test]
    fn refusals_tell_syntax_from_limits() {
        for bad in [
            "",
            "bad json",
            "{\"a\":}",
            "[1,2",
            "01",
            "\"\u{1}\"",
            "nul",
            "1 2",
        ] {
            assert!(
                matches!(parse_checked(bad.as_bytes()), Err(Refused::NotJson(_))),
                "{bad:?}"
            );
        }
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 2), "]".repeat(MAX_DEPTH + 2));
        // (The first refusal decides: `[1e999, x` is not JSON, but the CLI says so.)
        for beyond in [
            b"1e999".to_vec(),
            b"[1, -1e400]".to_vec(),
            b"[1e999, x".to_vec(),
            deep.into_bytes(),
            b"\"\xff\"".to_vec(),
        ] {
            assert!(
                matches!(parse_checked(&beyond), Err(Refused::Beyond(_))),
                "{}",
                String::from_utf8_lossy(&beyond)
            );
        }
    }

    #[test]
    fn strings_objects_and_errors() {
        assert_eq!(
            parse(br#""\ud83d\ude00\u00e9\ud800x""#).unwrap(),
            Json::Str("\u{1F600}é\u{FFFD}x".to_owned())
        );
        assert!(parse(b"\"\xff\"").is_err());
        let Json::Obj(m) = parse(br#" {"b":1,"a":2,"b":3} "#).unwrap() else {
            panic!()
        };
        assert_eq!(m.keys().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(m["b"], Json::Num(3.0));
        for bad in [
            "{bad",
            "[1,]",
            "{\"a\":1,}",
            "\"a\nb\"",
            "nul",
            "1 2",
            "\"\\x\"",
        ] {
            assert!(parse(bad.as_bytes()).is_err(), "{bad}");
        }
        let deep = "[".repeat(600) + &"]".repeat(600);
        assert!(parse(deep.as_bytes()).is_err());
    }
}

#[cfg(test)]
mod encode_tests {
    use super::*;

    #[test]
    fn writes_as_go_encoding_json() {
        let v = parse(br#"{"b":[],"a":{"x":"<&>\u2028","n":-0,"e":{}},"c":[1e21,0.5]}"#).unwrap();
        let mut out = String::new();
        write_go(&v, false, &mut out);
        assert_eq!(
            out,
            r#"{"a":{"e":{},"n":-0,"x":"\u003c\u0026\u003e\u2028"},"b":[],"c":[1e+21,0.5]}"#
        );
        let mut out = String::new();
        write_go(&parse(br#"{"a":[1,{"b":null}]}"#).unwrap(), true, &mut out);
        assert_eq!(
            out,
            "{\n  \"a\": [\n    1,\n    {\n      \"b\": null\n    }\n  ]\n}"
        );
    }

    #[test]
    fn raw_members_keep_their_order_and_are_reindented() {
        let Json::Obj(members) = parse(br#"{"z":1,"a":true}"#).unwrap() else {
            panic!()
        };
        let raw = BTreeMap::from([(
            "m".to_owned(),
            r#"{"y":"<","x":[],"w":{"v":[1,2]}}"#.to_owned(),
        )]);
        let mut out = String::new();
        write_go_object_with_raw(&members, &raw, true, &mut out);
        assert_eq!(
            out,
            "{\n  \"a\": true,\n  \"m\": {\n    \"y\": \"\\u003c\",\n    \"x\": [],\n    \"w\": {\n      \"v\": [\n        1,\n        2\n      ]\n    }\n  },\n  \"z\": 1\n}"
        );
    }
}
