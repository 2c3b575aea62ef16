#!/usr/bin/env python3
"""Generate a deterministic, realistic source tree for whole-CLI benchmarks.

Usage:
    scripts/gen-corpus.py OUT_DIR [--size-mb 200] [--seed 1] [--files-per-dir 200]
                          [--keyword-density real|heavy] [--manifest FILE] [--force]

Writes about SIZE_MB megabytes (MiB) of code-like files under OUT_DIR: several
"repositories" (Python, Rust, Node/TypeScript, Go, Java), each with nested
source directories, tests, docs, CI and deploy YAML, Dockerfiles, .env files,
lock files (package-lock.json, yarn.lock, Cargo.lock, poetry.lock, go.sum),
minified JS bundles with very long lines, JSON fixtures, a few 1-2 MB files,
many 1-10 KB files and some binary images. The text has what secret
scanners key on without being secrets (`api_key = os.environ[...]`, `token`,
`password`, `task-runner`, AWS documentation keys, UUIDs, sha256 hashes,
`"integrity": "sha512-..."`), so a scanner's prefilter works as on real code.

--keyword-density real (the default) keeps the keywords (key, secret, token,
passwd, password, pwd, credential, auth: any case, inside words too) as
frequent as in real code: some 2.4% of the lines have one and hold 4% of the
bytes (cargo registry sources, the CPython standard library: 2.2-2.4% of the
lines, 3.8% of the bytes). They appear as nouns in identifiers and comments
less than 1% of the time; generic uses (`for key, value in`, `contains_key`,
`tokens`, `author`) and credential-shaped ones (`api_key = os.environ[...]`,
`Authorization: Bearer`, `password_hash`, secretKeyRef, .env files) are rare
statements and blocks; minified bundles, each of whose huge lines has one, as
in real bundles, stay at about 1.5% of the bytes at most.
--keyword-density heavy is the earlier stress corpus, some ten times denser
(about 20% of the lines, 35% of the bytes): the same files as this script
wrote before the option existed.

About 20 fake secrets are planted at deterministic places (DeepSeek, AWS key
id + secret key, GitHub ghp_ with a valid CRC32 checksum, Slack xoxb-, Stripe
sk_live_, Google AIza, an RSA private key block, a postgres URL with a
password). They are listed in OUT_DIR/../<basename>.planted.json (or
--manifest FILE) as {"kind", "rule_id", "path", "line", "column", "secret"}
with paths relative to OUT_DIR and 1-based lines and columns (no "secret" for
the private key blocks: "line" and "column" give their BEGIN line).

The same --seed, --size-mb, --files-per-dir and --keyword-density always give
byte-identical output (for one version of this script, whose sha256 the
manifest records as "generator_sha256"). Python 3 standard library only.
"""

import argparse
import base64
import hashlib
import json
import os
import random
import re
import shutil
import sys
import time
import zlib

MIB = 1024 * 1024

# --------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------

NOUNS = """user account order invoice payment session token key secret password
auth config cache client request response handler queue task job worker event
message record item product customer report metric file path buffer stream
schema model service repository controller manager provider factory builder
credential permission role group tenant project region bucket object upload
download webhook callback subscription plan price coupon cart checkout address
email phone profile avatar image thumbnail document page index query filter
result error status state context option setting feature flag rule policy
audit log trace span timer retry limit quota rate window batch chunk offset
cursor header body payload signature digest hash nonce salt cipher certificate
connection pool transaction migration table column row field value entry node
edge graph tree list map set array vector matrix tensor dataset sample label
label score weight layer input output device host port endpoint route url
domain proxy gateway channel topic partition consumer producer broker store
snapshot backup volume disk memory cpu thread process signal lock mutex
version release build artifact package module plugin extension theme locale
translation template view component widget form button modal dialog menu tab
notification alert email_address api_key access_token refresh_token client_id
client_secret private_key public_key secret_key auth_token session_id""".split()

VERBS = """get set load save fetch parse build create update delete validate
handle process compute render encode decode refresh rotate sign verify send
receive read write open close start stop run init reset apply merge split
sort filter map reduce find search match lookup resolve register unregister
subscribe publish enqueue dequeue schedule cancel retry flush sync commit
rollback connect disconnect authenticate authorize login logout hash encrypt
decrypt compress decompress serialize deserialize format normalize sanitize
escape convert transform export import upload download notify emit dispatch
collect aggregate count measure report track wrap unwrap check ensure""".split()

ADJS = """default max min current new old raw parsed cached pending active
inactive primary secondary local remote internal external public private
temp base full partial initial final next prev last first global shared
unique valid invalid expired signed encrypted compressed async sync
batch lazy stale fresh dirty clean""".split()

ORGS = """acme globex initech umbrella hooli piedpiper stark wayne wonka
tyrell cyberdyne aperture soylent oscorp vandelay dunder""".split()

APPS = """billing inventory checkout auth gateway notifier scheduler ledger
catalog search analytics payments identity storage mailer reporting
orders shipping pricing accounts audit metrics webhooks uploader""".split()

# Environment variable names: an app or service name, then one of these.
ENV_TAILS = ["API_KEY", "TOKEN", "SECRET", "PASSWORD", "URL", "HOST", "PORT",
             "ACCESS_KEY_ID", "SECRET_ACCESS_KEY", "AUTH_TOKEN", "CLIENT_ID",
             "CLIENT_SECRET", "TIMEOUT", "REGION", "BUCKET", "DSN", "USER",
             "SIGNING_KEY", "WEBHOOK_SECRET", "LOG_LEVEL", "ENABLED"]

# Words that contain scanner keywords without being secrets ("sk-" inside
# task-, disk-, risk-, mask-, desk-; "key", "token", "auth", ...).
KEYWORDISH = """task-runner task-queue disk-usage risk-score mask-image desk-app
flask-app ask-question kiosk-mode dusk-theme whisk-cli tusk-migrations
task-scheduler disk-cache risk-engine mask-size monkey-patch hotkey-bar
keyboard-nav keyframe-anim tokenizer-fast authz-proxy oauth-callback
secretary-bot passwordless-login""".split()

# AKIA-like upper-case words and AWS documentation values (allowlisted by the
# "example" stopword in real scanners).
UPPERISH = ["ASIA_PACIFIC_SOUTHEAST", "ASIA_NORTHEAST_1", "AKIA_PREFIX", "ABIAS_LIMIT",
            "ACCA_COMPLIANCE_MODE", "AKIAIOSFODNN7EXAMPLE", "ASIAIOSFODNN7EXAMPLE",
            "A3TEST_RUNNER_MODE", "ACCOUNT_ID_LENGTH", "ASIA_REGION_CODES"]
AWS_DOC_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

SENTENCE_STARTS = ["Returns the", "Builds a", "Loads the", "Checks whether the",
                   "Creates a new", "Updates the", "Parses the", "Handles the",
                   "Validates the", "Computes the", "Resolves the", "Refreshes the",
                   "Stores the", "Reads the", "Writes the", "Deletes the"]
SENTENCE_TAILS = ["for the given", "from the", "into the", "with the current",
                  "before sending the", "after the", "using the cached", "if the",
                  "when the", "and caches the", "without touching the", "for each"]
TODOS = ["TODO", "FIXME", "NOTE", "XXX", "HACK", "TODO(perf)", "TODO(security)"]

DOMAINS = ["example.com", "internal.local", "svc.cluster.local", "api.acme.io",
           "staging.acme.io", "localhost", "corp.example.org"]

NPM_PKGS = """react react-dom lodash express axios moment dayjs chalk commander
debug ms semver uuid yargs minimist glob rimraf mkdirp webpack babel-loader
typescript eslint prettier jest mocha chai sinon supertest dotenv cors
body-parser cookie-parser jsonwebtoken bcryptjs passport passport-jwt
mongoose sequelize pg redis ioredis bull socket.io ws graphql apollo-server
next vue vuex rxjs zone.js tslib core-js regenerator-runtime postcss
autoprefixer tailwindcss sass less css-loader style-loader file-loader
url-loader terser source-map acorn esbuild rollup vite vitest @babel/core
@babel/preset-env @types/node @types/react @types/express ts-node nodemon
winston pino morgan helmet joi zod yup date-fns classnames immer redux
react-redux react-router react-router-dom styled-components emotion""".split()

CRATES = """serde serde_json tokio anyhow thiserror clap regex rand log
env_logger tracing tracing-subscriber futures bytes hyper reqwest url
chrono uuid once_cell lazy_static itertools rayon crossbeam parking_lot
memchr aho-corasick base64 sha2 hmac ring rustls tokio-util tower axum
sqlx diesel toml walkdir tempfile criterion proptest indexmap smallvec
hashbrown libc cfg-if bitflags syn quote proc-macro2""".split()

PYPKGS = """requests urllib3 certifi idna charset-normalizer flask django
fastapi uvicorn pydantic sqlalchemy alembic psycopg2-binary redis celery
boto3 botocore s3transfer jmespath python-dateutil six pytz numpy pandas
scipy pytest pytest-cov coverage black isort mypy ruff click jinja2
markupsafe itsdangerous werkzeug gunicorn pyyaml cryptography cffi
pycparser pyjwt passlib bcrypt httpx anyio sniffio h11 attrs""".split()

GOMODS = """github.com/gin-gonic/gin github.com/spf13/cobra github.com/spf13/viper
github.com/stretchr/testify go.uber.org/zap github.com/google/uuid
github.com/lib/pq github.com/go-redis/redis/v8 golang.org/x/crypto
golang.org/x/net golang.org/x/sync google.golang.org/grpc
google.golang.org/protobuf github.com/prometheus/client_golang
github.com/aws/aws-sdk-go-v2 github.com/golang-jwt/jwt/v5
github.com/jackc/pgx/v5 github.com/sirupsen/logrus""".split()


# What --keyword-density measures: a line with one of these (any case) is a
# "keyword line", as for a secret scanner's keyword prefilter.
KEYWORD = re.compile(r"(?i)key|secret|token|passwd|password|pwd|credential|auth")

# --keyword-density real: extra nouns with a keyword used as real code uses
# them (map keys, parser tokens, authors), drawn among the rare keyword nouns.
GENERIC_KW_NOUNS = """keys key_name sort_key primary_key keyword token_kind tokens
author authors""".split()


def dilute(items, share, keyword=KEYWORD.search):
    """The items, as a list to pick from uniformly, with those matching
    `keyword` (in all) drawn with probability about `share`: the others are
    repeated. Unchanged if all or none match."""
    hot = [i for i in items if keyword(i)]
    cold = [i for i in items if not keyword(i)]
    if not hot or not cold:
        return list(items)
    repeat = max(1, round(len(hot) * (1 - share) / (share * len(cold))))
    return cold * repeat + hot


def template_keyword(template):
    """Whether a template's lines will contain a keyword: its literal text
    does, or it names an environment variable (mostly ..._KEY, ..._TOKEN)."""
    return "«E»" in template or KEYWORD.search(PLACEHOLDER.sub("", template)) is not None


def snake(words):
    return "_".join(words)


def camel(words):
    return words[0] + "".join(w[:1].upper() + w[1:] for w in words[1:])


def pascal(words):
    return "".join(w[:1].upper() + w[1:] for w in words)


