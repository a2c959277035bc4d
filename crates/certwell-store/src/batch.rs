//! Group commit: write jobs from concurrent requests are gathered into one
//! SQLite transaction and sent to the database in one round trip. Every job
//! is a fragment of SQL statements whose rows (exactly one per job) are
//! handed back to its caller only once the transaction is durable. If a
//! batch fails, its jobs are retried one by one so that one bad job cannot
//! fail the others.
//!
//! With full durability the batch commits without its own fsync and a
//! flusher thread makes it durable (one `fdatasync` of the WAL for all
//! batches committed since its last one) before any reply, while the writer
//! already runs the next batch: the disk's flush latency is no longer on the
//! writer's path, and nothing is acknowledged before it is on disk.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use sqlx::pool::PoolConnection;
use sqlx::sqlite::{SqliteConnection, SqlitePool, SqliteRow};
use sqlx::Sqlite;
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

pub(crate) fn bind_all<'q>(
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
async fn run(conn: &mut SqliteConnection, jobs: &[&WriteJob]) -> Result<Vec<JobRow>> {
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

/// How long the writer keeps the pool's one write connection while jobs
/// keep coming. Returning it costs a round trip to SQLite's thread (the
/// pool checks it), so it is kept across batches, but never so long that
/// a direct write (migrations, administration) waits noticeably.
const HOLD: Duration = Duration::from_millis(25);

/// The files whose flush makes a committed batch durable: the WAL, and the
/// database itself should the WAL be gone (it was then checkpointed).
#[derive(Debug, Clone)]
pub struct SyncTarget {
    pub wal: PathBuf,
    pub db: PathBuf,
}

impl SyncTarget {
    fn sync(&self) -> std::io::Result<()> {
        match std::fs::File::open(&self.wal) {
            Ok(f) => f.sync_data(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::File::open(&self.db)?.sync_all()
            }
            Err(e) => Err(e),
        }
    }
}

/// The answer to a job that committed but is not known to be on disk.
fn not_durable(why: &dyn std::fmt::Display) -> StoreError {
    StoreError::Database(format!("the write could not be made durable: {why}"))
}

/// Committed jobs waiting for the flush that makes them durable.
type Committed = Vec<(oneshot::Sender<Result<JobRow>>, JobRow)>;

/// The flusher thread: one `fdatasync` of the WAL for everything committed
/// since the last one, then the replies. It runs while the writer already
/// executes the next batch, so the disk's flush latency is paid once per
/// round instead of once per batch on the writer's path.
fn flusher(target: SyncTarget, rx: std::sync::mpsc::Receiver<Committed>) {
    while let Ok(mut pending) = rx.recv() {
        while let Ok(more) = rx.try_recv() {
            pending.extend(more);
        }
        match target.sync() {
            Ok(()) => {
                for (reply, row) in pending {
                    let _ = reply.send(Ok(row));
                }
            }
            Err(e) => {
                // Committed but not known to be on disk: the caller must
                // not act on it (a serial must not be signed, a 201 not
                // sent).
                for (reply, _) in pending {
                    let _ = reply.send(Err(not_durable(&e)));
                }
            }
        }
    }
}

/// Where the writer hands out results: at once (the commit itself was
/// durable as configured), or through the flusher.
struct Replies {
    flusher: Option<(
        std::sync::mpsc::Sender<Committed>,
        std::thread::JoinHandle<()>,
    )>,
}

impl Replies {
    fn deliver(&self, done: Vec<(oneshot::Sender<Result<JobRow>>, Result<JobRow>)>) {
        let mut committed = Committed::new();
        for (reply, r) in done {
            match (r, &self.flusher) {
                (Ok(row), Some(_)) => committed.push((reply, row)),
                (r, _) => {
                    // Failures changed nothing: no flush to wait for.
                    let _ = reply.send(r);
                }
            }
        }
        if let (Some((tx, _)), false) = (&self.flusher, committed.is_empty()) {
            if let Err(std::sync::mpsc::SendError(lost)) = tx.send(committed) {
                for (reply, _) in lost {
                    let _ = reply.send(Err(not_durable(&"flusher stopped")));
                }
            }
        }
    }
}

/// Takes the write connection for the writer. With a flusher, commits skip
/// their own fsync (`synchronous=NORMAL`): the flusher's makes them durable
/// before anyone is told.
async fn take(writer: &SqlitePool, relaxed: bool) -> Result<PoolConnection<Sqlite>> {
    let mut conn = writer.acquire().await?;
    if relaxed {
        sqlx::query("PRAGMA synchronous = NORMAL")
            .execute(&mut *conn)
            .await?;
    }
    Ok(conn)
}

/// Gives the write connection back, with every commit fsynced again for
/// the other users of the pool; a connection that cannot be restored is
/// closed rather than returned.
async fn give_back(conn: PoolConnection<Sqlite>, relaxed: bool) {
    let mut conn = conn;
    if relaxed
        && sqlx::query("PRAGMA synchronous = FULL")
            .execute(&mut *conn)
            .await
            .is_err()
    {
        let _ = conn.close().await;
    }
}

/// The writer task: runs until every sender is gone. With `sync`, results
/// are handed out only after a flush of the WAL by the flusher thread.
pub async fn writer_loop(
    writer: SqlitePool,
    mut rx: mpsc::Receiver<WriteJob>,
    sync: Option<SyncTarget>,
    feed: crate::changes::ChangeFeed,
) {
    // Without a flusher thread (none asked for, or it cannot be started)
    // every commit makes itself durable.
    let mut replies = Replies {
        flusher: sync.and_then(|target| {
            let (tx, frx) = std::sync::mpsc::channel();
            std::thread::Builder::new()
                .name("certwell-wal-flush".into())
                .spawn(move || flusher(target, frx))
                .ok()
                .map(|handle| (tx, handle))
        }),
    };
    let relaxed = replies.flusher.is_some();
    let mut held: Option<(PoolConnection<Sqlite>, Instant)> = None;
    loop {
        let first = match rx.try_recv() {
            Ok(j) => j,
            Err(_) => {
                // Idle: give the connection back before waiting.
                if let Some((c, _)) = held.take() {
                    give_back(c, relaxed).await;
                }
                match rx.recv().await {
                    Some(j) => j,
                    None => break,
                }
            }
        };
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        if held.as_ref().is_some_and(|(_, at)| at.elapsed() > HOLD) {
            if let Some((c, _)) = held.take() {
                give_back(c, relaxed).await;
            }
        }
        let conn = match &mut held {
            Some((c, _)) => c,
            None => match take(&writer, relaxed).await {
                Ok(c) => &mut held.insert((c, Instant::now())).0,
                Err(e) => {
                    for job in jobs {
                        let _ = job.reply.send(Err(StoreError::Database(e.to_string())));
                    }
                    continue;
                }
            },
        };
        let refs: Vec<&WriteJob> = jobs.iter().collect();
        let res = run(conn, &refs).await;
        let done = match res {
            Ok(rows) => jobs
                .into_iter()
                .zip(rows)
                .map(|(job, row)| (job.reply, Ok(row)))
                .collect(),
            Err(StoreError::Corrupt(m)) => {
                // The batch committed; retrying would write it twice.
                jobs.into_iter()
                    .map(|job| (job.reply, Err(StoreError::Corrupt(m.clone()))))
                    .collect()
            }
            Err(e) if jobs.len() == 1 => jobs
                .pop()
                .map(|job| vec![(job.reply, Err(e))])
                .unwrap_or_default(),
            Err(_) => {
                let mut done = Vec::with_capacity(jobs.len());
                for job in jobs {
                    let r = run(conn, &[&job])
                        .await
                        .map(|mut rows| rows.pop().unwrap_or_default());
                    done.push((job.reply, r));
                }
                done
            }
        };
        // Committed (or rolled back): cached entries read meanwhile are
        // dropped if the batch changed what they are built from.
        feed.settle();
        replies.deliver(done);
    }
    if let Some((c, _)) = held.take() {
        give_back(c, relaxed).await;
    }
    // Every committed job is flushed and answered before the store closes.
    if let Some((tx, handle)) = replies.flusher.take() {
        drop(tx);
        let _ = tokio::task::spawn_blocking(move || handle.join()).await;
    }
}
