//! Secretary-compatible NaCl secrets (`ENC[NACL,...]` envelopes): keys, encryption for
//! `lab secrets encrypt`, decryption for tests, and envelope detection for the deploy.
//!
//! This reproduces what meltwater/secretary 0.8.0 does with NaCl boxes, and the
//! detection rules lighter applies to a Marathon app's `env`; docs/secretary.md is
//! the spec. In short:
//!
//! - A key is 32 raw bytes (X25519), written as standard padded base64, either bare
//!   (44 characters, as in Marathon env values) or inside a PEM-style key file
//!   (`-----BEGIN NACL PUBLIC KEY-----` / base64 line / `-----END NACL PUBLIC KEY-----`).
//! - An envelope is `ENC[NACL,` + base64(nonce(24) || tag(16) || ciphertext) + `]`:
//!   a NaCl `crypto_box` (X25519 + XSalsa20-Poly1305) sealed with the *config*
//!   private key for the *master* public key, with a fresh random 24-byte nonce.
//! - The secretary daemon opens it with the master private key and the config
//!   public key.

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use crypto_box::aead::{Aead, AeadCore, OsRng};
use crypto_box::{Nonce, PublicKey, SalsaBox, SecretKey};

/// Length of a NaCl (X25519) public or private key, in bytes.
pub const KEY_LEN: usize = 32;
/// Length of the XSalsa20 nonce stored at the front of every envelope.
pub const NONCE_LEN: usize = 24;
/// Length of the Poly1305 tag that follows the nonce.
pub const TAG_LEN: usize = 16;

/// A raw 32-byte NaCl key (public or private).
pub type Key = [u8; KEY_LEN];

const ENVELOPE_PREFIX: &str = "ENC[NACL,";
const ENVELOPE_SUFFIX: &str = "]";

/// Go's `base64.StdEncoding`: standard alphabet, padding required, and (unlike the
/// `base64` crate's `STANDARD`) non-zero trailing bits accepted on decode.
const GO_STD: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical)
        .with_decode_allow_trailing_bits(true),
);

/// Which half of a key pair a key file holds; decides the PEM label and file name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// `NACL PUBLIC KEY`, file `<name>-public-key.pem`, mode 0644 in secretary.
    Public,
    /// `NACL PRIVATE KEY`, file `<name>-private-key.pem`, mode 0600 in secretary.
    Private,
}

impl KeyKind {
    /// The PEM type label secretary writes (`NACL PUBLIC KEY` / `NACL PRIVATE KEY`).
    #[must_use]
    pub fn pem_label(self) -> &'static str {
        match self {
            KeyKind::Public => "NACL PUBLIC KEY",
            KeyKind::Private => "NACL PRIVATE KEY",
        }
    }

    /// The file name `secretary genkeys NAME` writes, e.g. `master-public-key.pem`.
    #[must_use]
    pub fn file_name(self, name: &str) -> String {
        match self {
            KeyKind::Public => format!("{name}-public-key.pem"),
            KeyKind::Private => format!("{name}-private-key.pem"),
        }
    }
}

/// A freshly generated key pair, as raw bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyPair {
    /// The public half (X25519 base-point multiple of `private`).
    pub public: Key,
    /// The private half (random 32 bytes; clamped by X25519 when used).
    pub private: Key,
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyPair")
            .field("public", &encode_key(&self.public))
            .field("private", &"<redacted>")
            .finish()
    }
}

/// Generates a key pair from the operating system's CSPRNG, like
/// `secretary genkeys` and lighter's per-deploy `DEPLOY_*` keys.
#[must_use]
pub fn generate_key_pair() -> KeyPair {
    let secret = SecretKey::generate(&mut OsRng);
    KeyPair {
        public: secret.public_key().to_bytes(),
        private: secret.to_bytes(),
    }
}

/// The public key that belongs to a private key.
#[must_use]
pub fn public_key_of(private: &Key) -> Key {
    SecretKey::from_bytes(*private).public_key().to_bytes()
}

/// Encodes a key as bare standard base64 with padding (44 characters), the form
/// lighter injects into Marathon env values.
#[must_use]
pub fn encode_key(key: &Key) -> String {
    GO_STD.encode(key)
}