class Vocab:
    """Pre-drawn identifier pools: choosing from a list is much faster than
    building a fresh identifier every time."""

    def __init__(self, rng, real=False):
        self.rng = rng
        # heavy: every noun equally likely, so some 8% of the identifiers and
        # 15% of the comments carry a credential word; real: under 1%.
        self.nouns = dilute(NOUNS + GENERIC_KW_NOUNS, 0.004) if real else NOUNS
        self.verbs = verbs = dilute(VERBS, 0.005) if real else VERBS  # authenticate, authorize
        # real: more HOST/PORT/URL settings than keys and tokens.
        self.env_tails = dilute(ENV_TAILS, 0.35) if real else ENV_TAILS
        nouns = [n.replace("_", " ").split() for n in self.nouns]
        combos = []
        for _ in range(4000):
            shape = rng.random()
            if shape < 0.35:
                words = rng.choice(nouns)
            elif shape < 0.75:
                words = [rng.choice(ADJS)] + rng.choice(nouns)
            elif shape < 0.9:
                words = [rng.choice(verbs)] + rng.choice(nouns)
            else:
                words = rng.choice(nouns) + rng.choice(nouns)
            combos.append(words)
        self.snake = [snake(w) for w in combos]
        self.camel = [camel(w) for w in combos]
        self.pascal = [pascal(w) for w in combos]
        self.upper = [snake(w).upper() for w in combos]
        self.funcs = [snake([rng.choice(verbs)] + rng.choice(nouns)) for _ in range(3000)]
        self.cfuncs = [camel([rng.choice(verbs)] + rng.choice(nouns)) for _ in range(3000)]
        self.sentences = [self._sentence() for _ in range(2500)]
        self.msgs = [self._msg() for _ in range(1500)]
        self.env_names = [self._env_name() for _ in range(600)]

    def _sentence(self):
        r = self.rng
        nouns = self.nouns
        s = "%s %s %s %s %s" % (r.choice(SENTENCE_STARTS), r.choice(nouns).replace("_", " "),
                                r.choice(SENTENCE_TAILS), r.choice(ADJS),
                                r.choice(nouns).replace("_", " "))
        if r.random() < 0.3:
            s += ", %s %s" % (r.choice(["unless the", "so that the", "because the", "or the"]),
                              r.choice(nouns).replace("_", " ") + " " + r.choice(["is missing", "has expired",
                                                                                  "was rotated", "is cached",
                                                                                  "changes", "is invalid"]))
        return s + "."

    def _msg(self):
        r = self.rng
        return "%s %s %s" % (r.choice(["failed to", "could not", "unable to", "will", "cannot",
                                       "started to", "finished to", "retrying to"]),
                             r.choice(self.verbs), r.choice(self.nouns).replace("_", " "))

    def _env_name(self):
        r = self.rng
        base = r.choice([a.upper() for a in APPS] + ["APP", "SERVICE", "DB", "REDIS", "AWS",
                                                       "GITHUB", "SLACK", "STRIPE", "OPENAI",
                                                       "SENTRY", "DATADOG", "SMTP", "S3", "JWT"])
        return base + "_" + r.choice(self.env_tails)


# --------------------------------------------------------------------------
# Templates: «kind» placeholders, compiled once into (literal, generator) lists
# --------------------------------------------------------------------------

PLACEHOLDER = re.compile(r"«(\w+)»")


class Filler:
    def __init__(self, rng, vocab, real=False):
        r = rng
        v = vocab
        self.rng = rng
        c = r.choice
        nouns = v.nouns
        # real: mostly the decoys without a keyword (task-runner, disk-cache).
        kwish = dilute(KEYWORDISH, 0.1) if real else KEYWORDISH
        self.gens = {
            "s": lambda: c(v.snake),
            "c": lambda: c(v.camel),
            "P": lambda: c(v.pascal),
            "U": lambda: c(v.upper),
            "f": lambda: c(v.funcs),
            "cf": lambda: c(v.cfuncs),
            "w": lambda: c(nouns),
            "v": lambda: c(v.verbs),
            "a": lambda: c(ADJS),
            "S": lambda: c(v.sentences),
            "m": lambda: c(v.msgs),
            "E": lambda: c(v.env_names),
            "n": lambda: str(r.choice([0, 1, 2, 3, 5, 8, 10, 16, 30, 32, 60, 64, 100, 128, 256,
                                       500, 1000, 1024, 3600, 4096, 8080, 65536])),
            "N": lambda: str(r.randrange(1, 100000)),
            "uuid": lambda: uuid(r),
            "hex": lambda: "%064x" % r.getrandbits(256),
            "hex40": lambda: "%040x" % r.getrandbits(160),
            "hex8": lambda: "%08x" % r.getrandbits(32),
            "b64": lambda: base64.b64encode(r.randbytes(r.choice([12, 24, 33, 48]))).decode(),
            "kw": lambda: c(kwish),
            "UP": lambda: c(UPPERISH),
            "todo": lambda: c(TODOS),
            "dom": lambda: c(DOMAINS),
            "org": lambda: c(ORGS),
            "app": lambda: c(APPS),
            "ver": lambda: "%d.%d.%d" % (r.randrange(0, 6), r.randrange(0, 30), r.randrange(0, 20)),
            "date": lambda: "20%02d-%02d-%02dT%02d:%02d:%02dZ" % (
                r.randrange(18, 26), r.randrange(1, 13), r.randrange(1, 29),
                r.randrange(0, 24), r.randrange(0, 60), r.randrange(0, 60)),
            "email": lambda: "%s.%s@%s" % (c(nouns).split("_")[0], c(ORGS), c(DOMAINS)),
        }
        self.cache = {}

    def compile(self, template):
        parts = PLACEHOLDER.split(template)
        out = []
        for i, part in enumerate(parts):
            if i % 2 == 0:
                if part:
                    out.append(part)
            else:
                out.append(self.gens[part])
        return out

    def fill(self, template):
        compiled = self.cache.get(template)
        if compiled is None:
            compiled = self.cache[template] = self.compile(template)
        return "".join([p if p.__class__ is str else p() for p in compiled])

    def pick(self, templates, k=1):
        c = self.rng.choice
        return [self.fill(c(templates)) for _ in range(k)]


def uuid(r):
    h = "%032x" % r.getrandbits(128)
    return "%s-%s-4%s-%s-%s" % (h[:8], h[8:12], h[13:16], h[16:20], h[20:32])


def indent(text, prefix):
    return prefix + text.replace("\n", "\n" + prefix)


# --------------------------------------------------------------------------
# Per-language statement templates
# --------------------------------------------------------------------------

PY_STMTS = [
    "«s» = «f»(«s», «s»)",
    "«s» = self.«s».«f»(«s»)",
    "«s» = «s».get(\"«s»\", «n»)",
    "«s» = {\"«s»\": «s», \"«s»\": «n», \"status\": \"«a»\"}",
    "«s» = [«s» for «s» in «s» if «s».«s»]",
    "if «s» is None:\n    raise «P»Error(\"«m»\")",
    "if not «s»:\n    logger.warning(\"«m»: %s\", «s»)\n    return None",
    "for «s» in «s»:\n    «s».append(«f»(«s»))",
    "logger.info(\"«m» %s\", «s»)",
    "logger.debug(\"«s»=%r «s»=%r\", «s», «s»)",
    "api_key = os.environ[\"«E»\"]",
    "token = os.getenv(\"«E»\", \"\")",
    "password = settings.«U»",
    "self.«s» = «s»",
    "headers = {\"Authorization\": f\"Bearer {token}\", \"Content-Type\": \"application/json\"}",
    "resp = requests.post(f\"https://«dom»/v1/«w»\", json=«s», headers=headers, timeout=«n»)",
    "resp.raise_for_status()",
    "«s» = resp.json()[\"«s»\"]",
    "# «S»",
    "# «todo»: «m» when the «w» «a» flag is set",
    "with open(«s», \"r\", encoding=\"utf-8\") as fh:\n    «s» = json.load(fh)",
    "try:\n    «s» = «f»(«s»)\nexcept «P»Error as exc:\n    logger.error(\"«m»: %s\", exc)\n    raise",
    "«s» = hashlib.sha256(«s».encode()).hexdigest()",
    "secret_key = self.config.get(\"secret_key\") or «U»",
    "auth = «P»Auth(client_id=«s», client_secret=os.environ.get(\"«E»\"))",
    "«s» += «n»",
    "assert «s» == «s», \"«m»\"",
    "«s» = \"«kw»\"",
    "«s» = datetime.utcnow() - timedelta(seconds=«n»)",
    "cache_key = f\"«w»:{«s»}:{«s»}\"",
]

RS_STMTS = [
    "let «s» = «f»(&«s»)?;",
    "let mut «s» = Vec::with_capacity(«n»);",
    "let «s» = self.«s».get(&«s»).cloned().unwrap_or_default();",
    "if «s».is_empty() {\n    return Err(Error::«P»(\"«m»\".into()));\n}",
    "for «s» in «s».iter() {\n    «s».push(«f»(«s»)?);\n}",
    "tracing::info!(«s» = ?«s», \"«m»\");",
    "debug!(\"«m»: {:?}\", «s»);",
    "let token = std::env::var(\"«E»\").context(\"«m»\")?;",
    "let api_key = env::var(\"«E»\").unwrap_or_default();",
    "let «s» = match «s» {\n    Some(v) => v,\n    None => return Ok(None),\n};",
    "// «S»",
    "// «todo»: «m»",
    "self.«s».insert(«s».clone(), «s»);",
    "let secret = Secret::new(«s».as_bytes());",
    "let digest = Sha256::digest(«s».as_bytes());",
    "let «s» = format!(\"{}/{}\", «s», «s»);",
    "ensure!(«s» < «n», \"«m»\");",
    "let password = config.«s».password.as_deref().unwrap_or(\"\");",
    "let req = client.post(&url).bearer_auth(&token).json(&«s»);",
    "«s» += «n»;",
    "let «s» = \"«kw»\";",
]

GO_STMTS = [
    "«c», err := «cf»(ctx, «c»)\nif err != nil {\n\treturn nil, fmt.Errorf(\"«m»: %w\", err)\n}",
    "«c» := make([]«P», 0, «n»)",
    "for _, «c» := range «c» {\n\t«c» = append(«c», «c»)\n}",
    "if «c» == nil {\n\treturn errors.New(\"«m»\")\n}",
    "log.Printf(\"«m»: %v\", «c»)",
    "logger.Info(\"«m»\", zap.String(\"«s»\", «c»))",
    "token := os.Getenv(\"«E»\")",
    "apiKey := os.Getenv(\"«E»\")",
    "req.Header.Set(\"Authorization\", \"Bearer \"+token)",
    "// «S»",
    "// «todo»: «m»",
    "s.«c» = «c»",
    "defer «c».Close()",
    "«c» := fmt.Sprintf(\"%s/%s\", «c», «c»)",
    "sum := sha256.Sum256([]byte(«c»))",
    "secretKey := cfg.«P».SecretKey",
    "ctx, cancel := context.WithTimeout(ctx, «n»*time.Second)\ndefer cancel()",
    "«c» += «n»",
    "«c» := \"«kw»\"",
]

JAVA_STMTS = [
    "«P» «c» = «c».«cf»(«c»);",
    "List<«P»> «c» = new ArrayList<>();",
    "if («c» == null) {\n    throw new IllegalArgumentException(\"«m»\");\n}",
    "for («P» «c» : «c») {\n    «c».add(«c».«cf»());\n}",
    "log.info(\"«m» {}\", «c»);",
    "log.debug(\"«c»={} «c»={}\", «c», «c»);",
    "String token = System.getenv(\"«E»\");",
    "String apiKey = properties.getProperty(\"«s».api.key\");",
    "headers.set(HttpHeaders.AUTHORIZATION, \"Bearer \" + token);",
    "// «S»",
    "// «todo»: «m»",
    "this.«c» = «c»;",
    "String password = env.getRequiredProperty(\"spring.datasource.password\");",
    "Map<String, Object> «c» = new HashMap<>();",
    "«c».put(\"«s»\", «c»);",
    "byte[] digest = MessageDigest.getInstance(\"SHA-256\").digest(«c».getBytes(StandardCharsets.UTF_8));",
    "«c» += «n»;",
    "String «c» = \"«kw»\";",
]

