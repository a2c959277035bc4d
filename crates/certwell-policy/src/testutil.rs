//! Helpers shared by the policy tests.

use serde_json::{json, Value};

/// Sets (or with Null removes) the value at a dotted path of a JSON body.
pub fn with(mut body: Value, path: &str, v: Value) -> Value {
    let parts: Vec<&str> = path.split('.').collect();
    let mut cur = &mut body;
    for p in &parts[..parts.len() - 1] {
        if cur.get(*p).is_none() {
            cur[*p] = json!({});
        }
        cur = &mut cur[*p];
    }
    let last = parts[parts.len() - 1];
    if v.is_null() {
        cur.as_object_mut().unwrap().remove(last);
    } else {
        cur[last] = v;
    }
    body
}
