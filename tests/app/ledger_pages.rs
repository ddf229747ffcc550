//! The ledger's pages: the treasurer records an impegno, its liquidazione and payment from the
//! chapter's page; a rule's refusal comes back on the page with its reason; the auditor reads
//! everything and can change nothing; the exports.

use ordo::auth::Role;
use ordo::ledger::rules::Authorisation;
use ordo::ledger::service;

use crate::helpers::{PASSWORD, TestApp};
use crate::ledger::{approved_2026, commitment, person};

async fn browser(app: &TestApp, email: &str, role: Role) -> TestApp {
    let secret = app.create_user(email, &[role], true).await.expect("secret");
    let mut b = app.fresh_browser();
    b.login(email, PASSWORD, Some(&secret)).await;
    b
}

fn entry_id(page: &crate::helpers::TestResponse, kind: &str) -> String {
    let sel = scraper::Selector::parse("#entries tbody tr").unwrap();
    page.doc()
        .select(&sel)
        .find(|tr| tr.text().any(|t| t.contains(kind)))
        .and_then(|tr| tr.value().attr("id"))
        .map(|id| id.trim_start_matches("entry-").to_string())
        .unwrap_or_else(|| panic!("no {kind} on the page: {}", page.body))
}

#[sqlx::test]
async fn the_treasurer_records_and_pays_the_auditor_only_reads(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    let (_, ids) = approved_2026(&app, "20000", &[(1, "1.1.010", "5000")]).await;
    let chapter = format!("/backoffice/contabilita/capitolo/{}", ids[0]);
    let mut treasurer = browser(&app, "tesoriere@example.it", Role::Treasurer).await;

    let r = treasurer.get("/backoffice/contabilita").await;
    assert_eq!(r.location(), Some("/backoffice/contabilita/2026"));
    treasurer.get(&chapter).await;
    let impegno = [
        ("operation", "impegno"),
        ("supplier", "Cartoleria Giuliana S.r.l."),
        ("supplier_code", "01234567897"),
        ("iban", "IT60 X054 2811 1010 0000 0123 456"),
        ("reason", "Cancelleria per la segreteria"),
        ("amount", "1.234,50"),
        ("date", "2026-06-15"),
        ("cig", "Z1A2B3C4D5"),
        ("authorisation", "tesoriere"),
    ];
    let r = treasurer.post(&format!("{chapter}/operazione"), &impegno).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let page = treasurer.get(r.location().unwrap()).await;
    assert!(page.texts("#ledger-notice")[0].contains("impegno"));
    assert!(page.texts("#chapter-available")[0].contains("3.765,50 €"));
    let id = entry_id(&page, "Impegno");

    let r = treasurer
        .post(
            &format!("/backoffice/contabilita/voce/{id}/liquidazione"),
            &[
                ("amount", "1234.50"),
                ("document", "fattura n. 88"),
                ("date", "2026-07-01"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let page = treasurer.get(r.location().unwrap()).await;
    let liquidazione = entry_id(&page, "Liquidazione");
    let r = treasurer
        .post(
            &format!("/backoffice/contabilita/voce/{liquidazione}/pagamento"),
            &[("amount", "1234.50"), ("date", "2026-07-10")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let page = treasurer.get(r.location().unwrap()).await;
    assert!(
        page.texts("#entries td")
            .iter()
            .any(|t| t.starts_with("Pagamento")),
        "{}",
        page.body
    );

    // Above the availability: the page again, with the rule's reason, nothing written.
    let mut too_much = impegno.to_vec();
    too_much.retain(|(k, _)| !["amount", "authorisation"].contains(k));
    too_much.extend([
        ("amount", "3765.51"),
        ("authorisation", "consiglio"),
        ("resolution", "delibera n. 5"),
    ]);
    let r = treasurer.post(&format!("{chapter}/operazione"), &too_much).await;
    assert_eq!(r.status, 409, "{:?}", r.texts("#ledger-errors"));
    assert!(
        r.texts("#ledger-errors")[0].contains("Disponibilità insufficiente"),
        "{}",
        r.body
    );
    let r = treasurer
        .post(
            &format!("{chapter}/operazione"),
            &[
                ("operation", "impegno"),
                ("authorisation", "tesoriere"),
                ("amount", "dieci"),
            ],
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(r.texts("#ledger-errors")[0].contains("Importo"), "{}", r.body);

    // The auditor sees it all, with no form, and cannot post.
    let mut auditor = browser(&app, "revisore@example.it", Role::Auditor).await;
    let page = auditor.get(&chapter).await;
    assert_eq!(page.status, 200);
    assert!(
        page.texts("#entries td")
            .iter()
            .any(|t| t.starts_with("Pagamento"))
    );
    assert!(!page.has("form[action*='/contabilita/']"), "{}", page.body);
    let r = auditor.post(&format!("{chapter}/operazione"), &impegno).await;
    assert_eq!(r.status, 403);
    let year = auditor.get("/backoffice/contabilita/2026").await;
    assert!(year.has("svg[role=img] title"));
    assert!(
        year.texts("#expenditure-chapters td")
            .iter()
            .any(|t| t == "1.234,50 €")
    );
    let csv = auditor.get("/backoffice/contabilita/2026/confronto.csv").await;
    assert!(
        csv.body.contains("Previsione definitiva")
            && csv.body.contains(";5000.00;5000.00;1234.50;1234.50;3765.50;25"),
        "{}",
        csv.body
    );
    let cash = auditor.get("/backoffice/contabilita/2026/cassa.csv").await;
    assert!(
        cash.body.contains("Luglio;0.00;1234.50;-1234.50"),
        "{}",
        cash.body
    );
    for pdf in [
        "2026/cassa.pdf",
        "2026/residui.pdf",
        "vincolati.pdf",
        "2026/rendiconto.pdf",
    ] {
        let r = auditor.get(&format!("/backoffice/contabilita/{pdf}")).await;
        assert!(r.bytes.starts_with(b"%PDF"), "{pdf}: {}", r.status);
    }
    let pdf = auditor.get("/backoffice/contabilita/2026/confronto.pdf").await;
    assert!(pdf.bytes.starts_with(b"%PDF"));
}

#[sqlx::test]
async fn pending_controls_show_on_the_year_and_are_given_from_the_chapter(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    let s = &app.state;
    let (_, ids) = approved_2026(&app, "20000", &[(1, "1.1.010", "10000")]).await;
    let president = person(&app, "presidente@example.it", Role::President).await;
    let urgent = Authorisation::PresidentUrgent {
        reason: "Guasto alla caldaia".into(),
    };
    let id = service::commit_expense(s, &president, commitment(ids[0], "6000", urgent))
        .await
        .unwrap();
    let mut treasurer = browser(&app, "tesoriere@example.it", Role::Treasurer).await;
    let year = treasurer.get("/backoffice/contabilita/2026").await;
    assert_eq!(year.texts("#to-countersign tbody td")[0], id.to_string());
    assert_eq!(year.texts("#to-ratify tbody td")[0], id.to_string());
    treasurer
        .get(&format!("/backoffice/contabilita/capitolo/{}", ids[0]))
        .await;
    let r = treasurer
        .post(&format!("/backoffice/contabilita/voce/{id}/visto"), &[])
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let mut secretary = browser(&app, "segreteria@example.it", Role::Secretariat).await;
    secretary
        .get(&format!("/backoffice/contabilita/capitolo/{}", ids[0]))
        .await;
    let r = secretary
        .post(
            &format!("/backoffice/contabilita/voce/{id}/ratifica"),
            &[("resolution", "delibera n. 9"), ("resolution_date", "2026-07-02")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let year = secretary.get("/backoffice/contabilita/2026").await;
    assert!(
        !year.has("#to-countersign") && !year.has("#to-ratify"),
        "{}",
        year.body
    );
}

#[sqlx::test]
async fn a_year_from_the_management_page(pool: sqlx::PgPool) {
    let app = TestApp::new(pool).await;
    let mut t = browser(&app, "tesoriere@example.it", Role::Treasurer).await;
    let r = t.get("/backoffice/contabilita").await;
    assert_eq!(r.location(), Some("/backoffice/contabilita/2026/gestione"));
    let page = "/backoffice/contabilita/2026/gestione";
    t.get(page).await;
    let ok = |r: &crate::helpers::TestResponse| {
        assert_eq!(r.status, 303, "{:?} {}", r.texts("#manage-errors"), r.body);
    };
    ok(&t
        .post(
            page,
            &[
                ("operation", "nuovo_esercizio"),
                ("year", "2026"),
                ("presumed_result", "1.000,00"),
            ],
        )
        .await);
    t.get(page).await;
    let chapters = [
        ("revenue", "1", "1.1", "1.1.010", "Contributi degli iscritti", ""),
        ("expenditure", "1", "1.1", "1.1.010", "Spese di funzionamento", ""),
        ("expenditure", "1", "1.2", "1.2.010", "Fondo di riserva", "1"),
        (
            "expenditure",
            "2",
            "2.1",
            "2.1.010",
            "Acquisto di attrezzature",
            "",
        ),
    ];
    for (side, title, category, code, name, reserve) in chapters {
        let r = t
            .post(
                page,
                &[
                    ("operation", "capitolo"),
                    ("side", side),
                    ("title", title),
                    ("category", category),
                    ("code", code),
                    ("name", name),
                    ("reserve_fund", reserve),
                ],
            )
            .await;
        ok(&r);
    }
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM ledger_chapters ORDER BY id")
        .fetch_all(&app.state.pool)
        .await
        .unwrap();
    // Current expenditure above current revenue: the approval explains the equilibrium rule.
    for (id, amount) in [
        (ids[0], "10000"),
        (ids[1], "9500"),
        (ids[2], "800"),
        (ids[3], "500"),
    ] {
        ok(&t
            .post(
                page,
                &[
                    ("operation", "stanziamento"),
                    ("chapter", &id.to_string()),
                    ("competence", amount),
                ],
            )
            .await);
    }
    let r = t
        .post(
            page,
            &[
                ("operation", "approvazione"),
                ("resolution", "delibera n. 40 del 28/11/2025"),
            ],
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(
        r.texts("#manage-errors")[0].contains("Equilibrio di parte corrente"),
        "{}",
        r.body
    );
    ok(&t
        .post(
            page,
            &[
                ("operation", "stanziamento"),
                ("chapter", &ids[0].to_string()),
                ("competence", "300"),
            ],
        )
        .await);
    ok(&t
        .post(
            page,
            &[
                ("operation", "approvazione"),
                ("resolution", "delibera n. 40 del 28/11/2025"),
            ],
        )
        .await);

    // Variations: capital → current refused; in December only with the exceptional reason.
    let variation = |from: i64, to: i64, date: &'static str, exceptional: &'static str| {
        vec![
            ("operation", "variazione".to_string()),
            ("from", from.to_string()),
            ("to", to.to_string()),
            ("amount", "100".to_string()),
            ("date", date.to_string()),
            ("resolution", "delibera n. 51".to_string()),
            ("reason", "Maggiori spese di cancelleria".to_string()),
            ("exceptional", exceptional.to_string()),
        ]
    };
    let capital_to_current = variation(ids[3], ids[1], "2026-06-01", "");
    let r = t.post(page, &as_refs(&capital_to_current)).await;
    refused(&r, "conto capitale");
    let december = variation(ids[2], ids[1], "2026-12-15", "");
    let r = t.post(page, &as_refs(&december)).await;
    refused(&r, "dicembre");
    ok(&t
        .post(
            page,
            &as_refs(&variation(
                ids[2],
                ids[1],
                "2026-12-15",
                "Guasto all'impianto elettrico",
            )),
        )
        .await);

    // Petty cash: 200.01 € refused, 200 € recorded and in the six-monthly report.
    let petty = |amount: &'static str| {
        [
            ("operation", "cassa_economale"),
            ("payee", "Ufficio postale"),
            ("reason", "Francobolli"),
            ("amount", amount),
            ("date", "2026-03-10"),
        ]
    };
    let r = t.post(page, &petty("200,01")).await;
    refused(&r, "200,00 €");
    ok(&t.post(page, &petty("200,00")).await);
    let report = t.get(page).await;
    assert!(
        report
            .texts("caption")
            .iter()
            .any(|c| c.contains("1° semestre") && c.contains("totale 200,00 €")),
        "{:?}",
        report.texts("caption")
    );

    // The closing (the next year open first, for its residui): the year is closed and nothing more
    // can be charged to it.
    ok(&t
        .post(
            page,
            &[
                ("operation", "nuovo_esercizio"),
                ("year", "2027"),
                ("presumed_result", "0"),
            ],
        )
        .await);
    t.get(page).await;
    ok(&t
        .post(
            page,
            &[
                ("operation", "chiusura"),
                ("resolution", "delibera n. 12 del 20/04/2027"),
            ],
        )
        .await);
    let closed = t.get(page).await;
    assert_eq!(closed.texts("#manage-status")[0], "Esercizio chiuso");
    assert!(!closed.has("#variation-form"));
    let r = t
        .post(
            page,
            &as_refs(&variation(ids[2], ids[1], "2026-12-20", "Urgenza")),
        )
        .await;
    refused(&r, "chiuso");

    // The auditor cannot reach the management page.
    let mut auditor = browser(&app, "revisore@example.it", Role::Auditor).await;
    assert_eq!(auditor.get(page).await.status, 403);
}

fn as_refs<'a>(v: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    v.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// The page again (422 for bad input, 409 for a rule), its error naming `words`, nothing written.
fn refused(r: &crate::helpers::TestResponse, words: &str) {
    assert!(matches!(r.status.as_u16(), 409 | 422), "{} {}", r.status, r.body);
    let errors = r.texts("#manage-errors");
    assert!(errors.iter().any(|e| e.contains(words)), "{errors:?}");
}
