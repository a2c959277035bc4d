//! Access and tenancy: which containers, orders and users a caller sees
//! (its container and everything below it; organizations and domains also
//! from the containers above). Every lookup of another user's data goes
//! through here, so a route cannot forget the scope.

use crate::error::{Error, Result};
use crate::extract::Caller;
use crate::state::AppState;
use certwell_api::error::codes;
use certwell_policy::account::{containers_in_view, visible_containers};
use certwell_policy::approval::Role;
use certwell_store::Container;
use certwell_store::Order;
use certwell_store::{Certificate, SerialNumber};

/// The account's containers the caller's user sees: its own container
/// and everything below it.
pub async fn visible(state: &AppState, caller: &Caller) -> Result<Vec<Container>> {
    let all = state.store.list_containers(caller.account_id).await?;
    let tree: Vec<(i64, Option<i64>)> = all.iter().map(|c| (c.id, c.parent_id)).collect();
    let ids = visible_containers(&tree, caller.user.container_id);
    Ok(all.into_iter().filter(|c| ids.contains(&c.id)).collect())
}

/// The containers whose orders and certificates the caller sees: `None`
/// for a user of the root container (the whole account), else its own
/// container and those below it.
pub async fn order_scope(state: &AppState, caller: &Caller) -> Result<Option<Vec<i64>>> {
    if caller.at_root {
        return Ok(None);
    }
    Ok(Some(
        visible(state, caller).await?.iter().map(|c| c.id).collect(),
    ))
}

/// The containers whose organizations and domains the caller may read and
/// order with: its own subtree and the containers above it (a department
/// orders with the company's organizations). `None`: the whole account.
/// Changing them (activation, DCV, deletion) needs [`sees_container`].
pub async fn org_view(state: &AppState, caller: &Caller) -> Result<Option<Vec<i64>>> {
    if caller.at_root {
        return Ok(None);
    }
    let all = state.store.list_containers(caller.account_id).await?;
    let tree: Vec<(i64, Option<i64>)> = all.iter().map(|c| (c.id, c.parent_id)).collect();
    Ok(Some(containers_in_view(&tree, caller.user.container_id)))
}

pub async fn in_org_view(state: &AppState, caller: &Caller, id: i64) -> Result<bool> {
    Ok(org_view(state, caller)
        .await?
        .is_none_or(|v| v.contains(&id)))
}

/// Whether the caller sees what lives in container `id`.
pub async fn sees_container(state: &AppState, caller: &Caller, id: i64) -> Result<bool> {
    if caller.at_root || id == caller.user.container_id {
        return Ok(true);
    }
    Ok(visible(state, caller).await?.iter().any(|c| c.id == id))
}

pub fn admin_only(caller: &Caller, what: &str) -> Result<()> {
    if caller.role == Role::Admin {
        Ok(())
    } else {
        Err(Error::missing_permission(&format!(
            "{what} (an administrator key is required)"
        )))
    }
}

pub fn container_not_found() -> Error {
    Error::not_found(codes::NOT_FOUND, "The specified container was not found.")
}

/// User `uid` of the account, if it sits in a container the caller sees.
pub async fn visible_user(
    state: &AppState,
    caller: &Caller,
    uid: i64,
) -> Result<Option<certwell_store::User>> {
    match state.store.get_user(caller.account_id, uid).await? {
        Some(u) if sees_container(state, caller, u.container_id).await? => Ok(Some(u)),
        _ => Ok(None),
    }
}

/// Contacts naming users must name users the caller sees.
pub async fn check_contact_users(
    state: &AppState,
    caller: &Caller,
    contacts: &[certwell_policy::organization::OrderContact],
) -> Result<()> {
    for (i, c) in contacts.iter().enumerate() {
        if let Some(uid) = c.user_id {
            if visible_user(state, caller, uid).await?.is_none() {
                return Err(Error::bad_request(
                    codes::INVALID_CONTACT,
                    format!("The field 'organization.contacts[{i}].user_id' names no user in this account: {uid}."),
                ));
            }
        }
    }
    Ok(())
}

/// `user_id_assignments` must name users of the account.
pub async fn check_user_assignments(
    state: &AppState,
    caller: &Caller,
    level: &certwell_policy::common::OrderLevel,
) -> Result<()> {
    for (i, uid) in level.user_id_assignments.iter().enumerate() {
        if visible_user(state, caller, *uid).await?.is_none() {
            return Err(Error::bad_request(
                codes::INVALID_USER_ID_ASSIGNMENT,
                format!(
                    "The field 'user_id_assignments[{i}]' names no user in this account: {uid}."
                ),
            ));
        }
    }
    Ok(())
}

