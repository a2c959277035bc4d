//! The `certwell` command: run the server, initialize a data directory,
//! and administer accounts, keys and validations.

use std::path::PathBuf;
use std::process::ExitCode;

use certwell_ca::KeyAlgorithm;
use certwell_policy::approval::{ApprovalWorkflow, Role};
use certwell_policy::organization::ValidationType;
use certwell_server::{Config, DataDir};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "certwell",
    version = concat!(env!("CARGO_PKG_VERSION"), " (", env!("CERTWELL_BUILD_COMMIT"), ")"),
    about = "A certificate authority that speaks the DigiCert CertCentral Services API v2"
)]
struct Cli {
    /// Data directory (database, CA keys, settings).
    #[arg(
        long,
        global = true,
        env = "CERTWELL_DATA_DIR",
        default_value = "./certwell-data"
    )]
    data_dir: PathBuf,
    /// Settings file (default: DATA_DIR/certwell.toml).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// The database (default: the SQLite file in the data directory), e.g.
    /// postgres://certwell@db.internal/certwell; also CERTWELL_DATABASE_URL
    /// or `database_url` in the settings file.
    #[arg(long, global = true)]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (initializes the data directory on first start).
    Serve {
        /// Address to listen on (default 127.0.0.1:8080).
        #[arg(long)]
        listen: Option<String>,
        /// Validate organizations and domains at creation.
        #[arg(long)]
        sandbox: bool,
        /// With --sandbox: validations take effect this many seconds after
        /// creation, so orders stay pending that long.
        #[arg(long, value_name = "SECONDS")]
        validation_delay: Option<u64>,
        /// Serve HTTPS with this certificate (then its chain), PEM.
        #[arg(long, value_name = "FILE", requires = "tls_key_file")]
        tls_cert_file: Option<std::path::PathBuf>,
        /// The private key of --tls-cert-file, PEM.
        #[arg(long, value_name = "FILE", requires = "tls_cert_file")]
        tls_key_file: Option<std::path::PathBuf>,
        /// Allow plain HTTP on a non-loopback address (a TLS-terminating
        /// proxy in front).
        #[arg(long)]
        insecure_http: bool,
    },
    /// Initialize the data directory without serving.
    Init {
        /// Initialize a sandbox (the mode is recorded; `serve` must match).
        #[arg(long)]
        sandbox: bool,
    },
    /// A consistent backup of the data directory (its server may be
    /// running) into DEST: the database snapshot, settings and key files.
    Backup {
        /// A new or empty directory.
        dest: std::path::PathBuf,
    },
    /// A new data directory DIR from backup SRC; CRL numbers move ahead of
    /// anything issued after the backup.
    Restore {
        src: std::path::PathBuf,
        /// A new or empty directory (the data directory to serve from).
        dir: std::path::PathBuf,
    },
    /// API keys.
    Apikey {
        #[command(subcommand)]
        command: ApikeyCommand,
    },
    /// Accounts (isolated tenants).
    Account {
        #[command(subcommand)]
        command: AccountCommand,
    },
    /// The validation desk.
    Operator {
        #[command(subcommand)]
        command: OperatorCommand,
    },
    /// The store itself.
    Store {
        #[command(subcommand)]
        command: StoreCommand,
    },
    /// Print a shell completion script: `certwell completions bash >
    /// /etc/bash_completion.d/certwell` (or zsh, fish).
    Completions {
        #[arg(value_parser = ["bash", "zsh", "fish"])]
        shell: String,
    },
    /// CA keys and certificates.
    Ca {
        #[command(subcommand)]
        command: CaCommand,
    },
}

#[derive(clap::Args)]
struct CaOpts {
    /// The CA's common name.
    #[arg(long)]
    name: String,
    /// Subject organization (default: the settings' ca_organization).
    #[arg(long)]
    organization: Option<String>,
    /// Subject country, two letters (default: the settings' ca_country).
    #[arg(long)]
    country: Option<String>,
    /// ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072 or rsa-4096.
    #[arg(long = "key-type", value_parser = key_type)]
    key_type: KeyAlgorithm,
    /// Validity in days.
    #[arg(long)]
    days: Option<i64>,
}

