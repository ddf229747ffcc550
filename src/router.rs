//! Every route of ordo, in one place, each with the permission it needs. The `routes!` macro builds
//! both the axum router and the table [`ROUTES`]; a route cannot be added without a permission, and
//! the guard below refuses any matched route that is not in the table (deny by default).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::MethodRouter;

use crate::auth::{CurrentUser, Decision, Permission, Principal};
use crate::error::AppError;
use crate::state::AppState;
use crate::{
    api, audit, auth, documents, gdpr, import, ledger, members, ops, pages, payments, protocol, requests,
    sso, video, web,
};

/// One registered route: method (lower case, as in `axum::routing`), path pattern and permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteSpec {
    pub method: &'static str,
    pub path: &'static str,
    pub permission: Permission,
}

macro_rules! routes {
    ($( $method:ident $path:literal $perm:ident => $handler:expr; )*) => {
        /// The route table: what the permission guard enforces and what the tests walk.
        pub const ROUTES: &[RouteSpec] = &[
            $( RouteSpec { method: stringify!($method), path: $path, permission: Permission::$perm }, )*
        ];

        fn table_router() -> Router<AppState> {
            let router = Router::new();
            $( let router = router.route($path, axum::routing::$method($handler)); )*
            router
        }
    };
}

routes! {
    // Public pages and operations.
    get  "/"                        Public        => pages::home;
    get  "/healthz"                 Public        => ops::healthz;
    get  "/readyz"                  Public        => ops::readyz;
    get  "/metrics"                 Public        => ops::metrics;
    get  "/static/{*path}"          Public        => web::assets::serve;
    get  "/theme.css"               Public        => web::assets::theme;
    get  "/logo"                    Public        => web::assets::logo;

    // Login and password reset.
    get  "/login"                   Public        => auth::handlers::login_form;
    post "/login"                   Public        => auth::handlers::login_submit;
    get  "/login/otp"               Public        => auth::handlers::otp_form;
    post "/login/otp"               Public        => auth::handlers::otp_submit;
    post "/logout"                  Public        => auth::handlers::logout;
    get  "/password/dimenticata"    Public        => auth::handlers::forgot_form;
    post "/password/dimenticata"    Public        => auth::handlers::forgot_submit;
    get  "/password/reimposta"      Public        => auth::handlers::reset_form;
    post "/password/reimposta"      Public        => auth::handlers::reset_submit;

    // SPID and other SAML2 IdPs (the first four paths are registered with AgID).
    get  "/spid/metadata"           Public        => sso::handlers::metadata;
    get  "/spid/login"              Public        => sso::handlers::login;
    post "/spid/acs"                Public        => sso::handlers::acs;
    get  "/spid/completa"           Public        => sso::handlers::complete;
    get  "/spid/slo"                Public        => sso::handlers::slo_get;
    post "/spid/slo"                Public        => sso::handlers::slo_post;
    get  "/cns/login"               Public        => sso::handlers::cns_login;
    get  "/oidc/{provider}/login"   Public        => sso::handlers::oidc_login;
    get  "/oidc/callback"           Public        => sso::handlers::oidc_callback;
    get  "/oidc/jwks.json"          Public        => sso::handlers::oidc_jwks;
    get  "/.well-known/openid-federation" Public  => sso::handlers::openid_federation;

    // Verification of the documents ordo issues (QR codes point here).
    get  "/verifica"                Public        => documents::handlers::verify_form;
    get  "/verifica/{code}"         Public        => documents::handlers::verify;

    // The video-surveillance first-level notice (Allegato C of seed 002) and the camera sites.
    get  "/videosorveglianza"       Public        => video::handlers::public;

    // Own account (any logged-in person, staff included before enrolling the second factor).
    get  "/account"                 Authenticated => auth::handlers::account;
    post "/account/password"        Authenticated => auth::handlers::change_password;
    post "/account/email"           Authenticated => auth::handlers::change_email;
    get  "/account/totp"            Authenticated => auth::handlers::totp_page;
    post "/account/totp"            Authenticated => auth::handlers::totp_enrol;
    post "/account/totp/reset"      Authenticated => auth::handlers::totp_reset;
    post "/account/recovery-codes"  Authenticated => auth::handlers::recovery_regenerate;

    // Public Albo.
    get  "/albo"                    Public        => members::handlers::albo;
    get  "/albo/{numero}"           Public        => members::handlers::albo_member;
    get  "/albo/{numero}/foto"      Public        => members::handlers::albo_photo;

    // Member portal.
    get  "/portale"                 Portal        => members::handlers::portal;
    post "/portale/consensi"        Portal        => members::handlers::set_consents;
    post "/portale/sede-lavoro"     Portal        => members::handlers::set_workplace;
    get  "/portale/richieste"       Portal        => requests::handlers::my_requests;
    get  "/portale/i-miei-dati.json" Portal       => gdpr::my_data;
    get  "/portale/i-miei-dati.pdf" Portal        => gdpr::my_data_pdf;
    post "/portale/richieste/dati"  Portal        => requests::handlers::submit_data_change;
    post "/portale/richieste/pec"   Portal        => requests::handlers::submit_pec;
    post "/portale/foto"            Portal        => requests::handlers::submit_photo;
    get  "/portale/foto/{id}"       Portal        => requests::handlers::my_photo;
    get  "/portale/messaggi"        Portal        => requests::handlers::my_messages;
    post "/portale/messaggi"        Portal        => requests::handlers::start_conversation;
    get  "/portale/messaggi/{id}"   Portal        => requests::handlers::my_thread;
    post "/portale/messaggi/{id}"   Portal        => requests::handlers::my_reply;
    get  "/portale/allegati/{id}"   Portal        => requests::handlers::my_attachment;
    get  "/portale/tesserino"       Portal        => documents::handlers::card;
    get  "/portale/tesserino.pdf"   Portal        => documents::handlers::card_pdf;
    get  "/portale/documenti"       Portal        => documents::handlers::documents;
    get  "/portale/documenti/{id}"  Portal        => documents::handlers::my_document;
    post "/portale/autocertificazione" Portal     => documents::handlers::self_certification;
    post "/portale/richieste/certificato" Portal  => documents::handlers::request_certificate;
    post "/portale/richieste/cancellazione" Portal => documents::handlers::request_cancellation;
    get  "/portale/iscrizione"      Portal        => requests::enrolment::form;
    post "/portale/iscrizione"      Portal        => requests::enrolment::submit;
    get  "/portale/pagamenti"       Portal        => payments::handlers::mine;
    get  "/portale/pagamenti/{id}/avviso.pdf" Portal => payments::handlers::my_notice;
    get  "/portale/pagamenti/{id}/ricevuta.pdf" Portal => payments::handlers::my_receipt;

    // Back office.
    get  "/backoffice"              Backoffice    => pages::backoffice_home;
    get  "/backoffice/audit"        AuditRead     => audit::handlers::audit_page;
    get  "/backoffice/utenti"       UsersManage   => auth::handlers::users_page;
    get  "/backoffice/iscritti"     MembersRead   => members::handlers::list;
    get  "/backoffice/iscritti/export.csv" MembersWrite => members::handlers::export_csv;
    get  "/backoffice/iscritti/export.pdf" MembersWrite => members::handlers::export_pdf;
    get  "/backoffice/iscritti/{id}" MembersRead  => members::handlers::sheet;
    post "/backoffice/iscritti/{id}/stato" MembersWrite => members::handlers::change_status;
    get  "/backoffice/pratiche"     RequestsManage => requests::handlers::inbox;
    get  "/backoffice/foto/{id}"    MembersRead   => requests::handlers::staff_photo;
    get  "/backoffice/pratiche/{id}" RequestsManage => requests::handlers::detail;
    post "/backoffice/pratiche/{id}/azione" RequestsManage => requests::handlers::act;
    post "/backoffice/pratiche/{id}/messaggio" RequestsManage => requests::handlers::staff_reply;
    get  "/backoffice/allegati/{id}" RequestsManage => requests::handlers::staff_attachment;
    get  "/backoffice/protocollo"   ProtocolRead  => protocol::handlers::list;
    post "/backoffice/protocollo"   ProtocolWrite => protocol::handlers::create;
    get  "/backoffice/protocollo/nuova" ProtocolWrite => protocol::handlers::new_form;
    get  "/backoffice/protocollo/giornaliero" ProtocolRead => protocol::handlers::dailies;
    get  "/backoffice/protocollo/giornaliero/{file}" ProtocolRead => protocol::handlers::daily_file;
    get  "/backoffice/protocollo/documenti/{id}" ProtocolRead => protocol::handlers::document;
    get  "/backoffice/protocollo/{id}" ProtocolRead => protocol::handlers::detail;
    post "/backoffice/protocollo/{id}/annulla" ProtocolAnnul => protocol::handlers::annul;
    get  "/backoffice/protocollo/{id}/segnatura.xml" ProtocolRead => protocol::handlers::segnatura_xml;
    get  "/backoffice/protocollo/pregresso" ProtocolRead => protocol::handlers::legacy;
    get  "/backoffice/pagamenti"    PaymentsRead  => payments::handlers::list;
    get  "/backoffice/pagamenti/morosi" PaymentsRead => payments::handlers::arrears;
    get  "/backoffice/pagamenti/{id}/avviso.pdf" PaymentsRead => payments::handlers::staff_notice;
    post "/backoffice/pagamenti/quote-annuali" PaymentsManage => payments::handlers::annual_fees;
    post "/backoffice/pagamenti/riconciliazione" PaymentsManage => payments::handlers::reconcile_upload;
    post "/backoffice/pagamenti/posizione" PaymentsManage => payments::handlers::create_other;
    get  "/backoffice/contabilita"  LedgerRead    => ledger::handlers::index;
    get  "/backoffice/contabilita/vincolati" LedgerRead => ledger::handlers::funds;
    post "/backoffice/contabilita/vincolati" LedgerWrite => ledger::handlers::create_fund;
    get  "/backoffice/contabilita/vincolati.csv" LedgerRead => ledger::exports::funds_csv;
    get  "/backoffice/contabilita/vincolati.pdf" LedgerRead => ledger::exports::funds_pdf;
    get  "/backoffice/contabilita/capitolo/{id}" LedgerRead => ledger::handlers::chapter;
    post "/backoffice/contabilita/capitolo/{id}/operazione" LedgerWrite => ledger::handlers::new_operation;
    post "/backoffice/contabilita/voce/{id}/{action}" LedgerWrite => ledger::handlers::entry_action;
    get  "/backoffice/contabilita/voce/{id}/ricevuta.pdf" LedgerRead => ledger::handlers::receipt;
    get  "/backoffice/contabilita/{year}" LedgerRead => ledger::handlers::year;
    get  "/backoffice/contabilita/{year}/confronto.csv" LedgerRead => ledger::exports::year_csv;
    get  "/backoffice/contabilita/{year}/confronto.pdf" LedgerRead => ledger::exports::year_pdf;
    get  "/backoffice/contabilita/{year}/rendiconto.csv" LedgerRead => ledger::exports::rendiconto_csv;
    get  "/backoffice/contabilita/{year}/rendiconto.pdf" LedgerRead => ledger::exports::rendiconto_pdf;
    get  "/backoffice/contabilita/{year}/cassa" LedgerRead => ledger::handlers::cash;
    get  "/backoffice/contabilita/{year}/gestione" LedgerWrite => ledger::manage::manage;
    post "/backoffice/contabilita/{year}/gestione" LedgerWrite => ledger::manage::act;
    get  "/backoffice/contabilita/{year}/residui.csv" LedgerRead => ledger::exports::residui_csv;
    get  "/backoffice/contabilita/{year}/residui.pdf" LedgerRead => ledger::exports::residui_pdf;
    get  "/backoffice/contabilita/{year}/cassa.csv" LedgerRead => ledger::exports::cash_csv;
    get  "/backoffice/contabilita/{year}/cassa.pdf" LedgerRead => ledger::exports::cash_pdf;
    get  "/backoffice/videosorveglianza" VideoRead => video::handlers::home;
    post "/backoffice/videosorveglianza/accessi" VideoOperate => video::handlers::log_session;
    get  "/backoffice/videosorveglianza/autorizzazioni" VideoRead => video::handlers::grants;
    post "/backoffice/videosorveglianza/autorizzazioni" VideoManage => video::handlers::change_grant;
    get  "/backoffice/videosorveglianza/richieste" VideoRead => video::handlers::request_list;
    post "/backoffice/videosorveglianza/richieste" VideoOperate => video::handlers::submit_request;
    get  "/backoffice/videosorveglianza/richieste/{id}" VideoRead => video::handlers::request_detail;
    post "/backoffice/videosorveglianza/richieste/{id}/decisione" VideoManage => video::handlers::decide;
    post "/backoffice/videosorveglianza/richieste/{id}/azione" VideoOperate => video::handlers::act;
    get  "/backoffice/videosorveglianza/richieste/{id}/verbale.pdf" VideoRead => video::handlers::verbale_pdf;
    get  "/backoffice/videosorveglianza/allegati/{id}" VideoRead => video::handlers::attachment;
    get  "/backoffice/videosorveglianza/conservazione" VideoRead => video::handlers::retention;
    get  "/backoffice/videosorveglianza/report/{file}" VideoRead => video::handlers::report;
    get  "/backoffice/import"       Import        => import::handlers::index;
    post "/backoffice/import"       Import        => import::handlers::upload;
    get  "/backoffice/import/modello/{kind}" Import => import::handlers::template;
    get  "/backoffice/import/{id}"  Import        => import::handlers::job;
    post "/backoffice/import/{id}/mappatura" Import => import::handlers::set_mapping;
    post "/backoffice/import/{id}/avvia" Import  => import::handlers::start;
    get  "/backoffice/import/{id}/stato" Import  => import::handlers::status;
    get  "/backoffice/import/{id}/scartate.csv" Import => import::handlers::rejected;

    // JSON API.
    get  "/api/v1"                  Public        => api::index;
    get  "/api/v1/me"               Authenticated => api::me;
}

