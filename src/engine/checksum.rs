//! Checksums embedded in some token formats, which separate real tokens from
//! look-alikes without a network call.

use std::str::FromStr;

/// A named checksum a rule's secret must satisfy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checksum {
    /// GitHub classic tokens (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`): 30 base62
    /// characters followed by the 6-character base62 CRC32 of those 30.
    GithubCrc32,
}

impl FromStr for Checksum {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name {
            "github-crc32" => Ok(Checksum::GithubCrc32),
            other => Err(format!("unknown checksum `{other}` (supported: github-crc32)")),
        }
    }
}

impl Checksum {
    /// Whether `secret` passes this checksum.
    pub fn is_valid(self, secret: &[u8]) -> bool {
        match self {
            Checksum::GithubCrc32 => github_crc32_is_valid(secret),
        }
    }
}

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Encodes `value` in base62, left-padded with `0` to `width` characters.
fn base62(mut value: u32, width: usize) -> Vec<u8> {
    let mut digits = Vec::with_capacity(width);
    while value > 0 {
        digits.push(BASE62[(value % 62) as usize]);
        value /= 62;
    }
    digits.resize(digits.len().max(width), b'0');
    digits.reverse();
    digits
}

fn github_crc32_is_valid(token: &[u8]) -> bool {
    let Some(underscore) = token.iter().position(|&b| b == b'_') else {
        return false;
    };
    let body = &token[underscore + 1..];
    if body.len() != 36 || !body.iter().all(u8::is_ascii_alphanumeric) {
        return false;
    }
    let (random, checksum) = body.split_at(30);
    base62(crc32fast::hash(random), 6) == checksum
}

/// Builds a token with a valid checksum from a 30-character body (for tests
/// and the benchmark corpus).
pub fn github_token_with_checksum(prefix: &str, body30: &str) -> String {
    let checksum = base62(crc32fast::hash(body30.as_bytes()), 6);
    format!("{prefix}{body30}{}", String::from_utf8_lossy(&checksum))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_a_token_with_its_checksum() {
        let token = github_token_with_checksum("ghp_", "Zq8Hn3KfP2xLwT7mR4vY9cB1sJ6dG0");
        assert_eq!(token.len(), 40);
        assert!(Checksum::GithubCrc32.is_valid(token.as_bytes()));
    }

    #[test]
    fn rejects_a_wrong_checksum_or_shape() {
        let mut token = github_token_with_checksum("gho_", "Zq8Hn3KfP2xLwT7mR4vY9cB1sJ6dG0").into_bytes();
        let last = token.len() - 1;
        token[last] = if token[last] == b'a' { b'b' } else { b'a' };
        assert!(!Checksum::GithubCrc32.is_valid(&token));
        assert!(!Checksum::GithubCrc32.is_valid(b"ghp_short"));
        assert!(!Checksum::GithubCrc32.is_valid(b"no-underscore"));
    }

    #[test]
    fn base62_pads_to_width() {
        assert_eq!(base62(0, 6), b"000000");
        assert_eq!(base62(61, 6), b"00000z");
        assert_eq!(base62(62, 6), b"000010");
    }
}