JS_STMTS = [
    "const «c» = await «cf»(«c», { «c»: «n» });",
    "const «c» = «c».«cf»(«c»);",
    "let «c» = [];",
    "if (!«c») {\n  throw new Error(`«m»: ${«c»}`);\n}",
    "for (const «c» of «c») {\n  «c».push(«cf»(«c»));\n}",
    "console.log('«m»', «c»);",
    "logger.debug({ «c», «c» }, '«m»');",
    "const apiKey = process.env.«E»;",
    "const token = process.env.«E» || '';",
    "const headers = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };",
    "const res = await fetch(`https://«dom»/api/«w»/${«c»}`, { method: 'POST', headers, body: JSON.stringify(«c») });",
    "// «S»",
    "// «todo»: «m»",
    "this.«c» = «c»;",
    "const { «c», «c» } = «c»;",
    "const secret = config.get('«s».secret');",
    "const hash = crypto.createHash('sha256').update(«c»).digest('hex');",
    "«c» += «n»;",
    "const className = '«kw»';",
    "export const «U» = '«kw»';",
    "const password = req.body.password;",
]

# --keyword-density real only: keyword lines as most of real code has them
# (map keys, parser tokens), drawn among the rare keyword statements.
GENERIC_STMTS = {
    "py": [
        "for key, value in «s».items():\n    «s»[key] = «f»(value)",
        "«s» = sorted(«s», key=lambda item: item.«s»)",
        "if «s» not in self.«s»:\n    raise KeyError(«s»)",
        "tokens = «s».split()",
    ],
    "rs": [
        "if !self.«s».contains_key(&«s») {\n    return Ok(None);\n}",
        "for (key, value) in «s».iter() {\n    «s».insert(key.clone(), value.len());\n}",
        "let keys: Vec<_> = «s».keys().cloned().collect();",
        "let tokens = «f»(&«s»)?;",
    ],
    "go": [
        "for key, val := range «c» {\n\t«c»[key] = val\n}",
        "keys := make([]string, 0, len(«c»))",
        "sort.Slice(«c», func(i, j int) bool { return «c»[i].Key < «c»[j].Key })",
    ],
    "java": [
        "for (Map.Entry<String, «P»> entry : «c».entrySet()) {\n    «c».put(entry.getKey(), entry.getValue());\n}",
        "if (!«c».containsKey(«c»)) {\n    return null;\n}",
        "String[] tokens = «c».split(\",\");",
    ],
    "js": [
        "for (const [key, value] of Object.entries(«c»)) {\n  «c»[key] = «cf»(value);\n}",
        "const keys = Object.keys(«c»);",
        "const «c» = «c».map((item) => ({ key: item.id, ...item }));",
    ],
}

# --keyword-density real: minified bundles, all of whose lines have a keyword
# somewhere, take at most this share of the corpus (real trees of source
# code have few of them; each is 1-2 MB).
MINJS_SHARE = 0.012

# --keyword-density real: the share of keyword statements (credential-shaped
# and generic together) in the code statement lists.
STMT_KEYWORD_SHARE = 0.018

FIXTURE_RECORD = (
    "  {\n    \"id\": \"«uuid»\",\n    \"«c»\": \"«s»\",\n    \"email\": \"«email»\",\n"
    "    \"created_at\": \"«date»\",\n    \"session_token\": \"«uuid»\",\n"
    "    \"sha\": \"«hex40»\",\n    \"«c»\": «N»,\n    \"tags\": [\"«w»\", \"«kw»\"],\n"
    "    \"auth\": {\"provider\": \"«org»\", \"key_id\": \"«hex8»\"}\n  }")
FIXTURE_RECORD_PLAIN = (
    "  {\n    \"id\": \"«uuid»\",\n    \"«c»\": \"«s»\",\n    \"email\": \"«email»\",\n"
    "    \"created_at\": \"«date»\",\n    \"request_id\": \"«uuid»\",\n"
    "    \"sha\": \"«hex40»\",\n    \"«c»\": «N»,\n    \"tags\": [\"«w»\", \"«kw»\"],\n"
    "    \"owner\": {\"provider\": \"«org»\", \"ref\": \"«hex8»\"}\n  }")

SQL_CREDENTIALS = (
    "-- «S»\nCREATE TABLE IF NOT EXISTS «s» (\n  id UUID PRIMARY KEY,\n"
    "  «s» TEXT NOT NULL,\n  password_hash TEXT,\n  api_key_hash CHAR(64),\n"
    "  created_at TIMESTAMPTZ DEFAULT now()\n);\n",
    "INSERT INTO «s» (id, «s», password_hash, api_key_hash, created_at) VALUES "
    "('«uuid»', '«s»', '$2b$12$«b64»', '«hex»', '«date»');")
SQL_PLAIN = (
    "-- «S»\nCREATE TABLE IF NOT EXISTS «s» (\n  id UUID PRIMARY KEY,\n"
    "  «s» TEXT NOT NULL,\n  «s» BIGINT,\n  checksum CHAR(64),\n"
    "  created_at TIMESTAMPTZ DEFAULT now()\n);\n",
    "INSERT INTO «s» (id, «s», «s», checksum, created_at) VALUES "
    "('«uuid»', '«s»', «N», '«hex»', '«date»');")

YAML_K8S_HEAD = (
    "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: «app»-«kw»\n"
    "  namespace: «org»\n  labels:\n    app.kubernetes.io/name: «app»\n"
    "    app.kubernetes.io/version: \"«ver»\"\nspec:\n  replicas: «n»\n  template:\n"
    "    metadata:\n      annotations:\n        checksum/config: «hex»\n    spec:\n"
    "      containers:\n        - name: «app»\n          image: ghcr.io/«org»/«app»:«ver»\n"
    "          env:\n")
YAML_K8S_SECRET_ENV = (
    "            - name: «E»\n              valueFrom:\n"
    "                secretKeyRef:\n                  name: «app»-secrets\n"
    "                  key: «s»\n")
YAML_K8S_PLAIN_ENV = (
    "            - name: «U»\n              valueFrom:\n"
    "                configMapRef:\n                  name: «app»-config\n")
YAML_K8S_TAIL = (
    "            - name: «E»\n              value: \"«s»\"\n"
    "            - name: LOG_LEVEL\n              value: info\n"
    "          resources:\n            limits:\n              memory: «n»Mi\n")
YAML_CONFIG_HEAD = "«s»:\n  enabled: true\n  «s»: «n»\n  endpoint: https://«dom»/«w»\n"
YAML_CONFIG_AUTH = (
    "  auth:\n    type: «a»\n    token: ${«E»}\n    client_id: «uuid»\n"
    "    client_secret: \"{{ vault_«s» }}\"\n")
YAML_CONFIG_NO_AUTH = "  timeout_seconds: «n»\n  client_id: «uuid»\n"
YAML_CONFIG_DB = "  database:\n    host: db.«dom»\n    port: 5432\n    user: «s»\n    password: ${DB_PASSWORD}\n"
YAML_CONFIG_CACHE = "  cache:\n    host: redis.«dom»\n    port: 6379\n    ttl_seconds: «n»\n"
YAML_CONFIG_TAIL = "  # «S»\n  «s»: \"«kw»\"\n  «s»: [«w», «w», «w»]\n"

# --------------------------------------------------------------------------
# Generators for each file kind. Each returns a str.
# --------------------------------------------------------------------------


