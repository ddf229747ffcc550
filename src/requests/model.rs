//! The workflow of every request (pratica) and the kinds of request. Pure.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Submitted,
    InReview,
    Approved,
    Rejected,
    Closed,
}

impl State {
    pub const ALL: [State; 5] = [
        State::Submitted,
        State::InReview,
        State::Approved,
        State::Rejected,
        State::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Submitted => "submitted",
            State::InReview => "in_review",
            State::Approved => "approved",
            State::Rejected => "rejected",
            State::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<State> {
        State::ALL.into_iter().find(|x| x.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            State::Submitted => "Presentata",
            State::InReview => "In istruttoria",
            State::Approved => "Accolta",
            State::Rejected => "Respinta",
            State::Closed => "Chiusa",
        }
    }

    pub fn is_open(self) -> bool {
        matches!(self, State::Submitted | State::InReview)
    }
}

/// What staff can do with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Review,
    Approve,
    Reject,
    Close,
}

impl Action {
    pub const ALL: [Action; 4] = [Action::Review, Action::Approve, Action::Reject, Action::Close];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Review => "review",
            Action::Approve => "approve",
            Action::Reject => "reject",
            Action::Close => "close",
        }
    }

    pub fn parse(s: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|x| x.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Action::Review => "Prendi in carico",
            Action::Approve => "Accogli",
            Action::Reject => "Respingi",
            Action::Close => "Chiudi",
        }
    }
}

/// The one workflow: submitted → in review → approved / rejected → closed (deciding straight from
/// "submitted" is allowed).
pub fn next_state(current: State, action: Action) -> Result<State, String> {
    use Action as A;
    use State as S;
    match (current, action) {
        (S::Submitted, A::Review) => Ok(S::InReview),
        (S::Submitted | S::InReview, A::Approve) => Ok(S::Approved),
        (S::Submitted | S::InReview, A::Reject) => Ok(S::Rejected),
        (S::Approved | S::Rejected, A::Close) => Ok(S::Closed),
        _ => Err(format!(
            "Operazione non consentita: «{}» non è possibile per una pratica nello stato «{}».",
            action.label(),
            current.label()
        )),
    }
}

/// The workflow as it applies to one kind: a conversation is never approved or rejected, and staff
/// close it straight from an open state once it is answered.
pub fn next_state_for(kind: Kind, current: State, action: Action) -> Result<State, String> {
    match (kind, current.is_open(), action) {
        (Kind::Message, true, Action::Close) => Ok(State::Closed),
        (Kind::Message, _, Action::Approve | Action::Reject) => Err(format!(
            "Operazione non consentita: una comunicazione non si accoglie né si respinge; \
             rispondi all'iscritto o chiudi la conversazione («{}»).",
            action.label()
        )),
        (Kind::Message, false, _) => Err(format!(
            "Operazione non consentita: la conversazione è chiusa («{}»).",
            action.label()
        )),
        _ => next_state(current, action),
    }
}

/// The actions available from a state (for the buttons).
pub fn actions_from(kind: Kind, state: State) -> Vec<Action> {
    Action::ALL
        .into_iter()
        .filter(|a| next_state_for(kind, state, *a).is_ok())
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    DataChange,
    Pec,
    Photo,
    /// A conversation with the secretariat (messages with attachments); it is closed, not decided.
    Message,
    /// A certificate of membership, with the stamp duty paid through pagoPA or an exemption declared.
    Certificate,
    /// Cancellation from the Albo, decided by the council.
    Cancellation,
    /// Registration by transfer from another order, decided by the council.
    TransferIn,
    /// Application for registration, decided by the council.
    Enrolment,
}

