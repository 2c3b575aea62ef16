#!/usr/bin/env python3
"""Generate a deterministic, labeled corpus for keyhound's accuracy benchmark.

Usage:
    scripts/gen-labeled.py OUT_DIR [--seed 1] [--per-example 3] [--negative-copies 2]
                           [--generic-copies 3] [--rules DIR] [--force] [--verbose]

Writes realistic files in 29 formats (Python, JS, TS, Go, Rust, Java, Kotlin,
Ruby, PHP, C#, Swift, C, shell, .env, YAML, JSON, TOML, INI/cfg, .properties,
XML, Terraform, Dockerfile, Markdown, SQL, notebooks, HTML, Gradle, nginx conf,
plain text) and lock files under OUT_DIR, with planted TRUE keys and DECOYS,
and the ground truth in OUT_DIR/../<name>.labels.json:

    {"true":     [{"rule_id", "provider", "path", "line", "secret"}, ...],
     "unscored": [same fields: generic-rule matches inside examples],
     "decoys":   [{"path", "line", "end_line", "kind"[, "rule_id"]}, ...],
     "skipped":  [{"rule_id", "example", "reason"}, ...],
     "providers": {rule_id: provider}, ...}

Paths are relative to OUT_DIR, lines 1-based (a key's: its first character's;
a decoy's: the block's first and last line; "rule_id": the rule whose negative
example it is). score-labeled.py scores a report against this file.

True keys. For every rule in rules/*.toml and every one of its positive
`examples`, --per-example fresh keys are made WITHOUT keyhound. The rule's
regex is translated to Python `re` (`\\z` -> `\\Z`, scoped inline flags, named
groups, POSIX classes, RE2 braces; an untranslatable rule's examples are
skipped and listed), and a small Python model of keyhound's engine (keyword
windows, multi-line windows, secretGroup, checksum, entropy, allowlists,
inline allow markers, fallback rules) finds every secret in the example: the
rule's own and any other rule's (an AWS example also holds a key id, a Twilio
one an account SID: true keys too; a generic rule's match is "unscored", the
model's word being no ground truth for it). Each secret is mutated: random
alphanumeric characters change, each keeping its class (digit, lower, upper;
hex stays hex; restricted alphabets such as base32 are probed), while literal
parts (`sk-ant-api03-`, `AKIA`, the trailing `AA`, `T3BlbkFJ`, keywords: the
characters whose change breaks the match) and word-like runs (RSA, PRIVATE)
stay. A mutant is accepted only if the model then finds exactly the mutated
secrets at the same places, passes the entropy thresholds with a margin, and
differs from the original in >= 40% of its mutable characters; up to 50
tries. GitHub tokens (`checksum = "github-crc32"`) get their CRC32 recomputed.
The mutated example, verbatim otherwise (the variable names, base URLs and
line breaks the rule may need stay), goes between filler lines of a random
format. Provider = the rule's `[rules.verify].provider`, else the first
segment of its id (stripe-live-secret-key -> stripe).

Decoys. Every rule's `negative_examples`, verbatim (--negative-copies each),
and generic look-alikes (UUIDs, SHA-1/SHA-256 hex, `sha512-` integrity strings,
base64 blobs, AWS and other documentation keys, references such as
${{ secrets.X }}, placeholders such as your_api_key_here, ${API_TOKEN},
<YOUR_KEY>, xxxxxxxx, changeme; --generic-copies each), planted the same way,
plus lock files (package-lock.json, yarn.lock, go.sum, Cargo.lock,
poetry.lock, pnpm-lock.yaml) full of hashes.

Filler lines never contain a rule keyword; planted blocks are >= 5 lines
apart. Each file is checked with the Python model: a file whose blocks
interfere (a windowed rule seeing its neighbour's keyword) is split into one
file per block. A block the model finds alone but not inside a file is kept
(a rule that fails in context, e.g. a `$` under a multi-line window) and
counted on stderr.

Encoded secrets and UTF-16 files. Each rule's first one-line true key is
planted once more, in a file of its own, under one of five encodings in turn:
base64 as a Kubernetes Secret's data value, base64 of base64 (two levels),
hex, JSON unicode escapes (every non-alphanumeric character as a \\u escape), and
a UTF-16LE .reg file with a byte-order mark; each rule's first one-line
negative example is planted the same way, and generic look-alikes (UUIDs,
hashes, placeholders) encoded the same way are added until every category
has at least as many look-alikes as keys. Their labels carry "category"
("encoded:base64", "encoded:base64 twice", "encoded:hex", "encoded:escapes",
"utf16"; everything else is "plain"), the line of the encoded value and the
decoded secret; score-labeled.py reports each category. These files are not
checked with the Python model (it does not decode).

The same --seed and rule files give byte-identical output. Python 3.11+
standard library only.
"""

import argparse
import base64
import collections
import json
import math
import os
import random
import re
import shutil
import string
import sys
import time
import tomllib
import zlib

try:  # the parser behind `re`, for the multi-line analysis of patterns
    import re._parser as sre_parse  # Python >= 3.11
except ImportError:  # pragma: no cover
    import sre_parse  # type: ignore

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

LOWER_TABLE = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
LINE_WINDOW = 1024
MULTILINE_WINDOW = 4096
INLINE_ALLOW = ("keyhound:allow", "gitleaks:allow")
MIN_GAP = 5  # filler lines between planted blocks (at least)


# --------------------------------------------------------------------------
# Rust regex -> Python re
# --------------------------------------------------------------------------

class Unsupported(Exception):
    pass


POSIX = {
    "alnum": "0-9A-Za-z", "alpha": "A-Za-z", "ascii": "\\x00-\\x7f", "blank": "\\t ",
    "cntrl": "\\x00-\\x1f\\x7f", "digit": "0-9", "graph": "!-~", "lower": "a-z",
    "print": " -~", "punct": "!-/:-@\\[-`{-~", "space": "\\t\\n\\x0b\\x0c\\r ",
    "upper": "A-Z", "word": "0-9A-Za-z_", "xdigit": "0-9A-Fa-f",
}
REPETITION = re.compile(r"\{[0-9]+(?:,[0-9]*)?\}")


def rust_to_python(pattern):
    """Translates a Rust `regex` (RE2-like) pattern to Python `re` syntax.
    Raises Unsupported for constructs Python lacks (\\p{..}, (?U), class set
    operations, ...)."""
    p = pattern
    n = len(p)
    out = []
    i = 0
    in_class = False
    frames = [[]]  # per open group: the inline flags opened in it as scoped groups
    while i < n:
        c = p[i]
        if c == "\\":
            if i + 1 >= n:
                raise Unsupported("trailing backslash")
            e = p[i + 1]
            if e == "z":
                out.append("\\Z")
                i += 2
                continue
            if e in "pP":
                raise Unsupported("Unicode class \\%s" % e)
            if e == "x" and i + 2 < n and p[i + 2] == "{":
                j = p.find("}", i + 3)
                if j < 0:
                    raise Unsupported("bad \\x{}")
                out.append("\\U%08x" % int(p[i + 3:j], 16))
                i = j + 1
                continue
            if not in_class and e == "<":
                out.append(r"\b(?=\w)")
                i += 2
                continue
            if not in_class and e == ">":
                out.append(r"\b(?<=\w)")
                i += 2
                continue
            if not in_class and e in "bB" and p.startswith("{", i + 2):
                raise Unsupported("\\b{...}")
            out.append(p[i:i + 2])
            i += 2
            continue
        if in_class:
            if p.startswith("[:", i):
                j = p.find(":]", i + 2)
                name = p[i + 2:j] if j > 0 else ""
                if name not in POSIX:
                    raise Unsupported("POSIX class [:%s:]" % name)
                out.append(POSIX[name])
                i = j + 2
                continue
            if c == "[":
                raise Unsupported("nested character class")
            if p.startswith("&&", i) or p.startswith("--", i) or p.startswith("~~", i):
                raise Unsupported("class set operation")
            if c == "]":
                in_class = False
            out.append(c)
            i += 1
            continue
        if c == "[":
            in_class = True
            out.append("[")
            i += 1
            if p.startswith("^", i):
                out.append("^")
                i += 1
            if p.startswith("]", i):
                out.append("\\]")
                i += 1
            continue
        if c == "(":
            if p.startswith("(?", i):
                if p.startswith("(?P<", i):
                    out.append("(?P<")
                    i += 4
                    frames.append([])
                    continue
                if p.startswith("(?<", i) and not p.startswith(("(?<=", "(?<!"), i):
                    out.append("(?P<")
                    i += 3
                    frames.append([])
                    continue
                j = i + 2
                while j < n and p[j] not in ":)":
                    j += 1
                flags = p[i + 2:j]
                if j >= n or not re.fullmatch(r"[a-zA-Z]*(?:-[a-zA-Z]*)?", flags):
                    raise Unsupported("group syntax (?%s" % flags)
                if set(flags) - set("imsxu-"):
                    raise Unsupported("inline flags (?%s)" % flags)
                if "-" in flags and "u" in flags.split("-")[1]:
                    raise Unsupported("(?-u)")
                flags = flags.replace("u", "")
                if p[j] == ")":
                    # `(?i)`: applies to the rest of the enclosing group.
                    if flags and flags != "-":
                        out.append("(?%s:" % flags)
                        frames[-1].append(flags)
                    i = j + 1
                    continue
                out.append("(?%s:" % flags if flags and flags != "-" else "(?:")
                i = j + 1
                frames.append([])
                continue
            out.append("(")
            i += 1
            frames.append([])
            continue
        if c == ")":
            if len(frames) < 2:
                raise Unsupported("unbalanced )")
            out.append(")" * len(frames.pop()))
            out.append(")")
            i += 1
            continue
        if c == "|":
            pending = frames[-1]
            out.append(")" * len(pending))
            out.append("|")
            out.extend("(?%s:" % flags for flags in pending)
            i += 1
            continue
        if c == "{":
            m = REPETITION.match(p, i)
            if m:
                out.append(m.group(0))
                i = m.end()
            else:
                out.append("\\{")
                i += 1
            continue
        if c == "}":
            out.append("\\}")
            i += 1
            continue
        out.append(c)
        i += 1
    if in_class or len(frames) != 1:
        raise Unsupported("unbalanced pattern")
    out.append(")" * len(frames[0]))
    return "".join(out)


