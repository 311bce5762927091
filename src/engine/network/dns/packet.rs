//! DNS messages (RFC 1035) as far as the responder needs them: one
//! question parsed from a query, and the reply built for it — A records
//! for a known name, PTR records for a known address's
//! `d.c.b.a.in-addr.arpa`, an empty answer (NODATA) for another type of a
//! known name, NXDOMAIN, SERVFAIL, FORMERR, NOTIMP.

use std::net::Ipv4Addr;

/// Record type A.
pub const TYPE_A: u16 = 1;
/// Record type PTR.
pub const TYPE_PTR: u16 = 12;
/// Record type ANY.
pub const TYPE_ANY: u16 = 255;
/// Class IN.
const CLASS_IN: u16 = 1;
/// Seconds a client may keep an answer (containers come and go).
pub const TTL: u32 = 60;

/// Response codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rcode {
    /// No error (with or without answers).
    NoError = 0,
    /// The query could not be parsed.
    FormErr = 1,
    /// The server failed (no upstream answered).
    ServFail = 2,
    /// No such name.
    NxDomain = 3,
    /// Not a standard query.
    NotImp = 4,
}

/// The question of a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The message id.
    pub id: u16,
    /// The header flags of the query (RD is echoed).
    pub flags: u16,
    /// The name asked, lowercase, without the final dot.
    pub name: String,
    /// The record type asked.
    pub qtype: u16,
    /// The class asked.
    pub qclass: u16,
    /// The question section as sent (name, type, class), echoed back.
    question: Vec<u8>,
}

/// Why a message is not a query k3 answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// Shorter than a header, or a response: dropped without a reply.
    Drop,
    /// A header with a bad question or opcode: answered with this code.
    Reply(u16, u16, Rcode),
}

fn u16_at(b: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(i)?, *b.get(i + 1)?]))
}

/// Parses a query with exactly one question (names uncompressed, as
/// clients send them).
pub fn parse(msg: &[u8]) -> Result<Query, Refused> {
    let (Some(id), Some(flags), Some(qd)) = (u16_at(msg, 0), u16_at(msg, 2), u16_at(msg, 4)) else {
        return Err(Refused::Drop);
    };
    if msg.len() < 12 || flags & 0x8000 != 0 {
        return Err(Refused::Drop);
    }
    if (flags >> 11) & 0xf != 0 {
        return Err(Refused::Reply(id, flags, Rcode::NotImp));
    }
    let formerr = Refused::Reply(id, flags, Rcode::FormErr);
    if qd != 1 {
        return Err(formerr);
    }
    let mut i = 12;
    let mut labels: Vec<String> = Vec::new();
    loop {
        let len = *msg.get(i).ok_or(formerr.clone())? as usize;
        i += 1;
        if len == 0 {
            break;
        }
        // compression pointers and the reserved label types: not in a query
        if len & 0xc0 != 0 || labels.iter().map(|l| l.len() + 1).sum::<usize>() + len > 253 {
            return Err(formerr);
        }
        let l = msg.get(i..i + len).ok_or(formerr.clone())?;
        labels.push(String::from_utf8_lossy(l).to_ascii_lowercase());
        i += len;
    }
    let (Some(qtype), Some(qclass)) = (u16_at(msg, i), u16_at(msg, i + 2)) else {
        return Err(formerr);
    };
    Ok(Query {
        id,
        flags,
        name: labels.join("."),
        qtype,
        qclass,
        question: msg[12..i + 4].to_vec(),
    })
}

fn header(id: u16, query_flags: u16, rcode: Rcode, qd: u16, an: u16) -> Vec<u8> {
    // QR, AA, the query's RD, RA
    let flags = 0x8000 | 0x0400 | (query_flags & 0x0100) | 0x0080 | rcode as u16;
    let mut h = Vec::with_capacity(12);
    for v in [id, flags, qd, an, 0, 0] {
        h.extend_from_slice(&v.to_be_bytes());
    }
    h
}

/// A reply without a question (to a query whose question is not usable).
pub fn error_reply(id: u16, flags: u16, rcode: Rcode) -> Vec<u8> {
    header(id, flags, rcode, 0, 0)
}

/// The data of one answer record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rdata {
    /// An address (A).
    A(Ipv4Addr),
    /// A name (PTR), dotted, without the final dot.
    Ptr(String),
}

impl Rdata {
    fn rtype(&self) -> u16 {
        match self {
            Rdata::A(_) => TYPE_A,
            Rdata::Ptr(_) => TYPE_PTR,
        }
    }

    fn bytes(&self) -> Vec<u8> {
        match self {
            Rdata::A(ip) => ip.octets().to_vec(),
            Rdata::Ptr(name) => {
                let mut b = Vec::with_capacity(name.len() + 2);
                for l in name.split('.').filter(|l| !l.is_empty()) {
                    let l = &l.as_bytes()[..l.len().min(63)];
                    b.push(u8::try_from(l.len()).unwrap_or(63));
                    b.extend_from_slice(l);
                }
                b.push(0);
                b
            }
        }
    }
}

