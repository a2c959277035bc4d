//! Group commit: write jobs from concurrent requests are gathered into one
//! SQLite transaction, sent to the database in one round trip and made
//! durable with one fsync. Every job is a fragment of SQL statements whose
//! rows (exactly one per job) are handed back to its caller only after the
//! transaction committed. If a batch fails, its jobs are retried one by one
//! so that one bad job cannot fail the others.

use sqlx::sqlite::{SqlitePool, SqliteRow};
use sqlx::{AssertSqlSafe, Row};
use tokio::sync::{mpsc, oneshot};

use crate::{Result, StoreError};

/// A value to bind, in statement order.
#[derive(Debug, Clone)]
pub enum Bind {
    I64(i64),
    Text(String),
    OptText(Option<String>),
    OptI64(Option<i64>),
    Blob(Vec<u8>),
}

/// The one row a job's fragment returns, as integers by column.
pub type JobRow = Vec<Option<i64>>;

pub struct WriteJob {
    /// Statements, each ending in ';'. Exactly one of them returns exactly
    /// one row; the others return none.
    pub sql: String,
    pub binds: Vec<Bind>,
    pub reply: oneshot::Sender<Result<JobRow>>,
}

const MAX_BATCH: usize = 64;

fn bind_all<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>,
    binds: &[Bind],
) -> sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments> {
    for b in binds {
        q = match b {
            Bind::I64(v) => q.bind(*v),
            Bind::Text(v) => q.bind(v.clone()),
            Bind::OptText(v) => q.bind(v.clone()),
            Bind::OptI64(v) => q.bind(*v),
            Bind::Blob(v) => q.bind(v.clone()),
        };
    }
    q
}

fn row_values(row: &SqliteRow) -> Result<JobRow> {
    (0..row.len())
        .map(|i| row.try_get::<Option<i64>, _>(i).map_err(StoreError::from))
        .collect()
}

/// Runs `jobs` as one transaction. Ok(rows) has one row per job.
async fn run(writer: &SqlitePool, jobs: &[&WriteJob]) -> Result<Vec<JobRow>> {
    let mut sql = String::from("BEGIN IMMEDIATE;\n");
    for j in jobs {
        sql.push_str(&j.sql);
        sql.push('\n');
    }
    sql.push_str("COMMIT;");
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for j in jobs {
        q = bind_all(q, &j.binds);
    }
    let mut conn = writer.acquire().await?;
    match q.fetch_all(&mut *conn).await {
        Ok(rows) if rows.len() == jobs.len() => rows.iter().map(row_values).collect(),
        Ok(rows) => {
            // Committed, but the fragments broke their one-row contract.
            Err(StoreError::Corrupt(format!(
                "write batch of {} jobs returned {} rows",
                jobs.len(),
                rows.len()
            )))
        }
        Err(e) => {
            let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
            Err(e.into())
        }
    }
}

/// The writer task: runs until every sender is gone.
pub async fn writer_loop(writer: SqlitePool, mut rx: mpsc::Receiver<WriteJob>) {
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        let refs: Vec<&WriteJob> = jobs.iter().collect();
        match run(&writer, &refs).await {
            Ok(rows) => {
                for (job, row) in jobs.into_iter().zip(rows) {
                    let _ = job.reply.send(Ok(row));
                }
            }
            Err(StoreError::Corrupt(m)) => {
                // The batch committed; retrying would write it twice.
                for job in jobs {
                    let _ = job.reply.send(Err(StoreError::Corrupt(m.clone())));
                }
            }
            Err(e) if jobs.len() == 1 => {
                if let Some(job) = jobs.pop() {
                    let _ = job.reply.send(Err(e));
                }
            }
            Err(_) => {
                for job in jobs {
                    let r = run(&writer, &[&job])
                        .await
                        .map(|mut rows| rows.pop().unwrap_or_default());
                    let _ = job.reply.send(r);
                }
            }
        }
    }
}