/// Decodes a key the way secretary's `pemDecode` does: surrounding whitespace is
/// ignored; text starting with `-----BEGIN` is a PEM block with any type label
/// (the END label must match), anything else is bare base64. The result must be
/// exactly 32 bytes.
///
/// # Errors
/// Malformed PEM framing, invalid base64, or a length other than 32 bytes.
pub fn decode_key(text: &str) -> Result<Key, String> {
    let text = text.trim();
    let body: String = if text.starts_with("-----BEGIN") {
        pem_body(text)?
    } else {
        text.to_owned()
    };
    let compact: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let raw = GO_STD
        .decode(compact.as_bytes())
        .map_err(|e| format!("key is not valid base64 ({e})"))?;
    Key::try_from(raw.as_slice())
        .map_err(|_| format!("expected a {KEY_LEN} byte key, got {} bytes", raw.len()))
}

fn pem_body(text: &str) -> Result<String, String> {
    let mut lines = text.lines().map(str::trim);
    let first = lines.next().unwrap_or_default();
    let label = first
        .strip_prefix("-----BEGIN ")
        .and_then(|rest| rest.strip_suffix("-----"))
        .ok_or_else(|| "malformed PEM BEGIN line".to_owned())?;
    let rest: Vec<&str> = lines.collect();
    let (last, body) = rest
        .split_last()
        .ok_or_else(|| "PEM block has no END line".to_owned())?;
    if *last != format!("-----END {label}-----") {
        return Err(format!("PEM block has no matching END line for {label:?}"));
    }
    Ok(body.concat())
}

/// Loads a key given as a file path (if such a file exists) or as literal text
/// (bare base64 or PEM), like the key arguments of secretary's commands.
///
/// # Errors
/// An unreadable file, or text that [`decode_key`] refuses.
pub fn load_key(key_or_file: &str) -> Result<Key, String> {
    let path = std::path::Path::new(key_or_file);
    if path.is_file() {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read key file {}: {e}", path.display()))?;
        decode_key(&text).map_err(|e| format!("key file {}: {e}", path.display()))
    } else {
        decode_key(key_or_file)
    }
}

/// The exact text of a key file as `secretary genkeys` writes it:
/// `-----BEGIN <label>-----\n<base64>\n-----END <label>-----\n`.
#[must_use]
pub fn key_file_contents(key: &Key, kind: KeyKind) -> String {
    let label = kind.pem_label();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        encode_key(key)
    )
}

/// Encrypts like `secretary encrypt` 0.8.0: a box sealed with `config_private`
/// for `master_public`, a fresh random nonce, one line, no trailing newline.
///
/// # Errors
/// Only if the cipher reports a failure (it does not for in-memory input).
pub fn encrypt(
    plaintext: &[u8],
    master_public: &Key,
    config_private: &Key,
) -> Result<String, String> {
    let nonce = SalsaBox::generate_nonce(&mut OsRng);
    let fixed: [u8; NONCE_LEN] = nonce.into();
    encrypt_with_nonce(plaintext, master_public, config_private, &fixed)
}

/// [`encrypt`] with a caller-chosen nonce. Only for known-answer tests: a nonce
/// must never be reused with the same key pair.
///
/// # Errors
/// As [`encrypt`].
pub fn encrypt_with_nonce(
    plaintext: &[u8],
    master_public: &Key,
    config_private: &Key,
    nonce: &[u8; NONCE_LEN],
) -> Result<String, String> {
    let salsa_box = SalsaBox::new(
        &PublicKey::from_bytes(*master_public),
        &SecretKey::from_bytes(*config_private),
    );
    let sealed = salsa_box
        .encrypt(&Nonce::from(*nonce), plaintext)
        .map_err(|_| "encryption failed".to_owned())?;
    let mut payload = Vec::with_capacity(NONCE_LEN + sealed.len());
    payload.extend_from_slice(nonce);
    payload.extend_from_slice(&sealed);
    Ok(format!(
        "{ENVELOPE_PREFIX}{}{ENVELOPE_SUFFIX}",
        GO_STD.encode(payload)
    ))
}

