//! Detach keys: the key sequence that leaves an attached terminal (`--detach-keys`
//! on the CLI, `detachKeys` in the API) and its matching in typed input.
//!
//! The syntax is docker's and podman's: a comma-separated list of `ctrl-<x>`
//! (`x` one of `a`–`z`, `@`, `[`, `\`, `]`, `^`, `_`), `DEL`, or a single
//! character; `""` means no detach keys. The default is `ctrl-p,ctrl-q`.
//!
//! Matching is theirs too: a key of the sequence counts only when it comes
//! alone in one read (typed, not pasted). Held keys go on to the container,
//! with what followed, as soon as a read does not continue the sequence; the
//! byte that broke it is not taken as a new start.

/// The control keys by name: `ctrl-@` is 0, `ctrl-a` 1, ... `ctrl-_` 31.
const CTRL_NAMES: &[u8; 32] = b"@abcdefghijklmnopqrstuvwxyz[\\]^_";

/// A detach key sequence (empty: detaching is off).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys(Vec<u8>);

impl Default for Keys {
    /// docker's and podman's default, ctrl-p ctrl-q.
    fn default() -> Self {
        Keys(vec![0x10, 0x11])
    }
}

/// A key list that does not parse: the whole value and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadKeys {
    /// The value as given.
    pub value: String,
    /// What is wrong with it.
    pub reason: String,
}

impl BadKeys {
    /// The message for the flag or field `field` (`--detach-keys`, `detachKeys`).
    pub fn message(&self, field: &str) -> String {
        format!("invalid `{field}` value `{}`: {}", self.value, self.reason)
    }
}

/// One key of a list: its byte.
fn key(k: &str) -> Option<u8> {
    if let Some(name) = k.strip_prefix("ctrl-") {
        let [c] = name.as_bytes() else {
            return None;
        };
        return CTRL_NAMES
            .iter()
            .position(|n| n == c)
            .and_then(|p| u8::try_from(p).ok());
    }
    match k.as_bytes() {
        b"DEL" => Some(0x7f),
        [c] if c.is_ascii() => Some(*c),
        _ => None,
    }
}

impl Keys {
    /// No detach keys (`""`).
    pub fn none() -> Keys {
        Keys(Vec::new())
    }

    /// Parses a key list (`""`: none).
    pub fn parse(value: &str) -> Result<Keys, BadKeys> {
        if value.is_empty() {
            return Ok(Keys::none());
        }
        let mut seq = Vec::new();
        for k in value.split(',') {
            match key(k) {
                Some(b) => seq.push(b),
                None => {
                    let what = if k.is_empty() {
                        "an empty key (a comma too many)".to_string()
                    } else {
                        format!("`{k}` is not a key")
                    };
                    return Err(BadKeys {
                        value: value.to_string(),
                        reason: format!(
                            "{what}: want a comma-separated list of ctrl-<x> \
                             (x one of a-z @ [ \\ ] ^ _), DEL or single characters, \
                             or \"\" for none"
                        ),
                    });
                }
            }
        }
        Ok(Keys(seq))
    }

    /// Whether detaching is off.
    pub fn is_none(&self) -> bool {
        self.0.is_empty()
    }

    /// The sequence's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// The list as [`Keys::parse`] reads it back (what the CLI passes to the
    /// daemon): `ctrl-<x>` for a control key, `DEL`, the character otherwise.
    pub fn spec(&self) -> String {
        let names: Vec<String> = self
            .0
            .iter()
            .map(|&b| match CTRL_NAMES.get(usize::from(b)) {
                Some(n) => format!("ctrl-{}", char::from(*n)),
                None if b == 0x7f => "DEL".to_string(),
                None => char::from(b).to_string(),
            })
            .collect();
        names.join(",")
    }

    /// A matcher over typed input; `None` when detaching is off.
    pub fn matcher(&self) -> Option<Matcher> {
        (!self.is_none()).then(|| Matcher {
            keys: self.0.clone(),
            pos: 0,
        })
    }
}

/// The detach sequence in typed input, one read at a time.
#[derive(Debug, Clone)]
pub struct Matcher {
    keys: Vec<u8>,
    /// How many keys of the sequence are held.
    pos: usize,
}

impl Default for Matcher {
    /// ctrl-p ctrl-q.
    fn default() -> Self {
        Matcher {
            keys: Keys::default().0,
            pos: 0,
        }
    }
}

