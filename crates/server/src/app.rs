//! Start-up, serving with graceful shutdown, and the administrative commands.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use rand::distributions::{Alphanumeric, DistString};

use crate::config::{mask_database_url, DatabaseArgs, ServeArgs, Settings};
use crate::connections::{serve_connections, ConnectionLimits};
use crate::metrics::Metrics;
use crate::service::mfa::policy::MfaEnforce;
use crate::state::{AppState, SharedState};
use crate::store::{now_micros, Db};

/// Opens (and migrates) the database and loads or creates the signing secret.
pub async fn open_state(args: &ServeArgs) -> anyhow::Result<SharedState> {
    let db = open_db_with_retry(&args.db).await?;
    let secret = match &args.secret_key {
        Some(s) if !s.is_empty() => s.clone(),
        _ => {
            let fresh = Alphanumeric.sample_string(&mut rand::thread_rng(), 64);
            db.setting_or_insert("secret_key", &fresh).await?
        }
    };
    let metrics = if args.metrics {
        Some(Metrics::install()?)
    } else {
        None
    };
    crate::service::registration::set_min_password_length(args.registration.password_min_length);
    let mut mfa = args.mfa.settings(&secret)?;
    if mfa.policy.enforce != MfaEnforce::None {
        // The policy's start, once per mode: grace periods count from it, on every replica.
        let key = format!("mfa_enforce_since:{}", mfa.policy.enforce.as_str());
        let now = now_micros();
        let since = db.setting_or_insert(&key, &now.to_string()).await?;
        mfa.policy.since = since.parse().unwrap_or(now);
    }
    let oidc = args.oidc.settings(&|name| std::env::var(name).ok())?;
    Ok(Arc::new(AppState {
        db,
        mfa,
        ldap: args.ldap.settings()?,
        oidc: crate::auth::oidc::Oidc::new(oidc)?,
        secret,
        settings: Settings::from(args),
        metrics,
        mailer: crate::mail::Mailer::new(args.mail.settings(&args.db.database_url)?),
    }))
}

/// Retries while the database is not reachable yet (a replica may start before it).
async fn open_db_with_retry(args: &DatabaseArgs) -> anyhow::Result<Db> {
    let opts = args.options();
    let mut attempt = 0;
    loop {
        match Db::open(&opts).await {
            Ok(db) => return Ok(db),
            Err(e) if attempt < 30 && opts.url.starts_with("postgres") => {
                attempt += 1;
                let error = crate::config::redact_database_password(&format!("{e:#}"), &opts.url);
                tracing::warn!(%error, attempt, "database not reachable yet, retrying in 2 s");
                tokio::time::sleep(std::time::Duration::from_secs(2)).await;
            }
            // Processes opening one SQLite file together can briefly find it locked (switching
            // it to WAL needs a moment alone with it).
            Err(e) if attempt < 10 && format!("{e:#}").contains("locked") => {
                attempt += 1;
                tracing::debug!(error = %format!("{e:#}"), attempt, "database locked, retrying");
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let state = open_state(&args).await?;
    let listener = crate::connections::bind(args.bind)
        .with_context(|| format!("cannot listen on {}", args.bind))?;
    let addr = listener.local_addr()?;
    let shutdown = shutdown_signal();
    println!("cvat-server: serving the CVAT Users API at http://{addr}/api/users");
    if state.db.count_active_admins().await? == 0 {
        println!(
            "cvat-server: no admin yet; create one with:\n  cvat-server createsuperuser --username admin --email admin@example.com --database-url {}",
            mask_database_url(&args.db.database_url)
        );
    }
    let prune = tokio::spawn(prune_failures(state.clone()));
    let audit = crate::audit_log::start(&state, &args.audit);
    let mail = crate::mail::worker::start(&state)?;
    let upkeep = state.metrics.clone().map(|m| tokio::spawn(m.upkeep()));
    let app = crate::http::router(state.clone());
    let limits = ConnectionLimits {
        header_read_timeout: Duration::from_secs(args.header_read_timeout),
        first_byte_timeout: Duration::from_secs(args.first_byte_timeout),
        keep_alive_timeout: Duration::from_secs(args.keep_alive_timeout),
        max_connections: usize::try_from(args.max_connections)
            .unwrap_or(usize::MAX)
            .min(tokio::sync::Semaphore::MAX_PERMITS),
        drain: Duration::from_secs(args.request_timeout + args.header_read_timeout),
    };
    serve_connections(listener, app, limits, shutdown).await;
    prune.abort();
    if let Some(a) = audit {
        a.abort();
    }
    mail.stop().await;
    if let Some(u) = upkeep {
        u.abort();
    }
    state.db.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Drops failed-login rows that no longer count for any lock.
async fn prune_failures(state: SharedState) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
    loop {
        tick.tick().await;
        let horizon = now_micros() - 2 * state.settings.lockout_secs * 1_000_000;
        if let Err(e) = state.db.prune_login_failures(horizon).await {
            tracing::warn!(error = %e, "pruning failed logins");
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM. The SIGTERM handler is installed here, before the server
/// announces itself, not when the future is first polled: a supervisor that signals right
/// after the first answer must not hit the default action (death without a clean exit).
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    async move {
        let ctrl_c = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        #[cfg(unix)]
        let term = async move {
            match term {
                Some(mut s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! { _ = ctrl_c => {}, _ = term => {} }
        tracing::info!("shutting down: finishing in-flight requests");
    }
}

/// `createsuperuser`: an active staff superuser in group `admin`.
pub async fn create_superuser(
    db_args: &DatabaseArgs,
    username: &str,
    email: &str,
    password: &str,
) -> anyhow::Result<i64> {
    use crate::validate;
    let db = Db::open(&db_args.options()).await?;
    if !validate::is_valid_username(username) || username.chars().count() > validate::NAME_MAX {
        anyhow::bail!(
            "invalid username: letters, digits and @/./+/-/_ only, at most 150 characters"
        );
    }
    if !email.is_empty() && !validate::is_valid_email(email) {
        anyhow::bail!("invalid e-mail address: {email}");
    }
    let problems = crate::auth::password_rules::validate_password(
        password,
        Some(&crate::auth::password_rules::UserAttributes {
            username,
            first_name: "",
            last_name: "",
            email,
        }),
    );
    if !problems.is_empty() {
        anyhow::bail!("password rejected: {}", problems.join(" "));
    }
    let cmd = crate::service::CreateUser {
        username: username.to_string(),
        email: email.to_string(),
        password: password.to_string(),
        first_name: String::new(),
        last_name: String::new(),
        groups: None,
        is_staff: true,
        is_superuser: true,
        is_active: true,
        must_change_password: false,
        external_id: None,
    };
    let user = crate::service::users::create_superuser(&db, cmd)
        .await
        .map_err(|e| match e {
            crate::service::DomainError::Invalid(_) => {
                anyhow::anyhow!("a user named {username} already exists")
            }
            other => anyhow::anyhow!(other),
        })?;
    db.close().await;
    Ok(user.id)
}