def compile_rust(pattern):
    translated = rust_to_python(pattern)
    try:
        return re.compile(translated)
    except (re.error, OverflowError, ValueError) as err:
        raise Unsupported("python re: %s" % err)


def _in_set_matches_newline(items):
    negate = False
    hit = False
    for op, av in items:
        name = str(op)
        if name == "NEGATE":
            negate = True
        elif name == "LITERAL":
            hit |= av == 10
        elif name == "RANGE":
            hit |= av[0] <= 10 <= av[1]
        elif name == "CATEGORY":
            hit |= str(av) in ("CATEGORY_SPACE", "CATEGORY_NOT_DIGIT", "CATEGORY_NOT_WORD",
                               "CATEGORY_UNI_SPACE", "CATEGORY_UNI_NOT_DIGIT", "CATEGORY_UNI_NOT_WORD",
                               "CATEGORY_LINEBREAK", "CATEGORY_UNI_LINEBREAK")
    return hit != negate


def _can_match_newline(items, dotall):
    for op, av in items:
        name = str(op)
        if name == "LITERAL":
            if av in (10, 13):
                return True
        elif name == "NOT_LITERAL":
            if av != 10:
                return True
        elif name == "ANY":
            if dotall:
                return True
        elif name == "IN":
            if _in_set_matches_newline(av):
                return True
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            if _can_match_newline(av[2], dotall):
                return True
        elif name == "SUBPATTERN":
            add, delete = av[1], av[2]
            sub_dotall = (dotall or bool(add & re.DOTALL)) and not (delete & re.DOTALL)
            if _can_match_newline(av[3], sub_dotall):
                return True
        elif name == "BRANCH":
            if any(_can_match_newline(sub, dotall) for sub in av[1]):
                return True
        elif name == "ATOMIC_GROUP":
            if _can_match_newline(av, dotall):
                return True
    return False


def _can_span_lines_item(op, av, dotall):
    name = str(op)
    if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
        if av[1] == 1:
            return _can_span_lines(av[2], dotall)
        return _can_match_newline(av[2], dotall)
    if name == "SUBPATTERN":
        add, delete = av[1], av[2]
        sub_dotall = (dotall or bool(add & re.DOTALL)) and not (delete & re.DOTALL)
        return _can_span_lines(av[3], sub_dotall)
    if name == "BRANCH":
        return any(_can_span_lines(sub, dotall) for sub in av[1])
    return False  # a single literal or class can be a trailing line break only


def _can_span_lines(items, dotall):
    """Mirrors keyhound's regex_compat::can_span_lines on a Python parse tree."""
    items = list(items)
    if not items:
        return False
    if len(items) == 1:
        return _can_span_lines_item(items[0][0], items[0][1], dotall)
    init, last = items[:-1], items[-1]
    return _can_match_newline(init, dotall) or _can_span_lines_item(last[0], last[1], dotall)


def pattern_spans_lines(translated):
    parsed = sre_parse.parse(translated)
    return _can_span_lines(list(parsed), bool(parsed.state.flags & re.DOTALL))


# --------------------------------------------------------------------------
# Rules and a Python model of keyhound's engine
# --------------------------------------------------------------------------

def shannon(secret):
    data = secret.encode("utf-8", "surrogatepass")
    if not data:
        return 0.0
    counts = collections.Counter(data)
    total = len(data)
    return -sum(c / total * math.log2(c / total) for c in counts.values())


BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase


def base62(value, width):
    digits = []
    while value > 0:
        digits.append(BASE62[value % 62])
        value //= 62
    while len(digits) < width:
        digits.append("0")
    return "".join(reversed(digits))


def github_checksum(body30):
    return base62(zlib.crc32(body30.encode()) & 0xFFFFFFFF, 6)


def github_crc32_valid(token):
    if "_" not in token:
        return False
    body = token[token.index("_") + 1:]
    if len(body) != 36 or not body.isascii() or not body.isalnum():
        return False
    return github_checksum(body[:30]) == body[30:]


CHECKSUMS = {"github-crc32": github_crc32_valid}


class Allowlist:
    def __init__(self, spec, warn):
        self.require_all = str(spec.get("condition") or "OR").upper() == "AND"
        self.target = spec.get("regexTarget") or "secret"
        self.regexes = self._compile(spec.get("regexes", []), warn)
        self.paths = self._compile(spec.get("paths", []), warn)
        self.has_regexes = bool(spec.get("regexes"))
        self.has_paths = bool(spec.get("paths"))
        self.stopwords = [w.translate(LOWER_TABLE) for w in spec.get("stopwords", [])]
        self.commits = spec.get("commits", [])
        self.target_rules = spec.get("targetRules", [])

    @staticmethod
    def _compile(patterns, warn):
        out = []
        for pattern in patterns:
            try:
                out.append(compile_rust(pattern))
            except Unsupported as err:
                warn("allowlist pattern %r not translated (%s): ignored by the model" % (pattern, err))
        return out

    def path_matches(self, path):
        return path is not None and any(rx.search(path) for rx in self.paths)

    def allows(self, rule_id, secret, matched, line, path):
        if self.target_rules and rule_id not in self.target_rules:
            return False
        checks = []
        if self.commits:
            checks.append(False)
        if self.has_paths:
            checks.append(self.path_matches(path))
        if self.has_regexes:
            hay = {"secret": secret, "match": matched, "line": line}.get(self.target, secret)
            checks.append(any(rx.search(hay) for rx in self.regexes))
        if self.stopwords:
            low = secret.translate(LOWER_TABLE)
            checks.append(any(word in low for word in self.stopwords))
        if not checks:
            return False
        return all(checks) if self.require_all else any(checks)


def provider_of(rule_id, verify):
    if isinstance(verify, dict) and verify.get("provider"):
        return str(verify["provider"])
    return re.split(r"[-_.:]", rule_id)[0]


class Rule:
    def __init__(self, spec, source, warn):
        self.id = spec.get("id", "")
        self.source = source
        self.provider = provider_of(self.id, spec.get("verify"))
        self.examples = list(spec.get("examples", []))
        self.negative_examples = list(spec.get("negative_examples", []))
        self.keywords = [k.translate(LOWER_TABLE) for k in spec.get("keywords", []) if k]
        self.fallback = bool(spec.get("fallback", False))
        self.entropy = spec.get("entropy") or None
        group = spec.get("secretGroup")
        self.secret_group = group if group else None
        self.checksum = spec.get("checksum")
        self.window = spec.get("window")
        self.broken = None
        self.rx = None
        self.path_rx = None
        self.has_path = "path" in spec
        if spec.get("regex") is None:
            self.broken = "no regex"
        else:
            try:
                translated = rust_to_python(spec["regex"])
                self.rx = re.compile(translated)
                if self.window is None and pattern_spans_lines(translated):
                    self.window = MULTILINE_WINDOW
            except (Unsupported, re.error) as err:
                self.broken = "regex not translatable to Python: %s" % err
        if self.has_path:
            try:
                self.path_rx = compile_rust(spec["path"])
            except Unsupported as err:
                self.broken = self.broken or "path regex not translatable: %s" % err
        if self.checksum is not None and self.checksum not in CHECKSUMS:
            self.broken = self.broken or "unknown checksum %r" % self.checksum
        self.allowlists = []
        for key in ("allowlist", "allowlists"):
            specs = spec.get(key)
            if isinstance(specs, dict):
                specs = [specs]
            for allow in specs or []:
                self.allowlists.append(Allowlist(allow, warn))

    def secret_span(self, m):
        """The secret's span in a match, as keyhound takes it (or None)."""
        if self.secret_group is not None:
            if self.secret_group > (m.re.groups or 0):
                return None
            span = m.span(self.secret_group)
        else:
            span = None
            for g in range(1, (m.re.groups or 0) + 1):
                s, e = m.span(g)
                if 0 <= s < e:
                    span = (s, e)
                    break
            if span is None:
                span = m.span()
        if span[0] < 0 or span[0] >= span[1]:
            return None
        return span


class Found(collections.namedtuple("Found", "rule s0 s1 m0 m1 secret")):
    pass


def line_start(text, offset, limit):
    floor = max(0, offset - limit)
    a = text.rfind("\n", floor, offset)
    b = text.rfind("\r", floor, offset)
    pos = max(a, b)
    return pos + 1 if pos >= 0 else floor


def line_end(text, offset, limit):
    ceiling = min(len(text), offset + limit)
    if offset >= ceiling:
        return ceiling
    ends = [p for p in (text.find("\n", offset, ceiling), text.find("\r", offset, ceiling)) if p >= 0]
    return min(ends) if ends else ceiling


def trie_regex(words):
    """One regex matching any of `words`, factored as a trie (Python's re
    tries alternatives one by one: hundreds of flat ones are slow)."""
    trie = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node):
        alts = []
        for ch in sorted(k for k in node if k):
            alts.append(re.escape(ch) + build(node[ch]))
        if not alts:
            return ""
        if "" in node:  # a word ends here: the rest is optional
            return "(?:%s)?" % "|".join(alts)
        return alts[0] if len(alts) == 1 else "(?:%s)" % "|".join(alts)

    return build(trie)


