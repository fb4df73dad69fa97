//! What an operator relies on: the metrics (their own listener, no personal data) and a
//! shutdown that finishes the requests in flight; on both databases.

use crate::{both_backends, harness::*};
use axum::body::Body;
use http_body_util::BodyExt;
use tower::ServiceExt;

/// The metrics listener's answer to `GET /metrics`.
pub(crate) async fn scrape(state: &portal::state::AppState) -> String {
    let res = portal::metrics::router(state.clone())
        .oneshot(
            http::Request::get("/metrics")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("infallible");
    assert_eq!(res.status(), 200);
    let body = res.into_body().collect().await.expect("body").to_bytes();
    String::from_utf8(body.to_vec()).expect("utf-8")
}

/// The value of the sample named exactly `name{labels}` (or without labels).
pub(crate) fn sample(body: &str, series: &str) -> Option<f64> {
    body.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// A save of the signed-in person's settings that the database refuses (an injected
/// failure): the server function answers 500.
async fn save_failing_in_the_database(env: &TestEnv, c: &mut Client) {
    env.fail_writes("no_names", "users", "UPDATE", "1 = 1")
        .await;
    let r = c
        .call::<api::SaveGeneral>(&[
            ("name", "Ada King"),
            ("time_zone", "UTC"),
            ("date_format", "iso"),
            ("time_format", "24h"),
        ])
        .await;
    assert_eq!(r.status, 500, "{}", r.body);
}

both_backends!(metrics_count_requests_and_sign_ins_and_name_nobody, |env| {
    let acme = env.account("Acme", app::models::AccountKind::Vendor).await;
    env.user("ada@example.com", "Ada Lovelace").await;
    env.member(acme, "ada@example.com", "Administrators").await;
    let mut c = env.client();
    c.sign_in("ada@example.com", "not her password").await;
    c.sign_in("ada@example.com", PASSWORD).await;
    let page = c.get(&format!("/accounts/{acme}/settings/members")).await;
    assert!(page.status < 500, "{}", page.status);
    let body = scrape(&env.state).await;
    assert_eq!(
        sample(
            &body,
            r#"portal_sign_ins_total{method="password",outcome="success"}"#
        ),
        Some(1.0),
        "{body}"
    );
    assert_eq!(
        sample(
            &body,
            r#"portal_sign_ins_total{method="password",outcome="bad_credentials"}"#
        ),
        Some(1.0),
        "{body}"
    );
    // Requests by route template and status class, with their latency.
    assert!(
        body.contains(
            r#"portal_http_request_duration_seconds_count{route="/api/sign_in",method="POST""#
        ),
        "{body}"
    );
    assert!(
        body.contains(r#"route="/accounts/{account_id}/settings/members""#),
        "the template, not the path: {body}"
    );
    // Two password checks were hashed and timed; the queue is empty now.
    assert!(
        sample(&body, "portal_password_hash_duration_seconds_count").is_some_and(|n| n >= 2.0),
        "{body}"
    );
    assert_eq!(sample(&body, "portal_password_hash_waiting"), Some(0.0));
    assert_eq!(sample(&body, "portal_sessions_active"), Some(1.0), "{body}");
    assert!(
        body.contains("portal_db_connections{state=\"idle\"}"),
        "{body}"
    );
    assert!(body.contains("portal_build_info{version="), "{body}");
    assert_eq!(
        sample(&body, "portal_mail_outbox_waiting"),
        Some(0.0),
        "{body}"
    );
    // Nobody is named: no address, no id-bearing path.
    assert!(!body.contains("example.com"), "{body}");
    assert!(!body.contains(&format!("/accounts/{acme}/")), "{body}");
    // A made-up server function does not grow the label set.
    c.call_path(
        "/api/no_such_function_123",
        &[],
        Some("same-origin"),
        Some(ORIGIN),
    )
    .await;
    // Nor does a made-up method.
    let _ = portal::web::router(env.state.clone())
        .oneshot(
            http::Request::builder()
                .method("FOO1")
                .uri("/healthz")
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    let body = scrape(&env.state).await;
    assert!(!body.contains("no_such_function_123"), "{body}");
    assert!(!body.contains("FOO1"), "{body}");
    assert!(
        body.contains(r#"route="/healthz",method="other""#),
        "{body}"
    );
    // Waiting for a database connection is timed.
    assert!(
        sample(&body, "portal_db_connection_wait_seconds_count").is_some_and(|n| n >= 1.0),
        "{body}"
    );
    // A database failure inside a server function is counted as one.
    assert_eq!(
        sample(&body, r#"portal_internal_failures_total{kind="database"}"#),
        None
    );
    save_failing_in_the_database(env, &mut c).await;
    let body = scrape(&env.state).await;
    assert_eq!(
        sample(&body, r#"portal_internal_failures_total{kind="database"}"#),
        Some(1.0),
        "{body}"
    );
});

both_backends!(
    shutdown_finishes_requests_in_flight_and_stops_being_ready,
    |env| {
        env.user("ada@example.com", "Ada Lovelace").await;
        let state = env.state.clone();
        let public = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let metrics = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let (addr, metrics_addr) = (
            public.local_addr().expect("addr"),
            metrics.local_addr().expect("addr"),
        );
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(portal::web::serve_on(
            state.clone(),
            public,
            Some(metrics),
            async move {
                let _ = stopped.await;
            },
        ));
        let http = reqwest::Client::new();
        let ready = http
            .get(format!("http://{addr}/readyz"))
            .send()
            .await
            .expect("readyz");
        assert_eq!(ready.status(), 200);
        // The metrics are on their own listener, not on the public one.
        let scraped = http
            .get(format!("http://{metrics_addr}/metrics"))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text");
        assert!(scraped.contains("portal_build_info"), "{scraped}");
        let public_metrics = http
            .get(format!("http://{addr}/metrics"))
            .send()
            .await
            .expect("public");
        assert!(!public_metrics
            .text()
            .await
            .expect("text")
            .contains("portal_build_info"));

        // A sign-in in flight: it waits for the database, held by someone else for now.
        let mut hold = state.db.begin().await.expect("begin");
        if state.db.backend() == portal::db::Backend::Postgres {
            sqlx::query("LOCK TABLE sessions IN ACCESS EXCLUSIVE MODE")
                .execute(&mut *hold)
                .await
                .expect("lock");
        }
        let in_flight = tokio::spawn({
            let http = http.clone();
            async move {
                http.post(format!("http://{addr}/api/sign_in"))
                    .header("origin", ORIGIN)
                    .header("sec-fetch-site", "same-origin")
                    .form(&[("email", "ada@example.com"), ("password", PASSWORD)])
                    .send()
                    .await
            }
        });
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let _ = stop.send(());
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        // Not ready at once (a load balancer takes the replica out), still serving the
        // request it took.
        assert!(state.draining.load(std::sync::atomic::Ordering::SeqCst));
        let probe = portal::web::router(state.clone())
            .oneshot(
                http::Request::get("/readyz")
                    .body(Body::empty())
                    .expect("request"),
            )
            .await
            .expect("infallible");
        assert_eq!(probe.status(), 503);
        assert!(!server.is_finished(), "a request is in flight");
        hold.rollback().await.expect("release");
        let answer = in_flight
            .await
            .expect("task")
            .expect("the request was answered");
        assert!(answer.status().as_u16() < 400, "{}", answer.status());
        let done = tokio::time::timeout(std::time::Duration::from_secs(10), server)
            .await
            .expect("stopped in time")
            .expect("task");
        assert!(done.is_ok(), "{done:?}");
        // New connections are refused now.
        assert!(http
            .get(format!("http://{addr}/readyz"))
            .send()
            .await
            .is_err());
    }
);

both_backends!(the_grafana_dashboard_uses_the_metrics_as_named, |env| {
    // A family with labels shows once it has a sample: a request, a sign-in, a
    // database failure, and (recorded directly: sso.rs makes real ones) a provider
    // request.
    env.user("ada@example.com", "Ada Lovelace").await;
    let mut c = env.client();
    c.sign_in("ada@example.com", PASSWORD).await;
    save_failing_in_the_database(env, &mut c).await;
    (env.state.metrics.sso_timing())("token", "success", 0.01);
    let body = scrape(&env.state).await;
    // The families the portal exposes, from the exposition's `# TYPE` lines.
    let families: Vec<&str> = body
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../docs/grafana/connect-portal.json");
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("the dashboard")).expect("json");
    let mut used = Vec::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().expect("targets") {
            let expr = target["expr"].as_str().expect("expr");
            for (i, _) in expr.match_indices("portal_") {
                let name: String = expr[i..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                used.push(name);
            }
        }
    }
    assert!(used.len() >= 10, "{used:?}");
    for name in used {
        // A histogram's series and a counter's `_total` belong to their family.
        let family = ["_bucket", "_count", "_sum", "_total"]
            .iter()
            .find_map(|s| name.strip_suffix(s).filter(|f| families.contains(f)))
            .unwrap_or(&name);
        assert!(
            families.contains(&family),
            "the dashboard uses {name}, which the portal does not expose: {families:?}"
        );
    }
});
