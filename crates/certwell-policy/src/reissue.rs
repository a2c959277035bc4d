//! Reissues and duplicates of an issued order (api-surface.md §3.7, §3.8).
//!
//! A reissue replaces the order's certificate (new key, and for TLS
//! possibly new names); a duplicate is an extra certificate for the same
//! names with its own key. Both run to the end of the order's term at most.

use serde::{Deserialize, Serialize};

use certwell_api::error::codes;
use certwell_api::order::OrderRequest;

use crate::catalog::{server_platform_name, DuplicateRule, Product};
use crate::dns::domain_covers;
use crate::error::{optional_str, required_str, PolicyError, Result};
use crate::tls::{validate_names, Names, TlsOrderPlan};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExtraKind {
    Reissue,
    Duplicate,
}

impl ExtraKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ExtraKind::Reissue => "reissue",
            ExtraKind::Duplicate => "duplicate",
        }
    }
}

/// What a reissue or duplicate asks for, normalised. TLS names are None
/// for S/MIME orders (their subject and addresses never change).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtraPlan {
    pub kind: ExtraKind,
    pub common_name: Option<String>,
    pub sans: Vec<String>,
    pub dns_names: Vec<String>,
    pub csr: String,
    pub signature_hash: String,
    pub server_platform_id: Option<i64>,
    pub ca_cert_id: Option<String>,
    pub skip_approval: bool,
    pub comments: Option<String>,
}

fn csr(req: &OrderRequest) -> Result<String> {
    let cert = req
        .certificate
        .as_ref()
        .ok_or_else(|| PolicyError::missing("certificate"))?;
    let csr = required_str(&cert.csr, "certificate.csr")?;
    if csr.len() > 64 * 1024 {
        return Err(PolicyError::new(
            codes::CSR_INVALID_CANNOT_PARSE,
            "The field 'certificate.csr' is too large.",
        ));
    }
    Ok(csr.to_string())
}

fn hash(product: &Product, req: &OrderRequest, default: &str) -> Result<String> {
    let h = req
        .certificate
        .as_ref()
        .and_then(|c| optional_str(&c.signature_hash))
        .map(str::to_ascii_lowercase)
        .unwrap_or_else(|| default.to_string());
    if !product.signature_hashes.contains(&h.as_str()) {
        return Err(PolicyError::new(
            codes::INVALID_SIGNATURE_HASH,
            format!(
                "The field 'certificate.signature_hash' must be one of {:?} for product {}; got '{h}'.",
                product.signature_hashes, product.name_id
            ),
        ));
    }
    Ok(h)
}

fn comments(req: &OrderRequest) -> Result<Option<String>> {
    crate::common::comments(req)
}

/// A reissue or duplicate of a TLS order whose current certificate names
/// `current` (common name first).
pub fn validate_tls_extra(
    kind: ExtraKind,
    product: &Product,
    order: &TlsOrderPlan,
    current: &[String],
    req: &OrderRequest,
) -> Result<ExtraPlan> {
    let csr = csr(req)?;
    let cert = req.certificate.as_ref();
    let names = match cert {
        Some(c) if optional_str(&c.common_name).is_some() => validate_names(product, c)?,
        // New dns_names under the current common name: checked like any.
        Some(c) if c.dns_names.as_ref().is_some_and(|d| !d.is_empty()) => {
            let mut c = c.clone();
            c.common_name = current.first().cloned();
            validate_names(product, &c)?
        }
        _ => Names {
            common_name: current.first().cloned().unwrap_or_default(),
            sans: current.to_vec(),
            dns_names: current.iter().skip(1).cloned().collect(),
        },
    };
    if kind == ExtraKind::Duplicate {
        check_duplicate_names(product.duplicates, current, &names.sans)?;
    }
    let server_platform_id = match cert.and_then(|c| c.server_platform.as_ref()) {
        None => Some(order.server_platform_id),
        Some(p) => {
            let id =
                p.id.ok_or_else(|| PolicyError::missing("certificate.server_platform.id"))?;
            if server_platform_name(id).is_none() {
                return Err(PolicyError::new(
                    codes::INVALID_SERVER_PLATFORM,
                    format!("The field 'certificate.server_platform.id' is not a known server platform: {id}."),
                ));
            }
            Some(id)
        }
    };
    Ok(ExtraPlan {
        kind,
        common_name: Some(names.common_name),
        sans: names.sans,
        dns_names: names.dns_names,
        csr,
        signature_hash: hash(product, req, &order.signature_hash)?,
        server_platform_id,
        ca_cert_id: cert.and_then(|c| optional_str(&c.ca_cert_id).map(str::to_string)),
        skip_approval: req.skip_approval.unwrap_or(false),
        comments: comments(req)?,
    })
}