fn key_type(s: &str) -> Result<KeyAlgorithm, String> {
    KeyAlgorithm::parse(s)
        .ok_or_else(|| "one of ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072, rsa-4096".to_string())
}

impl CaOpts {
    fn options(&self, default_days: i64) -> certwell_server::service::ceremony::CaOptions {
        certwell_server::service::ceremony::CaOptions {
            common_name: self.name.clone(),
            organization: self.organization.clone(),
            country: self.country.clone(),
            key_algorithm: self.key_type,
            validity_days: self.days.unwrap_or(default_days),
        }
    }
}

#[derive(Subcommand)]
enum CaCommand {
    /// List the CAs: id, purpose, default, key location, name.
    List,
    /// Create a root CA kept offline: its key goes to --key-out (a file on
    /// removable media; encrypted with CERTWELL_KEY_PASSPHRASE when set)
    /// or into the PKCS#11 token (--pkcs11), and the server never loads
    /// it. Its first CRL (a year) is signed at once.
    CreateRoot {
        #[command(flatten)]
        ca: CaOpts,
        #[arg(long, value_name = "FILE", conflicts_with = "pkcs11")]
        key_out: Option<PathBuf>,
        #[arg(long)]
        pkcs11: bool,
    },
    /// Create an issuing CA signed by a CA certwell holds the key of (an
    /// offline root: its key is read from where it was recorded, or from
    /// --parent-key). Servers use it after their next start.
    CreateIntermediate {
        #[command(flatten)]
        ca: CaOpts,
        /// The signing CA's id (certwell ca list).
        #[arg(long)]
        parent: String,
        /// tls-ov, tls-ev, smime, client-auth or document-signing.
        #[arg(long)]
        profile: String,
        /// New orders of its products use it (the newest default wins: a
        /// rollover; the old CA keeps serving its CRLs and OCSP).
        #[arg(long)]
        default: bool,
        /// Where the parent's key is now (a file or a pkcs11: URI).
        #[arg(long, value_name = "KEY")]
        parent_key: Option<String>,
    },
    /// Generate an issuing CA's key and print a CSR for an external root
    /// (a team's enterprise CA) to sign; `ca import` brings the signed
    /// certificate.
    Csr {
        #[command(flatten)]
        ca: CaOpts,
        #[arg(long)]
        profile: String,
    },
    /// Import a CA certificate: an intermediate signed for a `ca csr` key,
    /// an existing CA with its key (--key FILE or pkcs11: URI), or a root
    /// (kept offline). --chain gives the CA certificates above it.
    Import {
        #[arg(long, value_name = "PEM")]
        cert: PathBuf,
        #[arg(long, value_name = "PEM")]
        chain: Option<PathBuf>,
        #[arg(long, value_name = "KEY")]
        key: Option<String>,
        /// Import the certificate alone (a root certwell holds no key of).
        #[arg(long, conflicts_with = "key")]
        no_key: bool,
        #[arg(long)]
        profile: Option<String>,
        #[arg(long)]
        default: bool,
    },
    /// Sign a root's CRL valid for --days (at most 365) and store it; the
    /// servers serve it as stored.
    SignCrl {
        #[arg(long = "ca")]
        ca: String,
        #[arg(long, default_value_t = 365)]
        days: i64,
        /// Where the root's key is now (a file or a pkcs11: URI).
        #[arg(long, value_name = "KEY")]
        key: Option<String>,
    },
    /// Print a CA's chain (PEM, the CA first, up to its root).
    Chain {
        #[arg(long = "ca")]
        ca: String,
    },
    /// Encrypt every plaintext CA key file with the passphrase of
    /// CERTWELL_KEY_PASSPHRASE or `key_passphrase_file` (each file is
    /// replaced once its encrypted copy reads back). Stop the server first;
    /// from then on it needs the passphrase to start.
    EncryptKeys,
}

