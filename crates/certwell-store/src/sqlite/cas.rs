//! The CA hierarchy's records, CRL numbers, stored CRLs and serials
//! reserved before signing.

use sqlx::sqlite::SqliteRow;
use sqlx::Row;

use super::timestamp::{format_ts, now_ts, ts_col};
use super::SqliteStore;
use crate::batch::Bind;
use crate::records::*;
use crate::{Conflict, Result, StoreError};

pub(super) fn ca_row(r: &SqliteRow) -> Result<CaRecord> {
    Ok(CaRecord {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        parent_id: r.try_get("parent_id")?,
        purpose: r.try_get("purpose")?,
        key_algorithm: r.try_get("key_algorithm")?,
        key_file: r.try_get("key_file")?,
        cert_der: r.try_get("cert_der")?,
        is_default: r.try_get::<i64, _>("is_default")? != 0,
        created_at: ts_col(r, "created_at")?,
    })
}

fn crl_meta_row(r: &SqliteRow) -> Result<CrlMeta> {
    Ok(CrlMeta {
        number: r.try_get("number")?,
        this_update: ts_col(r, "this_update")?,
        revocations: r.try_get("revocations")?,
    })
}

impl SqliteStore {
    async fn reserve_serials_job(&self, ca_id: &str, serials: &[String]) -> Result<()> {
        if serials.is_empty() {
            return Ok(());
        }
        let sql = format!(
            "INSERT INTO serials (ca_id, serial, certificate_id, created_at) VALUES {};\nSELECT 1;",
            vec!["(?, ?, NULL, ?)"; serials.len()].join(", ")
        );
        let now = now_ts();
        let mut binds = Vec::with_capacity(serials.len() * 3);
        for s in serials {
            binds.extend([
                Bind::Text(ca_id.to_string()),
                Bind::Text(s.clone()),
                Bind::Text(now.clone()),
            ]);
        }
        // The serials' primary key is the only unique key this job can
        // violate: a duplicate is a serial used before.
        match self.submit(sql, binds).await {
            Ok(_) => Ok(()),
            Err(StoreError::Conflict(Conflict::Duplicate)) => Err(Conflict::SerialInUse.into()),
            Err(e) => Err(e),
        }
    }

    pub(crate) async fn insert_ca(&self, ca: &CaRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO cas (id, name, parent_id, purpose, key_algorithm, key_file, cert_der, is_default, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&ca.id)
        .bind(&ca.name)
        .bind(&ca.parent_id)
        .bind(&ca.purpose)
        .bind(&ca.key_algorithm)
        .bind(&ca.key_file)
        .bind(&ca.cert_der)
        .bind(ca.is_default as i64)
        .bind(format_ts(ca.created_at))
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    pub(crate) async fn list_cas(&self) -> Result<Vec<CaRecord>> {
        let rows = sqlx::query("SELECT * FROM cas ORDER BY created_at, id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(ca_row).collect()
    }

    pub(crate) async fn next_crl_number(&self, ca_id: &str) -> Result<i64> {
        let n: i64 = sqlx::query_scalar(
            "INSERT INTO crl_numbers (ca_id, last_number) VALUES (?, 1) \
             ON CONFLICT (ca_id) DO UPDATE SET last_number = last_number + 1 RETURNING last_number",
        )
        .bind(ca_id)
        .fetch_one(&self.writer)
        .await?;
        Ok(n)
    }

    pub(crate) async fn fence_crl_numbers(
        &self,
        jump: i64,
        drop_crls: &[String],
    ) -> Result<Vec<(String, i64)>> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        for ca in drop_crls {
            sqlx::query("DELETE FROM crls WHERE ca_id = ?")
                .bind(ca)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(
            "INSERT INTO crl_numbers (ca_id, last_number) SELECT id, 0 FROM cas WHERE true \
             ON CONFLICT (ca_id) DO NOTHING",
        )
        .execute(&mut *tx)
        .await?;
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "UPDATE crl_numbers SET last_number = last_number + ? RETURNING ca_id, last_number",
        )
        .bind(jump)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let mut rows = rows;
        rows.sort();
        Ok(rows)
    }

    pub(crate) async fn meta_once(&self, key: &str, value: &str) -> Result<String> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING")
            .bind(key)
            .bind(value)
            .execute(&mut *tx)
            .await?;
        let stored: String = sqlx::query_scalar("SELECT value FROM meta WHERE key = ?")
            .bind(key)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(stored)
    }

    pub(crate) async fn snapshot_to(&self, dest: &std::path::Path) -> Result<()> {
        let path = dest
            .to_str()
            .ok_or_else(|| StoreError::Unsupported("the backup path is not UTF-8".into()))?;
        // A read transaction of its own: consistent, and writers go on.
        sqlx::query("VACUUM INTO ?")
            .bind(path)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub(crate) async fn reserve_serials(&self, ca_id: &str, serials_hex: &[String]) -> Result<()> {
        self.reserve_serials_job(ca_id, serials_hex).await
    }

    pub(crate) async fn crl_state(&self, ca_id: &str) -> Result<CrlState> {
        let revocations: Option<i64> =
            sqlx::query_scalar("SELECT revocations FROM crl_numbers WHERE ca_id = ?")
                .bind(ca_id)
                .fetch_optional(&self.pool)
                .await?;
        let latest =
            sqlx::query("SELECT number, this_update, revocations FROM crls WHERE ca_id = ?")
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
        sqlx::query("SELECT number, this_update, revocations, der FROM crls WHERE ca_id = ?")
            .bind(ca_id)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| Ok((crl_meta_row(&r)?, r.try_get("der")?)))
            .transpose()
    }

    pub(crate) async fn save_crl(&self, ca_id: &str, meta: &CrlMeta, der: &[u8]) -> Result<bool> {
        let n = sqlx::query(
            "INSERT INTO crls (ca_id, number, this_update, revocations, der) VALUES (?, ?, ?, ?, ?) \
             ON CONFLICT (ca_id) DO UPDATE SET number = excluded.number, \
             this_update = excluded.this_update, revocations = excluded.revocations, der = excluded.der \
             WHERE excluded.number > crls.number",
        )
        .bind(ca_id)
        .bind(meta.number)
        .bind(format_ts(meta.this_update))
        .bind(meta.revocations)
        .bind(der)
        .execute(&self.writer)
        .await?
        .rows_affected();
        Ok(n == 1)
    }
}
