//! The CSV import of cameras (kind `cameras`): one row per system of Allegato A, with the site of
//! Allegato B it stands in ("Posizione telecamere"). Values as the seed writes them: SI/NO, "18X",
//! "7 giorni", "46.34689N". Natural key: the system's number; a site is keyed by its code.

use async_trait::async_trait;
use rust_decimal::Decimal;
use sqlx::PgConnection;

use super::model::{coordinate, leading_number, yes_no};
use super::repo;
use crate::error::AppResult;
use crate::import::{ApplyCtx, CellError, FieldSpec, Kind, KindName, Mapped, Outcome};

const fn field(
    key: &'static str,
    label: &'static str,
    required: bool,
    synonyms: &'static [&'static str],
) -> FieldSpec {
    FieldSpec {
        key,
        label,
        required,
        synonyms,
    }
}

pub const FIELDS: &[FieldSpec] = &[
    field(
        "number",
        "N.",
        true,
        &[
            "cro n",
            "nro",
            "n impianto",
            "numero impianto",
            "impianto",
            "number",
        ],
    ),
    field(
        "description",
        "Descrizione",
        true,
        &["descrizione impianto", "ubicazione", "description"],
    ),
    field(
        "system_responsible",
        "Resp. Impianto videosorveglianza",
        false,
        &["resp impianto videosor veglianz a", "responsabile impianto"],
    ),
    field(
        "data_responsible",
        "Resp. Trattamento dati",
        false,
        &["responsabile trattamento dati"],
    ),
    field("video", "Ripresa video", false, &["ripres a video", "video"]),
    field("audio", "Ripresa audio", false, &["ripres a audio", "audio"]),
    field(
        "ptz_cameras",
        "Numero telecamere dotate di brandeggio",
        false,
        &[
            "numero telecame re dotate di brandegg io",
            "telecamere brandeggiabili",
            "ptz",
        ],
    ),
    field(
        "ptz_vertical",
        "Brandeggio verticale SI/NO",
        false,
        &["brandegg io verticale si no", "brandeggio verticale"],
    ),
    field(
        "ptz_horizontal",
        "Brandeggio orizzontale SI/NO",
        false,
        &["brandegg io orizzonta le si no", "brandeggio orizzontale"],
    ),
    field(
        "fixed_cameras",
        "Numero camere fisse",
        false,
        &["numer o camer e fisse", "camere fisse", "telecamere fisse"],
    ),
    field("optical_zoom", "Zoom ottico", false, &["zoo m ottic o"]),
    field("digital_zoom", "Zoom digitale", false, &["zoom digital e"]),
    field(
        "retention_days",
        "Registrazione e conservazione immagini. Per quanto tempo",
        false,
        &[
            "registrazio ne e e conservazio ne immagini per quanto tempo",
            "conservazione",
            "giorni di conservazione",
            "retention",
        ],
    ),
    field(
        "public_notice",
        "Informativa al pubblico",
        false,
        &["informativa", "cartellonistica"],
    ),
    field("site", "Sito", false, &["n sito", "codice sito", "site"]),
    field(
        "site_name",
        "Descrizione sito",
        false,
        &["nome sito", "site name"],
    ),
    field("latitude", "Latitudine", false, &["lat", "latitude"]),
    field("longitude", "Longitudine", false, &["lon", "long", "longitude"]),
    field(
        "site_cameras",
        "Telecamere del sito",
        false,
        &["telecamere sito", "qta", "telecamere"],
    ),
];

