//! `TestApp`: drives `ordo::app` in process with a cookie jar and automatic CSRF tokens.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use ordo::audit::Actor;
use ordo::auth::Role;
use ordo::auth::service::{NewAccount, create_account};
use ordo::clock::ManualClock;
use ordo::config::Config;
use ordo::mail::{LogMailer, Mailer};
use ordo::state::AppState;
use scraper::{Html, Selector};
use sqlx::PgPool;
use time::macros::datetime;
use tower::ServiceExt;

pub const PASSWORD: &str = "una password lunga abbastanza";

pub fn test_config(overrides: &[(&str, &str)]) -> Config {
    // The public page cache is off unless a test turns it on: tests change data between requests.
    let mut env: Vec<(String, String)> = vec![
        ("DATABASE_URL".into(), "postgres://unused@localhost/unused".into()),
        ("ORDO_ALBO_PUBLIC_CACHE_SECONDS".into(), "0".into()),
    ];
    env.extend(overrides.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Config::load_from(None, env).expect("test config")
}

pub struct TestApp {
    pub router: Router,
    pub state: AppState,
    pub clock: Arc<ManualClock>,
    pub cookies: BTreeMap<String, String>,
    pub csrf: Option<String>,
}

pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
    pub bytes: Vec<u8>,
}

impl TestResponse {
    pub fn location(&self) -> Option<&str> {
        self.headers.get(header::LOCATION).and_then(|v| v.to_str().ok())
    }

    pub fn doc(&self) -> Html {
        Html::parse_document(&self.body)
    }

    /// Text of the elements matching `selector`, trimmed.
    pub fn texts(&self, selector: &str) -> Vec<String> {
        let sel = Selector::parse(selector).expect("selector");
        self.doc()
            .select(&sel)
            .map(|e| e.text().collect::<String>().trim().to_string())
            .collect()
    }

    pub fn has(&self, selector: &str) -> bool {
        let sel = Selector::parse(selector).expect("selector");
        self.doc().select(&sel).next().is_some()
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_string))
            .collect()
    }
}

pub fn start_time() -> time::OffsetDateTime {
    datetime!(2026-11-20 09:00 UTC)
}

impl TestApp {
    pub async fn new(pool: PgPool) -> TestApp {
        Self::with(pool, test_config(&[]), Arc::new(LogMailer), |b| b).await
    }

    pub async fn with(
        pool: PgPool,
        config: Config,
        mailer: Arc<dyn Mailer>,
        customise: impl FnOnce(ordo::AppBuilder) -> ordo::AppBuilder,
    ) -> TestApp {
        ordo::ops::sync_catalogues(&pool, &config)
            .await
            .expect("catalogues");
        let clock = Arc::new(ManualClock::new(start_time()));
        let state = AppState::new(pool, config, clock.clone(), mailer)
            .with_sso()
            .expect("single sign-on configuration");
        let router = customise(ordo::AppBuilder::new(state.clone())).build();
        TestApp {
            router,
            state,
            clock,
            cookies: BTreeMap::new(),
            csrf: None,
        }
    }

    /// A second browser on the same app (no cookies).
    pub fn fresh_browser(&self) -> TestApp {
        TestApp {
            router: self.router.clone(),
            state: self.state.clone(),
            clock: self.clock.clone(),
            cookies: BTreeMap::new(),
            csrf: None,
        }
    }

    pub fn session_cookie(&self) -> Option<String> {
        self.cookies.get(self.state.config.session_cookie_name()).cloned()
    }

    pub async fn request(&mut self, req: Request<Body>) -> TestResponse {
        let response = self.router.clone().oneshot(req).await.expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.expect("body").to_bytes();
        let body = String::from_utf8_lossy(&bytes).into_owned();
        for c in headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
        {
            let pair = c.split(';').next().unwrap_or("");
            if let Some((name, value)) = pair.split_once('=') {
                let removed = c.to_ascii_lowercase().contains("max-age=0") || value.is_empty();
                if removed {
                    self.cookies.remove(name.trim());
                } else {
                    self.cookies.insert(name.trim().to_string(), value.to_string());
                }
            }
        }
        let r = TestResponse {
            status,
            headers,
            body,
            bytes: bytes.to_vec(),
        };
        if let Some(token) = r
            .doc()
            .select(&Selector::parse("input[name=csrf_token]").expect("selector"))
            .next()
            .and_then(|e| e.value().attr("value"))
        {
            if !token.is_empty() {
                self.csrf = Some(token.to_string());
            }
        }
        r
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub fn build(&self, method: Method, path: &str) -> axum::http::request::Builder {
        let mut b = Request::builder().method(method).uri(path);
        if !self.cookies.is_empty() {
            b = b.header(header::COOKIE, self.cookie_header());
        }
        b
    }

    pub async fn get(&mut self, path: &str) -> TestResponse {
        let req = self
            .build(Method::GET, path)
            .body(Body::empty())
            .expect("request");
        self.request(req).await
    }

    /// POSTs a form, adding the CSRF token of the last page seen.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> TestResponse {
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        let token = self.csrf.clone();
        if let Some(t) = token.as_deref() {
            all.push(("csrf_token", t));
        }
        self.post_raw(path, &all).await
    }