class Gen:
    def __init__(self, rng, density="real", target=0):
        self.rng = rng
        self.target = target  # the corpus size in bytes
        self.real = real = density == "real"
        self.vocab = Vocab(rng, real)
        self.fl = Filler(rng, self.vocab, real)
        self.pools = {}
        self.weighted = {}
        stmts = {"py": PY_STMTS, "rs": RS_STMTS, "go": GO_STMTS, "java": JAVA_STMTS, "js": JS_STMTS}
        if real:
            stmts = {k: self.tw(v + GENERIC_STMTS[k]) for k, v in stmts.items()}
        self.stmts = stmts
        # Bytes of minified JS written so far (--keyword-density real keeps
        # them to a small share: each of their huge lines has a keyword).
        self.minjs_bytes = 0

    def tw(self, templates, share=STMT_KEYWORD_SHARE):
        """The templates to pick from: as given (heavy), or (real) with those
        that write a keyword drawn with probability `share`."""
        if not self.real:
            return templates
        key = (tuple(templates), share)
        out = self.weighted.get(key)
        if out is None:
            out = self.weighted[key] = dilute(templates, share, template_keyword)
        return out

    # -- shared helpers ----------------------------------------------------
    def body(self, stmts, count, prefix):
        lines = self.fl.pick(stmts, count)
        return "\n".join(indent(line, prefix) for line in lines)

    def pooled(self, key, make):
        """Reuse a generated block half of the time: faster, still varied."""
        pool = self.pools.setdefault(key, [])
        r = self.rng
        if len(pool) >= 60 and r.random() < 0.5:
            return pool[r.randrange(len(pool))]
        block = make()
        if len(pool) < 600:
            pool.append(block)
        else:
            pool[r.randrange(len(pool))] = block
        return block

    def blocks(self, key, make, target, parts):
        size = sum(len(p) for p in parts)
        while size < target:
            b = self.pooled(key, make)
            parts.append(b)
            size += len(b) + 1
        return parts

    # -- Python ------------------------------------------------------------
    def py_func(self):
        r = self.rng
        fl = self.fl
        if r.random() < 0.3:
            methods = []
            for _ in range(r.randrange(2, 6)):
                methods.append(fl.fill("    def «f»(self, «s», «s»=None):\n        \"\"\"«S»\"\"\"\n")
                               + self.body(self.stmts["py"], r.randrange(3, 12), "        ")
                               + fl.fill("\n        return «s»\n"))
            return (fl.fill("class «P»(«P»):\n    \"\"\"«S»\n\n    Uses the «w» «w» to «v» the «w».\n    \"\"\"\n\n"
                            "    def __init__(self, «s», «s»: str, «s»: int = «n»):\n")
                    + self.body(self.tw(["self.«s» = «s»", "self._«s» = «s» or {}", "self.api_key = api_key",
                                         "self.token = None", "self.«s» = «n»"]), r.randrange(2, 6), "        ")
                    + "\n\n" + "\n".join(methods))
        deco = fl.fill("@«s».route(\"/«w»/<«s»>\", methods=[\"GET\", \"POST\"])\n") if r.random() < 0.15 else ""
        return (deco + fl.fill("def «f»(«s», «s»: «P», «s»: Optional[str] = None) -> «P»:\n    \"\"\"«S»\n\n"
                               "    Args:\n        «s»: «S»\n    \"\"\"\n")
                + self.body(self.stmts["py"], r.randrange(3, 14), "    ")
                + self.fl.fill("\n    return «s»\n"))

    def python(self, target, ctx):
        r = self.rng
        fl = self.fl
        head = []
        if r.random() < 0.1:
            head.append("#!/usr/bin/env python3")
        head.append(fl.fill('"""«S»\n\n«S»\n"""'))
        head.append("from __future__ import annotations\n")
        imports = ["import json", "import hashlib", "import time",
                   "from datetime import datetime, timedelta",
                   "from typing import Any, Dict, List, Optional"]
        imports = ["import os", "import logging"] + r.sample(imports, r.randrange(1, len(imports)))
        imports += ["import " + r.choice(["requests", "boto3", "redis", "sqlalchemy as sa", "yaml"])]
        for _ in range(r.randrange(1, 5)):
            imports.append(fl.fill("from %s.«s» import «P», «f»" % ctx["pkg"]))
        head.append("\n".join(imports))
        head.append("\nlogger = logging.getLogger(__name__)\n")
        consts = self.body(self.tw(["«U» = «n»", "«U» = \"«s»\"", "«U» = os.environ.get(\"«E»\")",
                                    "DEFAULT_TIMEOUT = «n»", "«U» = \"«UP»\""]), r.randrange(1, 6), "")
        head.append(consts + "\n")
        parts = ["\n".join(head)]
        return "\n\n".join(self.blocks("py", self.py_func, target, parts)) + "\n"

    # -- Rust --------------------------------------------------------------
    def rs_func(self):
        r = self.rng
        fl = self.fl
        roll = r.random()
        if roll < 0.2:
            fields = self.body(self.tw(["pub «s»: «P»,", "«s»: Option<String>,", "pub «s»: u64,",
                                        "pub api_key: Option<String>,", "«s»: Vec<«P»>,",
                                        "#[serde(default)]\npub «s»: bool,"]), r.randrange(2, 8), "    ")
            return fl.fill("/// «S»\n#[derive(Debug, Clone, Serialize, Deserialize)]\npub struct «P» {\n") + fields + "\n}\n"
        if roll < 0.3:
            return (fl.fill("#[test]\nfn «f»() {\n")
                    + self.body(self.tw(["let «s» = «f»(\"«s»\").unwrap();",
                                         "assert_eq!(«s».len(), «n»);",
                                         "assert!(«s».is_ok(), \"«m»\");",
                                         "let token = \"«kw»\";"]), r.randrange(2, 7), "    ")
                    + "\n}\n")
        return (fl.fill("/// «S»\n///\n/// «S»\npub fn «f»(&self, «s»: &«P», «s»: &str) -> Result<Option<«P»>> {\n")
                + self.body(self.stmts["rs"], r.randrange(3, 14), "    ")
                + fl.fill("\n    Ok(Some(«s»))\n}\n"))

    def rust(self, target, ctx):
        r = self.rng
        fl = self.fl
        head = [fl.fill("//! «S»\n//!\n//! «S»\n")]
        uses = ["use std::collections::HashMap;", "use std::sync::Arc;", "use std::env;",
                "use anyhow::{Context, Result, ensure};", "use serde::{Deserialize, Serialize};",
                "use sha2::{Digest, Sha256};", "use tracing::{debug, info, warn};"]
        uses = r.sample(uses, r.randrange(3, len(uses)))
        for _ in range(r.randrange(1, 4)):
            uses.append(fl.fill("use crate::«s»::{«P», «P»};"))
        head.append("\n".join(uses) + "\n")
        head.append(self.body(self.tw(["const «U»: usize = «n»;", "pub const «U»: &str = \"«s»\";",
                                       "static «U»: &str = \"«kw»\";"]), r.randrange(1, 4), "") + "\n")
        parts = ["\n".join(head)]
        return "\n".join(self.blocks("rs", self.rs_func, target, parts)) + "\n"

    # -- Go ----------------------------------------------------------------
    def go_func(self):
        r = self.rng
        fl = self.fl
        if r.random() < 0.2:
            fields = self.body(self.tw(["«P» string `json:\"«s»\"`", "«P» int `json:\"«s»,omitempty\"`",
                                        "APIKey string `json:\"api_key\" env:\"«E»\"`",
                                        "«P» *«P»", "Token string `yaml:\"token\"`"]), r.randrange(2, 8), "\t")
            return fl.fill("// «P» «S»\ntype «P» struct {\n") + fields + "\n}\n"
        return (fl.fill("// «P» «S»\nfunc (s *«P») «P»(ctx context.Context, «c» string) (*«P», error) {\n")
                + self.body(self.stmts["go"], r.randrange(3, 12), "\t")
                + fl.fill("\n\treturn &«P»{}, nil\n}\n"))

    def golang(self, target, ctx):
        r = self.rng
        fl = self.fl
        imports = ["\"time\"", "\"crypto/sha256\"", "\"net/http\"", "\"encoding/json\""]
        imports = ["\"context\"", "\"errors\"", "\"fmt\"", "\"log\"", "\"os\""] + sorted(
            r.sample(imports, r.randrange(0, len(imports))))
        imports.append("\n\t\"go.uber.org/zap\"")
        imports.append(fl.fill("\"github.com/«org»/«app»/internal/«s»\""))
        head = "// Package %s «S»\npackage %s\n\nimport (\n\t%s\n)\n" % (ctx["gopkg"], ctx["gopkg"], "\n\t".join(imports))
        parts = [fl.fill(head)]
        return "\n".join(self.blocks("go", self.go_func, target, parts)) + "\n"

    # -- Java --------------------------------------------------------------
    def java_method(self):
        r = self.rng
        fl = self.fl
        ann = r.choice(["", "", "    @Override\n", "    @Transactional\n",
                        "    @GetMapping(\"/«w»/{id}\")\n"])
        return (fl.fill("    /**\n     * «S»\n     *\n     * @param «c» «S»\n     */\n" + ann
                        + "    public «P» «cf»(«P» «c», String «c») {\n")
                + self.body(self.stmts["java"], r.randrange(3, 12), "        ")
                + fl.fill("\n        return «c»;\n    }\n"))

    def java(self, target, ctx):
        r = self.rng
        fl = self.fl
        head = [fl.fill("package com.«org».«app».«s»;\n")]
        imports = ["import java.util.*;", "import java.nio.charset.StandardCharsets;",
                   "import java.security.MessageDigest;", "import org.slf4j.Logger;",
                   "import org.slf4j.LoggerFactory;",
                   "import org.springframework.stereotype.Service;",
                   "import org.springframework.http.HttpHeaders;"]
        head.append("\n".join(r.sample(imports, r.randrange(3, len(imports)))) + "\n")
        head.append(fl.fill("/**\n * «S»\n */\n@Service\npublic class «P» {\n"
                            "    private static final Logger log = LoggerFactory.getLogger(«P».class);\n"
                            "    private static final String «U» = \"«s»\";\n"
                            "    private final «P» «c»;\n"))
        parts = ["\n".join(head)]
        return "\n".join(self.blocks("java", self.java_method, target, parts)) + "}\n"

    # -- JavaScript / TypeScript -------------------------------------------
    def js_func(self):
        r = self.rng
        fl = self.fl
        roll = r.random()
        if roll < 0.15:
            return (fl.fill("describe('«cf»', () => {\n  it('«m»', async () => {\n")
                    + self.body(self.tw(["const «c» = await «cf»('«s»');",
                                         "expect(«c»).toEqual({ «c»: «n» });",
                                         "expect(«c».token).toBeDefined();",
                                         "const apiKey = 'test-«kw»';"]), r.randrange(2, 7), "    ")
                    + "\n  });\n});\n")
        if roll < 0.3:
            option = "apiKey"
            if self.real and r.random() >= 0.1:
                option = "«c»"
            return (fl.fill("export class «P» extends «P» {\n  constructor(«c», options = {}) {\n    super(«c»);\n"
                            "    this.«c» = options.«c» ?? «n»;\n    this.%s = options.%s;\n  }\n\n"
                            "  async «cf»(«c») {\n" % (option, option))
                    + self.body(self.stmts["js"], r.randrange(3, 10), "    ")
                    + fl.fill("\n    return «c»;\n  }\n}\n"))
        return (fl.fill("/**\n * «S»\n * @param {«P»} «c»\n */\nexport async function «cf»(«c», «c» = {}) {\n")
                + self.body(self.stmts["js"], r.randrange(3, 12), "  ")
                + fl.fill("\n  return «c»;\n}\n"))

    def ts_func(self):
        r = self.rng
        fl = self.fl
        if r.random() < 0.25:
            fields = self.body(self.tw(["«c»: string;", "«c»?: number;", "readonly «c»: «P»[];",
                                        "apiKey?: string;", "token: string | null;", "«c»: Record<string, «P»>;"]),
                               r.randrange(2, 9), "  ")
            return fl.fill("export interface «P» {\n") + fields + "\n}\n"
        return (fl.fill("/** «S» */\nexport async function «cf»(«c»: «P», «c»?: string): Promise<«P»> {\n")
                + self.body(self.stmts["js"], r.randrange(3, 12), "  ")
                + fl.fill("\n  return «c» as «P»;\n}\n"))

    def javascript(self, target, ctx, ts=False):
        r = self.rng
        fl = self.fl
        imports = []
        for _ in range(r.randrange(2, 7)):
            imports.append(fl.fill(r.choice([
                "import «P» from '%s';" % r.choice(NPM_PKGS),
                "import { «P», «cf» } from '../«c»';",
                "import { «cf» } from './«c»';",
                "const «c» = require('%s');" % r.choice(NPM_PKGS)])))
        if ts:
            parts = ["\n".join(imports) + "\n"]
            return "\n".join(self.blocks("ts", self.ts_func, target, parts)) + "\n"
        parts = ["'use strict';\n\n" + "\n".join(imports) + "\n"]
        return "\n".join(self.blocks("js", self.js_func, target, parts)) + "\n"

    # -- Minified JS bundle: a few very long lines ---------------------------
    def min_fragment(self):
        r = self.rng
        v = "abcdefghijklmnopqrstuvwxyz"
        a, b, c, d = (r.choice(v) for _ in range(4))
        fl = self.fl
        frags = [
            "function %s(%s,%s){return %s.«c»(%s)||%s.«c»}" % (a, b, c, b, c, c),
            "var %s=%s(\"«c»\"),%s=%s(\"«c»\");" % (a, b, c, d),
            "%s.exports={«c»:function(%s){return\"«kw»\"+%s}};" % (a, b, b),
            "headers:{Authorization:\"Bearer \"+%s.token,\"Content-Type\":\"application/json\"}," % a,
            "if(!%s.apiKey)throw new Error(\"«m»\");" % a,
            "case\"«U»\":return{...%s,«c»:%s.payload};" % (a, b),
            "%s.prototype.«c»=function(%s){var %s=this;return Promise.resolve(%s).then(function(%s){return %s.«c»(%s)})};" % (a, b, c, b, d, c, d),
            "[\"«c»\",\"«c»\",\"«c»\",\"«kw»\"].forEach(function(%s){%s[%s]=!0});" % (a, b, a),
            "className:\"«kw» «kw»\",children:%s(\"span\",{})," % a,
            "\"«uuid»\":{id:\"«uuid»\",hash:\"«hex»\"},",
            "%s.«c»=%s.«c»||{secret:null,token:void 0,key:\"«s»\"};" % (a, b),
            "/* «S» */",
        ]
        if not self.real:
            return fl.fill(r.choice(frags))
        # real: the fragments with a keyword are rarer (the lines, tens of
        # kilobytes long, still all have one, as in real bundles).
        which = self.weighted.get("min")
        if which is None:
            which = self.weighted["min"] = dilute(range(len(frags)), 0.1,
                                                  lambda i: template_keyword(frags[i]))
        return fl.fill(frags[r.choice(which)])

    def minified(self, target, ctx):
        r = self.rng
        out = ["/*! %s v%s | MIT */" % (r.choice(NPM_PKGS), self.fl.fill("«ver»"))]
        size = 40
        line = []
        line_len = 0
        line_target = r.randrange(20000, 400000)
        while size < target:
            frag = self.pooled("min", self.min_fragment)
            line.append(frag)
            line_len += len(frag)
            size += len(frag)
            if line_len >= line_target:
                out.append("".join(line))
                line = []
                line_len = 0
                line_target = r.randrange(20000, 400000)
        if line:
            out.append("".join(line))
        out.append("//# sourceMappingURL=%s.map" % ctx.get("name", "bundle"))
        return "\n".join(out) + "\n"

    # -- YAML --------------------------------------------------------------
    def yaml(self, target, ctx):
        r = self.rng
        fl = self.fl
        kind = r.choice(["k8s", "workflow", "config", "compose", "k8s", "config"])
        if kind == "workflow":
            text = fl.fill(
                "name: CI\n\non:\n  push:\n    branches: [main]\n  pull_request:\n\n"
                "permissions:\n  contents: read\n\njobs:\n  test:\n    runs-on: ubuntu-latest\n"
                "    env:\n      GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}\n      «E»: ${{ secrets.«E» }}\n"
                "      NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}\n    steps:\n      - uses: actions/checkout@v4\n"
                "      - uses: actions/setup-node@v4\n        with:\n          node-version: 20\n"
                "          registry-url: https://registry.npmjs.org\n      - run: npm ci\n"
                "      - run: npm test -- --runInBand\n      - name: «m»\n        run: make «s»\n"
                "      - name: Upload coverage\n        uses: codecov/codecov-action@v4\n"
                "        with:\n          token: ${{ secrets.CODECOV_TOKEN }}\n")
        elif kind == "compose":
            text = fl.fill(
                "version: \"3.9\"\nservices:\n  app:\n    build: .\n    ports:\n      - \"«n»:8080\"\n"
                "    environment:\n      DATABASE_URL: postgres://${POSTGRES_USER}:${POSTGRES_PASSWORD}@db:5432/«app»\n"
                "      REDIS_URL: redis://redis:6379/0\n      SECRET_KEY: ${SECRET_KEY}\n      «E»: ${«E»}\n"
                "    depends_on: [db, redis]\n  db:\n    image: postgres:16\n    environment:\n"
                "      POSTGRES_USER: postgres\n      POSTGRES_PASSWORD: postgres\n      POSTGRES_DB: «app»\n"
                "    volumes:\n      - pgdata:/var/lib/postgresql/data\n  redis:\n    image: redis:7-alpine\n"
                "volumes:\n  pgdata: {}\n")
        else:
            text = ""
        parts = [text] if text else []
        size = len(text)
        real = self.real  # the secret-shaped blocks in some documents only
        while size < target:
            if kind == "k8s":
                env = YAML_K8S_SECRET_ENV if not real or r.random() < 0.25 else YAML_K8S_PLAIN_ENV
                doc = fl.fill(YAML_K8S_HEAD + env + YAML_K8S_TAIL)
            else:
                auth = YAML_CONFIG_AUTH if not real or r.random() < 0.15 else YAML_CONFIG_NO_AUTH
                db = YAML_CONFIG_DB if not real or r.random() < 0.3 else YAML_CONFIG_CACHE
                doc = fl.fill(YAML_CONFIG_HEAD + auth + db + YAML_CONFIG_TAIL)
            parts.append(doc)
            size += len(doc)
        return "\n".join(parts)

    # -- .env / properties / Dockerfile / Makefile / shell / toml -------------
    def dotenv(self, target, ctx):
        r = self.rng
        fl = self.fl
        lines = [fl.fill("# «S»"), "NODE_ENV=production", "LOG_LEVEL=info",
                 fl.fill("APP_NAME=«app»"), "PORT=8080"]
        size = sum(len(x) for x in lines)
        while size < target:
            line = fl.fill(r.choice([
                "«E»=", "«E»=changeme", "«E»=${«E»}", "«E»=«s»", "«E»=«n»",
                "# «S»", "«E»=https://«dom»/«w»", "«E»=your-api-key-here",
                "DATABASE_URL=postgres://postgres:postgres@localhost:5432/«app»",
                "REDIS_URL=redis://localhost:6379/0", "«E»=«uuid»", "AWS_REGION=us-east-1",
                "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY=" + AWS_DOC_SECRET,
            ]))
            lines.append(line)
            size += len(line) + 1
        return "\n".join(lines) + "\n"

    def properties(self, target, ctx):
        fl = self.fl
        lines = ["# «S»", "spring.application.name=«app»", "server.port=8080",
                 "spring.datasource.url=jdbc:postgresql://db:5432/«app»",
                 "spring.datasource.username=«s»", "spring.datasource.password=${DB_PASSWORD}",
                 "«s».api.key=${«E»}", "«s».«s».timeout=«n»", "«s».token.ttl=«n»",
                 "management.endpoints.web.exposure.include=health,info",
                 "security.oauth2.client.registration.«org».client-secret=${«E»}"]
        out = [fl.fill(l) for l in lines]
        size = sum(len(x) for x in out)
        while size < target:
            line = fl.fill(self.rng.choice(self.tw(["«s».«s».«s»=«n»", "«s».«s»=«s»", "# «S»",
                                                    "«s».secret-key=${«E»}"], 0.05)))
            out.append(line)
            size += len(line) + 1
        return "\n".join(out) + "\n"

    def dockerfile(self, target, ctx):
        fl = self.fl
        lang = ctx["lang"]
        base = {"python": "python:3.12-slim", "rust": "rust:1.80-bookworm", "node": "node:20-alpine",
                "go": "golang:1.22-alpine", "java": "eclipse-temurin:21-jre"}[lang]
        return fl.fill(
            "# syntax=docker/dockerfile:1.6\nFROM %s AS build\nWORKDIR /src\n"
            "ARG NPM_TOKEN\nARG «E»\nENV PYTHONDONTWRITEBYTECODE=1 \\\n    «E»=«s»\n"
            "COPY . .\nRUN --mount=type=secret,id=«s» \\\n    «s»_TOKEN=$(cat /run/secrets/«s») make build\n"
            "\nFROM gcr.io/distroless/base-debian12\nCOPY --from=build /src/out /app\n"
            "USER nonroot:nonroot\nEXPOSE 8080\nHEALTHCHECK CMD [\"/app/«s»\", \"health\"]\n"
            "ENTRYPOINT [\"/app/«app»\"]\n" % base)

    def makefile(self, target, ctx):
        fl = self.fl
        return fl.fill(
            ".PHONY: build test lint deploy\n\nAPP := «app»\nVERSION ?= «ver»\n"
            "REGISTRY ?= ghcr.io/«org»\n\nbuild:\n\tdocker build -t $(REGISTRY)/$(APP):$(VERSION) .\n\n"
            "test:\n\t«s» test ./...\n\nlint:\n\t«s» lint\n\n"
            "deploy: build\n\t@echo \"$(DEPLOY_TOKEN)\" | docker login ghcr.io -u «s» --password-stdin\n"
            "\tkubectl apply -f deploy/k8s/\n")

    def shell(self, target, ctx):
        r = self.rng
        fl = self.fl
        out = [fl.fill("#!/usr/bin/env bash\n# «S»\nset -euo pipefail\n\n"
                       ": \"${«E»:?«E» must be set}\"\nAPI_URL=\"${API_URL:-https://«dom»}\"\n")]
        size = len(out[0])
        while size < target:
            line = fl.fill(r.choice(self.tw([
                "curl -fsSL -H \"Authorization: Bearer ${TOKEN}\" \"$API_URL/v1/«w»\" | jq '.«s»'",
                "echo \"«m»\" >&2", "«s»=\"$(«s» --«w»)\"",
                "if [[ -z \"${«E»:-}\" ]]; then\n  echo \"missing «E»\" >&2\n  exit 1\nfi",
                "aws s3 cp \"$«U»\" s3://«org»-«app»-«w»/ --sse aws:kms",
                "# «S»", "export «E»=\"$(vault kv get -field=«s» secret/«app»)\"",
                "for f in «w»/*.json; do\n  «s» \"$f\"\ndone",
            ], 0.08)))
            out.append(line)
            size += len(line) + 1
        return "\n".join(out) + "\n"

    def toml(self, target, ctx):
        fl = self.fl
        r = self.rng
        lang = ctx["lang"]
        if lang == "rust":
            deps = "\n".join('%s = "%s"' % (c, fl.fill("«ver»")) for c in r.sample(CRATES, r.randrange(5, 15)))
            return ('[package]\nname = "%s"\nversion = "%s"\nedition = "2021"\nlicense = "MIT"\n\n'
                    '[dependencies]\n%s\n\n[dev-dependencies]\ncriterion = "0.5"\n' % (ctx["name"], fl.fill("«ver»"), deps))
        deps = "\n".join('%s = "^%s"' % (p, fl.fill("«ver»")) for p in r.sample(PYPKGS, r.randrange(5, 15)))
        return ('[tool.poetry]\nname = "%s"\nversion = "%s"\ndescription = "%s"\n\n'
                '[tool.poetry.dependencies]\npython = "^3.10"\n%s\n\n[tool.ruff]\nline-length = 100\n'
                % (ctx["name"], fl.fill("«ver»"), fl.fill("«S»"), deps))

    def sql(self, target, ctx):
        fl = self.fl
        if self.real and self.rng.random() >= 0.1:
            # real: most tables hold no credentials.
            create, insert = SQL_PLAIN
        else:
            create, insert = SQL_CREDENTIALS
        out = [fl.fill(create)]
        size = len(out[0])
        while size < target:
            line = fl.fill(insert)
            out.append(line)
            size += len(line) + 1
        return "\n".join(out) + "\n"

    def css(self, target, ctx):
        fl = self.fl
        out = []
        size = 0
        while size < target:
            rule = self.pooled("css", lambda: fl.fill(
                ".«kw» .«s» {\n  display: flex;\n  mask-image: url(\"/img/«s».svg\");\n"
                "  padding: «n»px;\n  color: #«hex8»;\n}\n"))
            out.append(rule)
            size += len(rule) + 1
        return "\n".join(out)

    # -- Markdown ------------------------------------------------------------
    def markdown(self, target, ctx):
        r = self.rng
        fl = self.fl
        out = [fl.fill("# %s\n\n«S» «S»\n" % ctx["name"])]
        size = len(out[0])
        # Prose, list, configuration table, shell example, else Python code;
        # real: fewer tables of API keys and examples with tokens.
        prose, bullets, table, example = (0.45, 0.72, 0.76, 0.8) if self.real else (0.35, 0.55, 0.7, 0.85)
        while size < target:
            roll = r.random()
            if roll < prose:
                sec = fl.fill("## «P»\n\n«S» «S» «S»\n\n«S» «S»\n")
            elif roll < bullets:
                sec = fl.fill("### «P»\n\n- «S»\n- «S»\n- `«s»`: «S»\n- «S»\n")
            elif roll < table:
                sec = fl.fill("## Configuration\n\n| Variable | Description | Default |\n|---|---|---|\n"
                              "| `«E»` | «S» | `«n»` |\n| `«E»` | «S» | — |\n| `API_KEY` | «S» | — |\n")
            elif roll < example:
                sec = fl.fill("```bash\nexport «E»=<your-token>\ncurl -H \"Authorization: Bearer $«E»\" "
                              "https://«dom»/v1/«w»\n```\n")
            else:
                code = self.pooled("py", self.py_func)
                sec = "```python\n" + code + "```\n"
            out.append(sec)
            size += len(sec) + 1
        return "\n".join(out)

    # -- JSON ----------------------------------------------------------------
    def json_fixture(self, target, ctx):
        r = self.rng
        fl = self.fl
        out = ["["]
        size = 1
        first = True
        real = self.real
        while size < target:
            # real: a session token and auth block in a few records only.
            rec = fl.fill(FIXTURE_RECORD if not real or r.random() < 0.05 else FIXTURE_RECORD_PLAIN)
            if not first:
                rec = ",\n" + rec
            first = False
            out.append(rec)
            size += len(rec)
        out.append("\n]\n")
        return "".join(out)

    def json_config(self, target, ctx):
        fl = self.fl
        r = self.rng
        if r.random() < 0.5:
            deps = ",\n".join('    "%s": "^%s"' % (p, fl.fill("«ver»")) for p in r.sample(NPM_PKGS, r.randrange(4, 20)))
            return fl.fill('{\n  "name": "@«org»/%s",\n  "version": "«ver»",\n  "private": true,\n'
                           '  "scripts": {\n    "build": "tsc -p .",\n    "test": "jest",\n'
                           '    "lint": "eslint src --ext .ts"\n  },\n  "dependencies": {\n' % ctx["name"]) + deps + "\n  }\n}\n"
        if self.real and r.random() >= 0.25:
            return fl.fill('{\n  "«c»": {\n    "apiUrl": "https://«dom»",\n    "timeoutMs": «n»,\n'
                           '    "retries": «n»,\n    "region": "«org»-«n»"\n  },\n'
                           '  "featureFlags": {"«c»": true, "«c»": false},\n  "buildId": "«uuid»"\n}\n')
        return fl.fill('{\n  "«c»": {\n    "apiUrl": "https://«dom»",\n    "apiKey": "",\n'
                       '    "tokenTtlSeconds": «n»,\n    "authProvider": "«org»",\n'
                       '    "secretRef": "projects/«org»/secrets/«s»/versions/latest"\n  },\n'
                       '  "featureFlags": {"«c»": true, "«c»": false},\n  "buildId": "«uuid»"\n}\n')

    # -- Lock files ------------------------------------------------------------
    def package_lock(self, target, ctx):
        r = self.rng
        fl = self.fl
        out = ['{\n  "name": "%s",\n  "version": "%s",\n  "lockfileVersion": 3,\n  "requires": true,\n'
               '  "packages": {' % (ctx["name"], fl.fill("«ver»"))]
        size = len(out[0])
        first = True
        while size < target:
            name = r.choice(NPM_PKGS)
            if r.random() < 0.5:
                name = "%s/node_modules/%s" % (name, r.choice(NPM_PKGS))
            ver = fl.fill("«ver»")
            integ = base64.b64encode(r.randbytes(64)).decode()
            entry = ('%s\n    "node_modules/%s": {\n      "version": "%s",\n'
                     '      "resolved": "https://registry.npmjs.org/%s/-/%s-%s.tgz",\n'
                     '      "integrity": "sha512-%s",\n      "dev": true\n    }'
                     % ("" if first else ",", name, ver, name.split("/")[-1], name.split("/")[-1], ver, integ))
            first = False
            out.append(entry)
            size += len(entry)
        out.append("\n  }\n}\n")
        return "".join(out)

    def yarn_lock(self, target, ctx):
        r = self.rng
        fl = self.fl
        out = ["# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.\n# yarn lockfile v1\n\n"]
        size = len(out[0])
        while size < target:
            name = r.choice(NPM_PKGS)
            ver = fl.fill("«ver»")
            entry = ('"%s@^%s":\n  version "%s"\n  resolved "https://registry.yarnpkg.com/%s/-/%s-%s.tgz#%s"\n'
                     '  integrity sha512-%s\n\n' % (name, ver, ver, name, name.split("/")[-1], ver,
                                                    "%040x" % r.getrandbits(160),
                                                    base64.b64encode(r.randbytes(64)).decode()))
            out.append(entry)
            size += len(entry)
        return "".join(out)

    def cargo_lock(self, target, ctx):
        r = self.rng
        fl = self.fl
        out = ["# This file is automatically @generated by Cargo.\n# It is not intended for manual editing.\nversion = 3\n"]
        size = len(out[0])
        while size < target:
            entry = ('\n[[package]]\nname = "%s"\nversion = "%s"\n'
                     'source = "registry+https://github.com/rust-lang/crates.io-index"\n'
                     'checksum = "%064x"\ndependencies = [\n "%s",\n "%s",\n]\n'
                     % (r.choice(CRATES), fl.fill("«ver»"), r.getrandbits(256), r.choice(CRATES), r.choice(CRATES)))
            out.append(entry)
            size += len(entry)
        return "".join(out)

    def poetry_lock(self, target, ctx):
        r = self.rng
        fl = self.fl
        out = ["# This file is automatically @generated by Poetry 1.8.2 and should not be changed by hand.\n"]
        size = len(out[0])
        while size < target:
            name = r.choice(PYPKGS)
            ver = fl.fill("«ver»")
            files = ",\n".join('    {file = "%s-%s-py3-none-any.whl", hash = "sha256:%064x"}'
                               % (name, ver, r.getrandbits(256)) for _ in range(r.randrange(1, 6)))
            entry = ('\n[[package]]\nname = "%s"\nversion = "%s"\ndescription = "%s"\noptional = false\n'
                     'python-versions = ">=3.8"\nfiles = [\n%s,\n]\n' % (name, ver, fl.fill("«S»"), files))
            out.append(entry)
            size += len(entry)
        return "".join(out)

    def go_sum(self, target, ctx):
        r = self.rng
        fl = self.fl
        out = []
        size = 0
        while size < target:
            mod = r.choice(GOMODS)
            ver = fl.fill("v«ver»")
            h1 = base64.b64encode(r.randbytes(32)).decode()
            h2 = base64.b64encode(r.randbytes(32)).decode()
            entry = "%s %s h1:%s\n%s %s/go.mod h1:%s\n" % (mod, ver, h1, mod, ver, h2)
            out.append(entry)
            size += len(entry)
        return "".join(out)

    # -- Binary ----------------------------------------------------------------
    def png(self, target, ctx):
        data = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + self.rng.randbytes(max(0, target - 16))
        return data


