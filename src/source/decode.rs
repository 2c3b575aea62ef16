//! Secrets hidden in encodings: base64 (standard and URL-safe), hex,
//! percent-encoding, string escapes (`\u002d`, `\/`, `\x41`) and character
//! entities (`&amp;`, `&#64;`), and the credentials of an HTTP
//! `Authorization: Basic` header. [`find_encoded`] finds encoded spans whose
//! decoding is text; the worker runs the rules on that text and reports what
//! they find at the span's place, with the encoding chain.
//!
//! Finding candidates must not slow the scan down: base64 and hex runs are
//! looked for only between spaces, line breaks and quotes that are at least
//! [`MIN_RUN`] bytes apart, the other encodings by their marker bytes (`%`,
//! `\`, `&`, `Basic `) with memchr, and a run is decoded only when its first
//! characters can encode ASCII text.

use std::ops::Range;

/// Shortest base64 or hex run decoded (30 bytes of base64 text, 20 of hex).
pub const MIN_RUN: usize = 40;
/// Shortest decoded text worth scanning.
const MIN_DECODED: usize = 12;
/// Longest span decoded (a whole service-account JSON fits many times).
const MAX_RUN: usize = 1 << 20;

/// How a span was encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// RFC 4648 base64, standard or URL-safe alphabet, padded or not.
    Base64,
    /// Hexadecimal digits.
    Hex,
    /// `%XX` escapes.
    Percent,
    /// String escapes and character entities.
    Escapes,
}

impl Encoding {
    /// Whether the decoded text is what is used (base64, hex: a Kubernetes
    /// data field, a whole credentials file; percent: a URL's password),
    /// rather than an escaped way of writing a value the rules match as it is.
    pub fn wraps_text(self) -> bool {
        matches!(self, Encoding::Base64 | Encoding::Hex | Encoding::Percent)
    }

    /// The name used in reports (`decoded: base64`).
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Base64 => "base64",
            Encoding::Hex => "hex",
            Encoding::Percent => "percent",
            Encoding::Escapes => "escapes",
        }
    }
}

/// An encoded span of the input and the text it decodes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    /// The encoded bytes' range in the input.
    pub span: Range<usize>,
    /// What they decode to.
    pub decoded: Vec<u8>,
    /// How.
    pub encoding: Encoding,
}

/// Appends every encoded span of `bytes` that decodes to text.
pub fn find_encoded(bytes: &[u8], out: &mut Vec<Encoded>) {
    find_runs(bytes, out);
    find_escaped(bytes, out);
    // memchr on `B` beats memmem here: memmem's candidate bytes for `Basic `
    // include the space, the commonest byte of source code.
    for at in memchr::memchr_iter(b'B', bytes) {
        if bytes[at..].starts_with(b"Basic ") {
            basic_auth_at(bytes, at + b"Basic ".len(), out);
        }
    }
}

/// How escapes and entities start (each with a backslash or `&`).
const ESCAPE_MARKERS: [&[u8]; 9] = [b"\\u", b"\\x", b"\\/", b"&#", b"&amp;", b"&quot;", b"&apos;", b"&lt;", b"&gt;"];

/// Percent-encoded tokens, string escapes and entities, found by their
/// first bytes (`%`, a backslash, `&`) in one memchr pass.
fn find_escaped(bytes: &[u8], out: &mut Vec<Encoded>) {
    let mut percent_covered = 0;
    let mut escape_covered = 0;
    for at in memchr::memchr3_iter(b'%', b'\\', b'&', bytes) {
        if bytes[at] == b'%' {
            if at >= percent_covered {
                percent_covered = percent_at(bytes, at, out).unwrap_or(percent_covered);
            }
        } else if at >= escape_covered && ESCAPE_MARKERS.iter().any(|marker| bytes[at..].starts_with(marker)) {
            escape_covered = escape_at(bytes, at, out);
        }
    }
}

/// The characters of both base64 alphabets, as a lookup table.
const BASE64_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 256 {
        let b = byte as u8;
        table[byte] = b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'-' || b == b'_';
        byte += 1;
    }
    table
};

fn is_base64_byte(byte: u8) -> bool {
    BASE64_BYTES[usize::from(byte)]
}

