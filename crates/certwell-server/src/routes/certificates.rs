//! Certificate downloads and chains (api-surface.md §5).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;
use certwell_api::error::codes;
use certwell_api::order::{ChainEntry, ChainResponse, IntermediateInfo, IntermediatesResponse};
use certwell_policy::CaPurpose;
use certwell_store::Certificate;
use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::extract::{path_id, Caller};
use crate::pem::{cert_pem, pem_crlf};
use crate::service::order_data::OrderData;
use crate::state::AppState;

pub const FORMATS: &[&str] = &[
    "pem_all",
    "pem_noroot",
    "pem_nointermediate",
    "p7b",
    "cer",
    "default",
    "default_pem",
    "default_cer",
    "apache",
];

/// (leaf DER, leaf file stem, [(CA name, DER)] ICA … root)
struct Bundle {
    leaf: Vec<u8>,
    stem: String,
    cas: Vec<(String, Vec<u8>)>,
}

async fn issued(state: &AppState, caller: &Caller, id: i64) -> Result<(Certificate, Bundle)> {
    let (c, _) = crate::service::access::visible_certificate_by_id(state, caller, id).await?;
    let (Some(der), Some(ca_id)) = (c.der.clone(), c.ca_id.clone()) else {
        return Err(Error::bad_request(
            codes::CERTIFICATE_NOT_ISSUED,
            format!("Certificate {id} has not been issued yet."),
        ));
    };
    let cas = state
        .cas()
        .chain(&ca_id)
        .iter()
        .map(|ca| (ca.name.clone(), ca.cert_der.clone()))
        .collect();
    let stem = c
        .common_name
        .replace("*.", "star_")
        .chars()
        .map(|ch| if ch.is_ascii_alphanumeric() { ch } else { '_' })
        .collect();
    Ok((
        c,
        Bundle {
            leaf: der,
            stem,
            cas,
        },
    ))
}

fn file_name(name: &str) -> String {
    name.chars().filter(|c| c.is_ascii_alphanumeric()).collect()
}

/// What a download holds and how it is packed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    /// One PEM file: the leaf, then the intermediates, then the root.
    Pem { intermediates: bool, root: bool },
    /// A ZIP archive of one PEM file per certificate, named `<ext>`.
    Zip {
        ext: &'static str,
        intermediates: bool,
        root: bool,
    },
    /// A PKCS#7 certs-only bundle of the whole chain (PEM armour).
    Pkcs7,
}

impl Shape {
    /// The shape of a format name (`None`: no such format).
    fn of(format: &str) -> Option<Shape> {
        let (intermediates, root) = (true, true);
        Some(match format {
            "pem_all" => Shape::Pem {
                intermediates,
                root,
            },
            "pem_noroot" => Shape::Pem {
                intermediates,
                root: false,
            },
            "pem_nointermediate" => Shape::Pem {
                intermediates: false,
                root: false,
            },
            "p7b" | "cer" => Shape::Pkcs7,
            "default" | "default_pem" => Shape::Zip {
                ext: "crt",
                intermediates,
                root,
            },
            "default_cer" => Shape::Zip {
                ext: "cer",
                intermediates,
                root,
            },
            "apache" => Shape::Zip {
                ext: "crt",
                intermediates,
                root: false,
            },
            _ => return None,
        })
    }

    /// The same certificates in the packing an `Accept` header asks for:
    /// a ZIP for `application/zip`, one PEM file for
    /// `application/x-pem-file` (or `application/pem-certificate-chain`);
    /// anything else (`*/*`, none) keeps the format's own.
    fn negotiate(self, accept: Option<&str>) -> Shape {
        let Some(accept) = accept.map(str::to_ascii_lowercase) else {
            return self;
        };
        let wants = |t: &str| accept.split(',').any(|part| part.trim().starts_with(t));
        match self {
            Shape::Pem {
                intermediates,
                root,
            } if wants("application/zip") => Shape::Zip {
                ext: "crt",
                intermediates,
                root,
            },
            Shape::Zip {
                intermediates,
                root,
                ..
            } if wants("application/x-pem-file") || wants("application/pem-certificate-chain") => {
                Shape::Pem {
                    intermediates,
                    root,
                }
            }
            other => other,
        }
    }
}