/// A reissue or duplicate of an S/MIME or client order: a new key; the
/// subject and addresses stay those of the order.
pub fn validate_smime_extra(
    kind: ExtraKind,
    product: &Product,
    order_hash: &str,
    req: &OrderRequest,
) -> Result<ExtraPlan> {
    Ok(ExtraPlan {
        kind,
        common_name: None,
        sans: Vec::new(),
        dns_names: Vec::new(),
        csr: csr(req)?,
        signature_hash: hash(product, req, order_hash)?,
        server_platform_id: None,
        ca_cert_id: req
            .certificate
            .as_ref()
            .and_then(|c| optional_str(&c.ca_cert_id).map(str::to_string)),
        skip_approval: req.skip_approval.unwrap_or(false),
        comments: comments(req)?,
    })
}

/// The vendor's duplicate rule (see [`DuplicateRule`]): the order's names
/// (the common name may be any of them) — all of them, or any of them for
/// Flex and Secure Site Pro products — and names covered by one of the
/// order's wildcards.
pub fn check_duplicate_names(
    rule: DuplicateRule,
    current: &[String],
    wanted: &[String],
) -> Result<()> {
    for w in wanted {
        let same = current.iter().any(|c| c == w);
        let under_wildcard = current
            .iter()
            .any(|c| c.starts_with("*.") && domain_covers_one_label(c, w));
        if !same && !under_wildcard {
            return Err(PolicyError::new(
                codes::DUPLICATE_NAMES_MISMATCH,
                format!("A duplicate must carry the order's names; '{w}' is not one of them (or covered by one of its wildcards)."),
            ));
        }
    }
    if rule == DuplicateRule::Subset {
        return Ok(());
    }
    if let Some(missing) = current.iter().find(|c| !wanted.contains(c)) {
        return Err(PolicyError::new(
            codes::DUPLICATE_NAMES_MISMATCH,
            format!("A duplicate must carry all of the order's names; '{missing}' is missing."),
        ));
    }
    Ok(())
}

/// `*.example.com` covers `a.example.com`, not `a.b.example.com`.
fn domain_covers_one_label(wildcard: &str, name: &str) -> bool {
    let base = &wildcard[2..];
    name.strip_suffix(base)
        .and_then(|l| l.strip_suffix('.'))
        .is_some_and(|label| !label.is_empty() && !label.contains('.') && label != "*")
        && domain_covers(base, name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn duplicate_names() {
        use DuplicateRule::{SameNames, Subset};
        let cur = v(&["example.com", "www.example.com"]);
        assert!(
            check_duplicate_names(SameNames, &cur, &v(&["www.example.com", "example.com"])).is_ok()
        );
        assert_eq!(
            check_duplicate_names(SameNames, &cur, &v(&["example.com"]))
                .unwrap_err()
                .code,
            "duplicate_names_mismatch"
        );
        assert!(check_duplicate_names(
            SameNames,
            &cur,
            &v(&["example.com", "www.example.com", "x.example.com"])
        )
        .is_err());
        let wc = v(&["*.example.com", "example.com"]);
        assert!(check_duplicate_names(
            SameNames,
            &wc,
            &v(&["*.example.com", "example.com", "api.example.com"])
        )
        .is_ok());
        assert!(check_duplicate_names(
            SameNames,
            &wc,
            &v(&["*.example.com", "example.com", "a.b.example.com"])
        )
        .is_err());
        assert!(check_duplicate_names(
            SameNames,
            &wc,
            &v(&["*.example.com", "example.com", "example.org"])
        )
        .is_err());
        // Flex products: any of the order's names, rearranged; none added.
        let flex = v(&[
            "*.example.com",
            "*.example1.com",
            "app.example3.com",
            "example2.com",
        ]);
        for ok in [
            v(&["*.example1.com"]),
            v(&["example2.com", "app.example3.com"]),
            v(&["app.example3.com", "api.example.com"]),
        ] {
            assert!(check_duplicate_names(Subset, &flex, &ok).is_ok(), "{ok:?}");
        }
        assert_eq!(
            check_duplicate_names(Subset, &flex, &v(&["example2.com", "example4.com"]))
                .unwrap_err()
                .code,
            "duplicate_names_mismatch"
        );
        assert!(check_duplicate_names(SameNames, &flex, &v(&["*.example1.com"])).is_err());
    }
}