class Model:
    """keyhound's detection pipeline, in Python, over the TOML rule data."""

    def __init__(self, rules_dir, warn):
        self.rules = []
        self.global_allowlists = []
        self.files = sorted(f for f in os.listdir(rules_dir) if f.endswith(".toml"))
        seen = set()
        for name in self.files:
            with open(os.path.join(rules_dir, name), "rb") as fh:
                data = tomllib.load(fh)
            for key in ("allowlist", "allowlists"):
                specs = data.get(key)
                if isinstance(specs, dict):
                    specs = [specs]
                for allow in specs or []:
                    self.global_allowlists.append(Allowlist(allow, warn))
            for spec in data.get("rules", []):
                rule = Rule(spec, name, warn)
                if rule.id in seen:
                    warn("rule id %s defined twice; the second one is ignored" % rule.id)
                    continue
                seen.add(rule.id)
                self.rules.append(rule)
        self.keyword_index = collections.defaultdict(list)
        self.unfiltered = []
        for index, rule in enumerate(self.rules):
            if rule.rx is None or rule.broken:
                continue
            if rule.keywords:
                for kw in set(rule.keywords):
                    self.keyword_index[kw].append(index)
            else:
                self.unfiltered.append(index)
        self.keywords = sorted(self.keyword_index)
        # Where any keyword may start (one regex pass), then which ones do.
        self.keyword_rx = re.compile("(?=%s)" % trie_regex(self.keywords)) if self.keywords else None
        self.by_first = collections.defaultdict(list)
        for kw in self.keywords:
            self.by_first[kw[0]].append(kw)
        self.by_id = {rule.id: rule for rule in self.rules}
        self.order = {id(rule): index for index, rule in enumerate(self.rules)}

    def path_allowlisted(self, path):
        return any(a.path_matches(path) and not a.target_rules
                   and (not a.require_all or not (a.has_regexes or a.stopwords or a.commits))
                   for a in self.global_allowlists)

    def has_keyword(self, text):
        return self.keyword_rx is not None and self.keyword_rx.search(text.translate(LOWER_TABLE)) is not None

    def keyword_hits(self, low):
        """(position, keyword) of every keyword occurrence, overlaps included."""
        if self.keyword_rx is None:
            return
        for m in self.keyword_rx.finditer(low):
            pos = m.start()
            for kw in self.by_first[low[pos]]:
                if low.startswith(kw, pos):
                    yield pos, kw

    def windows(self, rule, hits, text):
        """keyhound's regex windows around a rule's keyword hits."""
        out = []
        for hit in sorted(hits):
            if out and rule.window is None and hit < out[-1][1]:
                continue
            if rule.window is not None:
                w = (max(0, hit - rule.window), min(len(text), hit + rule.window))
            else:
                w = (line_start(text, hit, LINE_WINDOW), line_end(text, hit, LINE_WINDOW))
            if out and w[0] <= out[-1][1]:
                out[-1] = (out[-1][0], max(out[-1][1], w[1]))
            else:
                out.append(w)
        return out

    def scan(self, text, path=None):
        low = text.translate(LOWER_TABLE)
        hits = collections.defaultdict(list)
        for pos, kw in self.keyword_hits(low):
            for index in self.keyword_index[kw]:
                hits[index].append(pos)
        order = sorted(set(hits) | set(self.unfiltered), key=lambda i: (self.rules[i].fallback, i))
        claimed = []
        out = []
        for index in order:
            rule = self.rules[index]
            if rule.has_path and not (path is not None and rule.path_rx and rule.path_rx.search(path)):
                continue
            if index in hits:
                windows = self.windows(rule, hits[index], text)
            else:
                windows = [(0, len(text))]
            for ws, we in windows:
                hay = text[ws:we]
                at = 0
                while at <= len(hay):
                    m = rule.rx.search(hay, at)
                    if not m:
                        break
                    at = m.end() + 1 if m.end() == m.start() else m.end()
                    span = rule.secret_span(m)
                    if span is None:
                        continue
                    s0, s1 = ws + span[0], ws + span[1]
                    if not rule.fallback:
                        claimed.append((s0, s1))
                    elif any(a < s1 and s0 < b for a, b in claimed):
                        continue
                    found = self.accept(rule, text, s0, s1, ws + m.start(), ws + m.end(), path)
                    if found:
                        out.append(found)
        out = [f for f in out if not (f.rule.fallback and any(a < f.s1 and f.s0 < b for a, b in claimed))]
        out.sort(key=lambda f: (f.s0, f.s1, self.order[id(f.rule)]))
        deduped = []
        for f in out:
            if deduped and deduped[-1].rule is f.rule and (deduped[-1].s0, deduped[-1].s1) == (f.s0, f.s1):
                continue
            deduped.append(f)
        return deduped

    def accept(self, rule, text, s0, s1, m0, m1, path):
        secret = text[s0:s1]
        if rule.checksum and not CHECKSUMS[rule.checksum](secret):
            return None
        if rule.entropy is not None and shannon(secret) < rule.entropy:
            return None
        line = text[line_start(text, m0, 1 << 62):line_end(text, m1, 1 << 62)]
        if any(marker in line for marker in INLINE_ALLOW):
            return None
        matched = text[m0:m1]
        for allow in rule.allowlists + self.global_allowlists:
            if allow.allows(rule.id, secret, matched, line, path):
                return None
        return Found(rule, s0, s1, m0, m1, secret)


# --------------------------------------------------------------------------
# Fresh keys from examples
# --------------------------------------------------------------------------

DIGITS = string.digits
LOWERS = string.ascii_lowercase
UPPERS = string.ascii_uppercase
HEX_LOWER = "abcdef"
HEX_UPPER = "ABCDEF"
WORDISH = re.compile(r"[A-Z]+|[A-Z]?[a-z]+")


def mutable_runs(secret):
    """Positions worth mutating: alphanumeric runs that look random (a digit,
    mixed case that is not a capitalised word, or 12+ characters), not words
    such as RSA, PRIVATE, ENCRYPTED, hooks, services. Returns {pos: hex?}."""
    out = {}
    for m in re.finditer(r"[A-Za-z0-9]+", secret):
        run = m.group(0)
        has_digit = any(ch.isdigit() for ch in run)
        if not (has_digit or len(run) >= 12 or not WORDISH.fullmatch(run)):
            continue
        letters = [ch for ch in run if ch.isalpha()]
        hexy = len(run) >= 8 and all(ch in "abcdefABCDEF" for ch in letters)
        for k in range(m.start(), m.end()):
            out[k] = hexy
    return out


def char_class(ch, hexy):
    if ch in DIGITS:
        return DIGITS
    if ch in LOWERS:
        return HEX_LOWER if hexy else LOWERS
    if ch in UPPERS:
        return HEX_UPPER if hexy else UPPERS
    return None


def probe(rule, text, f, pos, ch):
    """Whether the rule still takes the same secret span, from the same match
    start, after text[pos] becomes ch."""
    t = text[:pos] + ch + text[pos + 1:]
    m = rule.rx.match(t, f.m0)
    if not m:
        return False
    span = rule.secret_span(m)
    return span is not None and (span[0], span[1]) == (f.s0, f.s1)


