//! Reading a stored name (a status, a DCV method, a reason) back as its
//! typed value, for every backend's rows: a name the type does not know is
//! a corrupt record.

use sqlx::{ColumnIndex, Decode, Row, Type};

use crate::{Result, StoreError};

fn known<T>(col: &str, s: &str, from_name: fn(&str) -> Option<T>) -> Result<T> {
    from_name(s).ok_or_else(|| StoreError::Corrupt(format!("{col}: unknown value {s:?}")))
}

/// A NOT NULL column holding a name.
pub(crate) fn name_col<R, T>(row: &R, col: &str, from_name: fn(&str) -> Option<T>) -> Result<T>
where
    R: Row,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'c> &'c str: ColumnIndex<R>,
{
    let s: String = row.try_get(col)?;
    known(col, &s, from_name)
}

/// A nullable column holding a name (`None` when NULL).
pub(crate) fn opt_name_col<R, T>(
    row: &R,
    col: &str,
    from_name: fn(&str) -> Option<T>,
) -> Result<Option<T>>
where
    R: Row,
    for<'r> Option<String>: Decode<'r, R::Database> + Type<R::Database>,
    for<'c> &'c str: ColumnIndex<R>,
{
    let s: Option<String> = row.try_get(col)?;
    s.map(|s| known(col, &s, from_name)).transpose()
}
