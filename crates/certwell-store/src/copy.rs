//! Moving up from one machine: copies a SQLite store, whole, into an empty
//! PostgreSQL database (`certwell store copy`).
//!
//! Both schemas are brought up to date first (each backend's own
//! migrations), then every table of the PostgreSQL schema is filled from
//! the SQLite table of the same name, column by column, in one PostgreSQL
//! transaction: a failure leaves the target as empty as it was. Rows keep
//! their ids (identity sequences are moved past them), tables are filled
//! parents first (by the schema's foreign keys), rows in the order SQLite
//! stored them, and the schema's own triggers are off while the rows go in
//! (they would re-apply balance entries or refuse certificates of keys
//! blocked later). SQLite's text timestamps, 0/1 booleans and JSON text
//! become PostgreSQL's `timestamptz`, `boolean` and `jsonb`. At the end
//! the rows of every table are counted on both sides; any difference
//! undoes the copy.
//!
//! The source is read in one read transaction (a consistent snapshot), but
//! the server using it should be stopped: what it writes after the copy
//! began is not copied.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;
use sqlx::postgres::Postgres;
use sqlx::sqlite::{SqliteConnectOptions, SqliteRow};
use sqlx::types::Json;
use sqlx::{AssertSqlSafe, Connection, QueryBuilder, Row};
use time::OffsetDateTime;

use crate::postgres::PgStore;
use crate::sqlite::timestamp::parse_ts;
use crate::{Durability, Result, SqliteStore, StoreError};

/// One table copied, with its rows counted on both sides (equal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopiedTable {
    pub table: String,
    pub rows: i64,
}

/// The column types of certwell's PostgreSQL schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PgType {
    BigInt,
    Boolean,
    Text,
    Bytea,
    Jsonb,
    Timestamptz,
}

impl PgType {
    fn of(data_type: &str) -> Option<PgType> {
        Some(match data_type {
            "bigint" => PgType::BigInt,
            "boolean" => PgType::Boolean,
            "text" => PgType::Text,
            "bytea" => PgType::Bytea,
            "jsonb" => PgType::Jsonb,
            "timestamp with time zone" => PgType::Timestamptz,
            _ => return None,
        })
    }
}

/// One value on its way to PostgreSQL.
enum Cell {
    BigInt(Option<i64>),
    Boolean(Option<bool>),
    Text(Option<String>),
    Bytea(Option<Vec<u8>>),
    Jsonb(Option<Json<Value>>),
    Timestamptz(Option<OffsetDateTime>),
}

fn bad(table: &str, column: &str, what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{table}.{column}: {what}"))
}

/// Reads column `i` of a SQLite row as the PostgreSQL column type wants it.
fn cell(row: &SqliteRow, i: usize, ty: PgType, table: &str, column: &str) -> Result<Cell> {
    let e = |err: sqlx::Error| bad(table, column, err);
    Ok(match ty {
        PgType::BigInt => Cell::BigInt(row.try_get(i).map_err(e)?),
        PgType::Boolean => {
            Cell::Boolean(row.try_get::<Option<i64>, _>(i).map_err(e)?.map(|v| v != 0))
        }
        PgType::Text => Cell::Text(row.try_get(i).map_err(e)?),
        PgType::Bytea => Cell::Bytea(row.try_get(i).map_err(e)?),
        PgType::Jsonb => Cell::Jsonb(
            row.try_get::<Option<String>, _>(i)
                .map_err(e)?
                .map(|t| serde_json::from_str(&t).map(Json))
                .transpose()
                .map_err(|err| bad(table, column, err))?,
        ),
        PgType::Timestamptz => Cell::Timestamptz(
            row.try_get::<Option<String>, _>(i)
                .map_err(e)?
                .map(|t| parse_ts(&format!("{table}.{column}"), &t))
                .transpose()?,
        ),
    })
}

/// Copies the SQLite store at `from` into the empty PostgreSQL database
/// `to`; `progress` hears of each table as it is copied.
pub async fn copy_sqlite_to_postgres(
    from: &Path,
    to: &str,
    mut progress: impl FnMut(&CopiedTable),
) -> Result<Vec<CopiedTable>> {
    if !from.is_file() {
        return Err(StoreError::Database(format!(
            "no SQLite store at {}",
            from.display()
        )));
    }
    // Both schemas up to date, as a server start would make them.
    SqliteStore::open(from, Durability::Full)
        .await?
        .close()
        .await;
    let target = PgStore::open(to, Durability::Full).await?;
    let result = copy_into(from, &target, &mut progress).await;
    target.close().await;
    result
}

