//! `ordo ledger apply`: the demo year (demo/ledger-2026.csv: the budget of seed 004's titles,
//! variations, 50+ operations; then demo/ledger-2026-chiusura.csv, the close) applied through the CLI, and its rendiconto and result of
//! administration recomputed here from the journal file with plain code; a journal with a refused row
//! writes nothing and names the line and the rule; the same file twice is refused.

use std::collections::BTreeMap;

use ordo::auth::Role;
use rust_decimal::Decimal;

use crate::cli::{database_url, ordo};
use crate::helpers::TestApp;
use crate::ledger::person;

const DEMO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/demo/ledger-2026.csv");
const CLOSE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/demo/ledger-2026-chiusura.csv");

/// An amount as the journal writes it: `1.234,56` (Italian) or `1234.56`.
fn money(s: &str) -> Decimal {
    let s = s.trim();
    let plain = if s.contains(',') {
        s.replace('.', "").replace(',', ".")
    } else {
        s.to_string()
    };
    plain.parse().unwrap_or_else(|_| panic!("amount {s:?}"))
}

/// One chapter's figures: allocated (with variations), assessed/committed net of economies, cashed.
#[derive(Debug, Default, Clone, PartialEq)]
struct Figures {
    title: String,
    allocated: Decimal,
    assessed: Decimal,
    cashed: Decimal,
}

/// What the journal says, summed by hand: (revenue|expenditure, code) → figures, and the cash at 1 January.
fn recompute(journal: &str) -> (BTreeMap<(String, String), Figures>, Decimal, usize) {
    let mut lines = journal
        .trim_start_matches('\u{feff}')
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'));
    let header: Vec<&str> = lines.next().unwrap().split(';').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(';').collect()).collect();
    let get = |r: &Vec<&str>, name: &str| r[col(name)].to_string();
    let mut chapters: BTreeMap<(String, String), Figures> = BTreeMap::new();
    let side = |p: &str| if p == "E" { "revenue" } else { "expenditure" }.to_string();
    let (mut opening, mut operations) = (Decimal::ZERO, 0);
    // rif → (side, code) of accertamenti and impegni; liquidazione rif → impegno rif; impegno → (amount, liquidated).
    let mut owner: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut liq_of: BTreeMap<String, String> = BTreeMap::new();
    let mut impegni: BTreeMap<String, (Decimal, Decimal)> = BTreeMap::new();
    for r in &rows {
        let kind = get(r, "tipo");
        let amount = || money(&get(r, "importo"));
        let code = get(r, "capitolo");
        if ![
            "esercizio",
            "fondo_cassa",
            "capitolo",
            "stanziamento",
            "approvazione",
            "chiusura",
        ]
        .contains(&kind.as_str())
        {
            operations += 1;
        }
        match kind.as_str() {
            "fondo_cassa" => opening = amount(),
            "capitolo" => {
                chapters.entry((side(&get(r, "parte")), code)).or_default().title = get(r, "titolo");
            }
            "stanziamento" => {
                chapters
                    .get_mut(&(side(&get(r, "parte")), code))
                    .unwrap()
                    .allocated += amount();
            }
            "variazione" => {
                let exp = "expenditure".to_string();
                chapters.get_mut(&(exp.clone(), code)).unwrap().allocated -= amount();
                chapters.get_mut(&(exp, get(r, "capitolo_a"))).unwrap().allocated += amount();
            }
            "accertamento" | "impegno" => {
                let key = (
                    if kind == "accertamento" {
                        "revenue"
                    } else {
                        "expenditure"
                    }
                    .to_string(),
                    code,
                );
                chapters.get_mut(&key).unwrap().assessed += amount();
                owner.insert(get(r, "rif"), key);
                if kind == "impegno" {
                    impegni.insert(get(r, "rif"), (amount(), Decimal::ZERO));
                }
            }
            "riscossione" => {
                let key = owner[&get(r, "rif_padre")].clone();
                chapters.get_mut(&key).unwrap().cashed += amount();
            }
            "liquidazione" => {
                let imp = get(r, "rif_padre");
                liq_of.insert(get(r, "rif"), imp.clone());
                let entry = impegni.get_mut(&imp).unwrap();
                entry.1 += amount();
                if get(r, "ultima") == "sì" {
                    // The economy: what the impegno had beyond what was liquidated.
                    let economy = entry.0 - entry.1;
                    chapters.get_mut(&owner[&imp]).unwrap().assessed -= economy;
                }
            }
            "pagamento" => {
                let imp = &liq_of[&get(r, "rif_padre")];
                chapters.get_mut(&owner[imp]).unwrap().cashed += amount();
            }
            _ => {}
        }
    }
    (chapters, opening, operations)
}

