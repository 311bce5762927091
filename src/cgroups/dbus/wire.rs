//! D-Bus wire format (little-endian): values, signatures, message headers.

/// A marshalled value. Arrays carry their element signature (an empty array has one).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `y`: one byte.
    Byte(u8),
    /// `b`: a boolean, sent as a 4-byte 0 or 1.
    Bool(bool),
    /// `u`: an unsigned 32-bit integer.
    U32(u32),
    /// `i`: a signed 32-bit integer.
    I32(i32),
    /// `t` (and `x` when read): a 64-bit integer.
    U64(u64),
    /// `s`: a UTF-8 string.
    Str(String),
    /// `o`: an object path.
    Path(String),
    /// `g`: a type signature (at most 255 bytes).
    Sig(String),
    /// `a`: the element signature and the elements.
    Array(String, Vec<Value>),
    /// `(...)` or a dict entry `{...}`: the fields in order.
    Struct(Vec<Value>),
    /// `v`: a value that carries its own signature.
    Variant(Box<Value>),
}

impl Value {
    /// This value's signature.
    pub fn signature(&self) -> String {
        match self {
            Value::Byte(_) => "y".into(),
            Value::Bool(_) => "b".into(),
            Value::U32(_) => "u".into(),
            Value::I32(_) => "i".into(),
            Value::U64(_) => "t".into(),
            Value::Str(_) => "s".into(),
            Value::Path(_) => "o".into(),
            Value::Sig(_) => "g".into(),
            Value::Array(e, _) => format!("a{e}"),
            Value::Struct(v) => format!("({})", v.iter().map(Value::signature).collect::<String>()),
            Value::Variant(_) => "v".into(),
        }
    }

    /// A `Str` holding a copy of `s`.
    pub fn str(s: &str) -> Value {
        Value::Str(s.to_string())
    }

    /// `v` wrapped in a `Variant`.
    pub fn variant(v: Value) -> Value {
        Value::Variant(Box::new(v))
    }
}

/// `n` rounded up to a multiple of `a`.
pub fn padded(n: usize, a: usize) -> usize {
    n.div_ceil(a) * a
}

fn align_of(sig: u8) -> usize {
    match sig {
        b'y' | b'g' | b'v' => 1,
        b'b' | b'u' | b'i' | b's' | b'o' | b'a' => 4,
        b't' | b'x' | b'd' | b'(' | b'{' => 8,
        b'n' | b'q' => 2,
        _ => 1,
    }
}

struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    fn pad(&mut self, a: usize) {
        let n = padded(self.buf.len(), a);
        self.buf.resize(n, 0);
    }

    fn u32(&mut self, v: u32) {
        self.pad(4);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    fn string(&mut self, s: &str) -> Result<(), String> {
        let len = u32::try_from(s.len())
            .map_err(|_| format!("a string of {} bytes (over the 32-bit length)", s.len()))?;
        self.u32(len);
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
        Ok(())
    }

    fn sig(&mut self, s: &str) -> Result<(), String> {
        let len = u8::try_from(s.len())
            .map_err(|_| format!("a signature of {} bytes (over 255)", s.len()))?;
        self.buf.push(len);
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
        Ok(())
    }

    fn value(&mut self, v: &Value) -> Result<(), String> {
        match v {
            Value::Byte(b) => self.buf.push(*b),
            Value::Bool(b) => self.u32(u32::from(*b)),
            Value::U32(n) => self.u32(*n),
            Value::I32(n) => self.u32(u32::from_le_bytes(n.to_le_bytes())),
            Value::U64(n) => {
                self.pad(8);
                self.buf.extend_from_slice(&n.to_le_bytes());
            }
            Value::Str(s) | Value::Path(s) => self.string(s)?,
            Value::Sig(s) => self.sig(s)?,
            Value::Array(elem, items) => {
                self.u32(0);
                let len_at = self.buf.len() - 4;
                // the padding to the first element is not part of the length
                self.pad(align_of(elem.as_bytes()[0]));
                let start = self.buf.len();
                for i in items {
                    self.value(i)?;
                }
                let len = self.buf.len() - start;
                let len = u32::try_from(len)
                    .map_err(|_| format!("an array of {len} bytes (over the 32-bit length)"))?;
                self.buf[len_at..len_at + 4].copy_from_slice(&len.to_le_bytes());
            }
            Value::Struct(fields) => {
                self.pad(8);
                for f in fields {
                    self.value(f)?;
                }
            }
            Value::Variant(inner) => {
                self.sig(&inner.signature())?;
                self.value(inner)?;
            }
        }
        Ok(())
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        let end = self.pos.checked_add(n).filter(|e| *e <= self.buf.len());
        let end = end.ok_or_else(|| format!("message truncated at byte {}", self.pos))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn align(&mut self, a: usize) -> Result<(), String> {
        let n = padded(self.pos, a) - self.pos;
        self.take(n).map(|_| ())
    }

    fn u32(&mut self) -> Result<u32, String> {
        self.align(4)?;
        let mut b = [0u8; 4];
        b.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(b))
    }

    fn text(&mut self, len: usize) -> Result<String, String> {
        let s = String::from_utf8(self.take(len)?.to_vec())
            .map_err(|_| "a string that is not UTF-8".to_string())?;
        self.take(1)?;
        Ok(s)
    }

    fn sig(&mut self) -> Result<String, String> {
        let n = self.take(1)?[0] as usize;
        self.text(n)
    }

    /// Reads one complete type from `sig` (advanced past it).
    fn value(&mut self, sig: &mut &[u8], depth: u32) -> Result<Value, String> {
        if depth > 32 {
            return Err("values nested over 32 deep".into());
        }
        let (&c, rest) = sig.split_first().ok_or("an empty signature")?;
        *sig = rest;
        Ok(match c {
            b'y' => Value::Byte(self.take(1)?[0]),
            b'b' => Value::Bool(self.u32()? != 0),
            b'u' => Value::U32(self.u32()?),
            b'i' => Value::I32(i32::from_le_bytes(self.u32()?.to_le_bytes())),
            b't' | b'x' => {
                self.align(8)?;
                let mut b = [0u8; 8];
                b.copy_from_slice(self.take(8)?);
                Value::U64(u64::from_le_bytes(b))
            }
            b's' | b'o' => {
                let n = self.u32()? as usize;
                let t = self.text(n)?;
                if c == b's' {
                    Value::Str(t)
                } else {
                    Value::Path(t)
                }
            }
            b'g' => Value::Sig(self.sig()?),
            b'v' => {
                let s = self.sig()?;
                let mut inner = s.as_bytes();
                let v = self.value(&mut inner, depth + 1)?;
                if !inner.is_empty() {
                    return Err(format!("variant signature `{s}` holds more than one type"));
                }
                Value::variant(v)
            }
            b'a' => {
                let len = self.u32()? as usize;
                let elem_start = *sig;
                let first = *elem_start.first().ok_or("`a` without an element type")?;
                self.align(align_of(first))?;
                let end = self.pos + len;
                let mut items = Vec::new();
                let mut after = elem_start;
                if len == 0 {
                    skip_type(&mut after)?;
                }
                while self.pos < end {
                    after = elem_start;
                    items.push(self.value(&mut after, depth + 1)?);
                }
                let elem = &elem_start[..elem_start.len() - after.len()];
                *sig = after;
                Value::Array(String::from_utf8_lossy(elem).into_owned(), items)
            }
            b'(' | b'{' => {
                self.align(8)?;
                let close = if c == b'(' { b')' } else { b'}' };
                let mut fields = Vec::new();
                while sig.first() != Some(&close) {
                    fields.push(self.value(sig, depth + 1)?);
                }
                *sig = &sig[1..];
                Value::Struct(fields)
            }
            other => return Err(format!("unsupported type `{}`", other as char)),
        })
    }
}

