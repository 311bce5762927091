//! DNS messages (RFC 1035) as far as the responder needs them: one
//! question parsed from a query, and the reply built for it — A records
//! for a known name, an empty answer (NODATA) for another type of a known
//! name, NXDOMAIN, SERVFAIL, FORMERR, NOTIMP.

use std::net::Ipv4Addr;

/// Record type A.
pub const TYPE_A: u16 = 1;
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

/// The reply to `q`: `rcode` with an A record for each of `ips`.
pub fn reply(q: &Query, rcode: Rcode, ips: &[Ipv4Addr]) -> Vec<u8> {
    let an = u16::try_from(ips.len()).unwrap_or(u16::MAX);
    let mut m = header(q.id, q.flags, rcode, 1, an);
    m.extend_from_slice(&q.question);
    for ip in ips.iter().take(an as usize) {
        m.extend_from_slice(&[0xc0, 12]); // the name of the question
        m.extend_from_slice(&TYPE_A.to_be_bytes());
        m.extend_from_slice(&CLASS_IN.to_be_bytes());
        m.extend_from_slice(&TTL.to_be_bytes());
        m.extend_from_slice(&4u16.to_be_bytes());
        m.extend_from_slice(&ip.octets());
    }
    m
}

/// What to do with a query for a name in the network's records
/// (`Some(ips)`) or not (`None`).
#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    /// Reply with this message.
    Reply(Vec<u8>),
    /// Not k3's name: ask the host's resolver.
    Forward,
}

/// The answer to `q` given the records' addresses of its name. A name of
/// one label that is not a container's gets NXDOMAIN here: it is no name
/// the host's resolver could know (as systemd-resolved, which keeps such
/// names off the wire).
pub fn answer(q: &Query, known: Option<&[Ipv4Addr]>) -> Answer {
    match known {
        Some(ips) if q.qclass == CLASS_IN && matches!(q.qtype, TYPE_A | TYPE_ANY) => {
            Answer::Reply(reply(q, Rcode::NoError, ips))
        }
        // the name is a container's, without records of that type
        Some(_) => Answer::Reply(reply(q, Rcode::NoError, &[])),
        None if !q.name.contains('.') => Answer::Reply(reply(q, Rcode::NxDomain, &[])),
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
        let Answer::Reply(r) = answer(&q, Some(&[ip])) else {
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
        let ip = [Ipv4Addr::new(10, 0, 0, 2)];
        // AAAA of a container: NOERROR, no answer (no fallback to upstream)
        let q = parse(&query(7, "web", 28)).unwrap();
        let Answer::Reply(r) = answer(&q, Some(&ip)) else {
            panic!("forwarded")
        };
        assert_eq!((r[3] & 0xf, u16_at(&r, 6)), (0, Some(0)));
        // a single label that is no container's: NXDOMAIN, not forwarded
        let q = parse(&query(8, "nobody", TYPE_A)).unwrap();
        let Answer::Reply(r) = answer(&q, None) else {
            panic!("forwarded")
        };
        assert_eq!(r[3] & 0xf, Rcode::NxDomain as u8);
        // a dotted name that is no container's: the host's resolver
        let q = parse(&query(9, "example.org", TYPE_A)).unwrap();
        assert_eq!(answer(&q, None), Answer::Forward);
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
}