pub async fn check_container(
    state: &AppState,
    caller: &Caller,
    id: i64,
    field: &str,
) -> Result<i64> {
    // The caller's own container needs no lookup; others must lie below it.
    if id == caller.user.container_id {
        return Ok(id);
    }
    let visible = crate::service::access::visible(state, caller).await?;
    match visible.iter().find(|c| c.id == id) {
        Some(c) => Ok(c.id),
        None => Err(Error::bad_request(
            codes::INVALID_CONTAINER,
            format!("The field '{field}' names no container this key can use: {id}."),
        )),
    }
}

/// The order `id` of the caller's account, if it lies in a container the
/// caller sees (a user of a child container sees nothing above it).
pub async fn visible_order(state: &AppState, caller: &Caller, id: i64) -> Result<Option<Order>> {
    match state.store.get_order(caller.account_id, id).await? {
        Some(o) if sees_container(state, caller, o.container_id).await? => Ok(Some(o)),
        _ => Ok(None),
    }
}

/// `key` as certwell stores serials, when it is a serial a client spelled
/// otherwise (without the leading zero, with colons, in lower case).
fn respelled_serial(key: &str) -> Option<SerialNumber> {
    SerialNumber::parse(key).filter(|s| s.as_str() != key)
}

/// A certificate the caller sees (its order is in the caller's
/// containers), by id or by its serial number in any spelling clients use,
/// with its order; 404 otherwise.
pub async fn visible_certificate(
    state: &AppState,
    caller: &Caller,
    key: &str,
) -> Result<(Certificate, Order)> {
    let key = key.trim();
    let mut cert = state.store.find_certificate(caller.account_id, key).await?;
    if cert.is_none() {
        if let Some(serial) = respelled_serial(key) {
            cert = state
                .store
                .find_certificate(caller.account_id, serial.as_str())
                .await?;
        }
    }
    seen_certificate(state, caller, cert).await
}

/// A certificate the caller sees, by id, with its order; 404 otherwise.
pub async fn visible_certificate_by_id(
    state: &AppState,
    caller: &Caller,
    id: i64,
) -> Result<(Certificate, Order)> {
    let cert = state.store.get_certificate(caller.account_id, id).await?;
    seen_certificate(state, caller, cert).await
}

async fn seen_certificate(
    state: &AppState,
    caller: &Caller,
    cert: Option<Certificate>,
) -> Result<(Certificate, Order)> {
    if let Some(c) = cert {
        if let Some(order) = visible_order(state, caller, c.order_id).await? {
            return Ok((c, order));
        }
    }
    Err(Error::certificate_not_found())
}

/// Loads an order by id, or by its certificate's serial number or
/// thumbprint; 404 for orders outside the caller's containers.
pub async fn load_order(state: &AppState, caller: &Caller, key: &str) -> Result<Order> {
    let mut found = None;
    if let Ok(id) = key.parse::<i64>() {
        found = state.store.get_order(caller.account_id, id).await?;
    }
    if found.is_none()
        && key.len() >= 8
        && key.len() <= 64
        && key.bytes().all(|b| b.is_ascii_hexdigit())
    {
        // A thumbprint, or a serial as certwell prints it.
        found = state
            .store
            .find_order_by_certificate(caller.account_id, key)
            .await?;
    }
    if found.is_none() {
        if let Some(serial) = respelled_serial(key) {
            found = state
                .store
                .find_order_by_certificate(caller.account_id, serial.as_str())
                .await?;
        }
    }
    match found {
        Some(o) if sees_container(state, caller, o.container_id).await? => Ok(o),
        _ => Err(Error::order_not_found()),
    }
}

pub async fn check_renewal(state: &AppState, caller: &Caller, id: Option<i64>) -> Result<()> {
    if let Some(r) = id {
        if visible_order(state, caller, r).await?.is_none() {
            return Err(Error::bad_request(
                codes::INVALID_RENEWAL_OF_ORDER_ID,
                format!("The field 'renewal_of_order_id' names no order in this account: {r}."),
            ));
        }
        if let Some(by) = state.store.renewal_order_of(caller.account_id, r).await? {
            // (the renewing order's id only when the caller sees it)
            let by = match visible_order(state, caller, by).await? {
                Some(_) => format!("order {by}"),
                None => "another order".to_string(),
            };
            return Err(Error::bad_request(
                codes::INVALID_RENEWAL_OF_ORDER_ID,
                format!(
                    "Order {r} is already renewed by {by}; cancel that order to renew it again."
                ),
            ));
        }
    }
    Ok(())
}