impl Kind {
    pub const ALL: [Kind; 8] = [
        Kind::DataChange,
        Kind::Pec,
        Kind::Photo,
        Kind::Message,
        Kind::Certificate,
        Kind::Cancellation,
        Kind::TransferIn,
        Kind::Enrolment,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::DataChange => "data_change",
            Kind::Pec => "pec",
            Kind::Photo => "photo",
            Kind::Message => "message",
            Kind::Certificate => "certificate",
            Kind::Cancellation => "cancellation",
            Kind::TransferIn => "transfer_in",
            Kind::Enrolment => "enrolment",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Kind::DataChange => "Variazione dei dati personali",
            Kind::Pec => "Indirizzo PEC",
            Kind::Photo => "Fototessera",
            Kind::Message => "Comunicazione alla segreteria",
            Kind::Certificate => "Certificato di iscrizione",
            Kind::Cancellation => "Cancellazione dall'Albo",
            Kind::TransferIn => "Iscrizione per trasferimento da altro Ordine",
            Kind::Enrolment => "Domanda di iscrizione all'Albo",
        }
    }

    /// Whether a member may have several requests of this kind open at once.
    pub fn allows_many_open(self) -> bool {
        self == Kind::Message
    }

    /// Whether approving it is a council decision (resolution number and date required).
    pub fn needs_resolution(self) -> bool {
        matches!(self, Kind::Cancellation | Kind::TransferIn | Kind::Enrolment)
    }
}

/// Fields a member may ask to change, with their Italian labels.
pub const CHANGEABLE_FIELDS: &[(&str, &str)] = &[
    ("residence_address", "Residenza: indirizzo"),
    ("residence_cap", "Residenza: CAP"),
    ("residence_municipality", "Residenza: comune"),
    ("residence_province", "Residenza: provincia"),
    ("domicile_address", "Domicilio professionale: indirizzo"),
    ("domicile_cap", "Domicilio professionale: CAP"),
    ("domicile_municipality", "Domicilio professionale: comune"),
    ("domicile_province", "Domicilio professionale: provincia"),
    ("email", "E-mail"),
    ("phone", "Telefono"),
    ("specialisations", "Specializzazioni"),
];

pub fn field_label(field: &str) -> &str {
    CHANGEABLE_FIELDS
        .iter()
        .find(|(f, _)| *f == field)
        .map(|(_, l)| *l)
        .unwrap_or(field)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_transition_allowed_and_refused() {
        let allowed = [
            (State::Submitted, Action::Review, State::InReview),
            (State::Submitted, Action::Approve, State::Approved),
            (State::Submitted, Action::Reject, State::Rejected),
            (State::InReview, Action::Approve, State::Approved),
            (State::InReview, Action::Reject, State::Rejected),
            (State::Approved, Action::Close, State::Closed),
            (State::Rejected, Action::Close, State::Closed),
        ];
        for from in State::ALL {
            for action in Action::ALL {
                let expected = allowed
                    .iter()
                    .find(|(f, a, _)| *f == from && *a == action)
                    .map(|(_, _, t)| *t);
                match (next_state(from, action), expected) {
                    (Ok(to), Some(e)) => assert_eq!(to, e),
                    (Err(m), None) => assert!(m.contains(action.label())),
                    (got, want) => panic!("{from:?} {action:?}: {got:?} vs {want:?}"),
                }
            }
        }
        for kind in Kind::ALL {
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
            assert!(actions_from(kind, State::Closed).is_empty());
        }
        assert_eq!(actions_from(Kind::Pec, State::Approved), vec![Action::Close]);
    }

    #[test]
    fn a_conversation_is_closed_not_decided() {
        for from in State::ALL {
            for action in Action::ALL {
                let got = next_state_for(Kind::Message, from, action);
                match (from.is_open(), action) {
                    (true, Action::Close) => assert_eq!(got, Ok(State::Closed)),
                    (true, Action::Review) if from == State::Submitted => {
                        assert_eq!(got, Ok(State::InReview))
                    }
                    _ => assert!(got.is_err(), "{from:?} {action:?} should be refused"),
                }
                for other in Kind::ALL.into_iter().filter(|k| *k != Kind::Message) {
                    assert_eq!(next_state_for(other, from, action), next_state(from, action));
                }
            }
        }
        assert_eq!(actions_from(Kind::Message, State::InReview), vec![Action::Close]);
        assert!(Kind::Message.allows_many_open() && !Kind::Photo.allows_many_open());
    }
}
