//! CSV imports: the files real users produce (Excel's Windows-1252 with `;`, UTF-8 with BOM, quoted
//! newlines, bad rows, wrong headers, empty and binary files), atomic and valid-only commits, re-import
//! changing nothing, protected fields, legacy protocol entries, a killed import, and the web screen.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use axum::http::StatusCode;
use ordo::auth::Role;
use ordo::members::cf::{Sex, compute};
use sqlx::PgPool;
use time::macros::date;

use crate::cli::database_url;
use crate::helpers::{PASSWORD, TestApp};

fn ordo(db: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ordo"))
        .args(args)
        .env("DATABASE_URL", db)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

fn out(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A person with a codice fiscale that matches the name, birth date and sex (born in Trieste).
fn cf(surname: &str, name: &str, born: time::Date, sex: Sex) -> String {
    compute(surname, name, born, sex, "L424")
        .unwrap()
        .as_str()
        .to_string()
}

/// Everything in the register, as text: equal before and after means nothing was written.
async fn fingerprint(pool: &PgPool) -> String {
    sqlx::query_scalar(
        "SELECT concat_ws('|',
            (SELECT md5(coalesce(string_agg(m::text, ',' ORDER BY id), '')) FROM members m),
            (SELECT md5(coalesce(string_agg(e::text, ',' ORDER BY id), '')) FROM member_status_events e),
            (SELECT md5(coalesce(string_agg(s::text, ',' ORDER BY member_id, sector_code), '')) FROM member_sectors s),
            (SELECT last_number::text FROM registration_counter),
            (SELECT count(*)::text FROM protocol_legacy_entries))",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p.to_str().unwrap().to_string()
}

#[sqlx::test]
async fn an_excel_windows_1252_file_with_accented_names_is_imported(pool: PgPool) {
    let db = database_url(&pool).await;
    let dir = tempfile::tempdir().unwrap();
    let a = cf("Pellà", "Nicolò", date!(1980 - 05 - 12), Sex::M);
    let b = cf("D'Àngelo", "Zoë", date!(1975 - 11 - 03), Sex::F);
    let text = format!(
        "Codice Fiscale;Cognome;Nome;Luogo di nascita;Sezione;N. Iscrizione;Data iscrizione;Stato;Data stato;Motivo;E-mail\r\n\
         {a};Pellà;Nicolò;Trieste;A;1201;03/07/2008;Iscritto;;;nicolo.pella@example.org\r\n\
         {b};D'Àngelo;Zoë;Trieste;A;1202;2001-02-01;Cancellato;31/12/2020;Morosità;\r\n"
    );
    let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(&text);
    assert!(!unmappable);
    assert!(bytes.contains(&0xE0), "à is one byte in Windows-1252");
    let file = write(dir.path(), "iscritti.csv", &bytes);
    let o = ordo(&db, &["import", "members", &file]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert!(out(&o).contains("Windows-1252"), "{}", out(&o));
    assert!(
        out(&o).contains("2 righe: 2 nuove, 0 aggiornate, 0 invariate, 0 scartate"),
        "{}",
        out(&o)
    );
    let (surname, name, status, number): (String, String, String, i32) = sqlx::query_as(
        "SELECT surname, name, status, registration_number FROM members WHERE fiscal_code = $1",
    )
    .bind(&b)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        (surname.as_str(), name.as_str(), status.as_str(), number),
        ("D'Àngelo", "Zoë", "cancelled", 1202)
    );
    // The history: application, registration, cancellation with its reason.
    let events: Vec<(String, String)> = sqlx::query_as(
        "SELECT e.kind, e.reason FROM member_status_events e JOIN members m ON m.id = e.member_id
         WHERE m.fiscal_code = $1 ORDER BY e.id",
    )
    .bind(&b)
    .fetch_all(&pool)
    .await
    .unwrap();
    let kinds: Vec<&str> = events.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(kinds, ["registration", "cancellation"]);
    assert_eq!(events[1].1, "arrears");
    // New registrations continue after the imported numbers.
    assert_eq!(
        count(&pool, "SELECT last_number::BIGINT FROM registration_counter").await,
        1202
    );
    // The import is in the audit log with its file, hash, mode and counts; the chain holds.
    let details: String = sqlx::query_scalar("SELECT details FROM audit_log WHERE action = 'import.run'")
        .fetch_one(&pool)
        .await
        .unwrap();
    let sha = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&bytes))
    };
    for want in [
        &format!("\"sha256\":\"{sha}\""),
        "\"mode\":\"atomic\"",
        "\"new\":2",
        "\"file_name\":\"iscritti.csv\"",
    ] {
        assert!(details.contains(want), "{want} not in {details}");
    }
    assert!(out(&ordo(&db, &["audit", "verify"])).contains("audit log intact"));
}

