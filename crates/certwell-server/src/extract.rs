//! Request extractors: the API key caller, JSON bodies with field-naming
//! errors, numeric path ids, and list pagination.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use certwell_api::error::codes;
use certwell_policy::approval::{KeyRestriction, Role};
use certwell_store::{Aggregate, User};
use serde::de::DeserializeOwned;

use crate::error::Error;
use crate::state::{AppState, CachedKey, KEY_CACHE_TTL};

/// The authenticated user behind an `X-DC-DEVKEY` account key.
#[derive(Debug, Clone)]
pub struct Caller {
    pub key_id: i64,
    pub account_id: i64,
    pub user: User,
    pub role: Role,
    /// The user's container is the account's root: no container scope.
    pub at_root: bool,
    /// The key's API key role: keys it makes carry the same one.
    pub restriction: KeyRestriction,
}

/// An operator key (validation desk, tenant administration).
#[derive(Debug, Clone)]
pub struct Operator {
    pub key_id: i64,
}

pub fn hash_api_key(key: &str) -> String {
    hex::encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, key.as_bytes()).as_ref())
}

async fn lookup(parts: &Parts, state: &AppState) -> Result<CachedKey, Error> {
    let key = parts
        .headers
        .get("x-dc-devkey")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 256)
        .ok_or_else(Error::forbidden_invalid_key)?;
    let hash = hash_api_key(key);
    // Read before the store is: an entry read while a key or user changed
    // is kept under an epoch that has moved, and never served.
    let epoch = state.store.changes().epoch(Aggregate::Keys);
    let cached = {
        let cache = state.key_cache.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .get(&hash)
            .filter(|c| c.epoch == epoch && c.at.elapsed() < KEY_CACHE_TTL)
            .cloned()
    };
    let entry = match cached {
        Some(c) => c,
        None => {
            let rec = state
                .store
                .find_api_key(&hash)
                .await?
                .filter(|k| !k.revoked)
                .ok_or_else(Error::forbidden_invalid_key)?;
            let user = match (rec.account_id, rec.user_id) {
                (Some(a), Some(u)) => state.store.get_user(a, u).await?,
                _ => None,
            };
            let at_root = match (&user, rec.account_id) {
                (Some(u), Some(a)) => state
                    .store
                    .get_account(a)
                    .await?
                    .is_some_and(|acc| acc.root_container_id == u.container_id),
                _ => false,
            };
            let entry = CachedKey {
                key: rec,
                user,
                at_root,
                at: std::time::Instant::now(),
                epoch,
            };
            let mut cache = state.key_cache.lock().unwrap_or_else(|p| p.into_inner());
            if cache.len() > 10_000 {
                cache.clear();
            }
            cache.insert(hash, entry.clone());
            entry
        }
    };
    // Checked on every use, cached or not: an expired key, or one whose
    // user is deactivated, is refused from that moment.
    let now = time::OffsetDateTime::now_utc();
    if entry.key.expires_at.is_some_and(|e| e <= now)
        || entry
            .user
            .as_ref()
            .is_some_and(|u| u.status != certwell_store::UserStatus::Active)
    {
        return Err(Error::forbidden_invalid_key());
    }
    if !state
        .rate_limiter
        .check(entry.key.id, std::time::Instant::now())
    {
        state.metrics.rate_limited.inc();
        return Err(Error::new(
            crate::error::ErrorKind::RateLimited,
            codes::REQUEST_LIMIT_EXCEEDED,
            "Service unavailable, please limit request volume",
        ));
    }
    Ok(entry)
}

/// The account a request acted for, filled in by the [`Caller`] extractor
/// for the request log (`routes::request_log`).
#[derive(Clone, Default)]
pub struct RequestAccount(pub Arc<std::sync::OnceLock<i64>>);

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let entry = lookup(parts, state).await?;
        let rec = entry.key;
        let (Some(account_id), Some(user)) = (rec.account_id, entry.user) else {
            return Err(Error::forbidden_invalid_key());
        };
        let role = Role::parse(&rec.role).ok_or_else(Error::forbidden_invalid_key)?;
        // The key's API key role (restricted_to_role_id) narrows what its
        // user may do.
        let restriction = KeyRestriction::from_id(rec.restricted_role)
            .ok_or_else(Error::forbidden_invalid_key)?;
        let path = parts.uri.path();
        let path = path.strip_prefix("/services/v2").unwrap_or(path);
        if !restriction.allows(parts.method.as_str(), path) {
            return Err(Error::missing_permission(&format!(
                "use this endpoint with a key restricted to '{}' (restricted_to_role_id {})",
                restriction.name(),
                restriction.id()
            )));
        }
        record_key_use(state, rec.id);
        if let Some(slot) = parts.extensions.get::<RequestAccount>() {
            let _ = slot.0.set(account_id);
        }
        Ok(Caller {
            key_id: rec.id,
            account_id,
            user,
            role,
            at_root: entry.at_root,
            restriction,
        })
    }
}

