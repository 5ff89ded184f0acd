//! Go's one-line prototext, the way the CLI's text output shows a payload map (`workflow describe`'s
//! Memo and SearchAttributes rows: `fmt`'s `%v` of a `map[string]*common.Payload`, each value
//! through its `String()` method, which is `prototext.MarshalOptions{}.Format`).
//!
//! Go's protobuf module makes that output deliberately unstable (`internal/detrand`): between
//! fields it writes one space, or two when a bit derived from the running binary is set. The bit
//! is the low bit of an FNV-1 64-bit hash over the binary's size and eight 64-byte samples of it
//! ([`extra_space`]); tgate reads it from the pinned `temporal` binary, the one its CLI executor
//! runs, so that the native executor prints what that binary prints.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Read as _;
use std::os::unix::fs::FileExt as _;
use std::path::Path;

use temporalio_protos::protos::temporal::api::common::v1::Payload;

/// Whether the Go program at `binary` writes two spaces between prototext fields (Go protobuf's
/// `detrand.Bool()` as that program computes it of itself). Refuses a file that is not an
/// executable (ELF or Mach-O): a wrapper script's hash says nothing of the program it starts.
pub fn extra_space(binary: &Path) -> std::io::Result<bool> {
    let mut file = std::fs::File::open(binary)?;
    let size = file.metadata()?.len();
    let mut magic = [0u8; 4];
    file.read_exact(&mut magic)?;
    let executable = magic == *b"\x7fELF"
        || matches!(
            u32::from_le_bytes(magic),
            0xfeed_facf | 0xcffa_edfe | 0xfeed_face | 0xcefa_edfe
        );
    if !executable {
        return Err(std::io::Error::other(format!(
            "{} is not an executable (ELF or Mach-O)",
            binary.display()
        )));
    }
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = OFFSET;
    let mut fnv1 = |bytes: &[u8]| {
        for &b in bytes {
            hash = hash.wrapping_mul(PRIME) ^ u64::from(b);
        }
    };
    fnv1(&size.to_le_bytes());
    let mut sample = [0u8; 64];
    for i in 0..8 {
        // Go's `ReadAt` of a full buffer: a short read is an error, and the hash is then 0.
        if file.read_exact_at(&mut sample, i * size / 8).is_err() {
            return Ok(false);
        }
        fnv1(&sample);
    }
    Ok(hash % 2 == 1)
}

/// `fmt.Sprintf("%v", m)` of a `map[string]*common.Payload`: `map[k:v k2:v2]`, keys in byte
/// order, each value in one-line prototext. `None` for a payload this does not reproduce (one
/// with external payload details).
pub fn payload_map(map: &HashMap<String, Payload>, extra_space: bool) -> Option<String> {
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort();
    let mut out = String::from("map[");
    for (i, key) in keys.into_iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(key);
        out.push(':');
        payload(&map[key], extra_space, &mut out)?;
    }
    out.push(']');
    Some(out)
}

/// One payload in one-line prototext: its metadata entries in key order, then its data.
fn payload(p: &Payload, extra_space: bool, out: &mut String) -> Option<()> {
    if !p.external_payloads.is_empty() {
        return None;
    }
    let sep = if extra_space { "  " } else { " " };
    let mut entries: Vec<(&String, &Vec<u8>)> = p.metadata.iter().collect();
    entries.sort();
    let mut first = true;
    let mut field = |out: &mut String| {
        if !first {
            out.push_str(sep);
        }
        first = false;
    };
    for (key, value) in entries {
        field(out);
        out.push_str("metadata:{key:");
        string(key.as_bytes(), out);
        out.push_str(sep);
        out.push_str("value:");
        string(value, out);
        out.push('}');
    }
    if !p.data.is_empty() {
        field(out);
        out.push_str("data:");
        string(&p.data, out);
    }
    Some(())
}

