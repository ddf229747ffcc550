//! Page structs of the ledger.

use askama::Template;
use askama_web::WebTemplate;

use super::analysis::{ChapterFigures, EntryLine, roman};
use super::controls::{FundUse, Pending};
use crate::error::FieldError;
use crate::format::euro;
use crate::members::model::italian_date;
use crate::web::Layout;

pub struct FigureLine {
    pub id: i64,
    pub side: &'static str,
    pub title: &'static str,
    pub code: String,
    pub name: String,
    pub initial: String,
    pub variations: String,
    pub allocated: String,
    pub cash_forecast: String,
    pub actual: String,
    pub cashed: String,
    pub available: String,
    pub percent: String,
}

impl From<&ChapterFigures> for FigureLine {
    fn from(r: &ChapterFigures) -> Self {
        FigureLine {
            id: r.id,
            side: if r.side == "revenue" { "Entrata" } else { "Uscita" },
            title: roman(r.title),
            code: r.code.clone(),
            name: if r.reserve_fund {
                format!("{} (fondo di riserva)", r.name)
            } else {
                r.name.clone()
            },
            initial: euro(r.initial),
            variations: euro(r.variations),
            allocated: euro(r.allocated()),
            cash_forecast: euro(r.cash_forecast),
            actual: euro(r.actual),
            cashed: euro(r.cashed),
            available: euro(r.available()),
            percent: format!("{} %", r.percent()),
        }
    }
}

pub struct PendingLine {
    pub id: i64,
    pub date: String,
    pub chapter: String,
    pub amount: String,
    pub party: String,
    pub reason: String,
}

impl From<&Pending> for PendingLine {
    fn from(p: &Pending) -> Self {
        PendingLine {
            id: p.id,
            date: italian_date(p.entry_date),
            chapter: p.chapter.clone(),
            amount: euro(p.amount),
            party: p.party.clone(),
            reason: if p.resolution.is_empty() {
                p.reason.clone()
            } else {
                format!("{} — {}", p.reason, p.resolution)
            },
        }
    }
}

pub struct SideTable {
    pub id: &'static str,
    pub caption: &'static str,
    pub actual: &'static str,
    pub cashed: &'static str,
    pub available: &'static str,
    pub rows: Vec<FigureLine>,
}

#[derive(Template, WebTemplate)]
#[template(path = "ledger/year.html")]
pub struct YearPage {
    pub layout: Layout,
    pub year: i32,
    pub years: Vec<i32>,
    pub status: String,
    pub presumed_result: String,
    pub chart: String,
    pub sides: Vec<SideTable>,
    pub can_write: bool,
    pub to_countersign: Vec<PendingLine>,
    pub to_ratify: Vec<PendingLine>,
}

pub struct EntryView {
    pub id: i64,
    pub kind: String,
    pub parent_id: Option<i64>,
    pub residui: bool,
    pub amount: String,
    pub date: String,
    pub party: String,
    pub reason: String,
    pub codes: String,
    pub authorisation: String,
    pub remaining: String,
    /// The remaining amount as the form's default value (`1234.56`).
    pub remaining_plain: String,
    pub open: bool,
    pub countersigned: bool,
    pub needs_ratification: bool,
    pub receipt: bool,
}

fn authorisation_label(e: &EntryLine) -> String {
    let who = match e.authorised_by.as_str() {
        "treasurer" => "Tesoriere",
        "president" => "Presidente",
        "president_urgent" if e.ratified => "Presidente (urgente), ratificato",
        "president_urgent" => "Presidente (urgente), da ratificare",
        "council" => "Consiglio",
        _ => "",
    };
    match (who, e.resolution.as_str()) {
        ("", _) => String::new(),
        (w, "") => w.to_string(),
        (w, r) => format!("{w}: {r}"),
    }
}

impl From<&EntryLine> for EntryView {
    fn from(e: &EntryLine) -> Self {
        let kind = match e.kind.as_str() {
            "variation" => "Variazione",
            "accertamento" => "Accertamento",
            "riscossione" => "Riscossione",
            "prenotazione" => "Prenotazione",
            "impegno" => "Impegno",
            "liquidazione" => "Liquidazione",
            "economia" => "Economia",
            "pagamento" => "Pagamento",
            other => other,
        };
        let codes = [("CIG", &e.cig), ("CUP", &e.cup)]
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(" · ");
        EntryView {
            id: e.id,
            kind: kind.to_string(),
            parent_id: e.parent_id,
            residui: e.residui,
            amount: euro(e.amount),
            date: italian_date(e.entry_date),
            party: e.party.clone(),
            reason: e.reason.clone(),
            codes,
            authorisation: authorisation_label(e),
            remaining: euro(e.remaining()),
            remaining_plain: format!("{:.2}", e.remaining()),
            open: e.remaining() > rust_decimal::Decimal::ZERO,
            countersigned: e.countersigned,
            needs_ratification: e.authorised_by == "president_urgent" && !e.ratified,
            receipt: e.kind == "riscossione",
        }
    }
}

pub struct FundOption {
    pub id: i64,
    pub label: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "ledger/chapter.html")]
pub struct ChapterPage {
    pub layout: Layout,
    pub year: i32,
    pub chapter: FigureLine,
    pub revenue: bool,
    pub entries: Vec<EntryView>,
    pub bookings: Vec<EntryView>,
    pub funds: Vec<FundOption>,
    pub can_write: bool,
    pub is_treasurer: bool,
    pub is_secretariat: bool,
    pub today: String,
    pub csrf_token: String,
    pub errors: Vec<FieldError>,
    pub notice: Option<String>,
}

pub struct CashLine {
    pub month: String,
    pub collected: String,
    pub paid: String,
    pub balance: String,
}

pub struct ResiduoLine {
    pub id: i64,
    pub active: bool,
    pub chapter: String,
    pub party: String,
    pub reason: String,
    pub amount: String,
    pub cashed: String,
    pub left: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "ledger/cash.html")]
pub struct CashPage {
    pub layout: Layout,
    pub year: i32,
    pub opening: String,
    pub months: Vec<CashLine>,
    pub total: CashLine,
    /// The result of administration, line by line (label, amount).
    pub administration: Vec<(String, String)>,
    pub residui: Vec<ResiduoLine>,
}

pub struct FundLine {
    pub cup: String,
    pub name: String,
    pub grantor: String,
    pub purpose: String,
    pub amount: String,
    pub assessed: String,
    pub collected: String,
    pub committed: String,
    pub liquidated: String,
    pub paid: String,
    pub available: String,
}

impl From<&FundUse> for FundLine {
    fn from(f: &FundUse) -> Self {
        FundLine {
            cup: f.fund.cup.clone(),
            name: f.fund.name.clone(),
            grantor: f.fund.grantor.clone(),
            purpose: f.fund.purpose.clone(),
            amount: euro(f.fund.amount),
            assessed: euro(f.assessed),
            collected: euro(f.collected),
            committed: euro(f.committed),
            liquidated: euro(f.liquidated),
            paid: euro(f.paid),
            available: euro(f.available()),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "ledger/funds.html")]
pub struct FundsPage {
    pub layout: Layout,
    pub funds: Vec<FundLine>,
    pub can_write: bool,
    pub csrf_token: String,
    pub errors: Vec<FieldError>,
}
