//! Secrets of a class: session tokens (random, kept only as hashes), the instructor's
//! login token, rejoin links (an HMAC of the student's id with the class's key, so the link
//! can be shown again without storing it), and join codes that are easy to read aloud.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// Letters and digits that cannot be mistaken for one another when read aloud or
/// copied from a projector (no 0/O, 1/I/L, 5/S, 2/Z, 8/B, U/V).
const CODE_ALPHABET: &[u8] = b"ACDEFGHJKMNPQRTWXY34679";

/// A fresh random token: 32 bytes, base64url without padding.
pub fn random_token() -> Result<String, String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| format!("the system has no randomness to make a token: {e}"))?;
    Ok(base64url(&bytes))
}

/// How a token is kept: its SHA-256, hex.
pub fn hash_token(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// A join code such as `K7M-P3Q`: six characters from [`CODE_ALPHABET`] in two groups.
pub fn join_code() -> Result<String, String> {
    let mut bytes = [0u8; 6];
    getrandom::fill(&mut bytes).map_err(|e| format!("the system has no randomness to make a join code: {e}"))?;
    let chars: Vec<char> = bytes.iter().map(|b| CODE_ALPHABET[usize::from(*b) % CODE_ALPHABET.len()] as char).collect();
    Ok(format!("{}-{}", chars[..3].iter().collect::<String>(), chars[3..].iter().collect::<String>()))
}

/// A code as students type it: case, spaces and dashes do not matter.
pub fn normalize_code(code: &str) -> String {
    code.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_uppercase()).collect()
}

/// Whether `given` is the class's code (compared without regard to case or dashes, in
/// constant time for equal lengths).
pub fn code_matches(given: &str, code: &str) -> bool {
    let (a, b) = (normalize_code(given), normalize_code(code));
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The rejoin token of `student`: `<id>.<hmac>`.
pub fn rejoin_token(secret: &str, student: i64) -> String {
    format!("{student}.{}", base64url(&rejoin_mac(secret, student)))
}

/// The student a rejoin token names, if it is genuine.
pub fn verify_rejoin(secret: &str, token: &str) -> Option<i64> {
    let (id, mac) = token.split_once('.')?;
    let student: i64 = id.parse().ok()?;
    let mut expected = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).ok()?;
    expected.update(format!("rejoin:{student}").as_bytes());
    expected.verify_slice(&from_base64url(mac)?).ok()?;
    Some(student)
}

fn rejoin_mac(secret: &str, student: i64) -> Vec<u8> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(format!("rejoin:{student}").as_bytes());
    mac.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn base64url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn from_base64url(text: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_kept_as_hashes() {
        let (a, b) = (random_token().unwrap(), random_token().unwrap());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(hash_token(&a), hash_token(&a));
        assert_ne!(hash_token(&a), a);
        assert_eq!(hash_token(&a).len(), 64);
    }

    #[test]
    fn join_codes_are_short_and_unambiguous() {
        for _ in 0..50 {
            let code = join_code().unwrap();
            assert_eq!(code.len(), 7);
            assert!(code.chars().filter(|c| *c != '-').all(|c| CODE_ALPHABET.contains(&(c as u8))), "{code}");
            assert!(!code.contains(['0', 'O', '1', 'I', 'L', '5', 'S']));
        }
        assert!(code_matches("k7m p3q", "K7M-P3Q"));
        assert!(!code_matches("K7M-P3", "K7M-P3Q"));
        assert!(!code_matches("K7M-P3R", "K7M-P3Q"));
    }

    #[test]
    fn rejoin_links_verify_only_with_the_class_key() {
        let token = rejoin_token("key", 42);
        assert_eq!(verify_rejoin("key", &token), Some(42));
        assert_eq!(verify_rejoin("other", &token), None);
        assert_eq!(verify_rejoin("key", &token.replacen("42.", "43.", 1)), None, "another id does not reuse the mac");
        assert_eq!(verify_rejoin("key", "42"), None);
        assert_eq!(verify_rejoin("key", "x.y"), None);
    }
}