/// Base64 and hex runs of at least [`MIN_RUN`] characters.
///
/// The input is read as eight-byte words, looking for bytes below `+`
/// (spaces, line breaks, quotes, brackets: the commonest ends of a run). A run
/// of [`MIN_RUN`] bytes covers four whole words without one, so a stretch of
/// four words is checked from its far end: a word with such a byte moves the
/// next candidate past it, and in ordinary text most words are never read.
/// Only a stretch of four or more clean words is looked at byte by byte.
fn find_runs(bytes: &[u8], out: &mut Vec<Encoded>) {
    // Whole words inside any MIN_RUN bytes, wherever they start.
    const CLEAN_WORDS: usize = (MIN_RUN - 7) / 8;
    let words = bytes.len() / 8;
    let mut candidate = 0;
    let mut examined = 0;
    while candidate + CLEAN_WORDS <= words {
        match (0..CLEAN_WORDS).rev().find(|&offset| has_low_byte(bytes, candidate + offset)) {
            Some(offset) => candidate += offset + 1,
            None => {
                let end = (candidate + CLEAN_WORDS..words).find(|&word| has_low_byte(bytes, word)).unwrap_or(words);
                // From the word before the stretch to the end of the word after
                // it: a run may begin or end inside them.
                let region = (candidate * 8).saturating_sub(8).max(examined)..((end + 1) * 8).min(bytes.len());
                examined = region.end;
                runs_in(bytes, region, out);
                candidate = end + 1;
            }
        }
    }
}

/// Whether word `index` (bytes `8 * index..8 * index + 8`) has a byte below `+`.
#[inline(always)]
fn has_low_byte(bytes: &[u8], index: usize) -> bool {
    const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
    const LIMIT: u64 = u64::from_le_bytes([b'+'; 8]);
    let word: [u8; 8] = bytes[index * 8..index * 8 + 8].try_into().unwrap_or([0; 8]);
    let value = u64::from_le_bytes(word);
    value.wrapping_sub(LIMIT) & !value & HIGHS != 0
}

/// Decodes the runs of at least [`MIN_RUN`] base64 characters within `gap`.
fn runs_in(bytes: &[u8], gap: Range<usize>, out: &mut Vec<Encoded>) {
    for run in base64_runs(bytes, gap) {
        decode_padded(bytes, run, out);
    }
}

/// The maximal runs of at least [`MIN_RUN`] base64 characters within `gap`.
///
/// A run must fill the [`MIN_RUN`] bytes from a candidate start, so each
/// window is checked from its far end: the last byte that is not base64
/// moves the start past it, and most bytes of short words are never read.
fn base64_runs(bytes: &[u8], gap: Range<usize>) -> impl Iterator<Item = Range<usize>> + '_ {
    let mut start = gap.start;
    std::iter::from_fn(move || {
        while start + MIN_RUN <= gap.end {
            let window = &bytes[start..start + MIN_RUN];
            match window.iter().rposition(|&byte| !is_base64_byte(byte)) {
                Some(last_other) => start += last_other + 1,
                None => {
                    let run_start = start;
                    let run_end = bytes[start + MIN_RUN..gap.end]
                        .iter()
                        .position(|&byte| !is_base64_byte(byte))
                        .map_or(gap.end, |length| start + MIN_RUN + length);
                    start = run_end + 1;
                    return Some(run_start..run_end);
                }
            }
        }
        None
    })
}

/// Decodes a run, with the `=` padding that follows it.
fn decode_padded(bytes: &[u8], run: Range<usize>, out: &mut Vec<Encoded>) {
    if run.len() > MAX_RUN {
        return;
    }
    let padded_end = run.end + bytes[run.end..].iter().take(2).take_while(|&&byte| byte == b'=').count();
    decode_run(bytes, run.start..padded_end, out);
}

/// The 6-bit value of a base64 character (either alphabet).
fn sextet(byte: u8) -> u8 {
    match byte {
        b'A'..=b'Z' => byte - b'A',
        b'a'..=b'z' => byte - b'a' + 26,
        b'0'..=b'9' => byte - b'0' + 52,
        b'+' | b'-' => 62,
        _ => 63,
    }
}

/// Whether `run` can be the base64 of ASCII text: in each of its first groups
/// of four characters, the bits that carry the three bytes' top bits are 0.
/// Identifiers, paths and random keys fail within a few groups, so almost no
/// run is decoded for nothing.
fn may_be_base64_text(run: &[u8]) -> bool {
    run.chunks_exact(4)
        .take(8)
        .all(|group| sextet(group[0]) < 32 && sextet(group[1]) & 0b1000 == 0 && sextet(group[2]) & 0b10 == 0)
}

