//! Approval ids: 128 bits from the operating system's secure random source, written as 26
//! lowercase Crockford base32 characters (shorter than a UUID, no look-alike letters). An id is
//! accepted only whole: no prefixes, no guessing.

use std::fmt;

use serde::Serialize;

use super::ApprovalError;

/// Crockford's base32 alphabet (no i, l, o, u), lowercase.
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// Characters in a written id: 128 bits in 5-bit digits.
const LEN: usize = 26;

/// An approval id.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ApprovalId(u128);

impl ApprovalId {
    /// A fresh id from the operating system's secure random source.
    pub fn random() -> Result<ApprovalId, ApprovalError> {
        use ring::rand::SecureRandom;
        let mut bytes = [0u8; 16];
        ring::rand::SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| ApprovalError::Storage {
                path: "-".to_owned(),
                message: "the system's random source failed".to_owned(),
            })?;
        Ok(ApprovalId(u128::from_be_bytes(bytes)))
    }

    /// Reads an id as tgate prints it (letter case ignored; surrounding spaces allowed).
    pub fn parse(text: &str) -> Result<ApprovalId, ApprovalError> {
        let invalid = || ApprovalError::InvalidId {
            text: text.to_owned(),
        };
        let t = text.trim();
        if t.len() != LEN {
            return Err(invalid());
        }
        let mut v: u128 = 0;
        for (i, c) in t.bytes().enumerate() {
            let c = c.to_ascii_lowercase();
            let digit = ALPHABET.iter().position(|a| *a == c).ok_or_else(invalid)? as u128;
            // 26 digits hold 130 bits: the first digit carries only the top 3 bits.
            if i == 0 && digit > 7 {
                return Err(invalid());
            }
            v = (v << 5) | digit;
        }
        Ok(ApprovalId(v))
    }
}

impl fmt::Display for ApprovalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = [0u8; LEN];
        for (i, slot) in out.iter_mut().enumerate() {
            let shift = 5 * (LEN - 1 - i);
            *slot = ALPHABET[((self.0 >> shift) & 31) as usize];
        }
        f.write_str(std::str::from_utf8(&out).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for ApprovalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApprovalId({self})")
    }
}

impl Serialize for ApprovalId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_are_checked_whole() {
        for v in [
            0u128,
            1,
            u128::MAX,
            0x0123_4567_89ab_cdef_0123_4567_89ab_cdef,
        ] {
            let id = ApprovalId(v);
            let text = id.to_string();
            assert_eq!(text.len(), 26);
            assert_eq!(ApprovalId::parse(&text), Ok(id));
            assert_eq!(ApprovalId::parse(&text.to_uppercase()), Ok(id));
        }
        let id = ApprovalId::random().expect("random");
        let text = id.to_string();
        assert!(
            ApprovalId::parse(&text[..25]).is_err(),
            "a prefix is not an id"
        );
        assert!(ApprovalId::parse(&format!("{text}0")).is_err());
        assert!(
            ApprovalId::parse("8zzzzzzzzzzzzzzzzzzzzzzzzz").is_err(),
            "131 bits"
        );
        assert!(
            ApprovalId::parse("0000000000000000000000000u").is_err(),
            "not in the alphabet"
        );
        assert_ne!(ApprovalId::random().expect("random"), id);
    }
}