#[sqlx::test]
async fn utf8_with_bom_commas_quoted_newlines_and_excel_dates(pool: PgPool) {
    let db = database_url(&pool).await;
    let dir = tempfile::tempdir().unwrap();
    let a = cf("Rossi", "Maria", date!(1985 - 07 - 03), Sex::F);
    let b = cf("Bianchi", "Luca", date!(1990 - 01 - 20), Sex::M);
    // Excel serial 31231 is 03/07/1985; spaces around values; an empty line; an address over two lines.
    let text = format!(
        "\u{feff}fiscal code,surname,first name,date of birth,birth place,section,registration number,registration date,address,sectors\n\
         {a} , Rossi ,Maria,31231,Trieste,A,7,2012-03-01,\"Via Roma 1\nScala B\",\"civile e ambientale, industriale\"\n\
         \n\
         {b},Bianchi,Luca,20/01/1990,Trieste,B,8,01/03/2016,Piazza Unità 4,\n"
    );
    let file = write(dir.path(), "members.csv", text.as_bytes());
    let o = ordo(&db, &["import", "members", &file]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert!(out(&o).contains("2 righe: 2 nuove"), "{}", out(&o));
    let (address, birth, sectors): (String, time::Date, Vec<String>) =
        sqlx::query_as("SELECT residence_address, birth_date, sectors FROM members WHERE fiscal_code = $1")
            .bind(&a)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(address, "Via Roma 1\nScala B");
    assert_eq!(birth, date!(1985 - 07 - 03));
    assert_eq!(sectors.len(), 2, "{sectors:?}");

    // Acceptance 2: the same file again changes nothing and says so.
    let before = fingerprint(&pool).await;
    let o = ordo(&db, &["import", "members", &file]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert!(
        out(&o).contains("2 righe: 0 nuove, 0 aggiornate, 2 invariate, 0 scartate"),
        "{}",
        out(&o)
    );
    assert_eq!(fingerprint(&pool).await, before);
}

/// 1,000 rows from the sample generator, 3 of them broken.
fn thousand_with_three_bad(db: &str, dir: &Path) -> String {
    let file = dir.join("mille.csv");
    let o = ordo(
        db,
        &["import", "sample", file.to_str().unwrap(), "--rows", "1000"],
    );
    assert!(o.status.success(), "{}", out(&o));
    let text = String::from_utf8(std::fs::read(&file).unwrap()).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    assert_eq!(lines.len(), 1001);
    // Line 11: a wrong check character; line 501: a date that does not exist; line 1001: unknown section.
    let mut cells: Vec<String> = lines[10].split(';').map(str::to_string).collect();
    let cf = &mut cells[0];
    let last = if cf.ends_with('A') { 'B' } else { 'A' };
    cf.pop();
    cf.push(last);
    lines[10] = cells.join(";");
    let mut cells: Vec<String> = lines[500].split(';').map(str::to_string).collect();
    cells[4] = "31/02/1980".into();
    lines[500] = cells.join(";");
    let mut cells: Vec<String> = lines[1000].split(';').map(str::to_string).collect();
    cells[7] = "Z".into();
    lines[1000] = cells.join(";");
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    file.to_str().unwrap().to_string()
}

#[sqlx::test]
async fn three_bad_rows_in_a_thousand_atomic_refuses_valid_only_keeps_997(pool: PgPool) {
    let db = database_url(&pool).await;
    let dir = tempfile::tempdir().unwrap();
    let file = thousand_with_three_bad(&db, dir.path());
    let before = fingerprint(&pool).await;

    let dry = ordo(&db, &["import", "members", &file, "--dry-run"]);
    assert_eq!(dry.status.code(), Some(1), "{}", out(&dry));
    assert!(
        out(&dry).contains("1000 righe: 997 nuove, 0 aggiornate, 0 invariate, 3 scartate"),
        "{}",
        out(&dry)
    );
    assert_eq!(fingerprint(&pool).await, before);

    let atomic = ordo(&db, &["import", "members", &file]);
    assert_eq!(atomic.status.code(), Some(1), "{}", out(&atomic));
    let text = out(&atomic);
    assert!(text.contains("Importazione rifiutata"), "{text}");
    assert!(text.contains("riga 11, colonna «Codice fiscale»"), "{text}");
    assert!(
        text.contains("riga 501, colonna «Data di nascita»: «31/02/1980»: questa data non esiste."),
        "{text}"
    );
    assert!(
        text.contains("riga 1001, colonna «Sezione»: sezione «Z» sconosciuta"),
        "{text}"
    );
    assert_eq!(
        fingerprint(&pool).await,
        before,
        "an atomic import with bad rows writes nothing"
    );
    let rejected_path = dir.path().join("mille.scartate.csv");
    let mut r = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_path(&rejected_path)
        .unwrap();
    assert_eq!(r.records().count(), 3);

    let valid = ordo(
        &db,
        &[
            "import",
            "members",
            &file,
            "--valid-only",
            "--rejected",
            dir.path().join("out.csv").to_str().unwrap(),
        ],
    );
    assert_eq!(valid.status.code(), Some(0), "{}", out(&valid));
    assert!(out(&valid).contains("997 nuove"), "{}", out(&valid));
    assert_eq!(count(&pool, "SELECT count(*) FROM members").await, 997);
    let rejected = std::fs::read_to_string(dir.path().join("out.csv")).unwrap();
    let mut r = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_reader(rejected.trim_start_matches('\u{feff}').as_bytes());
    let header = r.headers().unwrap().clone();
    assert_eq!(&header[header.len() - 2], "Riga del file");
    let lines: Vec<String> = r
        .records()
        .map(|x| x.unwrap()[header.len() - 2].to_string())
        .collect();
    assert_eq!(lines, ["11", "501", "1001"]);

    // The same file again: the 997 are unchanged, nothing is written.
    let before = fingerprint(&pool).await;
    let again = ordo(&db, &["import", "members", &file, "--valid-only"]);
    assert!(
        out(&again).contains("0 nuove, 0 aggiornate, 997 invariate, 3 scartate"),
        "{}",
        out(&again)
    );
    assert_eq!(fingerprint(&pool).await, before);
}

#[sqlx::test]
async fn files_that_cannot_be_imported_get_a_precise_message(pool: PgPool) {
    let db = database_url(&pool).await;
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&str, &[u8], &str)] = &[
        ("vuoto.csv", b"", "Il file è vuoto."),
        (
            "intestazione.csv",
            b"Codice fiscale;Cognome;Nome\n",
            "solo l'intestazione",
        ),
        (
            "sbagliato.csv",
            b"Nominativo;Indirizzo;Telefono\nMario Rossi;Via Roma 1;040 123\n",
            "mancano le colonne obbligatorie «Codice fiscale», «Cognome», «Nome», «Luogo di nascita», «Sezione»",
        ),
        (
            "foglio.csv",
            b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00[Content_Types].xml",
            "non è un CSV",
        ),
        (
            "immagine.csv",
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
            "non è un CSV",
        ),
    ];
    for (name, bytes, message) in cases {
        let file = write(dir.path(), name, bytes);
        let o = ordo(&db, &["import", "members", &file]);
        assert_eq!(o.status.code(), Some(2), "{name}: {}", out(&o));
        assert!(out(&o).contains(message), "{name}: {}", out(&o));
    }
    let o = ordo(
        &db,
        &[
            "import",
            "members",
            dir.path().join("assente.csv").to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    assert_eq!(count(&pool, "SELECT count(*) FROM members").await, 0);
}

#[sqlx::test]
async fn duplicates_and_protected_fields_are_reported_and_contacts_updated(pool: PgPool) {
    let db = database_url(&pool).await;
    let dir = tempfile::tempdir().unwrap();
    let a = cf("Verdi", "Anna", date!(1970 - 02 - 02), Sex::F);
    let b = cf("Neri", "Paolo", date!(1972 - 03 - 03), Sex::M);
    let head = "Codice fiscale;Cognome;Nome;Luogo di nascita;Sezione;Numero di iscrizione;Data di iscrizione;E-mail\n";
    let first = format!(
        "{head}{a};Verdi;Anna;Trieste;A;10;01/01/2000;anna@example.org\n{b};Neri;Paolo;Trieste;A;11;01/01/2001;\n"
    );
    let o = ordo(
        &db,
        &["import", "members", &write(dir.path(), "a.csv", first.as_bytes())],
    );
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));

    // A new e-mail is applied; a different registration number is reported, not applied; a codice
    // fiscale twice in the file is reported on its second line; another's number is refused.
    let c = cf("Gialli", "Rita", date!(1980 - 04 - 04), Sex::F);
    let second = format!(
        "{head}{a};Verdi;Anna;Trieste;A;10;01/01/2000;anna.verdi@example.org\n\
         {b};Neri;Paolo;Trieste;A;99;01/01/2001;\n\
         {a};Verdi;Anna;Trieste;A;10;01/01/2000;\n\
         {c};Gialli;Rita;Trieste;A;11;01/01/2010;\n"
    );
    let file = write(dir.path(), "b.csv", second.as_bytes());
    let o = ordo(&db, &["import", "members", &file, "--valid-only"]);
    let text = out(&o);
    assert!(
        text.contains("4 righe: 0 nuove, 1 aggiornate, 0 invariate, 3 scartate"),
        "{text}"
    );
    assert!(
        text.contains("riga 3, colonna «Numero di iscrizione»: nell'Albo è «11», nel file «99»"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "riga 4, colonna «Codice fiscale»: «{a}» è ripetuto nel file: compare già alla riga 2."
        )),
        "{text}"
    );
    assert!(text.contains(&format!("riga 5, colonna «Numero di iscrizione»: il numero di iscrizione 11 è già di un altro iscritto (codice fiscale {b})")), "{text}");
    // Messages come in the order of the file.
    assert!(text.find("riga 3,") < text.find("riga 4,"), "{text}");
    let (email, number): (String, i32) =
        sqlx::query_as("SELECT email, registration_number FROM members WHERE fiscal_code = $1")
            .bind(&a)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!((email.as_str(), number), ("anna.verdi@example.org", 10));
    assert_eq!(
        count(
            &pool,
            "SELECT registration_number::BIGINT FROM members WHERE surname = 'Neri'"
        )
        .await,
        11
    );
}

