//! Minimal DER writer and reader.
//!
//! Certificates, CRLs, CSRs and PKCS#7 bundles are assembled from these
//! primitives so that every byte is under our control (exact
//! AlgorithmIdentifiers, issuer DN bytes copied verbatim, string types per
//! attribute). Parsing of untrusted input goes through [`Reader`], which only
//! accepts definite-length, single-byte-tag DER and never panics.

use crate::CaError;

pub(crate) const TAG_BOOLEAN: u8 = 0x01;
pub(crate) const TAG_INTEGER: u8 = 0x02;
pub(crate) const TAG_BIT_STRING: u8 = 0x03;
pub(crate) const TAG_OCTET_STRING: u8 = 0x04;
pub(crate) const TAG_NULL: u8 = 0x05;
pub(crate) const TAG_OID: u8 = 0x06;
pub(crate) const TAG_ENUMERATED: u8 = 0x0a;
pub(crate) const TAG_UTF8_STRING: u8 = 0x0c;
pub(crate) const TAG_PRINTABLE_STRING: u8 = 0x13;
pub(crate) const TAG_T61_STRING: u8 = 0x14;
pub(crate) const TAG_IA5_STRING: u8 = 0x16;
pub(crate) const TAG_UTC_TIME: u8 = 0x17;
pub(crate) const TAG_GENERALIZED_TIME: u8 = 0x18;
pub(crate) const TAG_UNIVERSAL_STRING: u8 = 0x1c;
pub(crate) const TAG_BMP_STRING: u8 = 0x1e;
pub(crate) const TAG_SEQUENCE: u8 = 0x30;
pub(crate) const TAG_SET: u8 = 0x31;

/// Context-specific, constructed tag `[n]` (n < 31).
pub(crate) const fn ctx_cons(n: u8) -> u8 {
    0xa0 | n
}

/// Context-specific, primitive tag `[n]` (n < 31).
pub(crate) const fn ctx_prim(n: u8) -> u8 {
    0x80 | n
}

/// Encode one TLV.
pub(crate) fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(tag);
    push_len(&mut out, content.len());
    out.extend_from_slice(content);
    out
}

fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// Constructed TLV whose content is the concatenation of `parts`.
pub(crate) fn cons(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
    tlv(tag, &parts.concat())
}

pub(crate) fn seq(parts: &[&[u8]]) -> Vec<u8> {
    cons(TAG_SEQUENCE, parts)
}

pub(crate) fn set(parts: &[&[u8]]) -> Vec<u8> {
    cons(TAG_SET, parts)
}

/// DER OBJECT IDENTIFIER from a dotted string known to be valid at compile time.
pub(crate) fn oid(dotted: &str) -> Vec<u8> {
    let mut arcs = dotted.split('.').map(|a| a.parse::<u64>().unwrap_or(0));
    let first = arcs.next().unwrap_or(0);
    let second = arcs.next().unwrap_or(0);
    let mut body = Vec::new();
    push_base128(&mut body, first * 40 + second);
    for arc in arcs {
        push_base128(&mut body, arc);
    }
    tlv(TAG_OID, &body)
}

fn push_base128(out: &mut Vec<u8>, mut v: u64) {
    let mut tmp = [0u8; 10];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            break;
        }
    }
    let last = tmp.len() - 1;
    for (j, b) in tmp.iter().enumerate().skip(i) {
        out.push(if j == last { *b } else { *b | 0x80 });
    }
}

/// Minimal DER INTEGER content for a non-negative big-endian magnitude.
pub(crate) fn uint_content(magnitude: &[u8]) -> Vec<u8> {
    let skip = magnitude.iter().take_while(|b| **b == 0).count();
    let m = &magnitude[skip..];
    if m.is_empty() {
        return vec![0];
    }
    let mut out = Vec::with_capacity(m.len() + 1);
    if m[0] & 0x80 != 0 {
        out.push(0);
    }
    out.extend_from_slice(m);
    out
}

pub(crate) fn uint(magnitude: &[u8]) -> Vec<u8> {
    tlv(TAG_INTEGER, &uint_content(magnitude))
}

pub(crate) fn uint_u64(v: u64) -> Vec<u8> {
    uint(&v.to_be_bytes())
}

pub(crate) fn boolean_true() -> Vec<u8> {
    vec![TAG_BOOLEAN, 1, 0xff]
}

pub(crate) fn octet_string(content: &[u8]) -> Vec<u8> {
    tlv(TAG_OCTET_STRING, content)
}

/// BIT STRING with zero unused bits.
pub(crate) fn bit_string(content: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(content.len() + 1);
    body.push(0);
    body.extend_from_slice(content);
    tlv(TAG_BIT_STRING, &body)
}

