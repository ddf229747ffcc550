//! The `ordo` command: parse the CLI, load the configuration, start tracing, run one command.

use std::io::{BufRead, IsTerminal};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use sqlx::postgres::PgPoolOptions;
use tower_sessions::ExpiredDeletion;
use tracing_subscriber::EnvFilter;

use ordo::audit::{self, Verification};
use ordo::auth::{Role, totp};
use ordo::clock::SystemClock;
use ordo::config::Config;
use ordo::state::AppState;

/// mimalloc: the server allocates many small short-lived buffers per request; glibc's allocator spent
/// a fifth of the CPU time of a public search in malloc/free (perf, 2 cores).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "ordo",
    version,
    about = "The online platform of an Italian professional order"
)]
struct Cli {
    /// Configuration file, read after config/default.toml and before environment variables.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the HTTP server (applies pending migrations first).
    Serve,
    /// Apply pending database migrations.
    Migrate,
    /// Create the demo order's accounts and members (idempotent) and print the accounts.
    SeedDemo {
        /// How many demo members the register should hold (created if missing).
        #[arg(long, default_value_t = ordo::demo::DEFAULT_DEMO_MEMBERS)]
        members: u64,
    },
    /// Create an administrator account (second factor enrolled at first login).
    CreateAdmin {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "Amministratore")]
        name: String,
        /// Read the password from the first line of standard input (otherwise one is generated).
        #[arg(long)]
        password_stdin: bool,
        /// The administrator's codice fiscale: lets them log in with SPID/CIE/CNS (level 2 stands in
        /// for the TOTP code).
        #[arg(long)]
        fiscal_code: Option<String>,
    },
    /// Audit log commands.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Protocol register commands.
    Protocol {
        #[command(subcommand)]
        command: ProtocolCommand,
    },
    /// Import a CSV file (the same checks and outcome as the back-office import screen). Exit status 0
    /// when the import did what was asked, 1 when rows were rejected (an atomic import then writes
    /// nothing), 2 when the file cannot be imported at all.
    Import {
        #[command(subcommand)]
        command: ImportCommand,
    },
    /// Accounting ledger commands.
    Ledger {
        #[command(subcommand)]
        command: ordo::ledger::cli::LedgerCommand,
    },
    /// SPID service provider commands.
    Spid {
        #[command(subcommand)]
        command: ordo::sso::cli::SpidCommand,
    },
}

#[derive(clap::Args)]
struct ImportArgs {
    /// The CSV file: UTF-8 (with or without BOM) or Windows-1252; `;`, `,` or tab.
    file: PathBuf,
    /// Check every row and print what would happen; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Write the valid rows and skip the rejected ones (default: all or nothing).
    #[arg(long)]
    valid_only: bool,
    /// A TOML file naming the column of each field ([columns] fiscal_code = "C.F."); the others are
    /// recognised from the header.
    #[arg(long, value_name = "M.toml")]
    mapping: Option<PathBuf>,
    /// Where to write the rejected rows with their reasons (default: FILE's name + .scartate.csv).
    #[arg(long, value_name = "OUT.csv")]
    rejected: Option<PathBuf>,
}

#[derive(Subcommand)]
enum ImportCommand {
    /// Members, with their status (codice fiscale, then registration number, as natural keys).
    Members(ImportArgs),
    /// Registrations of the protocol register used before ordo (kept with their own numbers).
    Protocol(ImportArgs),
    /// Video-surveillance systems with their sites (Allegato A/B; keys: system number, site code).
    Cameras(ImportArgs),
    /// Write a sample members file (demo people) to try the import with.
    Sample {
        file: PathBuf,
        #[arg(long, default_value_t = 1000)]
        rows: u64,
    },
}