/// Whether `run` can be the hex of ASCII text: the first digit of each of its first pairs is 0-7.
fn may_be_hex_text(run: &[u8]) -> bool {
    run.chunks_exact(2).take(16).all(|pair| pair[0] <= b'7')
}

fn decode_run(bytes: &[u8], span: Range<usize>, out: &mut Vec<Encoded>) {
    let run = &bytes[span.clone()];
    // A hex run, possibly behind a few characters that are not part of it (`x4749...`).
    let last_non_hex = run.iter().rposition(|byte| !byte.is_ascii_hexdigit());
    let hex_from = match last_non_hex {
        None => Some(0),
        Some(at) if at < 4 => Some(at + 1),
        Some(_) => None,
    };
    if let Some(from) = hex_from {
        let tries = if last_non_hex.is_none() { 4 } else { 2 };
        for skip in from..from + tries {
            let hex = &run[skip.min(run.len())..];
            let even = &hex[..hex.len() - hex.len() % 2];
            if even.len() < MIN_RUN - 4 || !may_be_hex_text(even) {
                continue;
            }
            if let Some(decoded) = decode_hex(even).filter(|decoded| is_text(decoded)) {
                let start = span.start + skip;
                out.push(Encoded { span: start..start + even.len(), decoded, encoding: Encoding::Hex });
                return;
            }
        }
        if last_non_hex.is_none() {
            return; // hashes and ids: not base64 text either
        }
    }
    // A run of letters and digits only that is a word or an identifier decodes to noise: the text test rejects it.
    // The run may start with a few characters that are not part of the value (`xR0lU...`): try them off.
    for skip in 0..4 {
        if !may_be_base64_text(&run[skip..]) {
            continue;
        }
        if let Some(decoded) = decode_base64(&run[skip..]).filter(|decoded| is_text(decoded)) {
            out.push(Encoded { span: span.start + skip..span.end, decoded, encoding: Encoding::Base64 });
            return;
        }
    }
}

/// A whole value decoded from hex (an even number of hex digits) or base64
/// (either alphabet, padded or not); `None` when it is neither.
pub fn decode_value(value: &[u8]) -> Option<Vec<u8>> {
    if value.len() % 2 == 0 && value.iter().all(u8::is_ascii_hexdigit) {
        return decode_hex(value);
    }
    let unpadded = value.strip_suffix(b"==").or_else(|| value.strip_suffix(b"=")).unwrap_or(value);
    if unpadded.is_empty() || !unpadded.iter().copied().all(is_base64_byte) {
        return None;
    }
    decode_base64(unpadded)
}

fn decode_hex(run: &[u8]) -> Option<Vec<u8>> {
    let digit = |byte: u8| (byte as char).to_digit(16);
    run.chunks_exact(2).map(|pair| Some((digit(pair[0])? * 16 + digit(pair[1])?) as u8)).collect()
}

fn decode_base64(run: &[u8]) -> Option<Vec<u8>> {
    use base64::Engine as _;
    let trimmed: &[u8] = match run.iter().position(|&byte| byte == b'=') {
        Some(at) => &run[..at],
        None => run,
    };
    let url_safe = trimmed.iter().any(|&byte| byte == b'-' || byte == b'_');
    let engine = if url_safe {
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
    } else {
        &base64::engine::general_purpose::STANDARD_NO_PAD
    };
    engine.decode(trimmed).ok()
}

/// Whether decoded bytes are text a secret could be written in: UTF-8, at
/// least [`MIN_DECODED`] bytes, nearly all printable.
fn is_text(decoded: &[u8]) -> bool {
    if decoded.len() < MIN_DECODED || std::str::from_utf8(decoded).is_err() {
        return false;
    }
    let printable = decoded
        .iter()
        .filter(|&&byte| (0x20..0x7f).contains(&byte) || matches!(byte, b'\t' | b'\n' | b'\r') || byte >= 0x80)
        .count();
    printable * 100 >= decoded.len() * 97
}

/// The token around `at`: bytes up to whitespace, quotes or brackets.
fn token_around(bytes: &[u8], at: usize) -> Range<usize> {
    let stop =
        |byte: &u8| byte.is_ascii_whitespace() || matches!(byte, b'"' | b'\'' | b'`' | b'<' | b'>' | b'(' | b')');
    let start = bytes[..at].iter().rposition(stop).map_or(0, |found| found + 1);
    let end = bytes[at..].iter().position(stop).map_or(bytes.len(), |found| at + found);
    start..end
}

