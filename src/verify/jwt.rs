//! JSON Web Tokens, checked without a request: the header and claims are
//! decoded, and an `exp` in the past makes the token `dead: expired`. A JWT
//! that has not expired cannot be judged offline (only its issuer knows the
//! signing key), so it stays `unknown`, with what it says about itself.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde_json::{Map, Value};

use super::{Status, Verification};

/// Claims worth recording: who issued the token, for whom, for what.
const CLAIMS: [&str; 8] = ["iss", "sub", "aud", "azp", "scope", "role", "client_id", "email"];

/// Inspects a JWT at `now` (seconds since the Unix epoch).
pub fn inspect(token: &str, now: i64) -> Verification {
    let mut segments = token.split('.');
    let (Some(header), Some(claims)) = (segments.next().and_then(decode), segments.next().and_then(decode)) else {
        return Verification::unknown("not a decodable JWT (header and claims must be base64url JSON objects)");
    };
    let mut details: BTreeMap<String, Value> = BTreeMap::new();
    if let Some(alg) = header.get("alg") {
        details.insert("alg".into(), alg.clone());
    }
    for claim in CLAIMS {
        if let Some(value) = claims.get(claim) {
            details.insert(claim.into(), value.clone());
        }
    }
    let issued = claims.get("iat").and_then(Value::as_i64);
    if let Some(issued) = issued.and_then(rfc3339) {
        details.insert("issued_at".into(), Value::String(issued));
    }
    let status = match claims.get("exp").and_then(Value::as_i64) {
        Some(expiry) => {
            details.insert("expires_at".into(), Value::String(rfc3339(expiry).unwrap_or_else(|| expiry.to_string())));
            if expiry <= now {
                details.insert("expired".into(), Value::Bool(true));
                Status::Dead
            } else {
                Status::Unknown("JWT not expired; only its issuer can tell whether it is still accepted".into())
            }
        }
        None => Status::Unknown("JWT without an expiry (`exp`): valid until its signing key changes".into()),
    };
    Verification { status, details }
}

/// The current time for [`inspect`].
pub fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

fn decode(segment: &str) -> Option<Map<String, Value>> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(segment.trim_end_matches('=')).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(object) => Some(object),
        _ => None,
    }
}

fn rfc3339(seconds: i64) -> Option<String> {
    jiff::Timestamp::from_second(seconds).ok().map(|time| time.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(claims: &str) -> String {
        let encode = |text: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text);
        format!("{}.{}.c2lnbmF0dXJlLW5vdC1jaGVja2Vk", encode(r#"{"alg":"HS256","typ":"JWT"}"#), encode(claims))
    }

    #[test]
    fn a_jwt_past_its_expiry_is_dead_and_says_whose_it_was() {
        let verification = inspect(
            &token(r#"{"iss":"https://auth.acme.example","sub":"user_42","aud":"api","exp":1700000000}"#),
            1_800_000_000,
        );
        assert_eq!(verification.status, Status::Dead);
        assert_eq!(verification.details["iss"], "https://auth.acme.example");
        assert_eq!(verification.details["sub"], "user_42");
        assert_eq!(verification.details["aud"], "api");
        assert_eq!(verification.details["expires_at"], "2023-11-14T22:13:20Z");
        assert_eq!(verification.details["expired"], true);
        assert_eq!(verification.details["alg"], "HS256");
    }

    #[test]
    fn a_jwt_that_has_not_expired_or_never_does_is_unknown_with_its_claims() {
        let fresh = inspect(&token(r#"{"sub":"svc","role":"service_role","exp":1900000000}"#), 1_800_000_000);
        assert!(matches!(&fresh.status, Status::Unknown(reason) if reason.contains("not expired")), "{fresh:?}");
        assert_eq!(fresh.details["role"], "service_role");
        let forever = inspect(&token(r#"{"iss":"supabase","role":"anon"}"#), 1_800_000_000);
        assert!(matches!(&forever.status, Status::Unknown(reason) if reason.contains("without an expiry")));
    }

    #[test]
    fn text_that_does_not_decode_is_unknown() {
        assert!(matches!(inspect("eyJnot.eyJvalid.x", 0).status, Status::Unknown(_)));
        assert!(matches!(inspect("abc", 0).status, Status::Unknown(_)));
    }
}
