//! AWS verification: STS `GetCallerIdentity` signed with Signature Version 4.
//! It needs no permissions, changes nothing, and answers with the account and
//! ARN of a live key pair. For an IAM user's key, IAM
//! `ListAttachedUserPolicies` then names the user's managed policies, when
//! the key may list them (read-only).

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use super::http::Request;

const BODY: &str = "Action=GetCallerIdentity&Version=2011-06-15";
/// Content type of AWS query API requests.
pub const CONTENT_TYPE: &str = "application/x-www-form-urlencoded; charset=utf-8";
const REGION: &str = "us-east-1";
const SERVICE: &str = "sts";

/// The signed STS request for a key pair, at `amz_date` (`YYYYMMDDTHHMMSSZ`).
pub fn get_caller_identity(base_url: &str, key_id: &str, secret: &str, amz_date: &str) -> Request {
    signed_query(base_url, SERVICE, BODY.to_string(), key_id, secret, amz_date)
}

/// A POST of an AWS query API `body` to `base_url`, signed with SigV4 for `service`.
fn signed_query(base_url: &str, service: &str, body: String, key_id: &str, secret: &str, amz_date: &str) -> Request {
    let host = base_url.split("://").nth(1).unwrap_or(base_url).split('/').next().unwrap_or_default();
    let authorization = sign(&SignInput {
        method: "POST",
        host,
        path: "/",
        query: "",
        content_type: CONTENT_TYPE,
        payload: &body,
        key_id,
        secret,
        amz_date,
        region: REGION,
        service,
        security_token: None,
    });
    Request {
        method: "POST".into(),
        url: format!("{}/", base_url.trim_end_matches('/')),
        headers: vec![("X-Amz-Date".into(), amz_date.into()), ("Authorization".into(), authorization)],
        body: Some((body, CONTENT_TYPE.into())),
    }
}

/// The default STS endpoint; IAM's is [`IAM_URL`].
pub const STS_URL: &str = "https://sts.amazonaws.com";
/// IAM's global endpoint.
pub const IAM_URL: &str = "https://iam.amazonaws.com";

/// The signed IAM `ListAttachedUserPolicies` request for `user` (read-only).
pub fn list_attached_user_policies(base_url: &str, key_id: &str, secret: &str, user: &str, amz_date: &str) -> Request {
    let user: String = percent_encoding::utf8_percent_encode(user, percent_encoding::NON_ALPHANUMERIC).collect();
    let body = format!("Action=ListAttachedUserPolicies&UserName={user}&Version=2010-05-08");
    signed_query(base_url, "iam", body, key_id, secret, amz_date)
}

/// The user name of an IAM user's ARN (`arn:aws:iam::123:user/path/name`);
/// `None` for roles, assumed roles and the root user.
pub fn iam_user_name(arn: &str) -> Option<&str> {
    let resource = arn.splitn(6, ':').nth(5)?;
    resource.strip_prefix("user/").and_then(|path| path.rsplit('/').next()).filter(|name| !name.is_empty())
}

/// The current time in SigV4's format.
pub fn amz_date_now() -> String {
    jiff::Timestamp::now().strftime("%Y%m%dT%H%M%SZ").to_string()
}

/// What a SigV4 signature covers (signed headers: content-type, host, x-amz-date).
pub struct SignInput<'a> {
    /// HTTP method.
    pub method: &'a str,
    /// Host header.
    pub host: &'a str,
    /// Canonical path.
    pub path: &'a str,
    /// Canonical query string.
    pub query: &'a str,
    /// Content-Type header.
    pub content_type: &'a str,
    /// Request body.
    pub payload: &'a str,
    /// Access key id.
    pub key_id: &'a str,
    /// Secret access key.
    pub secret: &'a str,
    /// `YYYYMMDDTHHMMSSZ`.
    pub amz_date: &'a str,
    /// Region.
    pub region: &'a str,
    /// Service.
    pub service: &'a str,
    /// Session token of temporary credentials (signed as `x-amz-security-token`).
    pub security_token: Option<&'a str>,
}

