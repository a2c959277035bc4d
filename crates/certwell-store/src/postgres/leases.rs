//! The ping, and leases on background work (see the `leases` table), timed by the
//! database server's clock so that instances' clocks need not agree.

use super::PgStore;
use crate::Result;

impl PgStore {
    pub(crate) async fn try_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: time::Duration,
    ) -> Result<bool> {
        let n = sqlx::query(
            "INSERT INTO leases (name, holder, expires_at) \
             VALUES ($1, $2, now() + make_interval(secs => $3)) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
             WHERE leases.holder = excluded.holder OR leases.expires_at <= now()",
        )
        .bind(name)
        .bind(holder)
        .bind(ttl.as_seconds_f64())
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    pub(crate) async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub(crate) async fn release_lease(&self, name: &str, holder: &str) -> Result<()> {
        sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
            .bind(name)
            .bind(holder)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub(crate) async fn release_all_leases(&self) -> Result<()> {
        sqlx::query("DELETE FROM leases")
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
