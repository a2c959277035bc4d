//! An authoritative DNS server on loopback (UDP) for validation tests: the
//! test publishes and withdraws TXT, CNAME, A and CAA records while
//! certwell's resolver asks it over the wire.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, CNAME, NULL, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use tokio::net::UdpSocket;

type Zone = HashMap<(String, RecordType), Vec<RData>>;

pub struct DnsServer {
    pub addr: SocketAddr,
    zone: Arc<Mutex<Zone>>,
    task: tokio::task::JoinHandle<()>,
}

fn key(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

fn name(n: &str) -> Name {
    Name::from_ascii(format!("{}.", key(n))).unwrap()
}

impl DnsServer {
    pub async fn start() -> DnsServer {
        let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = sock.local_addr().unwrap();
        let zone: Arc<Mutex<Zone>> = Arc::default();
        let z = Arc::clone(&zone);
        let task = tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            loop {
                let Ok((n, peer)) = sock.recv_from(&mut buf).await else {
                    continue;
                };
                let Ok(q) = Message::from_vec(&buf[..n]) else {
                    continue;
                };
                let resp = answer(&z.lock().unwrap(), &q);
                if let Ok(bytes) = resp.to_vec() {
                    let _ = sock.send_to(&bytes, peer).await;
                }
            }
        });
        DnsServer { addr, zone, task }
    }

    fn set(&self, n: &str, t: RecordType, data: Vec<RData>) {
        let mut z = self.zone.lock().unwrap();
        if data.is_empty() {
            z.remove(&(key(n), t));
        } else {
            z.insert((key(n), t), data);
        }
    }

    pub fn set_txt(&self, n: &str, values: &[&str]) {
        let data = values
            .iter()
            .map(|v| RData::TXT(TXT::new(vec![v.to_string()])))
            .collect();
        self.set(n, RecordType::TXT, data);
    }

    pub fn set_cname(&self, n: &str, target: &str) {
        self.set(
            n,
            RecordType::CNAME,
            vec![RData::CNAME(CNAME(name(target)))],
        );
    }

    pub fn set_a(&self, n: &str, ip: Ipv4Addr) {
        self.set(n, RecordType::A, vec![RData::A(A(ip))]);
    }

    /// CAA records as (flags, tag, value), encoded by hand (RFC 8659 §4.1)
    /// so any tag, including unknown critical ones, can be published.
    pub fn set_caa(&self, n: &str, records: &[(u8, &str, &str)]) {
        let data = records
            .iter()
            .map(|(flags, tag, value)| {
                let mut raw = vec![*flags, tag.len() as u8];
                raw.extend_from_slice(tag.as_bytes());
                raw.extend_from_slice(value.as_bytes());
                RData::Unknown {
                    code: RecordType::CAA,
                    rdata: NULL::with(raw),
                }
            })
            .collect();
        self.set(n, RecordType::CAA, data);
    }

    /// Every query at `n` (any type) is answered SERVFAIL, as a broken or
    /// attacked authoritative server would; `clear` ends it.
    pub fn set_servfail(&self, n: &str) {
        self.set(n, RecordType::NULL, vec![RData::NULL(NULL::new())]);
    }

    pub fn clear(&self, n: &str) {
        let k = key(n);
        self.zone.lock().unwrap().retain(|(name, _), _| *name != k);
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn answer(zone: &Zone, q: &Message) -> Message {
    let mut m = Message::new();
    m.set_id(q.id())
        .set_message_type(MessageType::Response)
        .set_op_code(OpCode::Query)
        .set_authoritative(true)
        .set_recursion_desired(q.recursion_desired())
        .set_recursion_available(true);
    let Some(query) = q.queries().first() else {
        m.set_response_code(ResponseCode::FormErr);
        return m;
    };
    m.add_query(query.clone());
    let mut qname = key(&query.name().to_ascii());
    let qtype = query.query_type();
    if zone.contains_key(&(qname.clone(), RecordType::NULL)) {
        m.set_response_code(ResponseCode::ServFail);
        return m;
    }
    // Follow CNAMEs inside the zone, as a recursive resolver would.
    for _ in 0..8 {
        if let Some(data) = zone.get(&(qname.clone(), qtype)) {
            for d in data {
                m.add_answer(Record::from_rdata(name(&qname), 60, d.clone()));
            }
            return m;
        }
        match zone.get(&(qname.clone(), RecordType::CNAME)) {
            Some(c) if qtype != RecordType::CNAME => {
                let RData::CNAME(target) = &c[0] else { break };
                m.add_answer(Record::from_rdata(name(&qname), 60, c[0].clone()));
                qname = key(&target.0.to_ascii());
            }
            _ => break,
        }
    }
    let exists = zone
        .keys()
        .any(|(n, _)| *n == qname || n.ends_with(&format!(".{qname}")));
    if !exists && m.answers().is_empty() {
        m.set_response_code(ResponseCode::NXDomain);
    }
    m
}
