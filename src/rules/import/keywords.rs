//! Keywords for imported rules that have none (Nosey Parker and Kingfisher
//! rules never do, gitleaks rules may not): the literals every match must
//! start (or end) with, as keyhound's prefilter needs them.

use regex_syntax::hir::literal::{ExtractKind, Extractor};

use crate::rules::regex_compat;

/// Shortest literal worth prefiltering on.
const MIN_KEYWORD: usize = 3;
/// More distinct keywords than this means the literals are a class spelled out.
const MAX_KEYWORDS: usize = 12;

/// The lowercase literals that every match of `pattern` starts with, or
/// failing that ends with; `None` when there is no such short set of
/// literals of at least three characters (the rule then runs on every file).
pub fn derive(pattern: &str) -> Option<Vec<String>> {
    let hir = regex_compat::parse(pattern).ok()?;
    [ExtractKind::Prefix, ExtractKind::Suffix].into_iter().find_map(|kind| {
        let mut extractor = Extractor::new();
        extractor.kind(kind).limit_class(4).limit_total(2048);
        let seq = extractor.extract(&hir);
        let literals = seq.literals()?;
        let mut keywords: Vec<String> = Vec::new();
        for literal in literals {
            let text = std::str::from_utf8(literal.as_bytes()).ok()?;
            // Unicode case variants (the Kelvin sign for `k`) have ASCII twins.
            if !text.is_ascii() {
                continue;
            }
            let keyword = text.to_ascii_lowercase();
            if keyword.trim().len() < MIN_KEYWORD {
                return None;
            }
            if !keywords.contains(&keyword) {
                keywords.push(keyword);
            }
        }
        (!keywords.is_empty() && keywords.len() <= MAX_KEYWORDS).then_some(keywords)
    })
}

#[cfg(test)]
mod tests {
    use super::derive;

    #[test]
    fn prefixes_become_lowercase_keywords() {
        assert_eq!(derive(r"\b(ghp_[A-Za-z0-9]{36})\b"), Some(vec!["ghp_".to_string()]));
        assert_eq!(
            derive(r"(?i)\b(acme_(?:live|test)_[0-9a-f]{32})"),
            Some(vec!["acme_live_".into(), "acme_test_".into()])
        );
        assert_eq!(derive("(?x) aws (?:.|[\\n\\r]){0,32}? ([A-Za-z0-9/+=]{40})"), Some(vec!["aws".to_string()]));
        assert_eq!(
            derive(r"\b(acct_[0-9]{12})\b"),
            Some(vec!["acct_".to_string()]),
            "digit classes are not spelled out"
        );
    }

    #[test]
    fn a_suffix_serves_when_there_is_no_prefix() {
        assert_eq!(derive(r"[a-z0-9]{32}\.apps\.example\.com"), Some(vec![".apps.example.com".to_string()]));
    }

    #[test]
    fn patterns_without_a_usable_literal_have_none() {
        assert_eq!(derive(r"\b[0-9a-f]{40}\b"), None);
        assert_eq!(derive(r"(?:ab|[0-9]{8})"), None);
        assert_eq!(derive(r"(ab[0-9]{8})"), None, "two characters are too short to prefilter on");
    }
}