/// Decrypts one `ENC[NACL,...]` envelope like secretary's daemon (or
/// `secretary decrypt` without a daemon): opened with `master_private` and
/// `config_public`. Whitespace around the envelope and inside its base64 body
/// (`secretary encrypt -w` output) is ignored.
///
/// # Errors
/// Not exactly one `ENC[NACL,...]` envelope, invalid base64, a payload shorter
/// than nonce + tag, or a box that does not open (wrong keys, tampered data).
pub fn decrypt(
    envelope: &str,
    config_public: &Key,
    master_private: &Key,
) -> Result<Vec<u8>, String> {
    let body = envelope
        .trim()
        .strip_prefix(ENVELOPE_PREFIX)
        .and_then(|rest| rest.strip_suffix(ENVELOPE_SUFFIX))
        .ok_or_else(|| "expected an ENC[NACL,...] envelope".to_owned())?;
    if !body.bytes().all(is_envelope_body_byte) {
        return Err("envelope body has characters outside base64 and whitespace".to_owned());
    }
    let compact: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let payload = GO_STD
        .decode(compact.as_bytes())
        .map_err(|e| format!("envelope body is not valid base64 ({e})"))?;
    if payload.len() < NONCE_LEN + TAG_LEN {
        return Err(format!(
            "envelope too short: {} bytes, need at least {}",
            payload.len(),
            NONCE_LEN + TAG_LEN
        ));
    }
    let (nonce, sealed) = payload.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| "envelope too short".to_owned())?;
    let salsa_box = SalsaBox::new(
        &PublicKey::from_bytes(*config_public),
        &SecretKey::from_bytes(*master_private),
    );
    salsa_box
        .decrypt(&Nonce::from(nonce), sealed)
        .map_err(|_| "failed to decrypt (incorrect keys or tampered envelope)".to_owned())
}

fn is_envelope_type_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Python 2's ASCII `\s` (space, \t, \n, \r, \x0B, \x0C) plus the base64 alphabet.
fn is_envelope_body_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'+' | b'/' | b'=' | b' ' | b'\t' | b'\n' | b'\r' | 0x0B | 0x0C
        )
}

/// Finds every envelope in a value, left to right and non-overlapping, exactly as
/// lighter's `ENC\[\w+,[a-zA-Z0-9+/=\s]+\]` (Python 2, ASCII classes) does, i.e.
/// `ENC\[[A-Za-z0-9_]+,[A-Za-z0-9+/=\t\n\x0B\x0C\r ]+\]`. Any type matches
/// (`NACL`, `KMS`, ...), and envelopes may sit anywhere inside a value.
#[must_use]
pub fn find_envelopes(value: &str) -> Vec<&str> {
    let bytes = value.as_bytes();
    let mut found = Vec::new();
    let mut start = 0;
    while let Some(offset) = value[start..].find("ENC[") {
        let at = start + offset;
        match envelope_end(bytes, at + 4) {
            Some(end) => {
                found.push(&value[at..end]);
                start = end;
            }
            None => start = at + 1,
        }
    }
    found
}

/// Given the index just after `ENC[`, returns the index after the closing `]`.
/// Both classes exclude their terminator, so greedy matching never backtracks.
fn envelope_end(bytes: &[u8], mut i: usize) -> Option<usize> {
    let type_start = i;
    while i < bytes.len() && is_envelope_type_byte(bytes[i]) {
        i += 1;
    }
    if i == type_start || bytes.get(i) != Some(&b',') {
        return None;
    }
    i += 1;
    let body_start = i;
    while i < bytes.len() && is_envelope_body_byte(bytes[i]) {
        i += 1;
    }
    if i == body_start || bytes.get(i) != Some(&b']') {
        return None;
    }
    Some(i + 1)
}

