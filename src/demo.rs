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

// --- demo members -----------------------------------------------------------------------------

use crate::members::MemberData;
use crate::members::cf::{Sex, compute};
use crate::members::demo_people::person;
use crate::members::service::{BulkMember, Entry, bulk_load, create_member, link_user, today};

/// How many members `ordo seed-demo` creates unless told otherwise.
pub const DEFAULT_DEMO_MEMBERS: u64 = 300;

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

const DEGREES: &[(&str, &str)] = &[
    ("LM-23 Ingegneria civile", "civile_ambientale"),
    (
        "LM-35 Ingegneria per l'ambiente e il territorio",
        "civile_ambientale",
    ),
    ("LM-33 Ingegneria meccanica", "industriale"),
    ("LM-28 Ingegneria elettrica", "industriale"),
    ("LM-32 Ingegneria informatica", "informazione"),
    ("LM-29 Ingegneria elettronica", "informazione"),
];
const UNIVERSITIES: &[&str] = &[
    "Università degli Studi di Trieste",
    "Università degli Studi di Udine",
    "Università degli Studi di Padova",
    "Politecnico di Milano",
];

/// The i-th demo member: a realistic engineer, mostly active, some suspended, cancelled or applicants.
pub fn demo_member(i: u64, this_year: i32) -> BulkMember {
    let p = person(i);
    let h = splitmix(i ^ 0xA1B0);
    let (degree, sector) = DEGREES[(h % DEGREES.len() as u64) as usize];
    let mut sectors = vec![sector.to_string()];
    if h % 7 == 0 {
        let other = DEGREES[((h / 7) % DEGREES.len() as u64) as usize].1;
        if other != sector {
            sectors.push(other.to_string());
        }
    }
    sectors.sort();
    let first_year = p.birth_date.year() + 25;
    let span = (this_year - first_year).max(1) as u64;
    let reg_year = (first_year + ((h >> 8) % span) as i32).min(this_year);
    let registered =
        time::Date::from_calendar_date(reg_year, time::Month::March, 1 + ((h >> 16) % 27) as u8).ok();
    let (registered, then) = match i % 50 {
        2 => (None, None),
        0 => (
            registered,
            Some(("suspension", "suspended", "Mancato pagamento della quota")),
        ),
        1 => (
            registered,
            Some((
                "cancellation",
                "cancelled",
                ["resignation", "transfer_out", "death", "arrears"][(h % 4) as usize],
            )),
        ),
        _ => (registered, None),
    };
    BulkMember {
        birth_date: p.birth_date,
        registered,
        then,
        // A third of the demo members show e-mail and phone in the public Albo.
        consents: if i % 3 == 0 {
            vec!["email".into(), "phone".into()]
        } else {
            vec![]
        },
        data: MemberData {
            fiscal_code: p.cf.as_str().to_string(),
            surname: p.surname.clone(),
            name: p.name.clone(),
            sex: match p.sex {
                Sex::M => "M".into(),
                Sex::F => "F".into(),
            },
            birth_date: Some(p.birth_date),
            birth_place: p.birth_place.into(),
            birth_province: p.birth_province.into(),
            citizenship: "italiana".into(),
            residence_address: p.residence_address.clone(),
            residence_cap: p.residence_cap.into(),
            residence_municipality: p.residence_municipality.into(),
            residence_province: p.residence_province.into(),
            domicile_address: p.residence_address.clone(),
            domicile_cap: p.residence_cap.into(),
            domicile_municipality: p.residence_municipality.into(),
            domicile_province: p.residence_province.into(),
            email: p.email.clone(),
            pec: p.pec.clone().unwrap_or_default(),
            phone: p.phone.clone().unwrap_or_default(),
            section: if h % 100 < 85 { "A".into() } else { "B".into() },
            degree_class: degree.into(),
            degree_university: UNIVERSITIES[((h >> 24) % UNIVERSITIES.len() as u64) as usize].into(),
            degree_year: Some(reg_year - 1),
            state_exam_year: Some(reg_year - 1),
            state_exam_seat: "Trieste".into(),
            sectors,
            ..Default::default()
        },
    }
}

/// Demo members 0..n (idempotent: only the missing ones are created), in batches, plus the two
/// members behind the demo member and applicant accounts. Returns how many were created.
pub async fn seed_members(state: &AppState, n: u64) -> AppResult<usize> {
    let now = state.now();
    let actor = Actor::system("seed-demo");
    let this_year = today(now).year();
    let mut created = 0;
    let mut start = 0;
    while start < n {
        let end = (start + 5_000).min(n);
        let rows: Vec<BulkMember> = (start..end).map(|i| demo_member(i, this_year)).collect();
        let mut tx = state.pool.begin().await?;
        created += bulk_load(&mut tx, now, &actor, rows).await?;
        tx.commit().await?;
        start = end;
    }
    created += seed_account_members(state).await?;
    if created > 1_000 {
        // After a bulk load: fresh statistics and visibility map, as a running register would have.
        crate::members::service::vacuum_analyze(&state.pool).await?;
    }
    Ok(created)
}