#[sqlx::test]
async fn legacy_protocol_entries_keep_their_numbers_and_never_change(pool: PgPool) {
    let db = database_url(&pool).await;
    let dir = tempfile::tempdir().unwrap();
    let text = "Anno;Numero;Data registrazione;Tipo;Mittente/Destinatario;Oggetto;Classifica\n\
                2023;784;01/08/2023;U;Ordine degli Ingegneri di Trieste;Convocazione del Consiglio;1.2\n\
                2023;0000785;02/08/2023;E;Comune di Trieste;Richiesta di parere;7.1\n";
    let file = write(dir.path(), "protocollo.csv", text.as_bytes());
    let o = ordo(&db, &["import", "protocol", &file]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert!(out(&o).contains("2 righe: 2 nuove"), "{}", out(&o));
    let (register, number, direction): (String, i32, String) =
        sqlx::query_as("SELECT register, number, direction FROM protocol_legacy_entries WHERE number = 784")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        (register.as_str(), number, direction.as_str()),
        ("PREGRESSO", 784, "out")
    );
    // ordo's own numbering is untouched.
    assert_eq!(count(&pool, "SELECT count(*) FROM protocol_counters").await, 0);
    let o = ordo(&db, &["import", "protocol", &file]);
    assert!(out(&o).contains("2 invariate"), "{}", out(&o));
    let changed = text.replace("Richiesta di parere", "Richiesta di parere urgente");
    let o = ordo(
        &db,
        &[
            "import",
            "protocol",
            &write(dir.path(), "p2.csv", changed.as_bytes()),
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(
        out(&o).contains("già stata importata con dati diversi"),
        "{}",
        out(&o)
    );
    let err = sqlx::query("UPDATE protocol_legacy_entries SET subject = 'x'")
        .execute(&pool)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("append-only"), "{err}");

    // The back office lists them.
    let app = TestApp::new(pool.clone()).await;
    let secret = app
        .create_user("segreteria@example.org", &[Role::Secretariat], true)
        .await;
    let mut b = app.fresh_browser();
    b.login("segreteria@example.org", PASSWORD, secret.as_deref())
        .await;
    let page = b
        .get("/backoffice/protocollo/pregresso?anno=2023&testo=consiglio")
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let rows = page.texts("#legacy-table tbody tr");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0].contains("PREGRESSO 2023/0000784"), "{rows:?}");
}

