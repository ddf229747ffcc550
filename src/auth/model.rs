//! Roles, permissions and the rules of local accounts. Pure: no I/O, unit-tested here.

use serde::{Deserialize, Serialize};

use crate::error::FieldError;

/// The roles of SPEC §1. A person may hold several.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Member,
    Applicant,
    Secretariat,
    Treasurer,
    President,
    Councillor,
    Auditor,
    VideoOfficer,
    VideoManager,
    Admin,
}

impl Role {
    pub const ALL: [Role; 10] = [
        Role::Member,
        Role::Applicant,
        Role::Secretariat,
        Role::Treasurer,
        Role::President,
        Role::Councillor,
        Role::Auditor,
        Role::VideoOfficer,
        Role::VideoManager,
        Role::Admin,
    ];

    /// The name stored in the database (`user_roles.role`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::Applicant => "applicant",
            Role::Secretariat => "secretariat",
            Role::Treasurer => "treasurer",
            Role::President => "president",
            Role::Councillor => "councillor",
            Role::Auditor => "auditor",
            Role::VideoOfficer => "video_officer",
            Role::VideoManager => "video_manager",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The Italian label shown in the UI.
    pub fn label(self) -> &'static str {
        match self {
            Role::Member => "Iscritto",
            Role::Applicant => "Richiedente",
            Role::Secretariat => "Segreteria",
            Role::Treasurer => "Tesoriere",
            Role::President => "Presidente",
            Role::Councillor => "Consigliere",
            Role::Auditor => "Revisore",
            Role::VideoOfficer => "Incaricato videosorveglianza",
            Role::VideoManager => "Responsabile videosorveglianza",
            Role::Admin => "Amministratore",
        }
    }

    /// Staff roles reach the back office and must use a second factor.
    pub fn is_staff(self) -> bool {
        !matches!(self, Role::Member | Role::Applicant)
    }
}

/// What a route needs. `Public` and `Authenticated` are not granted by roles; the rest come from
/// [`ROLE_PERMISSIONS`], the single table of who may do what.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Anyone, logged in or not.
    Public,
    /// Anyone logged in (own account pages), including staff still enrolling their second factor.
    Authenticated,
    /// The member portal (`/portale`).
    Portal,
    /// The back office (`/backoffice`).
    Backoffice,
    /// Read the audit log.
    AuditRead,
    /// List and manage accounts and roles.
    UsersManage,
    /// Search the register and see member sheets (every view is audited).
    MembersRead,
    /// Register members and their status changes; export lists.
    MembersWrite,
    /// Handle the members' requests (pratiche): inbox, review, decisions.
    RequestsManage,
    /// Search and read the protocol register and its documents.
    ProtocolRead,
    /// Register incoming, outgoing and internal items by hand.
    ProtocolWrite,
    /// Annul a registration (with reason and authorising act).
    ProtocolAnnul,
    /// Import data from CSV files (members, legacy protocol entries).
    Import,
    /// See payment positions, notices and arrears.
    PaymentsRead,
    /// Generate the annual fees and import the pagoPA reconciliation.
    PaymentsManage,
    /// Read the accounting ledger: budget, entries, reports (auditors and councillors included).
    LedgerRead,
    /// Record ledger operations (each still checked by the services for the role it needs).
    LedgerWrite,
    /// Read the video-access registry: systems, grants, access register, footage requests, reports.
    VideoRead,
    /// Log viewing sessions and work footage requests (intake, extraction with a grant, verbale,
    /// outcome, deletion of the files, closing).
    VideoOperate,
    /// Grant and revoke operators' access to the systems; authorise or refuse footage requests.
    VideoManage,
}

impl Permission {
    /// Whether the permission is a staff one (needs the second factor active).
    pub fn needs_second_factor(self) -> bool {
        !matches!(
            self,
            Permission::Public | Permission::Authenticated | Permission::Portal
        )
    }
}

