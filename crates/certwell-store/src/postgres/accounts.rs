//! Accounts, containers, custom order fields (account metadata), users and API keys.

use serde_json::Value;
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::Row;
use time::OffsetDateTime;

use super::{now, whole_seconds, PgStore};
use crate::changes::Aggregate;
use crate::records::*;
use crate::{Result, StoreError};

/// A timestamp column, in UTC whole seconds.
fn ts(r: &PgRow, col: &str) -> Result<OffsetDateTime> {
    Ok(whole_seconds(r.try_get::<OffsetDateTime, _>(col)?))
}

fn account_row(r: &PgRow) -> Result<Account> {
    let settings: Json<Value> = r.try_get("settings")?;
    Ok(Account {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        root_container_id: r
            .try_get::<Option<i64>, _>("root_container_id")?
            .unwrap_or(0),
        settings: serde_json::from_value(settings.0)?,
        created_at: ts(r, "created_at")?,
    })
}

fn user_row(r: &PgRow) -> Result<User> {
    Ok(User {
        id: r.try_get("id")?,
        account_id: r.try_get("account_id")?,
        container_id: r.try_get("container_id")?,
        role: r.try_get("role")?,
        first_name: r.try_get("first_name")?,
        last_name: r.try_get("last_name")?,
        email: r.try_get("email")?,
        job_title: r.try_get("job_title")?,
        telephone: r.try_get("telephone")?,
        created_at: ts(r, "created_at")?,
        status: {
            let s: String = r.try_get("status")?;
            UserStatus::from_name(&s)
                .ok_or_else(|| StoreError::Corrupt(format!("unknown user status '{s}'")))?
        },
        is_api_only: r.try_get("is_api_only")?,
    })
}

fn api_key_row(r: &PgRow) -> Result<ApiKey> {
    Ok(ApiKey {
        id: r.try_get("id")?,
        account_id: r.try_get("account_id")?,
        user_id: r.try_get("user_id")?,
        role: r.try_get("role")?,
        revoked: r.try_get("revoked")?,
        name: r.try_get("name")?,
        restricted_role: r.try_get("restricted_role")?,
        expires_at: r
            .try_get::<Option<OffsetDateTime>, _>("expires_at")?
            .map(whole_seconds),
        created_at: ts(r, "created_at")?,
        last_used_at: r
            .try_get::<Option<OffsetDateTime>, _>("last_used_at")?
            .map(whole_seconds),
    })
}

const API_KEY_SELECT: &str = "SELECT k.id, k.account_id, k.user_id, k.role, k.revoked, k.name, \
     k.restricted_role, k.expires_at, k.created_at, u.last_used_at \
     FROM api_keys k LEFT JOIN api_key_usage u ON u.key_id = k.id";

fn container_row(r: &PgRow) -> Result<Container> {
    Ok(Container {
        id: r.try_get("id")?,
        account_id: r.try_get("account_id")?,
        parent_id: r.try_get("parent_id")?,
        name: r.try_get("name")?,
        description: r.try_get("description")?,
    })
}

fn metadata_row(r: &PgRow) -> Result<MetadataField> {
    Ok(MetadataField {
        id: r.try_get("id")?,
        label: r.try_get("label")?,
        is_required: r.try_get("is_required")?,
        is_active: r.try_get("is_active")?,
        data_type: r.try_get("data_type")?,
    })
}