/// A prototext string or bytes value: double-quoted; `"`, `\`, newline, carriage return and tab
/// escaped by letter, other control bytes, DEL and bytes that are not UTF-8 as `\xNN`, U+0080 to
/// U+009F as `\u00NN`; other UTF-8 kept as it is (Go's `Format` does not ask for ASCII).
fn string(bytes: &[u8], out: &mut String) {
    out.push('"');
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if c < ' ' || c == '\u{7f}' => {
                    let _ = write!(out, "\\x{:02x}", c as u32);
                }
                c if ('\u{80}'..='\u{9f}').contains(&c) => {
                    let _ = write!(out, "\\u{:04x}", c as u32);
                }
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload_of(metadata: &[(&str, &[u8])], data: &[u8]) -> Payload {
        Payload {
            metadata: metadata
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.to_vec()))
                .collect(),
            data: data.to_vec(),
            external_payloads: Vec::new(),
        }
    }

    #[test]
    fn a_memo_prints_as_the_cli_prints_it() {
        // Taken from the real CLI (its binary sets the extra-space bit).
        let memo = HashMap::from([
            (
                "ticket".to_owned(),
                payload_of(&[("encoding", b"json/plain")], b"\"INC-1\""),
            ),
            (
                "n".to_owned(),
                payload_of(&[("encoding", b"json/plain")], b"42"),
            ),
        ]);
        assert_eq!(
            payload_map(&memo, true).unwrap(),
            r#"map[n:metadata:{key:"encoding"  value:"json/plain"}  data:"42" ticket:metadata:{key:"encoding"  value:"json/plain"}  data:"\"INC-1\""]"#
        );
        assert_eq!(
            payload_map(&memo, false).unwrap(),
            r#"map[n:metadata:{key:"encoding" value:"json/plain"} data:"42" ticket:metadata:{key:"encoding" value:"json/plain"} data:"\"INC-1\""]"#
        );
        let sa = HashMap::from([(
            "BuildIds".to_owned(),
            payload_of(
                &[("type", b"KeywordList"), ("encoding", b"json/plain")],
                br#"["unversioned"]"#,
            ),
        )]);
        assert_eq!(
            payload_map(&sa, true).unwrap(),
            r#"map[BuildIds:metadata:{key:"encoding"  value:"json/plain"}  metadata:{key:"type"  value:"KeywordList"}  data:"[\"unversioned\"]"]"#
        );
    }

    #[test]
    fn strings_escape_as_go_prototext_does() {
        let mut out = String::new();
        string(
            "a'\"\\\n\r\t\u{1}\u{7f}\u{85}é\u{2028}😀".as_bytes(),
            &mut out,
        );
        assert_eq!(out, "\"a'\\\"\\\\\\n\\r\\t\\x01\\x7f\\u0085é\u{2028}😀\"");
        let mut out = String::new();
        string(b"\xff\x80ok\xe2\x82", &mut out);
        assert_eq!(out, r#""\xff\x80ok\xe2\x82""#);
        // Empty fields are left out; an empty payload prints as nothing.
        let empty = HashMap::from([("k".to_owned(), payload_of(&[], b""))]);
        assert_eq!(payload_map(&empty, false).unwrap(), "map[k:]");
        let meta_only = HashMap::from([("k".to_owned(), payload_of(&[("e", b"")], b""))]);
        assert_eq!(
            payload_map(&meta_only, false).unwrap(),
            r#"map[k:metadata:{key:"e" value:""}]"#
        );
    }

    #[test]
    fn the_extra_space_bit_is_the_parity_of_the_binarys_hash() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("prog");
        // A file that is not an executable is refused.
        std::fs::write(&path, b"#!/bin/sh\nexec temporal \"$@\"\n").unwrap();
        assert!(extra_space(&path).is_err());
        // FNV-1's low bit is the parity of the odd bytes hashed (its prime is odd): with an
        // even-sized ELF file of zeros, only the size's bytes and the magic count.
        let mut body = vec![0u8; 4096];
        body[..4].copy_from_slice(b"\x7fELF");
        std::fs::write(&path, &body).unwrap();
        // Bytes hashed: size 4096 = 00 10 00.. (all even), the magic once (0x7f and 'E', 'L'
        // odd: 0x7f, 0x45 odd, 0x4c even, 0x46 even) → two odd bytes; the offset basis is odd.
        assert!(extra_space(&path).unwrap());
        body[4] = 1;
        std::fs::write(&path, &body).unwrap();
        assert!(!extra_space(&path).unwrap());
        // Too small for a 64-byte sample: Go's hash is 0.
        std::fs::write(&path, b"\x7fELF").unwrap();
        assert!(!extra_space(&path).unwrap());
    }
}
