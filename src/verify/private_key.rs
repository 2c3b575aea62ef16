//! Private keys, described without any request: which kind of key, how
//! large, its public key's SHA-256 fingerprint (as `ssh-keygen -l` prints
//! it), and whether the matching public key sits next to it (`id_ed25519.pub`,
//! `authorized_keys`). A private key cannot be asked whether it is still
//! trusted somewhere, so the status stays `unknown`; the details say what to
//! look for (the fingerprint in GitHub's deploy keys, `authorized_keys`...).
//!
//! The two containers read here are small and fully specified (the
//! `openssh-key-v1` format and PKCS#1/PKCS#8 DER); only the public parts are
//! read, and an encrypted key's public half is in the clear.

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine as _;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{Status, Verification};

/// What a private key is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFacts {
    /// `ssh-ed25519`, `ssh-rsa`, `ecdsa-sha2-nistp256`, `RSA`, `EC`, ...
    pub kind: String,
    /// Key size in bits, when known.
    pub bits: Option<usize>,
    /// `SHA256:...` of the public key in SSH wire format, when it can be had without arithmetic.
    pub fingerprint: Option<String>,
    /// Whether the private half is encrypted with a passphrase.
    pub encrypted: bool,
}

/// Describes the key in `pem`, found in the file at `path` (when the finding came from a file).
pub fn inspect(pem: &str, path: Option<&Path>) -> Verification {
    let Some(facts) = describe(pem) else {
        return Verification::unknown("a private key keyhound cannot read the type of");
    };
    let mut details: BTreeMap<String, Value> = BTreeMap::new();
    details.insert("key_type".into(), Value::String(facts.kind.clone()));
    if let Some(bits) = facts.bits {
        details.insert("bits".into(), Value::from(bits));
    }
    details.insert("encrypted".into(), Value::Bool(facts.encrypted));
    if let Some(fingerprint) = &facts.fingerprint {
        details.insert("fingerprint".into(), Value::String(fingerprint.clone()));
        if let Some(public) = path.and_then(|path| matching_public_key(path, fingerprint)) {
            details.insert("public_key_next_to_it".into(), Value::String(public));
        }
    }
    Verification {
        status: Status::Unknown(
            "a private key cannot be checked with a service: look for its fingerprint where keys are trusted \
             (authorized_keys, deploy keys, certificates)"
                .into(),
        ),
        details,
    }
}

/// The facts of a PEM-armoured private key.
pub fn describe(pem: &str) -> Option<KeyFacts> {
    let label = pem.split("-----BEGIN ").nth(1)?.split("-----").next()?.trim().to_string();
    let body: String = pem
        .split("-----")
        .nth(2)?
        .replace("\\n", "\n")
        .replace("\\r", "")
        .lines()
        .filter(|line| !line.contains(':'))
        .collect::<String>()
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\\')
        .collect();
    let der = base64::engine::general_purpose::STANDARD_NO_PAD.decode(body.trim_end_matches('=')).ok();
    match label.as_str() {
        "OPENSSH PRIVATE KEY" => openssh(&der?),
        "RSA PRIVATE KEY" if pem.contains("ENCRYPTED") => {
            Some(KeyFacts { kind: "RSA".into(), bits: None, fingerprint: None, encrypted: true })
        }
        "RSA PRIVATE KEY" => pkcs1_rsa(&der?),
        "PRIVATE KEY" => pkcs8(&der?),
        "ENCRYPTED PRIVATE KEY" => {
            Some(KeyFacts { kind: "PKCS#8".into(), bits: None, fingerprint: None, encrypted: true })
        }
        other => {
            let kind = other.trim_end_matches("PRIVATE KEY").trim_end_matches("PRIVATE KEY BLOCK").trim();
            let kind = if kind.is_empty() { "unknown" } else { kind };
            Some(KeyFacts {
                kind: kind.to_string(),
                bits: None,
                fingerprint: None,
                encrypted: pem.contains("ENCRYPTED"),
            })
        }
    }
}

/// `openssh-key-v1`: cipher, kdf, kdf options, key count, then the first public key blob.
fn openssh(bytes: &[u8]) -> Option<KeyFacts> {
    let mut reader = Reader(bytes.strip_prefix(b"openssh-key-v1\0")?);
    let cipher = reader.string()?;
    reader.string()?; // kdf name
    reader.string()?; // kdf options
    reader.u32()?; // number of keys
    let blob = reader.string()?;
    let mut facts = public_blob(blob)?;
    facts.encrypted = cipher != b"none";
    Some(facts)
}

/// Type, size and fingerprint of an SSH public key blob.
fn public_blob(blob: &[u8]) -> Option<KeyFacts> {
    let mut reader = Reader(blob);
    let kind = String::from_utf8(reader.string()?.to_vec()).ok()?;
    let bits = match kind.as_str() {
        "ssh-rsa" => {
            reader.string()?; // e
            Some(integer_bits(reader.string()?))
        }
        "ssh-ed25519" => Some(256),
        "ssh-dss" => Some(integer_bits(reader.string()?)),
        ecdsa if ecdsa.starts_with("ecdsa-sha2-nistp") => ecdsa["ecdsa-sha2-nistp".len()..].parse().ok(),
        _ => None,
    };
    Some(KeyFacts { kind, bits, fingerprint: Some(fingerprint(blob)), encrypted: false })
}