async fn copy_into(
    from: &Path,
    target: &PgStore,
    progress: &mut impl FnMut(&CopiedTable),
) -> Result<Vec<CopiedTable>> {
    let pool = &target.pool;
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
         AND table_name <> 'schema_migrations' ORDER BY table_name",
    )
    .fetch_all(pool)
    .await?;
    for t in &tables {
        let used: bool = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT EXISTS (SELECT 1 FROM {})",
            quote(t)
        )))
        .fetch_one(pool)
        .await?;
        if used {
            return Err(StoreError::Database(format!(
                "the target database is not empty (table {t} has rows); copy into a new database"
            )));
        }
    }
    let parents: Vec<(String, String)> = sqlx::query_as(
        "SELECT c.conrelid::regclass::text, c.confrelid::regclass::text FROM pg_constraint c \
         JOIN pg_namespace n ON n.oid = c.connamespace \
         WHERE c.contype = 'f' AND n.nspname = current_schema()",
    )
    .fetch_all(pool)
    .await?;
    let order = parents_first(&tables, &parents)?;

    let mut src = sqlx::SqliteConnection::connect_with(
        &SqliteConnectOptions::new().filename(from).read_only(true),
    )
    .await?;
    let source_tables: BTreeSet<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations'",
    )
    .fetch_all(&mut src)
    .await?
    .into_iter()
    .collect();
    if let Some(t) = source_tables.iter().find(|t| !tables.contains(t)) {
        return Err(StoreError::Database(format!(
            "table {t} of the SQLite store has no counterpart in the PostgreSQL schema"
        )));
    }
    // One snapshot of the source for the whole copy.
    let mut snapshot = src.begin().await?;
    let mut tx = pool.begin().await?;
    for t in &order {
        sqlx::query(AssertSqlSafe(format!(
            "ALTER TABLE {} DISABLE TRIGGER USER",
            quote(t)
        )))
        .execute(&mut *tx)
        .await?;
    }
    let mut copied = Vec::new();
    for t in &order {
        let rows = if source_tables.contains(t) {
            copy_table(&mut snapshot, &mut tx, t).await?
        } else {
            0
        };
        let counted: i64 =
            sqlx::query_scalar(AssertSqlSafe(format!("SELECT count(*) FROM {}", quote(t))))
                .fetch_one(&mut *tx)
                .await?;
        let source: i64 = if source_tables.contains(t) {
            sqlx::query_scalar(AssertSqlSafe(format!("SELECT count(*) FROM {}", quote(t))))
                .fetch_one(&mut *snapshot)
                .await?
        } else {
            0
        };
        if counted != source || rows != source {
            return Err(StoreError::Database(format!(
                "table {t}: {source} rows in the SQLite store, {counted} in PostgreSQL; nothing was copied"
            )));
        }
        let done = CopiedTable {
            table: t.clone(),
            rows: counted,
        };
        progress(&done);
        copied.push(done);
    }
    for t in &order {
        sqlx::query(AssertSqlSafe(format!(
            "ALTER TABLE {} ENABLE TRIGGER USER",
            quote(t)
        )))
        .execute(&mut *tx)
        .await?;
    }
    // New rows get ids after the copied ones.
    let identities: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text FROM information_schema.columns \
         WHERE table_schema = current_schema() AND is_identity = 'YES'",
    )
    .fetch_all(&mut *tx)
    .await?;
    for (t, c) in identities {
        sqlx::query(AssertSqlSafe(format!(
            "SELECT setval(pg_get_serial_sequence('{t}', '{c}'), \
             COALESCE((SELECT max({qc}) FROM {qt}), 0) + 1, false)",
            qc = quote(&c),
            qt = quote(&t)
        )))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    snapshot.rollback().await?;
    Ok(copied)
}

