//! `/product`: the catalog.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use certwell_api::error::codes;
use certwell_api::product::{AllowedCaCert, HashType, SignatureHashTypes};
use certwell_policy::catalog::{
    find_product, hash_display_name, Family, Product, WildcardRule, PRODUCTS, SERVER_PLATFORMS,
};
use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::extract::Caller;
use crate::state::AppState;

fn hashes(p: &Product) -> SignatureHashTypes {
    SignatureHashTypes {
        allowed_hash_types: p
            .signature_hashes
            .iter()
            .map(|h| HashType {
                id: h.to_string(),
                name: hash_display_name(h).to_string(),
            })
            .collect(),
        default_hash_type_id: p
            .signature_hashes
            .first()
            .copied()
            .unwrap_or("sha256")
            .to_string(),
    }
}

fn allowed_cas(state: &AppState, p: &Product) -> Vec<AllowedCaCert> {
    state
        .cas()
        .issuing_for(p.ca_purpose)
        .iter()
        .map(|c| AllowedCaCert {
            id: c.id.clone(),
            name: c.name.clone(),
            chain_info: Some(state.cas().chain_info(&c.id)),
        })
        .collect()
}

/// The account's default S/MIME profile for a secure-email product.
fn caller_default_profile(
    defaults: &std::collections::BTreeMap<String, String>,
    p: &Product,
) -> String {
    defaults
        .get(p.name_id)
        .cloned()
        .unwrap_or_else(|| "strict".into())
}

fn product_json(
    state: &AppState,
    caller: &Caller,
    p: &Product,
    full: bool,
    default_profiles: &std::collections::BTreeMap<String, String>,
) -> Value {
    let mut v = json!({
        "group_name": p.group_name,
        "name_id": p.name_id,
        "name": p.name,
        "type": p.product_type,
        "validation_type": p.validation.as_str(),
        "validation_name": p.validation.display_name(),
        "validation_description": p.validation.description(),
        "allowed_container_ids": [caller.user.container_id],
        "allowed_validity_years": p.allowed_validity_years,
        "allowed_order_validity_years": p.allowed_validity_years,
        "custom_order_expiration_date_allowed": p.family != Family::DocumentSigning,
        "signature_hash_types": hashes(p),
        "allowed_ca_certs": allowed_cas(state, p),
        "csr_required": p.csr_required,
    });
    if let Some(n) = p.signature_allowance {
        // Document signing: signatures a year the plan includes.
        v["signature_allowance"] = json!(n);
    }
    if full && p.family == Family::DocumentSigning {
        v["custom_expiration_date_allowed"] = json!(false);
        v["allow_auto_renew"] = json!(true);
        v["allowed_cs_provisioning_methods"] =
            json!(certwell_policy::docsign::ProvisioningMethod::names());
    } else if full && p.family != Family::Tls {
        v["custom_expiration_date_allowed"] = json!(true);
        v["allow_auto_renew"] = json!(true);
        v["max_emails"] = json!(p.max_names);
        if let Some(t) = p.smime {
            v["smime_validation_type"] = json!(t);
        }
        if p.family == Family::SecureEmail {
            v["allowed_profile_types"] = json!(["multipurpose", "strict"]);
            v["default_profile_type"] = json!(caller_default_profile(default_profiles, p));
        } else if p.smime.is_some() {
            v["allowed_profile_types"] = json!(["multipurpose"]);
            v["default_profile_type"] = json!("multipurpose");
        }
    }
    if full && p.family == Family::Tls {
        v["duplicates_allowed"] = json!(true);
        v["additional_dns_names_allowed"] = json!(p.max_names > 1);
        v["max_dns_names"] = json!(p.max_names);
        v["wildcard_common_name_required"] =
            json!(p.wildcard == WildcardRule::RequiredInCommonName);
        v["wildcards_allowed"] = json!(p.wildcard != WildcardRule::Forbidden);
        v["custom_expiration_date_allowed"] = json!(true);
        v["allow_auto_renew"] = json!(true);
        v["server_platforms"] = Value::Array(
            SERVER_PLATFORMS
                .iter()
                .map(|(id, name)| {
                    crate::views::server_platform_json(*id)
                        .as_object()
                        .cloned()
                        .map(|mut o| {
                            o.insert("name".into(), json!(name));
                            Value::Object(o)
                        })
                        .unwrap_or(Value::Null)
                })
                .collect(),
        );
    }
    v
}

/// `GET /product`
pub async fn list_products(State(state): State<Arc<AppState>>, caller: Caller) -> Json<Value> {
    Json(
        json!({"products": PRODUCTS.iter().map(|p| product_json(&state, &caller, p, false, &Default::default())).collect::<Vec<_>>()}),
    )
}

/// `GET /product/{name_id}`
pub async fn product_info(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(name_id): Path<String>,
) -> Result<Json<Value>> {
    let p = find_product(&name_id).ok_or_else(|| {
        Error::not_found(
            codes::NOT_FOUND_PRODUCT,
            format!("The product '{name_id}' was not found."),
        )
    })?;
    let defaults = state
        .store
        .get_account(caller.account_id)
        .await?
        .map(|a| a.settings.smime_default_profiles)
        .unwrap_or_default();
    Ok(Json(product_json(&state, &caller, p, true, &defaults)))
}

/// The routes of this module: the product catalog.
pub fn router() -> axum::Router<Arc<AppState>> {
    use axum::routing::get;
    axum::Router::new()
        .route("/product", get(list_products))
        .route("/product/{name_id}", get(product_info))
}
