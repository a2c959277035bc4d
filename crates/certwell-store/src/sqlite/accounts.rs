//! Accounts, their containers, users, API keys and custom order fields.

use sqlx::sqlite::SqliteRow;
use sqlx::Row;

use super::timestamp::{format_opt_ts, format_ts, now_ts, opt_ts_col, ts_col};
use super::SqliteStore;
use crate::records::*;
use crate::{Result, StoreError};
use time::OffsetDateTime;

pub(super) fn account_row(r: &SqliteRow) -> Result<Account> {
    let settings: String = r.try_get("settings")?;
    Ok(Account {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        root_container_id: r
            .try_get::<Option<i64>, _>("root_container_id")?
            .unwrap_or(0),
        settings: serde_json::from_str(&settings)?,
        created_at: ts_col(r, "created_at")?,
    })
}

pub(super) fn user_row(r: &SqliteRow) -> Result<User> {
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
        created_at: ts_col(r, "created_at")?,
        status: parse_user_status(&r.try_get::<String, _>("status")?)?,
        is_api_only: r.try_get::<i64, _>("is_api_only")? != 0,
    })
}

pub(super) fn parse_user_status(s: &str) -> Result<UserStatus> {
    UserStatus::from_name(s)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown user status '{s}'")))
}

fn api_key_row(r: &SqliteRow) -> Result<ApiKey> {
    Ok(ApiKey {
        id: r.try_get("id")?,
        account_id: r.try_get("account_id")?,
        user_id: r.try_get("user_id")?,
        role: r.try_get("role")?,
        revoked: r.try_get::<i64, _>("revoked")? != 0,
        name: r.try_get("name")?,
        restricted_role: r.try_get("restricted_role")?,
        expires_at: opt_ts_col(r, "expires_at")?,
        created_at: ts_col(r, "created_at")?,
        last_used_at: opt_ts_col(r, "last_used_at")?,
    })
}

const API_KEY_SELECT: &str = "SELECT k.id, k.account_id, k.user_id, k.role, k.revoked, k.name, \
     k.restricted_role, k.expires_at, k.created_at, u.last_used_at \
     FROM api_keys k LEFT JOIN api_key_usage u ON u.key_id = k.id";

pub(super) fn container_row(r: &SqliteRow) -> Result<Container> {
    Ok(Container {
        id: r.try_get("id")?,
        account_id: r.try_get("account_id")?,
        parent_id: r.try_get("parent_id")?,
        name: r.try_get("name")?,
        description: r.try_get("description")?,
    })
}

pub(super) fn metadata_row(r: &SqliteRow) -> Result<MetadataField> {
    Ok(MetadataField {
        id: r.try_get("id")?,
        label: r.try_get("label")?,
        is_required: r.try_get::<i64, _>("is_required")? != 0,
        is_active: r.try_get::<i64, _>("is_active")? != 0,
        data_type: r.try_get("data_type")?,
    })
}