/// Moves `sig` past one complete type.
fn skip_type(sig: &mut &[u8]) -> Result<(), String> {
    let (&c, rest) = sig.split_first().ok_or("an empty signature")?;
    *sig = rest;
    match c {
        b'a' => skip_type(sig),
        b'(' | b'{' => {
            let close = if c == b'(' { b')' } else { b'}' };
            while sig.first() != Some(&close) {
                skip_type(sig)?;
            }
            *sig = &sig[1..];
            Ok(())
        }
        _ => Ok(()),
    }
}

/// A message's type, header byte 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MsgType {
    /// 1: a method call.
    Call,
    /// 2: a method's reply.
    Return,
    /// 3: an error reply.
    Error,
    /// 4: a signal.
    Signal,
    /// Any other type byte (ignored).
    Other(u8),
}

/// A message: the header fields k3rt uses and the body.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// The message type (header byte 1).
    pub typ: MsgType,
    /// The header flags (byte 2), e.g. 1 for no reply expected.
    pub flags: u8,
    /// The sender's serial number for this message (non-zero).
    pub serial: u32,
    /// Header field 1: the object path called or signalling.
    pub path: Option<String>,
    /// Header field 2: the interface of the method or signal.
    pub interface: Option<String>,
    /// Header field 3: the method or signal name.
    pub member: Option<String>,
    /// Header field 4: the error's name, on an error reply.
    pub error_name: Option<String>,
    /// Header field 5: the serial of the call this message answers.
    pub reply_serial: Option<u32>,
    /// Header field 6: the bus name the message is for.
    pub destination: Option<String>,
    /// Header field 7: the unique bus name of the sender.
    pub sender: Option<String>,
    /// The body's values (their signatures make header field 8).
    pub body: Vec<Value>,
}

impl Message {
    /// A method call with `serial` to `member` of `iface` on `path` at bus name `dest`.
    pub fn method_call(
        serial: u32,
        dest: &str,
        path: &str,
        iface: &str,
        member: &str,
        body: Vec<Value>,
    ) -> Message {
        Message {
            typ: MsgType::Call,
            flags: 0,
            serial,
            path: Some(path.into()),
            interface: Some(iface.into()),
            member: Some(member.into()),
            error_name: None,
            reply_serial: None,
            destination: Some(dest.into()),
            sender: None,
            body,
        }
    }

    /// The message's bytes; an error for a length the wire format cannot carry.
    pub fn encode(&self) -> Result<Vec<u8>, String> {
        let mut body = Writer { buf: Vec::new() };
        for v in &self.body {
            body.value(v)?;
        }
        let sig: String = self.body.iter().map(Value::signature).collect();
        let field = |code: u8, v: Value| Value::Struct(vec![Value::Byte(code), Value::variant(v)]);
        let mut fields = Vec::new();
        let strs = [
            (1, self.path.as_ref().map(|p| Value::Path(p.clone()))),
            (2, self.interface.as_ref().map(|s| Value::str(s))),
            (3, self.member.as_ref().map(|s| Value::str(s))),
            (4, self.error_name.as_ref().map(|s| Value::str(s))),
            (5, self.reply_serial.map(Value::U32)),
            (6, self.destination.as_ref().map(|s| Value::str(s))),
            (7, self.sender.as_ref().map(|s| Value::str(s))),
        ];
        for (code, v) in strs {
            if let Some(v) = v {
                fields.push(field(code, v));
            }
        }
        if !sig.is_empty() {
            fields.push(field(8, Value::Sig(sig)));
        }
        let typ = match self.typ {
            MsgType::Call => 1,
            MsgType::Return => 2,
            MsgType::Error => 3,
            MsgType::Signal => 4,
            MsgType::Other(n) => n,
        };
        let mut w = Writer {
            buf: vec![b'l', typ, self.flags, 1],
        };
        let body_len = u32::try_from(body.buf.len()).map_err(|_| {
            format!(
                "a message body of {} bytes (over the 32-bit length)",
                body.buf.len()
            )
        })?;
        w.u32(body_len);
        w.u32(self.serial);
        w.value(&Value::Array("(yv)".into(), fields))?;
        w.pad(8);
        w.buf.extend_from_slice(&body.buf);
        Ok(w.buf)
    }

