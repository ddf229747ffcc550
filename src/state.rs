//! The application state handed to every handler: pool, configuration and the outside world
//! (clock, mailer) behind traits so tests can fix them.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use sqlx::PgPool;

use crate::clock::Clock;
use crate::config::Config;
use crate::mail::Mailer;
use crate::web::metrics::Metrics;

/// Cheap to clone (one reference count): every middleware and extractor clones it per request.
#[derive(Clone)]
pub struct AppState(Arc<AppStateInner>);

impl std::ops::Deref for AppState {
    type Target = AppStateInner;
    fn deref(&self) -> &AppStateInner {
        &self.0
    }
}

pub struct AppStateInner {
    pub pool: PgPool,
    pub config: Arc<Config>,
    pub clock: Arc<dyn Clock>,
    pub mailer: Arc<dyn Mailer>,
    pub metrics: Arc<Metrics>,
    /// Small per-process caches of slow-changing lists.
    pub caches: Arc<Caches>,
    /// The SPID/SAML service provider, when `spid.enabled` (see [`AppState::with_spid`]).
    pub spid: Option<Arc<crate::sso::saml::Sp>>,
    /// The smart-card (CNS/CRS) verifier, when `cns.enabled`.
    pub cns: Option<Arc<crate::sso::cns::Cns>>,
    /// The OpenID Connect relying party, when providers are configured.
    pub oidc: Option<Arc<crate::sso::oidc::Oidc>>,
    /// The protocol register's writer of registrations made on their own (group commit).
    pub registrar: Arc<crate::protocol::registrar::Registrar>,
    /// Per-client limit of the public Albo (per process).
    pub public_limiter: Arc<DefaultKeyedRateLimiter<IpAddr>>,
}

impl AppState {
    pub fn new(pool: PgPool, config: Config, clock: Arc<dyn Clock>, mailer: Arc<dyn Mailer>) -> Self {
        let per_minute = NonZeroU32::new(config.albo.public_requests_per_minute).unwrap_or(NonZeroU32::MIN);
        if !config.rate_limits_on() {
            tracing::warn!("rate_limits = \"off\": public pages are not rate-limited (benchmarks only)");
        }
        let public_page_ttl = std::time::Duration::from_secs(config.albo.public_cache_seconds);
        let registrar = Arc::new(crate::protocol::registrar::Registrar::new(
            pool.clone(),
            &config.protocol.aoo_code,
            &config.protocol.register_code,
        ));
        AppState(Arc::new(AppStateInner {
            pool,
            registrar,
            config: Arc::new(config),
            clock,
            mailer,
            metrics: Arc::new(Metrics::new()),
            public_limiter: Arc::new(RateLimiter::keyed(Quota::per_minute(per_minute))),
            caches: Arc::new(Caches::new(public_page_ttl)),
            spid: None,
            cns: None,
            oidc: None,
        }))
    }

    /// Loads the single sign-on parts that are configured: the SPID service provider (keys, IdP
    /// metadata), the smart-card verifier (CAs, CRLs) and the OIDC relying party. Call right after [`AppState::new`], before
    /// the state is shared.
    pub fn with_sso(mut self) -> anyhow::Result<Self> {
        let sp = crate::sso::saml::Sp::load(&self.config)?;
        let cns = crate::sso::cns::Cns::load(&self.config)?;
        let oidc = crate::sso::oidc::Oidc::load(&self.config)?;
        match Arc::get_mut(&mut self.0) {
            Some(inner) => {
                inner.spid = sp.map(Arc::new);
                inner.cns = cns.map(Arc::new);
                inner.oidc = oidc.map(Arc::new);
            }
            None => anyhow::bail!("AppState::with_sso called on a shared state"),
        }
        Ok(self)
    }

    /// Refuses a public request over the per-client limit (unless rate limits are off).
    pub fn check_public_rate(&self, ip: IpAddr) -> crate::error::AppResult<()> {
        if !self.config.rate_limits_on() {
            return Ok(());
        }
        self.public_limiter
            .check_key(&ip)
            .map_err(|_| crate::error::AppError::TooManyRequests {
                retry_after_seconds: 60,
            })
    }

    pub fn now(&self) -> time::OffsetDateTime {
        self.clock.now()
    }

    /// The PDF renderer (fonts parsed once per process, on first use).
    pub fn pdf(&self) -> &'static crate::pdf::Renderer {
        crate::pdf::renderer()
    }
}

/// A value kept for a short time (per process): lists that change rarely and cost a scan to build.
pub struct Cached<T> {
    ttl: std::time::Duration,
    slot: std::sync::Mutex<Option<(std::time::Instant, Arc<T>)>>,
}

impl<T> Cached<T> {
    pub fn new(ttl: std::time::Duration) -> Self {
        Cached {
            ttl,
            slot: std::sync::Mutex::new(None),
        }
    }

    pub fn get(&self) -> Option<Arc<T>> {
        let slot = self.slot.lock().ok()?;
        slot.as_ref()
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, v)| v.clone())
    }

    pub fn put(&self, value: Arc<T>) {
        if let Ok(mut slot) = self.slot.lock() {
            *slot = Some((std::time::Instant::now(), value));
        }
    }
}

pub struct Caches {
    pub municipalities: Cached<Vec<String>>,
    /// Rendered public Albo search pages for anonymous visitors (`albo.public_cache_seconds`).
    pub public_pages: PageCache,
}

impl Caches {
    pub fn new(public_page_ttl: std::time::Duration) -> Self {
        Caches {
            municipalities: Cached::new(std::time::Duration::from_secs(60)),
            public_pages: PageCache::new(public_page_ttl),
        }
    }
}

/// A small per-process cache of rendered public pages, keyed by the query string. Entries live for
/// the configured seconds (the bound on how stale another process's view may be); any state-changing
/// request to this process empties it at once. A zero TTL disables it.
pub struct PageCache {
    ttl: std::time::Duration,
    entries:
        std::sync::Mutex<std::collections::HashMap<String, (std::time::Instant, u16, axum::body::Bytes)>>,
}

/// Most pages kept (a search page is about 16 kB).
const PAGE_CACHE_ENTRIES: usize = 512;

impl PageCache {
    pub fn new(ttl: std::time::Duration) -> Self {
        PageCache {
            ttl,
            entries: std::sync::Mutex::new(std::collections::HashMap::new()),
        }
    }

    pub fn enabled(&self) -> bool {
        !self.ttl.is_zero()
    }

    pub fn get(&self, key: &str) -> Option<(u16, axum::body::Bytes)> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(key)
            .filter(|(at, ..)| at.elapsed() < self.ttl)
            .map(|(_, status, body)| (*status, body.clone()))
    }

    pub fn put(&self, key: String, status: u16, body: axum::body::Bytes) {
        if !self.enabled() {
            return;
        }
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= PAGE_CACHE_ENTRIES {
                let ttl = self.ttl;
                entries.retain(|_, (at, ..)| at.elapsed() < ttl);
            }
            if entries.len() < PAGE_CACHE_ENTRIES {
                entries.insert(key, (std::time::Instant::now(), status, body));
            }
        }
    }

    pub fn clear(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.clear();
        }
    }
}