#[derive(Subcommand)]
enum ApikeyCommand {
    /// Create a key; it is printed once and stored only as a hash.
    Create {
        #[arg(long, value_parser = ["admin", "manager", "user", "operator"])]
        role: String,
        /// Account of the key (default: the first account). Ignored for operator keys.
        #[arg(long)]
        account: Option<i64>,
        /// Container of the key's user (default: the account's root); the
        /// key sees only orders in this container and below it.
        #[arg(long)]
        container: Option<i64>,
    },
    /// Revoke a key by its id (printed when it was made): every instance
    /// refuses it from now on.
    Revoke { id: i64 },
}

#[derive(Subcommand)]
enum AccountCommand {
    /// Create an account with an admin user; prints its id and admin key.
    Create { name: String },
    /// List accounts.
    List,
    /// Change account settings.
    Set {
        id: i64,
        #[arg(long, value_parser = ["one_step", "two_step", "auto_approve"])]
        approval_workflow: Option<String>,
    },
}

#[derive(Subcommand)]
enum StoreCommand {
    /// Copy a data directory's SQLite store, whole, into an empty
    /// PostgreSQL database (moving up from one machine). Stop the server
    /// that uses the directory first. CA key files are not copied: they
    /// stay where the settings say.
    Copy {
        /// The data directory whose store is copied.
        #[arg(long, value_name = "DIR")]
        from: PathBuf,
        /// The empty PostgreSQL database, postgres://… (default: the
        /// configured database, from --database-url, CERTWELL_DATABASE_URL
        /// or `database_url`, which keeps a password off the command line).
        #[arg(long, value_name = "URL")]
        to: Option<String>,
    },
}

#[derive(Subcommand)]
// The variants are the `validate-*` subcommands users type.
#[allow(clippy::enum_variant_names)]
enum OperatorCommand {
    /// Mark an organization validated.
    ValidateOrg {
        id: i64,
        #[arg(long = "type", default_value = "ov", value_parser = validation_type)]
        kind: ValidationType,
    },
    /// Mark a domain validated.
    ValidateDomain { id: i64 },
    /// List organization validations waiting for the desk.
    Validations,
    /// Approve or reject an organization validation, with a note.
    Decide(DecideArgs),
    /// The desk's audit trail, newest first.
    Audit {
        #[arg(long)]
        organization: Option<i64>,
    },
    /// Mark one address of a mailbox-validated S/MIME order validated.
    ValidateEmail {
        /// The order id.
        order: i64,
        email: String,
    },
}

#[derive(clap::Args)]
struct DecideArgs {
    /// The organization id.
    id: i64,
    #[arg(long = "type", value_parser = validation_type)]
    kind: ValidationType,
    #[arg(long, conflicts_with = "reject")]
    approve: bool,
    #[arg(long)]
    reject: bool,
    /// Why (recorded in the audit trail).
    #[arg(long)]
    note: String,
    /// A contact verified for EV or code signing: "First Last <email>";
    /// repeatable.
    #[arg(long = "verified-contact")]
    verified_contacts: Vec<String>,
    /// The organization's registration number as verified (approvals
    /// only): the EV serialNumber and S/MIME organizationIdentifier.
    #[arg(long)]
    registration_number: Option<String>,
}

