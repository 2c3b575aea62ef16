#!/usr/bin/env python3
"""Generate a deterministic git repository with a realistic history, for
benchmarking history scans (`keyhound git`).

Usage:
    scripts/gen-history.py OUT_REPO [--commits 20000] [--size-mb 1024] [--seed 1]
                           [--keyword-density real|heavy] [--force] [--quiet]

Writes a bare repository OUT_REPO (branch main) through one `git fast-import`
stream (a single packfile; no gc), and OUT_REPO.planted.json, the list of
planted secrets. --commits is the exact number of commits; --size-mb (MiB)
the target of the UNIQUE blob bytes (every distinct file version counted
once, as `git cat-file --batch-all-objects` sees them), reached within a few
percent.

The files are those of scripts/gen-corpus.py (imported as a module: the
same generators, vocabulary and --keyword-density), grouped in several
projects (Python, Node/TypeScript, Go, Rust, Java monorepo directories) that
are imported at intervals. Each later commit changes 1-5 files: mostly edits
of existing files (statements replaced, inserted or deleted, functions
appended, lock files bumped, bundles rebuilt, records added to fixtures),
some new files, a few deletions and renames. Which files a commit edits
follows the byte budget: the remaining unique bytes per remaining commit
set the typical size of the files picked, so the history reaches --size-mb
with edits of realistic files rather than fresh random ones.

History shape: main, with feature branches forked from it, a few commits
each, interleaved with main, then merged back with merge commits (most
merged branch refs are deleted afterwards, some are kept; a few branches are
left unmerged); release tags, some annotated.

Planted secrets (the snippets of gen-corpus.py's make_plants, same formats,
other values, plus one GitHub token in a commit message), at deterministic
commits, in these scenarios:
    add         a new file with the secret, on main
    insert      the secret's lines inserted into an existing file, on main
    feature     inserted on a feature branch that is merged later
    spike       a file added on a branch that is deleted; an annotated tag
                archive/spike-* keeps its commits reachable
    merge       only in a merge commit's resolution (in neither parent)
    message     in a commit message
and follow-ups some commits later: the secret's lines removed, the file
deleted, renamed, rebuilt (bundle), or edited with the secret kept
("persist": every later version of the file still holds the secret).

OUT_REPO.planted.json: {"generator_sha256", "seed", "commits", "size_mb",
"unique_blob_bytes", "unique_blobs", ..., "planted": [{"kind", "rule_id",
"scenario", "commit" (full id of the commit that introduced the secret),
"ref", "path" (COMMIT_MSG@<12 hex> for a commit message), "line", "column",
"secret" (not for private keys, whose line is the BEGIN line), "events":
[{"event", "commit", "path"}]}]}. Lines are 1-based, in the version of the
file (or message) that introduced the secret.

Deterministic: the same arguments give the same commits and ids (fixed
dates and authors) for one version of this script and gen-corpus.py, whose
combined sha256 the manifest records. If OUT_REPO exists with a manifest
of the same generator hash and arguments, nothing is done (unless --force).
Python 3 standard library and git only.
"""

import argparse
import hashlib
import heapq
import importlib.util
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
MIB = 1024 * 1024


def load_corpus_module():
    path = os.path.join(HERE, "gen-corpus.py")
    spec = importlib.util.spec_from_file_location("gen_corpus", path)
    module = importlib.util.module_from_spec(spec)
    sys.dont_write_bytecode = True  # no scripts/__pycache__
    spec.loader.exec_module(module)
    return module


gc = load_corpus_module()

AUTHORS = [
    ("Alice Moreau", "alice.moreau@acme.io", "+0100"),
    ("Bilal Haddad", "bilal@acme.io", "+0200"),
    ("Chen Wei", "chen.wei@acme.io", "+0800"),
    ("Dana Kowalski", "dana.k@acme.io", "+0100"),
    ("Emeka Obi", "emeka.obi@acme.io", "+0100"),
    ("Farah Siddiqui", "farah@acme.io", "+0530"),
    ("Gus Lindqvist", "gus@acme.io", "+0100"),
    ("Hana Sato", "hana.sato@acme.io", "+0900"),
    ("Ivan Petrov", "ivan.petrov@acme.io", "+0300"),
    ("Julia Santos", "julia.santos@acme.io", "-0300"),
    ("Kofi Mensah", "kofi@acme.io", "+0000"),
    ("Laura Becker", "laura.becker@acme.io", "+0100"),
    ("Miguel Ortega", "miguel@acme.io", "-0600"),
    ("Nina Johansson", "nina.j@acme.io", "+0100"),
    ("Omar Farouk", "omar.farouk@acme.io", "+0200"),
    ("Priya Raman", "priya.raman@acme.io", "-0700"),
    ("renovate[bot]", "29139614+renovate[bot]@users.noreply.github.com", "+0000"),
]
START_TIME = 1546300800  # 2019-01-01T00:00:00Z

CODE_LANG = {".py": "py", ".rs": "rs", ".go": "go", ".java": "java", ".js": "js", ".ts": "ts", ".tsx": "ts"}
LOCK_FILES = {"package-lock.json", "yarn.lock", "Cargo.lock", "poetry.lock", "go.sum"}
COMMENT = {".sql": "-- ", ".css": "/* %s */", ".md": "", ".go": "// ", ".rs": "// ", ".java": "// ",
           ".js": "// ", ".ts": "// ", ".tsx": "// "}
HEXRUN = re.compile(r"[0-9a-f]{8,}")
B64RUN = re.compile(r"[A-Za-z0-9+/]{40,}={0,2}")
VERSION = re.compile(r"\b(\d+)\.(\d+)\.(\d+)\b")
NUMBER = re.compile(r"(?<![\w.-])\d+(?![\w.-])")

