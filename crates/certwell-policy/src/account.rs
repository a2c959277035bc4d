//! Account structure rules: which containers a user sees, custom order
//! fields (definitions and the values orders give them), container input.

use certwell_api::error::codes;

use crate::common::CustomFieldValue;
use certwell_api::account::{
    IdRef, KeyRequest, RoleRequest, StatusRequest, UserEditRequest, UserRequest,
};
use certwell_types::UserStatus;
use time::OffsetDateTime;

use crate::approval::{KeyRestriction, Role};
use crate::error::{
    check_email, check_len, check_printable, is_valid_email, optional_text, required_text, Result,
};
use crate::PolicyError;

/// The data types a custom field may have; "" accepts anything.
pub const METADATA_DATA_TYPES: &[&str] = &["text", "int", "email_address", "email_list"];
pub const MAX_METADATA_LABEL: usize = 128;
pub const MAX_CUSTOM_FIELD_VALUE: usize = 1024;

/// The containers visible from `root`: itself and every descendant, given
/// `(id, parent_id)` of all of an account's containers. Cycles (which
/// certwell never writes) cannot loop forever.
pub fn visible_containers(all: &[(i64, Option<i64>)], root: i64) -> Vec<i64> {
    let mut out = vec![root];
    let mut i = 0;
    while i < out.len() {
        let cur = out[i];
        for (id, parent) in all {
            if *parent == Some(cur) && !out.contains(id) {
                out.push(*id);
            }
        }
        i += 1;
    }
    out
}

/// A custom field definition as the policy sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldDef<'a> {
    pub id: i64,
    pub label: &'a str,
    pub is_required: bool,
    pub is_active: bool,
    pub data_type: &'a str,
}

/// A new or changed definition: label (required, ≤ 128), data type (one
/// of [`METADATA_DATA_TYPES`], "anything", or absent).
pub fn check_metadata_definition(
    label: Option<&str>,
    data_type: Option<&str>,
) -> Result<(String, String)> {
    let label = label
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .ok_or_else(|| PolicyError::missing("label"))?;
    check_len(label, "label", MAX_METADATA_LABEL)?;
    check_printable(label, "label")?;
    let dt = match data_type.map(|d| d.trim().to_ascii_lowercase()) {
        None => String::new(),
        Some(d) if d.is_empty() || d == "anything" || d == "any" => String::new(),
        Some(d) if METADATA_DATA_TYPES.contains(&d.as_str()) => d,
        Some(d) => {
            return Err(PolicyError::new(
                codes::INVALID_VALUE,
                format!("The field 'data_type' must be one of {METADATA_DATA_TYPES:?} or 'anything'; got '{d}'."),
            ))
        }
    };
    Ok((label.to_string(), dt))
}

fn value_fits(data_type: &str, v: &str) -> bool {
    match data_type {
        "int" => {
            let digits = v.strip_prefix('-').unwrap_or(v);
            !digits.is_empty() && digits.len() <= 18 && digits.bytes().all(|b| b.is_ascii_digit())
        }
        "email_address" => is_valid_email(v),
        "email_list" => v
            .split([',', ';'])
            .map(str::trim)
            .all(|e| !e.is_empty() && is_valid_email(e)),
        _ => true,
    }
}