/// URLs whose credentials hold `%XX` escapes (`postgres://app:p%40ss@db`).
/// Elsewhere a percent-encoded value is how the secret is used (a SAS
/// signature, a bearer token as issued): the rules match it as it is.
fn percent_at(bytes: &[u8], at: usize, out: &mut Vec<Encoded>) -> Option<usize> {
    if !bytes.get(at + 1..at + 3).is_some_and(|pair| pair.iter().all(u8::is_ascii_hexdigit)) {
        return None;
    }
    let span = token_around(bytes, at);
    let covered_until = span.end;
    if span.len() <= MAX_RUN {
        percent_decode_token(bytes, at, span, out);
    }
    Some(covered_until)
}

/// Decodes the token `span` around the escape at `at` when it is the
/// userinfo of a URL and every `%` in it starts an escape.
fn percent_decode_token(bytes: &[u8], at: usize, span: Range<usize>, out: &mut Vec<Encoded>) {
    let token = &bytes[span.clone()];
    let in_userinfo = memchr::memmem::find(token, b"://").is_some_and(|scheme| {
        let escape = at - span.start;
        let authority_end =
            token[scheme + 3..].iter().position(|&byte| byte == b'/').map_or(token.len(), |end| scheme + 3 + end);
        let at_sign = token[..authority_end].iter().rposition(|&byte| byte == b'@');
        escape > scheme && at_sign.is_some_and(|at_sign| escape < at_sign)
    });
    // Every `%` must start an escape: otherwise the text is not percent-encoded (`p%1Gx`).
    let well_formed = memchr::memchr_iter(b'%', token)
        .all(|percent| token.get(percent + 1..percent + 3).is_some_and(|pair| pair.iter().all(u8::is_ascii_hexdigit)));
    if !in_userinfo || !well_formed {
        return;
    }
    let mut decoded = Vec::with_capacity(token.len());
    let mut index = 0;
    while index < token.len() {
        match (token[index], token.get(index + 1..index + 3).and_then(decode_hex)) {
            (b'%', Some(byte)) => {
                decoded.extend_from_slice(&byte);
                index += 3;
            }
            (byte, _) => {
                decoded.push(byte);
                index += 1;
            }
        }
    }
    if decoded != token && std::str::from_utf8(&decoded).is_ok() && decoded.len() >= 8 {
        out.push(Encoded { span, decoded, encoding: Encoding::Percent });
    }
}

/// Tokens with `\uXXXX`, `\xXX`, `\/` escapes or `&name;` / `&#N;` entities.
/// Decodes the token holding the escape or entity at `at`; returns where the token ends.
fn escape_at(bytes: &[u8], at: usize, out: &mut Vec<Encoded>) -> usize {
    let rest = &bytes[at..];
    let escape = rest.starts_with(b"\\u") && rest.get(2..6).is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
        || rest.starts_with(b"\\x") && rest.get(2..4).is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
        || !rest.starts_with(b"\\");
    if !escape {
        return at;
    }
    let span = token_around_escaped(bytes, at);
    let end = span.end;
    if span.len() <= MAX_RUN {
        if let Some(decoded) = unescape(&bytes[span.clone()]).filter(|decoded| decoded.len() >= 8) {
            out.push(Encoded { span, decoded, encoding: Encoding::Escapes });
        }
    }
    end
}

/// Like [`token_around`], but an escaped quote (`\"`) does not end the token.
fn token_around_escaped(bytes: &[u8], at: usize) -> Range<usize> {
    let stop = |index: usize| {
        let byte = bytes[index];
        let escaped = index > 0 && bytes[index - 1] == b'\\';
        byte.is_ascii_whitespace() || (matches!(byte, b'"' | b'\'' | b'<' | b'>') && !escaped)
    };
    let start = (0..at).rev().find(|&index| stop(index)).map_or(0, |found| found + 1);
    let end = (at..bytes.len()).find(|&index| stop(index)).unwrap_or(bytes.len());
    start..end
}