fn init_logging(filter: &str, format: certwell_server::config::LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = match format {
        // One JSON object per line, the event's fields at the top level.
        certwell_server::config::LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_ansi(false)
            .try_init(),
        // Colour codes only for a person at a terminal, not in a log file
        // or a journal.
        certwell_server::config::LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init(),
    };
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    let dir = DataDir::new(&cli.data_dir);
    let mut config = Config::load(&dir.root, cli.config.as_deref())?;
    if let Some(url) = cli.database_url {
        config.database_url = Some(certwell_server::config::DatabaseUrl(url));
    }
    // Every command logs (warnings about keys and settings matter to
    // `init` and `ca` as much as to `serve`).
    init_logging(&config.log, config.log_format);
    match cli.command {
        Command::Completions { shell } => {
            use clap::CommandFactory;
            let shell = match shell.as_str() {
                "bash" => clap_complete::Shell::Bash,
                "zsh" => clap_complete::Shell::Zsh,
                _ => clap_complete::Shell::Fish,
            };
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "certwell", &mut script);
            // A closed pipe (`| head`) is the reader's choice, not an error.
            let _ = std::io::Write::write_all(&mut std::io::stdout(), &script);
            Ok(())
        }
        Command::Serve {
            listen,
            sandbox,
            validation_delay,
            tls_cert_file,
            tls_key_file,
            insecure_http,
        } => {
            if let Some(l) = listen {
                config.listen = l;
            }
            if tls_cert_file.is_some() {
                config.tls_cert_file = tls_cert_file;
                config.tls_key_file = tls_key_file;
            }
            if insecure_http {
                config.insecure_http = true;
            }
            if sandbox {
                config.sandbox = true;
            }
            if let Some(d) = validation_delay {
                config.validation_delay_seconds = d;
            }
            let (state, key) = certwell_server::open_with(&dir, config, true).await?;
            if let Some(k) = key {
                println!("Initialized {}.", dir.root.display());
                println!(
                    "Admin API key (shown once; also in {}): {k}",
                    dir.admin_key_file().display()
                );
            }
            let server = certwell_server::start(state).await?;
            tracing::info!(addr = %server.addr, sandbox = server.state.config.sandbox, "certwell listening");
            let scheme = if server.state.config.tls_cert_file.is_some() {
                "https"
            } else {
                "http"
            };
            println!("certwell listening on {scheme}://{}", server.addr);
            shutdown_signal().await;
            tracing::info!("shutting down");
            server.shutdown().await;
            Ok(())
        }
        Command::Store {
            command: StoreCommand::Copy { from, to },
        } => {
            let Some(to) = to
                .map(certwell_server::config::DatabaseUrl)
                .or(config.database_url)
            else {
                return Err(
                    "store copy: no target database; give --to postgres://… or set CERTWELL_DATABASE_URL"
                        .into(),
                );
            };
            if !to.0.starts_with("postgres://") && !to.0.starts_with("postgresql://") {
                return Err(format!(
                    "store copy: the target must be a PostgreSQL database (postgres://…), not {to:?}"
                ));
            }
            let from = DataDir::new(from);
            let copied = certwell_store::copy_sqlite_to_postgres(&from.database(), &to.0, |t| {
                println!("  {:<24} {:>10} rows", t.table, t.rows)
            })
            .await
            .map_err(|e| format!("store copy: {e}"))?;
            let rows: i64 = copied.iter().map(|t| t.rows).sum();
            println!(
                "Copied {rows} rows in {} tables from {} into {to:?}; every table's rows were counted on both sides and match.",
                copied.len(),
                from.database().display(),
            );
            println!(
                "CA keys were not copied: every instance needs the key files of {} (or the HSM).",
                from.keys().display()
            );
            Ok(())
        }
        Command::Ca { command } => {
            config.validate()?;
            let store = certwell_server::open_store(&dir, &config).await?;
            let keys = certwell_server::keystore::KeyStore::open(&dir, &config)?;
            let done = ca_command(&dir, &config, store.as_ref(), &keys, command).await;
            store.close().await;
            done
        }
        Command::Backup { dest } => {
            config.validate()?;
            let store = certwell_server::open_store(&dir, &config).await?;
            let postgres = config.database_url.is_some();
            let done = certwell_server::backup::backup(&dir, postgres, store.as_ref(), &dest).await;
            store.close().await;
            let m = done?;
            println!(
                "Backed up {} into {} ({} files, database snapshot at {}).",
                dir.root.display(),
                dest.display(),
                m.files.len(),
                m.created_at
            );
            if postgres {
                println!(
                    "The PostgreSQL database is not in it: back it up with pg_dump (or your provider's snapshots) at the same time."
                );
            }
            println!("The backup holds the CA keys (encrypted only if the data directory's are): keep it as safe as the CA.");
            Ok(())
        }
        Command::Restore { src, dir: target } => {
            let target = DataDir::new(target);
            let manifest = certwell_server::backup::restore_files(&src, &target)?;
            let restored = Config::load(&target.root, None)?;
            if manifest.database == "postgres" {
                println!(
                    "Restore the PostgreSQL database from the dump taken with this backup first; the CRL fence is applied to {:?} now.",
                    restored.database_url
                );
            }
            let store = certwell_server::open_store(&target, &restored).await?;
            let fenced = certwell_server::backup::fence(store.as_ref(), &manifest).await;
            store.close().await;
            let fenced = fenced?;
            println!(
                "Restored {} into {} (snapshot of {}).",
                src.display(),
                target.root.display(),
                manifest.created_at
            );
            for (ca, n) in fenced {
                println!("  CA {ca}: the next CRL number is {}", n + 1);
            }
            println!(
                "Certificates issued after the snapshot are unknown to the restored CA (OCSP answers 'unknown'; it cannot revoke them): see README, Backup and restore."
            );
            Ok(())
        }
        Command::Init { sandbox } => {
            if sandbox {
                config.sandbox = true;
            }
            let (state, key) = certwell_server::open(&dir, config).await?;
            match key {
                Some(k) => println!(
                    "Initialized {}.\nAdmin API key (shown once; also in {}): {k}",
                    dir.root.display(),
                    dir.admin_key_file().display()
                ),
                None => println!("{} is already initialized.", dir.root.display()),
            }
            state.store.close().await;
            Ok(())
        }
        Command::Apikey {
            command:
                ApikeyCommand::Create {
                    role,
                    account,
                    container,
                },
        } => {
            let (state, _) = certwell_server::open(&dir, config).await?;
            let role = Role::parse(&role).ok_or("unknown role")?;
            let key = if role == Role::Operator {
                certwell_server::init::new_api_key(
                    state.store.as_ref(),
                    None,
                    None,
                    Role::Operator,
                    "operator",
                )
                .await
                .map_err(|e| e.message)?
            } else {
                let account_id = match account {
                    Some(a) => a,
                    None => state
                        .store
                        .list_accounts()
                        .await
                        .map_err(|e| e.to_string())?
                        .first()
                        .map(|a| a.id)
                        .ok_or("no account")?,
                };
                state
                    .store
                    .get_account(account_id)
                    .await
                    .map_err(|e| e.to_string())?
                    .ok_or(format!("account {account_id} does not exist"))?;
                if let Some(c) = container {
                    state
                        .store
                        .get_container(account_id, c)
                        .await
                        .map_err(|e| e.to_string())?
                        .ok_or(format!("container {c} is not in account {account_id}"))?;
                }
                certwell_server::init::create_user_key(
                    state.store.as_ref(),
                    account_id,
                    role,
                    container,
                )
                .await
                .map_err(|e| e.message)?
                .0
            };
            println!("{}", key.secret);
            eprintln!(
                "key id {0} (revoke with: certwell apikey revoke {0})",
                key.id
            );
            state.store.close().await;
            Ok(())
        }
        Command::Apikey {
            command: ApikeyCommand::Revoke { id },
        } => {
            let (state, _) = certwell_server::open(&dir, config).await?;
            let r = certwell_server::service::desk::revoke_api_key(&state, id)
                .await
                .map(|()| println!("API key {id} revoked"))
                .map_err(|e| match e.kind {
                    certwell_server::error::ErrorKind::NotFound => format!("no API key {id}"),
                    _ => e.message,
                });
            state.store.close().await;
            r
        }
        Command::Account { command } => {
            let (state, _) = certwell_server::open(&dir, config).await?;
            let r = match command {
                AccountCommand::Create { name } => {
                    let (id, key) = certwell_server::service::desk::create_account(&state, &name)
                        .await
                        .map_err(|e| e.message)?;
                    println!("account {id}\nadmin API key: {key}");
                    Ok(())
                }
                AccountCommand::List => {
                    for a in state
                        .store
                        .list_accounts()
                        .await
                        .map_err(|e| e.to_string())?
                    {
                        println!("{}\t{}\t{}", a.id, a.name, a.settings.approval_workflow);
                    }
                    Ok(())
                }
                AccountCommand::Set {
                    id,
                    approval_workflow,
                } => {
                    let mut a = state
                        .store
                        .get_account(id)
                        .await
                        .map_err(|e| e.to_string())?
                        .ok_or(format!("account {id} does not exist"))?;
                    if let Some(w) = approval_workflow {
                        a.settings.approval_workflow = ApprovalWorkflow::parse(&w)
                            .ok_or("bad workflow")?
                            .as_str()
                            .to_string();
                    }
                    state
                        .store
                        .update_account_settings(id, &a.settings)
                        .await
                        .map_err(|e| e.to_string())?;
                    println!(
                        "account {id}: approval_workflow = {}",
                        a.settings.approval_workflow
                    );
                    Ok(())
                }
            };
            state.store.close().await;
            r
        }
        Command::Operator { command } => {
            let (state, _) = certwell_server::open(&dir, config).await?;
            let r = match command {
                OperatorCommand::ValidateOrg { id, kind } => {
                    certwell_server::service::desk::validate_org(&state, id, kind)
                        .await
                        .map(|_| println!("organization {id}: {kind} validated"))
                        .map_err(|e| e.message)
                }
                OperatorCommand::Validations => {
                    match state.store.pending_org_validations(1000).await {
                        Ok(list) => {
                            for p in list {
                                println!(
                                    "organization {} ({}), account {}: {} pending since {}",
                                    p.organization_id,
                                    p.organization_name,
                                    p.account_id,
                                    p.kind,
                                    certwell_server::views::datetime(p.date_created)
                                );
                            }
                            Ok(())
                        }
                        Err(e) => Err(e.to_string()),
                    }
                }
                OperatorCommand::Decide(args) => decide(&state, args).await,
                OperatorCommand::Audit { organization } => {
                    match state.store.validation_audit(organization, 1000).await {
                        Ok(list) => {
                            for a in list {
                                println!(
                                    "{} organization {} {} {}: {}",
                                    certwell_server::views::datetime(a.at),
                                    a.organization_id,
                                    a.kind,
                                    a.decision,
                                    a.note
                                );
                            }
                            Ok(())
                        }
                        Err(e) => Err(e.to_string()),
                    }
                }
                OperatorCommand::ValidateDomain { id } => {
                    certwell_server::service::desk::validate_domain(&state, id)
                        .await
                        .map(|_| println!("domain {id}: validated"))
                        .map_err(|e| e.message)
                }
                OperatorCommand::ValidateEmail { order, email } => {
                    certwell_server::service::desk::validate_order_email(&state, order, &email)
                        .await
                        .map(|_| println!("order {order}: {email} validated"))
                        .map_err(|e| e.message)
                }
            };
            state.store.close().await;
            r
        }
    }
}