/// The single role → permission table.
pub const ROLE_PERMISSIONS: &[(Role, &[Permission])] = &[
    (Role::Member, &[Permission::Portal]),
    (Role::Applicant, &[Permission::Portal]),
    (
        Role::Secretariat,
        &[
            Permission::Backoffice,
            Permission::MembersRead,
            Permission::MembersWrite,
            Permission::RequestsManage,
            Permission::ProtocolRead,
            Permission::ProtocolWrite,
            Permission::PaymentsRead,
            Permission::PaymentsManage,
            Permission::LedgerRead,
            Permission::LedgerWrite,
        ],
    ),
    (
        Role::Treasurer,
        &[
            Permission::Backoffice,
            Permission::MembersRead,
            Permission::PaymentsRead,
            Permission::PaymentsManage,
            Permission::LedgerRead,
            Permission::LedgerWrite,
        ],
    ),
    (
        Role::President,
        &[
            Permission::Backoffice,
            Permission::MembersRead,
            Permission::ProtocolRead,
            Permission::PaymentsRead,
            Permission::LedgerRead,
            Permission::LedgerWrite,
        ],
    ),
    (
        Role::Councillor,
        &[
            Permission::Backoffice,
            Permission::MembersRead,
            Permission::LedgerRead,
        ],
    ),
    (
        Role::Auditor,
        &[
            Permission::Backoffice,
            Permission::AuditRead,
            Permission::MembersRead,
            Permission::ProtocolRead,
            Permission::PaymentsRead,
            Permission::LedgerRead,
            Permission::VideoRead,
        ],
    ),
    (
        Role::VideoOfficer,
        &[
            Permission::Backoffice,
            Permission::VideoRead,
            Permission::VideoOperate,
        ],
    ),
    (
        Role::VideoManager,
        &[
            Permission::Backoffice,
            Permission::VideoRead,
            Permission::VideoOperate,
            Permission::VideoManage,
        ],
    ),
    (
        Role::Admin,
        &[
            Permission::Backoffice,
            Permission::AuditRead,
            Permission::UsersManage,
            Permission::ProtocolRead,
            Permission::ProtocolWrite,
            Permission::ProtocolAnnul,
            Permission::Import,
            Permission::LedgerRead,
        ],
    ),
];

pub fn role_grants(role: Role, permission: Permission) -> bool {
    ROLE_PERMISSIONS
        .iter()
        .any(|(r, perms)| *r == role && perms.contains(&permission))
}

/// Who is asking, as far as authorization cares.
#[derive(Debug, Clone, Default)]
pub struct Principal {
    pub roles: Vec<Role>,
    pub second_factor: bool,
    pub authenticated: bool,
}

/// The outcome of an authorization check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// Not logged in: go to the login page.
    NeedLogin,
    /// Staff without an active second factor: go and enrol it.
    NeedSecondFactor,
    Deny,
}

impl Principal {
    pub fn anonymous() -> Self {
        Principal::default()
    }

    pub fn is_staff(&self) -> bool {
        self.roles.iter().any(|r| r.is_staff())
    }

    pub fn decide(&self, permission: Permission) -> Decision {
        match permission {
            Permission::Public => Decision::Allow,
            _ if !self.authenticated => Decision::NeedLogin,
            Permission::Authenticated => Decision::Allow,
            p => {
                let granted = self.roles.iter().any(|r| role_grants(*r, p));
                if !granted {
                    Decision::Deny
                } else if p.needs_second_factor() && !self.second_factor {
                    Decision::NeedSecondFactor
                } else {
                    Decision::Allow
                }
            }
        }
    }
}

pub const PASSWORD_MIN_CHARS: usize = 8;
pub const PASSWORD_MAX_CHARS: usize = 256;

/// NIST SP 800-63B / OWASP: length only, no composition rules, any character.
pub fn check_new_password(field: &'static str, password: &str, confirm: &str) -> Vec<FieldError> {
    let n = password.chars().count();
    let mut errors = vec![];
    if n < PASSWORD_MIN_CHARS {
        errors.push(FieldError::new(
            field,
            format!("La password deve avere almeno {PASSWORD_MIN_CHARS} caratteri."),
        ));
    } else if n > PASSWORD_MAX_CHARS {
        errors.push(FieldError::new(
            field,
            format!("La password può avere al massimo {PASSWORD_MAX_CHARS} caratteri."),
        ));
    }
    if password != confirm {
        errors.push(FieldError::new(
            "password_confirm",
            "Le due password non coincidono.",
        ));
    }
    errors
}