pub struct CamerasKind {
    /// Retention when the row does not say (video.default_retention_days).
    pub default_retention: i32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    pub code: String,
    pub name: String,
    pub latitude: Option<Decimal>,
    pub longitude: Option<Decimal>,
    pub cameras: i32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Camera {
    pub number: i32,
    pub description: String,
    pub system_responsible: String,
    pub data_responsible: String,
    pub video: bool,
    pub audio: bool,
    pub ptz_cameras: i32,
    pub ptz_vertical: bool,
    pub ptz_horizontal: bool,
    pub fixed_cameras: i32,
    pub optical_zoom: String,
    pub digital_zoom: String,
    pub retention_days: i32,
    pub public_notice: String,
    pub site: Option<Site>,
}

/// "18X", "NO" or "" → "18X" or "" (no zoom).
fn zoom(s: &str) -> String {
    match yes_no(s) {
        Some(false) => String::new(),
        _ => s.trim().to_uppercase(),
    }
}

fn text(row: &Mapped<'_>, key: &'static str, max: usize, errors: &mut Vec<CellError>) -> String {
    let v = row.text(key);
    if v.chars().count() > max {
        errors.push(CellError::new(
            key,
            format!("testo troppo lungo (massimo {max} caratteri)."),
        ));
    } else if v.chars().any(char::is_control) {
        errors.push(CellError::new(key, "contiene caratteri di controllo."));
    }
    v.to_string()
}

fn flag(row: &Mapped<'_>, key: &'static str, default: bool, errors: &mut Vec<CellError>) -> bool {
    if !row.has(key) {
        return default;
    }
    yes_no(row.text(key)).unwrap_or_else(|| {
        errors.push(CellError::new(
            key,
            format!("«{}»: scrivi SI o NO.", row.text(key)),
        ));
        default
    })
}

fn count(row: &Mapped<'_>, key: &'static str, errors: &mut Vec<CellError>) -> i32 {
    if !row.has(key) {
        return 0;
    }
    match leading_number(row.text(key)) {
        Some(n) if n <= 1000 => n as i32,
        _ => {
            errors.push(CellError::new(
                key,
                format!("«{}»: scrivi un numero intero.", row.text(key)),
            ));
            0
        }
    }
}

fn site(row: &Mapped<'_>, errors: &mut Vec<CellError>) -> Option<Site> {
    let code = text(row, "site", 20, errors);
    if code.is_empty() {
        return None;
    }
    let name = text(row, "site_name", 200, errors);
    if name.is_empty() {
        errors.push(CellError::new("site_name", "manca la descrizione del sito."));
    }
    let mut coord = |key: &'static str, latitude: bool| {
        row.has(key)
            .then(|| {
                coordinate(row.text(key), latitude)
                    .map_err(|m| errors.push(CellError::new(key, m)))
                    .ok()
            })
            .flatten()
    };
    let latitude = coord("latitude", true);
    let longitude = coord("longitude", false);
    Some(Site {
        code,
        name,
        latitude,
        longitude,
        cameras: count(row, "site_cameras", errors),
    })
}

#[async_trait]
impl Kind for CamerasKind {
    type Record = Camera;

    fn name(&self) -> KindName {
        KindName::Cameras
    }

    fn parse(&self, row: &Mapped<'_>) -> Result<Camera, Vec<CellError>> {
        let mut errors = vec![];
        let number = match leading_number(row.text("number")) {
            Some(n) if (1..=1_000_000).contains(&n) => n as i32,
            _ => {
                errors.push(CellError::new(
                    "number",
                    "manca il numero dell'impianto (intero positivo).",
                ));
                0
            }
        };
        let description = text(row, "description", 300, &mut errors);
        if description.is_empty() {
            errors.push(CellError::new(
                "description",
                "manca la descrizione dell'impianto.",
            ));
        }
        let retention_days = if row.has("retention_days") {
            match leading_number(row.text("retention_days")) {
                Some(n) if (1..=365).contains(&n) => n as i32,
                _ => {
                    errors.push(CellError::new(
                        "retention_days",
                        format!(
                            "«{}»: indica i giorni di conservazione (da 1 a 365).",
                            row.text("retention_days")
                        ),
                    ));
                    0
                }
            }
        } else {
            self.default_retention
        };
        let camera = Camera {
            number,
            description,
            system_responsible: text(row, "system_responsible", 200, &mut errors),
            data_responsible: text(row, "data_responsible", 200, &mut errors),
            video: flag(row, "video", true, &mut errors),
            audio: flag(row, "audio", false, &mut errors),
            ptz_cameras: count(row, "ptz_cameras", &mut errors),
            ptz_vertical: flag(row, "ptz_vertical", false, &mut errors),
            ptz_horizontal: flag(row, "ptz_horizontal", false, &mut errors),
            fixed_cameras: count(row, "fixed_cameras", &mut errors),
            optical_zoom: zoom(&text(row, "optical_zoom", 20, &mut errors)),
            digital_zoom: zoom(&text(row, "digital_zoom", 20, &mut errors)),
            retention_days,
            public_notice: text(row, "public_notice", 300, &mut errors),
            site: site(row, &mut errors),
        };
        if errors.is_empty() {
            Ok(camera)
        } else {
            Err(errors)
        }
    }

    fn keys(&self, c: &Camera) -> Vec<(&'static str, String)> {
        vec![("number", c.number.to_string())]
    }

