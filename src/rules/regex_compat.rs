//! Differences between Go's RE2 syntax (gitleaks configs) and Rust's `regex`,
//! smoothed over so gitleaks patterns compile unchanged, plus the pattern
//! analysis the loader needs.

use regex_syntax::hir::{Class, Hir, HirKind};

/// Rewrites a pattern so that Rust's `regex` reads it as Go's RE2 does.
///
/// RE2 treats a `{` that does not open a valid counted repetition (`{n}`,
/// `{n,}`, `{n,m}`) as a literal brace; Rust rejects it. Such braces are
/// escaped. Everything else is returned unchanged.
pub fn go_to_rust(pattern: &str) -> String {
    let bytes = pattern.as_bytes();
    let mut out = String::with_capacity(pattern.len() + 4);
    let mut index = 0;
    let mut in_class = false;
    while index < bytes.len() {
        let byte = bytes[index];
        match byte {
            b'\\' => {
                // Copy the escape and the escaped character as they are.
                let end = next_char_boundary(pattern, (index + 2).min(bytes.len()));
                out.push_str(&pattern[index..end]);
                index = end;
                continue;
            }
            b'[' if !in_class => {
                in_class = true;
                out.push('[');
                index += 1;
                // A `]` or `^]` right after `[` is a literal `]`.
                if bytes.get(index) == Some(&b'^') {
                    out.push('^');
                    index += 1;
                }
                if bytes.get(index) == Some(&b']') {
                    out.push(']');
                    index += 1;
                }
                continue;
            }
            b']' if in_class => in_class = false,
            b'{' if !in_class && !opens_repetition(&bytes[index..]) => {
                out.push_str("\\{");
                index += 1;
                continue;
            }
            b'}' if !in_class && !closes_repetition(&bytes[..index]) => {
                out.push_str("\\}");
                index += 1;
                continue;
            }
            _ => {}
        }
        let end = next_char_boundary(pattern, index + 1);
        out.push_str(&pattern[index..end]);
        index = end;
    }
    out
}

fn next_char_boundary(text: &str, mut index: usize) -> usize {
    while index < text.len() && !text.is_char_boundary(index) {
        index += 1;
    }
    index.min(text.len())
}

/// Whether `rest` (starting at `{`) is `{n}`, `{n,}` or `{n,m}`.
fn opens_repetition(rest: &[u8]) -> bool {
    let Some(close) = rest.iter().position(|&b| b == b'}') else {
        return false;
    };
    let inner = &rest[1..close];
    let (min, max) = match inner.iter().position(|&b| b == b',') {
        Some(comma) => (&inner[..comma], Some(&inner[comma + 1..])),
        None => (inner, None),
    };
    !min.is_empty() && min.iter().all(u8::is_ascii_digit) && max.is_none_or(|max| max.iter().all(u8::is_ascii_digit))
}

/// Whether the `}` after `before` closes a valid counted repetition.
fn closes_repetition(before: &[u8]) -> bool {
    before.iter().rposition(|&b| b == b'{').is_some_and(|open| {
        let escaped = open > 0 && before[open - 1] == b'\\';
        !escaped && opens_repetition(&[&before[open..], b"}"].concat())
    })
}

/// Parses a pattern (RE2 syntax accepted) without compiling it.
pub fn parse(pattern: &str) -> Result<Hir, String> {
    regex_syntax::ParserBuilder::new().utf8(false).build().parse(&go_to_rust(pattern)).map_err(|err| err.to_string())
}

