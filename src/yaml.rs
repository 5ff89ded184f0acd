//! Reading tgate's own YAML files (policies, the configuration): a key written with no value is
//! refused, not read as absent.
//!
//! serde reads a YAML null (`groups:` with nothing after it, or with its list commented out)
//! into an `Option` as `None` and into a struct or a map as empty: as if the key were not there.
//! In a policy that silently drops the condition or gate the key was meant to hold (QA: a rule
//! whose `groups:` list was commented out allowed `workflow terminate` to every caller, and
//! `approvers:` so left let anyone approve); in the configuration, a `server_ca:` so left made a
//! TLS integration plain TCP. The fields that may be left out are read through [`some`] or
//! [`value`] (`#[serde(default, deserialize_with = "crate::yaml::some")]`), which refuse a null.

use serde::de::{Deserialize, Deserializer, Error};

/// What a key given no value says (after serde's path to it and its line and column).
pub(crate) const NULL: &str =
    "has no value: write one, or remove the key (a key left empty is not read as absent)";

/// An optional field, when it is given: its value, never a null.
pub(crate) fn some<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d)?
        .map(Some)
        .ok_or_else(|| D::Error::custom(NULL))
}

/// A field with a default (a list, a section), when it is given: its value, never a null.
pub(crate) fn value<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d)?.ok_or_else(|| D::Error::custom(NULL))
}

/// A YAML error's line, column and message, the message without the ` at line L column C` of
/// that place, which serde_yaml ends it with (or, for the scanner's errors, puts before the
/// context: `found unexpected end of stream at line 4 column 1, while scanning a quoted scalar at
/// line 3 column 9`): tgate says where before it (`file:L:C: ...`), once. The context's own
/// place stays. A key given no value ([`NULL`]) is named by its whole path (serde's path stops
/// at the mapping that holds it, whose place the line and column are): `text` is read again to
/// find it.
pub(crate) fn error_parts(e: &serde_yaml::Error, text: &str) -> (usize, usize, String) {
    let mut message = e.to_string();
    let (mut line, mut column) = match e.location() {
        Some(l) => {
            let place = format!(" at line {} column {}", l.line(), l.column());
            message = message.replacen(&place, "", 1);
            (l.line(), l.column())
        }
        None => (0, 0),
    };
    if message.contains(NULL)
        && let Some(path) = serde_yaml::from_str::<serde_yaml::Value>(text)
            .ok()
            .and_then(|v| first_null(&v, String::new()))
    {
        // The key's own place, not its mapping's (QA: `server_ca:` on line 8 was said to be at
        // 3:5, where its integration begins).
        if let Some(key) = path.rsplit('.').next().filter(|k| !k.ends_with(']'))
            && let Some(place) = empty_key_place(text, line, column, key)
        {
            (line, column) = place;
        }
        message = format!("{path}: {NULL}");
    }
    // Said in the file's terms, not serde's (QA: `:0:0: deserializing from YAML containing more
    // than one document is not supported`; `invalid type: unit value, expected struct
    // ConfigFile` for a file holding `null`).
    if message.contains("more than one document") {
        return (
            second_document(text).unwrap_or(line),
            1,
            "the file holds more than one YAML document (a `---` line between two): give one"
                .to_owned(),
        );
    }
    if let Some(at) = message.find("expected struct ") {
        message.truncate(at);
        message.push_str("expected a mapping (`key: value` lines)");
        message = message.replacen("unit value", "null (nothing)", 1);
    }
    (line, column, message)
}

/// Where (line and column, from 1) `key` is written with nothing after it in block style
/// (`key:`, perhaps followed by a comment) as a key of the block mapping that begins at line
/// `from`, column `column` (where serde_yaml places a [`NULL`] error: at the mapping, not the
/// key): at that column, before the mapping ends (a line that begins left of it). A key of a
/// nested mapping, or of a later one, is not it (review: a parent key whose value is a nested
/// block, `flags:` or `when:`, also has nothing after it).
fn empty_key_place(text: &str, from: usize, column: usize, key: &str) -> Option<(usize, usize)> {
    let written = format!("{key}:");
    for (n, l) in text.lines().enumerate().skip(from.saturating_sub(1)) {
        let content = l.trim_start_matches([' ', '-']);
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        let at = l.len() - content.len();
        // The mapping ends at a line that begins left of its keys (its first line aside, whose
        // key may follow a list item's `- `).
        if n + 1 > from && l.len() - l.trim_start().len() + 1 < column {
            return None;
        }
        if at + 1 == column
            && let Some(after) = content.strip_prefix(&written)
            && (after.trim().is_empty() || after.trim().starts_with('#'))
        {
            return Some((n + 1, column));
        }
    }
    None
}

