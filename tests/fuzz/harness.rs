//! A small deterministic mutation fuzzer (no nightly, no extra crates).
//!
//! Each target takes a seed corpus from `tests/fuzz/corpus/<target>/`, runs
//! every seed as is (they double as regression cases), then mutates them:
//! byte edits, dictionary tokens, and for JSON seeds structural edits that
//! swap a value for one of the bad-value classes (empty, huge, negative,
//! overflow, traversal, unicode, wrong type, unknown field).
//!
//! Knobs (environment):
//! - `K3_FUZZ_CASES`: mutated cases per target (default 500, `make fuzz` many more)
//! - `K3_FUZZ_SECS`: wall-clock cap per target (default 60)
//! - `K3_FUZZ_SEED`: the PRNG seed (default fixed, so runs repeat)
//! - `K3_FUZZ_HANG_SECS`: one case taking longer than this is a hang (default 10)
//!
//! A panic or a hang writes the input to `target/fuzz-out/<target>-*.bin` and
//! fails the test with the input in the message.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

static ACCEPTED: AtomicU64 = AtomicU64::new(0);

/// Counts an input that got through every check (reported per target, to see
/// that the mutations reach past the parsers). Targets run in parallel, so the
/// count is shared and approximate when several run at once.
pub fn accepted() {
    ACCEPTED.fetch_add(1, Ordering::Relaxed);
}

/// xorshift64*: tiny, deterministic, good enough for mutation choices.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// A number in `0..n` (`0` when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            // below n, so it fits
            usize::try_from(self.next() % n as u64).unwrap_or(0)
        }
    }
    pub fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
    pub fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len())]
    }
}

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The repository's corpus of `target`, sorted by name (empty when absent).
pub fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().is_file())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap_or_default(),
            )
        })
        .collect();
    out.sort();
    out
}

fn out_dir() -> PathBuf {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/fuzz-out");
    let _ = std::fs::create_dir_all(&d);
    d
}

fn show(input: &[u8]) -> String {
    let s = String::from_utf8_lossy(&input[..input.len().min(600)]).into_owned();
    format!("{s:?}{}", if input.len() > 600 { " ..." } else { "" })
}

/// The bad-value classes, as JSON values.
pub fn bad_values(r: &mut Rng) -> Value {
    let huge = "A".repeat(1 << (10 + r.below(7)));
    let choices: Vec<Value> = vec![
        Value::from(""),
        Value::from(huge),
        Value::from(-1),
        Value::from(0),
        Value::from(i64::MIN),
        Value::from(i64::MAX),
        Value::from(u64::MAX),
        Value::from(u64::from(u32::MAX) + 1),
        Value::from(i64::from(i32::MIN) - 1),
        serde_json::json!(1e308),
        serde_json::json!(-1e308),
        serde_json::json!(0.5),
        serde_json::json!(-0.0),
        Value::from("../../../../etc/passwd"),
        Value::from("/"),
        Value::from("."),
        Value::from(".."),
        Value::from("a/../../b"),
        Value::from("\u{0}"),
        Value::from("x\u{0}y"),
        Value::from("héllo-世界-🙂"),
        Value::from("\u{202e}rtl"),
        Value::from("-1"),
        Value::from("18446744073709551616"),
        Value::from("99999999999999999999999"),
        Value::from("-9223372036854775809"),
        Value::from("1e400"),
        Value::from("NaN"),
        Value::from(" "),
        Value::from("a=b"),
        Value::from("=x"),
        Value::from(":"),
        Value::from("::::"),
        Value::from("a:b:c:d"),
        Value::from("%2e%2e/"),
        Value::from("\n"),
        Value::Bool(true),
        Value::Null,
        serde_json::json!([]),
        serde_json::json!({}),
        serde_json::json!([null, 1, "x"]),
        serde_json::json!({"zzUnknown": 1}),
    ];
    r.pick(&choices).clone()
}