fn render(b: &Bundle, format: &str, accept: Option<&str>) -> Result<Response> {
    let shape = Shape::of(format).ok_or_else(|| {
        Error::bad_request(
            codes::INVALID_FORMAT_TYPE,
            format!("The format '{format}' is not one of {FORMATS:?}."),
        )
    })?;
    let n = b.cas.len().saturating_sub(1);
    let (intermediates, root) = (&b.cas[..n], b.cas.get(n));
    // (file stem, DER) in chain order, as the shape selects them.
    let select = |with_intermediates: bool, with_root: bool| {
        let mut v: Vec<(String, &[u8])> = vec![(b.stem.clone(), &b.leaf)];
        if with_intermediates {
            v.extend(
                intermediates
                    .iter()
                    .map(|(name, der)| (file_name(name), der.as_slice())),
            );
        }
        if with_root {
            v.extend(root.map(|(_, der)| ("TrustedRoot".to_string(), der.as_slice())));
        }
        v
    };
    Ok(match shape.negotiate(accept) {
        Shape::Pem {
            intermediates,
            root,
        } => {
            let body: String = select(intermediates, root)
                .iter()
                .map(|(_, der)| cert_pem(der))
                .collect();
            ([(header::CONTENT_TYPE, "application/x-pem-file")], body).into_response()
        }
        Shape::Zip {
            ext,
            intermediates,
            root,
        } => {
            let files: Vec<(String, Vec<u8>)> = select(intermediates, root)
                .into_iter()
                .map(|(stem, der)| (format!("{stem}.{ext}"), cert_pem(der).into_bytes()))
                .collect();
            let z = crate::zip::zip_stored(&files, OffsetDateTime::now_utc());
            (
                [
                    (header::CONTENT_TYPE, "application/zip".to_string()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"{}.zip\"", b.stem),
                    ),
                ],
                z,
            )
                .into_response()
        }
        Shape::Pkcs7 => {
            let certs: Vec<Vec<u8>> = select(true, true)
                .into_iter()
                .map(|(_, der)| der.to_vec())
                .collect();
            let p7 = certwell_ca::pkcs7_certs_only_der(&certs)
                .map_err(|e| Error::internal(format!("PKCS#7 bundle failed: {e}")))?;
            (
                [(header::CONTENT_TYPE, "application/x-pkcs7-certificates")],
                pem_crlf("PKCS7", &p7),
            )
                .into_response()
        }
    })
}

fn accept(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok())
}

/// `GET /certificate/{id or serial}`: one certificate's details,
/// container-scoped like order info.
pub async fn certificate_info(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(key): Path<String>,
) -> Result<Json<serde_json::Value>> {
    let (c, order) = crate::service::access::visible_certificate(&state, &caller, &key).await?;
    Ok(Json(crate::views::certificate_info_json(&c, &order)))
}

/// `GET /certificate/{id}/download/format/{format}`
pub async fn download_format(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    headers: HeaderMap,
    Path((id, format)): Path<(String, String)>,
) -> Result<Response> {
    let id = path_id(&id, Error::certificate_not_found)?;
    let (_, b) = issued(&state, &caller, id).await?;
    render(&b, &format, accept(&headers))
}

/// `GET /certificate/{id}/download/platform[/{platform_id}]`
pub async fn download_platform(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    headers: HeaderMap,
    Path(params): Path<Vec<(String, String)>>,
) -> Result<Response> {
    let id = params
        .iter()
        .find(|(k, _)| k == "id")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let id = path_id(&id, Error::certificate_not_found)?;
    let (c, b) = issued(&state, &caller, id).await?;
    let platform = match params.iter().find(|(k, _)| k == "platform") {
        Some((_, p)) => p.parse::<i64>().map_err(|_| Error::route_not_found())?,
        None => {
            let order = state
                .store
                .get_order(caller.account_id, c.order_id)
                .await?
                .ok_or_else(Error::certificate_not_found)?;
            OrderData::from_order(&order)?
                .tls()
                .map_or(-1, |p| p.server_platform_id)
        }
    };
    render(
        &b,
        certwell_policy::catalog::platform_download_format(platform),
        accept(&headers),
    )
}

async fn order_primary(state: &AppState, caller: &Caller, order_id: &str) -> Result<Bundle> {
    let order_id = path_id(order_id, Error::order_not_found)?;
    let order = crate::service::access::visible_order(state, caller, order_id)
        .await?
        .ok_or_else(Error::order_not_found)?;
    let cid = order.certificate_id.ok_or_else(|| {
        Error::bad_request(
            codes::CERTIFICATE_NOT_ISSUED,
            "The order has no certificate yet.",
        )
    })?;
    Ok(issued(state, caller, cid).await?.1)
}

