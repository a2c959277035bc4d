//! PEM as the vendor sends it: 64-column base64 with CRLF line ends.

use base64::Engine;

pub fn pem_crlf(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\r\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push_str("\r\n");
    }
    out.push_str(&format!("-----END {label}-----\r\n"));
    out
}

pub fn cert_pem(der: &[u8]) -> String {
    pem_crlf("CERTIFICATE", der)
}

#[cfg(test)]
mod tests {
    #[test]
    fn crlf_pem() {
        let p = super::cert_pem(&[0u8; 100]);
        assert!(p.starts_with("-----BEGIN CERTIFICATE-----\r\n"));
        assert!(p.ends_with("-----END CERTIFICATE-----\r\n"));
        assert!(p.lines().all(|l| l.len() <= 65));
    }
}