/// The custom field values of an order against the account's definitions:
/// every active required field has a value, and every value of an active
/// field fits its data type. Errors name the metadata_id.
pub fn check_custom_fields(defs: &[FieldDef], given: &[CustomFieldValue]) -> Result<()> {
    for (i, v) in given.iter().enumerate() {
        // A value for a field the account does not define (or no longer
        // uses) is kept as given: the vendor's examples send metadata ids
        // of their own account, and required fields are still enforced.
        let Some(def) = defs.iter().find(|d| d.id == v.metadata_id && d.is_active) else {
            continue;
        };
        let text = v.value.trim();
        if text.is_empty() && def.is_required {
            return Err(PolicyError::new(
                codes::CUSTOM_FIELD_REQUIRED,
                format!(
                    "The custom field {} ('{}', metadata_id {}) is required.",
                    def.id, def.label, def.id
                ),
            ));
        }
        if text.chars().count() > MAX_CUSTOM_FIELD_VALUE {
            return Err(PolicyError::too_long(
                &format!("custom_fields[{i}].value"),
                MAX_CUSTOM_FIELD_VALUE,
            ));
        }
        if !text.is_empty() && !value_fits(def.data_type, text) {
            return Err(PolicyError::new(
                codes::INVALID_CUSTOM_FIELD,
                format!(
                    "The value of custom field metadata_id {} ('{}') must be of type {}; got '{}'.",
                    def.id, def.label, def.data_type, text
                ),
            ));
        }
    }
    for d in defs.iter().filter(|d| d.is_active && d.is_required) {
        let present = given
            .iter()
            .any(|v| v.metadata_id == d.id && !v.value.trim().is_empty());
        if !present {
            return Err(PolicyError::new(
                codes::CUSTOM_FIELD_REQUIRED,
                format!(
                    "The field 'custom_fields' must give a value for the required custom field metadata_id {} ('{}').",
                    d.id, d.label
                ),
            ));
        }
    }
    Ok(())
}

/// The containers whose organizations and domains a user of `root` may
/// use: its subtree ([`visible_containers`]) and every container above it.
pub fn containers_in_view(all: &[(i64, Option<i64>)], root: i64) -> Vec<i64> {
    let mut out = visible_containers(all, root);
    let mut cur = root;
    while let Some(parent) = all.iter().find(|(id, _)| *id == cur).and_then(|(_, p)| *p) {
        if out.contains(&parent) {
            break;
        }
        out.push(parent);
        cur = parent;
    }
    out
}

/// A user to create, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidUser {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub job_title: String,
    pub telephone: String,
    /// `None`: the creator's container.
    pub container_id: Option<i64>,
    pub role: Role,
}

/// One access role (1, 4 or 5) from `access_roles`; None when absent.
fn access_role(list: Option<&[IdRef]>) -> Result<Option<Role>> {
    match list {
        None | Some([]) => Ok(None),
        Some([r]) => r.id.and_then(Role::from_access_role_id).map(Some).ok_or_else(|| {
            PolicyError::new(
                codes::INVALID_ACCESS_ROLE,
                "The field 'access_roles[0].id' must be 1 (Administrator), 4 (Manager) or 5 (Standard user).",
            )
        }),
        Some(_) => Err(PolicyError::new(
            codes::INVALID_ACCESS_ROLE,
            "The field 'access_roles' takes exactly one role.",
        )),
    }
}

/// `PUT /user/{id}/role`: exactly one access role.
pub fn validate_role_change(req: &RoleRequest) -> Result<Role> {
    access_role(req.access_roles.as_deref())?.ok_or_else(|| PolicyError::missing("access_roles"))
}

/// `restricted_to_role_id` (the API key roles 0, 100–103; default 0).
pub fn key_restriction(id: Option<i64>, field: &str) -> Result<KeyRestriction> {
    match id {
        None => Ok(KeyRestriction::None),
        Some(i) => KeyRestriction::from_id(i).ok_or_else(|| {
            PolicyError::new(
                codes::INVALID_ACCESS_ROLE,
                format!("The field '{field}' must be 0, 100, 101, 102 or 103; got {i}."),
            )
        }),
    }
}

/// A service (API-only) user to create, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidServiceUser {
    pub email: String,
    /// The name of its key.
    pub api_name: String,
    pub restriction: KeyRestriction,
    /// Empty: the creator's container.
    pub container_ids: Vec<i64>,
}