fn unescape(token: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(token).ok()?;
    let mut decoded = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(first) = rest.chars().next() {
        let (replacement, used): (Option<char>, usize) = if let Some(tail) = rest.strip_prefix("\\u") {
            (tail.get(..4).and_then(|hex| u32::from_str_radix(hex, 16).ok()).and_then(char::from_u32), 6)
        } else if let Some(tail) = rest.strip_prefix("\\x") {
            (tail.get(..2).and_then(|hex| u32::from_str_radix(hex, 16).ok()).and_then(char::from_u32), 4)
        } else if rest.starts_with("\\/") || rest.starts_with("\\\"") || rest.starts_with("\\'") {
            (rest[1..].chars().next(), 2)
        } else if let Some(tail) = rest.strip_prefix("&#") {
            let end = tail.find(';').filter(|&end| end <= 8);
            let number = end.and_then(|end| match tail[..end].strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok(),
                None => tail[..end].parse::<u32>().ok(),
            });
            (number.and_then(char::from_u32), end.map_or(1, |end| end + 3))
        } else {
            let entity = [("&amp;", '&'), ("&quot;", '"'), ("&apos;", '\''), ("&lt;", '<'), ("&gt;", '>')]
                .iter()
                .find(|(name, _)| rest.starts_with(name));
            match entity {
                Some((name, character)) => (Some(*character), name.len()),
                None => (None, 0),
            }
        };
        match replacement {
            Some(character) if used > 0 => {
                decoded.push(character);
                rest = rest.get(used..)?;
            }
            _ => {
                decoded.push(first);
                rest = &rest[first.len_utf8()..];
            }
        }
    }
    (decoded.as_bytes() != token).then(|| decoded.into_bytes())
}

/// The value of `Authorization: Basic <base64 of user:password>` starting at
/// `start` (short values too; longer ones are found as base64 runs).
fn basic_auth_at(bytes: &[u8], start: usize, out: &mut Vec<Encoded>) {
    let end = bytes[start..]
        .iter()
        .position(|&byte| !is_base64_byte(byte) && byte != b'=')
        .map_or(bytes.len(), |found| start + found);
    if end - start < 8 || end - start >= MIN_RUN {
        return;
    }
    if let Some(decoded) = decode_base64(&bytes[start..end])
        .filter(|decoded| decoded.contains(&b':') && std::str::from_utf8(decoded).is_ok())
    {
        out.push(Encoded { span: start..end, decoded, encoding: Encoding::Base64 });
    }
}

/// The UTF-8 text of a UTF-16 file that starts with a byte-order mark
/// (Windows tools write them: exported `.reg` files, PowerShell output), or
/// `None`. Unpaired surrogates become U+FFFD.
pub fn utf16_with_bom(bytes: &[u8]) -> Option<String> {
    let little_endian = match bytes.get(..2)? {
        [0xFF, 0xFE] => true,
        [0xFE, 0xFF] => false,
        _ => return None,
    };
    let units = bytes[2..].chunks_exact(2).map(|pair| {
        if little_endian {
            u16::from_le_bytes([pair[0], pair[1]])
        } else {
            u16::from_be_bytes([pair[0], pair[1]])
        }
    });
    let text: String = char::decode_utf16(units).map(|unit| unit.unwrap_or(char::REPLACEMENT_CHARACTER)).collect();
    // Two bytes that only look like a mark (a Latin-1 file starting with "ÿþ")
    // decode to noise: mostly text that is neither ASCII nor letters.
    let total = text.chars().count().max(1);
    let plain = text.chars().filter(|c| c.is_ascii_graphic() || c.is_ascii_whitespace()).count();
    let broken =
        text.chars().filter(|&c| c == char::REPLACEMENT_CHARACTER || (c.is_control() && !c.is_whitespace())).count();
    (plain * 2 >= total && broken * 100 <= total).then_some(text)
}

