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

/// Every `-----BEGIN label-----` … `-----END label-----` block of a PEM
/// text, in order: (label, DER). Text outside blocks is ignored.
pub fn pem_blocks(text: &str) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut out = Vec::new();
    let mut open: Option<(String, String)> = None;
    for line in text.lines() {
        let line = line.trim();
        if let Some(label) = line
            .strip_prefix("-----BEGIN ")
            .and_then(|l| l.strip_suffix("-----"))
        {
            open = Some((label.to_string(), String::new()));
        } else if let Some(label) = line
            .strip_prefix("-----END ")
            .and_then(|l| l.strip_suffix("-----"))
        {
            let (begun, b64) = open
                .take()
                .ok_or_else(|| format!("END {label} without BEGIN"))?;
            if begun != label {
                return Err(format!("BEGIN {begun} ends with END {label}"));
            }
            let der = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|e| format!("{label}: bad base64: {e}"))?;
            out.push((begun, der));
        } else if let Some((_, b64)) = open.as_mut() {
            b64.push_str(line);
        }
    }
    if let Some((label, _)) = open {
        return Err(format!("BEGIN {label} without END"));
    }
    Ok(out)
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

    #[test]
    fn pem_blocks_in_order() {
        let text = format!(
            "junk\n{}{}",
            super::pem_crlf("PRIVATE KEY", &[1, 2, 3]),
            super::cert_pem(&[4; 70])
        );
        let blocks = super::pem_blocks(&text).unwrap();
        assert_eq!(blocks[0], ("PRIVATE KEY".to_string(), vec![1, 2, 3]));
        assert_eq!(blocks[1], ("CERTIFICATE".to_string(), vec![4; 70]));
        assert!(super::pem_blocks("-----BEGIN X-----\nAAAA\n").is_err());
        assert!(super::pem_blocks("-----BEGIN X-----\nAAAA\n-----END Y-----\n").is_err());
        assert!(super::pem_blocks("-----BEGIN X-----\n!!\n-----END X-----\n").is_err());
    }
}