/// Every JSON pointer in `v` (capped), the root included.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    if out.len() > 4000 {
        return;
    }
    out.push(at.clone());
    match v {
        Value::Object(m) => {
            for (k, c) in m {
                let k = k.replace('~', "~0").replace('/', "~1");
                pointers(c, format!("{at}/{k}"), out);
            }
        }
        Value::Array(a) => {
            for (i, c) in a.iter().enumerate() {
                pointers(c, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// One structural edit of a JSON document. `keys` are field names worth adding.
pub fn mutate_json(v: &mut Value, r: &mut Rng, keys: &[&str]) {
    let mut ptrs = Vec::new();
    pointers(v, String::new(), &mut ptrs);
    let p = r.pick(&ptrs).clone();
    let Some(node) = v.pointer_mut(&p) else {
        return;
    };
    match r.below(10) {
        0..=3 => *node = bad_values(r),
        4 => match node {
            Value::Object(m) if !m.is_empty() => {
                let k = m.keys().nth(r.below(m.len())).cloned().unwrap_or_default();
                m.remove(&k);
            }
            Value::Array(a) if !a.is_empty() => {
                let i = r.below(a.len());
                a.remove(i);
            }
            _ => *node = bad_values(r),
        },
        5 | 6 => {
            // add a field: a known name (to reach deeper code) or an unknown one
            let key = if !keys.is_empty() && !r.chance(4) {
                r.pick(keys).to_string()
            } else {
                "zzUnknownField".to_string()
            };
            let val = if r.chance(2) {
                bad_values(r)
            } else {
                // a copy of another node of the document
                let q = r.pick(&ptrs).clone();
                v.pointer(&q).cloned().unwrap_or(Value::Null)
            };
            if let Some(Value::Object(m)) = v.pointer_mut(&p) {
                m.insert(key, val);
            } else if let Some(Value::Array(a)) = v.pointer_mut(&p) {
                a.push(val);
            }
        }
        7 => {
            if let Value::Array(a) = node {
                if let Some(first) = a.first().cloned() {
                    let n = 1 + r.below(64);
                    a.extend(std::iter::repeat_n(first, n));
                }
            } else if let Value::String(s) = node {
                let add = ["/..", "\u{0}", "é", ":", "=", "/", " ", "\"", "\\"];
                for _ in 0..1 + r.below(4) {
                    let tok: &str = add[r.below(add.len())];
                    s.push_str(tok);
                }
            } else {
                *node = Value::Array(vec![node.clone()]);
            }
        }
        8 => {
            // deep nesting (serde_json stops at 128 levels)
            let mut n = node.clone();
            for _ in 0..r.below(140) {
                n = if r.chance(2) {
                    Value::Array(vec![n])
                } else {
                    serde_json::json!({ "a": n })
                };
            }
            *node = n;
        }
        _ => {
            if let Value::Number(n) = node {
                let f = n.as_f64().unwrap_or(0.0);
                // deliberately lossy: numbers just outside what a field takes
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let (as_i64, as_u64) = (f as i64, f as u64);
                *node = match r.below(4) {
                    0 => Value::from(-as_i64.saturating_add(1)),
                    1 => Value::from(as_u64.wrapping_mul(1 << 20)),
                    2 => serde_json::json!(f * 1e10),
                    _ => Value::from(f.to_string()),
                };
            } else {
                *node = bad_values(r);
            }
        }
    }
}

/// One byte-level edit; `dict` tokens are spliced in.
pub fn mutate_bytes(b: &mut Vec<u8>, r: &mut Rng, dict: &[&str], max_len: usize) {
    let len = b.len();
    match r.below(8) {
        0 if len > 0 => {
            let i = r.below(len);
            b[i] ^= 1 << r.below(8);
        }
        1 if len > 0 => {
            let i = r.below(len);
            b[i] = *r.pick(&[
                0u8, 0xff, b'/', b'.', b':', b'"', b'\\', b'-', b'0', b'9', b'@',
            ]);
        }
        2 if len > 0 => {
            let i = r.below(len);
            let n = 1 + r.below((len - i).min(16));
            b.drain(i..i + n);
        }
        3 if len > 0 => {
            let i = r.below(len);
            let n = 1 + r.below((len - i).min(32));
            let chunk = b[i..i + n].to_vec();
            let at = r.below(len + 1);
            for _ in 0..1 + r.below(8) {
                b.splice(at..at, chunk.iter().copied());
            }
        }
        4 | 5 if !dict.is_empty() => {
            let at = r.below(len + 1);
            b.splice(at..at, r.pick(dict).bytes());
        }
        6 => {
            let at = r.below(len + 1);
            let n = 1 + r.below(8);
            let bytes: Vec<u8> = (0..n).map(|_| r.next().to_le_bytes()[0]).collect();
            b.splice(at..at, bytes);
        }
        _ if len > 0 => {
            b.truncate(r.below(len));
        }
        _ => b.push(r.next().to_le_bytes()[0]),
    }
    b.truncate(max_len);
}

/// What a target does with one input. Returns `Err(msg)` when a property fails
/// (a panic is caught and reported the same way).
pub type Check<'a> = dyn Fn(&[u8]) -> Result<(), String> + 'a;

/// How a target mutates its seeds.
pub struct Target<'a> {
    pub name: &'a str,
    /// Field names worth adding to JSON seeds.
    pub keys: &'a [&'a str],
    /// Tokens spliced into the bytes.
    pub dict: &'a [&'a str],
    /// Longest input tried.
    pub max_len: usize,
    /// Structural JSON edits (else byte edits only).
    pub json: bool,
    /// Extra seeds made in code (besides the corpus directory).
    pub extra: Vec<Vec<u8>>,
}

/// The number of mutated cases this run makes per target.
pub fn cases() -> u64 {
    env_num("K3_FUZZ_CASES", 500)
}

/// Runs the seeds, then mutated cases, of `t` through `check`.
pub fn run(t: Target<'_>, check: &Check<'_>) {
    run_with(t, &mut |_, b| b, check);
}

/// As [`run`], with `post` applied to each mutated input (e.g. to fix up a checksum).
pub fn run_with(
    t: Target<'_>,
    post: &mut dyn FnMut(&mut Rng, Vec<u8>) -> Vec<u8>,
    check: &Check<'_>,
) {
    let cases = cases();
    let secs = env_num("K3_FUZZ_SECS", 60);
    let hang = Duration::from_secs(env_num("K3_FUZZ_HANG_SECS", 10));
    let seed = env_num("K3_FUZZ_SEED", 0x6b33_f022);
    let mut r = Rng::new(
        seed ^ t
            .name
            .bytes()
            .fold(0u64, |a, c| a.rotate_left(5) ^ u64::from(c)),
    );
    let mut seeds: Vec<Vec<u8>> = corpus(t.name).into_iter().map(|(_, b)| b).collect();
    seeds.extend(t.extra.iter().cloned());
    assert!(!seeds.is_empty(), "fuzz target {}: no seeds", t.name);

    // the watchdog: a case that does not finish in `hang` aborts the run with its input
    let current: Arc<Mutex<Vec<u8>>> = Arc::default();
    let progress = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let dog = {
        let (current, progress, done) = (current.clone(), progress.clone(), done.clone());
        let name = t.name.to_string();
        std::thread::spawn(move || {
            let mut last = (u64::MAX, Instant::now());
            while !done.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(100));
                let p = progress.load(Ordering::SeqCst);
                if p != last.0 {
                    last = (p, Instant::now());
                } else if last.1.elapsed() > hang {
                    let input = current.lock().map(|c| c.clone()).unwrap_or_default();
                    let f = out_dir().join(format!("{name}-hang.bin"));
                    let _ = std::fs::write(&f, &input);
                    eprintln!(
                        "fuzz target {name}: HANG (> {hang:?}) on input {} (saved to {})",
                        show(&input),
                        f.display()
                    );
                    std::process::abort();
                }
            }
        })
    };

    let start = Instant::now();
    let accepted0 = ACCEPTED.load(Ordering::Relaxed);
    let failures = std::cell::RefCell::new(Vec::<String>::new());
    let one = |input: Vec<u8>, n: u64| {
        if let Ok(mut c) = current.lock() {
            c.clone_from(&input);
        }
        let res = catch_unwind(AssertUnwindSafe(|| check(&input)));
        progress.store(n + 1, Ordering::SeqCst);
        let msg = match res {
            Ok(Ok(())) => return,
            Ok(Err(m)) => format!("property failed: {m}"),
            Err(p) => format!(
                "PANIC: {}",
                p.downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default()
            ),
        };
        let mut failures = failures.borrow_mut();
        let f = out_dir().join(format!("{}-{}.bin", t.name, failures.len()));
        let _ = std::fs::write(&f, &input);
        failures.push(format!(
            "{msg}\n  input {} (saved to {})",
            show(&input),
            f.display()
        ));
    };
    let mut n = 0u64;
    for s in &seeds {
        one(s.clone(), n);
        n += 1;
    }
    let mut tried = 0u64;
    while tried < cases && start.elapsed().as_secs() < secs && failures.borrow().len() < 5 {
        let mut b = r.pick(&seeds).clone();
        let edits = 1 + r.below(4);
        if t.json && !r.chance(5) {
            if let Ok(mut v) = serde_json::from_slice::<Value>(&b) {
                for _ in 0..edits {
                    mutate_json(&mut v, &mut r, t.keys);
                }
                b = serde_json::to_vec(&v).unwrap_or_default();
                if r.chance(6) {
                    mutate_bytes(&mut b, &mut r, t.dict, t.max_len);
                }
            }
        } else {
            for _ in 0..edits {
                mutate_bytes(&mut b, &mut r, t.dict, t.max_len);
            }
        }
        if r.chance(16) {
            // splice two seeds
            let o = r.pick(&seeds);
            let cut = r.below(b.len() + 1);
            b.truncate(cut);
            b.extend_from_slice(&o[r.below(o.len() + 1)..]);
        }
        b.truncate(t.max_len);
        let b = post(&mut r, b);
        one(b, n);
        n += 1;
        tried += 1;
    }
    done.store(true, Ordering::SeqCst);
    let _ = dog.join();
    eprintln!(
        "fuzz target {}: {} seeds + {tried} mutated cases in {:.1}s, ~{} accepted, {} failures",
        t.name,
        seeds.len(),
        start.elapsed().as_secs_f64(),
        ACCEPTED.load(Ordering::Relaxed) - accepted0,
        failures.borrow().len()
    );
    let failures = failures.into_inner();
    assert!(
        failures.is_empty(),
        "fuzz target {}:\n{}",
        t.name,
        failures.join("\n")
    );
}
