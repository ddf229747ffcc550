//! Rules of the video-access registry (seed 002, art. 6-9). Pure: no I/O, unit-tested here.

use crate::error::FieldError;

/// The purposes of art. 8 for which footage may be accessed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// (a) judicial police investigation.
    JudicialPolice,
    /// (b) defensive investigation, art. 391-quater c.p.p.
    Defence,
    /// (c) public-security and administrative-police checks.
    PublicSecurity,
    /// (d) documental access, L. 241/1990 and L.P. 23/1992.
    DocumentAccess,
    /// (e) the data subject's access, GDPR art. 15.
    GdprAccess,
}

impl Purpose {
    pub const ALL: [Purpose; 5] = [
        Purpose::JudicialPolice,
        Purpose::Defence,
        Purpose::PublicSecurity,
        Purpose::DocumentAccess,
        Purpose::GdprAccess,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::JudicialPolice => "a",
            Purpose::Defence => "b",
            Purpose::PublicSecurity => "c",
            Purpose::DocumentAccess => "d",
            Purpose::GdprAccess => "e",
        }
    }

    pub fn parse(s: &str) -> Option<Purpose> {
        Self::ALL.into_iter().find(|p| p.as_str() == s.trim())
    }

    pub fn label(self) -> &'static str {
        match self {
            Purpose::JudicialPolice => "a) Indagini di polizia giudiziaria",
            Purpose::Defence => "b) Indagini difensive (art. 391-quater c.p.p.)",
            Purpose::PublicSecurity => "c) Accertamenti di sicurezza pubblica e di polizia amministrativa",
            Purpose::DocumentAccess => "d) Accesso documentale (L. 241/1990, L.P. 23/1992)",
            Purpose::GdprAccess => "e) Accesso ai propri dati (art. 15 GDPR)",
        }
    }

    pub fn label_of(s: &str) -> &'static str {
        Self::parse(s).map(Self::label).unwrap_or("?")
    }

    /// A request of the police (art. 7.3): it names the people authorised and their role.
    pub fn is_police(self) -> bool {
        matches!(self, Purpose::JudicialPolice | Purpose::PublicSecurity)
    }

    /// Art. 9 c: for (d) and (e) no whole footage, only single frames with third parties masked.
    pub fn frames_only(self) -> bool {
        matches!(self, Purpose::DocumentAccess | Purpose::GdprAccess)
    }
}

/// Where a request is in its workflow (art. 9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Received and protocolled; being evaluated.
    Received,
    Authorised,
    Refused,
    Extracted,
    /// The verbale is produced and protocolled.
    Reported,
    /// The outcome is in the register.
    Delivered,
    FilesDeleted,
    Closed,
}

impl State {
    pub const ALL: [State; 8] = [
        State::Received,
        State::Authorised,
        State::Refused,
        State::Extracted,
        State::Reported,
        State::Delivered,
        State::FilesDeleted,
        State::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Received => "received",
            State::Authorised => "authorised",
            State::Refused => "refused",
            State::Extracted => "extracted",
            State::Reported => "reported",
            State::Delivered => "delivered",
            State::FilesDeleted => "files_deleted",
            State::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<State> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            State::Received => "In valutazione",
            State::Authorised => "Autorizzata",
            State::Refused => "Respinta",
            State::Extracted => "Immagini estratte",
            State::Reported => "Verbale redatto",
            State::Delivered => "Esito annotato",
            State::FilesDeleted => "File cancellati",
            State::Closed => "Chiusa",
        }
    }

    pub fn label_of(s: &str) -> &'static str {
        Self::parse(s).map(Self::label).unwrap_or("?")
    }

    /// Whether extracted files may still exist.
    pub fn holds_files(self) -> bool {
        matches!(self, State::Extracted | State::Reported | State::Delivered)
    }

    /// Whether the footage is still to be extracted.
    pub fn before_extraction(self) -> bool {
        matches!(self, State::Received | State::Authorised)
    }
}

/// A step of the workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Authorise,
    Refuse,
    Extract,
    Verbale,
    Outcome,
    DeleteFiles,
    Close,
}