    /// Parses one whole message (as [`lengths`] sized it).
    pub fn decode(buf: &[u8]) -> Result<Message, String> {
        lengths(buf)?;
        let mut r = Reader { buf, pos: 12 };
        let mut fsig: &[u8] = b"a(yv)";
        let Value::Array(_, fields) = r.value(&mut fsig, 0)? else {
            return Err("no header fields".into());
        };
        r.align(8)?;
        let mut m = Message {
            typ: match buf[1] {
                1 => MsgType::Call,
                2 => MsgType::Return,
                3 => MsgType::Error,
                4 => MsgType::Signal,
                n => MsgType::Other(n),
            },
            flags: buf[2],
            serial: le_u32(buf, 8),
            path: None,
            interface: None,
            member: None,
            error_name: None,
            reply_serial: None,
            destination: None,
            sender: None,
            body: Vec::new(),
        };
        let mut body_sig = String::new();
        for f in fields {
            let Value::Struct(f) = f else { continue };
            let (Some(Value::Byte(code)), Some(Value::Variant(v))) = (f.first(), f.get(1)) else {
                continue;
            };
            let text = match &**v {
                Value::Str(s) | Value::Path(s) | Value::Sig(s) => Some(s.clone()),
                _ => None,
            };
            match code {
                1 => m.path = text,
                2 => m.interface = text,
                3 => m.member = text,
                4 => m.error_name = text,
                5 => {
                    if let Value::U32(n) = **v {
                        m.reply_serial = Some(n);
                    }
                }
                6 => m.destination = text,
                7 => m.sender = text,
                8 => body_sig = text.unwrap_or_default(),
                _ => {}
            }
        }
        // the body's alignment counts from its own start
        let mut b = Reader {
            buf: &buf[r.pos..],
            pos: 0,
        };
        let mut sig = body_sig.as_bytes();
        while !sig.is_empty() {
            m.body.push(b.value(&mut sig, 0)?);
        }
        Ok(m)
    }
}

/// (header fields length, body length) from a message's first 16 bytes.
pub fn lengths(head: &[u8]) -> Result<(usize, usize), String> {
    if head.len() < 16 {
        return Err("a message shorter than its header".into());
    }
    if head[0] != b'l' {
        return Err(format!(
            "a message in byte order `{}` (only little-endian is read)",
            head[0] as char
        ));
    }
    let body = le_u32(head, 4) as usize;
    let fields = le_u32(head, 12) as usize;
    Ok((fields, body))
}