/// `POST /user` with `is_api_only: true` ("Add service user"): `email`
/// and `api_name` required; `restricted_to_role_id` and
/// `container_id_assignments` optional.
pub fn validate_new_service_user(req: &UserRequest) -> Result<ValidServiceUser> {
    let email = required_text(&req.email, "email", 255)?;
    check_email(&email, "email")?;
    let container_ids = req.container_id_assignments.clone().unwrap_or_default();
    if let Some(bad) = container_ids.iter().find(|i| **i <= 0) {
        return Err(PolicyError::new(
            codes::INVALID_CONTAINER,
            format!("The field 'container_id_assignments' must list container ids; got {bad}."),
        ));
    }
    Ok(ValidServiceUser {
        email,
        api_name: required_text(&req.api_name, "api_name", 100)?,
        restriction: key_restriction(req.restricted_to_role_id, "restricted_to_role_id")?,
        container_ids,
    })
}

/// A user's profile after `PUT /user/{id}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserEdit {
    /// None: unchanged.
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: String,
    /// Left out: cleared, as the vendor's "Edit user" does.
    pub job_title: String,
    pub telephone: String,
}

/// `PUT /user/{id}`: `email` required; names kept when left out;
/// `job_title` and `telephone` cleared when left out. A service user's
/// email is all that can change.
pub fn validate_user_edit(req: &UserEditRequest, is_api_only: bool) -> Result<UserEdit> {
    let email = required_text(&req.email, "email", 255)?;
    check_email(&email, "email")?;
    if is_api_only {
        let given = [
            ("username", &req.username),
            ("first_name", &req.first_name),
            ("last_name", &req.last_name),
            ("job_title", &req.job_title),
            ("telephone", &req.telephone),
        ];
        if let Some((f, _)) = given.iter().find(|(_, v)| v.is_some()) {
            return Err(PolicyError::new(
                codes::INVALID_VALUE,
                format!("The field '{f}' cannot be edited on a service user; only 'email' can."),
            ));
        }
        return Ok(UserEdit {
            first_name: None,
            last_name: None,
            email,
            job_title: String::new(),
            telephone: String::new(),
        });
    }
    if let Some(u) = &req.username {
        if !u.is_empty()
            && !u
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "@-_+.".contains(c))
        {
            return Err(PolicyError::invalid(
                "username",
                "only letters, digits and @ - _ + . are allowed",
            ));
        }
    }
    let name = |v: &Option<String>, f: &str| -> Result<Option<String>> {
        match v {
            None => Ok(None),
            Some(_) => required_text(v, f, 128).map(Some),
        }
    };
    Ok(UserEdit {
        first_name: name(&req.first_name, "first_name")?,
        last_name: name(&req.last_name, "last_name")?,
        email,
        job_title: optional_text(&req.job_title, "job_title", 64)?.unwrap_or_default(),
        telephone: optional_text(&req.telephone, "telephone", 64)?.unwrap_or_default(),
    })
}

/// `PUT /user/{id}/status`: `active` or `inactive`.
pub fn validate_user_status(req: &StatusRequest) -> Result<UserStatus> {
    let raw = required_text(&req.status, "status", 32)?;
    match UserStatus::parse(&raw) {
        Some(s @ (UserStatus::Active | UserStatus::Inactive)) => Ok(s),
        _ => Err(PolicyError::new(
            codes::INVALID_STATUS,
            format!("The field 'status' must be active or inactive; got '{raw}'."),
        )),
    }
}

/// `PUT /key/{id}/status`: `active` or `revoked`; true: revoke.
pub fn validate_key_status(req: &StatusRequest) -> Result<bool> {
    let raw = required_text(&req.status, "status", 32)?;
    match raw.trim().to_ascii_lowercase().as_str() {
        "revoked" => Ok(true),
        "active" => Ok(false),
        _ => Err(PolicyError::new(
            codes::INVALID_STATUS,
            format!("The field 'status' must be active or revoked; got '{raw}'."),
        )),
    }
}