/// The reply to `q`: `rcode` with a record of the question's name for each
/// of `records` (as many as fit a UDP message of 512 bytes).
pub fn reply(q: &Query, rcode: Rcode, records: &[Rdata]) -> Vec<u8> {
    let mut m = header(q.id, q.flags, rcode, 1, 0);
    m.extend_from_slice(&q.question);
    let mut an: u16 = 0;
    for r in records {
        let data = r.bytes();
        if m.len() + 12 + data.len() > 512 || an == u16::MAX {
            break;
        }
        m.extend_from_slice(&[0xc0, 12]); // the name of the question
        m.extend_from_slice(&r.rtype().to_be_bytes());
        m.extend_from_slice(&CLASS_IN.to_be_bytes());
        m.extend_from_slice(&TTL.to_be_bytes());
        m.extend_from_slice(&u16::try_from(data.len()).unwrap_or(0).to_be_bytes());
        m.extend_from_slice(&data);
        an += 1;
    }
    m[6..8].copy_from_slice(&an.to_be_bytes());
    m
}

/// The address of a reverse name `d.c.b.a.in-addr.arpa` (lowercase).
pub fn reverse_ip(name: &str) -> Option<Ipv4Addr> {
    let rest = name.strip_suffix(".in-addr.arpa")?;
    let mut o = [0u8; 4];
    let mut parts = rest.split('.');
    for b in o.iter_mut().rev() {
        let p = parts.next()?;
        // decimal without leading zeros, as the reverse zone writes them
        if p.is_empty() || (p.len() > 1 && p.starts_with('0')) {
            return None;
        }
        *b = p.parse().ok()?;
    }
    parts.next().is_none().then_some(Ipv4Addr::from(o))
}

/// What to do with a query for a name in the network's records
/// (`Some(records)`) or not (`None`).
#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    /// Reply with this message.
    Reply(Vec<u8>),
    /// Not k3's name: ask the host's resolver.
    Forward,
}