/// Copies one table's rows (in SQLite's rowid order); returns how many.
async fn copy_table(
    src: &mut sqlx::SqliteConnection,
    dst: &mut sqlx::PgConnection,
    table: &str,
) -> Result<i64> {
    let pg_columns: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT column_name::text, data_type::text, is_identity::text FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
    )
    .bind(table)
    .fetch_all(&mut *dst)
    .await?;
    let source_columns: BTreeSet<String> = sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT name FROM pragma_table_info('{table}')"
    )))
    .fetch_all(&mut *src)
    .await?
    .into_iter()
    .collect();
    let target: BTreeMap<&str, &str> = pg_columns
        .iter()
        .map(|(c, ty, _)| (c.as_str(), ty.as_str()))
        .collect();
    if let Some(c) = source_columns
        .iter()
        .find(|c| !target.contains_key(c.as_str()))
    {
        return Err(StoreError::Database(format!(
            "column {table}.{c} of the SQLite store has no counterpart in the PostgreSQL schema"
        )));
    }
    // The columns both have; a PostgreSQL-only one keeps its default (an
    // identity numbering the rows in the order they come).
    let mut columns = Vec::new();
    for (c, ty, _) in pg_columns
        .iter()
        .filter(|(c, _, _)| source_columns.contains(c))
    {
        let ty = PgType::of(ty).ok_or_else(|| {
            StoreError::Database(format!("column {table}.{c}: unsupported type {ty}"))
        })?;
        columns.push((c.clone(), ty));
    }
    let names = columns
        .iter()
        .map(|(c, _)| quote(c))
        .collect::<Vec<_>>()
        .join(", ");
    // Pages in rowid order (rowid is the last column read).
    let select = format!(
        "SELECT {names}, rowid FROM {} WHERE rowid > ? ORDER BY rowid LIMIT ?",
        quote(table)
    );
    let insert = format!("INSERT INTO {} ({names}) ", quote(table));
    // At most 65,535 parameters a statement.
    let batch = (60_000 / columns.len().max(1)).clamp(1, 1000);
    let mut after = i64::MIN;
    let mut n = 0i64;
    loop {
        let page = sqlx::query(AssertSqlSafe(select.as_str()))
            .bind(after)
            .bind(batch as i64)
            .fetch_all(&mut *src)
            .await?;
        let Some(last) = page.last() else {
            return Ok(n);
        };
        after = last.try_get(columns.len())?;
        let mut cells = Vec::with_capacity(page.len());
        for row in &page {
            cells.push(
                columns
                    .iter()
                    .enumerate()
                    .map(|(i, (c, ty))| cell(row, i, *ty, table, c))
                    .collect::<Result<Vec<_>>>()?,
            );
        }
        n += cells.len() as i64;
        let mut q: QueryBuilder<Postgres> = QueryBuilder::new(insert.as_str());
        q.push_values(cells, |mut b, row| {
            for c in row {
                match c {
                    Cell::BigInt(v) => b.push_bind(v),
                    Cell::Boolean(v) => b.push_bind(v),
                    Cell::Text(v) => b.push_bind(v),
                    Cell::Bytea(v) => b.push_bind(v),
                    Cell::Jsonb(v) => b.push_bind(v),
                    Cell::Timestamptz(v) => b.push_bind(v),
                };
            }
        });
        q.build().execute(&mut *dst).await?;
    }
}

/// The tables in an order where every table comes after those its
/// foreign keys name (a table naming itself is filled in rowid order).
fn parents_first(tables: &[String], parents: &[(String, String)]) -> Result<Vec<String>> {
    let mut left: BTreeSet<&str> = tables.iter().map(String::as_str).collect();
    let mut order = Vec::new();
    while !left.is_empty() {
        let ready: Vec<&str> = left
            .iter()
            .copied()
            .filter(|t| {
                parents.iter().all(|(child, parent)| {
                    child != t || parent == t || !left.contains(parent.as_str())
                })
            })
            .collect();
        if ready.is_empty() {
            return Err(StoreError::Database(format!(
                "the foreign keys of tables {left:?} form a cycle"
            )));
        }
        for t in ready {
            left.remove(t);
            order.push(t.to_string());
        }
    }
    Ok(order)
}

/// `name` as a quoted SQL identifier (both dialects).
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_come_first() {
        let t = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let fk = |c: &str, p: &str| (c.to_string(), p.to_string());
        let order = parents_first(
            &t(&["orders", "accounts", "certificates", "containers"]),
            &[
                fk("certificates", "orders"),
                fk("orders", "accounts"),
                fk("orders", "containers"),
                fk("containers", "accounts"),
                fk("containers", "containers"),
            ],
        )
        .unwrap();
        assert_eq!(
            order,
            t(&["accounts", "containers", "orders", "certificates"])
        );
        assert!(parents_first(&t(&["a", "b"]), &[fk("a", "b"), fk("b", "a")]).is_err());
    }
}
