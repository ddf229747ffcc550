use super::*;
use time::macros::date;

#[test]
fn every_transition_allowed_and_refused() {
    use EventKind as E;
    use Status as S;
    let allowed = [
        (None, E::Application, S::Applicant),
        (None, E::TransferIn, S::Active),
        // A transfer applied for through the portal: the applicant is registered by transfer.
        (Some(S::Applicant), E::TransferIn, S::Active),
        (Some(S::Applicant), E::Registration, S::Active),
        (Some(S::Active), E::Suspension, S::Suspended),
        (Some(S::Suspended), E::Reinstatement, S::Active),
        (Some(S::Active), E::Cancellation, S::Cancelled),
        (Some(S::Suspended), E::Cancellation, S::Cancelled),
        (Some(S::Active), E::TransferOut, S::Cancelled),
        (Some(S::Suspended), E::TransferOut, S::Cancelled),
    ];
    let mut states: Vec<Option<Status>> = vec![None];
    states.extend(Status::ALL.map(Some));
    for from in &states {
        for kind in EventKind::ALL {
            let expected = allowed
                .iter()
                .find(|(f, k, _)| f == from && *k == kind)
                .map(|(_, _, to)| *to);
            match (transition(*from, kind), expected) {
                (Ok(to), Some(e)) => assert_eq!(to, e, "{from:?} + {kind:?}"),
                (Err(msg), None) => assert!(msg.contains(kind.label()), "{msg}"),
                (got, want) => panic!("{from:?} + {kind:?}: got {got:?}, expected {want:?}"),
            }
        }
    }
    // A cancelled member is final; history is never rewritten.
    for kind in EventKind::ALL {
        assert!(transition(Some(Status::Cancelled), kind).is_err());
    }
}

fn change(kind: EventKind) -> StatusChange {
    StatusChange {
        kind,
        effective_date: date!(2026 - 11 - 01),
        until_date: None,
        reason: String::new(),
        resolution_number: "12/2026".into(),
        resolution_date: Some(date!(2026 - 10 - 28)),
        protocol_number: String::new(),
        note: String::new(),
    }
}

#[test]
fn status_change_fields() {
    let today = date!(2026 - 11 - 22);
    assert!(change(EventKind::Registration).validate(today).is_empty());
    let mut c = change(EventKind::Registration);
    c.resolution_number.clear();
    c.resolution_date = None;
    let fields: Vec<_> = c.validate(today).iter().map(|e| e.field).collect();
    assert_eq!(fields, vec!["resolution_number", "resolution_date"]);
    let mut c = change(EventKind::Registration);
    c.resolution_date = Some(date!(2026 - 12 - 01));
    assert_eq!(c.validate(today)[0].field, "resolution_date");
    let mut c = change(EventKind::Suspension);
    c.until_date = Some(date!(2026 - 10 - 01));
    let fields: Vec<_> = c.validate(today).iter().map(|e| e.field).collect();
    assert_eq!(fields, vec!["until_date", "reason"]);
    let mut c = change(EventKind::Cancellation);
    assert_eq!(c.validate(today)[0].field, "reason");
    c.reason = "death".into();
    assert!(c.validate(today).is_empty());
    let mut c = change(EventKind::Application);
    c.resolution_number.clear();
    c.resolution_date = None;
    assert!(c.validate(today).is_empty(), "an application needs no resolution");
}

#[test]
fn search_keys() {
    assert_eq!(search_key("D'Àngelo  Nicolò"), "dangelo nicolo");
    assert_eq!(search_key(" ROSSI-Bianchi "), "rossi bianchi");
    assert_eq!(search_key("Dell'Acqua"), "dellacqua");
    assert_eq!(search_key("Ça Ña"), "ca na");
}

fn facts(consents: &[String]) -> PublicFacts<'_> {
    PublicFacts {
        registration_number: Some(1234),
        registration_date: Some(date!(2010 - 05 - 03)),
        surname: "Rossi",
        name: "Mario",
        birth_date: date!(1980 - 01 - 02),
        section_name: "Sezione A",
        sector_names: vec!["Civile e ambientale"],
        special_list_names: vec![],
        domicile: "Via Roma 1, 34100 Trieste (TS)".into(),
        pec: "mario.rossi@ingpec.eu",
        status: Status::Active,
        email: "mario@esempio.it",
        phone: "+39 333 1234567",
        address: "Via Verdi 2, 34100 Trieste (TS)".into(),
        specialisations: "Strutture",
        consents,
        has_photo: true,
    }
}

#[test]
fn optional_fields_only_with_consent() {
    let public: Vec<String> = [
        "surname",
        "name",
        "registration_number",
        "registration_date",
        "section",
        "sectors",
        "domicile",
        "pec",
        "status",
    ]
    .map(String::from)
    .to_vec();
    let none = public_view(&facts(&[]), &public);
    assert_eq!(none.surname.as_deref(), Some("Rossi"));
    assert_eq!(none.registration_date.as_deref(), Some("03/05/2010"));
    assert_eq!(
        (none.email, none.phone, none.address, none.specialisations),
        (None, None, None, None)
    );
    assert_eq!(none.birth_date, None, "not in the public list");
    assert_eq!(none.photo, None, "approved photo, but no consent");
    let consents = vec!["email".to_string(), "specialisations".to_string()];
    let some = public_view(&facts(&consents), &public);
    assert_eq!(some.email.as_deref(), Some("mario@esempio.it"));
    assert_eq!(some.specialisations.as_deref(), Some("Strutture"));
    assert_eq!(some.phone, None);
    let photo = vec!["photo".to_string()];
    assert_eq!(
        public_view(&facts(&photo), &public).photo.as_deref(),
        Some("/albo/1234/foto")
    );
    let photo = vec!["photo".to_string()];
    assert_eq!(
        public_view(&facts(&photo), &public).photo.as_deref(),
        Some("/albo/1234/foto")
    );
    // The configured list decides even for legal fields.
    let fewer = public_view(&facts(&[]), &["surname".to_string()]);
    assert_eq!(fewer.pec, None);
    assert_eq!(fewer.name, None);
}

#[test]
fn addresses() {
    assert_eq!(
        format_address("Via Roma 1", "34100", "Trieste", "TS"),
        "Via Roma 1, 34100 Trieste (TS)"
    );
    assert_eq!(format_address("", "", "Trieste", ""), "Trieste");
    assert_eq!(format_address("", "", "", ""), "");
}

#[test]
fn dates() {
    assert_eq!(parse_date("05/03/1980"), Some(date!(1980 - 03 - 05)));
    assert_eq!(parse_date("1980-03-05"), Some(date!(1980 - 03 - 05)));
    assert_eq!(parse_date("31/02/1980"), None);
    assert_eq!(parse_date("ieri"), None);
}
