//! `/api/server/about` and `/api/server/advanced-auth` (anonymous), `/api/server/health` (for
//! load balancers).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use cvat_proto::{
    About, AdvancedAuthentication, Health, LdapMethod, MfaMethods, PasswordMethod, SsoMethods,
    SsoProvider,
};

use super::extract::MaybeIdentity;

use crate::error::cvat_json;
use crate::state::SharedState;

const DESCRIPTION: &str = "CVAT is completely re-designed and re-implemented version of Video Annotation Tool from Irvine, California tool. It is free, online, interactive video and image annotation tool for computer vision. It is being used by our team to annotate million of objects with different properties. Many UI and UX decisions are based on feedbacks from professional data annotation team.";

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/api/server/about", get(about))
        .route("/api/server/health", get(health))
        .route("/api/server/advanced-auth", get(advanced_auth))
}

async fn about() -> Response {
    let about = About {
        name: "Computer Vision Annotation Tool".into(),
        description: DESCRIPTION.into(),
        // CVAT 2.3.0 drops a zero patch number; cvat-sdk 2.3.0 only stays quiet for "2.3".
        version: "2.3".into(),
        logo_url: String::new(),
        subtitle: String::new(),
    };
    cvat_json(StatusCode::OK, &about)
}

/// CVAT 2.3.0's login-method discovery: no Google or GitHub login here, so both are off; the
/// extra keys (our design, sso-and-mfa §4.11) say what is on.
/// Anonymous, but invalid credentials still get 401 (as CVAT's authentication classes do).
async fn advanced_auth(
    State(state): State<SharedState>,
    MaybeIdentity(_): MaybeIdentity,
) -> Response {
    let providers: Vec<SsoProvider> = state
        .oidc
        .settings
        .providers
        .values()
        .map(|p| SsoProvider {
            id: p.id.clone(),
            name: p.name.clone(),
            protocol: "OIDC".into(),
            login_url: format!("/api/auth/oidc/{}/login", p.id),
        })
        .collect();
    let methods = AdvancedAuthentication {
        // An OpenID Connect provider with the id `google` (spec §4.11).
        GOOGLE_ACCOUNT_AUTHENTICATION: state.oidc.settings.providers.contains_key("google"),
        GITHUB_ACCOUNT_AUTHENTICATION: false,
        password: PasswordMethod {
            enabled: true,
            registration: !state.settings.registration.disabled,
            registration_domains: state.settings.registration.domains.clone(),
            min_length: u16::try_from(crate::service::registration::min_password_length())
                .unwrap_or(u16::MAX),
        },
        mfa: MfaMethods {
            enabled: true,
            methods: vec!["totp".into(), "recovery_code".into()],
            enforce: state.mfa.policy.enforce.as_str().to_string(),
            otp_header: state.mfa.basic_otp_header.then(|| "X-CVAT-OTP".to_string()),
        },
        ldap: LdapMethod {
            enabled: state.ldap.is_some(),
            email_login: state
                .ldap
                .as_ref()
                .is_some_and(|l| l.email_filter.is_some()),
        },
        sso: SsoMethods {
            enabled: !providers.is_empty(),
            providers,
        },
    };
    cvat_json(StatusCode::OK, &methods)
}

async fn health(State(state): State<SharedState>) -> Response {
    if state.db.ping().await {
        cvat_json(
            StatusCode::OK,
            &Health {
                status: "ok".into(),
            },
        )
    } else {
        cvat_json(
            StatusCode::SERVICE_UNAVAILABLE,
            &Health {
                status: "database unavailable".into(),
            },
        )
    }
}