/// Records that key `id` was used now, at most once a minute per key and
/// instance, off the request's path.
fn record_key_use(state: &Arc<AppState>, id: i64) {
    let due = {
        let mut seen = state.key_use.lock().unwrap_or_else(|p| p.into_inner());
        let now = std::time::Instant::now();
        match seen.get(&id) {
            Some(at) if now.duration_since(*at) < std::time::Duration::from_secs(60) => false,
            _ => {
                if seen.len() > 10_000 {
                    seen.clear();
                }
                seen.insert(id, now);
                true
            }
        }
    };
    if due {
        let store = state.store.clone();
        let at = time::OffsetDateTime::now_utc();
        tokio::spawn(async move {
            if let Err(e) = store.record_key_use(&[(id, at)]).await {
                tracing::debug!(key = id, error = %e, "key use not recorded");
            }
        });
    }
}

impl FromRequestParts<Arc<AppState>> for Operator {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let entry = lookup(parts, state).await?;
        if Role::parse(&entry.key.role) != Some(Role::Operator) {
            return Err(Error::missing_permission("use the operator API"));
        }
        Ok(Operator {
            key_id: entry.key.id,
        })
    }
}

impl OptionalFromRequestParts<Arc<AppState>> for Caller {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(
            <Caller as FromRequestParts<Arc<AppState>>>::from_request_parts(parts, state)
                .await
                .ok(),
        )
    }
}

/// Whether a JSON text has a string with a NUL character: JSON can carry
/// one only as the escape `\u0000` (a raw control byte is not JSON), and an
/// escaped backslash (`\\`) before `u0000` is text, not the escape.
fn has_escaped_nul(body: &[u8]) -> bool {
    let mut i = 0;
    while i < body.len() {
        if body[i] == b'\\' {
            if body.get(i + 1) == Some(&b'u')
                && body
                    .get(i + 2..i + 6)
                    .is_some_and(|h| h.iter().all(|c| *c == b'0'))
            {
                return true;
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    false
}

/// Parses a JSON body; syntax errors are `bad_request_format`, type errors
/// name the field. An empty body is `{}`.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, Error> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}" as &[u8]
    } else {
        body
    };
    // Every byte of the body, known fields or not, must be UTF-8 (JSON's
    // encoding); serde would skip an unknown field's bytes unchecked.
    if std::str::from_utf8(body).is_err() {
        return Err(Error::bad_request(
            codes::BAD_REQUEST_FORMAT,
            "The request body is not valid JSON: it is not UTF-8 text.",
        ));
    }
    if has_escaped_nul(body) {
        return Err(Error::bad_request(
            codes::INVALID_VALUE,
            "The request body contains a NUL character (\\u0000), which no field accepts.",
        ));
    }
    // The vendor's own examples carry trailing commas ("…},\n}"); accept
    // them, and only them, beyond strict JSON.
    let relaxed;
    let body = match serde_json::from_slice::<serde::de::IgnoredAny>(body) {
        Err(e) if e.is_syntax() => match strip_trailing_commas(body) {
            Some(b) if serde_json::from_slice::<serde::de::IgnoredAny>(&b).is_ok() => {
                relaxed = b;
                &relaxed[..]
            }
            _ => body,
        },
        _ => body,
    };
    let de = &mut serde_json::Deserializer::from_slice(body);
    match serde_path_to_error::deserialize::<_, T>(&mut *de) {
        // One JSON value and nothing after it but whitespace.
        Ok(v) => match de.end() {
            Ok(()) => Ok(v),
            Err(e) => Err(Error::bad_request(
                codes::BAD_REQUEST_FORMAT,
                format!("The request body is not valid JSON: {e} (after the JSON value)"),
            )),
        },
        Err(e) => {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if inner.is_syntax() || inner.is_eof() || path == "." {
                Err(Error::bad_request(
                    codes::BAD_REQUEST_FORMAT,
                    format!("The request body is not valid JSON: {inner}"),
                ))
            } else {
                let why = inner.to_string();
                let why = why.split(" at line").next().unwrap_or(&why).to_string();
                Err(Error::bad_request(
                    codes::INVALID_FIELD_TYPE,
                    format!("The field '{path}' has the wrong type: {why}."),
                ))
            }
        }
    }
}

/// `body` without commas that directly precede `}` or `]` (outside
/// strings); None when there are none.
fn strip_trailing_commas(body: &[u8]) -> Option<Vec<u8>> {
    let mut out: Vec<u8> = Vec::with_capacity(body.len());
    let (mut in_string, mut escaped, mut changed) = (false, false, false);
    for (i, &b) in body.iter().enumerate() {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
        } else if b == b'"' {
            in_string = true;
        } else if b == b',' {
            let next = body[i + 1..].iter().find(|c| !c.is_ascii_whitespace());
            let prev = out.iter().rev().find(|c| !c.is_ascii_whitespace());
            let after_value = !matches!(prev, None | Some(b'{') | Some(b'[') | Some(b','));
            if after_value && matches!(next, Some(b'}') | Some(b']')) {
                changed = true;
                continue;
            }
        }
        out.push(b);
    }
    changed.then_some(out)
}

