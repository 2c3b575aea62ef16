//! Criterion benchmarks of the engine: throughput of `Scanner::scan` over
//! generated source code with the full default rule set, and the cost of a
//! cold start (rule loading + scanner build + first small scan), which is what
//! a pre-commit run pays.

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use keyhound::engine::{Input, Scanner};
use keyhound::rules::RuleSet;

/// Deterministic pseudo-random generator (xorshift), so runs are comparable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

/// Roughly `size` bytes of code-like text. `plain_per_keyword_line` plain
/// lines follow each line drawn from the full set (most of which hold words
/// secret rules key on): 0 gives a keyword-dense stress text, 40 about the
/// 2-3% of keyword lines measured in real code.
fn corpus(size: usize, plain_per_keyword_line: usize) -> Vec<u8> {
    let lines = [
        "    let token = self.lexer.next_token()?;",
        "    if key == \"Authorization\" { return Err(Error::auth(\"missing token\")); }",
        "def get_secret(name: str) -> str:  # reads from the environment",
        "    api_key = os.environ[\"SERVICE_API_KEY\"]",
        "const password = process.env.DB_PASSWORD || '';",
        "    \"integrity\": \"sha512-Z8bqkH6f3zUbbBC4TdUYT6FoQdrbt4CnQ0KqFk8bWkYQK6Z3ZnS1eQ==\",",
        "import { useState, useEffect } from 'react';",
        "    for (i, item) in items.iter().enumerate() { total += item.len() * i; }",
        "# task-runner config: ask-before-merge = true",
        "    checksum = \"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\"",
        "  secret_key_base: <%= ENV[\"SECRET_KEY_BASE\"] %>",
        "func (c *Client) Do(req *http.Request) (*http.Response, error) {",
        "    user_id = uuid.UUID(\"3fa85f64-5717-4562-b3fc-2c963f66afa6\")",
        "",
        "    }",
    ];
    let plain = [
        "import { useState, useEffect } from 'react';",
        "    for (i, item) in items.iter().enumerate() { total += item.len() * i; }",
        "func (c *Client) Do(req *http.Request) (*http.Response, error) {",
        "    user_id = uuid.UUID(\"3fa85f64-5717-4562-b3fc-2c963f66afa6\")",
        "        return self.cache.get(name).map(|entry| entry.value.clone());",
        "",
        "    }",
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut out = Vec::with_capacity(size + 128);
    while out.len() < size {
        out.extend_from_slice(rng.pick(&lines).as_bytes());
        out.push(b'\n');
        for _ in 0..plain_per_keyword_line {
            out.extend_from_slice(rng.pick(&plain).as_bytes());
            out.push(b'\n');
        }
    }
    out
}

fn scan_throughput(c: &mut Criterion) {
    let scanner = Scanner::new(RuleSet::defaults().expect("default rules")).expect("scanner");
    let mut scratch = scanner.scratch();
    let mut matches = Vec::new();
    let mut group = c.benchmark_group("engine");
    for (name, plain_lines) in [("scan_4mib_real_density_code", 40), ("scan_4mib_keyword_dense_code", 0)] {
        let data = corpus(4 << 20, plain_lines);
        group.throughput(Throughput::Bytes(data.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| {
                matches.clear();
                let input = Input { bytes: black_box(&data), path: Some("src/lib.rs"), commit: None, binary: false };
                scanner.scan(input, &mut scratch, &mut matches);
                matches.len()
            })
        });
    }
    group.finish();
}

fn cold_start(c: &mut Criterion) {
    let small = corpus(2 << 10, 40);
    c.bench_function("cold_start_load_build_scan_2kib", |b| {
        b.iter_batched(
            || (),
            |()| {
                let scanner = Scanner::new(RuleSet::defaults().expect("default rules")).expect("scanner");
                let mut matches = Vec::new();
                let input = Input { bytes: &small, path: Some("a.py"), commit: None, binary: false };
                scanner.scan(input, &mut scanner.scratch(), &mut matches);
                matches.len()
            },
            BatchSize::SmallInput,
        )
    });
}

criterion_group!(benches, scan_throughput, cold_start);
criterion_main!(benches);
