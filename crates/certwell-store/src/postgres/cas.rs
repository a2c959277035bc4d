//! CAs, CRL numbers and the serial ledger.

use sqlx::postgres::PgRow;
use sqlx::Row;
use time::OffsetDateTime;

use super::{now, whole_seconds, PgStore};
use crate::records::*;
use crate::{Conflict, Result, StoreError};

fn ca_row(r: &PgRow) -> Result<CaRecord> {
    Ok(CaRecord {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        parent_id: r.try_get("parent_id")?,
        purpose: r.try_get("purpose")?,
        key_algorithm: r.try_get("key_algorithm")?,
        key_file: r.try_get("key_file")?,
        cert_der: r.try_get("cert_der")?,
        is_default: r.try_get("is_default")?,
        created_at: whole_seconds(r.try_get::<OffsetDateTime, _>("created_at")?),
    })
}

/// Records `serials` of `ca_id` as used, in the caller's connection or
/// transaction (one statement). A serial the CA used before (or one given
/// twice) violates the serials' primary key, the only unique key of the
/// table: reported as [`Conflict::SerialInUse`]. Inside a transaction
/// that error aborts it, so nothing of it is kept.
pub(super) async fn record_serials(
    conn: &mut sqlx::PgConnection,
    ca_id: &str,
    serials: &[String],
    at: OffsetDateTime,
) -> Result<()> {
    if serials.is_empty() {
        return Ok(());
    }
    let result = sqlx::query(
        "INSERT INTO serials (ca_id, serial, certificate_id, created_at) \
         SELECT $1, s, NULL, $3 FROM UNNEST($2::text[]) AS s",
    )
    .bind(ca_id)
    .bind(serials)
    .bind(whole_seconds(at))
    .execute(&mut *conn)
    .await;
    match result {
        Ok(_) => Ok(()),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            Err(Conflict::SerialInUse.into())
        }
        Err(e) => Err(e.into()),
    }
}

fn crl_meta_row(r: &PgRow) -> Result<CrlMeta> {
    Ok(CrlMeta {
        number: r.try_get("number")?,
        this_update: whole_seconds(r.try_get("this_update")?),
        revocations: r.try_get("revocations")?,
    })
}

impl PgStore {
    pub(crate) async fn insert_ca(&self, ca: &CaRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO cas (id, name, parent_id, purpose, key_algorithm, key_file, cert_der, is_default, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&ca.id)
        .bind(&ca.name)
        .bind(&ca.parent_id)
        .bind(&ca.purpose)
        .bind(&ca.key_algorithm)
        .bind(&ca.key_file)
        .bind(&ca.cert_der)
        .bind(ca.is_default)
        .bind(whole_seconds(ca.created_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(crate) async fn list_cas(&self) -> Result<Vec<CaRecord>> {
        let rows = sqlx::query("SELECT * FROM cas ORDER BY created_at, id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(ca_row).collect()
    }

    pub(crate) async fn fence_crl_numbers(
        &self,
        jump: i64,
        drop_crls: &[String],
    ) -> Result<Vec<(String, i64)>> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM crls WHERE ca_id = ANY($1)")
            .bind(drop_crls)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO crl_numbers (ca_id, last_number) SELECT id, 0 FROM cas \
             ON CONFLICT (ca_id) DO NOTHING",
        )
        .execute(&mut *tx)
        .await?;
        let mut rows: Vec<(String, i64)> = sqlx::query_as(
            "UPDATE crl_numbers SET last_number = last_number + $1 RETURNING ca_id, last_number",
        )
        .bind(jump)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        rows.sort();
        Ok(rows)
    }

    pub(crate) async fn meta_once(&self, key: &str, value: &str) -> Result<String> {
        sqlx::query("INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
            .bind(key)
            .bind(value)
            .execute(&self.pool)
            .await?;
        let stored: String = sqlx::query_scalar("SELECT value FROM meta WHERE key = $1")
            .bind(key)
            .fetch_one(&self.pool)
            .await?;
        Ok(stored)
    }

    pub(crate) async fn snapshot_to(&self, _dest: &std::path::Path) -> Result<()> {
        Err(StoreError::Unsupported(
            "a PostgreSQL database is backed up with PostgreSQL's own tools (pg_dump, pg_basebackup or your provider's snapshots)".into(),
        ))
    }

    pub(crate) async fn next_crl_number(&self, ca_id: &str) -> Result<i64> {
        // One atomic statement: concurrent callers (of any instance) queue
        // on the row and each gets the next number.
        let n: i64 = sqlx::query_scalar(
            "INSERT INTO crl_numbers (ca_id, last_number) VALUES ($1, 1) \
             ON CONFLICT (ca_id) DO UPDATE SET last_number = crl_numbers.last_number + 1 \
             RETURNING last_number",
        )
        .bind(ca_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(n)
    }

    pub(crate) async fn crl_state(&self, ca_id: &str) -> Result<CrlState> {
        let revocations: Option<i64> =
            sqlx::query_scalar("SELECT revocations FROM crl_numbers WHERE ca_id = $1")
                .bind(ca_id)
                .fetch_optional(&self.pool)
                .await?;
        let latest =
            sqlx::query("SELECT number, this_update, revocations FROM crls WHERE ca_id = $1")
                .bind(ca_id)
                .fetch_optional(&self.pool)
                .await?
                .as_ref()
                .map(crl_meta_row)
                .transpose()?;
        Ok(CrlState {
            revocations: revocations.unwrap_or(0),
            latest,
        })
    }

    pub(crate) async fn stored_crl(&self, ca_id: &str) -> Result<Option<(CrlMeta, Vec<u8>)>> {
        sqlx::query("SELECT number, this_update, revocations, der FROM crls WHERE ca_id = $1")
            .bind(ca_id)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| Ok((crl_meta_row(&r)?, r.try_get("der")?)))
            .transpose()
    }

    pub(crate) async fn save_crl(&self, ca_id: &str, meta: &CrlMeta, der: &[u8]) -> Result<bool> {
        let n = sqlx::query(
            "INSERT INTO crls (ca_id, number, this_update, revocations, der) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (ca_id) DO UPDATE SET number = excluded.number, \
             this_update = excluded.this_update, revocations = excluded.revocations, der = excluded.der \
             WHERE excluded.number > crls.number",
        )
        .bind(ca_id)
        .bind(meta.number)
        .bind(whole_seconds(meta.this_update))
        .bind(meta.revocations)
        .bind(der)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    pub(crate) async fn reserve_serials(&self, ca_id: &str, serials_hex: &[String]) -> Result<()> {
        if serials_hex.is_empty() {
            return Ok(());
        }
        // One statement, committed (durably) before this returns: all the
        // serials are recorded, or none.
        let mut conn = self.pool.acquire().await?;
        record_serials(&mut conn, ca_id, serials_hex, now()).await
    }
}
