//! Certificate PDFs per second: the certificate of membership as a pratica issues it
//! (`member_docs::certificate` + `documents::service::render`: Typst layout, the QR code, PDF export),
//! on one thread and on every core. No database: storing the PDF is one INSERT, measured by the
//! protocol benchmark's kind of figures, not here. Run by `scripts/bench-documents`.
//!
//! Environment: BENCH_SECONDS (default 5).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ordo::config::Config;
use ordo::documents::member_docs;
use ordo::documents::service::{new_code, render};
use ordo::members::MemberRow;
use time::macros::{date, datetime};

fn member() -> MemberRow {
    MemberRow {
        id: 1,
        fiscal_code: "RSSMRA80D12L424R".into(),
        surname: "Rossi".into(),
        name: "Mario".into(),
        sex: "M".into(),
        birth_date: date!(1980 - 04 - 12),
        birth_place: "Trieste".into(),
        birth_province: "TS".into(),
        citizenship: "italiana".into(),
        residence_address: "Via Giosuè Carducci 14".into(),
        residence_cap: "34122".into(),
        residence_municipality: "Trieste".into(),
        residence_province: "TS".into(),
        domicile_address: "Piazza della Borsa 3".into(),
        domicile_cap: "34121".into(),
        domicile_municipality: "Trieste".into(),
        domicile_province: "TS".into(),
        workplace_name: String::new(),
        workplace_address: String::new(),
        workplace_municipality: String::new(),
        email: "mario.rossi@example.org".into(),
        pec: "mario.rossi@ingpec.eu".into(),
        phone: String::new(),
        section: "A".into(),
        degree_class: "LM-23".into(),
        degree_university: "Università degli Studi di Trieste".into(),
        degree_year: Some(2005),
        state_exam_year: Some(2006),
        state_exam_seat: "Trieste".into(),
        specialisations: String::new(),
        registration_number: Some(4242),
        registration_date: Some(date!(2007 - 02 - 01)),
        status: "active".into(),
        public_consents: vec![],
        user_id: None,
        sectors: vec!["civile_ambientale".into(), "industriale".into()],
        special_lists: vec![],
        photo_id: None,
    }
}

fn run(config: &Config, threads: usize, seconds: u64) -> (u64, f64) {
    let done = AtomicU64::new(0);
    let started = Instant::now();
    let until = started + Duration::from_secs(seconds);
    let m = member();
    let now = datetime!(2026-11-22 10:00 UTC);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                while Instant::now() < until {
                    let mut doc =
                        member_docs::certificate(config, now, &m, "assolta tramite pagoPA (16,00 €)", 1)
                            .expect("certificate");
                    doc.segnatura =
                        Some("Cod.Amministrazione: oring_ts · Prot.N. 0000784 del 22/11/2026".into());
                    let pdf = render(config, now, &new_code(), &doc).expect("render");
                    assert!(pdf.starts_with(b"%PDF"));
                    done.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
    let n = done.load(Ordering::Relaxed);
    (n, n as f64 / started.elapsed().as_secs_f64())
}

fn main() {
    let seconds: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let env = vec![(
        "DATABASE_URL".to_string(),
        "postgres://unused@localhost/unused".to_string(),
    )];
    let config = Config::load_from(None, env).expect("default configuration");
    // Warm-up: fonts parsed, Typst's caches filled, as in a running server.
    run(&config, 1, 1);
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    println!("certificate PDFs (render with QR code and segnatura), {seconds} s each:");
    for threads in [1, cores] {
        let (n, rate) = run(&config, threads, seconds);
        println!("  {threads:>2} thread(s): {n:>6} PDFs, {rate:>8.1} PDFs/s");
    }
}