/// `Ok(())` when a write changed a row, else [`StoreError::NotFound`].
fn found(rows_affected: u64) -> Result<()> {
    if rows_affected == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

const USER_COLUMNS: &str = "id, account_id, container_id, role, first_name, last_name, email, \
     job_title, telephone, created_at, status, is_api_only";

impl PgStore {
    pub(crate) async fn create_account(
        &self,
        name: &str,
        settings: &AccountSettings,
        admin: &NewUser,
    ) -> Result<(Account, User)> {
        let now = now();
        let mut tx = self.pool.begin().await?;
        let account_id: i64 = sqlx::query_scalar(
            "INSERT INTO accounts (name, settings, created_at) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(name)
        .bind(Json(settings))
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let container_id: i64 = sqlx::query_scalar(
            "INSERT INTO containers (account_id, parent_id, name, created_at) \
             VALUES ($1, NULL, $2, $3) RETURNING id",
        )
        .bind(account_id)
        .bind(name)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let account =
            sqlx::query("UPDATE accounts SET root_container_id = $1 WHERE id = $2 RETURNING *")
                .bind(container_id)
                .bind(account_id)
                .fetch_one(&mut *tx)
                .await?;
        let user = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO users (account_id, container_id, role, first_name, last_name, email, \
             job_title, telephone, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {USER_COLUMNS}"
        )))
        .bind(account_id)
        .bind(container_id)
        .bind(&admin.role)
        .bind(&admin.first_name)
        .bind(&admin.last_name)
        .bind(&admin.email)
        .bind(&admin.job_title)
        .bind(&admin.telephone)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let out = (account_row(&account)?, user_row(&user)?);
        tx.commit().await?;
        self.changed(Aggregate::Accounts);
        self.changed(Aggregate::Keys);
        Ok(out)
    }

    pub(crate) async fn get_account(&self, id: i64) -> Result<Option<Account>> {
        let row = sqlx::query("SELECT * FROM accounts WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(account_row).transpose()
    }

    pub(crate) async fn list_accounts(&self) -> Result<Vec<Account>> {
        let rows = sqlx::query("SELECT * FROM accounts ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(account_row).collect()
    }

    pub(crate) async fn update_account_settings(
        &self,
        id: i64,
        settings: &AccountSettings,
    ) -> Result<()> {
        let n = sqlx::query("UPDATE accounts SET settings = $1 WHERE id = $2")
            .bind(Json(settings))
            .bind(id)
            .execute(&self.pool)
            .await?
            .rows_affected();
        found(n)?;
        self.changed(Aggregate::Accounts);
        Ok(())
    }

    pub(crate) async fn get_container(
        &self,
        account_id: i64,
        id: i64,
    ) -> Result<Option<Container>> {
        let row = sqlx::query("SELECT * FROM containers WHERE id = $1 AND account_id = $2")
            .bind(id)
            .bind(account_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(container_row).transpose()
    }

    pub(crate) async fn list_containers(&self, account_id: i64) -> Result<Vec<Container>> {
        sqlx::query("SELECT * FROM containers WHERE account_id = $1 ORDER BY id")
            .bind(account_id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(container_row)
            .collect()
    }

    pub(crate) async fn create_container(
        &self,
        account_id: i64,
        parent_id: i64,
        name: &str,
        description: &str,
    ) -> Result<i64> {
        // The parent must be a container of this account: nothing is
        // written otherwise.
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO containers (account_id, parent_id, name, description, created_at) \
             SELECT $1, id, $2, $3, $4 FROM containers WHERE id = $5 AND account_id = $1 \
             RETURNING id",
        )
        .bind(account_id)
        .bind(name)
        .bind(description)
        .bind(now())
        .bind(parent_id)
        .fetch_optional(&self.pool)
        .await?;
        let id = id.ok_or(StoreError::NotFound)?;
        self.changed(Aggregate::Accounts);
        Ok(id)
    }

    pub(crate) async fn list_metadata(&self, account_id: i64) -> Result<Vec<MetadataField>> {
        sqlx::query(
            "SELECT * FROM account_metadata WHERE account_id = $1 AND NOT deleted ORDER BY id",
        )
        .bind(account_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(metadata_row)
        .collect()
    }

    pub(crate) async fn create_metadata(
        &self,
        account_id: i64,
        f: &NewMetadataField,
    ) -> Result<i64> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO account_metadata (account_id, label, is_required, is_active, data_type, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(account_id)
        .bind(&f.label)
        .bind(f.is_required)
        .bind(f.is_active)
        .bind(&f.data_type)
        .bind(now())
        .fetch_one(&self.pool)
        .await?;
        self.changed(Aggregate::Metadata);
        Ok(id)
    }

    pub(crate) async fn update_metadata(
        &self,
        account_id: i64,
        id: i64,
        f: &NewMetadataField,
    ) -> Result<()> {
        let n = sqlx::query(
            "UPDATE account_metadata SET label = $1, is_required = $2, is_active = $3, data_type = $4 \
             WHERE id = $5 AND account_id = $6 AND NOT deleted",
        )
        .bind(&f.label)
        .bind(f.is_required)
        .bind(f.is_active)
        .bind(&f.data_type)
        .bind(id)
        .bind(account_id)
        .execute(&self.pool)
        .await?
        .rows_affected();
        found(n)?;
        self.changed(Aggregate::Metadata);
        Ok(())
    }

    pub(crate) async fn delete_metadata(&self, account_id: i64, id: i64) -> Result<()> {
        // Kept (marked deleted) so orders that carry a value still show it.
        let n = sqlx::query(
            "UPDATE account_metadata SET deleted = TRUE \
             WHERE id = $1 AND account_id = $2 AND NOT deleted",
        )
        .bind(id)
        .bind(account_id)
        .execute(&self.pool)
        .await?
        .rows_affected();
        found(n)?;
        self.changed(Aggregate::Metadata);
        Ok(())
    }

    pub(crate) async fn create_user(&self, account_id: i64, u: &NewUser) -> Result<User> {
        // One statement: the account's root container is the default, and
        // no account means no row (NotFound).
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO users (account_id, container_id, role, first_name, last_name, email, \
             job_title, telephone, created_at, is_api_only) \
             SELECT a.id, COALESCE($2, a.root_container_id, 0), $3, $4, $5, $6, $7, $8, $9, $10 \
             FROM accounts a WHERE a.id = $1 RETURNING {USER_COLUMNS}"
        )))
        .bind(account_id)
        .bind(u.container_id)
        .bind(&u.role)
        .bind(&u.first_name)
        .bind(&u.last_name)
        .bind(&u.email)
        .bind(&u.job_title)
        .bind(&u.telephone)
        .bind(now())
        .bind(u.is_api_only)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        self.changed(Aggregate::Keys);
        user_row(&row)
    }

    pub(crate) async fn get_user(&self, account_id: i64, id: i64) -> Result<Option<User>> {
        let row = sqlx::query("SELECT * FROM users WHERE id = $1 AND account_id = $2")
            .bind(id)
            .bind(account_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user_row).transpose()
    }

    pub(crate) async fn list_users(&self, account_id: i64) -> Result<Vec<User>> {
        sqlx::query("SELECT * FROM users WHERE account_id = $1 ORDER BY id")
            .bind(account_id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(user_row)
            .collect()
    }

    pub(crate) async fn update_user_contact(
        &self,
        account_id: i64,
        id: i64,
        c: &UserContactUpdate,
    ) -> Result<()> {
        let n = sqlx::query(
            "UPDATE users SET first_name = COALESCE($1, first_name), last_name = COALESCE($2, last_name), \
             email = COALESCE($3, email), job_title = COALESCE($4, job_title), \
             telephone = COALESCE($5, telephone) WHERE id = $6 AND account_id = $7",
        )
        .bind(&c.first_name)
        .bind(&c.last_name)
        .bind(&c.email)
        .bind(&c.job_title)
        .bind(&c.telephone)
        .bind(id)
        .bind(account_id)
        .execute(&self.pool)
        .await?
        .rows_affected();
        found(n)?;
        self.changed(Aggregate::Keys);
        Ok(())
    }

    pub(crate) async fn first_admin(&self, account_id: i64) -> Result<Option<User>> {
        let row = sqlx::query(
            "SELECT * FROM users WHERE account_id = $1 AND role = 'admin' ORDER BY id LIMIT 1",
        )
        .bind(account_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(user_row).transpose()
    }

    pub(crate) async fn create_api_key(&self, key: &NewApiKey) -> Result<i64> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO api_keys (key_hash, account_id, user_id, role, name, created_at, \
             restricted_role, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(&key.key_hash)
        .bind(key.account_id)
        .bind(key.user_id)
        .bind(&key.role)
        .bind(&key.name)
        .bind(now())
        .bind(key.restricted_role)
        .bind(key.expires_at.map(whole_seconds))
        .fetch_one(&self.pool)
        .await?;
        self.changed(Aggregate::Keys);
        Ok(id)
    }

    pub(crate) async fn find_api_key(&self, key_hash: &str) -> Result<Option<ApiKey>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{API_KEY_SELECT} WHERE k.key_hash = $1"
        )))
        .bind(key_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(api_key_row).transpose()
    }

    pub(crate) async fn list_api_keys(&self, account_id: i64) -> Result<Vec<ApiKey>> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "{API_KEY_SELECT} WHERE k.account_id = $1 ORDER BY k.id"
        )))
        .bind(account_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(api_key_row)
        .collect()
    }

    pub(crate) async fn record_key_use(&self, uses: &[(i64, OffsetDateTime)]) -> Result<()> {
        if uses.is_empty() {
            return Ok(());
        }
        let ids: Vec<i64> = uses.iter().map(|(id, _)| *id).collect();
        let ats: Vec<OffsetDateTime> = uses.iter().map(|(_, at)| whole_seconds(*at)).collect();
        sqlx::query(
            "INSERT INTO api_key_usage (key_id, last_used_at) \
             SELECT k.id, u.at FROM UNNEST($1::BIGINT[], $2::TIMESTAMPTZ[]) AS u(id, at) \
             JOIN api_keys k ON k.id = u.id \
             ON CONFLICT (key_id) DO UPDATE SET last_used_at = \
             GREATEST(api_key_usage.last_used_at, excluded.last_used_at)",
        )
        .bind(&ids)
        .bind(&ats)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(crate) async fn set_user_role(&self, account_id: i64, id: i64, role: &str) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let n = sqlx::query(
            "UPDATE users SET role = $1 WHERE id = $2 AND account_id = $3 AND status <> 'deleted'",
        )
        .bind(role)
        .bind(id)
        .bind(account_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        found(n)?;
        sqlx::query("UPDATE api_keys SET role = $1 WHERE user_id = $2 AND account_id = $3")
            .bind(role)
            .bind(id)
            .bind(account_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.changed(Aggregate::Keys);
        Ok(())
    }

    pub(crate) async fn set_user_status(
        &self,
        account_id: i64,
        id: i64,
        status: UserStatus,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let n = sqlx::query(
            "UPDATE users SET status = $1 WHERE id = $2 AND account_id = $3 AND status <> 'deleted'",
        )
        .bind(status.as_str())
        .bind(id)
        .bind(account_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        found(n)?;
        if status == UserStatus::Deleted {
            sqlx::query(
                "UPDATE api_keys SET revoked = TRUE WHERE user_id = $1 AND account_id = $2",
            )
            .bind(id)
            .bind(account_id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        self.changed(Aggregate::Keys);
        Ok(())
    }

    pub(crate) async fn revoke_api_key(&self, id: i64) -> Result<()> {
        let n = sqlx::query("UPDATE api_keys SET revoked = TRUE WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        self.changed(Aggregate::Keys);
        Ok(())
    }
}