# --------------------------------------------------------------------------
# Planted secrets
# --------------------------------------------------------------------------

ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
B32UP = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
HEX = "0123456789abcdef"
B64CH = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
STOP = ["example", "placeholder", "changeme", "dummy", "sample", "redacted", "your", "insert",
        "here", "fake", "notreal", "xxxxxx", "1234567890", "0123456789", "abcdefghij",
        "qwertyuiop", "test", "0000000000"]


def rand_chars(r, alphabet, n):
    while True:
        s = "".join(r.choice(alphabet) for _ in range(n))
        low = s.lower()
        if not any(w in low for w in STOP):
            return s


def base62(value, width):
    digits = []
    while value:
        digits.append(ALNUM[value % 62])
        value //= 62
    while len(digits) < width:
        digits.append("0")
    return "".join(reversed(digits))


def github_token(r):
    body = rand_chars(r, ALNUM, 30)
    return "ghp_" + body + base62(zlib.crc32(body.encode()) & 0xFFFFFFFF, 6)


def rsa_block(r):
    der = b"\x30\x82\x04\xa4\x02\x01\x00\x02\x82\x01\x01\x00" + r.randbytes(1180)
    b64 = base64.b64encode(der).decode()
    lines = ["-----BEGIN RSA PRIVATE KEY-----"]
    lines += [b64[i:i + 64] for i in range(0, len(b64), 64)]
    lines.append("-----END RSA PRIVATE KEY-----")
    return "\n".join(lines), lines[0]