/// Whether a match of this regex can continue past a line break, i.e. the
/// rule must see more than one line. A line break that can only be the last
/// character of a match (a trailing boundary such as `(?:["'\s;]|$)`) does
/// not count.
pub fn can_span_lines(hir: &Hir) -> bool {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) | HirKind::Class(_) => false,
        HirKind::Literal(literal) => {
            let bytes = &literal.0;
            bytes.len() > 1 && bytes[..bytes.len() - 1].iter().any(|&b| b == b'\n' || b == b'\r')
        }
        HirKind::Repetition(repetition) => {
            if repetition.max == Some(1) {
                can_span_lines(&repetition.sub)
            } else {
                can_match_newline(&repetition.sub)
            }
        }
        HirKind::Capture(capture) => can_span_lines(&capture.sub),
        HirKind::Alternation(parts) => parts.iter().any(can_span_lines),
        HirKind::Concat(parts) => {
            // `(?:^|[^A-Za-z0-9_-])` first: the break before a line is one character
            // before the match proper, and a line window starts after it, where `^` matches.
            let start = usize::from(parts.first().is_some_and(is_line_start_boundary));
            // `\r?$` last: the CR of a CRLF line end.
            let mut end = parts.len();
            while end > start && is_line_end(&parts[end - 1]) {
                end -= 1;
            }
            match parts[start..end].split_last() {
                Some((last, init)) => init.iter().any(can_match_newline) || can_span_lines(last),
                None => false,
            }
        }
    }
}

/// `(?:^|[^...])`: line start, or one character (which may be a line break).
fn is_line_start_boundary(hir: &Hir) -> bool {
    use regex_syntax::hir::Look;
    let HirKind::Alternation(alternatives) = hir.kind() else { return false };
    let starts_line = |hir: &Hir| matches!(hir.kind(), HirKind::Look(Look::Start | Look::StartLF | Look::StartCRLF));
    alternatives.iter().any(starts_line)
        && alternatives
            .iter()
            .all(|alternative| starts_line(alternative) || matches!(alternative.kind(), HirKind::Class(_)))
}

/// An assertion, or an optional `\r`, at the end of a pattern.
fn is_line_end(hir: &Hir) -> bool {
    match hir.kind() {
        HirKind::Look(_) => true,
        HirKind::Repetition(repetition) if repetition.min == 0 && repetition.max == Some(1) => {
            matches!(repetition.sub.kind(), HirKind::Literal(literal) if &*literal.0 == b"\r")
        }
        _ => false,
    }
}

/// A rough size of the program a regex compiles to: literal bytes and classes
/// count one each, counted repetitions multiply. Cheap, and enough to tell a
/// pattern that may hit the compile size limit (nested counted repetitions
/// such as `(\w{1000}){1000}`) from ordinary ones, so that only those are
/// compiled at load time instead of on first use.
pub fn estimated_size(hir: &Hir) -> u64 {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) | HirKind::Class(_) => 1,
        HirKind::Literal(literal) => literal.0.len() as u64,
        HirKind::Repetition(repetition) => {
            let count = u64::from(repetition.max.unwrap_or(repetition.min).max(1));
            estimated_size(&repetition.sub).saturating_mul(count)
        }
        HirKind::Capture(capture) => estimated_size(&capture.sub),
        HirKind::Concat(parts) | HirKind::Alternation(parts) => {
            parts.iter().map(estimated_size).fold(0u64, u64::saturating_add)
        }
    }
}