class Mutator:
    def __init__(self, model, rng):
        self.model = model
        self.rng = rng
        self.used = set()

    def allowed_sets(self, text, secret, founds):
        """{offset in secret: allowed replacement characters} for the secret's
        mutable characters, for all rules that report it."""
        runs = mutable_runs(secret)
        checksum = any(f.rule.checksum for f in founds)
        if checksum:
            under = secret.find("_")
            body_end = len(secret) - 6
            runs = {k: v for k, v in runs.items() if under < k < body_end}
        # Characters of a keyword occurrence stay: the rule runs only near one.
        low = text.translate(LOWER_TABLE)
        for f in founds:
            for kw in f.rule.keywords:
                at = low.find(kw, max(0, f.s0 - len(kw)))
                while 0 <= at < f.s1:
                    for k in range(max(at, f.s0), min(at + len(kw), f.s1)):
                        runs.pop(k - f.s0, None)
                    at = low.find(kw, at + 1)
        allowed = {}
        # The first positions of each character class are probed with every
        # character of the class, which finds restricted alphabets (base32,
        # bech32, [0-9a-f]); later ones with a sample of the known alphabet,
        # which finds literals (T3BlbkFJ) and positional constraints.
        alphabet = {}
        full_probes = collections.Counter()
        for k, hexy in sorted(runs.items()):
            cls = char_class(secret[k], hexy)
            if cls is None:
                continue
            half = max(2, (len(cls) + 1) // 2)
            ok = set(cls)
            for f in founds:
                pos = f.s0 + k
                key = (f.rule.id, cls)
                if full_probes[key] < 8:
                    full_probes[key] += 1
                    here = {ch for ch in cls if probe(f.rule, text, f, pos, ch)}
                    if len(here) >= half:
                        alphabet[key] = alphabet.get(key, here) & here
                    ok &= here
                    continue
                known = alphabet.get(key, set(cls))
                sample = self.rng.sample(sorted(known), min(4, len(known)))
                results = [probe(f.rule, text, f, pos, ch) for ch in sample]
                if all(results):
                    ok &= known
                elif not any(results):
                    ok = set()
                    break
                else:
                    ok &= {ch for ch in cls if probe(f.rule, text, f, pos, ch)}
            if len(ok) >= half:
                allowed[k] = "".join(sorted(ok))
        return allowed

    def plan(self, text, founds):
        """How to mutate every secret the model finds in `text`: copies of one
        secret alike, overlapping secrets of different rules consistently.
        Raises Unsupported if there is nothing to mutate."""
        groups = collections.OrderedDict()
        for f in founds:
            groups.setdefault(f.secret, []).append(f)
        parent = {}

        def root(slot):
            while parent[slot] != slot:
                parent[slot] = parent[parent[slot]]
                slot = parent[slot]
            return slot

        allowed = {}
        pos_slot = {}
        fixed = set()
        group_slots = []
        for gi, (secret, fs) in enumerate(groups.items()):
            firsts = {}
            for f in fs:
                firsts.setdefault(f.rule.id, f)
            sets = self.allowed_sets(text, secret, list(firsts.values()))
            if not sets:
                raise Unsupported("no mutable characters in the %s secret" % fs[0].rule.id)
            group_slots.append({k: (gi, k) for k in sets})
            for k in range(len(secret)):
                for f in fs:
                    pos = f.s0 + k
                    if k not in sets:
                        fixed.add(pos)
                        continue
                    slot = (gi, k)
                    if slot not in parent:
                        parent[slot] = slot
                        allowed[slot] = set(sets[k])
                    other = pos_slot.get(pos)
                    if other is not None and root(other) != root(slot):
                        a, b = root(other), root(slot)
                        parent[b] = a
                        allowed[a] &= allowed.pop(b)
                    pos_slot[pos] = slot
        positions = collections.defaultdict(list)
        for pos, slot in pos_slot.items():
            positions[root(slot)].append(pos)
        live = {}
        for slot, poss in positions.items():
            if any(pos in fixed for pos in poss) or len(allowed[slot]) < 2:
                continue
            live[slot] = (sorted(allowed[slot]), sorted(poss))
        if not live:
            raise Unsupported("no mutable characters")
        live_roots = {slot for slot in live}
        mutable = [[k for k, slot in group_slots[gi].items() if root(slot) in live_roots]
                   for gi in range(len(groups))]
        for gi, (secret, fs) in enumerate(groups.items()):
            if not mutable[gi]:
                raise Unsupported("no mutable characters in the %s secret" % fs[0].rule.id)
        return {"text": text, "founds": founds, "groups": list(groups.items()), "live": live,
                "order": sorted(live), "mutable": mutable}

    def freshen(self, plan, attempts=50):
        """A fresh variant of a plan's text: (new text, [(rule id, s0, s1, new
        secret)]); raises Unsupported when no valid mutant turns up."""
        text, founds, groups, live = plan["text"], plan["founds"], plan["groups"], plan["live"]
        order = plan["order"]
        for _ in range(attempts):
            chars = list(text)
            for slot in order:
                choices, poss = live[slot]
                ch = self.rng.choice(choices)
                for pos in poss:
                    chars[pos] = ch
            for f in founds:
                if f.rule.checksum == "github-crc32":
                    token = "".join(chars[f.s0:f.s1])
                    under = token.find("_")
                    if under >= 0 and len(token) - under - 1 == 36:
                        chars[f.s1 - 6:f.s1] = github_checksum(token[under + 1:under + 31])
            new_text = "".join(chars)
            fresh = {}
            ok = True
            for gi, (secret, fs) in enumerate(groups):
                new = new_text[fs[0].s0:fs[0].s1]
                mutable = plan["mutable"][gi]
                changed = sum(1 for k in mutable if new[k] != secret[k])
                if not mutable or changed < 0.4 * len(mutable) or new in self.used or new == secret:
                    ok = False
                    break
                fresh[secret] = new
            if not ok:
                continue
            # Any unreported copy of an old secret gets the same change.
            for old, new in fresh.items():
                new_text = new_text.replace(old, new)
            expected = {(f.rule.id, f.s0, f.s1, new_text[f.s0:f.s1]) for f in founds}
            got = self.model.scan(new_text)
            if {(f.rule.id, f.s0, f.s1, f.secret) for f in got} != expected:
                continue
            if any(f.rule.entropy is not None and shannon(f.secret) < f.rule.entropy + 0.02 for f in got):
                continue
            self.used.update(fresh.values())
            return new_text, sorted(expected, key=lambda e: (e[1], e[0]))
        raise Unsupported("no valid mutant in %d attempts" % attempts)


# --------------------------------------------------------------------------
# Filler: realistic lines per format, free of rule keywords
# --------------------------------------------------------------------------

NOUNS = """order invoice payment customer report metric buffer stream schema model
service handler queue worker event message record item product cart address
profile image document page query filter result status state context option
setting feature flag rule policy trace span timer retry limit quota window batch
chunk offset cursor header body payload digest nonce connection pool table
column row field value entry node edge graph tree list vector dataset sample
label score weight layer input output device host port route domain proxy
gateway channel topic partition consumer producer broker snapshot backup volume
disk memory thread process signal version release build artifact package module
plugin theme locale template view component widget form button dialog menu tab
notification alert region bucket upload download webhook callback subscription
plan price coupon checkout shipment warehouse stock supplier ledger journal
account tenant project team member invite comment review rating tag category""".split()

VERBS = """get set load save fetch parse build create update delete validate handle
process compute render encode decode refresh sign verify send receive read write
open close start stop run init reset apply merge split sort filter map reduce find
search match lookup resolve register subscribe publish enqueue schedule cancel
retry flush sync commit rollback connect disconnect compress serialize format
normalize sanitize convert transform export import notify emit dispatch collect
aggregate count measure report track wrap unwrap check ensure""".split()

ADJS = """default max min current new old raw parsed cached pending active inactive
primary secondary local remote internal external shared temp base full partial
initial final next prev last first global unique valid expired signed batch lazy
stale fresh dirty clean""".split()

ORGS = "acme globex initech umbrella hooli piedpiper stark wayne wonka tyrell vandelay".split()
APPS = """billing inventory checkout gateway notifier scheduler ledger catalog search
analytics payments identity storage mailer reporting orders shipping pricing
accounts metrics webhooks uploader""".split()
HOSTS = ["db.internal", "cache.internal", "orders.svc.cluster.local", "10.0.3.17",
         "queue.acme.io", "search.internal", "metrics.acme.io", "127.0.0.1"]
SENTENCES_A = ["Returns the", "Builds a", "Loads the", "Checks whether the", "Creates a new",
               "Updates the", "Parses the", "Handles the", "Validates the", "Computes the",
               "Resolves the", "Stores the", "Reads the", "Writes the", "Deletes the"]
SENTENCES_B = ["for the given", "from the", "into the", "with the current", "before sending the",
               "after the", "using the cached", "when the", "and caches the", "for each"]

PLACEHOLDER = re.compile(r"«(\w+)»")


class Filler:
    def __init__(self, rng, model):
        self.rng = rng
        self.model = model
        ok = lambda w: not model.has_keyword(w)
        self.nouns = [w for w in NOUNS if ok(w)]
        self.verbs = [w for w in VERBS if ok(w)]
        self.adjs = [w for w in ADJS if ok(w)]
        c = rng.choice
        self.gens = {
            "n": lambda: c(self.nouns),
            "v": lambda: c(self.verbs),
            "a": lambda: c(self.adjs),
            "s": lambda: "%s_%s" % (c(self.adjs), c(self.nouns)),
            "f": lambda: "%s_%s" % (c(self.verbs), c(self.nouns)),
            "c": lambda: c(self.adjs) + c(self.nouns).capitalize(),
            "cf": lambda: c(self.verbs) + c(self.nouns).capitalize(),
            "P": lambda: c(self.nouns).capitalize() + c(["Service", "Handler", "Store", "Client", "Builder", "View"]),
            "U": lambda: ("%s_%s" % (c(self.adjs), c(self.nouns))).upper(),
            "i": lambda: str(c([0, 1, 2, 3, 5, 8, 10, 16, 30, 32, 60, 64, 100, 128, 256, 500, 1000, 1024, 3600])),
            "N": lambda: str(rng.randrange(1, 100000)),
            "port": lambda: str(c([80, 443, 3000, 5432, 6379, 8080, 8443, 9090])),
            "h": lambda: c(HOSTS),
            "org": lambda: c(ORGS),
            "app": lambda: c(APPS),
            "ver": lambda: "%d.%d.%d" % (rng.randrange(0, 6), rng.randrange(0, 30), rng.randrange(0, 20)),
            "S": lambda: "%s %s %s %s." % (c(SENTENCES_A), c(self.nouns), c(SENTENCES_B), c(self.nouns)),
            "T": lambda: "%s %s" % (c(self.verbs).capitalize(), c(self.nouns)),
        }

    def fill(self, template):
        return PLACEHOLDER.sub(lambda m: self.gens[m.group(1)](), template)

    def lines(self, templates, count):
        """About `count` lines drawn from `templates`, none with a rule keyword."""
        out = []
        while len(out) < count:
            for _ in range(20):
                text = self.fill(self.rng.choice(templates))
                if not self.model.has_keyword(text):
                    break
            else:
                text = ""
            out.extend(text.split("\n"))
        return out


# Each format: (weight, path maker, head, body templates, tail). Paths get a
# unique stem; heads and tails are templates too.
FORMATS = {
    "py": dict(ext="py", dirs=["src/«app»", "app", "lib/«app»", "tests"], head=[
        "import json\nimport logging\nimport os\n\nlogger = logging.getLogger(__name__)\n"], body=[
        "def «f»(«s», «s»=«i»):\n    return «s» + «i»\n", "«s» = «i»", "«U» = \"«n»\"", "# «S»",
        "logger.info(\"«S»\")", "class «P»:\n    «s» = «i»\n", "for «s» in range(«i»):\n    «s».append(«s»)",
        "if «s» is None:\n    «s» = []", "«s» = {\"«n»\": «i», \"«n»\": \"«a»\"}"], tail=["", "if __name__ == \"__main__\":\n    «f»()"]),
    "js": dict(ext="js", dirs=["src", "lib", "scripts", "web/src"], head=[
        "'use strict';\n\nconst path = require('path');\nconst «c» = require('./«n»');\n"], body=[
        "function «cf»(«c», «c») {\n  return «c» + «i»;\n}\n", "const «c» = «i»;", "// «S»",
        "console.log('«S»');", "module.exports.«cf» = «cf»;", "let «c» = [«i», «i», «i»];",
        "if (!«c») {\n  «c» = {};\n}", "const «c» = { «n»: «i», «n»: '«a»' };"], tail=["module.exports = { «cf» };"]),
    "ts": dict(ext="ts", dirs=["src", "src/«app»", "packages/«app»/src"], head=[
        "import { «P» } from './«n»';\n"], body=[
        "export interface «P» {\n  «c»: string;\n  «c»: number;\n}\n", "export const «c» = «i»;", "// «S»",
        "export function «cf»(«c»: number): number {\n  return «c» * «i»;\n}\n",
        "const «c»: string[] = ['«n»', '«n»'];", "type «P» = '«n»' | '«n»';"], tail=["export default «cf»;"]),
    "go": dict(ext="go", dirs=["internal/«app»", "pkg/«n»", "cmd/«app»"], head=[
        "package «n»\n\nimport (\n\t\"fmt\"\n\t\"time\"\n)\n"], body=[
        "func «cf»(«c» int) int {\n\treturn «c» + «i»\n}\n", "// «S»", "var «c» = «i»",
        "const «c» = \"«n»\"", "type «P» struct {\n\t«P» string\n\tCount int\n}\n",
        "func (s *«P») «P»() error {\n\tfmt.Println(\"«S»\")\n\treturn nil\n}\n"], tail=["var _ = time.Second"]),
    "rs": dict(ext="rs", dirs=["src", "crates/«n»/src"], head=["use std::collections::HashMap;\n"], body=[
        "fn «f»(«s»: usize) -> usize {\n    «s» + «i»\n}\n", "// «S»", "const «U»: usize = «i»;",
        "pub struct «P» {\n    «s»: u64,\n    «s»: String,\n}\n", "let «s» = vec![«i», «i», «i»];",
        "#[derive(Debug, Clone)]\npub enum «P» {\n    «P»,\n    «P»,\n}\n"], tail=["#[cfg(test)]\nmod tests {}"]),
    "java": dict(ext="java", dirs=["src/main/java/com/«org»/«n»"], head=[
        "package com.«org».«n»;\n\nimport java.util.List;\n\npublic class «P» {\n"], body=[
        "    private int «c» = «i»;", "    // «S»", "    public int «cf»(int «c») {\n        return «c» + «i»;\n    }\n",
        "    private static final String «U» = \"«n»\";", "    private final List<String> «c» = List.of(\"«n»\", \"«n»\");"],
        tail=["}"]),
    "kt": dict(ext="kt", dirs=["app/src/main/kotlin/com/«org»"], head=["package com.«org».«n»\n"], body=[
        "fun «cf»(«c»: Int): Int = «c» + «i»", "// «S»", "val «c» = «i»", "data class «P»(val «c»: String, val «c»: Int)",
        "object «P» {\n    const val «U» = \"«n»\"\n}\n"], tail=[""]),
    "rb": dict(ext="rb", dirs=["app/models", "lib/«app»", "config/initializers"], head=["require 'json'\n"], body=[
        "def «f»(«s»)\n  «s» + «i»\nend\n", "# «S»", "«U» = '«n»'.freeze", "«s» = [«i», «i»].map { |x| x * 2 }",
        "class «P»\n  attr_reader :«s»\nend\n"], tail=[""]),
    "php": dict(ext="php", dirs=["src", "app/Http/Controllers", "config"], head=["<?php\n\nnamespace App\\«P»;\n"], body=[
        "function «cf»($«c») {\n    return $«c» + «i»;\n}\n", "// «S»", "$«c» = «i»;", "$«c» = ['«n»' => «i», '«n»' => '«a»'];",
        "define('«U»', '«n»');"], tail=[""]),
    "cs": dict(ext="cs", dirs=["src/«P»", "Services"], head=["using System;\nusing System.Linq;\n\nnamespace «P»\n{\n"], body=[
        "    // «S»", "    public static class «P»\n    {\n        public const int «P» = «i»;\n    }\n",
        "    internal record «P»(string «P», int Count);"], tail=["}"]),
    "swift": dict(ext="swift", dirs=["Sources/«P»", "App"], head=["import Foundation\n"], body=[
        "func «cf»(_ «c»: Int) -> Int {\n    return «c» + «i»\n}\n", "// «S»", "let «c» = «i»",
        "struct «P» {\n    var «c»: String\n    var «c»: Int\n}\n"], tail=[""]),
    "c": dict(ext="c", dirs=["src", "lib"], head=["#include <stdio.h>\n#include <stdlib.h>\n"], body=[
        "static int «s»(int «s») {\n    return «s» + «i»;\n}\n", "/* «S» */", "#define «U» «i»",
        "static const char *«s» = \"«n»\";"], tail=[""]),
    "sh": dict(ext="sh", dirs=["scripts", "bin", "deploy"], head=["#!/usr/bin/env bash\nset -euo pipefail\n"], body=[
        "«U»=«i»", "# «S»", "echo \"«S»\"", "if [ -z \"${«U»:-}\" ]; then\n  exit 1\nfi",
        "for «s» in «n» «n» «n»; do\n  echo \"$«s»\"\ndone", "mkdir -p /var/lib/«app»/«n»"], tail=["exit 0"]),
    "env": dict(name=["«n».env", ".env.«a»", "«a».env"], dirs=["", "config", "deploy"], head=["# «S»"], body=[
        "«U»=«i»", "# «S»", "«U»=«n»", "«U»_HOST=«h»", "«U»_PORT=«port»", "LOG_LEVEL=info", "«U»_ENABLED=true"], tail=[""]),
    "yaml": dict(ext=["yaml", "yml"], dirs=["config", "deploy", ".github/workflows", "charts/«app»"], head=["# «S»\n«s»:"], body=[
        "  «s»: «i»", "  «s»: «n»", "  # «S»", "  «s»:\n    - «n»\n    - «n»", "  «s»: \"«h»\"", "«s»:\n  enabled: true"],
        tail=["  «s»: false"]),
    "json": dict(ext="json", dirs=["config", "fixtures", "data"], head=["{"], body=[
        "  \"«c»\": «i»,", "  \"«c»\": \"«n»\",", "  \"«c»\": [\"«n»\", \"«n»\"],", "  \"«c»\": {\"«n»\": «i»},"],
        tail=["  \"«c»\": true\n}"]),
    "toml": dict(ext="toml", dirs=["config", ""], head=["# «S»\n[«s»]"], body=[
        "«s» = «i»", "«s» = \"«n»\"", "# «S»", "\n[«s»]", "«s» = [\"«n»\", \"«n»\"]"], tail=[""]),
    "ini": dict(ext=["ini", "cfg"], dirs=["config", "etc"], head=["; «S»\n[«s»]"], body=[
        "«s» = «i»", "«s» = «n»", "; «S»", "\n[«s»]", "«s» = «h»"], tail=[""]),
    "properties": dict(ext="properties", dirs=["src/main/resources", "config"], head=["# «S»"], body=[
        "«n».«s».«n»=«i»", "# «S»", "«n».«n»=«a»", "«n».«s».host=«h»"], tail=[""]),
    "xml": dict(ext="xml", dirs=["config", "src/main/resources"], head=["<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<«c»>"],
        body=["  <«c»>«n»</«c»>", "  <!-- «S» -->", "  <«c» «n»=\"«i»\"/>", "  <«c»>«i»</«c»>"], tail=["</«c»>"]),
    "tf": dict(ext="tf", dirs=["infra", "terraform/«app»"], head=["# «S»"], body=[
        "resource \"«s»\" \"«s»\" {\n  «s» = «i»\n  «s» = \"«n»\"\n}\n", "variable \"«s»\" {\n  default = \"«n»\"\n}\n",
        "# «S»", "locals {\n  «s» = «i»\n}\n"], tail=[""]),
    "dockerfile": dict(name=["Dockerfile", "Dockerfile.«n»"], dirs=["", "docker/«app»"], head=["FROM debian:12-slim\nWORKDIR /app"],
        body=["RUN apt-get update && apt-get install -y --no-install-recommends «n»", "ENV «U»=«i»", "COPY «n» /app/«n»",
              "# «S»", "EXPOSE «port»", "ARG «U»=«n»"], tail=["CMD [\"/app/«n»\"]"]),
    "md": dict(ext="md", dirs=["docs", ""], head=["# «T»\n"], body=[
        "«S»", "## «T»\n", "- «S»", "«S» «S»", "```\n«s» --«n» «i»\n```"], tail=[""]),
    "sql": dict(ext="sql", dirs=["migrations", "db"], head=["-- «S»"], body=[
        "SELECT «s», «s» FROM «s» WHERE «s» = «i»;", "-- «S»", "CREATE INDEX idx_«s» ON «s» («s»);",
        "INSERT INTO «s» («s», «s») VALUES («i», '«n»');"], tail=[""]),
    "ipynb": dict(ext="ipynb", dirs=["notebooks"], head=["{\n \"cells\": [\n  {\n   \"cell_type\": \"code\",\n   \"metadata\": {},\n   \"source\": ["],
        body=["    \"«s» = «i»\\n\",", "    \"# «S»\\n\",", "    \"print(«s»)\\n\","],
        tail=["    \"«s»\"\n   ]\n  }\n ],\n \"nbformat\": 4,\n \"nbformat_minor\": 5\n}"]),
    "html": dict(ext="html", dirs=["public", "templates"], head=["<!doctype html>\n<html>\n<body>"], body=[
        "<div class=\"«n»\">«S»</div>", "<p>«S»</p>", "<!-- «S» -->", "<span id=\"«n»-«i»\">«n»</span>"], tail=["</body>\n</html>"]),
    "gradle": dict(name=["build.gradle"], dirs=["«app»", "modules/«n»"], head=["plugins {\n    id 'java'\n}\n\ndependencies {"],
        body=["    implementation 'com.«org».«n»:«n»:«ver»'", "    // «S»", "    testImplementation 'org.junit:junit:«ver»'"], tail=["}"]),
    "conf": dict(ext="conf", dirs=["nginx", "etc/«app»"], head=["# «S»\nserver {"], body=[
        "    «s» «i»;", "    # «S»", "    location /«n» {\n        proxy_pass upstream_«n»;\n    }"], tail=["}"]),
    "txt": dict(ext="txt", dirs=["notes", "docs", ""], head=["«T»"], body=["«S»", "«S» «S»", "- «S»", ""], tail=[""]),
}
FORMAT_NAMES = sorted(FORMATS)

# --------------------------------------------------------------------------
# Generic decoys: (kind, formats, template). «uuid», «sha1», «sha256», «b64:N»
# are random values; the rest as in the filler.
# --------------------------------------------------------------------------

GENERIC_DECOYS = [
    ("uuid", ["py"], "request_id = \"«uuid»\""),
    ("uuid", ["json", "ipynb"], "  \"sessionId\": \"«uuid»\","),
    ("uuid", ["yaml"], "  client_id: «uuid»"),
    ("uuid", ["env", "sh"], "TENANT_ID=«uuid»"),
    ("uuid", ["py", "rb"], "session_token = \"«uuid»\""),
    ("uuid", ["ts", "js"], "const idempotencyKey = '«uuid»';"),
    ("uuid", ["sql"], "INSERT INTO api_keys (id, owner) VALUES ('«uuid»', 'ops');"),
    ("sha1", ["py", "toml"], "cache_key = \"«sha1»\""),
    ("sha1", ["sh", "dockerfile", "md"], "git checkout «sha1»"),
    ("sha1", ["json"], "  \"commit\": \"«sha1»\","),
    ("sha1", ["yaml"], "      - uses: actions/checkout@«sha1»"),
    ("sha256", ["toml"], "checksum = \"«sha256»\""),
    ("sha256", ["tf"], "  source_code_hash = \"«sha256»\""),
    ("sha256", ["yaml", "dockerfile"], "  image: ghcr.io/acme/worker@sha256:«sha256»"),
    ("sha256", ["json"], "  \"token_hash\": \"«sha256»\","),
    ("sha256", ["env"], "RELEASE_DIGEST=«sha256»"),
    ("sha512-integrity", ["json"], "      \"integrity\": \"sha512-«b64:64»\","),
    ("sha512-integrity", ["yaml"], "    resolution: {integrity: sha512-«b64:64»}"),
    ("aws-doc-key", ["ini"], "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    ("aws-doc-key", ["sh", "md"], "export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\nexport AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    ("aws-doc-key", ["py"], "s3 = boto3.client(\"s3\", aws_access_key_id=\"AKIAIOSFODNN7EXAMPLE\", aws_secret_access_key=\"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\")"),
    ("aws-doc-key", ["json"], "  \"AccessKeyId\": \"AKIAIOSFODNN7EXAMPLE\", \"SecretAccessKey\": \"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\","),
    ("placeholder", ["env", "sh"], "API_KEY=your_api_key_here"),
    ("placeholder", ["yaml"], "  api_token: ${API_TOKEN}"),
    ("placeholder", ["json", "ipynb"], "  \"apiKey\": \"<YOUR_KEY>\","),
    ("placeholder", ["py", "toml"], "password = \"xxxxxxxx\""),
    ("placeholder", ["env", "properties"], "SECRET_KEY=changeme"),
    ("placeholder", ["md", "txt"], "Set `OPENAI_API_KEY=sk-...` and `GITHUB_TOKEN=ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx` before running."),
    ("placeholder", ["sh", "md"], "curl -H \"Authorization: Bearer $API_TOKEN\" https://api.acme.io/v1/«n»"),
    ("placeholder", ["js", "ts"], "const apiKey = process.env.API_KEY || '<YOUR_API_KEY>';"),
    ("placeholder", ["yaml"], "  password: \"{{ vault_db_password }}\""),
    ("placeholder", ["xml"], "  <password>${db.password}</password>"),
    ("placeholder", ["tf"], "  api_token = var.api_token"),
    ("placeholder", ["properties"], "spring.datasource.password=${DB_PASSWORD}"),
    ("placeholder", ["cs", "java"], "    private const string ApiKey = \"YOUR_API_KEY_HERE\";"),
    ("placeholder", ["go"], "\tapiKey := os.Getenv(\"STRIPE_SECRET_KEY\") // sk_live_... in production"),
    ("placeholder", ["php"], "$token = getenv('SLACK_BOT_TOKEN'); // xoxb-your-token"),
    ("placeholder", ["rb"], "Stripe.api_key = ENV.fetch('STRIPE_API_KEY', 'sk_test_placeholder')"),
    ("base64-blob", ["yaml"], "  ca.crt: «b64:48»"),
    ("base64-blob", ["json"], "  \"thumbnail\": \"data:image/png;base64,«b64:96»\","),
    ("password-hash", ["sql"], "INSERT INTO users (email, password_hash) VALUES ('ops@acme.io', '$2b$12$«bcrypt»');"),
    ("doc-example", ["md", "py"], "stripe.api_key = \"sk_test_4eC39HqLyjWDarjtT1zdp7dc\"  # the key from Stripe's API reference"),
    ("doc-example", ["md", "sh"], "curl -H \"Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c\" localhost:8080/me"),
    ("doc-example", ["env", "yaml"], "SLACK_WEBHOOK_URL=https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"),
    ("doc-example", ["sh", "md"], "curl -u \"ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:your_auth_token\" https://api.twilio.com/2010-04-01/Accounts.json"),
    ("doc-example", ["md", "txt", "sh"], "Authorization: Basic dXNlcm5hbWU6cGFzc3dvcmQ="),
    ("reference", ["yaml"], "      password: ${{ secrets.DB_PASSWORD }}"),
    ("reference", ["yaml"], "            valueFrom:\n              secretKeyRef:\n                name: «app»-secrets\n                key: api-token"),
    ("reference", ["tf"], "  password = data.aws_secretsmanager_secret_version.db.secret_string"),
    ("reference", ["py"], "api_key = os.environ[\"OPENAI_API_KEY\"]"),
    ("reference", ["js", "ts"], "const token = await getAccessToken(«c»);"),
    ("identifier", ["java", "kt"], "    private static final String TOKEN_HEADER_NAME = \"X-Request-Token-Version2\";"),
    ("identifier", ["go"], "\tpasswordResetTokenTTL := 15 * time.Minute"),
]

LOCKFILES = [
    ("package-lock.json", "json", "{\n  \"name\": \"«app»\",\n  \"lockfileVersion\": 3,\n  \"packages\": {",
     "    \"node_modules/«pkg»\": {\n      \"version\": \"«ver»\",\n      \"resolved\": \"https://registry.npmjs.org/«pkg»/-/«pkg»-«ver».tgz\",\n      \"integrity\": \"sha512-«b64:64»\"\n    },",
     "    \"node_modules/«pkg»-last\": {\n      \"version\": \"«ver»\"\n    }\n  }\n}"),
    ("yarn.lock", "yaml", "# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.\n# yarn lockfile v1\n",
     "\"«pkg»@^«ver»\":\n  version \"«ver»\"\n  resolved \"https://registry.yarnpkg.com/«pkg»/-/«pkg»-«ver».tgz#«sha1»\"\n  integrity sha512-«b64:64»\n", ""),
    ("go.sum", "txt", "",
     "github.com/«org»/«pkg» v«ver» h1:«b64:32»\ngithub.com/«org»/«pkg» v«ver»/go.mod h1:«b64:32»", ""),
    ("Cargo.lock", "toml", "# This file is automatically @generated by Cargo.\nversion = 3\n",
     "[[package]]\nname = \"«pkg»\"\nversion = \"«ver»\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"«sha256»\"\n", ""),
    ("poetry.lock", "toml", "# This file is automatically @generated by Poetry.\n",
     "[[package]]\nname = \"«pkg»\"\nversion = \"«ver»\"\nfiles = [\n    {file = \"«pkg»-«ver».tar.gz\", hash = \"sha256:«sha256»\"},\n]\n", ""),
    ("pnpm-lock.yaml", "yaml", "lockfileVersion: '6.0'\n\npackages:\n",
     "  /«pkg»@«ver»:\n    resolution: {integrity: sha512-«b64:64»}\n    dev: false\n", ""),
]
PKGS = """lodash express axios chalk commander debug semver yargs minimist glob rimraf
mkdirp webpack typescript eslint prettier jest mocha chai sinon dotenv cors
mongoose sequelize redis bull graphql serde tokio anyhow thiserror clap regex rand
log tracing futures bytes hyper reqwest chrono itertools rayon memchr requests
urllib3 certifi idna flask django pydantic sqlalchemy celery numpy pandas pytest
click jinja2 attrs""".split()


# --------------------------------------------------------------------------
# The corpus
# --------------------------------------------------------------------------

class Plant:
    """A block of lines to place in a file: a true example or a decoy."""

    def __init__(self, text, kind, formats=None, truths=(), decoy_kind=None, origin=None):
        self.text = text
        self.kind = kind  # "true" or "decoy"
        self.formats = formats
        # [(rule_id, offset in text, secret, scored: True = true key, False =
        # unscored, None = expected finding but no label)]
        self.truths = list(truths)
        self.decoy_kind = decoy_kind
        self.origin = origin
        self.alone = None  # what the model reports in a decoy block on its own
        self.owner = None  # the rule whose negative example this is


class Generator:
    def __init__(self, args, log):
        self.args = args
        self.log = log
        self.rng = random.Random(args.seed)
        self.warnings = []
        self.model = Model(args.rules, self.warn)
        self.filler = Filler(random.Random(args.seed * 7919 + 1), self.model)
        self.mutator = Mutator(self.model, random.Random(args.seed * 104729 + 2))
        self.skipped = []
        self.plants = []
        self.files = {}
        self.labels_true = []
        self.labels_decoy = []
        self.labels_unscored = []
        self.stems = set()
        self.stats = collections.Counter()

    def warn(self, message):
        if message not in self.warnings:
            self.warnings.append(message)

    def skip(self, rule_id, example, reason):
        self.skipped.append({"rule_id": rule_id, "example": example, "reason": reason})

    # ---- planting material -------------------------------------------------

    def true_plants(self):
        for rule in self.model.rules:
            for index, example in enumerate(rule.examples):
                where = "examples[%d]" % index
                if rule.broken:
                    self.skip(rule.id, where, rule.broken)
                    continue
                if rule.has_path:
                    self.skip(rule.id, where, "rule has a path filter")
                    continue
                founds = self.model.scan(example)
                if not any(f.rule is rule for f in founds):
                    self.skip(rule.id, where, "the Python model does not report the example for its rule")
                    continue
                try:
                    plan = self.mutator.plan(example, founds)
                except Unsupported as err:
                    self.skip(rule.id, where, str(err))
                    continue
                for variant in range(self.args.per_example):
                    try:
                        text, secrets = self.mutator.freshen(plan)
                    except Unsupported as err:
                        self.skip(rule.id, "%s#%d" % (where, variant), str(err))
                        continue
                    # Another rule's secret elsewhere in the example is a true
                    # key too (an AWS key id next to the secret key, a Twilio
                    # account SID), unless that rule is a generic fallback: then
                    # the model's word is no ground truth (`# public key:
                    # age1...`) and the key is "unscored".
                    # Another provider's report of the rule's own secret
                    # (a Paystack key that a Stripe rule also matches) is no
                    # true key: it stays unlabeled, a false positive.
                    own = [(s0, s1) for rid, s0, s1, _new in secrets if rid == rule.id]
                    truths = []
                    for rid, s0, s1, new in secrets:
                        other = self.model.by_id[rid]
                        if rid != rule.id and other.provider != rule.provider and \
                                any(a < s1 and s0 < b for a, b in own):
                            truths.append((rid, s0, new, None))  # expected, not labeled
                            continue
                        truths.append((rid, s0, new, rid == rule.id or not other.fallback))
                    self.plants.append(Plant(text, "true", truths=truths,
                                             origin="%s %s" % (rule.id, where)))

    def decoy_plants(self):
        for rule in self.model.rules:
            for index, example in enumerate(rule.negative_examples):
                for _ in range(self.args.negative_copies):
                    plant = Plant(example, "decoy", decoy_kind="negative:%s[%d]" % (rule.id, index),
                                  origin="%s negative_examples[%d]" % (rule.id, index))
                    plant.owner = rule.id
                    self.plants.append(plant)
        for copy in range(self.args.generic_copies):
            for kind, formats, template in GENERIC_DECOYS:
                self.plants.append(Plant(self.decoy_fill(template), "decoy", formats=formats, decoy_kind=kind,
                                         origin="generic %s" % kind))

    def decoy_fill(self, template):
        rng = self.rng

        def value(m):
            name, size = m.group(1), m.group(2)
            if name == "uuid":
                h = "%032x" % rng.getrandbits(128)
                return "%s-%s-4%s-%s-%s" % (h[:8], h[8:12], h[13:16], h[16:20], h[20:32])
            if name == "sha1":
                return "%040x" % rng.getrandbits(160)
            if name == "sha256":
                return "%064x" % rng.getrandbits(256)
            if name == "b64":
                return base64.b64encode(rng.randbytes(int(size or 32))).decode()
            if name == "bcrypt":
                return "".join(rng.choice(string.ascii_letters + string.digits + "./") for _ in range(53))
            if name == "pkg":
                return rng.choice(PKGS)
            return self.filler.gens[name]()

        return re.sub(r"«(\w+)(?::(\d+))?»", value, template)

    # ---- files ---------------------------------------------------------------

    def new_path(self, fmt):
        spec = FORMATS[fmt]
        fill = self.filler.fill
        for _ in range(1000):
            repo = "%s-%s" % (self.rng.choice(ORGS), self.rng.choice(APPS))
            directory = fill(self.rng.choice(spec["dirs"]))
            if "name" in spec:
                name = fill(self.rng.choice(spec["name"]))
            else:
                ext = spec["ext"]
                ext = self.rng.choice(ext) if isinstance(ext, list) else ext
                name = "%s.%s" % (fill("«s»"), ext)
            path = "/".join(part for part in (repo, directory, name) if part)
            if path in self.stems or self.model.has_keyword(path) or self.model.path_allowlisted(path):
                continue
            if self.model.path_allowlisted("corpus/" + path):
                continue
            self.stems.add(path)
            return path
        raise RuntimeError("no free path for %s" % fmt)

    def assemble(self, fmt, plants):
        """Text of one file holding `plants`; returns (text, [(plant, first line)])."""
        spec = FORMATS[fmt]
        rng = self.rng
        lines = list(self.filler.fill(rng.choice(spec["head"])).split("\n"))
        lines += self.filler.lines(spec["body"], rng.randrange(2, 10))
        placed = []
        for i, plant in enumerate(plants):
            if i:
                lines += self.filler.lines(spec["body"], rng.randrange(MIN_GAP, MIN_GAP + 20))
            placed.append((plant, len(lines) + 1))
            lines += plant.text.split("\n")
        lines += self.filler.lines(spec["body"], rng.randrange(MIN_GAP, MIN_GAP + 8))
        lines += self.filler.fill(rng.choice(spec["tail"])).split("\n")
        return "\n".join(lines) + "\n", placed

    def expected(self, text, placed):
        """(rule_id, secret, line) the model must report, and the decoy blocks
        as (first line, last line, plant)."""
        truths = set()
        decoy_blocks = []
        for plant, first in placed:
            n = plant.text.count("\n") + 1
            if plant.kind == "decoy":
                decoy_blocks.append((first, first + n - 1, plant))
            for rid, offset, secret, _scored in plant.truths:
                truths.add((rid, secret, first + plant.text.count("\n", 0, offset)))
        return truths, decoy_blocks

    def standalone(self, plant):
        """What the model reports in a decoy block on its own."""
        if plant.alone is None:
            plant.alone = {(f.rule.id, f.secret) for f in self.model.scan(plant.text)}
        return plant.alone

    def check(self, path, text, placed):
        """Model findings vs. the planted truth. Returns (ok, findings in decoy
        blocks); not ok if a true key is missed or anything else is found, or a
        decoy block reports what it does not report on its own (the blocks
        interfere: a windowed rule sees a neighbour's keyword)."""
        truths, decoy_blocks = self.expected(text, placed)
        got = set()
        decoy_hits = []
        for f in self.model.scan(text, path):
            line = text.count("\n", 0, f.s0) + 1
            key = (f.rule.id, f.secret, line)
            if key in truths:
                got.add(key)
                continue
            block = next((plant for a, b, plant in decoy_blocks if a <= line <= b), None)
            if block is None or (f.rule.id, f.secret) not in self.standalone(block):
                return False, decoy_hits
            decoy_hits.append((f.rule.id, line, block.owner))
        return got == truths, decoy_hits

    def write_file(self, fmt, plants):
        path = self.new_path(fmt)
        text, placed = self.assemble(fmt, plants)
        ok, decoy_hits = self.check(path, text, placed)
        if not ok:
            if len(plants) > 1:
                self.stems.discard(path)
                self.stats["files split (planted blocks interfered)"] += 1
                for plant in plants:
                    self.write_file(fmt, [plant])
                return
            # A block the rules find on its own but not inside a file (e.g. a
            # pattern that ends in `$` under a multi-line window): keep it, the
            # benchmark shows the miss.
            self.stats["blocks the model misses inside a file (kept)"] += 1
            for plant in plants:
                self.log("note: the rules miss %s inside %s" % (plant.origin, path))
        for rule_id, line, owner in decoy_hits:
            if owner and owner != rule_id:
                self.stats["negative examples another rule reports (unscored)"] += 1
            else:
                self.stats["decoys the rules report (false alarms)"] += 1
            self.log("note: %s reports the decoy at %s:%d" % (rule_id, path, line))
        self.files[path] = text
        for plant, first in placed:
            if plant.kind == "true":
                for rid, offset, secret, scored in plant.truths:
                    if scored is None:
                        continue
                    (self.labels_true if scored else self.labels_unscored).append({
                        "rule_id": rid, "provider": self.model.by_id[rid].provider, "path": path,
                        "line": first + plant.text.count("\n", 0, offset), "secret": secret})
            else:
                entry = {"path": path, "line": first, "end_line": first + plant.text.count("\n"),
                         "kind": plant.decoy_kind}
                if plant.owner:
                    entry["rule_id"] = plant.owner
                self.labels_decoy.append(entry)

    def lockfiles(self):
        for name, fmt, head, entry, tail in LOCKFILES:
            for copy in range(self.args.generic_copies):
                repo = "%s-%s" % (self.rng.choice(ORGS), self.rng.choice(APPS))
                path = "%s/%s" % (repo, name)
                if path in self.stems or self.model.path_allowlisted(path):
                    continue
                self.stems.add(path)
                lines = self.decoy_fill(head).split("\n")
                decoys = []
                for _ in range(self.rng.randrange(8, 16)):
                    block = self.decoy_fill(entry)
                    decoys.append((len(lines) + 1, len(lines) + block.count("\n") + 1))
                    lines += block.split("\n")
                lines += self.decoy_fill(tail).split("\n")
                text = "\n".join(lines) + "\n"
                ok, hits = self.check(path, text, [])
                self.files[path] = text
                for a, b in decoys:
                    self.labels_decoy.append({"path": path, "line": a, "end_line": b, "kind": "lockfile:" + name})
                if not ok:
                    self.stats["lockfiles the model reports"] += 1
                    self.log("note: the rules report something in lockfile %s" % path)

    # ---- encoded secrets and UTF-16 files -------------------------------------

    ENCODINGS = ("base64", "hex", "escapes", "utf16", "base64 > base64")

    def encoded_path(self, directory, ext):
        for _ in range(1000):
            repo = "%s-%s" % (self.rng.choice(ORGS), self.rng.choice(APPS))
            path = "%s/%s/%s.%s" % (repo, directory, self.filler.fill("«s»"), ext)
            if path in self.stems or self.model.has_keyword(path) or self.model.path_allowlisted(path):
                continue
            self.stems.add(path)
            return path
        raise RuntimeError("no free path for an encoded file")

    def encoded_file(self, text, encoding):
        """(path, file content (str, or bytes for UTF-16), line of the encoded
        value) holding the one-line `text` under `encoding`; None when the
        text cannot be carried that way."""
        b64 = lambda value: base64.b64encode(value.encode()).decode()
        if encoding in ("base64", "base64 > base64"):
            value = b64(text) if encoding == "base64" else b64("config: %s\n" % b64(text))
            path = self.encoded_path("deploy/k8s", "yaml")
            name = self.filler.fill("«s»").replace("_", "-")
            content = ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: %s\ntype: Opaque\ndata:\n"
                       "  settings: %s\n" % (name, value))
            return path, content, 7
        if encoding == "hex":
            path = self.encoded_path("fixtures", "txt")
            return path, "# captured payload\npayload = \"%s\"\n" % text.encode().hex(), 2
        if encoding == "escapes":
            escaped = "".join(ch if ch.isalnum() else "\\u%04x" % ord(ch) for ch in text)
            path = self.encoded_path("config", "json")
            return path, "{\n  \"settings\": \"%s\"\n}\n" % escaped, 2
        if encoding == "utf16":
            if '"' in text or "\\" in text:
                return None
            path = self.encoded_path("windows", "reg")
            content = ("Windows Registry Editor Version 5.00\r\n\r\n[HKEY_CURRENT_USER\\Software\\%s]\r\n"
                       "\"Settings\"=\"%s\"\r\n" % (self.filler.fill("«s»"), text))
            return path, b"\xff\xfe" + content.encode("utf-16-le"), 4
        raise ValueError(encoding)

    def encoded_files(self):
        """Each rule's first one-line true key again, encoded (base64 in a
        Kubernetes Secret, hex, JSON unicode escapes, UTF-16, base64 twice),
        and each rule's first one-line negative example encoded the same way
        (look-alikes: as many as the keys). Labelled with their category
        ("encoded:<encoding>" or "utf16")."""
        turn = 0
        done = set()
        for plant in self.plants:
            if plant.kind != "true" or "\n" in plant.text or not plant.truths:
                continue
            rule_id = plant.truths[0][0]
            if rule_id in done or any(scored is None for *_rest, scored in plant.truths):
                continue
            encoding = self.ENCODINGS[turn % len(self.ENCODINGS)]
            made = self.encoded_file(plant.text, encoding)
            if made is None:
                encoding = "base64"
                made = self.encoded_file(plant.text, encoding)
            path, content, line = made
            category = "utf16" if path.endswith(".reg") else "encoded:" + encoding.split(" > ")[0] + \
                (" twice" if " > " in encoding else "")
            turn += 1
            done.add(rule_id)
            self.files[path] = content
            for rid, _offset, secret, scored in plant.truths:
                (self.labels_true if scored else self.labels_unscored).append({
                    "rule_id": rid, "provider": self.model.by_id[rid].provider, "path": path,
                    "line": line, "secret": secret, "category": category})
        turn = 0
        for rule in self.model.rules:
            negatives = [text for text in rule.negative_examples if "\n" not in text]
            if not negatives:
                continue
            encoding = self.ENCODINGS[turn % len(self.ENCODINGS)]
            made = self.encoded_file(negatives[0], encoding)
            if made is None:
                encoding = "base64"
                made = self.encoded_file(negatives[0], encoding)
            path, content, line = made
            category = "utf16" if path.endswith(".reg") else "encoded:" + encoding.split(" > ")[0] + \
                (" twice" if " > " in encoding else "")
            turn += 1
            self.files[path] = content
            self.labels_decoy.append({"path": path, "line": line, "end_line": line, "rule_id": rule.id,
                                      "kind": "%s negative:%s[0]" % (category, rule.id), "category": category})
        # Generic look-alikes (UUIDs, hashes, placeholders, references) until each
        # category has at least as many look-alikes as planted keys.
        keys = collections.Counter(entry.get("category") for entry in self.labels_true)
        looks = collections.Counter(entry.get("category") for entry in self.labels_decoy)
        templates = [(kind, template) for kind, _formats, template in GENERIC_DECOYS if "\n" not in template]
        for encoding in self.ENCODINGS:
            category = "utf16" if encoding == "utf16" else "encoded:" + encoding.split(" > ")[0] + \
                (" twice" if " > " in encoding else "")
            while looks[category] < keys[category]:
                kind, template = self.rng.choice(templates)
                text = self.decoy_fill(template)
                made = self.encoded_file(text, encoding)
                if made is None:
                    continue
                path, content, line = made
                self.files[path] = content
                self.labels_decoy.append({"path": path, "line": line, "end_line": line,
                                          "kind": "%s %s" % (category, kind), "category": category})
                looks[category] += 1

    def build(self):
        self.true_plants()
        self.decoy_plants()
        pools = collections.defaultdict(list)
        for plant in self.plants:
            fmt = self.rng.choice(plant.formats or FORMAT_NAMES)
            pools[fmt].append(plant)
        for fmt in sorted(pools):
            plants = pools[fmt]
            self.rng.shuffle(plants)
            i = 0
            while i < len(plants):
                k = self.rng.randrange(1, 5)
                self.write_file(fmt, plants[i:i + k])
                i += k
        self.lockfiles()
        self.encoded_files()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--per-example", type=int, default=3, help="fresh keys per positive example (default 3)")
    ap.add_argument("--negative-copies", type=int, default=2, help="copies of each negative example (default 2)")
    ap.add_argument("--generic-copies", type=int, default=3, help="copies of each generic decoy template (default 3)")
    ap.add_argument("--rules", default=os.path.join(ROOT, "rules"), help="rules directory (default: the repository's)")
    ap.add_argument("--force", action="store_true", help="replace OUT_DIR if it exists")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)

    started = time.monotonic()
    out_dir = os.path.abspath(args.out_dir)
    if os.path.exists(out_dir):
        if not args.force and os.listdir(out_dir):
            sys.exit("gen-labeled: %s exists and is not empty (use --force)" % out_dir)
        shutil.rmtree(out_dir)
    log = (lambda m: print(m, file=sys.stderr)) if args.verbose else (lambda m: None)
    gen = Generator(args, log)
    gen.build()

    for path in sorted(gen.files):
        full = os.path.join(out_dir, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        content = gen.files[path]
        if isinstance(content, bytes):  # UTF-16 files
            with open(full, "wb") as fh:
                fh.write(content)
            continue
        with open(full, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(content)

    name = os.path.basename(out_dir.rstrip("/"))
    labels_path = os.path.join(os.path.dirname(out_dir), name + ".labels.json")
    labels = {
        "generator": "scripts/gen-labeled.py",
        "seed": args.seed,
        "corpus": name,
        "rule_files": gen.model.files,
        "providers": {rule.id: rule.provider for rule in gen.model.rules},
        "files": len(gen.files),
        "true": sorted(gen.labels_true, key=lambda e: (e["path"], e["line"], e["rule_id"], e["secret"])),
        "decoys": sorted(gen.labels_decoy, key=lambda e: (e["path"], e["line"])),
        "unscored": sorted(gen.labels_unscored, key=lambda e: (e["path"], e["line"], e["rule_id"], e["secret"])),
        "skipped": gen.skipped,
        "warnings": gen.warnings,
    }
    with open(labels_path, "w", encoding="utf-8", newline="\n") as fh:
        json.dump(labels, fh, indent=1, sort_keys=False)
        fh.write("\n")
    elapsed = time.monotonic() - started
    formats = len(FORMAT_NAMES)
    print("gen-labeled: %d files (%d formats + lock files), %d true keys from %d rules, %d decoys, "
          "%d skipped, in %.1fs -> %s" % (len(gen.files), formats, len(gen.labels_true),
                                          len({e["rule_id"] for e in gen.labels_true}), len(gen.labels_decoy),
                                          len(gen.skipped), elapsed, labels_path), file=sys.stderr)
    for key, count in sorted(gen.stats.items()):
        print("gen-labeled: %s: %d" % (key, count), file=sys.stderr)
    for message in gen.warnings:
        print("gen-labeled: warning: %s" % message, file=sys.stderr)


if __name__ == "__main__":
    main()
