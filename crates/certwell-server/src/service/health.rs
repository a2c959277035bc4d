//! Health and readiness (`GET /healthz`, `GET /readyz`): whether the
//! process is up, and whether it can do its work — the database answers,
//! the issuing CAs' keys are loaded, every background job is running.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use crate::state::AppState;

/// The background jobs a running server has, and whether each is running
/// (a job that ended or panicked is not).
#[derive(Default)]
pub struct JobHealth(Mutex<BTreeMap<&'static str, bool>>);

/// Marks its job running while it lives (dropped when the job's task ends,
/// however it ends).
pub struct Running {
    health: Arc<JobHealth>,
    name: &'static str,
}

impl JobHealth {
    /// `name` runs from now until the returned guard is dropped.
    pub fn running(self: &Arc<Self>, name: &'static str) -> Running {
        self.set(name, true);
        Running {
            health: Arc::clone(self),
            name,
        }
    }

    fn set(&self, name: &'static str, running: bool) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name, running);
    }

    fn snapshot(&self) -> BTreeMap<&'static str, bool> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.health.set(self.name, false);
    }
}

/// How long readiness waits for the database.
const PING_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// `/readyz`: whether the server is ready, and each check's result.
pub async fn readiness(state: &AppState) -> (bool, Value) {
    // A probe answers within its own timeout, not the pool's 5 s.
    let ping = tokio::time::timeout(PING_TIMEOUT, state.store.ping()).await;
    let database = match ping {
        Ok(Ok(())) => "ok".to_string(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: the database does not answer");
            "unavailable".to_string()
        }
        Err(_) => "unavailable".to_string(),
    };
    let issuing = state.cas().cas().filter(|c| c.purpose.is_some()).count();
    let keys = if issuing > 0 {
        "ok".to_string()
    } else {
        "no issuing CA is loaded".to_string()
    };
    let jobs = state.jobs.snapshot();
    let ready = database == "ok" && keys == "ok" && !jobs.is_empty() && jobs.values().all(|r| *r);
    let jobs: BTreeMap<&str, &str> = jobs
        .into_iter()
        .map(|(name, running)| (name, if running { "ok" } else { "stopped" }))
        .collect();
    (
        ready,
        json!({
            "status": if ready { "ready" } else { "not_ready" },
            "checks": {"database": database, "issuing_keys": keys, "jobs": jobs},
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_is_running_while_its_guard_lives() {
        let health = Arc::new(JobHealth::default());
        let sweeper = health.running("sweeper");
        let mailer = health.running("mailer");
        assert_eq!(
            health.snapshot().into_iter().collect::<Vec<_>>(),
            [("mailer", true), ("sweeper", true)]
        );
        drop(sweeper);
        assert!(!health.snapshot()["sweeper"]);
        assert!(health.snapshot()["mailer"]);
        drop(mailer);
        assert!(health.snapshot().values().all(|r| !r));
    }
}
