//! `mfa status|enable|confirm|disable|recovery-codes`: your own TOTP second factor.
//!
//! The saved access token can only read the status: the server lets no access token manage a
//! factor, so the other verbs authenticate with your password (Basic, asked for or read with
//! `--password-stdin`) and, once the factor is on, a current code in `--otp`. `disable` and
//! `recovery-codes` then also confirm with `--code` (a code not used yet: the app's next one)
//! or, for `disable`, `--recovery-code`.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::Subcommand;
use cvat_sdk::{
    ApiClient, Credentials, MfaDisableRequest, PatchedOrganizationMfaPolicyRequest,
    RecoveryCodesRequest,
};

use super::{prompt, read_password};
use crate::context::{Context, Failure, Outcome};
use crate::output::Format;

#[derive(Debug, Subcommand)]
pub enum MfaCommand {
    /// Show whether TOTP is on and how many recovery codes are left.
    Status,
    /// Start enrolling: print the secret and the otpauth:// URI (and write the QR code).
    Enable {
        /// Write the QR code of the otpauth:// URI to this SVG file.
        #[arg(long, value_name = "FILE")]
        qr: Option<PathBuf>,
        /// Read the password from standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Finish enrolling with the app's current code; prints the recovery codes (once).
    Confirm {
        /// The 6-digit code the app shows.
        code: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Turn TOTP off.
    Disable {
        /// A current code, authenticating this request.
        #[arg(long)]
        otp: Option<String>,
        /// A code not used yet (the app's next one), confirming the change.
        #[arg(long, conflicts_with = "recovery_code")]
        code: Option<String>,
        /// Or an unused recovery code.
        #[arg(long)]
        recovery_code: Option<String>,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Show or change whether an organization requires TOTP of its members (changing: its
    /// owner or an administrator).
    OrgPolicy {
        /// The organization's id.
        org_id: i64,
        /// Require TOTP of every member (after the grace period).
        #[arg(long, conflicts_with = "no_require")]
        require: bool,
        /// Stop requiring it.
        #[arg(long)]
        no_require: bool,
        /// Hours a member may work without it (0 to 8760).
        #[arg(long, value_name = "HOURS")]
        grace_hours: Option<i64>,
    },
    /// Replace the recovery codes (the old ones stop working); prints the new ones.
    RecoveryCodes {
        /// A current code, authenticating this request.
        #[arg(long)]
        otp: Option<String>,
        /// A code not used yet (the app's next one), confirming the change.
        #[arg(long)]
        code: String,
        #[arg(long)]
        password_stdin: bool,
    },
}

/// A client with your password (and `otp` as `X-CVAT-OTP`); the password comes back too.
fn password_client(
    ctx: &Context,
    password_stdin: bool,
    otp: Option<String>,
) -> Result<(ApiClient, String), Failure> {
    let host = ctx.host()?;
    let username = ctx.config.username.clone().ok_or_else(|| {
        Failure::usage("no saved username: log in first with 'cvat-users login --username NAME'")
    })?;
    let password = read_password(password_stdin, || {
        prompt(format!("Password for {username} at {host}: "))
    })?;
    let mut client = ctx.client(&host, Some(Credentials::basic(&username, &password)))?;
    if let Some(otp) = otp {
        let config = client.configuration().clone().with_otp(otp);
        client = ApiClient::new(config)?;
    }
    Ok((client, password))
}

fn print_codes(codes: &[String], format: Format) -> Outcome {
    if format == Format::Json {
        println!("{}", serde_json::json!({ "recovery_codes": codes }));
        return Ok(());
    }
    println!("Recovery codes (shown only now; each works once, keep them somewhere safe):");
    for c in codes {
        println!("  {c}");
    }
    Ok(())
}

pub fn run(ctx: &Context, command: MfaCommand) -> Outcome {
    match command {
        MfaCommand::Status => {
            let status = ctx.logged_in()?.mfa_api().status()?;
            if ctx.output == Format::Json {
                let text = serde_json::to_string_pretty(&status)
                    .map_err(|e| Failure::new(e.to_string()))?;
                println!("{text}");
            } else if status.totp.enabled {
                println!(
                    "TOTP: enabled since {}\nRecovery codes: {} of {} left",
                    status.totp.confirmed_date.unwrap_or_default(),
                    status.recovery_codes.remaining,
                    status.recovery_codes.total
                );
            } else {
                println!("TOTP: not enabled (turn it on with 'cvat-users mfa enable')");
            }
            Ok(())
        }
        MfaCommand::Enable { qr, password_stdin } => {
            let (client, password) = password_client(ctx, password_stdin, None)?;
            let setup = client.mfa_api().totp_setup(&password)?;
            if let Some(path) = &qr {
                std::fs::write(path, &setup.qr_svg)
                    .map_err(|e| Failure::new(format!("cannot write {}: {e}", path.display())))?;
            }
            if ctx.output == Format::Json {
                let text = serde_json::to_string_pretty(&serde_json::json!({
                    "secret": setup.secret, "otpauth_url": setup.otpauth_url,
                    "expires_in": setup.expires_in,
                }))
                .map_err(|e| Failure::new(e.to_string()))?;
                println!("{text}");
            } else {
                println!("Secret: {}\nURI: {}", setup.secret, setup.otpauth_url);
                if let Some(path) = &qr {
                    println!("QR code written to {}", path.display());
                }
                println!(
                    "Add it to your authenticator app, then within {} seconds run: cvat-users mfa confirm CODE",
                    setup.expires_in
                );
            }
            Ok(())
        }
        MfaCommand::Confirm {
            code,
            password_stdin,
        } => {
            let (client, _) = password_client(ctx, password_stdin, None)?;
            let confirmed = client.mfa_api().totp_confirm(&code)?;
            if ctx.output != Format::Json {
                println!("Two-factor authentication is on. Your saved access token keeps working.");
            }
            print_codes(&confirmed.recovery_codes, ctx.output)
        }
        MfaCommand::Disable {
            otp,
            code,
            recovery_code,
            password_stdin,
        } => {
            if code.is_none() && recovery_code.is_none() {
                return Err(Failure::usage("pass --code CODE or --recovery-code CODE"));
            }
            let (client, password) = password_client(ctx, password_stdin, otp)?;
            let detail = client.mfa_api().totp_disable(&MfaDisableRequest {
                password,
                code,
                recovery_code,
            })?;
            println!("{}", detail.detail);
            Ok(())
        }
        MfaCommand::OrgPolicy {
            org_id,
            require,
            no_require,
            grace_hours,
        } => {
            let api = ctx.logged_in()?;
            let change = PatchedOrganizationMfaPolicyRequest {
                require_mfa: (require || no_require).then_some(require),
                grace_period_hours: grace_hours,
            };
            let policy = match change == PatchedOrganizationMfaPolicyRequest::default() {
                true => api.mfa_api().organization_policy(org_id)?,
                false => api.mfa_api().organization_policy_update(org_id, &change)?,
            };
            if ctx.output == Format::Json {
                let text = serde_json::to_string_pretty(&policy)
                    .map_err(|e| Failure::new(e.to_string()))?;
                println!("{text}");
            } else {
                println!(
                    "Requires TOTP: {}\nGrace period: {} hours\nSince: {}",
                    if policy.require_mfa { "yes" } else { "no" },
                    policy.grace_period_hours,
                    policy.enabled_date.as_deref().unwrap_or("-")
                );
            }
            Ok(())
        }
        MfaCommand::RecoveryCodes {
            otp,
            code,
            password_stdin,
        } => {
            let (client, password) = password_client(ctx, password_stdin, otp)?;
            let codes = client
                .mfa_api()
                .recovery_codes(&RecoveryCodesRequest { password, code })?;
            print_codes(&codes.recovery_codes, ctx.output)
        }
    }
}

/// The code for a login of a user with TOTP: `--otp`, else asked on the terminal.
pub fn ask_otp() -> Result<String, Failure> {
    if !std::io::stdin().is_terminal() {
        return Err(Failure::usage(
            "this account has two-factor authentication: pass --otp CODE (the app's current code)",
        ));
    }
    prompt("Two-factor code: ".into())
}