/// The CSV report: its lines as cells.
fn report(db: &str, year: &str) -> Vec<Vec<String>> {
    let out = ordo(
        db,
        &[
            "ledger",
            "report",
            "rendiconto",
            "--year",
            year,
            "--format",
            "csv",
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout)
        .unwrap()
        .trim_start_matches('\u{feff}')
        .lines()
        .map(|l| l.split(';').map(str::to_string).collect())
        .collect()
}

fn amounts(line: &[String]) -> Vec<Decimal> {
    line[5..].iter().map(|c| money(c)).collect()
}

fn result_line(lines: &[Vec<String>], label: &str) -> Decimal {
    let l = lines
        .iter()
        .find(|l| l[0] == "Risultato di amministrazione" && l[4].starts_with(label))
        .unwrap_or_else(|| panic!("{label}: {lines:?}"));
    money(&l[5])
}

#[sqlx::test]
async fn the_demo_year_applied_as_a_journal_gives_the_rendiconto_recomputed_from_the_file(
    pool: sqlx::PgPool,
) {
    let app = TestApp::new(pool.clone()).await;
    person(&app, "tesoriere@example.org", Role::Treasurer).await;
    let db = database_url(&pool).await;
    let apply = |file: &str, extra: &[&str]| {
        let mut args = vec!["ledger", "apply", file, "--operator", "tesoriere@example.org"];
        args.extend(extra);
        ordo(&db, &args)
    };
    let out = apply(DEMO, &[]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("Giornale applicato"), "{stdout}");
    let out = apply(CLOSE, &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let journal = std::fs::read_to_string(DEMO).unwrap();
    let (chapters, opening, operations) = recompute(&journal);
    assert!(operations >= 50, "{operations} operations");
    let lines = report(&db, "2026");
    // The PNRR grant is an earmarked fund: its accertamento and impegno carry its CUP.
    let (assessed, committed): (Decimal, Decimal) = sqlx::query_as(
        "SELECT SUM(amount) FILTER (WHERE kind = 'accertamento'), SUM(amount) FILTER (WHERE kind = 'impegno')
         FROM ledger_entries WHERE cup = 'J91H26000010006' AND NOT residui",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((assessed, committed), (money("40.000,00"), money("38.000,00")));
    // Every chapter: allocated, assessed/committed, cashed, residui at start / cashed / left (none: first year).
    let zero = Decimal::ZERO;
    for ((side, code), f) in &chapters {
        let label = if side == "revenue" { "Entrata" } else { "Uscita" };
        let line = lines
            .iter()
            .find(|l| l[0] == label && l[3] == *code)
            .unwrap_or_else(|| panic!("{code} missing"));
        assert_eq!(line[1], f.title, "{code}");
        assert_eq!(
            amounts(line),
            vec![f.allocated, f.assessed, f.cashed, zero, zero, zero],
            "{side} {code}"
        );
    }
    // Totals per title and per side.
    for (side, label, total) in [
        ("revenue", "Entrata", "Totale entrate"),
        ("expenditure", "Uscita", "Totale uscite"),
    ] {
        let of_side: Vec<&Figures> = chapters
            .iter()
            .filter(|((s, _), _)| s == side)
            .map(|(_, f)| f)
            .collect();
        let sum = |fs: &[&Figures]| {
            vec![
                fs.iter().map(|f| f.allocated).sum::<Decimal>(),
                fs.iter().map(|f| f.assessed).sum(),
                fs.iter().map(|f| f.cashed).sum(),
                zero,
                zero,
                zero,
            ]
        };
        for title in ["I", "II", "III", "IV", "V"] {
            let of_title: Vec<&Figures> = of_side.iter().copied().filter(|f| f.title == title).collect();
            if of_title.is_empty() {
                continue;
            }
            let line = lines
                .iter()
                .find(|l| l[0] == label && l[4] == format!("Totale titolo {title}"))
                .unwrap();
            assert_eq!(amounts(line), sum(&of_title), "{label} titolo {title}");
        }
        let line = lines.iter().find(|l| l[4] == total).unwrap();
        assert_eq!(amounts(line), sum(&of_side), "{total}");
    }
    // The result of administration: cash at 1 January + riscossioni − pagamenti + residui attivi − passivi.
    let side_sum = |side: &str, f: fn(&Figures) -> Decimal| -> Decimal {
        chapters
            .iter()
            .filter(|((s, _), _)| s == side)
            .map(|(_, x)| f(x))
            .sum()
    };
    let collected = side_sum("revenue", |f| f.cashed);
    let paid = side_sum("expenditure", |f| f.cashed);
    let attivi = side_sum("revenue", |f| f.assessed - f.cashed);
    let passivi = side_sum("expenditure", |f| f.assessed - f.cashed);
    let closing = opening + collected - paid;
    assert_eq!(result_line(&lines, "Fondo di cassa al 1° gennaio"), opening);
    assert_eq!(result_line(&lines, "Riscossioni"), collected);
    assert_eq!(result_line(&lines, "Pagamenti"), paid);
    assert_eq!(result_line(&lines, "Fondo di cassa al 31 dicembre"), closing);
    assert_eq!(result_line(&lines, "Residui attivi"), attivi);
    assert_eq!(result_line(&lines, "Residui passivi"), passivi);
    assert_eq!(
        result_line(&lines, "Risultato di amministrazione (avanzo)"),
        closing + attivi - passivi
    );
    assert!(
        attivi > zero && passivi > zero,
        "some left unpaid: {attivi} {passivi}"
    );

    // The close carried the residui to 2027, apart from its competence, and its cash fund.
    let next = report(&db, "2027");
    for ((side, code), f) in chapters.iter().filter(|(_, f)| f.assessed != f.cashed) {
        let label = if side == "revenue" { "Entrata" } else { "Uscita" };
        let line = next.iter().find(|l| l[0] == label && l[3] == *code).unwrap();
        assert_eq!(
            amounts(line)[..4],
            [zero, zero, zero, f.assessed - f.cashed],
            "{code} 2027"
        );
    }
    assert_eq!(result_line(&next, "Fondo di cassa al 1° gennaio"), closing);

    // The audit log names the journal as the actor.
    let actors: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT actor_label FROM audit_log WHERE action LIKE 'ledger.%' ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        actors,
        vec![
            "giornale:ledger-2026-chiusura.csv (tesoriere@example.org)".to_string(),
            "giornale:ledger-2026.csv (tesoriere@example.org)".to_string()
        ]
    );

    // The same file again: refused as a whole, nothing written.
    let entries = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM ledger_entries")
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    let before = entries().await;
    let out = apply(DEMO, &[]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("già stato applicato"));
    assert_eq!(entries().await, before);

    // A charge to the closed year: refused, with the rule; nothing written.
    let dir = tempfile::tempdir().unwrap();
    let late = dir.path().join("tardivo.csv");
    std::fs::write(
        &late,
        "tipo,rif,data,capitolo,importo,soggetto,motivo,autorizzazione\n\
         impegno,X1,31/12/2026,11.3.030,\"100,00\",Cartoleria,Toner,tesoriere\n",
    )
    .unwrap();
    let out = apply(late.to_str().unwrap(), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("riga 2 (impegno)") && stderr.contains("2026 è chiuso"),
        "{stderr}"
    );
    assert_eq!(entries().await, before);
}

#[sqlx::test]
async fn a_journal_with_a_refused_row_writes_nothing_and_names_the_line_and_the_rule(pool: sqlx::PgPool) {
    let app = TestApp::new(pool.clone()).await;
    person(&app, "tesoriere@example.org", Role::Treasurer).await;
    let db = database_url(&pool).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("giornale.csv");
    std::fs::write(
        &file,
        "\u{feff}tipo;rif;rif_padre;data;esercizio;parte;titolo;categoria;capitolo;denominazione;importo;autorizzazione;delibera;soggetto;motivo\n\
         # Un bilancio di prova: commenti e righe vuote contano nei numeri di riga.\n\
         \n\
         esercizio;;;;2026;;;;;;0;;;;\n\
         capitolo;;;;2026;E;I;1.1;1.1.010;Quote annuali;;;;;\n\
         capitolo;;;;2026;U;I;11.1;11.1.010;Funzionamento;;;;;\n\
         stanziamento;;;;2026;E;;;1.1.010;;10.000,00;;;;\n\
         stanziamento;;;;2026;U;;;11.1.010;;1000.00;;;;\n\
         approvazione;;;;2026;;;;;;;;delibera n. 1 del 02/01/2026;;\n\
         impegno;I1;;2026-03-01;;;;;11.1.010;;800,00;tesoriere;;Cartoleria;Toner\n\
         impegno;I2;;01/03/2026;;;;;11.1.010;;300,00;tesoriere;;Cartoleria;Carta\n\
         liquidazione;L2;I2;02/03/2026;;;;;;;300,00;;;;\n\
         impegno;I3;;01/03/2026;;;;;11.1.010;;2.500,00;tesoriere;;Tipografia;Stampa\n",
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let base = ["ledger", "apply", path, "--operator", "tesoriere@example.org"];
    let out = ordo(&db, &base);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("riga 11 (impegno): Disponibilità insufficiente sul capitolo 11.1.010"),
        "{stderr}"
    );
    assert!(
        stderr.contains("riga 12 (liquidazione): Il riferimento «I2» rimanda alla riga 11"),
        "{stderr}"
    );
    assert!(
        stderr.contains("riga 13 (impegno)")
            && stderr.contains("il Presidente")
            && stderr.contains("[autorizzazione]"),
        "{stderr}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("nessuna operazione registrata"));
    let years: i64 = sqlx::query_scalar("SELECT count(*) FROM ledger_years")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(years, 0, "atomic: nothing written");

    // Keeping the valid rows: the year, its budget and the first impegno; still exit 1.
    let mut valid = base.to_vec();
    valid.push("--valid-rows");
    let out = ordo(&db, &valid);
    assert_eq!(out.status.code(), Some(1));
    let impegni: Vec<Decimal> =
        sqlx::query_scalar("SELECT amount FROM ledger_entries WHERE kind = 'impegno' ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(impegni, vec!["800".parse::<Decimal>().unwrap()]);

    // Not a journal: an unknown column, exit 2.
    std::fs::write(&file, "tipo;importi\nimpegno;1\n").unwrap();
    let out = ordo(&db, &base);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("importi"));
}