# Scenarios for gen-corpus.py's make_plants, in its order: (how the secret
# enters the history, what happens to it later). Extra plants cycle through.
SCENARIOS = [
    ("add", "rename"),       # .env.production, DeepSeek
    ("add", "delete"),       # AWS credentials file, key id + secret
    ("add", "persist"),      # release workflow, GitHub token
    ("insert", "remove"),    # JavaScript, Slack
    ("feature", None),       # TypeScript, Stripe
    ("add", "rebuild"),      # minified bundle, Google
    ("spike", None),         # PEM file
    ("merge", None),         # docker-compose URL with password
    ("insert", "persist"),   # Python, DeepSeek
    ("insert", "remove"),    # Python, AWS key id + secret
    ("insert", "rename"),    # Go, GitHub token
    ("add", None),           # YAML, Slack
    ("add", "delete"),       # .env, Stripe
    ("insert", None),        # Java, Google
    ("feature", None),       # Python, private key block
    ("insert", None),        # Rust, postgres URL
    ("add", None),           # JSON config, GitHub token
    ("insert", "remove"),    # Markdown, DeepSeek
]
# How likely a file picked for an edit is kept, by file class (else another is picked).
EDIT_ODDS = {"png": 0.05, "fixture": 0.3, "yaml": 0.45, "md": 0.5, "text": 0.5, "minjs": 0.5}
KIND_EXT = {"py": ".py", "go": ".go", "js": ".js", "ts": ".ts", "java": ".java", "rs": ".rs", "md": ".md"}
NATIVE = {"py": "python", "rs": "rust", "go": "go", "java": "java", "js": "node", "ts": "node"}


def file_class(path):
    base = path.rsplit("/", 1)[-1]
    if base.endswith(".min.js"):
        return "minjs"
    if base in LOCK_FILES:
        return "lock"
    ext = os.path.splitext(base)[1]
    if ext == ".png":
        return "png"
    if ext in CODE_LANG:
        return "code"
    if ext == ".json":
        return "fixture" if "/testdata/" in path else "json"
    if ext in (".yaml", ".yml"):
        return "yaml"
    if ext == ".md":
        return "md"
    return "text"


def generator_hash():
    h = hashlib.sha256()
    for name in ("gen-history.py", "gen-corpus.py"):
        with open(os.path.join(HERE, name), "rb") as fh:
            h.update(fh.read())
    return h.hexdigest()


class MemTree:
    """gen-corpus.py's Tree, in memory: what RepoBuilder writes lands in `sink`."""

    def __init__(self, files_per_dir=200):
        self.files_per_dir = files_per_dir
        self.counts = {}
        self.bytes = 0
        self.files = 0
        self.sink = []

    def write(self, rel, content):
        self.sink.append((rel, content))
        n = len(content)
        self.bytes += n
        self.files += 1
        return n


class SizeIndex:
    """Paths of main's tree by size class (half octaves), for picking a file
    of about a given size in O(1)."""

    NB = 56

    def __init__(self):
        self.buckets = [[] for _ in range(self.NB)]
        self.where = {}

    @classmethod
    def bucket(cls, size):
        return min(cls.NB - 1, int(2 * math.log2(size + 1)))

    def add(self, path, size):
        b = self.bucket(size)
        lst = self.buckets[b]
        self.where[path] = (b, len(lst))
        lst.append(path)

    def remove(self, path):
        b, i = self.where.pop(path)
        lst = self.buckets[b]
        last = lst.pop()
        if i < len(lst):
            lst[i] = last
            self.where[last] = (b, i)

    def pick(self, rng, target, accept):
        tb = self.bucket(max(1, int(target)))
        for d in range(self.NB):
            for b in ((tb - d, tb + d) if d else (tb,)):
                if 0 <= b < self.NB and self.buckets[b]:
                    lst = self.buckets[b]
                    for _ in range(min(6, len(lst))):
                        p = lst[rng.randrange(len(lst))]
                        if accept(p):
                            return p
        return None


class Branch:
    def __init__(self, name, base, author, remaining=0):
        self.name = name
        self.ref = "refs/heads/" + name
        self.base = base
        self.tip = None
        self.author = author
        self.overlay = {}  # path -> FileRec, what the branch changed or added
        self.locked = []
        self.remaining = remaining