def make_plants(r):
    """The fixed plan: (file kind, lines to insert, [(kind, rule_id, needle)])."""
    plants = []

    def add(file_kind, snippet, secrets):
        plants.append((file_kind, snippet, secrets))

    ds = "sk-" + rand_chars(r, HEX, 32)
    add("env", "DEEPSEEK_API_KEY=%s" % ds, [("deepseek", "deepseek-api-key", ds)])

    akid = "AKIA" + rand_chars(r, B32UP, 16)
    askey = rand_chars(r, B64CH, 40)
    add("aws-credentials", "[default]\naws_access_key_id = %s\naws_secret_access_key = %s\nregion = us-east-1" % (akid, askey),
        [("aws-access-key-id", "aws-access-key-id", akid), ("aws-secret-access-key", "aws-secret-access-key", askey)])

    gh = github_token(r)
    add("workflow", "      GH_RELEASE_TOKEN: %s" % gh, [("github-pat", "github-pat", gh)])

    sl = "xoxb-%s-%s-%s" % (rand_chars(r, "0123456789", 12), rand_chars(r, "0123456789", 13), rand_chars(r, ALNUM, 24))
    add("js", "const SLACK_BOT_TOKEN = '%s';" % sl, [("slack-bot-token", "slack-bot-token", sl)])

    st = "sk_live_" + rand_chars(r, ALNUM, 24)
    add("ts", "const stripe = new Stripe('%s', { apiVersion: '2024-04-10' });" % st,
        [("stripe-live-secret-key", "stripe-live-secret-key", st)])

    gk = "AIza" + rand_chars(r, ALNUM + "_-", 35)
    add("minjs", gk, [("google-api-key", "google-api-key", gk)])

    pem, begin = rsa_block(r)
    add("pem", pem, [("private-key", "private-key", begin)])

    pw = rand_chars(r, ALNUM, 20)
    url = "postgres://billing_svc:%s@db.prod.internal:5432/billing" % pw
    add("compose-url", "      DATABASE_URL: %s" % url, [("database-connection-string", "database-connection-string", url)])

    ds2 = "sk-" + rand_chars(r, HEX, 32)
    add("py", "DEEPSEEK_API_KEY = \"%s\"\nDEEPSEEK_BASE_URL = \"https://api.deepseek.com\"" % ds2,
        [("deepseek", "deepseek-api-key", ds2)])

    akid2 = "AKIA" + rand_chars(r, B32UP, 16)
    askey2 = rand_chars(r, B64CH, 40)
    add("py", "s3 = boto3.client(\n    \"s3\",\n    aws_access_key_id=\"%s\",\n    aws_secret_access_key=\"%s\",\n)" % (akid2, askey2),
        [("aws-access-key-id", "aws-access-key-id", akid2), ("aws-secret-access-key", "aws-secret-access-key", askey2)])

    gh2 = github_token(r)
    add("go", "const githubToken = \"%s\"" % gh2, [("github-pat", "github-pat", gh2)])

    sl2 = "xoxb-%s-%s-%s" % (rand_chars(r, "0123456789", 11), rand_chars(r, "0123456789", 12), rand_chars(r, ALNUM, 24))
    add("yaml", "slack:\n  channel: \"#deploys\"\n  bot_token: %s" % sl2, [("slack-bot-token", "slack-bot-token", sl2)])

    st2 = "sk_live_" + rand_chars(r, ALNUM, 34)
    add("env", "STRIPE_SECRET_KEY=%s" % st2, [("stripe-live-secret-key", "stripe-live-secret-key", st2)])

    gk2 = "AIza" + rand_chars(r, ALNUM + "_-", 35)
    add("java", "    private static final String MAPS_API_KEY = \"%s\";" % gk2, [("google-api-key", "google-api-key", gk2)])

    pem2, begin2 = rsa_block(r)
    add("py", "SIGNING_KEY = \"\"\"\n%s\n\"\"\"" % pem2, [("private-key", "private-key", begin2)])

    pw2 = rand_chars(r, ALNUM, 16)
    url2 = "postgresql://ledger:%s@10.0.3.17:5432/ledger" % pw2
    add("rs", "const DATABASE_URL: &str = \"%s\";" % url2, [("database-connection-string", "database-connection-string", url2)])

    gh3 = github_token(r)
    add("json-config", gh3, [("github-pat", "github-pat", gh3)])

    ds3 = "sk-" + rand_chars(r, HEX, 32)
    add("md", "```bash\nexport DEEPSEEK_API_KEY=%s\ncurl https://api.deepseek.com/chat/completions \\\n"
              "  -H \"Authorization: Bearer $DEEPSEEK_API_KEY\"\n```" % ds3,
        [("deepseek", "deepseek-api-key", ds3)])
    return plants