/// An API key to create, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidKey {
    pub name: String,
    pub restriction: KeyRestriction,
    pub expires_at: Option<OffsetDateTime>,
}

/// `POST /key/user/{id}`: `name` required; `restricted_to_role_id`
/// optional; `expiration_date` (certwell's) after `now`.
pub fn validate_new_key(req: &KeyRequest, now: OffsetDateTime) -> Result<ValidKey> {
    let expires_at = match crate::error::optional_str(&req.expiration_date) {
        None => None,
        Some(raw) => {
            let at = OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339)
                .ok()
                .or_else(|| crate::validity::parse_ymd(raw).map(|d| d.midnight().assume_utc()))
                .ok_or_else(|| {
                    PolicyError::invalid(
                        "expiration_date",
                        format!("'{raw}' is not a date like 2027-01-31 or an RFC 3339 time"),
                    )
                })?;
            if at <= now {
                return Err(PolicyError::invalid(
                    "expiration_date",
                    "must be in the future",
                ));
            }
            Some(at)
        }
    };
    Ok(ValidKey {
        name: required_text(&req.name, "name", 100)?,
        restriction: key_restriction(req.restricted_to_role_id, "restricted_to_role_id")?,
        expires_at,
    })
}

/// `POST /user`: names and email required, one access role (1, 4 or 5;
/// default standard user).
pub fn validate_new_user(req: &UserRequest) -> Result<ValidUser> {
    let email = required_text(&req.email, "email", 255)?;
    check_email(&email, "email")?;
    let role = access_role(req.access_roles.as_deref())?.unwrap_or(Role::User);
    let container_id = match &req.container {
        None => None,
        Some(c) => Some(c.id.filter(|i| *i > 0).ok_or_else(|| {
            PolicyError::new(
                codes::INVALID_CONTAINER,
                "The field 'container.id' must be a container id.",
            )
        })?),
    };
    Ok(ValidUser {
        first_name: required_text(&req.first_name, "first_name", 128)?,
        last_name: required_text(&req.last_name, "last_name", 128)?,
        email,
        job_title: optional_text(&req.job_title, "job_title", 64)?.unwrap_or_default(),
        telephone: optional_text(&req.telephone, "telephone", 32)?.unwrap_or_default(),
        container_id,
        role,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use certwell_api::account::IdRef;

    #[test]
    fn user_edits_keys_and_statuses() {
        let edit = |v: serde_json::Value, api_only| {
            validate_user_edit(&serde_json::from_value(v).unwrap(), api_only)
        };
        let e = edit(
            serde_json::json!({"email": "new@example.com", "first_name": "Ada"}),
            false,
        )
        .unwrap();
        assert_eq!(
            e,
            UserEdit {
                first_name: Some("Ada".into()),
                last_name: None,
                email: "new@example.com".into(),
                job_title: String::new(),
                telephone: String::new(),
            }
        );
        assert_eq!(
            edit(serde_json::json!({"first_name": "Ada"}), false)
                .unwrap_err()
                .code,
            codes::MISSING_REQUIRED_FIELD
        );
        assert!(edit(
            serde_json::json!({"email": "x@example.com", "first_name": ""}),
            false
        )
        .is_err());
        let e = edit(
            serde_json::json!({"email": "s@example.com", "job_title": "x"}),
            true,
        )
        .unwrap_err();
        assert!(e.message.contains("job_title"), "{}", e.message);
        assert!(edit(serde_json::json!({"email": "s@example.com"}), true).is_ok());

        let now = time::macros::datetime!(2026-12-04 12:00 UTC);
        let key = |v: serde_json::Value| validate_new_key(&serde_json::from_value(v).unwrap(), now);
        let k = key(
            serde_json::json!({"name": "ci", "restricted_to_role_id": "102",
                                       "expiration_date": "2027-01-31"}),
        )
        .unwrap();
        assert_eq!(k.restriction, KeyRestriction::ViewOnly);
        assert_eq!(
            k.expires_at,
            Some(time::macros::datetime!(2027-01-31 0:00 UTC))
        );
        for (bad, field) in [
            (serde_json::json!({}), "name"),
            (
                serde_json::json!({"name": "x", "restricted_to_role_id": 7}),
                "restricted_to_role_id",
            ),
            (
                serde_json::json!({"name": "x", "expiration_date": "2026-12-01"}),
                "expiration_date",
            ),
            (
                serde_json::json!({"name": "x", "expiration_date": "soon"}),
                "expiration_date",
            ),
        ] {
            let e = key(bad).unwrap_err();
            assert!(e.message.contains(field), "{}", e.message);
        }
        let st = |v: &str| {
            validate_user_status(&StatusRequest {
                status: Some(v.into()),
            })
        };
        assert_eq!(st("Inactive").unwrap(), UserStatus::Inactive);
        assert_eq!(st("deleted").unwrap_err().code, codes::INVALID_STATUS);
        let svc = validate_new_service_user(
            &serde_json::from_value(serde_json::json!({"is_api_only": true,
                "email": "svc@example.com", "api_name": "CI", "restricted_to_role_id": 100,
                "container_id_assignments": [3]}))
            .unwrap(),
        )
        .unwrap();
        assert_eq!(
            (svc.restriction, svc.container_ids),
            (KeyRestriction::Orders, vec![3])
        );
    }

    fn user_req() -> UserRequest {
        UserRequest {
            first_name: Some("Ada".into()),
            last_name: Some("Lovelace".into()),
            email: Some("ada@example.com".into()),
            ..Default::default()
        }
    }

    #[test]
    fn containers_in_view_add_the_ancestors() {
        // 1 ─ 2 ─ 3, and 1 ─ 4
        let tree = [(1, None), (2, Some(1)), (3, Some(2)), (4, Some(1))];
        assert_eq!(containers_in_view(&tree, 2), vec![2, 3, 1]);
        assert_eq!(containers_in_view(&tree, 4), vec![4, 1]);
        assert_eq!(containers_in_view(&tree, 1), vec![1, 2, 4, 3]);
        // a cycle (never written) cannot loop
        assert_eq!(
            containers_in_view(&[(5, Some(6)), (6, Some(5))], 5),
            vec![5, 6]
        );
    }

    #[test]
    fn new_users() {
        let u = validate_new_user(&user_req()).unwrap();
        assert_eq!((u.role, u.container_id), (Role::User, None));
        let mut r = user_req();
        r.access_roles = Some(vec![IdRef { id: Some(4) }]);
        r.container = Some(IdRef { id: Some(9) });
        let u = validate_new_user(&r).unwrap();
        assert_eq!((u.role, u.container_id), (Role::Manager, Some(9)));
        for (bad, code) in [
            (
                Some(vec![IdRef { id: Some(2) }]),
                codes::INVALID_ACCESS_ROLE,
            ),
            (Some(vec![IdRef { id: None }]), codes::INVALID_ACCESS_ROLE),
            (
                Some(vec![IdRef { id: Some(1) }, IdRef { id: Some(5) }]),
                codes::INVALID_ACCESS_ROLE,
            ),
        ] {
            let mut r = user_req();
            r.access_roles = bad;
            assert_eq!(validate_new_user(&r).unwrap_err().code, code);
        }
        let mut r = user_req();
        r.container = Some(IdRef { id: Some(0) });
        assert_eq!(
            validate_new_user(&r).unwrap_err().code,
            codes::INVALID_CONTAINER
        );
        for field in ["first_name", "last_name", "email"] {
            let mut r = user_req();
            match field {
                "first_name" => r.first_name = None,
                "last_name" => r.last_name = Some("  ".into()),
                _ => r.email = Some("not-an-email".into()),
            }
            let e = validate_new_user(&r).unwrap_err();
            assert!(e.message.contains(field), "{field}: {}", e.message);
        }
    }

    fn def(id: i64, required: bool, active: bool, dt: &'static str) -> FieldDef<'static> {
        FieldDef {
            id,
            label: "L",
            is_required: required,
            is_active: active,
            data_type: dt,
        }
    }

    fn val(id: i64, v: &str) -> CustomFieldValue {
        CustomFieldValue {
            metadata_id: id,
            value: v.to_string(),
        }
    }

    #[test]
    fn containers_below_a_root() {
        let all = [
            (1, None),
            (2, Some(1)),
            (3, Some(2)),
            (4, Some(1)),
            (5, None),
            (6, Some(5)),
        ];
        assert_eq!(visible_containers(&all, 1), vec![1, 2, 4, 3]);
        assert_eq!(visible_containers(&all, 2), vec![2, 3]);
        assert_eq!(visible_containers(&all, 6), vec![6]);
        // A cycle ends.
        assert_eq!(
            visible_containers(&[(1, Some(2)), (2, Some(1))], 1),
            vec![1, 2]
        );
    }

    #[test]
    fn definitions() {
        assert_eq!(
            check_metadata_definition(Some(" Invoice # "), Some("INT")).unwrap(),
            ("Invoice #".to_string(), "int".to_string())
        );
        assert_eq!(check_metadata_definition(Some("x"), None).unwrap().1, "");
        assert_eq!(
            check_metadata_definition(Some("x"), Some("anything"))
                .unwrap()
                .1,
            ""
        );
        assert_eq!(
            check_metadata_definition(None, None).unwrap_err().code,
            "missing_required_field"
        );
        assert_eq!(
            check_metadata_definition(Some("x"), Some("date"))
                .unwrap_err()
                .code,
            "invalid_value"
        );
        assert_eq!(
            check_metadata_definition(Some(&"l".repeat(129)), None)
                .unwrap_err()
                .code,
            "field_too_long"
        );
    }

    #[test]
    fn values_follow_the_definitions() {
        let defs = [
            def(1, true, true, "text"),
            def(2, false, true, "int"),
            def(3, false, true, "email_address"),
            def(4, false, true, "email_list"),
            def(5, true, false, "text"),
            def(6, false, true, ""),
        ];
        assert!(check_custom_fields(&defs, &[val(1, "Ops")]).is_ok());
        assert!(check_custom_fields(
            &defs,
            &[
                val(1, "Ops"),
                val(2, "-42"),
                val(3, "a@example.com"),
                val(4, "a@example.com, b@example.com"),
                val(6, "anything at all")
            ]
        )
        .is_ok());
        let code_and_msg = |given: &[CustomFieldValue]| {
            let e = check_custom_fields(&defs, given).unwrap_err();
            (e.code, e.message)
        };
        let (c, m) = code_and_msg(&[]);
        assert_eq!(c, "custom_field_required");
        assert!(m.contains("metadata_id 1"), "{m}");
        let (c, m) = code_and_msg(&[val(1, "  ")]);
        assert!(m.contains("required"), "{m}");
        assert_eq!(c, "custom_field_required");
        assert!(m.contains("metadata_id 1"), "{m}");
        for (id, bad) in [(2, "4.5"), (2, "12a"), (3, "nope"), (4, "a@example.com, x")] {
            let (c, m) = code_and_msg(&[val(1, "Ops"), val(id, bad)]);
            assert_eq!(c, "invalid_custom_field", "{id} {bad}");
            assert!(m.contains(&format!("metadata_id {id}")), "{m}");
        }
        // Values of inactive or unknown fields are not checked; an
        // inactive required field is not required.
        assert!(check_custom_fields(&defs, &[val(1, "Ops"), val(5, "x"), val(99, "y")]).is_ok());
        let (c, _) = code_and_msg(&[val(1, &"v".repeat(1025))]);
        assert_eq!(c, "field_too_long");
    }
}