impl SqliteStore {
    pub(crate) async fn create_account(
        &self,
        name: &str,
        settings: &AccountSettings,
        admin: &NewUser,
    ) -> Result<(Account, User)> {
        let now = now_ts();
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let account_id: i64 = sqlx::query_scalar(
            "INSERT INTO accounts (name, settings, created_at) VALUES (?, ?, ?) RETURNING id",
        )
        .bind(name)
        .bind(serde_json::to_string(settings)?)
        .bind(&now)
        .fetch_one(&mut *tx)
        .await?;
        let container_id: i64 = sqlx::query_scalar(
            "INSERT INTO containers (account_id, parent_id, name, created_at) VALUES (?, NULL, ?, ?) RETURNING id",
        )
        .bind(account_id)
        .bind(name)
        .bind(&now)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("UPDATE accounts SET root_container_id = ? WHERE id = ?")
            .bind(container_id)
            .bind(account_id)
            .execute(&mut *tx)
            .await?;
        let user_id: i64 = sqlx::query_scalar(
            "INSERT INTO users (account_id, container_id, role, first_name, last_name, email, job_title, telephone, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(account_id)
        .bind(container_id)
        .bind(&admin.role)
        .bind(&admin.first_name)
        .bind(&admin.last_name)
        .bind(&admin.email)
        .bind(&admin.job_title)
        .bind(&admin.telephone)
        .bind(&now)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        let account = self
            .get_account(account_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        let user = self
            .get_user(account_id, user_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok((account, user))
    }

    pub(crate) async fn get_account(&self, id: i64) -> Result<Option<Account>> {
        let row = sqlx::query("SELECT * FROM accounts WHERE id = ?")
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
        let n = sqlx::query("UPDATE accounts SET settings = ? WHERE id = ?")
            .bind(serde_json::to_string(settings)?)
            .bind(id)
            .execute(&self.writer)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub(crate) async fn get_container(
        &self,
        account_id: i64,
        id: i64,
    ) -> Result<Option<Container>> {
        let row = sqlx::query("SELECT * FROM containers WHERE id = ? AND account_id = ?")
            .bind(id)
            .bind(account_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(container_row).transpose()
    }

    pub(crate) async fn list_containers(&self, account_id: i64) -> Result<Vec<Container>> {
        sqlx::query("SELECT * FROM containers WHERE account_id = ? ORDER BY id")
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
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO containers (account_id, parent_id, name, description, created_at) \
             SELECT ?, id, ?, ?, ? FROM containers WHERE id = ? AND account_id = ? RETURNING id",
        )
        .bind(account_id)
        .bind(name)
        .bind(description)
        .bind(now_ts())
        .bind(parent_id)
        .bind(account_id)
        .fetch_optional(&self.writer)
        .await?;
        id.ok_or(StoreError::NotFound)
    }

    pub(crate) async fn list_metadata(&self, account_id: i64) -> Result<Vec<MetadataField>> {
        sqlx::query(
            "SELECT * FROM account_metadata WHERE account_id = ? AND deleted = 0 ORDER BY id",
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
        Ok(sqlx::query_scalar(
            "INSERT INTO account_metadata (account_id, label, is_required, is_active, data_type, created_at) \
             VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(account_id)
        .bind(&f.label)
        .bind(i64::from(f.is_required))
        .bind(i64::from(f.is_active))
        .bind(&f.data_type)
        .bind(now_ts())
        .fetch_one(&self.writer)
        .await?)
    }

    pub(crate) async fn update_metadata(
        &self,
        account_id: i64,
        id: i64,
        f: &NewMetadataField,
    ) -> Result<()> {
        let n = sqlx::query(
            "UPDATE account_metadata SET label = ?, is_required = ?, is_active = ?, data_type = ? \
             WHERE id = ? AND account_id = ? AND deleted = 0",
        )
        .bind(&f.label)
        .bind(i64::from(f.is_required))
        .bind(i64::from(f.is_active))
        .bind(&f.data_type)
        .bind(id)
        .bind(account_id)
        .execute(&self.writer)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub(crate) async fn delete_metadata(&self, account_id: i64, id: i64) -> Result<()> {
        // Kept (marked deleted) so orders that carry a value still show it.
        let n = sqlx::query(
            "UPDATE account_metadata SET deleted = 1 WHERE id = ? AND account_id = ? AND deleted = 0",
        )
        .bind(id)
        .bind(account_id)
        .execute(&self.writer)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub(crate) async fn create_user(&self, account_id: i64, u: &NewUser) -> Result<User> {
        let account = self
            .get_account(account_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO users (account_id, container_id, role, first_name, last_name, email, job_title, telephone, created_at, is_api_only) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(account_id)
        .bind(u.container_id.unwrap_or(account.root_container_id))
        .bind(&u.role)
        .bind(&u.first_name)
        .bind(&u.last_name)
        .bind(&u.email)
        .bind(&u.job_title)
        .bind(&u.telephone)
        .bind(now_ts())
        .bind(i64::from(u.is_api_only))
        .fetch_one(&self.writer)
        .await?;
        self.get_user(account_id, id)
            .await?
            .ok_or(StoreError::NotFound)
    }

    pub(crate) async fn get_user(&self, account_id: i64, id: i64) -> Result<Option<User>> {
        let row = sqlx::query("SELECT * FROM users WHERE id = ? AND account_id = ?")
            .bind(id)
            .bind(account_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user_row).transpose()
    }

    pub(crate) async fn list_users(&self, account_id: i64) -> Result<Vec<User>> {
        sqlx::query("SELECT * FROM users WHERE account_id = ? ORDER BY id")
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
            "UPDATE users SET first_name = COALESCE(?, first_name), last_name = COALESCE(?, last_name), \
             email = COALESCE(?, email), job_title = COALESCE(?, job_title), \
             telephone = COALESCE(?, telephone) WHERE id = ? AND account_id = ?",
        )
        .bind(&c.first_name)
        .bind(&c.last_name)
        .bind(&c.email)
        .bind(&c.job_title)
        .bind(&c.telephone)
        .bind(id)
        .bind(account_id)
        .execute(&self.writer)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub(crate) async fn first_admin(&self, account_id: i64) -> Result<Option<User>> {
        let row = sqlx::query(
            "SELECT * FROM users WHERE account_id = ? AND role = 'admin' ORDER BY id LIMIT 1",
        )
        .bind(account_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(user_row).transpose()
    }

    pub(crate) async fn create_api_key(&self, key: &NewApiKey) -> Result<i64> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO api_keys (key_hash, account_id, user_id, role, name, created_at, restricted_role, expires_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(&key.key_hash)
        .bind(key.account_id)
        .bind(key.user_id)
        .bind(&key.role)
        .bind(&key.name)
        .bind(now_ts())
        .bind(key.restricted_role)
        .bind(format_opt_ts(key.expires_at))
        .fetch_one(&self.writer)
        .await?;
        Ok(id)
    }

    pub(crate) async fn find_api_key(&self, key_hash: &str) -> Result<Option<ApiKey>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{API_KEY_SELECT} WHERE k.key_hash = ?"
        )))
        .bind(key_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(api_key_row).transpose()
    }

    pub(crate) async fn list_api_keys(&self, account_id: i64) -> Result<Vec<ApiKey>> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "{API_KEY_SELECT} WHERE k.account_id = ? ORDER BY k.id"
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
        let mut tx = self.writer.begin().await?;
        for (id, at) in uses {
            sqlx::query(
                "INSERT INTO api_key_usage (key_id, last_used_at) SELECT id, ? FROM api_keys WHERE id = ? \
                 ON CONFLICT (key_id) DO UPDATE SET last_used_at = MAX(last_used_at, excluded.last_used_at)",
            )
            .bind(format_ts(*at))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn set_user_role(&self, account_id: i64, id: i64, role: &str) -> Result<()> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let n = sqlx::query(
            "UPDATE users SET role = ? WHERE id = ? AND account_id = ? AND status != 'deleted'",
        )
        .bind(role)
        .bind(id)
        .bind(account_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query("UPDATE api_keys SET role = ? WHERE user_id = ? AND account_id = ?")
            .bind(role)
            .bind(id)
            .bind(account_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn set_user_status(
        &self,
        account_id: i64,
        id: i64,
        status: UserStatus,
    ) -> Result<()> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let n = sqlx::query(
            "UPDATE users SET status = ? WHERE id = ? AND account_id = ? AND status != 'deleted'",
        )
        .bind(status.as_str())
        .bind(id)
        .bind(account_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        if status == UserStatus::Deleted {
            sqlx::query("UPDATE api_keys SET revoked = 1 WHERE user_id = ? AND account_id = ?")
                .bind(id)
                .bind(account_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn revoke_api_key(&self, id: i64) -> Result<()> {
        let n = sqlx::query("UPDATE api_keys SET revoked = 1 WHERE id = ?")
            .bind(id)
            .execute(&self.writer)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}
