//! pagoPA: positions and notices (QR code decoded by zbar), the reconciliation import (idempotent,
//! refusals with reasons), the annual fees with their reductions, and the arrears.

use axum::http::StatusCode;
use ordo::members::cf::Sex;
use ordo::members::service::Entry;
use time::macros::date;

use crate::helpers::TestApp;
use crate::members::{add, data};
use crate::requests::{member, staff};
use crate::{pdf_qr_codes, pdf_text};

/// A reconciliation file as the intermediary exports it.
pub fn reconciliation(rows: &[(&str, &str, &str)]) -> Vec<u8> {
    let mut csv = String::from("\u{feff}codice_avviso;importo;data_pagamento;id_ricevuta;psp\n");
    for (notice, amount, receipt) in rows {
        csv.push_str(&format!(
            "{notice};{amount};2026-11-20 10:15;{receipt};Banca di Prova\n"
        ));
    }
    csv.into_bytes()
}

pub async fn positions_of(app: &TestApp, member_id: i64) -> Vec<(i64, String, String, bool)> {
    sqlx::query_as::<_, (i64, String, String, bool)>(
        "SELECT p.id, p.notice_code, p.amount::text, r.id IS NOT NULL FROM payment_positions p
         LEFT JOIN payment_receipts r ON r.position_id = p.id WHERE p.member_id = $1 ORDER BY p.id",
    )
    .bind(member_id)
    .fetch_all(&app.state.pool)
    .await
    .unwrap()
}

