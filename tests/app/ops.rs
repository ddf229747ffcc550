//! Health, readiness, metrics, security headers, static assets.

use axum::http::StatusCode;
use sqlx::PgPool;

use crate::helpers::TestApp;

#[sqlx::test]
async fn healthz_readyz_and_metrics(pool: PgPool) {
    let mut app = TestApp::new(pool.clone()).await;
    assert_eq!(app.get("/healthz").await.body, "ok\n");
    let r = app.get("/readyz").await;
    assert_eq!((r.status, r.body.as_str()), (StatusCode::OK, "ready\n"));
    app.get("/").await;
    app.get("/non-esiste").await;
    let m = app.get("/metrics").await;
    assert_eq!(m.status, StatusCode::OK);
    assert!(
        m.body
            .contains("ordo_http_requests_total{method=\"GET\",route=\"/\",status=\"200\"} 1"),
        "{}",
        m.body
    );
    assert!(
        m.body.contains("route=\"unmatched\",status=\"404\""),
        "{}",
        m.body
    );
    assert!(m.body.contains("ordo_http_request_duration_seconds_bucket"));

    // A migration the binary knows but the database lacks: not ready.
    sqlx::query("DELETE FROM _sqlx_migrations WHERE version = (SELECT max(version) FROM _sqlx_migrations)")
        .execute(&pool)
        .await
        .unwrap();
    let r = app.get("/readyz").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.body.contains("1 migrations not applied"), "{}", r.body);
}

#[sqlx::test]
async fn security_headers_on_every_response(pool: PgPool) {
    let mut app = TestApp::new(pool).await;
    for path in ["/", "/login", "/non-esiste", "/healthz"] {
        let r = app.get(path).await;
        let csp = r.headers["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
            "{path}: {csp}"
        );
        assert!(!csp.contains("unsafe-inline"));
        assert_eq!(r.headers["x-content-type-options"], "nosniff");
        assert_eq!(r.headers["referrer-policy"], "same-origin");
        assert!(r.headers.get("x-request-id").is_some());
    }
}

#[sqlx::test]
async fn pages_have_no_inline_script_or_style(pool: PgPool) {
    let mut app = TestApp::new(pool).await;
    for path in ["/", "/login", "/password/dimenticata", "/non-esiste"] {
        let r = app.get(path).await;
        assert!(!r.has("script:not([src])"), "{path}: inline script");
        assert!(!r.has("[style]") && !r.has("style"), "{path}: inline style");
        assert!(
            !r.has("[onclick], [onload], [onsubmit]"),
            "{path}: inline handler"
        );
        assert!(r.has("html[lang=it]") && r.has("a[href='#main-content']") && r.has("main#main-content"));
    }
}

#[sqlx::test]
async fn static_assets_are_versioned_and_cached_for_a_year(pool: PgPool) {
    let mut app = TestApp::new(pool).await;
    let home = app.get("/").await;
    let css = home
        .doc()
        .select(&scraper::Selector::parse("link[rel=stylesheet]").unwrap())
        .filter_map(|e| e.value().attr("href").map(str::to_string))
        .find(|h| h.contains("bootstrap-italia.min.css"))
        .unwrap();
    let r = app.get(&css).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    assert!(r.headers["cache-control"].to_str().unwrap().contains("immutable"));
    let stale = css.replacen(&ordo::web::assets::ASSET_VERSION.to_string(), "0000", 1);
    assert_eq!(app.get(&stale).await.headers["cache-control"], "no-cache");
    let theme = app.get("/theme.css").await;
    assert!(theme.body.contains(&app.state.config.order.primary_color));
}