# --------------------------------------------------------------------------
# Repositories and the tree
# --------------------------------------------------------------------------

LANG_WEIGHTS = [("python", 0.28), ("node", 0.26), ("go", 0.16), ("rust", 0.15), ("java", 0.15)]

# Per language: (file kind, weight by count) for ordinary files.
KIND_MIX = {
    "python": [("py", 70), ("md", 5), ("yaml", 6), ("json", 4), ("sh", 3), ("sql", 2), ("png", 3),
               ("js", 3), ("fixture", 2), ("toml", 1), ("env", 1)],
    "node": [("js", 30), ("ts", 38), ("json", 6), ("md", 5), ("yaml", 4), ("css", 6), ("png", 4),
             ("fixture", 3), ("sh", 2), ("env", 1)],
    "go": [("go", 75), ("yaml", 8), ("md", 5), ("sh", 3), ("sql", 3), ("json", 3), ("png", 2), ("env", 1)],
    "rust": [("rs", 78), ("toml", 3), ("md", 6), ("yaml", 5), ("sh", 2), ("json", 3), ("png", 2), ("fixture", 1)],
    "java": [("java", 72), ("properties", 5), ("yaml", 7), ("md", 4), ("json", 3), ("sql", 4), ("png", 3),
             ("sh", 1), ("fixture", 1)],
}

EXT = {"py": ".py", "rs": ".rs", "go": ".go", "java": ".java", "js": ".js", "ts": ".ts", "md": ".md",
       "yaml": ".yaml", "json": ".json", "fixture": ".json", "sh": ".sh", "sql": ".sql", "png": ".png",
       "toml": ".toml", "css": ".css", "properties": ".properties", "env": ".env"}


class Tree:
    def __init__(self, out_dir, files_per_dir):
        self.out = out_dir
        self.files_per_dir = files_per_dir
        self.counts = {}
        self.made = set()
        self.bytes = 0
        self.files = 0

    def write(self, rel, content):
        data = content if isinstance(content, bytes) else content.encode("utf-8")
        path = os.path.join(self.out, rel)
        d = os.path.dirname(path)
        if d not in self.made:
            os.makedirs(d, exist_ok=True)
            self.made.add(d)
        with open(path, "wb") as fh:
            fh.write(data)
        self.bytes += len(data)
        self.files += 1
        return len(data)