    /// POSTs exactly these fields (no automatic CSRF token).
    pub async fn post_raw(&mut self, path: &str, fields: &[(&str, &str)]) -> TestResponse {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let req = self
            .build(Method::POST, path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .expect("request");
        self.request(req).await
    }

    /// POSTs a multipart form as the upload forms do: the CSRF token of the last page seen in the
    /// query string, then text fields and files (field, file name, bytes).
    pub async fn multipart(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &str, Vec<u8>)],
    ) -> TestResponse {
        let boundary = "ordo-test-boundary-7f3a";
        let mut body = Vec::new();
        for (name, value) in fields {
            body.extend(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                    .into_bytes(),
            );
        }
        for (name, file_name, bytes) in files {
            body.extend(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\n\
                     Content-Type: application/octet-stream\r\n\r\n"
                )
                .into_bytes(),
            );
            body.extend(bytes);
            body.extend(b"\r\n");
        }
        body.extend(format!("--{boundary}--\r\n").into_bytes());
        let sep = if path.contains('?') { '&' } else { '?' };
        let uri = match &self.csrf {
            Some(token) => format!("{path}{sep}csrf_token={token}"),
            None => path.to_string(),
        };
        let req = self
            .build(Method::POST, &uri)
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .header(header::CONTENT_LENGTH, body.len().to_string())
            .body(Body::from(body))
            .expect("request");
        self.request(req).await
    }

    /// Creates an account (TOTP active with a fresh secret when `totp`), returns the secret.
    pub async fn create_user(&self, email: &str, roles: &[Role], totp: bool) -> Option<String> {
        let secret = totp.then(ordo::auth::totp::new_secret);
        let mut tx = self.state.pool.begin().await.expect("tx");
        create_account(
            &mut tx,
            self.clock_now(),
            &Actor::system("test"),
            NewAccount {
                email,
                display_name: "Persona di Prova",
                password: PASSWORD,
                roles,
                totp_secret: secret.as_deref(),
            },
        )
        .await
        .expect("create account");
        tx.commit().await.expect("commit");
        secret
    }

    /// A member account linked to the register entry `member_id`, logged in (a new browser).
    pub async fn member_browser(&self, member_id: i64, email: &str) -> TestApp {
        self.create_user(email, &[Role::Member], false).await;
        let user_id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
            .bind(email)
            .fetch_one(&self.state.pool)
            .await
            .expect("user");
        let mut tx = self.state.pool.begin().await.expect("tx");
        ordo::members::service::link_user(&mut tx, member_id, user_id)
            .await
            .expect("link");
        tx.commit().await.expect("commit");
        let mut b = self.fresh_browser();
        b.login(email, PASSWORD, None).await;
        b
    }

    pub fn clock_now(&self) -> time::OffsetDateTime {
        use ordo::clock::Clock;
        self.clock.now()
    }

    pub fn totp_code(&self, secret: &str) -> String {
        ordo::auth::totp::code_at(secret, self.clock_now().unix_timestamp() as u64).expect("code")
    }

    /// Logs in with password (and TOTP when a secret is given); returns the final response.
    pub async fn login(&mut self, email: &str, password: &str, secret: Option<&str>) -> TestResponse {
        self.get("/login").await;
        let r = self
            .post("/login", &[("email", email), ("password", password)])
            .await;
        match (r.location(), secret) {
            (Some("/login/otp"), Some(secret)) => {
                self.get("/login/otp").await;
                let code = self.totp_code(secret);
                self.post("/login/otp", &[("code", &code)]).await
            }
            _ => r,
        }
    }

    /// Moves the clock to the next TOTP time step (a fresh code).
    pub fn next_totp_step(&self) {
        self.clock.advance(time::Duration::seconds(30));
    }
}