/// A positive integer id from a path segment, or the given 404.
pub fn path_id(raw: &str, not_found: fn() -> Error) -> Result<i64, Error> {
    match raw.parse::<i64>() {
        Ok(v) if v > 0 => Ok(v),
        _ => Err(not_found()),
    }
}

/// limit/offset from the query string (default limit 1000, max 1000).
pub fn paging(q: &HashMap<String, String>) -> Result<(i64, i64), Error> {
    let num = |k: &str, default: i64| -> Result<i64, Error> {
        match q.get(k) {
            None => Ok(default),
            Some(v) if v.is_empty() => Ok(default),
            Some(v) => v.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
                Error::bad_request(
                    codes::INVALID_FILTER,
                    format!("The query parameter '{k}' must be a non-negative integer."),
                )
            }),
        }
    };
    let limit = num("limit", 1000)?;
    let limit = if limit == 0 { 1000 } else { limit.min(1000) };
    Ok((limit, num("offset", 0)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailing_commas_only() {
        let v: serde_json::Value = parse_json(br#"{"a": {"b": [1, 2,],}, "c": "x,}",}"#).unwrap();
        assert_eq!(v, serde_json::json!({"a": {"b": [1, 2]}, "c": "x,}"}));
        let v: serde_json::Value = parse_json(br#"{"s": "q\",]"}"#).unwrap();
        assert_eq!(v["s"], "q\",]");
        for bad in [
            &br#"{"a": 1,, }"#[..],
            br#"{"a": }"#,
            br#"{,}"#,
            br#"[1 2]"#,
        ] {
            let e = parse_json::<serde_json::Value>(bad).unwrap_err();
            assert_eq!(e.code, "bad_request_format");
        }
    }

    /// One JSON value, UTF-8 throughout: trailing text after a valid
    /// body, and invalid UTF-8 even in a field nobody reads, are refused.
    #[test]
    fn trailing_data_and_invalid_utf8_are_refused() {
        #[derive(serde::Deserialize, Debug)]
        struct Known {
            #[allow(dead_code)]
            a: i64,
        }
        assert!(parse_json::<Known>(b"{\"a\": 1}\n  ").is_ok());
        for bad in [
            &b"{\"a\": 1} garbage"[..],
            b"{\"a\": 1}}",
            b"{\"a\": 1}{\"a\": 1}",
            b"{\"a\": 1}\0",
            b"{\"a\": 1, \"unknown\": \"\xff\xfe\"}",
            b"{\"a\": 1, \"unknown\": \"\xc3\x28\"}",
        ] {
            let e = parse_json::<Known>(bad).unwrap_err();
            assert_eq!(
                e.code,
                "bad_request_format",
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}

#[cfg(test)]
mod nul_tests {
    #[test]
    fn escaped_nul_characters_are_found() {
        assert!(super::has_escaped_nul(br#"{"a":"x\u0000y"}"#));
        assert!(!super::has_escaped_nul(br#"{"a":"x\\u0000y"}"#));
        assert!(super::has_escaped_nul(br#"{"a":"\\\u0000"}"#));
        assert!(!super::has_escaped_nul(br#"{"a":"\u0041"}"#));
    }
}