/// (method, path) → permission, for the guard.
#[derive(Clone, Default)]
pub struct PermissionTable(Arc<HashMap<(Method, String), Permission>>);

impl PermissionTable {
    pub fn new(specs: &[RouteSpec]) -> Self {
        let mut map = HashMap::new();
        for s in specs {
            if let Ok(m) = Method::from_bytes(s.method.to_ascii_uppercase().as_bytes()) {
                map.insert((m, s.path.to_string()), s.permission);
            }
        }
        PermissionTable(Arc::new(map))
    }

    fn lookup(&self, method: &Method, path: &str) -> Option<Permission> {
        let method = if method == Method::HEAD {
            &Method::GET
        } else {
            method
        };
        self.0.get(&(method.clone(), path.to_string())).copied()
    }
}

/// The permission guard, run on every matched route.
async fn guard(State(table): State<PermissionTable>, req: Request, next: Next) -> Response {
    let matched = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string());
    let Some(permission) = matched.as_deref().and_then(|p| table.lookup(req.method(), p)) else {
        tracing::error!(route = ?matched, method = %req.method(), "route without a permission refused");
        return AppError::Forbidden.into_response();
    };
    let principal = req
        .extensions()
        .get::<CurrentUser>()
        .map(|u| u.principal())
        .unwrap_or_else(Principal::anonymous);
    match principal.decide(permission) {
        Decision::Allow => next.run(req).await,
        Decision::NeedLogin => {
            let next_path = req.uri().path_and_query().map(|p| p.as_str().to_string());
            AppError::Unauthenticated { next: next_path }.into_response()
        }
        Decision::NeedSecondFactor => {
            if req.uri().path().starts_with("/api/") {
                AppError::Forbidden.into_response()
            } else {
                Redirect::to("/account/totp").into_response()
            }
        }
        Decision::Deny => AppError::Forbidden.into_response(),
    }
}

/// Builds the router: the table's routes plus, for tests, extra routes with their own permission
/// and an unchecked router (which the guard refuses, proving deny-by-default).
pub fn build(
    extra: Vec<(RouteSpec, MethodRouter<AppState>)>,
    unchecked: Option<Router<AppState>>,
) -> Router<AppState> {
    let mut specs: Vec<RouteSpec> = ROUTES.to_vec();
    let mut router = table_router();
    for (spec, method_router) in extra {
        specs.push(spec);
        router = router.route(spec.path, method_router);
    }
    if let Some(r) = unchecked {
        router = router.merge(r);
    }
    let table = PermissionTable::new(&specs);
    router.route_layer(axum::middleware::from_fn_with_state(table, guard))
}
