//! Random values from the kernel: `getrandom(2)`, through ring's `SystemRandom`.
//!
//! Not `uuid::Uuid::new_v4`: its `getrandom` 0.4 looks the C library's `getrandom` up at run
//! time, finds none in the statically linked release build, and falls back to waiting on
//! `/dev/random` and reading `/dev/urandom` (five system calls and a lock in every run, a
//! one-shot `tgate run`'s decision record among them). ring's `getrandom` 0.2 makes the system
//! call itself.

use ring::rand::SecureRandom;

/// `N` random bytes. Panics if the kernel gives none, as `Uuid::new_v4` did (before anything
/// is recorded or sent: a record needs its id first).
pub(crate) fn bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    ring::rand::SystemRandom::new()
        .fill(&mut out)
        .expect("the kernel gave no random bytes (getrandom)");
    out
}

/// A random (version 4) UUID.
pub(crate) fn uuid_v4() -> uuid::Uuid {
    uuid::Builder::from_random_bytes(bytes()).into_uuid()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_version_4_rfc_variant_and_differ() {
        let a = uuid_v4();
        let b = uuid_v4();
        assert_eq!(a.get_version(), Some(uuid::Version::Random));
        assert_eq!(a.get_variant(), uuid::Variant::RFC4122);
        assert_ne!(a, b);
        assert_ne!(bytes::<16>(), [0u8; 16]);
    }
}