    fn preview(&self, c: &Camera) -> Vec<String> {
        let yn = |b: bool| if b { "SI" } else { "NO" }.to_string();
        let site = c.site.as_ref();
        let dec = |d: Option<Decimal>| d.map(|d| d.to_string()).unwrap_or_default();
        vec![
            c.number.to_string(),
            c.description.clone(),
            c.system_responsible.clone(),
            c.data_responsible.clone(),
            yn(c.video),
            yn(c.audio),
            c.ptz_cameras.to_string(),
            yn(c.ptz_vertical),
            yn(c.ptz_horizontal),
            c.fixed_cameras.to_string(),
            c.optical_zoom.clone(),
            c.digital_zoom.clone(),
            format!("{} giorni", c.retention_days),
            c.public_notice.clone(),
            site.map(|s| s.code.clone()).unwrap_or_default(),
            site.map(|s| s.name.clone()).unwrap_or_default(),
            dec(site.and_then(|s| s.latitude)),
            dec(site.and_then(|s| s.longitude)),
            site.map(|s| s.cameras.to_string()).unwrap_or_default(),
        ]
    }

    async fn apply(
        &self,
        conn: &mut PgConnection,
        ctx: &ApplyCtx<'_>,
        batch: &[Camera],
        write: bool,
    ) -> AppResult<Vec<Outcome>> {
        let numbers: Vec<i32> = batch.iter().map(|c| c.number).collect();
        let stored = repo::systems_by_number(conn, &numbers).await?;
        let codes: Vec<String> = batch
            .iter()
            .filter_map(|c| c.site.as_ref().map(|s| s.code.clone()))
            .collect();
        let sites = repo::sites_by_code(conn, &codes).await?;
        let mut outcomes = vec![];
        for c in batch {
            let Some(s) = stored.iter().find(|s| s.number == c.number) else {
                outcomes.push(Outcome::New);
                continue;
            };
            let mut changed = vec![];
            let checks: [(&'static str, bool); 15] = [
                ("description", s.description != c.description),
                ("system_responsible", s.system_responsible != c.system_responsible),
                ("data_responsible", s.data_responsible != c.data_responsible),
                ("video", s.video != c.video),
                ("audio", s.audio != c.audio),
                ("ptz_cameras", s.ptz_cameras != c.ptz_cameras),
                ("ptz_vertical", s.ptz_vertical != c.ptz_vertical),
                ("ptz_horizontal", s.ptz_horizontal != c.ptz_horizontal),
                ("fixed_cameras", s.fixed_cameras != c.fixed_cameras),
                ("optical_zoom", s.optical_zoom != c.optical_zoom),
                ("digital_zoom", s.digital_zoom != c.digital_zoom),
                ("retention_days", s.retention_days != c.retention_days),
                ("public_notice", s.public_notice != c.public_notice),
                (
                    "site",
                    s.site_code.as_deref() != c.site.as_ref().map(|x| x.code.as_str()),
                ),
                (
                    "site_name",
                    c.site.as_ref().is_some_and(|x| {
                        !sites.iter().any(|y| {
                            y.code == x.code
                                && y.name == x.name
                                && y.latitude == x.latitude
                                && y.longitude == x.longitude
                                && y.cameras == x.cameras
                        })
                    }),
                ),
            ];
            changed.extend(checks.iter().filter(|(_, d)| *d).map(|(k, _)| *k));
            outcomes.push(if changed.is_empty() {
                Outcome::Unchanged
            } else {
                Outcome::Updated(changed)
            });
        }
        if write {
            for (c, o) in batch.iter().zip(&outcomes) {
                if *o == Outcome::Unchanged {
                    continue;
                }
                let site_id = match &c.site {
                    Some(s) => Some(
                        repo::upsert_site(conn, &s.code, &s.name, s.latitude, s.longitude, s.cameras).await?,
                    ),
                    None => None,
                };
                repo::upsert_system(
                    conn,
                    &repo::SystemData {
                        number: c.number,
                        description: &c.description,
                        site_id,
                        system_responsible: &c.system_responsible,
                        data_responsible: &c.data_responsible,
                        video: c.video,
                        audio: c.audio,
                        ptz_cameras: c.ptz_cameras,
                        ptz_vertical: c.ptz_vertical,
                        ptz_horizontal: c.ptz_horizontal,
                        fixed_cameras: c.fixed_cameras,
                        optical_zoom: &c.optical_zoom,
                        digital_zoom: &c.digital_zoom,
                        retention_days: c.retention_days,
                        public_notice: &c.public_notice,
                    },
                    ctx.job_id,
                    ctx.now,
                )
                .await?;
            }
        }
        Ok(outcomes)
    }

    fn tables(&self) -> &'static [&'static str] {
        &["video_systems (number)", "video_sites (code)"]
    }

    async fn finish(&self, _conn: &mut PgConnection) -> AppResult<()> {
        Ok(())
    }
}
