//! The `ordo` binary: commands and start-up errors that operators and scripts rely on.

use std::io::Write;
use std::process::{Command, Stdio};

use sqlx::PgPool;

/// The URL of the per-test database, for child processes.
pub async fn database_url(pool: &PgPool) -> String {
    let name: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(pool)
        .await
        .unwrap();
    let mut url = url::Url::parse(&std::env::var("DATABASE_URL").unwrap()).unwrap();
    url.set_path(&name);
    url.to_string()
}

pub fn ordo(db: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ordo"))
        .args(args)
        .env("DATABASE_URL", db)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

#[sqlx::test]
async fn seed_demo_then_audit_verify_passes_and_fails_after_tampering(pool: PgPool) {
    let db = database_url(&pool).await;
    let out = ordo(&db, &["seed-demo"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    for email in [
        "admin@demo.example",
        "segreteria@demo.example",
        "iscritto@demo.example",
        "revisore@demo.example",
    ] {
        assert!(text.contains(email), "{email} not printed: {text}");
    }
    assert!(text.contains("demo-admin-2026"));
    assert!(text.contains("301 demo members created"), "{text}");
    assert!(
        text.contains("Demo ledger: demo/ledger-2026.csv applied"),
        "{text}"
    );
    let out = ordo(&db, &["seed-demo"]);
    let again = String::from_utf8_lossy(&out.stdout);
    assert!(
        again.contains("0 accounts created, 10 already present"),
        "{again}"
    );
    assert!(again.contains("0 demo members created"), "{again}");
    assert!(
        again.contains("Demo ledger: demo/ledger-2026.csv already applied"),
        "{again}"
    );
    let (active, applicants, linked): (i64, i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE status = 'active'), count(*) FILTER (WHERE status = 'applicant'),
                count(user_id) FROM members",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(
        active > 250 && applicants >= 6,
        "{active} active, {applicants} applicants"
    );
    assert_eq!(
        linked, 1,
        "the demo member has his register entry; the demo applicant applies from the portal"
    );
    let fees: i64 = sqlx::query_scalar("SELECT count(*) FROM payment_positions WHERE kind = 'annual_fee'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(fees, active, "seed-demo asks every active member the annual fee");

    let out = ordo(&db, &["audit", "verify"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("audit log intact"));

    let mut conn = pool.acquire().await.unwrap();
    sqlx::query("SET session_replication_role = replica")
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query("UPDATE audit_log SET actor_label = 'intruso' WHERE seq = 7")
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    let out = ordo(&db, &["audit", "verify"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("BROKEN at entry 7"), "{stdout}");
}

#[sqlx::test]
async fn create_admin_reads_the_password_from_stdin(pool: PgPool) {
    let db = database_url(&pool).await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_ordo"))
        .args([
            "create-admin",
            "--email",
            "capo@example.org",
            "--name",
            "Capo",
            "--password-stdin",
        ])
        .env("DATABASE_URL", &db)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"password da terminale\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let roles: Vec<String> = sqlx::query_scalar(
        "SELECT r.role FROM user_roles r JOIN users u ON u.id = r.user_id WHERE u.email = 'capo@example.org'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(roles, vec!["admin"]);
    // The same address again: a clear message and a non-zero exit.
    let out = ordo(&db, &["create-admin", "--email", "capo@example.org"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Esiste già"));

    // With a codice fiscale (SPID/CIE/CNS login); a malformed one is refused and nothing is made.
    let out = ordo(
        &db,
        &[
            "create-admin",
            "--email",
            "vice@example.org",
            "--fiscal-code",
            "frrgli85m41l424x",
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let cf: Option<String> =
        sqlx::query_scalar("SELECT fiscal_code FROM users WHERE email = 'vice@example.org'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(cf.as_deref(), Some("FRRGLI85M41L424X"));
    let out = ordo(
        &db,
        &[
            "create-admin",
            "--email",
            "terzo@example.org",
            "--fiscal-code",
            "XYZ",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("16 caratteri"));
    let made: i64 = sqlx::query_scalar("SELECT count(*) FROM users WHERE email = 'terzo@example.org'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(made, 0, "one transaction: no account without its codice fiscale");
}

#[test]
fn a_wrong_or_missing_setting_stops_the_start_with_one_line_naming_it() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[], "database.url"),
        (
            &[
                ("DATABASE_URL", "postgres://x@127.0.0.1:1/x"),
                ("ORDO_BIND", "not-an-address"),
            ],
            "`bind`",
        ),
        (
            &[
                ("DATABASE_URL", "postgres://x@127.0.0.1:1/x"),
                ("ORDO_SMTP_PORT", "venticinque"),
            ],
            "smtp.port",
        ),
        (&[("DATABASE_URL", "mysql://x@h/d")], "database.url"),
    ];
    for (env, setting) in cases {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ordo"));
        cmd.arg("serve").env_remove("DATABASE_URL");
        for (k, v) in *env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{env:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
        assert!(stderr.contains(setting), "{setting} not named: {stderr}");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_ordo"))
        .args(["--config", "/nonexistent.toml", "migrate"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `url` with curl until it answers 200 (or gives up after ~20 s); returns curl's output.
fn wait_until_up(url: &str) -> String {
    for _ in 0..200 {
        let out = Command::new("curl")
            .args(["-sk", "-D", "-", "--max-time", "2", url])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if text.starts_with("HTTP/") && text.contains(" 200") {
            return text;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("{url} never answered 200");
}

fn sigterm(child: &std::process::Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[sqlx::test]
async fn serve_terminates_tls_and_stops_gracefully_on_sigterm(pool: PgPool) {
    let db = database_url(&pool).await;
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
        ])
        .args(["-addext", "subjectAltName=IP:127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_ordo"))
        .arg("serve")
        .env("DATABASE_URL", &db)
        .env("ORDO_BIND", format!("127.0.0.1:{port}"))
        .env("ORDO_BASE_URL", format!("https://127.0.0.1:{port}"))
        .env("ORDO_TLS_CERT_PATH", &cert)
        .env("ORDO_TLS_KEY_PATH", &key)
        .env("ORDO_LOG_FORMAT", "json")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let head =
        tokio::task::spawn_blocking(move || wait_until_up(&format!("https://127.0.0.1:{port}/healthz")))
            .await
            .unwrap();
    assert!(
        head.to_ascii_lowercase()
            .contains("strict-transport-security: max-age="),
        "{head}"
    );
    sigterm(&child);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "graceful exit");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.lines().all(|l| l.starts_with('{')), "JSON log lines: {log}");
    assert!(
        log.contains("ordo listening (HTTPS)") && log.contains("ordo stopped"),
        "{log}"
    );
}