impl Step {
    /// The state a step needs and the state it leads to.
    pub fn transition(self) -> (&'static [State], State) {
        match self {
            Step::Authorise => (&[State::Received], State::Authorised),
            Step::Refuse => (&[State::Received], State::Refused),
            Step::Extract => (&[State::Authorised], State::Extracted),
            Step::Verbale => (&[State::Extracted], State::Reported),
            Step::Outcome => (&[State::Reported], State::Delivered),
            Step::DeleteFiles => (&[State::Delivered], State::FilesDeleted),
            Step::Close => (&[State::FilesDeleted, State::Refused], State::Closed),
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Step::Authorise => "l'autorizzazione",
            Step::Refuse => "il rigetto",
            Step::Extract => "l'estrazione",
            Step::Verbale => "il verbale",
            Step::Outcome => "l'esito",
            Step::DeleteFiles => "la cancellazione dei file",
            Step::Close => "la chiusura",
        }
    }

    /// Whether the step may be taken from `state`; the Italian reason when not.
    pub fn check(self, state: State) -> Result<State, String> {
        let (from, to) = self.transition();
        if from.contains(&state) {
            return Ok(to);
        }
        Err(match (self, state) {
            (Step::Close, s) if s.holds_files() => {
                "La richiesta non si può chiudere: i file estratti non risultano ancora cancellati. \
                 Registra prima la cancellazione con la sua data."
                    .into()
            }
            _ => format!(
                "Non è possibile registrare {} quando la richiesta è nello stato «{}».",
                self.label(),
                state.label()
            ),
        })
    }
}

/// What is released (art. 9 c).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtractionKind {
    /// Whole footage (video clips).
    Footage,
    /// Single frames (still images).
    Frames,
}

impl ExtractionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ExtractionKind::Footage => "footage",
            ExtractionKind::Frames => "frames",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "footage" => Some(ExtractionKind::Footage),
            "frames" => Some(ExtractionKind::Frames),
            _ => None,
        }
    }

    pub fn label_of(s: &str) -> &'static str {
        match s {
            "footage" => "Filmato integrale",
            "frames" => "Singoli fotogrammi",
            _ => "",
        }
    }
}

/// The release rule of art. 9 c: for (d) and (e) only single frames with third parties masked.
pub fn check_release(purpose: Purpose, kind: ExtractionKind, masked: bool) -> Result<(), FieldError> {
    if !purpose.frames_only() {
        return Ok(());
    }
    if kind == ExtractionKind::Footage {
        return Err(FieldError::new(
            "extraction_kind",
            "Per le finalità d) ed e) non si rilasciano filmati integrali: solo singoli fotogrammi \
             con i terzi oscurati (art. 9, lettera c).",
        ));
    }
    if !masked {
        return Err(FieldError::new(
            "masked",
            "Per le finalità d) ed e) i terzi ripresi nei fotogrammi devono essere oscurati: conferma \
             l'oscuramento (art. 9, lettera c).",
        ));
    }
    Ok(())
}

/// A SHA-256 written as 64 hexadecimal digits (spaces and a "sha256:" prefix tolerated).
pub fn parse_sha256(s: &str) -> Result<[u8; 32], FieldError> {
    let cleaned: String = s
        .trim()
        .trim_start_matches("sha256:")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let mut out = [0u8; 32];
    match hex::decode_to_slice(cleaned.to_ascii_lowercase(), &mut out) {
        Ok(()) => Ok(out),
        Err(_) => Err(FieldError::new(
            "sha256",
            "L'impronta SHA-256 di quanto consegnato deve avere 64 cifre esadecimali.",
        )),
    }
}

/// A grant level (art. 6.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    View,
    Extract,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::View => "view",
            Level::Extract => "extract",
        }
    }

    pub fn parse(s: &str) -> Option<Level> {
        match s {
            "view" => Some(Level::View),
            "extract" => Some(Level::Extract),
            _ => None,
        }
    }

    pub fn label_of(s: Option<&str>) -> &'static str {
        match s {
            Some("view") => "Visione",
            Some("extract") => "Visione ed estrazione",
            _ => "Revocata",
        }
    }
}

