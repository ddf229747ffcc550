//! The application state handed to every handler: pool, configuration and the outside world
//! (clock, mailer) behind traits so tests can fix them.

use std::sync::Arc;

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
}

impl AppState {
    pub fn new(pool: PgPool, config: Config, clock: Arc<dyn Clock>, mailer: Arc<dyn Mailer>) -> Self {
        AppState {
            pool,
            config: Arc::new(config),
            clock,
            mailer,
            metrics: Arc::new(Metrics::new()),
        }
    }

    pub fn now(&self) -> time::OffsetDateTime {
        self.clock.now()
    }
}