#[derive(Subcommand)]
enum ProtocolCommand {
    /// Register an item; prints the assigned number as YEAR/NNNNNNN. Exit status 1 if refused.
    Register {
        /// in, out or internal.
        #[arg(long, value_parser = ["in", "out", "internal"])]
        direction: String,
        #[arg(long)]
        subject: String,
        /// Name of the sender (in) or recipient (out).
        #[arg(long)]
        correspondent: String,
        /// Codice fiscale of the correspondent.
        #[arg(long, default_value = "")]
        correspondent_cf: String,
        /// E-mail or PEC of the correspondent.
        #[arg(long, default_value = "")]
        correspondent_email: String,
        /// Classification code of the titolario (setting protocol.classes).
        #[arg(long, default_value = "7.1")]
        classification: String,
        /// A document to register with the item (repeatable); its SHA-256 is recorded.
        #[arg(long = "attach", value_name = "FILE")]
        attach: Vec<PathBuf>,
    },
    /// Check that each year's numbers are gapless and unique and that every document still matches its
    /// SHA-256. Exit status 1, naming each problem, if not.
    Verify,
    /// Produce the daily register (PDF and CSV with their SHA-256) of a closed day, or of every closed
    /// day still missing. Exit status 1 if the day is not closed yet.
    Daily {
        /// The day, as YYYY-MM-DD or DD/MM/YYYY (default: every closed day still missing).
        #[arg(long)]
        date: Option<String>,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Verify the hash chain of the audit log; exit status 1 and the first broken entry if tampered.
    Verify,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ordo: {e}");
            return ExitCode::from(2);
        }
    };
    init_tracing(&config);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ordo: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command, config)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ordo: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(config: &Config) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&config.log.level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if config.log.format == "json" {
        builder.json().flatten_event(true).init();
    } else {
        builder.with_ansi(std::io::stderr().is_terminal()).init();
    }
}

async fn connect(config: &Config) -> anyhow::Result<sqlx::PgPool> {
    PgPoolOptions::new()
        .max_connections(config.database.pool_size())
        .acquire_timeout(Duration::from_secs(10))
        // No ping before each use: a broken connection is detected by the query itself and dropped.
        .test_before_acquire(false)
        .connect(&config.database.url)
        .await
        .context("cannot connect to the database (setting `database.url` / DATABASE_URL)")
}

async fn state(config: Config) -> anyhow::Result<AppState> {
    let pool = connect(&config).await?;
    let mailer = ordo::mail::from_config(&config.smtp).map_err(|e| anyhow::anyhow!("setting `smtp`: {e}"))?;
    AppState::new(pool, config, Arc::new(SystemClock), mailer).with_sso()
}

async fn run(command: Command, config: Config) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve => serve(config).await.map(|_| ExitCode::SUCCESS),
        Command::Migrate => {
            let pool = connect(&config).await?;
            ordo::ops::prepare_database(&pool, &config)
                .await
                .map_err(anyhow::Error::msg)?;
            println!("Database migrations applied.");
            Ok(ExitCode::SUCCESS)
        }
        Command::SeedDemo { members } => {
            let state = state(config).await?;
            ordo::ops::prepare_database(&state.pool, &state.config)
                .await
                .map_err(anyhow::Error::msg)?;
            let accounts = ordo::demo::seed(&state)
                .await
                .map_err(|e| anyhow::anyhow!("seed-demo: {e:?}"))?;
            print_demo_accounts(&state, &accounts);
            let started = std::time::Instant::now();
            let created = ordo::demo::seed_members(&state, members)
                .await
                .map_err(|e| anyhow::anyhow!("seed-demo members: {e:?}"))?;
            println!(
                "{created} demo members created ({:.1} s); the register holds demo members 1..{members}.",
                started.elapsed().as_secs_f64()
            );
            for line in ordo::demo::seed_registers(&state)
                .await
                .map_err(anyhow::Error::msg)?
            {
                println!("{line}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::CreateAdmin {
            email,
            name,
            password_stdin,
            fiscal_code,
        } => {
            let state = state(config).await?;
            create_admin(&state, &email, &name, password_stdin, fiscal_code.as_deref()).await
        }
        Command::Audit {
            command: AuditCommand::Verify,
        } => {
            let pool = connect(&config).await?;
            match audit::verify(&pool).await.context("cannot read the audit log")? {
                Verification::Intact { entries } => {
                    println!("audit log intact: {entries} entries verified");
                    Ok(ExitCode::SUCCESS)
                }
                Verification::Broken { seq, reason } => {
                    println!("audit log BROKEN at entry {seq}: {reason}");
                    Ok(ExitCode::from(1))
                }
            }
        }
        Command::Protocol { command } => protocol_command(command, config).await,
        Command::Import { command } => import_command(command, config).await,
        Command::Spid { command } => ordo::sso::cli::run(command, &config),
        Command::Ledger { command } => ordo::ledger::cli::run(command, &state(config).await?).await,
    }
}