/// "SI"/"NO" (and the usual variants) as the seed's tables write them.
pub fn yes_no(s: &str) -> Option<bool> {
    match crate::import::columns::normalise(s).as_str() {
        "si" | "s" | "yes" | "y" | "true" | "1" | "x" => Some(true),
        "no" | "n" | "false" | "0" | "" => Some(false),
        _ => None,
    }
}

/// A coordinate as the seed writes it ("46.34689N", "010.69789E", "-10.5", "46,3"): decimal degrees,
/// S and W negative.
pub fn coordinate(s: &str, latitude: bool) -> Result<rust_decimal::Decimal, String> {
    let t = s.trim().replace(',', ".").replace('°', "");
    let (number, sign) = match t.chars().last().map(|c| c.to_ascii_uppercase()) {
        Some('N') if latitude => (&t[..t.len() - 1], 1),
        Some('S') if latitude => (&t[..t.len() - 1], -1),
        Some('E') if !latitude => (&t[..t.len() - 1], 1),
        Some('W') | Some('O') if !latitude => (&t[..t.len() - 1], -1),
        _ => (t.as_str(), 1),
    };
    let what = if latitude { "latitudine" } else { "longitudine" };
    let value: rust_decimal::Decimal = number
        .trim()
        .parse()
        .map_err(|_| format!("{what} «{s}» non valida: scrivi i gradi decimali, es. 46.34689N."))?;
    let value = value * rust_decimal::Decimal::from(sign);
    let limit = rust_decimal::Decimal::from(if latitude { 90 } else { 180 });
    if value.abs() > limit {
        return Err(format!("{what} «{s}» fuori intervallo."));
    }
    Ok(value.round_dp(6))
}

/// The leading whole number of a cell ("7 giorni" → 7, "14 telecamere" → 14, "2" → 2).
pub fn leading_number(s: &str) -> Option<i64> {
    let digits: String = s.trim().chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purposes_and_police() {
        assert_eq!(Purpose::parse("a"), Some(Purpose::JudicialPolice));
        assert!(Purpose::JudicialPolice.is_police());
        assert!(!Purpose::GdprAccess.is_police());
        assert!(Purpose::DocumentAccess.frames_only() && Purpose::GdprAccess.frames_only());
        assert!(!Purpose::Defence.frames_only());
        assert_eq!(Purpose::parse("f"), None);
    }

    #[test]
    fn workflow_order_and_refusals() {
        assert_eq!(Step::Authorise.check(State::Received), Ok(State::Authorised));
        assert!(Step::Extract.check(State::Received).is_err());
        assert_eq!(Step::Close.check(State::FilesDeleted), Ok(State::Closed));
        assert_eq!(Step::Close.check(State::Refused), Ok(State::Closed));
        let e = Step::Close.check(State::Delivered).unwrap_err();
        assert!(e.contains("non risultano ancora cancellati"), "{e}");
    }

    #[test]
    fn frames_only_for_d_and_e() {
        assert!(check_release(Purpose::DocumentAccess, ExtractionKind::Footage, true).is_err());
        assert!(check_release(Purpose::GdprAccess, ExtractionKind::Frames, false).is_err());
        assert!(check_release(Purpose::GdprAccess, ExtractionKind::Frames, true).is_ok());
        assert!(check_release(Purpose::JudicialPolice, ExtractionKind::Footage, false).is_ok());
    }

    #[test]
    fn seed_values() {
        assert_eq!(yes_no("SI"), Some(true));
        assert_eq!(yes_no("NO"), Some(false));
        assert_eq!(yes_no("forse"), None);
        assert_eq!(coordinate("46.34689N", true).unwrap().to_string(), "46.34689");
        assert_eq!(coordinate("010.69789E", false).unwrap().to_string(), "10.69789");
        assert_eq!(coordinate("10.5W", false).unwrap().to_string(), "-10.5");
        assert!(coordinate("200E", false).is_err());
        assert!(coordinate("abc", true).is_err());
        assert_eq!(leading_number("7 giorni"), Some(7));
        assert_eq!(leading_number("14 telecamere"), Some(14));
        assert_eq!(leading_number("giorni"), None);
        assert!(parse_sha256(&"ab".repeat(32)).is_ok());
        assert!(parse_sha256("xyz").is_err());
    }
}