/// An e-mail address as accounts store it: trimmed, lower case, plausibly shaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(field: &'static str, raw: &str) -> Result<Email, FieldError> {
        let s = raw.trim().to_lowercase();
        if s.is_empty() {
            return Err(FieldError::new(field, "Indica l'indirizzo e-mail."));
        }
        if s.len() > 254 || s.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(FieldError::new(field, "L'indirizzo e-mail non è valido."));
        }
        match s.split_once('@') {
            Some((local, domain))
                if !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains('@') =>
            {
                Ok(Email(s))
            }
            _ => Err(FieldError::new(
                field,
                "L'indirizzo e-mail non è valido: manca la @ o il dominio.",
            )),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Local redirect targets only (`/…`, not `//…`), so `next=` cannot send people elsewhere.
pub fn safe_next(next: Option<&str>) -> Option<String> {
    next.filter(|n| {
        n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') && !n.chars().any(char::is_control)
    })
    .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(roles: &[Role], second_factor: bool) -> Principal {
        Principal {
            roles: roles.to_vec(),
            second_factor,
            authenticated: true,
        }
    }

    #[test]
    fn role_names_round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn every_role_is_in_the_table() {
        for r in Role::ALL {
            assert!(ROLE_PERMISSIONS.iter().any(|(x, _)| *x == r), "{r:?} missing");
        }
    }

    #[test]
    fn decisions() {
        let anon = Principal::anonymous();
        assert_eq!(anon.decide(Permission::Public), Decision::Allow);
        assert_eq!(anon.decide(Permission::Authenticated), Decision::NeedLogin);
        assert_eq!(anon.decide(Permission::Backoffice), Decision::NeedLogin);

        let member = principal(&[Role::Member], false);
        assert_eq!(member.decide(Permission::Portal), Decision::Allow);
        assert_eq!(member.decide(Permission::Backoffice), Decision::Deny);

        let secretary = principal(&[Role::Secretariat], false);
        assert_eq!(
            secretary.decide(Permission::Backoffice),
            Decision::NeedSecondFactor
        );
        assert_eq!(secretary.decide(Permission::Authenticated), Decision::Allow);
        assert_eq!(secretary.decide(Permission::AuditRead), Decision::Deny);
        let secretary = principal(&[Role::Secretariat], true);
        assert_eq!(secretary.decide(Permission::Backoffice), Decision::Allow);

        // Several roles: the union of their permissions.
        let both = principal(&[Role::Member, Role::Auditor], true);
        assert_eq!(both.decide(Permission::Portal), Decision::Allow);
        assert_eq!(both.decide(Permission::AuditRead), Decision::Allow);
        assert_eq!(both.decide(Permission::UsersManage), Decision::Deny);
    }

    #[test]
    fn password_length_only() {
        assert!(check_new_password("p", "abcdefgh", "abcdefgh").is_empty());
        assert!(check_new_password("p", "        ", "        ").is_empty());
        assert_eq!(check_new_password("p", "abcdefg", "abcdefg").len(), 1);
        let long: String = "é".repeat(64);
        assert!(check_new_password("p", &long, &long).is_empty());
        let too_long: String = "x".repeat(257);
        assert_eq!(check_new_password("p", &too_long, &too_long).len(), 1);
        assert_eq!(
            check_new_password("p", "abcdefgh", "abcdefgX")[0].field,
            "password_confirm"
        );
    }

    #[test]
    fn emails() {
        assert_eq!(
            Email::parse("e", "  Mario.Rossi@Example.ORG ").unwrap().as_str(),
            "mario.rossi@example.org"
        );
        for bad in [
            "",
            "mario",
            "mario@",
            "@x.it",
            "a b@x.it",
            "a@x",
            "a@x.it\r\nBcc: y",
        ] {
            assert!(Email::parse("e", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn next_targets() {
        assert_eq!(safe_next(Some("/backoffice")), Some("/backoffice".into()));
        assert_eq!(safe_next(Some("//evil.example")), None);
        assert_eq!(safe_next(Some("https://evil.example")), None);
        assert_eq!(safe_next(Some("/\\evil")), None);
        assert_eq!(safe_next(None), None);
    }
}
