use clap::Parser;
use portal::{
    config::{Cli, Command, Config, LogFormat},
    db::Db,
    state::AppState,
};
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

/// mimalloc instead of glibc's allocator: rendering a page allocates and frees thousands
/// of small objects across threads, where glibc spent about a quarter of the CPU time
/// (measured with perf on the profile page; see docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter =
        EnvFilter::try_from_env("PORTAL_LOG").unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match cli.settings.log_format {
        // One JSON object per line, the event's fields flattened beside the message.
        LogFormat::Json => logs.json().flatten_event(true).init(),
        LogFormat::Text => logs.init(),
    }
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    let config = Config::from_settings(&cli.settings).map_err(|e| e.to_string())?;
    // A backup reads the database as it is; a restore writes where there is none yet:
    // neither migrates it nor creates a key.
    let mut stdin = std::io::stdin().lock();
    let now_ms = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    };
    let passphrase = |wanted: bool, input: &mut dyn std::io::BufRead| {
        wanted
            .then(|| {
                portal::cli::read_password_line(input).map_err(|_| {
                    "no passphrase on standard input (pipe it in, e.g. \
                     `printf '%s' \"$PASSPHRASE\" | portal backup --with-key --passphrase-stdin …`)"
                        .to_string()
                })
            })
            .transpose()
    };
    match &cli.command {
        Some(Command::Backup {
            output,
            passphrase_stdin,
            ..
        }) => {
            let p = passphrase(*passphrase_stdin, &mut stdin)?;
            let env_key = std::env::var("PORTAL_SECRET_KEY").ok();
            let out =
                portal::backup::backup(&config, env_key.as_deref(), output, p, now_ms()).await?;
            println!("{out}");
            return Ok(());
        }
        Some(Command::Restore {
            input,
            passphrase_stdin,
        }) => {
            let p = passphrase(*passphrase_stdin, &mut stdin)?;
            let env_key_set = std::env::var_os("PORTAL_SECRET_KEY").is_some_and(|v| !v.is_empty());
            let out = portal::backup::restore(&config, input, p, env_key_set).await?;
            println!("{out}");
            return Ok(());
        }
        _ => {}
    }
    let db = Db::connect(&config.database_url, config.database_max_connections)
        .await
        .map_err(|e| {
            format!("cannot open the database (--database-url / PORTAL_DATABASE_URL): {e}")
        })?;
    db.migrate()
        .await
        .map_err(|e| format!("database migration failed: {e}"))?;
    let secret_key = portal::secret_key::SecretKey::load(
        std::env::var("PORTAL_SECRET_KEY").ok().as_deref(),
        &config.data_dir,
        &db,
        &portal::env::OsRandom,
    )
    .await
    .map_err(|e| e.to_string())?;
    let state = AppState::new(db.clone(), config, secret_key).map_err(|e| e.to_string())?;
    let command = cli.command.unwrap_or(Command::Serve);
    let result = match command {
        Command::Serve => portal::web::serve(state)
            .await
            .map(|()| String::new())
            .map_err(|e| {
                format!("cannot serve on --listen (PORTAL_LISTEN) or --metrics-listen (PORTAL_METRICS_LISTEN): {e}")
            }),
        Command::Migrate => Ok("Database is up to date.".to_string()),
        Command::User(cmd) => portal::cli::user(&state, cmd, &mut stdin).await,
        Command::Account(cmd) => portal::cli::account(&state, cmd, &mut stdin).await,
        Command::Group(cmd) => portal::cli::group(&state, cmd).await,
        Command::Member(cmd) => portal::cli::member(&state, cmd).await,
        Command::Invite {
            account,
            email,
            group,
        } => portal::cli::invite(&state, account, &email, &group).await,
        Command::Demo => portal::cli::demo(&state).await,
        Command::Mail(cmd) => portal::cli::mail(&state, cmd).await,
        Command::Backup { .. } | Command::Restore { .. } => Ok(String::new()), // done above
    };
    db.close().await;
    let out = result?;
    if !out.is_empty() {
        println!("{out}");
    }
    Ok(())
}