/// DER NamedBitList encoding: `bits` are the bit numbers set (bit 0 = MSB of
/// the first octet); trailing zero bits are removed as DER requires.
pub(crate) fn named_bits(bits: &[u8]) -> Vec<u8> {
    let max = bits.iter().copied().max();
    let Some(max) = max else {
        return tlv(TAG_BIT_STRING, &[0]);
    };
    let nbytes = max as usize / 8 + 1;
    let mut data = vec![0u8; nbytes];
    for b in bits {
        data[*b as usize / 8] |= 0x80 >> (b % 8);
    }
    let unused = 7 - (max % 8);
    let mut body = vec![unused];
    body.extend_from_slice(&data);
    tlv(TAG_BIT_STRING, &body)
}

/// A parsed TLV element.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tlv<'a> {
    pub tag: u8,
    /// The content octets.
    pub value: &'a [u8],
    /// The complete encoding (header + content).
    pub raw: &'a [u8],
}

impl<'a> Tlv<'a> {
    /// Reader over the content of a constructed element.
    pub fn reader(&self) -> Reader<'a> {
        Reader::new(self.value)
    }

    /// Parse exactly one element spanning all of `data`.
    pub fn parse_single(data: &'a [u8]) -> Result<Tlv<'a>, DerError> {
        let mut r = Reader::new(data);
        let t = r.read()?;
        r.finish()?;
        Ok(t)
    }

    pub fn expect(self, tag: u8) -> Result<Tlv<'a>, DerError> {
        if self.tag == tag {
            Ok(self)
        } else {
            Err(DerError(format!(
                "expected tag 0x{tag:02x}, found 0x{:02x}",
                self.tag
            )))
        }
    }
}

/// DER decoding failure.
#[derive(Debug, Clone)]
pub(crate) struct DerError(pub String);

impl std::fmt::Display for DerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<DerError> for CaError {
    fn from(e: DerError) -> Self {
        CaError::Parse(e.0)
    }
}

/// Sequential reader over concatenated DER elements.
pub(crate) struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Reader { data, pos: 0 }
    }

    pub fn is_empty(&self) -> bool {
        self.pos >= self.data.len()
    }

    pub fn peek_tag(&self) -> Option<u8> {
        self.data.get(self.pos).copied()
    }

    pub fn read(&mut self) -> Result<Tlv<'a>, DerError> {
        let start = self.pos;
        let rest = &self.data[start..];
        let err = |m: &str| DerError(format!("malformed DER at offset {start}: {m}"));
        let tag = *rest.first().ok_or_else(|| err("unexpected end of data"))?;
        if tag & 0x1f == 0x1f {
            return Err(err("multi-byte tags are not supported"));
        }
        let first_len = *rest.get(1).ok_or_else(|| err("missing length"))?;
        let (len, hdr) = if first_len < 0x80 {
            (first_len as usize, 2usize)
        } else {
            let n = (first_len & 0x7f) as usize;
            if n == 0 {
                return Err(err("indefinite length is not DER"));
            }
            if n > 4 {
                return Err(err("length too large"));
            }
            let bytes = rest.get(2..2 + n).ok_or_else(|| err("truncated length"))?;
            if bytes[0] == 0 {
                return Err(err("non-minimal length"));
            }
            let mut len = 0usize;
            for b in bytes {
                len = (len << 8) | *b as usize;
            }
            if len < 0x80 {
                return Err(err("non-minimal length"));
            }
            (len, 2 + n)
        };
        let end = hdr.checked_add(len).ok_or_else(|| err("length overflow"))?;
        if end > rest.len() {
            return Err(err("truncated element"));
        }
        self.pos = start + end;
        Ok(Tlv {
            tag,
            value: &rest[hdr..end],
            raw: &rest[..end],
        })
    }

    pub fn read_tag(&mut self, tag: u8) -> Result<Tlv<'a>, DerError> {
        self.read()?.expect(tag)
    }

    /// Read the next element only if it carries `tag`.
    pub fn read_optional(&mut self, tag: u8) -> Result<Option<Tlv<'a>>, DerError> {
        if self.peek_tag() == Some(tag) {
            Ok(Some(self.read()?))
        } else {
            Ok(None)
        }
    }

    pub fn finish(&self) -> Result<(), DerError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(DerError(format!(
                "{} trailing bytes after DER element",
                self.data.len() - self.pos
            )))
        }
    }
}