/// `certwell operator decide`: the desk's decision through the policy rules.
async fn decide(
    state: &certwell_server::state::AppState,
    DecideArgs {
        id,
        kind,
        approve,
        reject,
        note,
        verified_contacts: contacts,
        registration_number,
    }: DecideArgs,
) -> Result<(), String> {
    if approve == reject {
        return Err("give --approve or --reject".into());
    }
    let mut verified = Vec::new();
    for c in &contacts {
        let (name, email) = c
            .split_once('<')
            .map(|(n, e)| (n.trim(), e.trim_end_matches('>').trim()))
            .ok_or(format!(
                "--verified-contact '{c}': expected \"First Last <email>\""
            ))?;
        let (first, last) = name.split_once(' ').unwrap_or((name, ""));
        verified.push(certwell_api::organization::ContactInput {
            first_name: Some(first.to_string()),
            last_name: Some(last.trim().to_string()),
            email: Some(email.to_string()),
            ..Default::default()
        });
    }
    let input = certwell_api::organization::DeskDecisionInput {
        decision: Some(if approve { "approve" } else { "reject" }.into()),
        note: Some(note),
        verified_contacts: (!verified.is_empty()).then_some(verified),
        registration_number,
    };
    certwell_server::service::desk::decide_on_input(state, None, id, kind, &input)
        .await
        .map_err(|e| e.message)?;
    println!(
        "organization {id}: {kind} {}",
        if approve { "approved" } else { "rejected" }
    );
    Ok(())
}

