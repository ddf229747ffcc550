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

#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub config: Arc<Config>,
    pub clock: Arc<dyn Clock>,
    pub mailer: Arc<dyn Mailer>,
    pub metrics: Arc<Metrics>,
    /// Per-client limit of the public Albo (per process).
    pub public_limiter: Arc<DefaultKeyedRateLimiter<IpAddr>>,
}

impl AppState {
    pub fn new(pool: PgPool, config: Config, clock: Arc<dyn Clock>, mailer: Arc<dyn Mailer>) -> Self {
        let per_minute = NonZeroU32::new(config.albo.public_requests_per_minute).unwrap_or(NonZeroU32::MIN);
        if !config.rate_limits_on() {
            tracing::warn!("rate_limits = \"off\": public pages are not rate-limited (benchmarks only)");
        }
        AppState {
            pool,
            config: Arc::new(config),
            clock,
            mailer,
            metrics: Arc::new(Metrics::new()),
            public_limiter: Arc::new(RateLimiter::keyed(Quota::per_minute(per_minute))),
        }
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
}