/// The `Authorization` header value for a request.
pub fn sign(input: &SignInput<'_>) -> String {
    let date = &input.amz_date[..8];
    let (signed_headers, token_header) = match input.security_token {
        Some(token) => ("content-type;host;x-amz-date;x-amz-security-token", format!("x-amz-security-token:{token}\n")),
        None => ("content-type;host;x-amz-date", String::new()),
    };
    let canonical_request = format!(
        "{}\n{}\n{}\ncontent-type:{}\nhost:{}\nx-amz-date:{}\n{token_header}\n{signed_headers}\n{}",
        input.method,
        input.path,
        input.query,
        input.content_type,
        input.host,
        input.amz_date,
        hex(&Sha256::digest(input.payload.as_bytes()))
    );
    let scope = format!("{date}/{}/{}/aws4_request", input.region, input.service);
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{}\n{scope}\n{}",
        input.amz_date,
        hex(&Sha256::digest(canonical_request.as_bytes()))
    );
    let mut key = hmac(format!("AWS4{}", input.secret).as_bytes(), date.as_bytes());
    for part in [input.region, input.service, "aws4_request"] {
        key = hmac(&key, part.as_bytes());
    }
    let signature = hex(&hmac(&key, string_to_sign.as_bytes()));
    format!(
        "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
        input.key_id
    )
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Pulls `<Tag>value</Tag>` out of an STS XML answer.
pub fn xml_field(body: &str, tag: &str) -> Option<String> {
    xml_fields(body, tag).into_iter().next()
}

/// Every `<Tag>value</Tag>` of an XML answer, in order.
pub fn xml_fields(body: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut found = Vec::new();
    let mut rest = body;
    while let Some(start) = rest.find(&open).map(|start| start + open.len()) {
        let Some(end) = rest[start..].find(&close).map(|end| end + start) else { break };
        found.push(rest[start..end].to_string());
        rest = &rest[end + close.len()..];
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example from AWS's SigV4 documentation (IAM ListUsers).
    #[test]
    fn matches_the_documented_signature() {
        let authorization = sign(&SignInput {
            method: "GET",
            host: "iam.amazonaws.com",
            path: "/",
            query: "Action=ListUsers&Version=2010-05-08",
            content_type: CONTENT_TYPE,
            payload: "",
            key_id: "AKIDEXAMPLE",
            secret: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            amz_date: "20150830T123600Z",
            region: "us-east-1",
            service: "iam",
            security_token: None,
        });
        assert!(
            authorization.ends_with("Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"),
            "{authorization}"
        );
    }

    #[test]
    fn only_iam_users_have_a_user_name() {
        assert_eq!(iam_user_name("arn:aws:iam::123456789012:user/ci-deploy"), Some("ci-deploy"));
        assert_eq!(iam_user_name("arn:aws:iam::123456789012:user/division/team/ci-deploy"), Some("ci-deploy"));
        assert_eq!(iam_user_name("arn:aws:sts::123456789012:assumed-role/Admin/session"), None);
        assert_eq!(iam_user_name("arn:aws:iam::123456789012:root"), None);
    }

    #[test]
    fn xml_fields_are_extracted() {
        let policies = "<AttachedPolicies><member><PolicyName>ReadOnlyAccess</PolicyName></member>\
                        <member><PolicyName>AmazonS3FullAccess</PolicyName></member></AttachedPolicies>";
        assert_eq!(xml_fields(policies, "PolicyName"), ["ReadOnlyAccess", "AmazonS3FullAccess"]);
        let body = "<GetCallerIdentityResult><Arn>arn:aws:iam::123:user/x</Arn><Account>123</Account></GetCallerIdentityResult>";
        assert_eq!(xml_field(body, "Account").as_deref(), Some("123"));
        assert_eq!(xml_field(body, "Missing"), None);
    }
}