/// Decode OID content octets to dotted form.
pub(crate) fn oid_to_string(content: &[u8]) -> Result<String, DerError> {
    if content.is_empty() {
        return Err(DerError("empty OID".into()));
    }
    let mut arcs: Vec<u64> = Vec::new();
    let mut cur: u64 = 0;
    let mut in_arc = false;
    for b in content {
        if !in_arc && *b == 0x80 {
            return Err(DerError("non-minimal OID arc".into()));
        }
        if cur > (u64::MAX >> 7) {
            return Err(DerError("OID arc too large".into()));
        }
        cur = (cur << 7) | (b & 0x7f) as u64;
        in_arc = true;
        if b & 0x80 == 0 {
            arcs.push(cur);
            cur = 0;
            in_arc = false;
        }
    }
    if in_arc {
        return Err(DerError("truncated OID".into()));
    }
    let first = arcs[0];
    let (a, b) = if first < 40 {
        (0, first)
    } else if first < 80 {
        (1, first - 40)
    } else {
        (2, first - 80)
    };
    let mut s = format!("{a}.{b}");
    for arc in &arcs[1..] {
        s.push('.');
        s.push_str(&arc.to_string());
    }
    Ok(s)
}

/// Read an `AlgorithmIdentifier` and return (dotted OID, raw parameters TLV if any).
pub(crate) fn parse_algorithm_identifier<'a>(
    t: Tlv<'a>,
) -> Result<(String, Option<Tlv<'a>>), DerError> {
    let t = t.expect(TAG_SEQUENCE)?;
    let mut r = t.reader();
    let o = r.read_tag(TAG_OID)?;
    let params = if r.is_empty() { None } else { Some(r.read()?) };
    r.finish()?;
    Ok((oid_to_string(o.value)?, params))
}

/// Decode a directory string value to Rust `String` (UTF8/Printable/IA5/T61 as latin-1/BMP/Universal).
pub(crate) fn decode_string(t: &Tlv<'_>) -> Option<String> {
    match t.tag {
        TAG_UTF8_STRING | TAG_PRINTABLE_STRING | TAG_IA5_STRING => {
            std::str::from_utf8(t.value).ok().map(str::to_owned)
        }
        TAG_T61_STRING => Some(t.value.iter().map(|b| *b as char).collect()),
        TAG_BMP_STRING => {
            if t.value.len() & 1 != 0 {
                return None;
            }
            let units: Vec<u16> = t
                .value
                .chunks(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16(&units).ok()
        }
        TAG_UNIVERSAL_STRING => {
            if t.value.len() & 3 != 0 {
                return None;
            }
            t.value
                .chunks(4)
                .map(|c| char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
                .collect()
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oid_roundtrip() {
        for s in [
            "1.2.840.113549.1.1.11",
            "2.23.140.1.2.2",
            "2.5.29.14",
            "1.3.6.1.4.1.311.60.2.1.3",
        ] {
            let enc = oid(s);
            let t = Tlv::parse_single(&enc).unwrap();
            assert_eq!(oid_to_string(t.value).unwrap(), s);
        }
        assert_eq!(
            hex::encode(oid("1.2.840.113549.1.1.11")),
            "06092a864886f70d01010b"
        );
    }

    #[test]
    fn lengths_and_bits() {
        let long = tlv(0x04, &[0u8; 300]);
        assert_eq!(&long[..4], &[0x04, 0x82, 0x01, 0x2c]);
        let t = Tlv::parse_single(&long).unwrap();
        assert_eq!(t.value.len(), 300);
        assert_eq!(named_bits(&[0]), vec![0x03, 0x02, 0x07, 0x80]);
        assert_eq!(named_bits(&[0, 2]), vec![0x03, 0x02, 0x05, 0xa0]);
        assert_eq!(named_bits(&[5, 6]), vec![0x03, 0x02, 0x01, 0x06]);
        assert_eq!(named_bits(&[0, 5, 6]), vec![0x03, 0x02, 0x01, 0x86]);
        assert_eq!(uint(&[0x80]), vec![0x02, 0x02, 0x00, 0x80]);
        assert_eq!(uint(&[0, 0, 1]), vec![0x02, 0x01, 0x01]);
        assert_eq!(uint_u64(0), vec![0x02, 0x01, 0x00]);
    }

    #[test]
    fn reader_rejects_garbage() {
        assert!(Tlv::parse_single(&[0x30, 0x80, 0, 0]).is_err());
        assert!(Tlv::parse_single(&[0x30, 0x05, 0]).is_err());
        assert!(Tlv::parse_single(&[0x30, 0x81, 0x05, 0, 0, 0, 0, 0]).is_err());
        assert!(Tlv::parse_single(&[]).is_err());
        assert!(Tlv::parse_single(&[0x30, 0x00, 0x00]).is_err());
    }
}