#[sqlx::test]
async fn a_stamp_duty_notice_carries_the_pagopa_qr_code_and_reconciles_once(pool: sqlx::PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let (mut m, member_id) = member(&app, "bollo@example.org").await;
    m.get("/portale/documenti").await;
    let r = m
        .post(
            "/portale/richieste/certificato",
            &[("stamp", "pagopa"), ("purpose", "concorso")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let positions = positions_of(&app, member_id).await;
    assert_eq!(positions.len(), 1);
    let (position_id, notice, amount, paid) = positions[0].clone();
    assert_eq!((amount.as_str(), paid), ("16.00", false));
    assert!(
        notice.starts_with("347"),
        "aux digit 3 and segregation code 47: {notice}"
    );

    // The notice: text and the pagoPA QR code as the specification writes it.
    let pdf = m
        .get(&format!("/portale/pagamenti/{position_id}/avviso.pdf"))
        .await;
    assert_eq!(pdf.status, StatusCode::OK);
    let text = pdf_text(&pdf.bytes);
    let grouped: Vec<String> = notice
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    assert!(
        text.contains(&grouped.join(" ")),
        "notice code in groups of four:\n{text}"
    );
    assert!(
        text.contains("16,00 €") && text.contains("Rossi Mario") && text.contains("80017690320"),
        "{text}"
    );
    let codes = pdf_qr_codes(&pdf.bytes);
    assert!(
        codes.contains(&format!("PAGOPA|002|{notice}|80017690320|1600")),
        "pagoPA QR code decoded: {codes:?}"
    );
    assert!(codes.iter().any(|c| c.contains("/verifica/")), "{codes:?}");
    // The same notice again: the same document.
    let again = m
        .get(&format!("/portale/pagamenti/{position_id}/avviso.pdf"))
        .await;
    assert_eq!(again.bytes, pdf.bytes);
    // Someone else's notice does not exist for this member.
    let other = app
        .fresh_browser()
        .get(&format!("/portale/pagamenti/{position_id}/avviso.pdf"))
        .await;
    assert_ne!(other.status, StatusCode::OK);

    // Reconciliation by staff: applied once; the same file again changes nothing.
    let mut s = staff(&app).await;
    s.get("/backoffice/pagamenti").await;
    let file = reconciliation(&[(&notice, "16,00", "IUR-0001")]);
    let r = s
        .multipart(
            "/backoffice/pagamenti/riconciliazione",
            &[],
            &[("file", "rend.csv", file.clone())],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.texts("#payments-notice")[0].contains("1 pagamenti registrati, 0 già presenti, 0 rifiutati"));
    let receipts = || async {
        sqlx::query_as::<_, (i64, String, String)>(
            "SELECT id, receipt_id, amount::text FROM payment_receipts ORDER BY id",
        )
        .fetch_all(&pool)
        .await
        .unwrap()
    };
    let after_first = receipts().await;
    let r = s
        .multipart(
            "/backoffice/pagamenti/riconciliazione",
            &[],
            &[("file", "rend.csv", file)],
        )
        .await;
    assert!(r.texts("#payments-notice")[0].contains("0 pagamenti registrati, 1 già presenti, 0 rifiutati"));
    assert_eq!(receipts().await, after_first, "same file twice: no change");

    // Refusals with their reason: unknown position, already paid with another receipt, wrong amount,
    // a notice code whose check digits are wrong.
    let unknown = "347000000009999947"; // valid check digits, never issued
    let bad_check = format!("{}00", &notice[..16]);
    let file = reconciliation(&[
        (unknown, "16,00", "IUR-X"),
        (&notice, "16,00", "IUR-0002"),
        (&bad_check, "16,00", "IUR-Y"),
    ]);
    let r = s
        .multipart(
            "/backoffice/pagamenti/riconciliazione",
            &[],
            &[("file", "altro.csv", file)],
        )
        .await;
    let report = r.texts("#reconcile-report tbody tr").join("\n");
    assert!(report.contains("posizione sconosciuta"), "{report}");
    assert!(
        report.contains("posizione già pagata (ricevuta IUR-0001"),
        "{report}"
    );
    assert!(report.contains("Codice avviso"), "check digits refused: {report}");
    assert_eq!(receipts().await, after_first);

    // Not a reconciliation file: a clear message, not a 500.
    let r = s
        .multipart(
            "/backoffice/pagamenti/riconciliazione",
            &[],
            &[("file", "x.csv", b"nome;cognome\nA;B\n".to_vec())],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("codice_avviso"));

    // The member sees it paid and gets a receipt.
    let page = m.get("/portale/pagamenti").await;
    assert!(
        page.texts(".payment-state")[0].starts_with("Pagato il"),
        "{:?}",
        page.texts(".payment-state")
    );
    let receipt = m
        .get(&format!("/portale/pagamenti/{position_id}/ricevuta.pdf"))
        .await;
    let text = pdf_text(&receipt.bytes);
    assert!(
        text.contains("RICEVUTA DI PAGAMENTO") && text.contains("IUR-0001") && text.contains("16,00 €"),
        "{text}"
    );
}

#[sqlx::test]
async fn annual_fees_once_per_year_with_the_first_years_reduction_and_arrears(pool: sqlx::PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let senior = add(
        &app,
        data("Verdi", "Anna", date!(1970 - 01 - 20), Sex::F),
        Entry::Registered {
            date: date!(2001 - 05 - 10),
            resolution_number: "1/2001",
        },
    )
    .await;
    let junior = add(
        &app,
        data("Neri", "Luca", date!(1998 - 07 - 02), Sex::M),
        Entry::Registered {
            date: date!(2025 - 02 - 01),
            resolution_number: "3/2025",
        },
    )
    .await;
    let applicant = add(
        &app,
        data("Blu", "Ada", date!(1999 - 03 - 03), Sex::F),
        Entry::Application,
    )
    .await;
    let mut s = staff(&app).await;
    s.get("/backoffice/pagamenti").await;
    let r = s
        .post("/backoffice/pagamenti/quote-annuali", &[("year", "2026")])
        .await;
    assert_eq!(r.location(), Some("/backoffice/pagamenti?ok=2"), "{}", r.body);
    let amounts = |id| {
        let app = &app;
        async move {
            positions_of(app, id)
                .await
                .into_iter()
                .map(|p| p.2)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(amounts(senior).await, vec!["180.00"]);
    assert_eq!(
        amounts(junior).await,
        vec!["90.00"],
        "second year of registration: 50% off"
    );
    assert!(
        amounts(applicant).await.is_empty(),
        "applicants pay no annual fee"
    );
    // Again: nothing new.
    s.get("/backoffice/pagamenti").await;
    let r = s
        .post("/backoffice/pagamenti/quote-annuali", &[("year", "2026")])
        .await;
    assert_eq!(r.location(), Some("/backoffice/pagamenti?ok=0"));
    let r = s
        .post("/backoffice/pagamenti/quote-annuali", &[("year", "duemila")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Arrears: due 31 March 2026, the test clock is later; pay the senior's fee, the junior remains.
    let (_, notice, _, _) = positions_of(&app, senior).await.remove(0);
    s.get("/backoffice/pagamenti").await;
    let file = reconciliation(&[(&notice, "180.00", "IUR-A")]);
    s.multipart(
        "/backoffice/pagamenti/riconciliazione",
        &[],
        &[("file", "r.csv", file)],
    )
    .await;
    let page = s.get("/backoffice/pagamenti/morosi").await;
    let rows = page.texts("#arrears tbody tr");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(
        rows[0].contains("Neri Luca") && rows[0].contains("90,00 €"),
        "{rows:?}"
    );

    // A free-form fee, with its checks.
    s.get("/backoffice/pagamenti").await;
    let r = s
        .post(
            "/backoffice/pagamenti/posizione",
            &[
                ("fiscal_code", "XXXXXX00X00X000X"),
                ("description", ""),
                ("amount", "-3"),
                ("due_date", "01/01/2020"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r.texts(".alert-danger li").len(),
        4,
        "{:?}",
        r.texts(".alert-danger li")
    );
    let cf: String = sqlx::query_scalar("SELECT fiscal_code FROM members WHERE id = $1")
        .bind(senior)
        .fetch_one(&pool)
        .await
        .unwrap();
    let r = s
        .post(
            "/backoffice/pagamenti/posizione",
            &[
                ("fiscal_code", &cf),
                ("description", "Duplicato della tessera"),
                ("amount", "25,50"),
                ("due_date", "31/12/2026"),
            ],
        )
        .await;
    assert_eq!(r.location(), Some("/backoffice/pagamenti?creata=1"), "{}", r.body);
    assert_eq!(amounts(senior).await, vec!["180.00", "25.50"]);

    // The member pages and the payments of the back office are staff-only where they should be.
    let (mut m, _) = member(&app, "curioso@example.org").await;
    assert_eq!(m.get("/backoffice/pagamenti").await.status, StatusCode::FORBIDDEN);
}