/// `SHA256:<base64 without padding>` of a public key blob, as `ssh-keygen -l` prints it.
pub fn fingerprint(blob: &[u8]) -> String {
    format!("SHA256:{}", base64::engine::general_purpose::STANDARD_NO_PAD.encode(Sha256::digest(blob)))
}

/// PKCS#1 `RSAPrivateKey`: version, modulus, public exponent, ...
fn pkcs1_rsa(der: &[u8]) -> Option<KeyFacts> {
    let mut sequence = Der(Der(der).take(0x30)?);
    sequence.take(0x02)?; // version
    let modulus = sequence.take(0x02)?;
    let exponent = sequence.take(0x02)?;
    // The public key in SSH wire format: string "ssh-rsa", mpint e, mpint n.
    let mut blob = Vec::new();
    for part in [&b"ssh-rsa"[..], exponent, modulus] {
        blob.extend_from_slice(&u32::try_from(part.len()).ok()?.to_be_bytes());
        blob.extend_from_slice(part);
    }
    Some(KeyFacts {
        kind: "ssh-rsa".into(),
        bits: Some(integer_bits(modulus)),
        fingerprint: Some(fingerprint(&blob)),
        encrypted: false,
    })
}

/// PKCS#8 `PrivateKeyInfo`: version, algorithm, the key (RSA keys are read further).
fn pkcs8(der: &[u8]) -> Option<KeyFacts> {
    let mut sequence = Der(Der(der).take(0x30)?);
    sequence.take(0x02)?;
    let mut algorithm = Der(sequence.take(0x30)?);
    let oid = algorithm.take(0x06)?;
    let key = sequence.take(0x04)?;
    const RSA: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01];
    const EC: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01];
    const ED25519: &[u8] = &[0x2B, 0x65, 0x70];
    match oid {
        RSA => pkcs1_rsa(key),
        EC => Some(KeyFacts { kind: "EC".into(), bits: None, fingerprint: None, encrypted: false }),
        ED25519 => Some(KeyFacts { kind: "Ed25519".into(), bits: Some(256), fingerprint: None, encrypted: false }),
        _ => Some(KeyFacts { kind: "PKCS#8".into(), bits: None, fingerprint: None, encrypted: false }),
    }
}

/// Bits of a big-endian unsigned integer (leading zero bytes and bits not counted).
fn integer_bits(bytes: &[u8]) -> usize {
    let trimmed: &[u8] = match bytes.iter().position(|&byte| byte != 0) {
        Some(first) => &bytes[first..],
        None => return 0,
    };
    trimmed.len() * 8 - trimmed[0].leading_zeros() as usize
}

/// The `.pub` file (or `authorized_keys`) in the key's directory that holds its public half.
fn matching_public_key(path: &Path, fingerprint: &str) -> Option<String> {
    let directory = path.parent().filter(|parent| !parent.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut candidates: Vec<_> = std::fs::read_dir(directory)
        .ok()?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|candidate| {
            let name = candidate.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
            name.ends_with(".pub") || name == "authorized_keys"
        })
        .collect();
    candidates.sort();
    candidates.into_iter().find_map(|candidate| {
        let text = std::fs::read_to_string(&candidate).ok().filter(|text| text.len() < 1 << 20)?;
        let matches = text.lines().any(|line| {
            line.split_whitespace()
                .find_map(|field| {
                    base64::engine::general_purpose::STANDARD.decode(field).ok().filter(|blob| blob.len() > 16)
                })
                .is_some_and(|blob| self::fingerprint(&blob) == fingerprint)
        });
        matches.then(|| candidate.display().to_string())
    })
}

/// SSH wire-format reader: big-endian u32 lengths before strings.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn u32(&mut self) -> Option<u32> {
        let (head, rest) = self.0.split_first_chunk::<4>()?;
        self.0 = rest;
        Some(u32::from_be_bytes(*head))
    }

    fn string(&mut self) -> Option<&'a [u8]> {
        let length = usize::try_from(self.u32()?).ok()?;
        let (text, rest) = (self.0.get(..length)?, self.0.get(length..)?);
        self.0 = rest;
        Some(text)
    }
}

/// DER reader: tag, length (short or long form), contents.
struct Der<'a>(&'a [u8]);

impl<'a> Der<'a> {
    /// The contents of the next element, which must have `tag`.
    fn take(&mut self, tag: u8) -> Option<&'a [u8]> {
        let (&found, rest) = self.0.split_first()?;
        if found != tag {
            return None;
        }
        let (&first, mut rest) = rest.split_first()?;
        let length = if first < 0x80 {
            usize::from(first)
        } else {
            let count = usize::from(first & 0x7F);
            if count == 0 || count > 4 {
                return None;
            }
            let (bytes, tail) = (rest.get(..count)?, rest.get(count..)?);
            rest = tail;
            bytes.iter().fold(0usize, |length, &byte| length << 8 | usize::from(byte))
        };
        let (contents, tail) = (rest.get(..length)?, rest.get(length..)?);
        self.0 = tail;
        Some(contents)
    }
}