class History:
    def __init__(self, out, commits, size_mb, seed, density, quiet=False):
        self.out = out
        self.C = commits
        self.T = int(size_mb * MIB)
        self.quiet = quiet
        self.rng = r = random.Random(seed)
        self.gen = gc.Gen(r, density, self.T)
        self.tree = MemTree()
        self.builders = {}
        self.main = {}  # path -> (data, mark, size)
        self.index = SizeIndex()
        self.locked = set()
        self.protected = set()
        self.known = {}
        self.unique_bytes = 0
        self.unique_blobs = 0
        self.marks = 0
        self.commit_marks = set()
        self.ncommits = 0
        self.main_commits = 0
        self.merges = 0
        self.clock = START_TIME
        self.main_tip = None
        self.open = []
        self.branch_names = set()
        self.kept_refs = []
        self.deleted_refs = []
        self.tags = []
        self.version = [0, 1, 0]
        self.events = []  # heap of (commit number, seq, callable)
        self.seq = 0
        self.manifest = []
        self.plant_rng = random.Random(seed * 7919 + 29)
        self.needles = []  # planted secrets: never mutated by random edits
        self.progress_at = 0
        self.started = time.time()
        self.lang_bytes = {l: 0 for l, _ in gc.LANG_WEIGHTS}

    # -- stream ------------------------------------------------------------
    def mark(self):
        self.marks += 1
        return self.marks

    def blob(self, data):
        raw = data.encode("utf-8") if isinstance(data, str) else data
        h = hashlib.sha1(b"blob %d\0" % len(raw))
        h.update(raw)
        key = h.digest()
        mark = self.known.get(key)
        if mark is None:
            mark = self.known[key] = self.mark()
            w = self.out.write
            w(b"blob\nmark :%d\ndata %d\n" % (mark, len(raw)))
            w(raw)
            w(b"\n")
            self.unique_bytes += len(raw)
            self.unique_blobs += 1
        return (data, mark, len(raw))

    def who(self, author):
        name, email, tz = author
        return ("%s <%s> %d %s" % (name, email, self.clock, tz)).encode("utf-8")

    def commit(self, ref, author, msg, changes, frm=None, merge=None):
        """changes: ("M", path, mark) | ("D", path) | ("R", old, new)."""
        self.clock += self.rng.randrange(240, 20000)
        mark = self.mark()
        self.commit_marks.add(mark)
        w = self.out.write
        body = msg.encode("utf-8")
        who = self.who(author)
        w(b"commit %s\nmark :%d\nauthor %s\ncommitter %s\ndata %d\n" % (ref.encode(), mark, who, who, len(body)))
        w(body)
        w(b"\n")
        if frm is not None:
            w(b"from :%d\n" % frm)
        if merge is not None:
            w(b"merge :%d\n" % merge)
        for change in changes:
            if change[0] == "M":
                w(b"M 100644 :%d %s\n" % (change[2], change[1].encode("utf-8")))
            elif change[0] == "D":
                w(b"D %s\n" % change[1].encode("utf-8"))
            else:
                w(b"R %s %s\n" % (change[1].encode("utf-8"), change[2].encode("utf-8")))
        w(b"\n")
        self.ncommits += 1
        self.report_progress()
        return mark

    def report_progress(self):
        if self.quiet or self.ncommits < self.progress_at:
            return
        self.progress_at += max(1, self.C // 10)
        print("gen-history: %d/%d commits, %.1f MiB unique blobs, %.0fs"
              % (self.ncommits, self.C, self.unique_bytes / MIB, time.time() - self.started), file=sys.stderr)

    # -- main and branches ---------------------------------------------------
    def main_commit(self, author, msg, ops, merge=None):
        """ops: ("M", path, data) | ("D", path) | ("R", old, new). Returns the mark."""
        changes = []
        for op in ops:
            if op[0] == "M":
                path = op[1]
                rec = op[2] if isinstance(op[2], tuple) else self.blob(op[2])
                changes.append(("M", path, rec[1]))
                if path in self.main:
                    self.index.remove(path)
                self.main[path] = rec
                self.index.add(path, rec[2])
            elif op[0] == "D":
                changes.append(op)
                del self.main[op[1]]
                self.index.remove(op[1])
            else:
                changes.append(op)
                rec = self.main.pop(op[1])
                self.index.remove(op[1])
                self.main[op[2]] = rec
                self.index.add(op[2], rec[2])
        self.main_tip = self.commit("refs/heads/main", author, msg, changes, merge=merge)
        self.main_commits += 1
        self.maybe_tag()
        return self.main_tip

    def branch_commit(self, b, msg, ops):
        changes = []
        for op in ops:
            rec = op[2] if isinstance(op[2], tuple) else self.blob(op[2])
            b.overlay[op[1]] = rec
            changes.append(("M", op[1], rec[1]))
        b.tip = self.commit(b.ref, b.author, msg, changes, frm=b.base if b.tip is None else None)
        return b.tip

    def branch_data(self, b, path):
        rec = b.overlay.get(path) or self.main[path]
        return rec[0]

    def new_branch(self, prefix, author=None):
        r = self.rng
        while True:
            name = "%s/%s" % (prefix, r.choice(self.gen.vocab.snake).replace("_", "-"))
            if name in self.branch_names:
                name = "%s-%d" % (name, r.randrange(2, 1000))
            if name not in self.branch_names:
                break
        self.branch_names.add(name)
        return Branch(name, self.main_tip, author or r.choice(AUTHORS[:-1]))

    def merge(self, b, extra=(), msg=None, keep_ref=None):
        r = self.rng
        ops = [("M", p, rec) for p, rec in b.overlay.items()] + list(extra)
        if msg is None:
            if r.random() < 0.6:
                msg = "Merge pull request #%d from acme/%s\n\n%s\n" % (r.randrange(10, 9000), b.name,
                                                                    self.subject([]))
            else:
                msg = "Merge branch '%s'\n" % b.name
        mark = self.main_commit(r.choice(AUTHORS[:-1]), msg, ops, merge=b.tip)
        self.merges += 1
        for p in b.locked:
            self.locked.discard(p)
        if b in self.open:
            self.open.remove(b)
        if keep_ref is None:
            keep_ref = r.random() < 0.25
        (self.kept_refs if keep_ref else self.deleted_refs).append(b.ref)
        if not keep_ref:
            self.delete_ref(b.ref)
        return mark

    def delete_ref(self, ref):
        self.out.write(b"reset %s\nfrom %s\n\n" % (ref.encode(), b"0" * 40))

    def maybe_tag(self):
        every = max(20, self.C // 40)
        if self.main_commits % every:
            return
        r = self.rng
        v = self.version
        if r.random() < 0.25:
            v[0], v[1], v[2] = v[0] + 1, 0, 0
        elif r.random() < 0.6:
            v[1], v[2] = v[1] + 1, 0
        else:
            v[2] += 1
        name = "v%d.%d.%d" % tuple(v)
        self.tag(name, self.main_tip, annotated=r.random() < 0.6)

    def tag(self, name, mark, annotated, message=None):
        w = self.out.write
        if annotated:
            if message is None:
                lines = ["Release %s" % name, ""] + ["- %s" % self.subject([]) for _ in range(self.rng.randrange(2, 7))]
                message = "\n".join(lines) + "\n"
            body = message.encode("utf-8")
            w(b"tag %s\nfrom :%d\ntagger %s\ndata %d\n" % (name.encode(), mark, self.who(self.rng.choice(AUTHORS[:-1])),
                                                          len(body)))
            w(body)
            w(b"\n")
        else:
            w(b"reset refs/tags/%s\nfrom :%d\n\n" % (name.encode(), mark))
        self.tags.append((name, annotated))

    # -- messages --------------------------------------------------------------
    def subject(self, paths, kind="edit"):
        r = self.rng
        v = self.gen.vocab
        noun = r.choice(v.snake).replace("_", " ")
        stem = os.path.splitext(paths[0].rsplit("/", 1)[-1])[0].lstrip(".") if paths else noun
        project = paths[0].split("/", 1)[0].split("-", 1)[-1] if paths else r.choice(gc.APPS)
        if kind == "add":
            return r.choice(["Add %s" % stem, "Add %s %s" % (r.choice(gc.ADJS), noun),
                             "feat(%s): add %s" % (project, stem), "Introduce %s" % stem])
        if kind == "bump":
            pkg = r.choice(gc.NPM_PKGS + gc.CRATES + gc.PYPKGS)
            a = self.gen.fl.fill("«ver»")
            return "Bump %s from %s to %s" % (pkg, a, self.gen.fl.fill("«ver»"))
        if kind == "delete":
            return r.choice(["Remove %s" % stem, "Delete unused %s" % stem, "chore(%s): drop %s" % (project, stem)])
        if kind == "rename":
            return r.choice(["Rename %s" % stem, "Move %s" % stem, "refactor(%s): move %s" % (project, stem)])
        return r.choice([
            "Fix %s %s in %s" % (r.choice(gc.ADJS), noun, stem),
            "Update %s" % stem,
            "Refactor %s" % r.choice(v.funcs),
            "%s %s %s" % (r.choice(gc.VERBS).capitalize(), r.choice(gc.ADJS), noun),
            "fix(%s): %s" % (project, r.choice(v.msgs)),
            "feat(%s): %s %s" % (project, r.choice(gc.VERBS), noun),
            "Handle %s %s in %s" % (r.choice(gc.ADJS), noun, r.choice(v.funcs)),
            "Clean up %s" % stem,
            "Improve %s %s" % (noun, r.choice(["logging", "error handling", "tests", "performance", "docs"])),
        ])

    def message(self, paths, kind="edit"):
        msg = self.subject(paths, kind)
        if self.rng.random() < 0.35:
            body = " ".join(self.rng.choice(self.gen.vocab.sentences) for _ in range(self.rng.randrange(1, 4)))
            msg += "\n\n" + body
        return msg + "\n"

    # -- projects --------------------------------------------------------------
    def import_project(self, budget, first=False):
        r = self.rng
        g = self.gen
        langs = [l for l, _ in gc.LANG_WEIGHTS]
        weights = [w for _, w in gc.LANG_WEIGHTS]
        total = sum(self.lang_bytes.values())
        lang = max(langs, key=lambda l: weights[langs.index(l)] * (total + 1) - self.lang_bytes[l])
        name = "%s-%s" % (r.choice(gc.ORGS), r.choice(gc.APPS))
        while name in self.builders:
            name = "%s-%s-%d" % (r.choice(gc.ORGS), r.choice(gc.APPS), r.randrange(2, 99))
        b = gc.RepoBuilder(g, self.tree, name, lang)
        self.builders[name] = b
        start = self.tree.bytes
        b.root_files()
        bigs = r.choice([0, 1, 1, 2]) if budget > 4 * MIB else 0
        while self.tree.bytes - start < budget:
            room = budget - (self.tree.bytes - start)
            if bigs and room > 1_200_000 and r.random() < 0.02:
                b.big_file(room)
                bigs -= 1
            else:
                b.ordinary_file()
        files = self.tree.sink
        self.tree.sink = []
        self.lang_bytes[lang] += sum(len(c) for _, c in files)
        ops = [("M", rel, content) for rel, content in files]
        msg = "Initial import\n" if first else "Add %s service\n\nImported from the %s repository.\n" % (name, name)
        self.main_commit(r.choice(AUTHORS[:-1]), msg, ops)

    def builder_for(self, path):
        return self.builders[path.split("/", 1)[0]]

    def new_file(self, lang=None):
        """An ordinary new file in a project: (path, content)."""
        r = self.rng
        names = list(self.builders)
        if lang:
            names = [n for n in names if self.builders[n].lang == lang] or names
        b = self.builders[r.choice(names)]
        b.ordinary_file()
        (rel, content), = self.tree.sink
        self.tree.sink = []
        return rel, content

    # -- edits -------------------------------------------------------------------
    def mutate(self, line):
        r = self.rng
        if HEXRUN.search(line) and r.random() < 0.7:
            return HEXRUN.sub(lambda m: "%0*x" % (len(m.group()), r.getrandbits(4 * len(m.group()))), line)
        m = B64RUN.search(line) if ("sha512-" in line or " h1:" in line) else None
        if m and r.random() < 0.7:
            n = len(m.group().rstrip("="))
            new = "".join(r.choice(gc.B64CH) for _ in range(n)) + m.group()[n:]
            return line[:m.start()] + new + line[m.end():]
        if VERSION.search(line):
            return VERSION.sub(lambda m: "%s.%d.%d" % (m.group(1), int(m.group(2)) + r.randrange(0, 2),
                                                       r.randrange(0, 20)), line, count=1)
        m = NUMBER.search(line)
        if m:
            return line[:m.start()] + str(r.choice([1, 2, 3, 5, 8, 10, 16, 20, 30, 50, 60, 100, 120, 128, 250, 256,
                                                    300, 500, 512, 1000, 1024, 2048, 3000, 4096, 5000, 8080, 9000,
                                                    10000])) + line[m.end():]
        return line

    def has_secret(self, text):
        return any(needle in text for needle in self.needles)

    def body_line(self, lines):
        r = self.rng
        for _ in range(12):
            i = r.randrange(len(lines))
            line = lines[i]
            if line[:1] in (" ", "\t") and len(line.strip()) > 3 and not self.has_secret(line):
                return i
        return None

    def new_function(self, lang):
        g = self.gen
        return {"py": g.py_func, "rs": g.rs_func, "go": g.go_func, "java": g.java_method, "js": g.js_func,
                "ts": g.ts_func}[lang]()

    def edit_code(self, text, lang):
        r = self.rng
        fl = self.gen.fl
        stmts = self.gen.stmts["js" if lang == "ts" else lang]
        lines = text.split("\n")
        for _ in range(r.choice((1, 1, 2, 2, 3, 4))):
            roll = r.random()
            i = self.body_line(lines) if roll < 0.75 and len(lines) > 8 else None
            if i is not None:
                line = lines[i]
                ind = line[:len(line) - len(line.lstrip())]
                end = i
                span = r.randrange(1, 7 if roll >= 0.6 else 4)
                while end < len(lines) and end - i < span and lines[end].startswith(ind) and lines[end].strip():
                    end += 1
                if roll < 0.6:
                    new = "\n".join(gc.indent(fl.fill(r.choice(stmts)), ind) for _ in range(r.randrange(1, 4)))
                    if roll < 0.38:
                        lines[i:end] = new.split("\n")  # replace some statements
                    else:
                        lines[i + 1:i + 1] = new.split("\n")  # insert statements
                else:
                    del lines[i:end]  # delete some statements
                continue
            block = self.new_function(lang).rstrip("\n").split("\n")
            if lang == "java":
                j = len(lines) - 1
                while j > 0 and lines[j].strip() != "}":
                    j -= 1
                lines[j:j] = [""] + block if j > 0 else block
                continue
            cut = None
            if r.random() < 0.4:
                for _ in range(8):
                    k = r.randrange(1, len(lines))
                    if not lines[k - 1].strip() and lines[k][:1].isalpha():
                        cut = k
                        break
            if cut is None:
                while lines and not lines[-1].strip():
                    lines.pop()
                lines += [""] + block + [""]
            else:
                lines[cut:cut] = block + [""]
        return "\n".join(lines)

    def chunk(self, path, size):
        """New lines of the kind of `path`'s file (None if it has no generator)."""
        g = self.gen
        ctx = self.builder_for(path).ctx
        base = path.rsplit("/", 1)[-1]
        ext = os.path.splitext(base)[1]
        if base.startswith(".env"):
            return "\n".join(g.dotenv(size, ctx).split("\n")[5:])
        make = {".sh": g.shell, ".sql": g.sql, ".css": g.css, ".properties": g.properties, ".md": g.markdown,
                ".yaml": g.yaml, ".yml": g.yaml}.get(ext)
        if base in ("yarn.lock", "Cargo.lock", "poetry.lock", "go.sum"):
            make = {"yarn.lock": g.yarn_lock, "Cargo.lock": g.cargo_lock, "poetry.lock": g.poetry_lock,
                    "go.sum": g.go_sum}[base]
        if make is None:
            return None
        lines = make(size, ctx).split("\n")
        skip = {".md": 3, ".sh": 5, ".yaml": 0, ".yml": 0}.get(ext, 1)
        if base.endswith(".lock"):
            skip = 3
        return "\n".join(lines[skip:]).strip("\n")

    def edit_text(self, path, text, cls):
        r = self.rng
        g = self.gen
        lines = text.split("\n")
        roll = r.random()
        if cls == "fixture" and roll < 0.6:
            recs = g.json_fixture(r.randrange(600, 6000), self.builder_for(path).ctx)
            recs = recs.strip()[1:-1].strip("\n")
            body = text.rstrip()
            if body.endswith("]"):
                return body[:-1].rstrip() + ",\n" + recs + "\n]\n"
        if cls in ("lock", "md", "yaml", "text") and roll < (0.3 if cls == "lock" else 0.5):
            add = self.chunk(path, r.randrange(300, 3000) if cls != "lock" else r.randrange(500, 5000))
            if add:
                return text.rstrip("\n") + "\n" + ("\n" if cls in ("md", "yaml") else "") + add + "\n"
        if cls in ("md", "yaml", "text") and roll > 0.9 and len(lines) > 20:
            i = r.randrange(len(lines) - 3)
            j = i + r.randrange(1, 4)
            if not self.has_secret("\n".join(lines[i:j])):
                del lines[i:j]
                return "\n".join(lines)
        if cls == "md" and len(lines) > 3:
            for _ in range(r.randrange(1, 4)):
                i = r.randrange(len(lines))
                if lines[i][:1].isalpha() and not self.has_secret(lines[i]):
                    lines[i] = g.fl.fill("«S» «S»")
        n = max(1, int(len(lines) * r.uniform(0.005, 0.04))) if cls == "lock" else r.randrange(1, 5)
        for _ in range(n):
            i = r.randrange(len(lines))
            if not self.has_secret(lines[i]):
                lines[i] = self.mutate(lines[i])
        new = "\n".join(lines)
        if new == text and cls != "json":
            ext = os.path.splitext(path)[1]
            comment = COMMENT.get(ext, "# ")
            line = g.fl.fill("«S»")
            new = text.rstrip("\n") + "\n" + (comment % line if "%s" in comment else comment + line) + "\n"
        return new if new != text else None

    def edit(self, path, data):
        """A new version of `path` (None if this file cannot change)."""
        r = self.rng
        g = self.gen
        cls = file_class(path)
        if cls == "png":
            return g.png(max(600, int(len(data) * r.uniform(0.8, 1.25))), None)
        if cls == "minjs":
            text = g.minified(max(1000, int(len(data) * r.uniform(0.95, 1.06))), self.builder_for(path).ctx)
            g.minjs_bytes += len(text)
            return text
        if cls == "code":
            return self.edit_code(data, CODE_LANG[os.path.splitext(path)[1]])
        return self.edit_text(path, data, cls)

    # -- picking files -----------------------------------------------------------
    def editable(self, path, touched=()):
        if path in self.locked or path in self.protected or path in touched:
            return False
        if path.endswith(".min.js") and self.gen.minjs_bytes > gc.MINJS_SHARE * self.T:
            return False
        return True

    def worth_editing(self, path, touched=()):
        """editable, and drawn by how often such files change: code most,
        images and fixtures seldom."""
        return self.editable(path, touched) and self.rng.random() < EDIT_ODDS.get(file_class(path), 1.0)

    def per_file_target(self, k):
        left = max(1, self.C - self.ncommits)
        need = max(800.0, (self.T - self.unique_bytes) / left)
        return max(300.0, min(4e6, need / k * self.rng.lognormvariate(0, 0.7)))

    def pick(self, k, touched=()):
        return self.index.pick(self.rng, self.per_file_target(k), lambda p: self.worth_editing(p, touched))

    def rename_target(self, path):
        r = self.rng
        d, base = path.rsplit("/", 1)
        stem, ext = os.path.splitext(base)
        for _ in range(20):
            if base.startswith(".") or r.random() < 0.4:
                new = "%s/%s/%s" % (d, r.choice(["legacy", "internal", "common", "v2", "old"]), base)
            else:
                new = "%s/%s%s" % (d, r.choice(self.gen.vocab.snake), ext)
            if new not in self.tree.counts:
                self.tree.counts[new] = 1
                return new
        return None

    # -- routine commits -------------------------------------------------------------
    def routine_main(self):
        r = self.rng
        k = r.choices((1, 2, 3, 4, 5), (30, 25, 20, 13, 12))[0]
        ops = []
        touched = set()
        kind = "edit"
        author = r.choice(AUTHORS)
        for _ in range(k):
            roll = r.random()
            if roll < 0.10 and author != AUTHORS[-1]:
                rel, content = self.new_file()
                ops.append(("M", rel, content))
                touched.add(rel)
                kind = "add" if len(ops) == 1 else kind
                continue
            if roll < 0.125 and len(self.main) > 50:
                p = self.index.pick(r, r.lognormvariate(8.5, 1.0), lambda p: self.editable(p, touched))
                if p:
                    ops.append(("D", p))
                    touched.add(p)
                    kind = "delete" if len(ops) == 1 else kind
                    continue
            if roll < 0.15 and len(self.main) > 50:
                p = self.index.pick(r, r.lognormvariate(8.5, 1.0), lambda p: self.editable(p, touched))
                new = self.rename_target(p) if p else None
                if new:
                    ops.append(("R", p, new))
                    touched.update((p, new))
                    if r.random() < 0.5:
                        data = self.edit(new, self.main[p][0])
                        if data is not None:
                            ops.append(("M", new, data))
                    kind = "rename" if len(ops) <= 2 else kind
                    continue
            p = self.pick(k, touched)
            if p is None:
                continue
            data = self.edit(p, self.main[p][0])
            if data is None:
                continue
            ops.append(("M", p, data))
            touched.add(p)
            if len(ops) == 1 and file_class(p) == "lock":
                kind = "bump"
        if not ops:
            p = self.pick(1)
            if p is None:
                rel, content = self.new_file()
                ops.append(("M", rel, content))
            else:
                data = self.edit(p, self.main[p][0])
                ops.append(("M", p, data if data is not None else self.main[p][0] + "\n"))
        if kind == "bump":
            author = AUTHORS[-1]
        paths = [op[1] for op in ops]
        return self.main_commit(author, self.message(paths, kind), ops)

    def open_branch(self):
        r = self.rng
        b = self.new_branch(r.choice(["feature", "feature", "fix", "chore", "refactor"]))
        b.remaining = r.randrange(1, 9)
        for _ in range(r.randrange(1, 5)):
            p = self.pick(2)
            if p is not None:
                b.locked.append(p)
                self.locked.add(p)
        if not b.locked:
            return None
        self.open.append(b)
        return b

    def routine_branch_commit(self, b):
        r = self.rng
        ops = []
        for p in r.sample(b.locked, min(len(b.locked), r.randrange(1, 4))):
            data = self.edit(p, self.branch_data(b, p))
            if data is not None:
                ops.append(("M", p, data))
        if r.random() < 0.12 or not ops:
            rel, content = self.new_file()
            ops.append(("M", rel, content))
        b.remaining -= 1
        return self.branch_commit(b, self.message([op[1] for op in ops]), ops)

    def step(self):
        r = self.rng
        finished = [b for b in self.open if b.remaining <= 0]
        active = [b for b in self.open if b.remaining > 0]
        if finished and r.random() < 0.4:
            return self.merge(finished[0])
        if active and r.random() < 0.35:
            return self.routine_branch_commit(r.choice(active))
        if (len(self.open) < 3 and self.ncommits < 0.97 * self.C and r.random() < 0.06
                and self.open_branch() is not None):
            return None
        return self.routine_main()

    # -- scheduling ---------------------------------------------------------------
    def at(self, when, fn):
        self.seq += 1
        heapq.heappush(self.events, (when, self.seq, fn))

    def run(self):
        r = self.rng
        C = self.C
        nprojects = max(5, min(14, round(self.T / MIB / 90)))
        budgets = [self.T * 0.06 / nprojects * r.uniform(0.6, 1.4) for _ in range(nprojects)]
        budgets = [max(150_000, int(b)) for b in budgets]
        # Two projects in the first commit, the others over the first 60% of the history.
        self.import_project(budgets[0], first=True)
        self.at(1, lambda: self.import_project(budgets[1]))
        for i in range(2, nprojects):
            self.at(int(C * 0.6 * (i - 1) / (nprojects - 1)), lambda b=budgets[i]: self.import_project(b))
        plants = gc.make_plants(self.plant_rng)
        plants.append(("message", None, None))
        self.needles = [needle for _, _, secrets in plants if secrets for _, _, needle in secrets]
        n = len(plants)
        for i, plant in enumerate(plants):
            when = int(C * (0.04 + 0.8 * (i + 0.5) / n))
            scenario = ("message", None) if plant[0] == "message" else SCENARIOS[i % len(SCENARIOS)]
            self.at(when, lambda p=plant, s=scenario: self.plant(p, s))
        while self.ncommits < C:
            if self.events and self.events[0][0] <= self.ncommits:
                _, _, fn = heapq.heappop(self.events)
                fn()
                continue
            self.step()
        if self.ncommits != C:
            raise AssertionError("made %d commits instead of %d" % (self.ncommits, C))
        for b in self.open:
            self.kept_refs.append(b.ref)

    # -- planted secrets ------------------------------------------------------------
    def record(self, secrets, path, text, mark, scenario, ref):
        entries = []
        for kind, rule_id, needle in secrets:
            line, col = gc.line_of(text, needle)
            e = {"kind": kind, "rule_id": rule_id, "scenario": scenario, "commit": mark, "ref": ref,
                 "path": path, "line": line, "column": col, "events": []}
            if kind != "private-key":
                e["secret"] = needle
            self.manifest.append(e)
            entries.append(e)
        return entries

    def builder_of_kind(self, file_kind):
        lang = NATIVE.get(file_kind)
        names = [n for n in self.builders if self.builders[n].lang == lang] if lang else []
        return self.builders[self.rng.choice(names or list(self.builders))]

    def existing_file(self, file_kind):
        """An existing, editable file on main for inserting a snippet of `file_kind`."""
        ext = KIND_EXT.get(file_kind)
        if ext is None:
            return None
        lang = NATIVE.get(file_kind)
        cands = [p for p, rec in self.main.items()
                 if p.endswith(ext) and 1500 < rec[2] < 60000 and self.editable(p)
                 and not p.endswith(".min.js") and not p.endswith("README.md")]
        native = [p for p in cands if lang and self.builder_for(p).lang == lang]
        cands = native or cands
        return self.rng.choice(cands) if cands else None

    def insert_snippet(self, path, text, file_kind, snippet):
        b = self.builder_for(path)
        return b._insert(path, text, snippet, java=(file_kind == "java"), md=(file_kind == "md"))[1]

    def planted_new_file(self, file_kind, snippet):
        b = self.builder_of_kind(file_kind)
        rel, text = b.planted_file(file_kind, snippet)
        rel, _ = b.write(rel, text)
        self.tree.sink = []
        return rel, text

    def side_edits(self, n, touched):
        ops = []
        for _ in range(n):
            p = self.pick(2, touched)
            if p is None:
                continue
            data = self.edit(p, self.main[p][0])
            if data is not None:
                ops.append(("M", p, data))
                touched.add(p)
        return ops

    def plant(self, plant, scenario):
        r = self.rng
        how, later = scenario
        file_kind, snippet, secrets = plant
        author = r.choice(AUTHORS[:-1])
        if how == "message":
            token = gc.github_token(self.plant_rng)
            ops = self.side_edits(r.randrange(1, 3), set()) or [("M",) + self.new_file()]
            msg = ("Rotate the release bot token\n\nThe old token %s leaked in a CI log and was revoked;\n"
                   "the new one is in the vault.\n" % token)
            mark = self.main_commit(author, msg, ops)
            e = self.record([("github-pat", "github-pat", token)], None, msg, mark, "message", "refs/heads/main")[0]
            e["path"] = "COMMIT_MSG@"  # the commit id is known after the import
            return
        if how in ("insert", "feature"):
            path = self.existing_file(file_kind)
        else:
            path = None
        if how == "add" or (how == "insert" and path is None):
            rel, text = self.planted_new_file(file_kind, snippet)
            ops = [("M", rel, text)] + self.side_edits(r.randrange(0, 2), {rel})
            mark = self.main_commit(author, self.message([rel], "add"), ops)
            self.after_plant(self.record(secrets, rel, text, mark, how, "refs/heads/main"), rel, snippet, later)
            return
        if how == "insert":
            text = self.insert_snippet(path, self.main[path][0], file_kind, snippet)
            ops = [("M", path, text)] + self.side_edits(r.randrange(0, 2), {path})
            mark = self.main_commit(author, self.message([path]), ops)
            self.after_plant(self.record(secrets, path, text, mark, how, "refs/heads/main"), path, snippet, later)
            return
        if how == "feature":
            b = self.new_branch("feature", author)
            if path is None:
                rel, text = self.planted_new_file(file_kind, snippet)
                path = rel
            else:
                b.locked.append(path)
                self.locked.add(path)
                text = None
            self.routine_branch_commit(b)
            self.routine_main()
            if text is None:
                text = self.insert_snippet(path, self.branch_data(b, path), file_kind, snippet)
            mark = self.branch_commit(b, self.message([path]), [("M", path, text)])
            entries = self.record(secrets, path, text, mark, how, b.ref)
            self.routine_main()
            self.routine_branch_commit(b)
            self.merge(b)
            self.after_plant(entries, path, snippet, later)
            return
        if how == "spike":
            b = self.new_branch("spike", author)
            rel, content = self.new_file()
            self.branch_commit(b, self.message([rel], "add"), [("M", rel, content)])
            self.routine_main()
            rel, text = self.planted_new_file(file_kind, snippet)
            mark = self.branch_commit(b, self.message([rel], "add"), [("M", rel, text)])
            entries = self.record(secrets, rel, text, mark, how, b.ref)
            tag = "archive/%s" % b.name.replace("/", "-")
            self.tag(tag, mark, annotated=True,
                     message="Archive %s before deleting the branch\n" % b.name)
            self.delete_ref(b.ref)
            self.deleted_refs.append(b.ref)
            for e in entries:
                e["tag"] = tag
            return
        if how == "merge":
            # A file both sides change; the merge resolution adds the secret.
            cands = [p for p in self.main if (p.endswith("/docker-compose.yml") or p.endswith("/.github/workflows/ci.yml"))
                     and self.editable(p)]
            cands.sort(key=lambda p: not p.endswith("docker-compose.yml"))
            path = cands[0] if cands else None
            b = self.new_branch("feature", author)
            if path is None:
                rel, text0 = self.planted_new_file("compose-url", "")
                path = rel
                self.main_commit(author, self.message([rel], "add"), [("M", rel, text0)])
            b.locked.append(path)
            self.locked.add(path)
            self.branch_commit(b, self.message([path]), [("M", path, self.edit(path, self.main[path][0])
                                                           or self.main[path][0] + "\n")])
            main_text = self.edit(path, self.main[path][0]) or self.main[path][0] + "# local\n"
            self.main_commit(author, self.message([path]), [("M", path, main_text)])
            theirs = self.branch_data(b, path)
            anchor = "    environment:\n" if "    environment:\n" in theirs else "    env:\n"
            if anchor in theirs:
                text = theirs.replace(anchor, anchor + snippet + "\n", 1)
            else:
                text = theirs.rstrip("\n") + "\n" + snippet + "\n"
            del b.overlay[path]
            mark = self.merge(b, extra=[("M", path, text)],
                              msg="Merge branch '%s'\n\nConflicts:\n\t%s\n" % (b.name, path))
            entries = self.record(secrets, path, text, mark, how, "refs/heads/main")
            self.after_plant(entries, path, snippet, later)
            return
        raise AssertionError("unknown scenario %s" % how)

    def after_plant(self, entries, path, snippet, later):
        if later == "persist":
            # Every later version of the file keeps the secret: edit it twice for sure.
            for i in (1, 2):
                self.at(self.ncommits + i * max(2, self.C // 200), lambda: self.follow(entries, "edit", snippet))
            return
        self.protected.add(path)
        for e in entries:
            e["_path_now"] = path
        if later is None:
            return
        when = min(self.ncommits + max(3, int(self.C * self.rng.uniform(0.01, 0.05))), int(self.C * 0.95))
        self.at(when, lambda: self.follow(entries, later, snippet))

    def follow(self, entries, later, snippet):
        r = self.rng
        path = entries[0].get("_path_now", entries[0]["path"])
        author = r.choice(AUTHORS[:-1])
        if path not in self.main:
            return
        if path in self.locked:
            self.at(self.ncommits + 5, lambda: self.follow(entries, later, snippet))
            return
        if later == "edit":
            data = self.edit(path, self.main[path][0])
            if data is None or snippet.split("\n")[0] not in data:
                data = self.main[path][0].rstrip("\n") + "\n" + self.gen.fl.fill("# «S»") + "\n"
            mark = self.main_commit(author, self.message([path]), [("M", path, data)])
            event = "edited, secret kept"
        elif later in ("remove", "rebuild"):
            text = self.main[path][0]
            if later == "rebuild" and file_class(path) == "minjs":
                new = self.edit(path, text)
                event = "bundle rebuilt, secret gone"
            else:
                new = text.replace(snippet + "\n\n", "", 1) if snippet + "\n\n" in text else text.replace(snippet + "\n", "", 1)
                event = "secret lines removed"
            if new == text:
                raise AssertionError("could not remove the planted snippet from %s" % path)
            ops = [("M", path, new)] + self.side_edits(r.randrange(0, 2), {path})
            mark = self.main_commit(author, "Remove hardcoded credentials from %s\n" % path.rsplit("/", 1)[-1], ops)
            self.protected.discard(path)
        elif later == "delete":
            mark = self.main_commit(author, self.message([path], "delete"), [("D", path)])
            self.protected.discard(path)
            event = "file deleted"
        elif later == "rename":
            new = self.rename_target(path)
            mark = self.main_commit(author, self.message([path], "rename"), [("R", path, new)])
            self.protected.discard(path)
            self.protected.add(new)
            for e in entries:
                e["_path_now"] = new
            path = new
            event = "file renamed"
        else:
            raise AssertionError(later)
        for e in entries:
            e["events"].append({"event": event, "commit": mark, "path": path})


def read_marks(path):
    marks = {}
    with open(path, "r", encoding="ascii") as fh:
        for line in fh:
            mark, sha = line.split()
            marks[int(mark[1:])] = sha
    return marks


def generate(out_repo, args):
    tmp = out_repo + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", tmp], check=True)
    marks_path = os.path.join(tmp, "fast-import.marks")
    proc = subprocess.Popen(["git", "-C", tmp, "fast-import", "--quiet", "--done", "--active-branches=64",
                             "--export-marks=" + marks_path], stdin=subprocess.PIPE)
    out = proc.stdin
    out.write(b"feature done\n")
    hist = History(out, args.commits, args.size_mb, args.seed, args.keyword_density, args.quiet)
    try:
        hist.run()
        out.write(b"done\n")
        out.close()
    except BrokenPipeError:
        pass
    if proc.wait() != 0:
        raise SystemExit("gen-history.py: git fast-import failed (exit %d)" % proc.returncode)
    marks = read_marks(marks_path)
    os.remove(marks_path)
    for e in hist.manifest:
        e.pop("_path_now", None)
        e["commit"] = marks[e["commit"]]
        if e["path"] == "COMMIT_MSG@":
            e["path"] = "COMMIT_MSG@" + e["commit"][:12]
        for ev in e["events"]:
            ev["commit"] = marks[ev["commit"]]
    return tmp, hist


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out_repo", metavar="OUT_REPO")
    ap.add_argument("--commits", type=int, default=20000, help="number of commits (default 20000; at least 200)")
    ap.add_argument("--size-mb", type=float, default=1024.0,
                    help="unique blob bytes to reach, in MiB (default 1024)")
    ap.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    ap.add_argument("--keyword-density", choices=["real", "heavy"], default="real",
                    help="passed to gen-corpus.py's generators (default real)")
    ap.add_argument("--force", action="store_true", help="regenerate even if OUT_REPO is up to date")
    ap.add_argument("--quiet", action="store_true", help="no progress on stderr")
    args = ap.parse_args(argv)
    if args.commits < 200:
        ap.error("--commits must be at least 200")
    if args.size_mb <= 0:
        ap.error("--size-mb must be positive")

    out_repo = os.path.abspath(args.out_repo.rstrip("/"))
    manifest_path = out_repo + ".planted.json"
    generator = generator_hash()
    params = {"generator_sha256": generator, "seed": args.seed, "commits": args.commits,
              "size_mb": args.size_mb, "keyword_density": args.keyword_density}
    if os.path.exists(out_repo):
        current = None
        try:
            with open(manifest_path, "r", encoding="utf-8") as fh:
                doc = json.load(fh)
            current = {k: doc.get(k) for k in params}
        except (OSError, ValueError):
            pass
        if current == params and not args.force:
            if not args.quiet:
                print("gen-history: %s is up to date" % args.out_repo, file=sys.stderr)
            return 0
        if current is None and not args.force:
            ap.error("%s exists and has no gen-history manifest (use --force to replace it)" % args.out_repo)

    start = time.time()
    tmp, hist = generate(out_repo, args)
    if os.path.exists(manifest_path):
        os.remove(manifest_path)
    shutil.rmtree(out_repo, ignore_errors=True)
    os.rename(tmp, out_repo)
    doc = dict(params)
    doc.update({
        "repo": os.path.basename(out_repo),
        "unique_blob_bytes": hist.unique_bytes,
        "unique_blobs": hist.unique_blobs,
        "merges": hist.merges,
        "main_commits": hist.main_commits,
        "files_at_head": len(hist.main),
        "tags": [name for name, _ in hist.tags],
        "kept_branches": sorted(ref[len("refs/heads/"):] for ref in hist.kept_refs) + ["main"],
        "deleted_branches": len(hist.deleted_refs),
        "planted": hist.manifest,
    })
    with open(manifest_path + ".tmp", "w", encoding="utf-8") as fh:
        json.dump(doc, fh, indent=2)
        fh.write("\n")
    os.rename(manifest_path + ".tmp", manifest_path)
    if not args.quiet:
        print("gen-history: %d commits (%d merges), %d unique blobs, %.1f MiB, %d planted secrets in %.1fs -> %s"
              % (args.commits, hist.merges, hist.unique_blobs, hist.unique_bytes / MIB, len(hist.manifest),
                 time.time() - start, args.out_repo), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