/// Whether a regex can match a line break anywhere.
pub fn can_match_newline(hir: &Hir) -> bool {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => false,
        HirKind::Literal(literal) => literal.0.iter().any(|&b| b == b'\n' || b == b'\r'),
        HirKind::Class(Class::Unicode(class)) => {
            class.ranges().iter().any(|range| range.start() <= '\n' && '\n' <= range.end())
        }
        HirKind::Class(Class::Bytes(class)) => {
            class.ranges().iter().any(|range| range.start() <= b'\n' && b'\n' <= range.end())
        }
        HirKind::Repetition(repetition) => can_match_newline(&repetition.sub),
        HirKind::Capture(capture) => can_match_newline(&capture.sub),
        HirKind::Concat(parts) | HirKind::Alternation(parts) => parts.iter().any(can_match_newline),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_braces_are_escaped_like_re2() {
        assert_eq!(go_to_rust(r"^\$(?:\d+|{\d+})$"), r"^\$(?:\d+|\{\d+\})$");
        assert_eq!(go_to_rust(r"^\${(?:[A-Z_]+|[a-z_]+)}$"), r"^\$\{(?:[A-Z_]+|[a-z_]+)\}$");
        assert_eq!(go_to_rust(r"import[ \t]+{[ \t\w,]+}[ \t]+from"), r"import[ \t]+\{[ \t\w,]+\}[ \t]+from");
        assert_eq!(go_to_rust(r"\$?{{[^}]+}}"), r"\$?\{\{[^}]+\}\}");
    }

    #[test]
    fn valid_patterns_are_unchanged() {
        for pattern in [r"a{2}", r"a{2,}", r"[a-z]{3,5}", r"\{x\}", r"[{}]", r"[]{]", r"(?i)é{1,2}"] {
            assert_eq!(go_to_rust(pattern), pattern);
        }
    }

    #[test]
    fn translated_gitleaks_patterns_compile() {
        for pattern in [r"^\$(?:\d+|{\d+})$", r"^\${(?:[A-Z_]+|[a-z_]+)}$", r"['\x22]?\$?{{[^}]+}}['\x22]?:", "x{,5}"] {
            regex::Regex::new(&go_to_rust(pattern)).unwrap_or_else(|err| panic!("{pattern}: {err}"));
        }
    }

    #[test]
    fn nested_counted_repetitions_are_estimated_large() {
        let parse = |pattern: &str| regex_syntax::parse(pattern).unwrap();
        assert!(estimated_size(&parse(r"(\w{1000}){1000}")) >= 1_000_000);
        assert!(estimated_size(&parse(r"\b(sk-[0-9a-f]{32})\b")) < 100);
        assert!(estimated_size(&parse(r"[a-z]+@[a-z]+\.com")) < 100);
    }

    #[test]
    fn multi_line_patterns_are_detected() {
        let parse = |pattern: &str| regex_syntax::parse(pattern).unwrap();
        assert!(can_span_lines(&parse(r"-----BEGIN[\s\S]+END")));
        assert!(can_span_lines(&parse(r"a\s*b")));
        assert!(can_span_lines(&parse(r"(?s)a.b")));
        assert!(can_span_lines(&parse(r"a\nb")));
        assert!(!can_span_lines(&parse(r"a[ \t]*b.c")));
        assert!(!can_span_lines(&parse(r"sk-[0-9a-f]{32}\b")));
    }

    #[test]
    fn a_trailing_line_break_does_not_make_a_rule_multi_line() {
        let parse = |pattern: &str| regex_syntax::parse(pattern).unwrap();
        assert!(!can_span_lines(&parse(r#"(glpat-[a-z0-9]{20})(?:[^a-z0-9]|$)"#)));
        assert!(!can_span_lines(&parse(r#"key=([a-z]{8})(?:["'\s;]|\\[nr]|$)"#)));
        assert!(!can_span_lines(&parse(r"x\n")));
        assert!(can_span_lines(&parse(r"x(?:\s|y)+")));
        // A boundary of one character before the match, with `^` as the other choice,
        // and a CR before the line end do not make a rule multi-line.
        assert!(!can_span_lines(&parse(r"(?:^|[^A-Za-z0-9_-])(key-[0-9a-f]{32})\b")));
        assert!(!can_span_lines(&parse(r"(?m)^[ \t]*https?://[^:@/\s]{1,9}:([^@/\s]{3,9})@[a-z.]+[ \t]*\r?$")));
        assert!(
            can_span_lines(&parse(r"[^A-Za-z0-9_-](key-[0-9a-f]{32})")),
            "no `^` to match at a line window's start"
        );
        assert!(can_span_lines(&parse(r"(?:^|\s)\s(key)")), "only one leading character may be a break");
    }
}