/// The byte offset in the UTF-16 file (after its 2-byte mark) of byte `offset` of its UTF-8 text.
pub fn utf16_offset(text: &str, offset: usize) -> usize {
    2 + 2 * text.get(..offset).map_or(0, |before| before.encode_utf16().count())
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    /// Every maximal run of at least [`MIN_RUN`] base64 bytes, byte by byte.
    fn runs_by_reading_every_byte(bytes: &[u8]) -> Vec<Range<usize>> {
        let mut runs = Vec::new();
        let mut start = 0;
        for index in 0..=bytes.len() {
            if index == bytes.len() || !is_base64_byte(bytes[index]) {
                if index - start >= MIN_RUN {
                    runs.push(start..index);
                }
                start = index + 1;
            }
        }
        runs
    }

    proptest::proptest! {
        #[test]
        fn runs_found_by_skipping_are_the_runs_found_by_reading_every_byte(
            pieces in proptest::collection::vec((0usize..90, proptest::sample::select(vec![b' ', b'"', b'.', b'\n', b'%'])), 0..12),
        ) {
            let mut bytes = Vec::new();
            for (length, separator) in pieces {
                bytes.extend((0..length).map(|index| b"QmFzZTY0aGVyZQ+/_-"[index % 18]));
                bytes.push(separator);
            }
            let found: Vec<Range<usize>> = base64_runs(&bytes, 0..bytes.len()).collect();
            proptest::prop_assert_eq!(found, runs_by_reading_every_byte(&bytes));
        }
    }

    fn found(text: &str) -> Vec<(String, Encoding)> {
        let mut out = Vec::new();
        find_encoded(text.as_bytes(), &mut out);
        out.into_iter().map(|encoded| (String::from_utf8(encoded.decoded).unwrap(), encoded.encoding)).collect()
    }

    #[test]
    fn base64_and_hex_runs_that_decode_to_text_are_found_wherever_they_start() {
        let secret = "GITHUB_TOKEN=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";
        let standard = base64::engine::general_purpose::STANDARD.encode(secret);
        let url_safe = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{secret}??>>"));
        let hex: String = secret.bytes().map(|byte| format!("{byte:02x}")).collect();
        for prefix in ["", "x", "ab", "data: ", "0123456789abcdefghi "] {
            for encoded in [&standard, &url_safe, &hex] {
                let decoded = found(&format!("{prefix}{encoded}\n"));
                assert!(decoded.iter().any(|(text, _)| text.starts_with(secret)), "{prefix:?} {encoded}: {decoded:?}");
            }
        }
    }

    #[test]
    fn utf16_files_with_a_byte_order_mark_become_text() {
        let text = "DEEPSEEK_API_KEY=sk-ü";
        let le: Vec<u8> = [0xFF, 0xFE].into_iter().chain(text.encode_utf16().flat_map(u16::to_le_bytes)).collect();
        let be: Vec<u8> = [0xFE, 0xFF].into_iter().chain(text.encode_utf16().flat_map(u16::to_be_bytes)).collect();
        assert_eq!(utf16_with_bom(&le).as_deref(), Some(text));
        assert_eq!(utf16_with_bom(&be).as_deref(), Some(text));
        assert_eq!(utf16_with_bom(b"plain"), None);
        assert_eq!(
            utf16_with_bom(b"\xff\xfe garbage \xc3\x28\nx = tok_q8v2m4x7k1z9p3w6\n"),
            None,
            "Latin-1 text, not UTF-16"
        );
        assert_eq!(utf16_offset(text, "DEEPSEEK_API_KEY=".len()), 2 + 2 * 17);
    }

    #[test]
    fn hashes_identifiers_and_binary_base64_are_not_text() {
        let sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        let identifier = "ThisIsAVeryLongIdentifierNameUsedSomewhereInTheCodeBase";
        let random =
            base64::engine::general_purpose::STANDARD.encode((0u8..60).map(|n| n.wrapping_mul(37)).collect::<Vec<_>>());
        for text in [sha256, identifier, &random] {
            assert!(found(text).is_empty(), "{text}: {:?}", found(text));
        }
    }

    #[test]
    fn percent_escapes_entities_and_basic_auth_are_decoded() {
        assert_eq!(found("postgres://app:p%40ss%21w0rd@db")[0].0, "postgres://app:p@ss!w0rd@db");
        assert!(
            found("https://acme.blob.core.windows.net/c?sv=2022&sig=Xq8%2Bk%3D").is_empty(),
            "only credentials in URLs"
        );
        assert_eq!(found(r#"{"token": "ghp\u005f8kkFq\/zHV"}"#)[0].0, "ghp_8kkFq/zHV");
        assert_eq!(found("<pwd>S3cr&amp;tPassw0rd</pwd>")[0].0, "S3cr&tPassw0rd");
        let basic = base64::engine::general_purpose::STANDARD.encode("alice:Vt7QpL2mXw9R");
        assert_eq!(found(&format!("Authorization: Basic {basic}"))[0].0, "alice:Vt7QpL2mXw9R");
        assert!(found("printf(\"%s %d\", a, b)").is_empty());
    }
}
