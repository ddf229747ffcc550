//! `ordo seed-demo`: the demo order's accounts, one per role. Idempotent: a second run creates
//! nothing and prints the same accounts.

use crate::audit::Actor;
use crate::auth::service::{self, NewAccount};
use crate::auth::{Role, totp};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

pub struct DemoAccount {
    pub role: Role,
    pub email: &'static str,
    pub display_name: &'static str,
    pub password: &'static str,
}

/// One account per role. The passwords are public: this is demo data, never for production.
pub const DEMO_ACCOUNTS: &[DemoAccount] = &[
    DemoAccount {
        role: Role::Member,
        email: "iscritto@demo.example",
        display_name: "Mario Rossi",
        password: "demo-iscritto-2026",
    },
    DemoAccount {
        role: Role::Applicant,
        email: "richiedente@demo.example",
        display_name: "Giulia Bianchi",
        password: "demo-richiedente-2026",
    },
    DemoAccount {
        role: Role::Secretariat,
        email: "segreteria@demo.example",
        display_name: "Laura Verdi",
        password: "demo-segreteria-2026",
    },
    DemoAccount {
        role: Role::Treasurer,
        email: "tesoriere@demo.example",
        display_name: "Paolo Neri",
        password: "demo-tesoriere-2026",
    },
    DemoAccount {
        role: Role::President,
        email: "presidente@demo.example",
        display_name: "Anna Russo",
        password: "demo-presidente-2026",
    },
    DemoAccount {
        role: Role::Councillor,
        email: "consigliere@demo.example",
        display_name: "Luca Ferrari",
        password: "demo-consigliere-2026",
    },
    DemoAccount {
        role: Role::Auditor,
        email: "revisore@demo.example",
        display_name: "Sara Esposito",
        password: "demo-revisore-2026",
    },
    DemoAccount {
        role: Role::VideoOfficer,
        email: "incaricato.video@demo.example",
        display_name: "Marco Romano",
        password: "demo-incaricato-2026",
    },
    DemoAccount {
        role: Role::VideoManager,
        email: "responsabile.video@demo.example",
        display_name: "Elena Colombo",
        password: "demo-responsabile-2026",
    },
    DemoAccount {
        role: Role::Admin,
        email: "admin@demo.example",
        display_name: "Amministratore Demo",
        password: "demo-admin-2026",
    },
];

pub struct SeededAccount {
    pub role: Role,
    pub email: String,
    pub password: String,
    pub totp_secret: Option<String>,
    pub created: bool,
}

/// Creates what is missing, in one transaction; returns every demo account.
pub async fn seed(state: &AppState) -> AppResult<Vec<SeededAccount>> {
    let now = state.now();
    let actor = Actor::system("seed-demo");
    let mut tx = state.pool.begin().await?;
    let mut out = vec![];
    for a in DEMO_ACCOUNTS {
        let existing = service::find_by_email(&mut tx, a.email).await?;
        let (secret, created) = match existing {
            Some(row) => (row.totp_enabled_at.and(row.totp_secret), false),
            None => {
                // Staff must use a second factor: their TOTP is active from the start.
                let secret = a.role.is_staff().then(totp::new_secret);
                service::create_account(
                    &mut tx,
                    now,
                    &actor,
                    NewAccount {
                        email: a.email,
                        display_name: a.display_name,
                        password: a.password,
                        roles: &[a.role],
                        totp_secret: secret.as_deref(),
                    },
                )
                .await?;
                (secret, true)
            }
        };
        out.push(SeededAccount {
            role: a.role,
            email: a.email.to_string(),
            password: a.password.to_string(),
            totp_secret: secret,
            created,
        });
    }
    tx.commit().await.map_err(AppError::from)?;
    Ok(out)
}
