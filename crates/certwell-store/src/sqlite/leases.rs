//! Leases on background work (see the `leases` table), and the ping.

use time::OffsetDateTime;

use super::timestamp::format_ts;
use super::SqliteStore;
use crate::Result;

impl SqliteStore {
    pub(crate) async fn try_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: time::Duration,
    ) -> Result<bool> {
        let now = OffsetDateTime::now_utc();
        let n = sqlx::query(
            "INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
             WHERE leases.holder = excluded.holder OR leases.expires_at <= ?",
        )
        .bind(name)
        .bind(holder)
        .bind(format_ts(now + ttl))
        .bind(format_ts(now))
        .execute(&self.writer)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    pub(crate) async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub(crate) async fn release_lease(&self, name: &str, holder: &str) -> Result<()> {
        sqlx::query("DELETE FROM leases WHERE name = ? AND holder = ?")
            .bind(name)
            .bind(holder)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    pub(crate) async fn release_all_leases(&self) -> Result<()> {
        sqlx::query("DELETE FROM leases")
            .execute(&self.writer)
            .await?;
        Ok(())
    }
}