/// Mario Rossi (member, registered), linked to his demo account. Giulia Bianchi, the demo applicant,
/// has an account and no register entry yet: she presents her application from the portal
/// (`/portale/iscrizione`), as a real applicant does.
async fn seed_account_members(state: &AppState) -> AppResult<usize> {
    let now = state.now();
    let day = today(now);
    let actor = Actor::system("seed-demo");
    let people = [(
        "iscritto@demo.example",
        "Rossi",
        "Mario",
        time::macros::date!(1980 - 04 - 12),
        Sex::M,
        true,
    )];
    let mut created = 0;
    let mut tx = state.pool.begin().await?;
    for (email, surname, name, birth, sex, registered) in people {
        let Some(user) = service::find_by_email(&mut tx, email).await? else {
            continue;
        };
        let cf = compute(surname, name, birth, sex, "L424").map_err(|e| AppError::internal(e.message()))?;
        let data = MemberData {
            fiscal_code: cf.as_str().into(),
            surname: surname.into(),
            name: name.into(),
            sex: if sex == Sex::M { "M".into() } else { "F".into() },
            birth_date: Some(birth),
            birth_place: "Trieste".into(),
            birth_province: "TS".into(),
            residence_address: "Via Giosuè Carducci 14".into(),
            residence_cap: "34122".into(),
            residence_municipality: "Trieste".into(),
            residence_province: "TS".into(),
            domicile_address: "Piazza della Borsa 3".into(),
            domicile_cap: "34121".into(),
            domicile_municipality: "Trieste".into(),
            domicile_province: "TS".into(),
            email: email.into(),
            pec: format!("{}.{}@ingpec.eu", name.to_lowercase(), surname.to_lowercase()),
            phone: "+39 040 1234567".into(),
            section: "A".into(),
            sectors: vec!["civile_ambientale".into()],
            degree_class: "LM-23 Ingegneria civile".into(),
            degree_university: "Università degli Studi di Trieste".into(),
            degree_year: Some(if registered { 2005 } else { 2024 }),
            state_exam_year: Some(if registered { 2006 } else { 2025 }),
            state_exam_seat: "Trieste".into(),
            ..Default::default()
        };
        let mut probe = state.pool.acquire().await?;
        let exists = crate::members::service::id_by_fiscal_code(&mut probe, cf.as_str()).await?;
        drop(probe);
        if exists.is_some() {
            continue;
        }
        let entry = if registered {
            Entry::Registered {
                date: time::macros::date!(2006 - 06 - 15),
                resolution_number: "18/2006",
            }
        } else {
            Entry::Application
        };
        let id = create_member(&mut tx, &state.config.albo, now, day, &actor, data, entry).await?;
        link_user(&mut tx, id, user.id).await?;
        created += 1;
    }
    tx.commit().await?;
    Ok(created)
}

// --- demo ledger ------------------------------------------------------------------------------

/// The demo year's journal (seed 004's titles, the budget, variations and a year of operations).
pub const DEMO_LEDGER: &[u8] = include_bytes!("../demo/ledger-2026.csv");

/// Applies the demo year's journal as the demo treasurer, once: a second run finds it applied and
/// writes nothing. Returns what happened, for `ordo seed-demo` to print; a journal refused by a
/// ledger already kept by hand (e.g. the year exists) is reported, not an error.
pub async fn seed_ledger(state: &AppState) -> AppResult<String> {
    use crate::ledger::journal::{self, JournalError, Mode, Operator};
    let email = "tesoriere@demo.example";
    let mut conn = state.pool.acquire().await?;
    let treasurer = service::find_by_email(&mut conn, email)
        .await?
        .ok_or_else(|| AppError::internal("the demo treasurer is missing"))?;
    drop(conn);
    let operator = Operator {
        id: treasurer.id,
        email: treasurer.email,
    };
    let name = "demo/ledger-2026.csv";
    Ok(
        match journal::apply(state, &operator, name, DEMO_LEDGER, Mode::Atomic).await {
            Ok(o) if o.refusals.is_empty() => {
                format!("Demo ledger: {name} applied ({} rows).", o.applied)
            }
            Ok(o) => format!(
                "Demo ledger: {name} not applied, {} rows refused (first: riga {}: {}).",
                o.refusals.len(),
                o.refusals.first().map(|r| r.line).unwrap_or_default(),
                o.refusals.first().map(|r| r.message.as_str()).unwrap_or_default()
            ),
            Err(JournalError::AlreadyApplied(_)) => format!("Demo ledger: {name} already applied."),
            Err(JournalError::File(m)) => return Err(AppError::internal(m)),
            Err(JournalError::App(e)) => return Err(e),
        },
    )
}

/// What `ordo seed-demo` adds after the accounts and members: this year's annual fees, the demo
/// ledger year, the demo cameras (seed 002). Returns the lines to print.
pub async fn seed_registers(state: &AppState) -> Result<Vec<String>, String> {
    let year = crate::format::rome_year(state.now());
    let actor = crate::audit::Actor::system("seed-demo");
    let fees = crate::payments::service::generate_annual_fees(state, &actor, year)
        .await
        .map_err(|e| format!("seed-demo annual fees: {e:?}"))?;
    let ledger = seed_ledger(state)
        .await
        .map_err(|e| format!("seed-demo ledger: {e:?}"))?;
    let cameras = crate::video::demo::seed(state)
        .await
        .map_err(|e| format!("seed-demo cameras: {e:?}"))?;
    Ok(vec![
        format!("{fees} annual fee positions {year} created (pagoPA notices in the portal)."),
        ledger,
        format!("video-surveillance systems (seed 002): {}", cameras.counts_line()),
    ])
}
