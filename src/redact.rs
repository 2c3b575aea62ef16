//! One masker for every string that leaves keyhound: verification reasons,
//! rotation messages, audit records, state entries, stderr. It knows every
//! secret of the run (and every new key rotation makes) and replaces each
//! occurrence, raw or percent-encoded, with its redacted form.

use std::borrow::Cow;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use crate::finding::{redact, Redaction};

/// Shortest secret masked inside other texts (shorter ones would hit ordinary words).
pub const MIN_MASKED_LEN: usize = 8;

/// Masks known secrets in free text.
#[derive(Debug, Clone, Default)]
pub struct Masker {
    secrets: Vec<String>,
    replacements: Vec<String>,
    automaton: Option<AhoCorasick>,
}

impl Masker {
    /// A masker for `secrets`, each replaced by its redaction under `redaction`
    /// (nothing is masked with [`Redaction::None`], the user's `--show-secrets`).
    pub fn new<'a>(secrets: impl IntoIterator<Item = &'a str>, redaction: Redaction) -> Masker {
        let mut masker = Masker::default();
        if redaction == Redaction::None {
            return masker;
        }
        for secret in secrets {
            masker.push(secret, redaction);
        }
        masker.rebuild();
        masker
    }

    /// A masker that hides `secrets` behind their default prefix redaction.
    pub fn redacting<'a>(secrets: impl IntoIterator<Item = &'a str>) -> Masker {
        Masker::new(secrets, Redaction::Prefix)
    }

    /// Adds a secret learnt during the run (a new key, a management key).
    pub fn add(&mut self, secret: &str) {
        let before = self.secrets.len();
        self.push(secret, Redaction::Prefix);
        if self.secrets.len() != before {
            self.rebuild();
        }
    }

    fn push(&mut self, secret: &str, redaction: Redaction) {
        if secret.len() < MIN_MASKED_LEN {
            return;
        }
        let encoded = percent_encoded(secret);
        for form in [Some(secret.to_string()), (encoded != secret).then_some(encoded)].into_iter().flatten() {
            if !self.secrets.contains(&form) {
                self.replacements.push(match redaction {
                    Redaction::None => form.clone(),
                    Redaction::Prefix => redact(secret),
                    other => other.apply(secret),
                });
                self.secrets.push(form);
            }
        }
    }

    fn rebuild(&mut self) {
        // Longest first, so that a secret containing another is masked whole.
        let mut pairs: Vec<(String, String)> =
            self.secrets.drain(..).zip(self.replacements.drain(..)).collect::<Vec<_>>();
        pairs.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        (self.secrets, self.replacements) = pairs.into_iter().unzip();
        self.automaton = if self.secrets.is_empty() {
            None
        } else {
            AhoCorasickBuilder::new().match_kind(MatchKind::LeftmostLongest).build(&self.secrets).ok()
        };
    }

    /// `text` with every known secret replaced by its redaction.
    pub fn mask<'t>(&self, text: &'t str) -> Cow<'t, str> {
        match &self.automaton {
            Some(automaton) if automaton.is_match(text) => Cow::Owned(automaton.replace_all(text, &self.replacements)),
            _ => Cow::Borrowed(text),
        }
    }

    /// Masks a JSON value's strings in place (verification details, hook payloads).
    pub fn mask_json(&self, value: &mut serde_json::Value) {
        match value {
            serde_json::Value::String(text) => {
                if let Cow::Owned(masked) = self.mask(text) {
                    *text = masked;
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(|item| self.mask_json(item)),
            serde_json::Value::Object(map) => map.values_mut().for_each(|item| self.mask_json(item)),
            _ => {}
        }
    }

    /// Masks a verification's reason and details in place.
    pub fn mask_verification(&self, verification: &mut crate::verify::Verification) {
        if let crate::verify::Status::Unknown(reason) = &mut verification.status {
            if let Cow::Owned(masked) = self.mask(reason) {
                *reason = masked;
            }
        }
        for value in verification.details.values_mut() {
            self.mask_json(value);
        }
    }

    /// Whether `text` holds any known secret.
    pub fn finds_any(&self, text: &str) -> bool {
        self.automaton.as_ref().is_some_and(|automaton| automaton.is_match(text))
    }
}

/// `text` with every byte outside the URL-unreserved set percent-encoded, as
/// a secret appears in a query string or path.
fn percent_encoded(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_secret_is_masked_raw_and_percent_encoded() {
        let masker = Masker::redacting(["5123456789:AAHfLongTelegramSecret", "short"]);
        let text = "GET /bot5123456789:AAHfLongTelegramSecret/getMe and ?t=5123456789%3AAAHfLongTelegramSecret short";
        let masked = masker.mask(text);
        assert!(!masked.contains("AAHfLongTelegramSecret"), "{masked}");
        assert!(masked.contains("short"), "secrets under 8 characters are left alone: {masked}");
        assert!(masker.finds_any(text) && !masker.finds_any(&masked));
    }

    #[test]
    fn a_secret_added_later_is_masked_and_show_secrets_masks_nothing() {
        let mut masker = Masker::redacting(["first-secret-value"]);
        masker.add("npm_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789");
        let mut details = serde_json::json!({"detail": ["deleted npm_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"]});
        masker.mask_json(&mut details);
        assert_eq!(details["detail"][0], "deleted npm_*****");
        let shown = Masker::new(["first-secret-value"], Redaction::None);
        assert_eq!(shown.mask("first-secret-value"), "first-secret-value");
    }
}