async fn protocol_command(command: ProtocolCommand, config: Config) -> anyhow::Result<ExitCode> {
    use ordo::protocol;
    let state = state(config).await?;
    ordo::ops::sync_catalogues(&state.pool, &state.config)
        .await
        .map_err(anyhow::Error::msg)?;
    match command {
        ProtocolCommand::Register {
            direction,
            subject,
            correspondent,
            correspondent_cf,
            correspondent_email,
            classification,
            attach,
        } => {
            let mut documents = vec![];
            for path in &attach {
                let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "documento".into());
                documents.push(protocol::Document::from_bytes(
                    name,
                    protocol::service::content_type_of(&bytes),
                    bytes,
                ));
            }
            let registration = protocol::NewRegistration {
                direction: protocol::Direction::parse(&direction)
                    .context("--direction must be in, out or internal")?,
                correspondent: protocol::Correspondent {
                    name: correspondent,
                    fiscal_code: correspondent_cf,
                    email: correspondent_email,
                },
                subject,
                attachments_description: String::new(),
                classification,
                dossier: protocol::Dossier::None,
                request_id: None,
                source: "cli",
                documents,
            };
            let actor = audit::Actor::system("cli");
            match protocol::service::register_alone(&state, &actor, registration).await {
                Ok(r) => {
                    println!("{}", r.segnatura.key());
                    Ok(ExitCode::SUCCESS)
                }
                Err(ordo::error::AppError::Validation(errors)) => {
                    for e in errors {
                        eprintln!("ordo: {}: {}", e.field, e.message);
                    }
                    Ok(ExitCode::from(1))
                }
                Err(e) => Err(anyhow::anyhow!("registration failed: {e:?}")),
            }
        }
        ProtocolCommand::Verify => {
            let (registrations, documents, problems) =
                protocol::verify::verify(&state.pool, &state.config.protocol)
                    .await
                    .map_err(|e| anyhow::anyhow!("cannot read the protocol register: {e:?}"))?;
            if problems.is_empty() {
                println!(
                    "protocol register intact: {registrations} registrations, {documents} documents verified"
                );
                Ok(ExitCode::SUCCESS)
            } else {
                for p in &problems {
                    println!("protocol register PROBLEM: {p}");
                }
                Ok(ExitCode::from(1))
            }
        }
        ProtocolCommand::Daily { date } => {
            let day = match date.as_deref() {
                None => None,
                Some(d) => Some(
                    ordo::members::model::parse_date(d)
                        .with_context(|| format!("--date {d}: not a date (YYYY-MM-DD or DD/MM/YYYY)"))?,
                ),
            };
            match protocol::daily::produce(&state, day).await {
                Ok(produced) => {
                    for p in &produced {
                        println!("{p}");
                    }
                    if produced.is_empty() {
                        println!("nothing to produce: every closed day has its daily register");
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(ordo::error::AppError::Conflict(m)) => {
                    eprintln!("ordo: {m}");
                    Ok(ExitCode::from(1))
                }
                Err(e) => Err(anyhow::anyhow!("daily register failed: {e:?}")),
            }
        }
    }
}

async fn import_command(command: ImportCommand, config: Config) -> anyhow::Result<ExitCode> {
    use ordo::import::{KindName, cli};
    let (kind, args) = match command {
        ImportCommand::Members(a) => (KindName::Members, a),
        ImportCommand::Protocol(a) => (KindName::Protocol, a),
        ImportCommand::Cameras(a) => (KindName::Cameras, a),
        ImportCommand::Sample { file, rows } => {
            let today = ordo::members::service::today(ordo::clock::Clock::now(&SystemClock));
            cli::write_members_sample(&file, rows, today)?;
            println!("{}: {rows} righe", file.display());
            return Ok(ExitCode::SUCCESS);
        }
    };
    let state = state(config).await?;
    ordo::ops::sync_catalogues(&state.pool, &state.config)
        .await
        .map_err(anyhow::Error::msg)?;
    cli::run(
        &state,
        cli::Args {
            kind,
            file: args.file,
            dry_run: args.dry_run,
            valid_only: args.valid_only,
            mapping: args.mapping,
            rejected: args.rejected,
        },
    )
    .await
}

fn print_demo_accounts(state: &AppState, accounts: &[ordo::demo::SeededAccount]) {
    let now = state.now().unix_timestamp().max(0) as u64;
    println!("Demo order: {}", state.config.order.name);
    println!("Demo accounts (log in at {}/login):", state.config.base());
    println!(
        "{:<32} {:<34} {:<24} TOTP secret (code now)",
        "role", "e-mail", "password"
    );
    for a in accounts {
        let totp_text = match &a.totp_secret {
            Some(s) => format!("{s} ({})", totp::code_at(s, now).unwrap_or_default()),
            None => "— (no second factor)".to_string(),
        };
        println!(
            "{:<32} {:<34} {:<24} {}",
            a.role.label(),
            a.email,
            a.password,
            totp_text
        );
    }
    let created = accounts.iter().filter(|a| a.created).count();
    println!(
        "{created} accounts created, {} already present.",
        accounts.len() - created
    );
}

async fn create_admin(
    state: &AppState,
    email: &str,
    name: &str,
    password_stdin: bool,
    fiscal_code: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let (password, generated) = if password_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the password from standard input")?;
        (line.trim_end_matches(['\r', '\n']).to_string(), false)
    } else {
        (totp::new_recovery_codes().join("-"), true)
    };
    let mut tx = state.pool.begin().await?;
    let result = ordo::auth::service::create_account(
        &mut tx,
        state.now(),
        &audit::Actor::system("create-admin"),
        ordo::auth::service::NewAccount {
            email,
            display_name: name,
            password: &password,
            roles: &[Role::Admin],
            totp_secret: None,
        },
    )
    .await;
    let result = match (result, fiscal_code) {
        (Ok(id), Some(cf)) => ordo::sso::service::set_fiscal_code(&mut tx, id, cf)
            .await
            .map(|_| id),
        (other, _) => other,
    };
    match result {
        Ok(id) => {
            tx.commit().await?;
            println!("Administrator {email} created (id {id}).");
            if generated {
                println!("Password: {password}");
            }
            println!("At the first login ordo asks to enrol the second factor (TOTP).");
            Ok(ExitCode::SUCCESS)
        }
        Err(ordo::error::AppError::Validation(errors)) => {
            for e in errors {
                eprintln!("ordo: {}: {}", e.field, e.message);
            }
            Ok(ExitCode::from(2))
        }
        Err(e) => bail!("create-admin: {e}"),
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let addr = config.bind_addr()?;
    let tls = config.tls_paths();
    let state = state(config).await?;
    ordo::ops::prepare_database(&state.pool, &state.config)
        .await
        .map_err(anyhow::Error::msg)?;
    // Expired sessions are deleted in the background (safe with several processes).
    let cleanup = tower_sessions_sqlx_store::PostgresStore::new(state.pool.clone());
    tokio::spawn(cleanup.continuously_delete_expired(tokio::time::Duration::from_secs(600)));
    // The daily protocol register of each closed day, at protocol.daily_register_at (Europe/Rome); a day
    // already produced (by another process or `ordo protocol daily`) is skipped.
    tokio::spawn(ordo::protocol::daily::run_scheduler(state.clone()));
    tokio::spawn(ordo::video::run_retention_scheduler(state.clone())); // every video.retention_check_minutes

    let state_cns = state.cns.clone();
    let app = ordo::app(state).into_make_service_with_connect_info::<SocketAddr>();
    match tls {
        None => {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr} (setting `bind`)"))?;
            tracing::info!(%addr, "ordo listening (HTTP)");
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown_signal())
                .await?;
        }
        Some((cert, key)) => {
            let _ = rustls::crypto::ring::default_provider().install_default();
            let read = |p: &std::path::Path| {
                std::fs::read(p).with_context(|| format!("cannot read {} (settings `tls.*`)", p.display()))
            };
            let server_config =
                ordo::sso::cns::tls_config(&read(&cert)?, &read(&key)?, state_cns.as_deref())?;
            let tls_config = axum_server::tls_rustls::RustlsConfig::from_config(Arc::new(server_config));
            let handle = axum_server::Handle::new();
            let h = handle.clone();
            tokio::spawn(async move {
                shutdown_signal().await;
                h.graceful_shutdown(Some(Duration::from_secs(30)));
            });
            tracing::info!(%addr, "ordo listening (HTTPS)");
            // Each TLS connection's requests carry the client certificate, if any (CNS login).
            let acceptor =
                ordo::sso::cns::CardAcceptor(axum_server::tls_rustls::RustlsAcceptor::new(tls_config));
            axum_server::bind(addr)
                .acceptor(acceptor)
                .handle(handle)
                .serve(app)
                .await?;
        }
    }
    tracing::info!("ordo stopped");
    Ok(())
}

/// SIGTERM (service managers, containers) or Ctrl-C: stop accepting, finish what is in flight.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutdown signal received, finishing requests in flight");
}