/// The line (from 1) of the `---` that begins `text`'s second YAML document.
fn second_document(text: &str) -> Option<usize> {
    let mut content = false;
    for (n, line) in text.lines().enumerate() {
        let marker = line == "---" || line.starts_with("--- ");
        if marker && content {
            return Some(n + 1);
        }
        let t = line.trim();
        content |= marker || !(t.is_empty() || t.starts_with('#') || t.starts_with('%'));
    }
    None
}

/// The path (`rules[0].when.groups`, as serde_yaml writes paths) of the first null, a mapping's
/// value or a list's item, in the document's order.
fn first_null(v: &serde_yaml::Value, path: String) -> Option<String> {
    use serde_yaml::Value;
    match v {
        Value::Mapping(m) => m.iter().find_map(|(k, v)| {
            let key = match k {
                Value::String(s) => s.clone(),
                other => serde_yaml::to_string(other)
                    .unwrap_or_default()
                    .trim()
                    .to_owned(),
            };
            let here = if path.is_empty() {
                key
            } else {
                format!("{path}.{key}")
            };
            match v {
                Value::Null => Some(here),
                v => first_null(v, here),
            }
        }),
        Value::Sequence(items) => items.iter().enumerate().find_map(|(i, v)| {
            let here = format!("{path}[{i}]");
            match v {
                Value::Null => Some(here),
                v => first_null(v, here),
            }
        }),
        Value::Tagged(t) => first_null(&t.value, path),
        _ => None,
    }
}

/// An optional list, when given: its value, and no item a null (serde reads a null item into
/// text as `"~"` or `""`: QA).
pub(crate) fn some_items<'de, D, T>(d: D) -> Result<Option<Vec<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    some::<D, Vec<Option<T>>>(d)?
        .map(|items| items.into_iter().map(item::<D::Error, T>).collect())
        .transpose()
}

/// A list with a default (or required), when given: its value, and no item a null.
pub(crate) fn value_items<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    value::<D, Vec<Option<T>>>(d)?
        .into_iter()
        .map(item::<D::Error, T>)
        .collect()
}

fn item<E: Error, T>(i: Option<T>) -> Result<T, E> {
    i.ok_or_else(|| E::custom(NULL))
}

#[cfg(test)]
mod tests {
    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Doc {
        #[serde(default, deserialize_with = "super::some")]
        list: Option<Vec<String>>,
        #[serde(default, deserialize_with = "super::value")]
        section: std::collections::BTreeMap<String, u32>,
    }

    #[test]
    fn a_key_with_no_value_is_refused_and_one_left_out_is_absent() {
        let read = |text: &str| serde_yaml::from_str::<Doc>(text).map_err(|e| e.to_string());
        let doc = read("{}").unwrap();
        assert_eq!((doc.list, doc.section.len()), (None, 0));
        let doc = read("list: []\nsection: {a: 1}\n").unwrap();
        assert_eq!((doc.list, doc.section.len()), (Some(vec![]), 1));
        for text in [
            "list:\n",
            "list: ~\n",
            "list: null\n",
            "list:\n  # - a\n",
            "section:\n",
        ] {
            let e = read(text).unwrap_err();
            assert!(e.contains(super::NULL), "{text:?}: {e}");
        }
    }

    #[test]
    fn a_key_with_no_value_is_named_by_its_whole_path() {
        let text = "list: [a, ~]\nsection: {a: 1}\nnested:\n  - {x: 1}\n  - {y: {z: }}\n";
        let value: serde_yaml::Value = serde_yaml::from_str(text).unwrap();
        // The first null, an item of a list or a key's value, is named.
        assert_eq!(
            super::first_null(&value, String::new()).as_deref(),
            Some("list[1]")
        );
        let e = serde_yaml::from_str::<Doc>("section: {a: 1}\nlist:\n").unwrap_err();
        let (line, _, message) = super::error_parts(&e, "section: {a: 1}\nlist:\n");
        assert_eq!(message, format!("list: {}", super::NULL));
        assert!(line > 0);
    }
}