/// The answer to `q` given the records of its name. A name that is no
/// container's gets NXDOMAIN here when it is `ours` (the reverse name of an
/// address of the network) or has one label: it is no name the host's
/// resolver could know (as systemd-resolved, which keeps such names off the
/// wire); other names are forwarded.
pub fn answer(q: &Query, known: Option<&[Rdata]>, ours: bool) -> Answer {
    match known {
        Some(rs) => {
            let fits = |r: &&Rdata| q.qtype == TYPE_ANY || q.qtype == r.rtype();
            // a known name without records of the type asked: NODATA
            let rs: Vec<Rdata> = if q.qclass == CLASS_IN {
                rs.iter().filter(fits).cloned().collect()
            } else {
                Vec::new()
            };
            Answer::Reply(reply(q, Rcode::NoError, &rs))
        }
        None if ours || !q.name.contains('.') => Answer::Reply(reply(q, Rcode::NxDomain, &[])),
        None => Answer::Forward,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A query as a client sends it.
    pub(crate) fn query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
        let mut m = vec![];
        for v in [id, 0x0100, 1, 0, 0, 0] {
            m.extend_from_slice(&v.to_be_bytes());
        }
        for l in name.split('.').filter(|l| !l.is_empty()) {
            m.push(u8::try_from(l.len()).unwrap());
            m.extend_from_slice(l.as_bytes());
        }
        m.push(0);
        m.extend_from_slice(&qtype.to_be_bytes());
        m.extend_from_slice(&1u16.to_be_bytes());
        m
    }

    #[test]
    fn parses_a_query_and_answers_a_records() {
        let m = query(0x1234, "Web.", TYPE_A);
        let q = parse(&m).unwrap();
        assert_eq!(
            (q.id, q.name.as_str(), q.qtype, q.qclass),
            (0x1234, "web", 1, 1)
        );
        let ip = Ipv4Addr::new(10, 77, 0, 2);
        let Answer::Reply(r) = answer(&q, Some(&[Rdata::A(ip)]), false) else {
            panic!("forwarded")
        };
        // id, flags QR|AA|RD|RA, NOERROR, 1 question, 1 answer
        assert_eq!(&r[..12], &[0x12, 0x34, 0x85, 0x80, 0, 1, 0, 1, 0, 0, 0, 0]);
        assert_eq!(&r[12..m.len()], &m[12..], "question echoed");
        let rr = &r[m.len()..];
        assert_eq!(&rr[..2], &[0xc0, 12]);
        assert_eq!(u16_at(rr, 2), Some(TYPE_A));
        assert_eq!(u16_at(rr, 10), Some(4));
        assert_eq!(&rr[12..], &[10, 77, 0, 2]);
    }

    #[test]
    fn other_types_unknown_names_and_bad_messages() {
        let ip = [Rdata::A(Ipv4Addr::new(10, 0, 0, 2))];
        // AAAA of a container: NOERROR, no answer (no fallback to upstream)
        let q = parse(&query(7, "web", 28)).unwrap();
        let Answer::Reply(r) = answer(&q, Some(&ip), false) else {
            panic!("forwarded")
        };
        assert_eq!((r[3] & 0xf, u16_at(&r, 6)), (0, Some(0)));
        // a single label that is no container's: NXDOMAIN, not forwarded
        let q = parse(&query(8, "nobody", TYPE_A)).unwrap();
        let Answer::Reply(r) = answer(&q, None, false) else {
            panic!("forwarded")
        };
        assert_eq!(r[3] & 0xf, Rcode::NxDomain as u8);
        // a dotted name that is no container's: the host's resolver
        let q = parse(&query(9, "example.org", TYPE_A)).unwrap();
        assert_eq!(answer(&q, None, false), Answer::Forward);
        // ...unless the network owns it (an address of its subnet)
        let Answer::Reply(r) = answer(&q, None, true) else {
            panic!("forwarded")
        };
        assert_eq!(r[3] & 0xf, Rcode::NxDomain as u8);
        // truncated, a response, another opcode, two questions, a pointer
        assert_eq!(parse(&[0; 5]), Err(Refused::Drop));
        let mut resp = query(1, "a", 1);
        resp[2] |= 0x80;
        assert_eq!(parse(&resp), Err(Refused::Drop));
        let mut notify = query(2, "a", 1);
        notify[2] |= 4 << 3;
        assert!(matches!(
            parse(&notify),
            Err(Refused::Reply(2, _, Rcode::NotImp))
        ));
        let mut two = query(3, "a", 1);
        two[5] = 2;
        assert!(matches!(
            parse(&two),
            Err(Refused::Reply(3, _, Rcode::FormErr))
        ));
        let mut ptr = query(4, "a", 1);
        ptr[12] = 0xc0;
        assert!(matches!(
            parse(&ptr),
            Err(Refused::Reply(4, _, Rcode::FormErr))
        ));
        let cut = query(5, "abc", 1);
        assert!(matches!(
            parse(&cut[..15]),
            Err(Refused::Reply(5, _, Rcode::FormErr))
        ));
        let e = error_reply(6, 0x0100, Rcode::FormErr);
        assert_eq!(e, vec![0, 6, 0x85, 0x81, 0, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn ptr_records_of_an_address() {
        assert_eq!(
            reverse_ip("2.0.95.10.in-addr.arpa"),
            Some(Ipv4Addr::new(10, 95, 0, 2))
        );
        for b in [
            "2.0.95.in-addr.arpa",
            "1.2.0.95.10.in-addr.arpa",
            "02.0.95.10.in-addr.arpa",
            "256.0.95.10.in-addr.arpa",
            ".0.95.10.in-addr.arpa",
            "2.0.95.10.ip6.arpa",
            "web",
        ] {
            assert_eq!(reverse_ip(b), None, "{b}");
        }
        let m = query(0x77, "2.0.95.10.in-addr.arpa", TYPE_PTR);
        let q = parse(&m).unwrap();
        let names = [Rdata::Ptr("web".into()), Rdata::Ptr("db.svc".into())];
        let Answer::Reply(r) = answer(&q, Some(&names), true) else {
            panic!("forwarded")
        };
        assert_eq!(u16_at(&r, 6), Some(2), "two answers");
        let rr = &r[m.len()..];
        assert_eq!(&rr[..2], &[0xc0, 12]);
        assert_eq!(u16_at(rr, 2), Some(TYPE_PTR));
        assert_eq!(u16_at(rr, 10), Some(5));
        assert_eq!(&rr[12..17], b"\x03web\0");
        let rr = &rr[17..];
        assert_eq!(u16_at(rr, 10), Some(8));
        assert_eq!(&rr[12..], b"\x02db\x03svc\0");
        // an A query of a reverse name: NODATA
        let q = parse(&query(0x78, "2.0.95.10.in-addr.arpa", TYPE_A)).unwrap();
        let Answer::Reply(r) = answer(&q, Some(&names), true) else {
            panic!("forwarded")
        };
        assert_eq!((r[3] & 0xf, u16_at(&r, 6)), (0, Some(0)));
        // answers beyond 512 bytes are left out, the count says how many went
        let many: Vec<Rdata> = (0..40)
            .map(|i| Rdata::Ptr(format!("name-{i:02}")))
            .collect();
        let q = parse(&query(0x79, "2.0.95.10.in-addr.arpa", TYPE_PTR)).unwrap();
        let Answer::Reply(r) = answer(&q, Some(&many), true) else {
            panic!("forwarded")
        };
        assert!(r.len() <= 512);
        let n = u16_at(&r, 6).unwrap() as usize;
        assert!(n > 10 && n < 40, "{n}");
        assert_eq!(r.len(), m.len() + n * (12 + 9));
    }
}
