//! A throwaway PostgreSQL cluster for tests (feature `testing`): `initdb`
//! into a temporary directory, `postgres` on a free loopback port, one
//! fresh database per test, torn down when the last handle is dropped.
//!
//! The binaries come from `CERTWELL_PG_BIN` (a directory), else `PATH`,
//! else `/usr/lib/postgresql/*/bin` (Debian's `postgresql-15` package). As
//! root, the cluster runs as the `postgres` user (PostgreSQL refuses root).
//! Nothing is skipped: without PostgreSQL, [`TestPostgres::start`] fails
//! with a message saying how to install it.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, Weak};

/// How to get PostgreSQL when it is missing.
pub const INSTALL_HINT: &str =
    "PostgreSQL 15 is needed for these tests: `apt-get install postgresql-15` \
     (or set CERTWELL_PG_BIN to the directory holding initdb, pg_ctl and postgres)";

/// A running cluster. Cloned handles share it; it stops with the last one.
#[derive(Clone)]
pub struct TestPostgres {
    inner: Arc<Cluster>,
}

struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    /// `postgres` options and log file `pg_ctl start` was given.
    opts: String,
    log: String,
    as_postgres: bool,
    next_db: AtomicU32,
}

static SHARED: Mutex<Weak<Cluster>> = Mutex::new(Weak::new());

impl TestPostgres {
    /// The cluster shared by the tests of this process (started on first
    /// use, stopped when the last test holding it ends).
    pub fn shared() -> Result<TestPostgres, String> {
        let mut shared = SHARED.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(inner) = shared.upgrade() {
            return Ok(TestPostgres { inner });
        }
        let pg = TestPostgres::start()?;
        *shared = Arc::downgrade(&pg.inner);
        Ok(pg)
    }

    /// Starts a new cluster of its own (not crash-safe: no fsync, commits
    /// acknowledged before they are written; for tests).
    pub fn start() -> Result<TestPostgres, String> {
        Self::start_with(false)
    }

    /// Starts a new cluster of its own that keeps every commit as a
    /// production server would (`fsync`, `synchronous_commit = on`, full
    /// page writes): for benchmarks.
    pub fn start_durable() -> Result<TestPostgres, String> {
        Self::start_with(true)
    }