class RepoBuilder:
    def __init__(self, gen, tree, name, lang):
        self.gen = gen
        self.r = gen.rng
        self.tree = tree
        self.name = name
        self.lang = lang
        org = self.r.choice(ORGS)
        pkg = name.replace("-", "_")
        self.ctx = {"name": name, "lang": lang, "pkg": pkg, "gopkg": pkg.split("_")[0]}
        self.dirs = {}  # role -> list of [dir, count]
        base = {
            "python": ["%s" % pkg, "%s/api" % pkg, "%s/core" % pkg, "%s/models" % pkg, "tests"],
            "node": ["src", "src/components", "src/api", "src/utils", "src/hooks", "test"],
            "go": ["cmd/%s" % name, "internal/%s" % self.ctx["gopkg"], "internal/store", "pkg/client", "pkg/auth"],
            "rust": ["src", "src/engine", "src/cli", "tests", "benches"],
            "java": ["src/main/java/com/%s/%s" % (org, pkg), "src/main/java/com/%s/%s/service" % (org, pkg),
                     "src/main/java/com/%s/%s/web" % (org, pkg), "src/test/java/com/%s/%s" % (org, pkg)],
        }[lang]
        self.code_dirs = [[d, 0] for d in base]
        self.misc_dirs = {"md": [["docs", 0]], "yaml": [["deploy/k8s", 0], ["config", 0]],
                          "sh": [["scripts", 0]], "sql": [["migrations", 0]], "png": [["assets/img", 0]],
                          "fixture": [["testdata", 0]], "json": [["config", 0]], "css": [["src/styles", 0]],
                          "properties": [["src/main/resources", 0]], "toml": [["config", 0]],
                          "env": [["deploy/env", 0]], "js": [["static/js", 0]] if lang != "node" else None}

    def pick_dir(self, kind):
        r = self.r
        dirs = self.misc_dirs.get(kind) or self.code_dirs
        slot = dirs[r.randrange(len(dirs))]
        if slot[1] >= self.tree.files_per_dir:
            # The directory is full: open a nested one under it.
            child = "%s/%s" % (slot[0], r.choice(self.gen.vocab.snake))
            if self.lang == "node" and kind in ("js", "ts"):
                child = "%s/%s" % (slot[0], r.choice(self.gen.vocab.camel))
            slot = [child, 0]
            dirs.append(slot)
        slot[1] += 1
        return slot[0]

    def file_name(self, kind, d):
        r = self.r
        v = self.gen.vocab
        if kind == "java":
            return r.choice(v.pascal) + ".java"
        if kind in ("js", "ts") and self.lang == "node":
            if d.startswith("test"):
                return r.choice(v.camel) + (".test" + EXT[kind])
            return r.choice(v.camel) + (".tsx" if kind == "ts" and "components" in d else EXT[kind])
        if kind == "env":
            return r.choice([".env", ".env.staging", ".env.production", ".env.local"])
        if kind == "py" and d == "tests":
            return "test_" + r.choice(v.snake) + ".py"
        if kind == "go" and r.random() < 0.2:
            return r.choice(v.snake) + "_test.go"
        return r.choice(v.snake) + EXT[kind]

    def unique(self, rel):
        base, ext = os.path.splitext(rel)
        n = 2
        while rel in self.tree.counts:
            if not ext or os.path.basename(base).startswith("."):  # .env.production.2
                rel = "%s%s.%d" % (base, ext, n)
            else:
                rel = "%s_%d%s" % (base, n, ext)
            n += 1
        self.tree.counts[rel] = 1
        return rel

    def content(self, kind, size):
        g = self.gen
        c = self.ctx
        return {
            "py": g.python, "rs": g.rust, "go": g.golang, "java": g.java,
            "js": lambda t, x: g.javascript(t, x, ts=False), "ts": lambda t, x: g.javascript(t, x, ts=True),
            "md": g.markdown, "yaml": g.yaml, "json": g.json_config, "fixture": g.json_fixture,
            "sh": g.shell, "sql": g.sql, "png": g.png, "toml": g.toml, "css": g.css,
            "properties": g.properties, "env": g.dotenv, "minjs": g.minified,
        }[kind](size, c)

    def ordinary_size(self, kind):
        r = self.r
        if kind == "png":
            return int(min(200_000, max(600, r.lognormvariate(9.3, 1.0))))
        if kind in ("json", "env", "toml", "properties"):
            return int(min(20_000, max(200, r.lognormvariate(7.0, 0.8))))
        if kind == "fixture":
            return int(min(300_000, max(2000, r.lognormvariate(10.0, 1.0))))
        # Code, docs, YAML: median ~4.5 KB, most between 1 and 10 KB, a long tail.
        return int(min(250_000, max(300, r.lognormvariate(8.4, 0.85))))

    def write(self, rel, content):
        rel = self.unique("%s/%s" % (self.name, rel))
        return rel, self.tree.write(rel, content)

    def root_files(self):
        g = self.gen
        r = self.r
        c = self.ctx
        lang = self.lang
        self.write("README.md", g.markdown(r.randrange(2000, 12000), c))
        self.write(".gitignore", "target/\n__pycache__/\n*.pyc\n.venv/\ncoverage/\n*.log\n.DS_Store\n")
        self.write("Dockerfile", g.dockerfile(0, c))
        self.write("Makefile", g.makefile(0, c))
        self.write(".github/workflows/ci.yml", self._workflow())
        if r.random() < 0.6:
            self.write("docker-compose.yml", self._compose())
        self.write(".env.example", g.dotenv(r.randrange(300, 1500), c))
        self.write("LICENSE", "MIT License\n\nCopyright (c) 20%d %s\n\n" % (r.randrange(15, 25), r.choice(ORGS).title())
                   + "Permission is hereby granted, free of charge, to any person obtaining a copy\n" * 8)
        lock_size = int(min(2_000_000, max(20_000, r.lognormvariate(12.3, 0.9))))
        if lang == "python":
            self.write("pyproject.toml", g.toml(0, c))
            self.write("poetry.lock", g.poetry_lock(lock_size, c))
        elif lang == "rust":
            self.write("Cargo.toml", g.toml(0, c))
            self.write("Cargo.lock", g.cargo_lock(lock_size, c))
        elif lang == "node":
            self.write("package.json", g.json_config(0, c))
            self.write("tsconfig.json", '{\n  "compilerOptions": {\n    "target": "ES2022",\n    "module": "ESNext",\n'
                                        '    "strict": true,\n    "outDir": "dist"\n  }\n}\n')
            if r.random() < 0.6:
                self.write("package-lock.json", g.package_lock(lock_size, c))
            else:
                self.write("yarn.lock", g.yarn_lock(lock_size, c))
        elif lang == "go":
            self.write("go.mod", "module github.com/%s/%s\n\ngo 1.22\n\nrequire (\n%s)\n"
                       % (r.choice(ORGS), self.name, "".join("\t%s v%s\n" % (m, g.fl.fill("«ver»")) for m in GOMODS)))
            self.write("go.sum", g.go_sum(lock_size // 3, c))
        elif lang == "java":
            self.write("build.gradle", g.fl.fill("plugins {\n    id 'org.springframework.boot' version '3.2.5'\n}\n"
                                                 "group = 'com.«org»'\nversion = '«ver»'\n"))
            self.write("src/main/resources/application.yml", g.yaml(r.randrange(1000, 5000), c))

    def _workflow(self):
        return self.gen.fl.fill(
            "name: CI\n\non:\n  push:\n    branches: [main]\n  pull_request:\n\njobs:\n  test:\n"
            "    runs-on: ubuntu-latest\n    env:\n      GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}\n"
            "      «E»: ${{ secrets.«E» }}\n    steps:\n      - uses: actions/checkout@v4\n"
            "      - run: make test\n      - run: make lint\n")

    def _compose(self):
        return self.gen.fl.fill(
            "services:\n  app:\n    build: .\n    environment:\n"
            "      DATABASE_URL: postgres://${POSTGRES_USER}:${POSTGRES_PASSWORD}@db:5432/«app»\n"
            "      SECRET_KEY: ${SECRET_KEY}\n  db:\n    image: postgres:16\n    environment:\n"
            "      POSTGRES_PASSWORD: postgres\n")

    def ordinary_file(self):
        r = self.r
        mix = KIND_MIX[self.lang]
        kind = r.choices([k for k, _ in mix], [w for _, w in mix])[0]
        size = self.ordinary_size(kind)
        d = self.pick_dir(kind)
        return self.write("%s/%s" % (d, self.file_name(kind, d)), self.content(kind, size))

    def big_file(self, room):
        """A 1-2 MB file: a bundle, a fixture, or generated code."""
        r = self.r
        g = self.gen
        size = min(r.randrange(1_000_000, 2_000_000), room)
        roll = r.random()
        if roll < 0.4 and g.real and g.minjs_bytes + size > MINJS_SHARE * g.target:
            roll = 0.4 + roll * 1.5  # over the bundle budget: a fixture or generated code
        if roll < 0.4:
            rel = "public/static/js/main.%s.min.js" % ("%08x" % r.getrandbits(32))
            text = g.minified(size, self.ctx)
            g.minjs_bytes += len(text)
            return self.write(rel, text)
        if roll < 0.7:
            return self.write("testdata/%s_large.json" % r.choice(self.gen.vocab.snake),
                              self.gen.json_fixture(size, self.ctx))
        kind = {"python": "py", "rust": "rs", "go": "go", "java": "java", "node": "ts"}[self.lang]
        name = {"py": "schema_pb2.py", "rs": "generated.rs", "go": "api.pb.go", "java": "Generated.java",
                "ts": "generated.ts"}[kind]
        d = self.code_dirs[0][0]
        return self.write("%s/%s" % (d, name), self.content(kind, size))

    def planted_file(self, file_kind, snippet):
        """A file with a planted secret; returns its relative path and text."""
        r = self.r
        g = self.gen
        c = self.ctx
        v = g.vocab
        if file_kind == "env":
            text = g.dotenv(r.randrange(500, 2500), c)
            return self._insert("deploy/env/.env.production", text, snippet)
        if file_kind == "aws-credentials":
            return "deploy/aws/credentials", "# %s\n%s\n" % (r.choice(v.sentences), snippet)
        if file_kind == "workflow":
            text = self._workflow()
            return ".github/workflows/release.yml", text.replace("    env:\n", "    env:\n" + snippet + "\n", 1)
        if file_kind == "compose-url":
            text = self._compose()
            return "docker-compose.prod.yml", text.replace("    environment:\n", "    environment:\n" + snippet + "\n", 1)
        if file_kind == "pem":
            return "deploy/keys/%s_rsa.pem" % r.choice(v.snake), snippet + "\n"
        if file_kind == "minjs":
            text = g.minified(r.randrange(200_000, 600_000), c)
            lines = text.split("\n")
            li = max(1, len(lines) // 2)
            line = lines[li]
            cut = line.find(";", len(line) // 2)
            cut = cut + 1 if cut >= 0 else len(line)
            lines[li] = line[:cut] + 'var mapsConfig={apiKey:"%s",libraries:["places"]};' % snippet + line[cut:]
            text = "\n".join(lines)
            g.minjs_bytes += len(text)
            return "public/static/js/vendor.%08x.min.js" % r.getrandbits(32), text
        if file_kind == "json-config":
            text = ('{\n  "release": {\n    "owner": "%s",\n    "repo": "%s",\n    "token": "%s",\n'
                    '    "draft": false\n  },\n  "buildId": "%s"\n}\n' % (r.choice(ORGS), self.name, snippet, uuid(r)))
            return "config/release.json", text
        if file_kind == "yaml":
            return self._insert("config/%s.yaml" % r.choice(v.snake), g.yaml(r.randrange(2000, 8000), c), snippet,
                                yaml_top=True)
        kind = file_kind
        text = self.content(kind, r.randrange(3000, 12000))
        native = {"py": "python", "rs": "rust", "go": "go", "java": "java", "js": "node", "ts": "node"}
        if kind == "md":
            d = "docs"
        elif native.get(kind) == self.lang:
            d = self.code_dirs[r.randrange(len(self.code_dirs))][0]
        else:
            # A file in another language than the repository's: put it
            # where such files live in a mixed repository.
            tool = r.choice(v.snake)
            d = {"py": "scripts", "rs": "tools/%s/src" % tool, "go": "tools/%s" % tool,
                 "java": "android/app/src/main/java/com/%s/%s" % (r.choice(ORGS), c["pkg"]),
                 "js": "web/src", "ts": "web/src"}[kind]
        name = self.file_name(kind, d)
        return self._insert("%s/%s" % (d, name), text, snippet, java=(kind == "java"), md=(kind == "md"))

    def _insert(self, rel, text, snippet, java=False, yaml_top=False, md=False):
        """Insert the snippet between two top-level blocks (after a blank line
        in the middle of the file) so the code stays well-formed."""
        if yaml_top:
            pos = text.find("\n\n", len(text) // 2)
            pos = len(text) if pos < 0 else pos + 2
            return rel, text[:pos].rstrip("\n") + "\n" + snippet + "\n" + text[pos:]
        if md:
            pos = text.find("\n\n## ", len(text) // 2)
            pos = text.find("\n\n## ") if pos < 0 else pos
            if pos < 0:
                return rel, text + "\n" + snippet + "\n"
            return rel, text[:pos + 2] + snippet + "\n\n" + text[pos + 2:]
        if java:
            pos = text.find("\n    /**", len(text) // 3)
            pos = text.find("\n    /**") if pos < 0 else pos
            return rel, text[:pos + 1] + snippet + "\n" + text[pos + 1:]
        pos = text.find("\n\n", len(text) // 2)
        if pos < 0:
            return rel, text + snippet + "\n"
        # Skip blank lines inside blocks: take a blank line followed by a
        # column-0 line (a new top-level block).
        while pos >= 0 and (pos + 2 >= len(text) or text[pos + 2] in " \t\n}])"):
            pos = text.find("\n\n", pos + 1)
        if pos < 0:
            return rel, text + snippet + "\n"
        return rel, text[:pos + 2] + snippet + "\n\n" + text[pos + 2:]


def line_of(text, needle):
    idx = text.find(needle)
    if idx < 0:
        raise AssertionError("planted secret missing from its file: %r" % needle[:20])
    return text.count("\n", 0, idx) + 1, idx - (text.rfind("\n", 0, idx) + 1) + 1


def generate(out_dir, size_mb, seed, files_per_dir, density="real"):
    rng = random.Random(seed)
    target = int(size_mb * MIB)
    gen = Gen(rng, density, target)
    tree = Tree(out_dir, files_per_dir)
    plants = make_plants(random.Random(seed * 7919 + 17))
    # Plant i becomes due when (i + 0.5) / len(plants) of the bytes are written.
    due = [int(target * (i + 0.5) / len(plants)) for i in range(len(plants))]
    manifest = []
    next_plant = 0
    repo_names = set()
    langs = [l for l, _ in LANG_WEIGHTS]
    weights = [w for _, w in LANG_WEIGHTS]
    lang_bytes = dict.fromkeys(langs, 0)

    while tree.bytes < target:
        # The language furthest below its share of the bytes so far, so that
        # even a small corpus has the LANG_WEIGHTS mix.
        lang = max(langs, key=lambda l: weights[langs.index(l)] * (tree.bytes + 1) - lang_bytes[l])
        before = tree.bytes
        name = "%s-%s" % (rng.choice(ORGS), rng.choice(APPS))
        while name in repo_names:
            name = "%s-%s-%d" % (rng.choice(ORGS), rng.choice(APPS), rng.randrange(2, 99))
        repo_names.add(name)
        repo = RepoBuilder(gen, tree, name, lang)
        budget = min(target - tree.bytes, int(rng.uniform(3, 15) * MIB), max(target // 6, MIB))
        end = tree.bytes + budget
        repo.root_files()
        bigs = 0
        if budget > 4 * MIB:
            bigs = rng.choice([0, 1, 1, 2])
        while tree.bytes < end:
            if bigs and end - tree.bytes > 1_200_000 and rng.random() < 0.01:
                repo.big_file(end - tree.bytes)
                bigs -= 1
            else:
                repo.ordinary_file()
            while next_plant < len(plants) and tree.bytes >= due[next_plant]:
                file_kind, snippet, secrets = plants[next_plant]
                rel, text = repo.planted_file(file_kind, snippet)
                rel, _ = repo.write(rel, text)
                for kind, rule_id, needle in secrets:
                    line, col = line_of(text, needle)
                    manifest.append({"kind": kind, "rule_id": rule_id, "path": rel, "line": line,
                                     "column": col, "secret": needle if kind != "private-key" else None})
                next_plant += 1
        lang_bytes[lang] += tree.bytes - before
    # Tiny corpora: whatever was not yet due goes into one last repository.
    if next_plant < len(plants):
        repo = RepoBuilder(gen, tree, "zz-late-plants", "python")
        for file_kind, snippet, secrets in plants[next_plant:]:
            rel, text = repo.planted_file(file_kind, snippet)
            rel, _ = repo.write(rel, text)
            for kind, rule_id, needle in secrets:
                line, col = line_of(text, needle)
                manifest.append({"kind": kind, "rule_id": rule_id, "path": rel, "line": line,
                                 "column": col, "secret": needle if kind != "private-key" else None})
    for entry in manifest:
        if entry["secret"] is None:
            del entry["secret"]
    return tree, manifest


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out_dir", metavar="OUT_DIR")
    ap.add_argument("--size-mb", type=float, default=200.0, help="corpus size in MiB (default 200)")
    ap.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    ap.add_argument("--files-per-dir", type=int, default=200,
                    help="at most this many files per directory before nesting (default 200)")
    ap.add_argument("--keyword-density", choices=["real", "heavy"], default="real",
                    help="real: credential words (key, token, secret, password, auth...) in about "
                         "2-3%% of the lines, as in real code (default); heavy: the earlier stress "
                         "corpus, some ten times denser")
    ap.add_argument("--manifest", metavar="FILE",
                    help="where to write the planted-secrets list (default OUT_DIR/../<name>.planted.json)")
    ap.add_argument("--force", action="store_true", help="delete OUT_DIR first if it exists")
    args = ap.parse_args(argv)

    out_dir = os.path.abspath(args.out_dir)
    if os.path.exists(out_dir):
        if not args.force and os.listdir(out_dir):
            ap.error("%s exists and is not empty (use --force to regenerate)" % args.out_dir)
        shutil.rmtree(out_dir)
    os.makedirs(out_dir)
    manifest_path = args.manifest or os.path.join(os.path.dirname(out_dir),
                                                  os.path.basename(out_dir) + ".planted.json")
    start = time.time()
    tree, manifest = generate(out_dir, args.size_mb, args.seed, max(1, args.files_per_dir),
                              args.keyword_density)
    with open(os.path.abspath(__file__), "rb") as fh:
        generator = hashlib.sha256(fh.read()).hexdigest()
    doc = {"corpus": os.path.basename(out_dir), "generator_sha256": generator,
           "seed": args.seed, "size_mb": args.size_mb, "keyword_density": args.keyword_density,
           "files_per_dir": args.files_per_dir, "bytes": tree.bytes, "files": tree.files,
           "planted": manifest}
    with open(manifest_path, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, indent=2)
        fh.write("\n")
    print("wrote %d files, %.1f MiB, %d planted secrets in %.1fs -> %s (manifest %s)"
          % (tree.files, tree.bytes / MIB, len(manifest), time.time() - start, args.out_dir, manifest_path),
          file=sys.stderr)


if __name__ == "__main__":
    main()