/// Whether an env name is a shell identifier, `^[A-Za-z_][A-Za-z0-9_]*$`; lighter
/// refuses an envelope under any other name (`secretary decrypt -e` emits
/// `export NAME='...'`).
#[must_use]
pub fn is_shell_identifier(name: &str) -> bool {
    let mut bytes = name.bytes();
    match bytes.next() {
        Some(b) if b.is_ascii_alphabetic() || b == b'_' => {
            bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A key set and envelopes made by the real `secretary` 0.8.0 binary
    // (`secretary genkeys`, then `printf ... | secretary encrypt [-w]`).
    const MASTER_PUBLIC: &str = "JLHqLwCVEwitl94dG4WPoEnKuwuQU2A4AvOVFWaeLSw=";
    const MASTER_PRIVATE_FILE: &str = "-----BEGIN NACL PRIVATE KEY-----\nD3TdzK5UO6x7bxUPXZYAQQ3SjAXTC9cPakHJC+bqhNU=\n-----END NACL PRIVATE KEY-----\n";
    const CONFIG_PUBLIC_FILE: &str = "-----BEGIN NACL PUBLIC KEY-----\ncQ9kYZk7NP7Ib5NMNNXfTeXWfHH7tywk42Of8kvP0Q0=\n-----END NACL PUBLIC KEY-----\n";
    const CONFIG_PRIVATE: &str = "aKVqtl1QnkE2b0jfAu7UkEJQahKyMRxHo4l09UkHbXo=";
    const SECRET_ENVELOPE: &str =
        "ENC[NACL,Y1e4Mky3k6diaZ/W27tWZyHf54CiITkr1Y5u7OFfITeDuWFv+5ALQUy3kD9r3w==]";
    const UTF8_ENVELOPE: &str =
        "ENC[NACL,Jzpk7Eolbx5xL8MctwAhmpqEPg0MsIf17vvGtr1829wUUDtCuYTgBgiyQAgL0sPNFd6NbU3bZDU=]";
    const EMPTY_ENVELOPE: &str =
        "ENC[NACL,rUSY9lnKQCqyY0j4TFu8bME9xpJ+nZw5Fbg8SXhiykGcX3JRr82JqQ==]";
    const WRAPPED_ENVELOPE: &str = "ENC[NACL,2QfYD5WWr1zvc5ftA21sTEz7dXgfx6qPSPJ/aaiu7ZBn7FHoHIt/vg+\n\
        4ksN/5pXvVZuMRH4TvHweC5ZHz0HFmUiHJ9HS5vF94ANr0724cv934tDY5wlYP4v\n\
        WxTXS1KamD5xbTA==]\n";

    fn key(text: &str) -> Key {
        decode_key(text).expect("test key")
    }

    #[test]
    fn decrypts_envelopes_made_by_secretary() {
        let (config_public, master_private) = (key(CONFIG_PUBLIC_FILE), key(MASTER_PRIVATE_FILE));
        assert_eq!(
            decrypt(SECRET_ENVELOPE, &config_public, &master_private).unwrap(),
            b"secret"
        );
        assert_eq!(
            decrypt(UTF8_ENVELOPE, &config_public, &master_private).unwrap(),
            "p\u{e4}ss w0rd\nline2".as_bytes()
        );
        assert_eq!(
            decrypt(EMPTY_ENVELOPE, &config_public, &master_private).unwrap(),
            b""
        );
        assert_eq!(
            decrypt(WRAPPED_ENVELOPE, &config_public, &master_private).unwrap(),
            "1234567890".repeat(6).as_bytes()
        );
    }

    #[test]
    fn round_trip_with_the_secretary_key_set() {
        let envelope = encrypt(b"hunter2", &key(MASTER_PUBLIC), &key(CONFIG_PRIVATE)).unwrap();
        assert!(envelope.starts_with("ENC[NACL,") && envelope.ends_with(']'));
        assert!(!envelope.contains(char::is_whitespace));
        let opened = decrypt(
            &envelope,
            &key(CONFIG_PUBLIC_FILE),
            &key(MASTER_PRIVATE_FILE),
        )
        .unwrap();
        assert_eq!(opened, b"hunter2");
    }

    #[test]
    fn envelope_layout_is_nonce_tag_ciphertext() {
        let (master, config) = (generate_key_pair(), generate_key_pair());
        let envelope = encrypt(b"abc", &master.public, &config.private).unwrap();
        let body = &envelope["ENC[NACL,".len()..envelope.len() - 1];
        let payload = GO_STD.decode(body).unwrap();
        assert_eq!(payload.len(), NONCE_LEN + TAG_LEN + 3);
        // Two encryptions of the same value use different nonces.
        let again = encrypt(b"abc", &master.public, &config.private).unwrap();
        assert_ne!(envelope, again);
    }

    #[test]
    fn known_answer_with_a_fixed_nonce() {
        // Computed independently with PyNaCl: Box(PrivateKey(config), PublicKey(master))
        // .encrypt(b"secret", bytes(range(24))).
        let envelope = encrypt_with_nonce(
            b"secret",
            &key(MASTER_PUBLIC),
            &key(CONFIG_PRIVATE),
            &core::array::from_fn(|i| i as u8),
        )
        .unwrap();
        assert_eq!(envelope, KNOWN_ANSWER);
    }

    const KNOWN_ANSWER: &str =
        "ENC[NACL,AAECAwQFBgcICQoLDA0ODxAREhMUFRYXqVZ39AahHuKwDfS3bvyN9NHyfBnIxQ==]";

    #[test]
    fn wrong_keys_and_tampering_fail_without_panicking() {
        let (config_public, master_private) = (key(CONFIG_PUBLIC_FILE), key(MASTER_PRIVATE_FILE));
        let stranger = generate_key_pair();
        assert!(decrypt(SECRET_ENVELOPE, &stranger.public, &master_private).is_err());
        assert!(decrypt(SECRET_ENVELOPE, &config_public, &stranger.private).is_err());
        let tampered = SECRET_ENVELOPE.replacen("Y1e4", "Y1e5", 1);
        assert!(decrypt(&tampered, &config_public, &master_private).is_err());
        for bad in [
            "",
            "secret",
            "ENC[NACL,]",
            "ENC[NACL,abc]",
            "ENC[NACL,AAAA]",
            "ENC[KMS,Y1e4Mky3k6diaZ/W27tWZyHf54CiITkr1Y5u7OFfITeDuWFv+5ALQUy3kD9r3w==]",
            "ENC[NACL,Y1e4Mky3k6diaZ/W27tWZyHf54CiITkr1Y5u7OFfITeDuWFv+5ALQUy3kD9r3w==",
            "ENC[NACL,Y1e4Mky3k6diaZ/W27tWZyHf54CiITkr1Y5u7OFfITeDuWFv+5ALQUy3kD9r3w=]",
            "ENC[NACL,Y1e4Mky3k6diaZ/W27tWZyHf54CiITkr1Y5u7OFfITeDuWFv+5ALQUy3kD9r3w==]x",
            "ENC[NACL,Y1e4Mky3k6diaZ/W27tWZyHf54CiITkr1Y5u7OFfITeDuWFv+5ALQUy3kD9r3w==]ENC[NACL,AAAA]",
            "ENC[NACL,ä]",
        ] {
            assert!(
                decrypt(bad, &config_public, &master_private).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn key_text_forms() {
        let bare = key(MASTER_PUBLIC);
        let file = key_file_contents(&bare, KeyKind::Public);
        assert_eq!(
            file,
            "-----BEGIN NACL PUBLIC KEY-----\nJLHqLwCVEwitl94dG4WPoEnKuwuQU2A4AvOVFWaeLSw=\n-----END NACL PUBLIC KEY-----\n"
        );
        assert_eq!(decode_key(&file).unwrap(), bare);
        assert_eq!(decode_key(&format!("  {MASTER_PUBLIC}\n")).unwrap(), bare);
        assert_eq!(
            decode_key(&format!(
                "-----BEGIN KEY-----\r\n{MASTER_PUBLIC}\r\n-----END KEY-----"
            ))
            .unwrap(),
            bare
        );
        assert_eq!(encode_key(&bare), MASTER_PUBLIC);
        assert_eq!(
            KeyKind::Private.file_name("master"),
            "master-private-key.pem"
        );
        assert_eq!(KeyKind::Public.file_name("config"), "config-public-key.pem");
        assert!(
            key_file_contents(&bare, KeyKind::Private)
                .starts_with("-----BEGIN NACL PRIVATE KEY-----\n")
        );
        for bad in [
            "",
            "abc",
            "c2VjcmV0",
            "JLHqLwCVEwitl94dG4WPoEnKuwuQU2A4AvOVFWaeLSw",
            "-----BEGIN NACL PUBLIC KEY-----\nJLHqLwCVEwitl94dG4WPoEnKuwuQU2A4AvOVFWaeLSw=\n-----END NACL PRIVATE KEY-----",
            "-----BEGIN NACL PUBLIC KEY-----\nJLHqLwCVEwitl94dG4WPoEnKuwuQU2A4AvOVFWaeLSw=",
            "-----BEGIN NACL PUBLIC KEY",
        ] {
            assert!(decode_key(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn load_key_reads_files_and_literals() {
        let dir = std::env::temp_dir().join(format!("secretary-crypto-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join(KeyKind::Private.file_name("master"));
        std::fs::write(&file, MASTER_PRIVATE_FILE).unwrap();
        let from_file = load_key(file.to_str().unwrap()).unwrap();
        assert_eq!(from_file, key(MASTER_PRIVATE_FILE));
        assert_eq!(load_key(MASTER_PUBLIC).unwrap(), key(MASTER_PUBLIC));
        std::fs::write(&file, "not a key").unwrap();
        let err = load_key(file.to_str().unwrap()).unwrap_err();
        assert!(err.contains("master-private-key.pem"), "{err}");
        assert!(load_key(dir.join("missing.pem").to_str().unwrap()).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn generated_pairs_match_and_public_key_of_agrees_with_secretary() {
        let pair = generate_key_pair();
        assert_eq!(public_key_of(&pair.private), pair.public);
        assert_ne!(generate_key_pair(), pair);
        assert_eq!(public_key_of(&key(CONFIG_PRIVATE)), key(CONFIG_PUBLIC_FILE));
        assert_eq!(public_key_of(&key(MASTER_PRIVATE_FILE)), key(MASTER_PUBLIC));
        assert!(!format!("{pair:?}").contains(&encode_key(&pair.private)));
    }

    #[test]
    fn finds_envelopes_like_lighter() {
        assert_eq!(
            find_envelopes(
                "amqp://ENC[NACL,uSr123+/=]:ENC[NACL,pWd123+/=]@rabbit:5672/ENC[KMS,123abc+/=]"
            ),
            [
                "ENC[NACL,uSr123+/=]",
                "ENC[NACL,pWd123+/=]",
                "ENC[KMS,123abc+/=]"
            ]
        );
        assert_eq!(
            find_envelopes("x:ENC[NACL,]:ENC[NACL,pWd1+/=]@h"),
            ["ENC[NACL,pWd1+/=]"]
        );
        assert_eq!(
            find_envelopes("x:ENC[NACL,:ENC[NACL,pWd1+/=]@h"),
            ["ENC[NACL,pWd1+/=]"]
        );
        assert_eq!(
            find_envelopes("x:NC[NACL,]:ENC[NACL,pWd1+/=]@h"),
            ["ENC[NACL,pWd1+/=]"]
        );
        assert_eq!(
            find_envelopes("x:ENC[NACL,abc:ENC[NACL,pWd1+/=]@h"),
            ["ENC[NACL,pWd1+/=]"]
        );
        assert_eq!(find_envelopes("ENC[ENC[NACL,a]"), ["ENC[NACL,a]"]);
        assert_eq!(
            find_envelopes("ENC[any_Type9,a b\n\tc\x0b\x0c\r=]"),
            ["ENC[any_Type9,a b\n\tc\x0b\x0c\r=]"]
        );
        assert_eq!(
            find_envelopes(WRAPPED_ENVELOPE),
            [WRAPPED_ENVELOPE.trim_end()]
        );
        for none in [
            "",
            "ENC[NACL,abc",
            "ENC[,abc]",
            "ENC[NA-CL,abc]",
            "ENC[NACL,a_b]",
            "enc[NACL,abc]",
            "ENC[NÄCL,abc]",
        ] {
            assert!(find_envelopes(none).is_empty(), "{none:?}");
        }
        assert_eq!(find_envelopes("ä ENC[NACL,abc] ö"), ["ENC[NACL,abc]"]);
    }

    #[test]
    fn shell_identifiers() {
        for ok in ["A", "_", "DATABASE_PASSWORD", "_x9", "a1_B2"] {
            assert!(is_shell_identifier(ok), "{ok:?}");
        }
        for bad in ["", "9A", "database.uri", "A-B", "A B", "Ä", "A\n"] {
            assert!(!is_shell_identifier(bad), "{bad:?}");
        }
    }
}