impl Matcher {
    /// One read of typed input: the bytes to pass on and whether the sequence is
    /// complete (then nothing of it is passed on).
    pub fn feed(&mut self, input: &[u8]) -> (Vec<u8>, bool) {
        match (input, self.keys.get(self.pos)) {
            ([b], Some(want)) if b == want => {
                self.pos += 1;
                if self.pos == self.keys.len() {
                    self.pos = 0;
                    return (Vec::new(), true);
                }
                (Vec::new(), false)
            }
            _ => {
                let held = self.keys.get(..self.pos).unwrap_or_default();
                let mut out = Vec::with_capacity(held.len() + input.len());
                out.extend_from_slice(held);
                out.extend_from_slice(input);
                self.pos = 0;
                (out, false)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: &str) -> Vec<u8> {
        Keys::parse(v).unwrap().bytes().to_vec()
    }

    #[test]
    fn lists_of_control_keys_characters_and_none() {
        assert_eq!(parse("ctrl-p,ctrl-q"), [0x10, 0x11]);
        assert_eq!(parse("ctrl-a,x"), [0x01, b'x']);
        assert_eq!(parse("q"), b"q");
        assert_eq!(parse(" "), b" ");
        assert_eq!(
            parse("ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_,ctrl-z"),
            [0, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x1a]
        );
        assert_eq!(parse("DEL"), [0x7f]);
        assert!(Keys::parse("").unwrap().is_none());
        assert_eq!(Keys::default().bytes(), [0x10, 0x11]);
    }

    #[test]
    fn bad_lists_name_the_key() {
        for (v, k) in [
            ("ctrl-zz", "ctrl-zz"),
            ("ctrl-", "ctrl-"),
            ("ctrl-A", "ctrl-A"),
            ("ctrl-1", "ctrl-1"),
            ("ab", "ab"),
            ("é", "é"),
            ("ctrl-p,", ""),
            (",x", ""),
            ("ctrl-p,,x", ""),
            ("del", "del"),
        ] {
            let e = Keys::parse(v).unwrap_err();
            assert_eq!(e.value, v);
            let what = if k.is_empty() {
                "an empty key".to_string()
            } else {
                format!("`{k}` is not a key")
            };
            assert!(e.reason.starts_with(&what), "{v}: {e:?}");
            let m = e.message("--detach-keys");
            assert!(
                m.starts_with(&format!("invalid `--detach-keys` value `{v}`")),
                "{m}"
            );
        }
    }

    #[test]
    fn spec_reads_back_as_the_same_keys() {
        for v in [
            "ctrl-p,ctrl-q",
            "ctrl-a,x",
            "q",
            "ctrl-@,ctrl-_,DEL, ",
            "ctrl-\\,~",
        ] {
            let k = Keys::parse(v).unwrap();
            assert_eq!(Keys::parse(&k.spec()).unwrap(), k, "{v}");
        }
        assert_eq!(Keys::parse("ctrl-a,x").unwrap().spec(), "ctrl-a,x");
        assert_eq!(Keys::parse("\u{1}").unwrap().spec(), "ctrl-a");
        assert_eq!(Keys::none().spec(), "");
        assert!(Keys::none().matcher().is_none());
    }

    #[test]
    fn keys_typed_one_at_a_time_detach() {
        let mut m = Keys::parse("ctrl-a,x").unwrap().matcher().unwrap();
        assert_eq!(m.feed(b"ls\r"), (b"ls\r".to_vec(), false));
        assert_eq!(m.feed(b"\x01"), (vec![], false));
        assert_eq!(m.feed(b"x"), (vec![], true));
        // one key: at once
        let mut m = Keys::parse("q").unwrap().matcher().unwrap();
        assert_eq!(m.feed(b"q"), (vec![], true));
    }

    #[test]
    fn a_partial_sequence_goes_on_with_what_followed() {
        let mut m = Keys::parse("ctrl-a,x").unwrap().matcher().unwrap();
        assert_eq!(m.feed(b"\x01"), (vec![], false));
        assert_eq!(m.feed(b"y"), (b"\x01y".to_vec(), false));
        // the key that broke the sequence is not a new start (docker, podman)
        assert_eq!(m.feed(b"\x01"), (vec![], false));
        assert_eq!(m.feed(b"\x01"), (b"\x01\x01".to_vec(), false));
        assert_eq!(m.feed(b"x"), (b"x".to_vec(), false));
        // three keys, broken at the third
        let mut m = Keys::parse("ctrl-a,ctrl-b,ctrl-c")
            .unwrap()
            .matcher()
            .unwrap();
        assert_eq!(m.feed(b"\x01"), (vec![], false));
        assert_eq!(m.feed(b"\x02"), (vec![], false));
        assert_eq!(m.feed(b"z"), (b"\x01\x02z".to_vec(), false));
    }

    #[test]
    fn keys_in_a_longer_read_are_input() {
        let mut m = Matcher::default();
        assert_eq!(m.feed(b"\x10\x11"), (b"\x10\x11".to_vec(), false));
        assert_eq!(m.feed(b"ab\x10"), (b"ab\x10".to_vec(), false));
        // a held key goes on with a longer read that follows it
        assert_eq!(m.feed(b"\x10"), (vec![], false));
        assert_eq!(m.feed(b"\x11\x11"), (b"\x10\x11\x11".to_vec(), false));
        assert_eq!(m.feed(b"\x10"), (vec![], false));
        assert_eq!(m.feed(b"\x11"), (vec![], true));
    }
}