    fn start_with(durable: bool) -> Result<TestPostgres, String> {
        let bin = find_bin()?;
        let as_postgres = is_root();
        let dir = tempfile::Builder::new()
            .prefix("certwell-pg")
            .tempdir()
            .map_err(|e| format!("temp dir: {e}"))?;
        let data = dir.path().join("data");
        std::fs::create_dir(&data).map_err(|e| format!("{}: {e}", data.display()))?;
        if as_postgres {
            chown_postgres(dir.path())?;
            chown_postgres(&data)?;
        }
        let run = |args: &[&str], what: &str| run(&bin, as_postgres, args, what);
        let data_s = data.to_string_lossy().to_string();
        run(
            &[
                "initdb",
                "-D",
                &data_s,
                "-U",
                "certwell",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
                "--no-instructions",
            ],
            "initdb",
        )?;
        // A free port; another process could take it before postgres does,
        // so a failed start is retried on a new one.
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port()?;
            let safety = if durable {
                "-c fsync=on -c synchronous_commit=on -c full_page_writes=on"
            } else {
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            };
            let opts = format!(
                "-p {port} -c listen_addresses=127.0.0.1 -k {} {safety} -c max_connections=400",
                dir.path().display()
            );
            let log = dir
                .path()
                .join("postgres.log")
                .to_string_lossy()
                .to_string();
            match run(
                &[
                    "pg_ctl", "-D", &data_s, "-o", &opts, "-l", &log, "-w", "-t", "30", "start",
                ],
                "pg_ctl start",
            ) {
                Ok(()) => {
                    return Ok(TestPostgres {
                        inner: Arc::new(Cluster {
                            dir,
                            bin,
                            port,
                            opts,
                            log,
                            as_postgres,
                            next_db: AtomicU32::new(0),
                        }),
                    })
                }
                Err(e) => {
                    let log = std::fs::read_to_string(&log).unwrap_or_default();
                    last = format!("{e}\n{log}");
                }
            }
        }
        Err(last)
    }

    /// Stops the cluster at once, as a crash or a power cut would
    /// (`pg_ctl stop -m immediate`: no checkpoint, connections cut).
    pub fn crash(&self) -> Result<(), String> {
        let c = &self.inner;
        let data = c.dir.path().join("data").to_string_lossy().to_string();
        run(
            &c.bin,
            c.as_postgres,
            &["pg_ctl", "-D", &data, "-m", "immediate", "-w", "stop"],
            "pg_ctl stop",
        )
    }

    /// Starts the cluster again (after [`crash`](Self::crash)) on its port
    /// and data: it recovers from its write-ahead log.
    pub fn start_again(&self) -> Result<(), String> {
        let c = &self.inner;
        let data = c.dir.path().join("data").to_string_lossy().to_string();
        run(
            &c.bin,
            c.as_postgres,
            &[
                "pg_ctl", "-D", &data, "-o", &c.opts, "-l", &c.log, "-w", "-t", "30", "start",
            ],
            "pg_ctl start",
        )
    }

    pub fn port(&self) -> u16 {
        self.inner.port
    }

    /// A URL of the cluster's maintenance database.
    pub fn admin_url(&self) -> String {
        format!("postgres://certwell@127.0.0.1:{}/postgres", self.inner.port)
    }

    /// Creates a new empty database and returns its URL.
    pub async fn fresh_database(&self) -> Result<String, String> {
        use sqlx::Connection;
        let n = self.inner.next_db.fetch_add(1, Ordering::Relaxed);
        let name = format!("t{}_{n}", std::process::id());
        let mut conn = sqlx::PgConnection::connect(&self.admin_url())
            .await
            .map_err(|e| format!("connecting to the test cluster: {e}"))?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .map_err(|e| format!("CREATE DATABASE {name}: {e}"))?;
        Ok(format!(
            "postgres://certwell@127.0.0.1:{}/{name}",
            self.inner.port
        ))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let _ = command(&self.bin, self.as_postgres, "pg_ctl")
            .args([
                "-D",
                &data.to_string_lossy(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ])
            .output();
    }
}

/// Runs one of the cluster's tools (`args[0]`) to completion.
fn run(bin: &Path, as_postgres: bool, args: &[&str], what: &str) -> Result<(), String> {
    let out = command(bin, as_postgres, args[0])
        .args(&args[1..])
        .output()
        .map_err(|e| format!("{what}: {e}; {INSTALL_HINT}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn command(bin: &Path, as_postgres: bool, tool: &str) -> Command {
    let exe = bin.join(tool);
    if as_postgres {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(exe);
        c
    } else {
        Command::new(exe)
    }
}

fn find_bin() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("CERTWELL_PG_BIN") {
        let dir = PathBuf::from(dir);
        return if dir.join("initdb").exists() {
            Ok(dir)
        } else {
            Err(format!(
                "CERTWELL_PG_BIN={}: no initdb there. {INSTALL_HINT}",
                dir.display()
            ))
        };
    }
    // Debian's package puts the server binaries outside PATH.
    let mut candidates: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|rd| rd.flatten().map(|e| e.path().join("bin")).collect())
        .unwrap_or_default();
    candidates.sort();
    candidates.reverse();
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path));
    }
    candidates
        .into_iter()
        .find(|d| d.join("initdb").exists() && d.join("pg_ctl").exists())
        .map(|d| std::fs::canonicalize(&d).unwrap_or(d))
        .ok_or_else(|| INSTALL_HINT.to_string())
}

fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn chown_postgres(path: &Path) -> Result<(), String> {
    let out = Command::new("chown")
        .arg("postgres:")
        .arg(path)
        .output()
        .map_err(|e| format!("chown: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "chown postgres {}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}