#[sqlx::test]
async fn killing_an_atomic_import_midway_leaves_the_register_as_it_was(pool: PgPool) {
    let db = database_url(&pool).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("grande.csv");
    let o = ordo(
        &db,
        &["import", "sample", file.to_str().unwrap(), "--rows", "30000"],
    );
    assert!(o.status.success(), "{}", out(&o));
    let before = fingerprint(&pool).await;
    let audit_before = count(&pool, "SELECT count(*) FROM audit_log").await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_ordo"))
        .args(["import", "members", file.to_str().unwrap()])
        .env("DATABASE_URL", &db)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the import is writing (some batches done, not all), then kill it without warning.
    let mut seen = 0;
    for _ in 0..600 {
        seen = count(
            &pool,
            "SELECT coalesce(max(processed_rows), 0)::BIGINT FROM import_jobs WHERE state = 'running'",
        )
        .await;
        if seen >= 2000 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        (2000..30000).contains(&seen),
        "caught the import midway: {seen} rows"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        fingerprint(&pool).await,
        before,
        "nothing of the killed import remains"
    );
    assert_eq!(count(&pool, "SELECT count(*) FROM audit_log").await, audit_before);
    // The job is recognised as interrupted (its lock died with the process), once PostgreSQL has
    // noticed the dead client and ended its session: that takes a moment after the kill.
    let mut reaped = 0;
    for _ in 0..100 {
        reaped = ordo::import::jobs::reap(
            &pool,
            time::OffsetDateTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
        )
        .await
        .unwrap();
        if reaped > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(reaped, 1);
    let state: String = sqlx::query_scalar("SELECT state FROM import_jobs")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(state, "interrupted");
}

async fn admin(app: &TestApp) -> TestApp {
    let secret = app.create_user("admin@example.org", &[Role::Admin], true).await;
    let mut b = app.fresh_browser();
    b.login("admin@example.org", PASSWORD, secret.as_deref()).await;
    b
}

async fn wait_for_job(pool: &PgPool, id: i64) -> String {
    for _ in 0..500 {
        let state: String = sqlx::query_scalar("SELECT state FROM import_jobs WHERE id = $1")
            .bind(id)
            .fetch_one(pool)
            .await
            .unwrap();
        if !matches!(state.as_str(), "queued" | "running") {
            return state;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("import {id} did not finish");
}

#[sqlx::test]
async fn the_import_screen_maps_previews_tries_and_commits(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let mut b = admin(&app).await;
    let page = b.get("/backoffice/import").await;
    assert_eq!(page.status, StatusCode::OK);

    // Bad files are answered on the page, never with a 500.
    for (name, bytes, message) in [
        ("vuoto.csv", b"".to_vec(), "Il file è vuoto."),
        (
            "foto.csv",
            b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00".to_vec(),
            "non è un CSV",
        ),
    ] {
        b.get("/backoffice/import").await;
        let r = b
            .multipart(
                "/backoffice/import",
                &[("kind", "members")],
                &[("file", name, bytes)],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{name}");
        assert!(
            r.texts("#import-error")[0].contains(message),
            "{name}: {:?}",
            r.texts("#import-error")
        );
    }

    let a = cf("Pellà", "Nicolò", date!(1980 - 05 - 12), Sex::M);
    let z = cf("Zorzi", "Ugo", date!(1966 - 06 - 06), Sex::M);
    // "Cognome e nome" is not recognised: the administrator maps it by hand.
    let text = format!(
        "CF;Cognome e nome;Nome;Nato a;Sezione;Matricola;Iscritto dal\n\
         {a};Pellà;Nicolò;Trieste;A;501;01/02/2010\n\
         {z};Zorzi;Ugo;Trieste;A;502;31/02/2010\n"
    );
    let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(&text);
    b.get("/backoffice/import").await;
    let r = b
        .multipart(
            "/backoffice/import",
            &[("kind", "members")],
            &[("file", "iscritti.csv", bytes.to_vec())],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let job_url = r.location().unwrap().to_string();
    let id: i64 = job_url.rsplit('/').next().unwrap().parse().unwrap();
    let page = b.get(&job_url).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.texts("#import-encoding")[0].contains("Windows-1252"));
    assert!(page.texts("#import-delimiter")[0].contains("punto e virgola"));
    assert!(
        page.texts("#mapping-problem")[0].contains("«Cognome»"),
        "{:?}",
        page.texts("#mapping-problem")
    );
    assert!(!page.has("#run-form"), "no run before the mapping is complete");

    let fields: Vec<(String, String)> = ordo::import::KindName::Members
        .fields()
        .iter()
        .map(|f| {
            let col = match f.key {
                "fiscal_code" => "0",
                "surname" => "1",
                "name" => "2",
                "birth_place" => "3",
                "section" => "4",
                "registration_number" => "5",
                "registration_date" => "6",
                _ => "",
            };
            (format!("col_{}", f.key), col.to_string())
        })
        .collect();
    let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = b.post(&format!("/backoffice/import/{id}/mappatura"), &refs).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = b.get(&job_url).await;
    assert!(!page.has("#mapping-problem"));
    let preview = page.texts("#preview-table tbody tr");
    assert_eq!(preview.len(), 2, "{preview:?}");
    assert!(
        preview[0].contains("Pellà") && preview[0].contains("12/05/1980"),
        "{preview:?}"
    );
    assert!(
        preview[1].contains("Riga non valida") && preview[1].contains("31/02/2010"),
        "{preview:?}"
    );

    // Dry run: counts, nothing written.
    let r = b
        .post(&format!("/backoffice/import/{id}/avvia"), &[("mode", "dry_run")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(wait_for_job(&pool, id).await, "done");
    let page = b.get(&job_url).await;
    assert!(
        page.texts("#import-counts")[0].contains("2 righe: 1 nuove, 0 aggiornate, 0 invariate, 1 scartate")
    );
    assert!(page.texts("#import-errors tbody tr")[0].contains("Iscritto dal"));
    assert_eq!(count(&pool, "SELECT count(*) FROM members").await, 0);

    // Atomic: refused, nothing written.
    b.post(&format!("/backoffice/import/{id}/avvia"), &[("mode", "atomic")])
        .await;
    assert_eq!(wait_for_job(&pool, id).await, "refused");
    assert_eq!(count(&pool, "SELECT count(*) FROM members").await, 0);

    // Valid rows only: one member, the other row downloadable with its reason.
    b.get(&job_url).await;
    b.post(
        &format!("/backoffice/import/{id}/avvia"),
        &[("mode", "valid_only")],
    )
    .await;
    assert_eq!(wait_for_job(&pool, id).await, "done");
    assert_eq!(count(&pool, "SELECT count(*) FROM members").await, 1);
    let csv = b.get(&format!("/backoffice/import/{id}/scartate.csv")).await;
    assert_eq!(csv.status, StatusCode::OK);
    let text = csv.body.clone();
    assert!(
        text.contains("Zorzi") && text.contains("questa data non esiste"),
        "{text}"
    );
    // The uploaded file is deleted once imported; a committed job does not run again.
    let kept: Option<Vec<u8>> = sqlx::query_scalar("SELECT content FROM import_jobs WHERE id = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(kept.is_none());
    let page = b.get(&job_url).await;
    assert!(!page.has("#run-form"));
    let r = b
        .post(&format!("/backoffice/import/{id}/avvia"), &[("mode", "atomic")])
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let status = b.get(&format!("/backoffice/import/{id}/stato")).await;
    assert!(status.body.contains("\"processed\":2"), "{}", status.body);

    // The template file has every column, and imports as a file with only a header would: refused.
    let template = b.get("/backoffice/import/modello/members.csv").await;
    assert_eq!(template.status, StatusCode::OK);
    assert!(
        template.body.starts_with("\u{feff}Codice fiscale;Cognome;Nome;"),
        "{}",
        template.body
    );
    let prepared =
        ordo::import::service::prepare(ordo::import::KindName::Members, || Ok(template.body.as_bytes()));
    assert!(matches!(prepared, Err(ordo::import::text::FileError::HeaderOnly)));
    let headers: Vec<String> = template
        .body
        .trim_start_matches('\u{feff}')
        .trim()
        .split(';')
        .map(str::to_string)
        .collect();
    let auto = ordo::import::columns::auto_map(ordo::import::KindName::Members.fields(), &headers);
    assert_eq!(
        auto.len(),
        ordo::import::KindName::Members.fields().len(),
        "every column recognised"
    );
    assert_eq!(
        b.get("/backoffice/import/modello/altro.csv").await.status,
        StatusCode::NOT_FOUND
    );

    // Only administrators import.
    let secret = app
        .create_user("segreteria@example.org", &[Role::Secretariat], true)
        .await;
    let mut s = app.fresh_browser();
    s.login("segreteria@example.org", PASSWORD, secret.as_deref())
        .await;
    assert_eq!(s.get("/backoffice/import").await.status, StatusCode::FORBIDDEN);
    assert_eq!(s.get(&job_url).await.status, StatusCode::FORBIDDEN);
}