/// The little-endian u32 at `buf[at..at + 4]` (the caller checked the length).
fn le_u32(buf: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&buf[at..at + 4]);
    u32::from_le_bytes(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_is_byte_exact() {
        // Hello (serial 1), laid out by hand from the specification
        let m = Message::method_call(
            1,
            "org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus",
            "Hello",
            vec![],
        );
        let mut want: Vec<u8> = vec![b'l', 1, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0x6d, 0, 0, 0];
        let mut field = |code: u8, sig: u8, s: &str| {
            while want.len() % 8 != 0 {
                want.push(0);
            }
            want.extend_from_slice(&[code, 1, sig, 0]);
            want.extend_from_slice(&u32::try_from(s.len()).unwrap().to_le_bytes());
            want.extend_from_slice(s.as_bytes());
            want.push(0);
        };
        field(1, b'o', "/org/freedesktop/DBus");
        field(2, b's', "org.freedesktop.DBus");
        field(3, b's', "Hello");
        field(6, b's', "org.freedesktop.DBus");
        while want.len() % 8 != 0 {
            want.push(0);
        }
        assert_eq!(m.encode().unwrap(), want);
        assert_eq!(want.len(), 128);
    }

    #[test]
    fn body_with_struct_array_and_variant_is_byte_exact() {
        // a(sv) with one ("TasksMax", <uint64 42>)
        let v = Value::Array(
            "(sv)".into(),
            vec![Value::Struct(vec![
                Value::str("TasksMax"),
                Value::variant(Value::U64(42)),
            ])],
        );
        let mut w = Writer { buf: Vec::new() };
        w.value(&v).unwrap();
        let mut want = vec![0u8; 8]; // length, then padding to the struct's 8
        want[..4].copy_from_slice(&24u32.to_le_bytes());
        want.extend_from_slice(&8u32.to_le_bytes());
        want.extend_from_slice(b"TasksMax\0");
        want.extend_from_slice(&[1, b't', 0]); // variant signature, ends at 24: aligned
        want.extend_from_slice(&42u64.to_le_bytes());
        assert_eq!(w.buf, want);
        assert_eq!(v.signature(), "a(sv)");
    }

    #[test]
    fn a_signature_over_255_bytes_is_an_error() {
        let big = Value::Struct(vec![Value::Byte(0); 300]);
        let m = Message::method_call(1, "d", "/p", "i.f", "M", vec![Value::variant(big)]);
        let e = m.encode().unwrap_err();
        assert!(e.contains("signature of 302 bytes"), "{e}");
    }

    #[test]
    fn empty_array_pads_to_its_element() {
        let mut w = Writer { buf: vec![0] };
        w.value(&Value::Array("(sa(sv))".into(), vec![])).unwrap();
        // 1 byte, pad to 4, length 0, pad to 8 (not counted)
        assert_eq!(w.buf, [0, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn encode_decode_round_trip() {
        let body = vec![
            Value::str("k3test-x.scope"),
            Value::str("fail"),
            Value::Array(
                "(sv)".into(),
                vec![
                    Value::Struct(vec![
                        Value::str("PIDs"),
                        Value::variant(Value::Array("u".into(), vec![Value::U32(7)])),
                    ]),
                    Value::Struct(vec![
                        Value::str("Delegate"),
                        Value::variant(Value::Bool(true)),
                    ]),
                    Value::Struct(vec![
                        Value::str("AllowedCPUs"),
                        Value::variant(Value::Array("y".into(), vec![Value::Byte(3)])),
                    ]),
                ],
            ),
            Value::Array("(sa(sv))".into(), vec![]),
        ];
        let mut m = Message::method_call(9, "d", "/p", "i.f", "M", body);
        m.typ = MsgType::Signal;
        let bytes = m.encode().unwrap();
        let (f, b) = lengths(&bytes).unwrap();
        assert_eq!(bytes.len(), padded(16 + f, 8) + b);
        assert_eq!(Message::decode(&bytes).unwrap(), m);
    }

    #[test]
    fn job_removed_signal_decodes() {
        let mut m = Message::method_call(
            5,
            ":1.9",
            "/org/freedesktop/systemd1",
            "org.freedesktop.systemd1.Manager",
            "JobRemoved",
            vec![
                Value::U32(77),
                Value::Path("/org/freedesktop/systemd1/job/77".into()),
                Value::str("a.scope"),
                Value::str("done"),
            ],
        );
        m.typ = MsgType::Signal;
        m.sender = Some(":1.0".into());
        let d = Message::decode(&m.encode().unwrap()).unwrap();
        assert_eq!(d.member.as_deref(), Some("JobRemoved"));
        assert_eq!(d.body[3], Value::str("done"));
    }

    #[test]
    fn truncated_and_big_endian_are_errors() {
        let bytes = Message::method_call(1, "d", "/p", "i.f", "M", vec![Value::str("x")])
            .encode()
            .unwrap();
        assert!(Message::decode(&bytes[..bytes.len() - 3])
            .unwrap_err()
            .contains("truncated"));
        let mut be = bytes.clone();
        be[0] = b'B';
        assert!(Message::decode(&be).unwrap_err().contains("little-endian"));
    }
}