/// `GET /certificate/download/order/{order_id}`
pub async fn download_order(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    headers: HeaderMap,
    Path(order_id): Path<String>,
) -> Result<Response> {
    let b = order_primary(&state, &caller, &order_id).await?;
    render(&b, "default", accept(&headers))
}

/// `GET /certificate/download/order/{order_id}/format/{format}`
pub async fn download_order_format(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    headers: HeaderMap,
    Path((order_id, format)): Path<(String, String)>,
) -> Result<Response> {
    let b = order_primary(&state, &caller, &order_id).await?;
    render(&b, &format, accept(&headers))
}

/// `GET /certificate/intermediates`: every issuing CA certwell signs with
/// (the `ca_cert_id` values products allow): TLS OV, TLS EV, S/MIME,
/// client authentication, document signing; each family's default first.
/// Roots and OCSP responder certificates are not intermediates.
pub async fn intermediates(
    State(state): State<Arc<AppState>>,
    _caller: Caller,
) -> Result<Json<IntermediatesResponse>> {
    let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let loaded = state.cas();
    let mut cas: Vec<_> = loaded.cas().filter(|c| c.purpose.is_some()).collect();
    cas.sort_by_key(|c| {
        let rank = match c.purpose {
            Some(CaPurpose::TlsOv) => 0,
            Some(CaPurpose::TlsEv) => 1,
            Some(CaPurpose::Smime) => 2,
            Some(CaPurpose::ClientAuth) => 3,
            Some(CaPurpose::DocumentSigning) => 4,
            None => 5,
        };
        (rank, !c.is_default, c.name.clone())
    });
    let mut out = Vec::new();
    for ca in cas {
        let s = certwell_ca::certificate_summary(&ca.cert_der)
            .map_err(|e| Error::internal(format!("CA {}: {e}", ca.id)))?;
        out.push(IntermediateInfo {
            id: ca.id.clone(),
            subject_common_name: s.subject_common_name.unwrap_or_else(|| ca.name.clone()),
            subject_org_name: s.subject_organization.unwrap_or_default(),
            issuer_common_name: s.issuer_common_name.unwrap_or_default(),
            valid_from: s.not_before.format(&fmt).unwrap_or_default(),
            valid_to: s.not_after.format(&fmt).unwrap_or_default(),
            serial_number: s.serial_hex,
            thumbprint: certwell_ca::sha1_thumbprint_hex_upper(&ca.cert_der),
            signature_hash: s.signature_hash,
            // certwell's hierarchy is a private PKI, not publicly trusted.
            is_private: "1".to_string(),
            pem: cert_pem(&ca.cert_der),
        });
    }
    Ok(Json(IntermediatesResponse { intermediates: out }))
}

/// `GET /certificate/{id}/chain`: leaf first, then the intermediates.
pub async fn chain(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ChainResponse>> {
    let id = path_id(&id, Error::certificate_not_found)?;
    let (c, b) = issued(&state, &caller, id).await?;
    let mut intermediates = vec![ChainEntry {
        subject_common_name: c.common_name.clone(),
        pem: cert_pem(&b.leaf),
    }];
    for (name, der) in b.cas.iter().take(b.cas.len().saturating_sub(1)) {
        intermediates.push(ChainEntry {
            subject_common_name: name.clone(),
            pem: cert_pem(der),
        });
    }
    Ok(Json(ChainResponse { intermediates }))
}

/// The routes of this module: certificate downloads, chains and the issuing CAs.
pub fn router() -> axum::Router<Arc<AppState>> {
    use axum::routing::get;
    axum::Router::new()
        .route("/certificate/{id}", get(certificate_info))
        .route(
            "/certificate/{id}/download/format/{format}",
            get(download_format),
        )
        .route(
            "/certificate/{id}/download/platform",
            get(download_platform),
        )
        .route(
            "/certificate/{id}/download/platform/{platform}",
            get(download_platform),
        )
        .route("/certificate/download/order/{id}", get(download_order))
        .route(
            "/certificate/download/order/{id}/format/{format}",
            get(download_order_format),
        )
        .route("/certificate/{id}/chain", get(chain))
        .route("/certificate/intermediates", get(intermediates))
}