/// `--type`: an organization validation type.
fn validation_type(s: &str) -> Result<ValidationType, String> {
    ValidationType::from_name(s)
        .ok_or_else(|| format!("expected one of {}", ValidationType::names().join(", ")))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("certwell: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("certwell: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn ca_command(
    dir: &DataDir,
    config: &Config,
    store: &dyn certwell_store::Store,
    keys: &certwell_server::keystore::KeyStore,
    command: CaCommand,
) -> Result<(), String> {
    use certwell_server::keystore::KeyTarget;
    use certwell_server::service::ceremony;
    let ceremony = ceremony::Ceremony {
        dir,
        store,
        keys,
        config,
    };
    let read =
        |p: &PathBuf| std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()));
    match command {
        CaCommand::List => {
            for c in store.list_cas().await.map_err(|e| e.to_string())? {
                println!(
                    "{}  {:<16} {:<8} {:<8} {}  ({})",
                    c.id,
                    c.purpose.as_deref().unwrap_or("root"),
                    if c.is_default { "default" } else { "-" },
                    c.parent_id.as_deref().unwrap_or("-"),
                    c.name,
                    c.key_file
                );
            }
            Ok(())
        }
        CaCommand::CreateRoot {
            ca,
            key_out,
            pkcs11,
        } => {
            let target = match (key_out, pkcs11) {
                (Some(p), false) => KeyTarget::File(
                    std::path::absolute(&p).map_err(|e| format!("{}: {e}", p.display()))?,
                ),
                (None, true) => KeyTarget::Token,
                _ => return Err("create-root: give --key-out FILE or --pkcs11".into()),
            };
            let rec = ceremony.create_root(&ca.options(25 * 365), target).await?;
            println!("{}  root  {}", rec.id, rec.name);
            Ok(())
        }
        CaCommand::CreateIntermediate {
            ca,
            parent,
            profile,
            default,
            parent_key,
        } => {
            let rec = ceremony
                .create_intermediate(
                    &ca.options(10 * 365),
                    &parent,
                    &profile,
                    default,
                    parent_key.as_deref(),
                )
                .await?;
            println!(
                "{}  {}  {}",
                rec.id,
                rec.purpose.as_deref().unwrap_or(""),
                rec.name
            );
            Ok(())
        }
        CaCommand::Csr { ca, profile } => {
            let pem = ceremony.intermediate_csr(&ca.options(0), &profile)?;
            print!("{pem}");
            Ok(())
        }
        CaCommand::Import {
            cert,
            chain,
            key,
            no_key,
            profile,
            default,
        } => {
            let cert_pem = read(&cert)?;
            let chain_pem = chain.as_ref().map(read).transpose()?;
            let key = match (&key, no_key) {
                (Some(k), _) => ceremony::ImportKey::Given(k),
                (None, true) => ceremony::ImportKey::None,
                (None, false) => ceremony::ImportKey::Pending,
            };
            let rec = ceremony
                .import_ca(ceremony::Import {
                    cert_pem: &cert_pem,
                    chain_pem: chain_pem.as_deref(),
                    key,
                    profile: profile.as_deref(),
                    is_default: default,
                })
                .await?;
            println!(
                "{}  {}  {}",
                rec.id,
                rec.purpose.as_deref().unwrap_or("root"),
                rec.name
            );
            Ok(())
        }
        CaCommand::SignCrl { ca, days, key } => {
            let (id, number) = ceremony.sign_ca_crl(&ca, days, key.as_deref()).await?;
            println!("CRL number {number} of CA {id} signed, valid {days} days.");
            Ok(())
        }
        CaCommand::Chain { ca } => {
            print!("{}", ceremony.chain_pem(&ca).await?);
            Ok(())
        }
        CaCommand::EncryptKeys => {
            let locations: Vec<(String, String)> = store
                .list_cas()
                .await
                .map_err(|e| e.to_string())?
                .into_iter()
                .map(|c| (c.id, c.key_file))
                .collect();
            let n = keys.encrypt_key_files(&locations)?;
            println!("Encrypted {n} CA key file(s) in {}.", dir.keys().display());
            Ok(())
        }
    }
}
