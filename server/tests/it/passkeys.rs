//! Passkey ceremonies against webauthn-rs's software authenticator (a real WebAuthn
//! client and authenticator, in memory): registration after a step-up, a second factor,
//! single-use ceremonies bound to what started them, and a cloned authenticator's
//! counter refused; on both databases.

use crate::{both_backends, harness::*};
use app::{
    api::Passkeys,
    ssr::{RequestInfo, SessionRef, UserCtx},
    AppError,
};
use portal::state::AppState;
use webauthn_authenticator_rs::{prelude::WebauthnAuthenticator, softpasskey::SoftPasskey};
use webauthn_rs::prelude::{CreationChallengeResponse, RequestChallengeResponse, Url};

const LOCALHOST: &str = "http://localhost:3000";

/// The portal served at a domain name (WebAuthn refuses IP addresses).
async fn at_localhost(env: &TestEnv) -> AppState {
    let mut config = (*env.state.config).clone();
    config.public_origin = LOCALHOST.into();
    env.instance_with(config).await
}

/// The portal at a domain name, and Ada's browser signed in there with a recent
/// "Confirm it's you" (her password; she has no second factor yet).
async fn confirmed_at_localhost(env: &TestEnv) -> (AppState, Client) {
    let portal = at_localhost(env).await;
    let mut c = Client::for_state(portal.clone());
    c.sign_in("ada@example.com", PASSWORD).await;
    c.step_up(None).await;
    (portal, c)
}

/// The signed-in person's request as the server functions see it.
async fn user_ctx(env: &TestEnv, user_id: i64) -> UserCtx {
    let session_id = env
        .scalar(&format!(
            "SELECT MAX(id) FROM sessions WHERE user_id = {user_id} AND ended_at IS NULL"
        ))
        .await;
    // As the session layer reads it: whether this session passed one of her passkeys.
    let passkey_verified = env
        .scalar(&format!(
            "SELECT COUNT(*) FROM sessions WHERE id = {session_id} AND auth_methods LIKE '%passkey%'"
        ))
        .await
        > 0;
    UserCtx::new(RequestInfo {
        request_id: "test".into(),
        ip: None,
        user_agent: None,
        session: Some(SessionRef {
            session_id,
            user_id,
            active_account_id: None,
            sso_account_id: None,
            password_verified: true,
            mfa_verified: passkey_verified,
            passkey_verified,
        }),
        pending: None,
        device: None,
        flash: None,
    })
    .expect("a session")
}

/// A request without a session (the ceremonies' own binding is what is tested).
fn anonymous() -> RequestInfo {
    RequestInfo {
        request_id: "test".into(),
        ip: None,
        user_agent: None,
        session: None,
        pending: None,
        device: None,
        flash: None,
    }
}

fn refusal<T: std::fmt::Debug>(r: Result<T, app::ssr::Fail>) -> String {
    match r.map_err(|e| e.into_app_error("test")) {
        Err(AppError::Invalid(m)) => m,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn origin() -> Url {
    Url::parse(LOCALHOST).expect("url")
}

/// Registers a passkey of `key` for the signed-in person.
async fn register(portal: &AppState, user: &UserCtx, key: &mut SoftPasskey, name: &str) -> i64 {
    let started = portal
        .start_passkey_registration(user)
        .await
        .expect("start");
    let options: CreationChallengeResponse =
        serde_json::from_str(&started.options).expect("options");
    let answer = key
        .do_registration(origin(), options)
        .expect("authenticator");
    portal
        .add_passkey(
            user,
            &started.ceremony,
            &serde_json::to_string(&answer).expect("json"),
            name,
        )
        .await
        .expect("finish");
    portal::db::passkeys::list(
        &mut portal.db.acquire().await.expect("conn"),
        user.user_id(),
    )
    .await
    .expect("q")
    .last()
    .expect("the new passkey")
    .id
}

/// The authenticator's answer to a second-factor ceremony bound to `bound_to`.
async fn sign(
    portal: &AppState,
    user_id: i64,
    bound_to: &str,
    key: &mut SoftPasskey,
) -> (String, String) {
    let started = portal
        .begin_assertion(user_id, bound_to)
        .await
        .expect("start");
    let options: RequestChallengeResponse =
        serde_json::from_str(&started.options).expect("options");
    let answer = key
        .do_authentication(origin(), options)
        .expect("authenticator");
    (
        started.ceremony.clone(),
        serde_json::to_string(&answer).expect("json"),
    )
}

both_backends!(
    a_passkey_is_added_after_a_step_up_and_signs_in_as_a_second_factor,
    |env| {
        let ada = env.user("ada@example.com", "Ada Lovelace").await;
        let portal = at_localhost(env).await;
        let mut c = Client::for_state(portal.clone());
        c.sign_in("ada@example.com", PASSWORD).await;
        let user = user_ctx(env, ada).await;
        // Adding a credential needs a recent "Confirm it's you".
        env.clock.advance(std::time::Duration::from_secs(600));
        let r = portal.start_passkey_registration(&user).await;
        assert!(
            matches!(
                r.map(|_| ()).map_err(|e| e.into_app_error("t")),
                Err(AppError::StepUpRequired { .. })
            ),
            "no step-up, no ceremony"
        );
        c.step_up(None).await;
        let mut key = SoftPasskey::new(true);
        let id = register(&portal, &user, &mut key, "  Work laptop ").await;
        assert_eq!(
        env.scalar(&format!(
            "SELECT COUNT(*) FROM passkeys WHERE id = {id} AND user_id = {ada} AND name = 'Work laptop'"
        ))
        .await,
        1
    );
        // The user handle is a random UUID, not the person's id or email.
        let handle = portal::db::passkeys::handle(&mut *env.conn().await, ada)
            .await
            .expect("q")
            .expect("a handle");
        // (Hex digits can spell "ada": the email is what must not be in it.)
        assert!(
            uuid::Uuid::parse_str(&handle).is_ok()
                && !handle.contains("example.com")
                && handle != ada.to_string()
        );

        // The second factor: signed with user verification, its counter kept.
        let (ceremony, answer) = sign(&portal, ada, "pending:abc", &mut key).await;
        portal
            .complete_assertion(&anonymous(), ada, "pending:abc", &ceremony, &answer)
            .await
            .expect("accepted");
        assert_eq!(
            env.scalar(&format!(
                "SELECT COUNT(*) FROM passkeys WHERE id = {id} AND last_used_at IS NOT NULL"
            ))
            .await,
            1
        );
        // Single use: the same ceremony and answer again are refused.
        let m = refusal(
            portal
                .complete_assertion(&anonymous(), ada, "pending:abc", &ceremony, &answer)
                .await,
        );
        assert!(m.contains("expired or was already used"), "{m}");
        // The answer to one ceremony does not finish another (its challenge is not that one).
        let (other, _) = sign(&portal, ada, "pending:abc", &mut key).await;
        let m = refusal(
            portal
                .complete_assertion(&anonymous(), ada, "pending:abc", &other, &answer)
                .await,
        );
        assert!(m.contains("not accepted"), "{m}");
        portal.db.close().await;
    }
);

both_backends!(a_ceremony_belongs_to_what_started_it, |env| {
    let ada = env.user("ada@example.com", "Ada Lovelace").await;
    let bob = env.user("bob@example.com", "Bob Builder").await;
    let (portal, mut c) = confirmed_at_localhost(env).await;
    let ada_here = user_ctx(env, ada).await;
    // Another session of hers (signed in before MFA came on with the passkey).
    let mut elsewhere = Client::for_state(portal.clone());
    elsewhere.sign_in("ada@example.com", PASSWORD).await;
    let ada_elsewhere = user_ctx(env, ada).await;
    let mut key = SoftPasskey::new(true);
    register(&portal, &ada_here, &mut key, "Phone").await;
    // Her next passkey needs a session that passed this one.
    confirm_with_passkey(&mut c, &mut key).await;
    let ada_here = UserCtx::new(RequestInfo {
        session: Some(SessionRef {
            passkey_verified: true,
            ..ada_here.session
        }),
        ..ada_here.req.clone()
    })
    .expect("a session");

    // A registration started in one session cannot be finished in another of hers.
    let started = portal
        .start_passkey_registration(&ada_here)
        .await
        .expect("start");
    let options: CreationChallengeResponse =
        serde_json::from_str(&started.options).expect("options");
    let answer = SoftPasskey::new(true)
        .do_registration(origin(), options)
        .expect("authenticator");
    assert_ne!(
        ada_elsewhere.session.session_id,
        ada_here.session.session_id
    );
    let m = refusal(
        portal
            .add_passkey(
                &ada_elsewhere,
                &started.ceremony,
                &serde_json::to_string(&answer).expect("json"),
                "Stolen",
            )
            .await,
    );
    assert!(m.contains("expired or was already used"), "{m}");

    // A second factor started for one pending sign-in, finished for another, or for
    // another person: refused, and used up.
    let (ceremony, answer) = sign(&portal, ada, "pending:one", &mut key).await;
    let m = refusal(
        portal
            .complete_assertion(&anonymous(), ada, "pending:two", &ceremony, &answer)
            .await,
    );
    assert!(m.contains("expired or was already used"), "{m}");
    let (ceremony, answer) = sign(&portal, ada, "pending:one", &mut key).await;
    let m = refusal(
        portal
            .complete_assertion(&anonymous(), bob, "pending:one", &ceremony, &answer)
            .await,
    );
    assert!(m.contains("expired or was already used"), "{m}");
    // Expired after five minutes.
    let (ceremony, answer) = sign(&portal, ada, "pending:one", &mut key).await;
    env.clock.advance(std::time::Duration::from_secs(301));
    let m = refusal(
        portal
            .complete_assertion(&anonymous(), ada, "pending:one", &ceremony, &answer)
            .await,
    );
    assert!(m.contains("expired"), "{m}");
    assert_eq!(
        env.scalar("SELECT COUNT(*) FROM passkeys").await,
        1,
        "only the first passkey was added"
    );
    // Ceremonies never finished go with the hourly purge once expired.
    sign(&portal, ada, "pending:left", &mut key).await;
    assert!(env.scalar("SELECT COUNT(*) FROM webauthn_ceremonies").await >= 1);
    env.clock.advance(std::time::Duration::from_secs(301));
    portal::profile::purge_history(&portal)
        .await
        .expect("purge");
    assert_eq!(
        env.scalar("SELECT COUNT(*) FROM webauthn_ceremonies").await,
        0
    );
    portal.db.close().await;
});

both_backends!(a_cloned_authenticator_is_refused, |env| {
    let ada = env.user("ada@example.com", "Ada Lovelace").await;
    let (portal, _browser) = confirmed_at_localhost(env).await;
    let user = user_ctx(env, ada).await;
    let mut key = SoftPasskey::new(true);
    let id = register(&portal, &user, &mut key, "Key").await;
    let (ceremony, answer) = sign(&portal, ada, "pending:x", &mut key).await;
    portal
        .complete_assertion(&anonymous(), ada, "pending:x", &ceremony, &answer)
        .await
        .expect("accepted");
    // Another copy of the key signed many times meanwhile: the stored counter is ahead
    // of this one's, as after a clone.
    let stored = portal::db::passkeys::list(&mut *env.conn().await, ada)
        .await
        .expect("q")
        .remove(0)
        .credential;
    let mut json: serde_json::Value = serde_json::from_str(&stored).expect("json");
    let counter = json
        .pointer_mut("/cred/counter")
        .expect("the credential's counter");
    *counter = serde_json::json!(1000);
    assert!(portal::db::passkeys::record_use(
        &mut *env.conn().await,
        id,
        &stored,
        &json.to_string(),
        env.now()
    )
    .await
    .expect("q"));
    let (ceremony, answer) = sign(&portal, ada, "pending:x", &mut key).await;
    let m = refusal(
        portal
            .complete_assertion(&anonymous(), ada, "pending:x", &ceremony, &answer)
            .await,
    );
    assert!(m.contains("counter went backwards"), "{m}");
    portal.db.close().await;
});

both_backends!(no_passkeys_at_an_ip_address, |env| {
    let ada = env.user("ada@example.com", "Ada Lovelace").await;
    let mut c = env.client();
    c.sign_in("ada@example.com", PASSWORD).await;
    c.step_up(None).await;
    let user = user_ctx(env, ada).await;
    // The tests' portal is served at 127.0.0.1: browsers refuse passkeys there.
    let m = refusal(env.state.start_passkey_registration(&user).await);
    assert!(m.contains("domain name"), "{m}");
});

both_backends!(answers_finished_at_once_keep_the_counter_monotonic, |env| {
    // Eight answers of one key (counters 2 to 9), finished at the same moment: each is
    // checked against the counter it read. Whatever passes, the stored counter must end
    // at least at every accepted one, or a copied key could later pass with a counter
    // between them.
    let ada = env.user("ada@example.com", "Ada Lovelace").await;
    let (portal, _browser) = confirmed_at_localhost(env).await;
    let user = user_ctx(env, ada).await;
    let mut key = SoftPasskey::new(true);
    register(&portal, &user, &mut key, "Key").await;
    let stored_counter = |stored: &str| {
        let json: serde_json::Value = serde_json::from_str(stored).expect("json");
        json.pointer("/cred/counter")
            .and_then(serde_json::Value::as_u64)
            .expect("counter")
    };
    let before = stored_counter(
        &portal::db::passkeys::list(&mut *env.conn().await, ada)
            .await
            .expect("q")[0]
            .credential,
    );
    let mut answers = Vec::new();
    for _ in 0..8 {
        answers.push(sign(&portal, ada, "pending:x", &mut key).await);
    }
    let tasks: Vec<_> = answers
        .into_iter()
        .enumerate()
        .map(|(i, (ceremony, answer))| {
            let portal = portal.clone();
            tokio::spawn(async move {
                let ok = portal
                    .complete_assertion(&anonymous(), ada, "pending:x", &ceremony, &answer)
                    .await
                    .is_ok();
                (i, ok)
            })
        })
        .collect();
    let mut accepted = Vec::new();
    for t in tasks {
        let (i, ok) = t.await.expect("task");
        if ok {
            // The key signs with its counter one up each time.
            accepted.push(before + 1 + i as u64);
        }
    }
    assert!(!accepted.is_empty(), "one of them counts");
    let stored = portal::db::passkeys::list(&mut *env.conn().await, ada)
        .await
        .expect("q")
        .remove(0)
        .credential;
    let counter = stored_counter(&stored);
    let highest = accepted.iter().max().copied().unwrap_or(0);
    assert!(
        counter >= highest,
        "stored counter {counter} is behind an accepted answer ({accepted:?})"
    );
    portal.db.close().await;
});

/// "Add a passkey" through the API as the browser does; the recovery codes if any.
async fn add_through(c: &mut Client, key: &mut SoftPasskey, name: &str) -> Option<Vec<String>> {
    let started = challenge(
        &c.call::<api::StartPasskey>(&[("purpose", "Register")])
            .await,
    );
    let options: CreationChallengeResponse =
        serde_json::from_str(&started.options).expect("options");
    let answer = key
        .do_registration(origin(), options)
        .expect("authenticator");
    let r = c
        .call::<api::FinishPasskey>(&[
            ("purpose", "Register"),
            ("ceremony", &started.ceremony),
            ("answer", &serde_json::to_string(&answer).expect("json")),
            ("name", name),
        ])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    serde_json::from_str(&r.body).expect("codes")
}

/// "Confirm it's you" with the password and a passkey, through the API.
async fn confirm_with_passkey(c: &mut Client, key: &mut SoftPasskey) {
    let r = c.call::<api::StartPasskey>(&[("purpose", "StepUp")]).await;
    let (ceremony, answer) = signed(&r, key);
    let r = c
        .call::<api::FinishPasskey>(&[
            ("purpose", "StepUp"),
            ("current_password", PASSWORD),
            ("ceremony", &ceremony),
            ("answer", &answer),
        ])
        .await;
    assert!(r.status < 400, "{} {}", r.status, r.body);
}

async fn set_policy(c: &mut Client, form: Vec<(&'static str, String)>) -> Response {
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    c.call::<api::SetAccountMfaPolicy>(&pairs).await
}

/// A ceremony's challenge as a server function answered it.
fn challenge(r: &Response) -> app::models::PasskeyChallenge {
    assert!(r.status < 400, "refused: {} {}", r.status, r.body);
    serde_json::from_str(&r.body).expect("a challenge")
}

/// Signs the challenge of a `start_…` server function's answer with `key`.
fn signed(r: &Response, key: &mut SoftPasskey) -> (String, String) {
    let c = challenge(r);
    let options: RequestChallengeResponse = serde_json::from_str(&c.options).expect("options");
    let answer = key
        .do_authentication(origin(), options)
        .expect("authenticator");
    (c.ceremony, serde_json::to_string(&answer).expect("json"))
}

both_backends!(
    through_the_api_a_first_passkey_turns_mfa_on_signs_in_and_confirms_it_is_you,
    |env| {
        let ada = env.user("ada@example.com", "Ada Lovelace").await;
        let (portal, mut c) = confirmed_at_localhost(env).await;

        // "Add a passkey": MFA was off, so it is on now and recovery codes come once.
        let mut key = SoftPasskey::new(true);
        let r = c
            .call::<api::StartPasskey>(&[("purpose", "Register")])
            .await;
        let started = challenge(&r);
        let options: CreationChallengeResponse =
            serde_json::from_str(&started.options).expect("options");
        assert_eq!(
            serde_json::to_value(&options).expect("json")["publicKey"]["authenticatorSelection"]
                ["residentKey"],
            "required",
            "a passkey must be able to sign in alone"
        );
        let answer = key
            .do_registration(origin(), options)
            .expect("authenticator");
        let r = c
            .call::<api::FinishPasskey>(&[
                ("purpose", "Register"),
                ("ceremony", &started.ceremony),
                ("answer", &serde_json::to_string(&answer).expect("json")),
                ("name", "Work laptop"),
            ])
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let codes: Option<Vec<String>> = serde_json::from_str(&r.body).expect("codes");
        assert_eq!(codes.map(|c| c.len()), Some(10));
        assert!(portal::db::mfa::is_enabled(&mut *env.conn().await, ada)
            .await
            .expect("q"));
        for kind in ["mfa_enabled", "passkey_added"] {
            assert_eq!(
                env.scalar(&format!(
                    "SELECT COUNT(*) FROM security_events WHERE user_id = {ada} AND kind = '{kind}'"
                ))
                .await,
                1,
                "{kind}"
            );
        }
        assert!(
            env.scalar("SELECT COUNT(*) FROM mail_outbox WHERE subject = 'A passkey was added'")
                .await
                == 1
        );
        // Making a passkey is not signing in with one: the session's factors stay.
        assert_eq!(
            env.scalar(&format!(
                "SELECT COUNT(*) FROM sessions WHERE user_id = {ada} AND ended_at IS NULL \
                 AND auth_methods = 'password' AND mfa_verified_at IS NULL"
            ))
            .await,
            1
        );
        // So a second passkey (or a removal) needs a session that passed the first: a
        // session with a phished password and code cannot add the attacker's passkey.
        let r = c
            .call::<api::StartPasskey>(&[("purpose", "Register")])
            .await;
        assert!(
            r.status == 403 && r.body.contains("\"only_passkey\":true"),
            "{} {}",
            r.status,
            r.body
        );
        let id = env.scalar("SELECT id FROM passkeys").await.to_string();
        let r = c
            .post_form(
                app::format::PASSKEY_FORM_PATH,
                &[("op", "remove"), ("id", &id), ("sign_out_others", "on")],
            )
            .await;
        assert_eq!(
            r.header("location"),
            Some("/step-up?next=%2Fprofile%2Fsecurity&why=passkey"),
            "a removal asks for the passkey too"
        );
        assert_eq!(env.scalar("SELECT COUNT(*) FROM passkeys").await, 1);
        confirm_with_passkey(&mut c, &mut key).await;
        // A second passkey adds no new codes.
        let mut second = SoftPasskey::new(true);
        let started = challenge(
            &c.call::<api::StartPasskey>(&[("purpose", "Register")])
                .await,
        );
        let options: CreationChallengeResponse =
            serde_json::from_str(&started.options).expect("options");
        let answer = second
            .do_registration(origin(), options)
            .expect("authenticator");
        let r = c
            .call::<api::FinishPasskey>(&[
                ("purpose", "Register"),
                ("ceremony", &started.ceremony),
                ("answer", &serde_json::to_string(&answer).expect("json")),
                ("name", "Phone"),
            ])
            .await;
        assert_eq!(r.body, "null");

        // Sign-in: the password, then the passkey instead of a code.
        let mut b = Client::for_state(portal.clone());
        let r = b.sign_in("ada@example.com", PASSWORD).await;
        assert!(b.cookie.is_none() && b.pending.is_some(), "{}", r.body);
        let r = b
            .call::<api::StartPasskey>(&[("purpose", "SecondFactor")])
            .await;
        let (ceremony, answer) = signed(&r, &mut key);
        // Not for another browser's pending sign-in.
        let mut other = Client::for_state(portal.clone());
        other.sign_in("ada@example.com", PASSWORD).await;
        let r = other
            .call::<api::FinishPasskey>(&[
                ("purpose", "SecondFactor"),
                ("ceremony", &ceremony),
                ("answer", &answer),
            ])
            .await;
        assert!(r.status >= 400 && other.cookie.is_none(), "{}", r.body);
        let r = b
            .call::<api::StartPasskey>(&[("purpose", "SecondFactor")])
            .await;
        let (ceremony, answer) = signed(&r, &mut key);
        let r = b
            .call::<api::FinishPasskey>(&[
                ("purpose", "SecondFactor"),
                ("ceremony", &ceremony),
                ("answer", &answer),
            ])
            .await;
        assert!(r.status < 400, "{} {}", r.status, r.body);
        assert!(b.cookie.is_some(), "signed in");
        // This session, and the one that added the second passkey (it confirmed with
        // the first).
        assert_eq!(
            env.scalar(&format!(
                "SELECT COUNT(*) FROM sessions WHERE user_id = {ada} AND ended_at IS NULL \
                 AND auth_methods = 'password,passkey' AND mfa_verified_at IS NOT NULL"
            ))
            .await,
            2
        );

        // "Confirm it's you" with the password and a passkey.
        env.clock.advance(std::time::Duration::from_secs(600));
        let r = b.call::<api::StartPasskey>(&[("purpose", "StepUp")]).await;
        let (ceremony, answer) = signed(&r, &mut second);
        let r = b
            .call::<api::FinishPasskey>(&[
                ("purpose", "StepUp"),
                ("current_password", "wrong password"),
                ("ceremony", &ceremony),
                ("answer", &answer),
            ])
            .await;
        assert!(r.status >= 400, "a wrong password fails: {}", r.body);
        let r = b.call::<api::StartPasskey>(&[("purpose", "StepUp")]).await;
        let (ceremony, answer) = signed(&r, &mut second);
        let r = b
            .call::<api::FinishPasskey>(&[
                ("purpose", "StepUp"),
                ("current_password", PASSWORD),
                ("ceremony", &ceremony),
                ("answer", &answer),
            ])
            .await;
        assert!(r.status < 400, "{} {}", r.status, r.body);
        portal.db.close().await;
    }
);

both_backends!(
    the_last_passkey_stays_while_an_account_requires_mfa_and_mfa_off_removes_them,
    |env| {
        let ada = env.user("ada@example.com", "Ada Lovelace").await;
        let acme = env.account("Acme", app::models::AccountKind::Vendor).await;
        env.member(acme, "ada@example.com", "Users").await;
        let (portal, mut c) = confirmed_at_localhost(env).await;
        let mut key = SoftPasskey::new(true);
        add_through(&mut c, &mut key, "Laptop").await;
        // Her second, from a session that passed the first.
        confirm_with_passkey(&mut c, &mut key).await;
        add_through(&mut c, &mut SoftPasskey::new(true), "Phone").await;
        let user = user_ctx(env, ada).await;
        let id = |name: &'static str| {
            let env = &*env;
            async move {
                env.scalar(&format!("SELECT id FROM passkeys WHERE name = '{name}'"))
                    .await
            }
        };
        let (first, second) = (id("Laptop").await, id("Phone").await);
        sqlx::query("UPDATE accounts SET mfa_policy = 'all'")
            .execute(&mut *env.conn().await)
            .await
            .expect("policy");

        // Not someone else's passkey, whatever the id.
        let bob = env.user("bob@example.com", "Bob Builder").await;
        let mut b = Client::for_state(portal.clone());
        b.sign_in("bob@example.com", PASSWORD).await;
        b.step_up(None).await;
        let bob_user = user_ctx(env, bob).await;
        let m = refusal(portal.remove_passkey(&bob_user, first, false).await);
        assert!(m.contains("not one of yours"), "{m}");
        let m = refusal(portal.rename_passkey(&bob_user, first, "Mine").await);
        assert!(m.contains("not one of yours"), "{m}");

        // One of two goes; the last is refused while Acme requires MFA, naming it.
        portal
            .remove_passkey(&user, second, false)
            .await
            .expect("removed");
        let m = refusal(portal.remove_passkey(&user, first, false).await);
        assert!(m.contains("Acme") && m.contains("only passkey"), "{m}");
        assert_eq!(env.scalar("SELECT COUNT(*) FROM passkeys").await, 1);
        // Without the step-up, nothing is removed.
        env.clock.advance(std::time::Duration::from_secs(600));
        let r = portal
            .remove_passkey(&user, first, false)
            .await
            .map_err(|e| e.into_app_error("t"));
        assert!(
            matches!(
                r,
                Err(AppError::StepUpRequired {
                    code: true,
                    passkey: true,
                    only_passkey: false
                })
            ),
            "{r:?}"
        );

        // With the policy optional again, turning MFA off (password, and a recent
        // step-up in place of an app's code) removes the passkeys and the codes.
        sqlx::query("UPDATE accounts SET mfa_policy = 'optional'")
            .execute(&mut *env.conn().await)
            .await
            .expect("policy");
        confirm_with_passkey(&mut c, &mut key).await;
        let r = c
            .call::<api::DisableMfa>(&[("current_password", PASSWORD), ("code", "")])
            .await;
        assert!(r.status < 400, "{} {}", r.status, r.body);
        assert_eq!(env.scalar("SELECT COUNT(*) FROM passkeys").await, 0);
        assert_eq!(
            env.scalar(&format!(
                "SELECT COUNT(*) FROM recovery_codes WHERE user_id = {ada}"
            ))
            .await,
            0
        );
        assert!(!portal::db::mfa::is_enabled(&mut *env.conn().await, ada)
            .await
            .expect("q"));
        portal.db.close().await;
    }
);

both_backends!(
    an_account_can_require_passkeys_and_only_a_passkey_session_then_enters,
    |env| {
        use portal::policy::{access, Access};
        let acme = env.account("Acme", app::models::AccountKind::Vendor).await;
        let ada = env.user("ada@example.com", "Ada Lovelace").await;
        let bob = env.user("bob@example.com", "Bob Builder").await;
        env.member(acme, "ada@example.com", "Administrators").await;
        env.member(acme, "bob@example.com", "Users").await;
        let (portal, mut c) = confirmed_at_localhost(env).await;
        let set = |passkeys: bool| {
            let mut form = vec![
                ("account_id", acme.to_string()),
                ("policy", "all".to_string()),
                ("grace_days", "3".to_string()),
            ];
            if passkeys {
                form.push(("require_passkeys", "on".to_string()));
            }
            form
        };
        // The lockout guard: Ada has no passkey, so she cannot require passkeys (and she
        // needs MFA at all first).
        portal::db::mfa::insert_enabled(
            &mut *env.conn().await,
            &portal.secret_key,
            portal.rng.as_ref(),
            ada,
            &[7u8; 20],
            env.now(),
        )
        .await
        .expect("totp");
        let r = set_policy(&mut c, set(true)).await;
        assert!(
            r.status >= 400 && r.body.contains("no passkey"),
            "{} {}",
            r.status,
            r.body
        );
        assert_eq!(
            env.scalar("SELECT mfa_require_passkeys FROM accounts")
                .await,
            0
        );
        let mut key = SoftPasskey::new(true);
        add_through(&mut c, &mut key, "Laptop").await;
        let r = set_policy(&mut c, set(true)).await;
        assert!(r.status < 400, "{} {}", r.status, r.body);
        // Her own session passed only a code: Acme's settings now want her passkey.
        let r = c
            .call::<api::AccountMfaSettings>(&[("account_id", &acme.to_string()), ("page", "1")])
            .await;
        assert!(
            r.status == 403 && r.body.contains("\"only_passkey\":true"),
            "{} {}",
            r.status,
            r.body
        );
        confirm_with_passkey(&mut c, &mut key).await;
        assert_eq!(
            env.scalar("SELECT mfa_require_passkeys FROM accounts")
                .await,
            1
        );
        assert_eq!(
            env.scalar(
                "SELECT COUNT(*) FROM audit_log WHERE detail LIKE 'Passkeys (phishing-resistant) required%'"
            )
            .await,
            1
        );

        // Who may enter: only a session that passed a passkey; a code is not enough.
        let session = |user_id, mfa: bool, passkey: bool| app::ssr::SessionRef {
            session_id: 0,
            user_id,
            active_account_id: Some(acme),
            sso_account_id: None,
            password_verified: true,
            mfa_verified: mfa || passkey,
            passkey_verified: passkey,
        };
        let now = env.now();
        let gate = |s: app::ssr::SessionRef, at: i64| {
            let portal = portal.clone();
            async move {
                access(&mut portal.db.acquire().await.expect("conn"), &s, acme, at)
                    .await
                    .expect("access")
            }
        };
        assert_eq!(
            gate(session(ada, true, false), now).await,
            Access::UsePasskey
        );
        assert_eq!(gate(session(ada, true, true), now).await, Access::Allowed);
        // Bob has no passkey: within the grace period he works; afterwards he adds one.
        assert_eq!(gate(session(bob, false, false), now).await, Access::Allowed);
        let later = now + 4 * 86_400_000;
        assert_eq!(
            gate(session(bob, false, false), later).await,
            Access::AddPasskey
        );
        assert_eq!(
            gate(session(bob, true, false), later).await,
            Access::AddPasskey
        );
        // The compliance list names the method, and only a passkey complies.
        let r = c
            .call::<api::AccountMfaSettings>(&[("account_id", &acme.to_string()), ("page", "1")])
            .await;
        let settings: app::models::AccountMfaSettings =
            serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.body));
        assert!(settings.require_passkeys);
        let method = |name: &str| {
            settings
                .members
                .iter()
                .find(|m| m.name == name)
                .map(|m| (m.method.clone(), m.blocked_from.is_some()))
        };
        assert_eq!(
            method("Ada Lovelace"),
            Some(("Passkey and authenticator app".into(), false))
        );
        assert_eq!(method("Bob Builder"), Some(("None".into(), true)));

        // Her last passkey stays while Acme requires passkeys.
        let last = env.scalar("SELECT id FROM passkeys").await;
        let user = user_ctx(env, ada).await;
        let m = refusal(portal.remove_passkey(&user, last, true).await);
        assert!(m.contains("Acme require") && m.contains("passkeys"), "{m}");
        portal.db.close().await;
    }
);

both_backends!(requiring_passkeys_gives_no_new_grace_period, |env| {
    use portal::policy::{access, Access};
    let acme = env.account("Acme", app::models::AccountKind::Vendor).await;
    let bob = env.user("bob@example.com", "Bob Builder").await;
    env.member(acme, "bob@example.com", "Users").await;
    sqlx::query(
        "UPDATE accounts SET mfa_policy = 'all', mfa_grace_days = 3, mfa_policy_changed_at = 1",
    )
    .execute(&mut *env.conn().await)
    .await
    .expect("policy");
    let s = app::ssr::SessionRef {
        session_id: 0,
        user_id: bob,
        active_account_id: Some(acme),
        sso_account_id: None,
        password_verified: true,
        mfa_verified: false,
        passkey_verified: false,
    };
    // Past his grace period (counted from when he joined).
    let now = env.now() + 4 * 86_400_000;
    let gate = |at| {
        let state = env.state.clone();
        async move {
            access(&mut state.db.acquire().await.expect("conn"), &s, acme, at)
                .await
                .expect("access")
        }
    };
    assert_eq!(gate(now).await, Access::SetUpMfa);
    // Tightening the policy keeps him blocked (it must not restart his grace period).
    portal::db::policy::set_require_passkeys(
        &mut *env.conn().await,
        acme,
        true,
        &portal::db::audit::Actor::Operator,
        now,
    )
    .await
    .expect("require");
    assert_eq!(gate(now).await, Access::AddPasskey);
});

/// Signs a "Sign in with a passkey" challenge with `key`'s passkey named `name`, as a
/// discoverable authenticator does: the browser lists no credentials, the authenticator
/// picks its passkey and names its user. webauthn-rs's software authenticator signs only
/// listed credentials and names nobody, so the test lists hers and adds the user handle
/// (which the signature does not cover).
async fn signed_alone(
    env: &TestEnv,
    c: app::models::PasskeyChallenge,
    key: &mut SoftPasskey,
    name: &str,
) -> (String, String) {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    use sqlx::Row;
    let row = sqlx::query("SELECT user_id, credential_id FROM passkeys WHERE name = $1")
        .bind(name)
        .fetch_one(&mut *env.conn().await)
        .await
        .expect("the passkey");
    let (user_id, credential_id): (i64, String) = (row.get(0), row.get(1));
    let handle = portal::db::passkeys::handle(&mut *env.conn().await, user_id)
        .await
        .expect("q")
        .expect("a handle");
    let handle = uuid::Uuid::parse_str(&handle).expect("uuid");
    let mut options: serde_json::Value = serde_json::from_str(&c.options).expect("json");
    assert!(
        options["publicKey"]["allowCredentials"]
            .as_array()
            .is_none_or(|a| a.is_empty()),
        "a discoverable sign-in names no credential"
    );
    options["publicKey"]["allowCredentials"] =
        serde_json::json!([{ "type": "public-key", "id": credential_id }]);
    let options: RequestChallengeResponse = serde_json::from_value(options).expect("options");
    let answer = key
        .do_authentication(origin(), options)
        .expect("authenticator");
    let mut answer = serde_json::to_value(&answer).expect("json");
    answer["response"]["userHandle"] = URL_SAFE_NO_PAD.encode(handle.as_bytes()).into();
    (c.ceremony, answer.to_string())
}

both_backends!(
    a_passkey_sign_in_is_bounded_per_address_ends_a_waiting_sign_in_and_spares_sso_only_people,
    |env| {
        let ada = env.user("ada@example.com", "Ada Lovelace").await;
        let (portal, mut c) = confirmed_at_localhost(env).await;
        let mut key = SoftPasskey::new(true);
        add_through(&mut c, &mut key, "Laptop").await;

        // A browser that typed her password (MFA is on now) and then uses the passkey
        // alone: the waiting sign-in ends, and its cookie goes.
        let mut b = Client::for_state(portal.clone());
        b.sign_in("ada@example.com", PASSWORD).await;
        assert!(b.pending.is_some());
        assert_eq!(env.scalar("SELECT COUNT(*) FROM pending_signins").await, 1);
        let r = b.call::<api::StartPasskey>(&[("purpose", "SignIn")]).await;
        let (ceremony, answer) = signed_alone(env, challenge(&r), &mut key, "Laptop").await;
        let r = b
            .call::<api::FinishPasskey>(&[
                ("purpose", "SignIn"),
                ("ceremony", &ceremony),
                ("answer", &answer),
            ])
            .await;
        assert!(r.status < 400, "{} {}", r.status, r.body);
        assert!(b.cookie.is_some() && b.pending.is_none(), "signed in");
        assert_eq!(env.scalar("SELECT COUNT(*) FROM pending_signins").await, 0);

        // Ceremonies started from one address and never finished are bounded: each
        // stores a row, and nobody is named yet.
        let from = |ip: &str| RequestInfo {
            ip: Some(ip.into()),
            ..anonymous()
        };
        let started = portal
            .start_passkey_sign_in(&from("203.0.113.9"))
            .await
            .expect("start");
        let (ceremony, answer) = signed_alone(env, started, &mut key, "Laptop").await;
        for _ in 1..portal::db::throttle::PASSKEY_IP_FREE_STARTS {
            portal
                .start_passkey_sign_in(&from("203.0.113.9"))
                .await
                .expect("within the bound");
        }
        let r = portal
            .start_passkey_sign_in(&from("203.0.113.9"))
            .await
            .map_err(|e| e.into_app_error("t"));
        assert!(matches!(r, Err(AppError::Throttled { .. })), "{r:?}");
        // Another address is not affected.
        portal
            .start_passkey_sign_in(&from("198.51.100.7"))
            .await
            .expect("another address");
        // A finished sign-in gives its count back: the next start may run.
        portal
            .sign_in_with_passkey(&from("203.0.113.9"), &ceremony, &answer)
            .await
            .expect("signed in");
        // (At once: the lock would have run out by itself after 15 seconds.)
        portal
            .start_passkey_sign_in(&from("203.0.113.9"))
            .await
            .expect("a count was given back");

        // Someone who signs in only through their organisation's directory is sent
        // there, passkey or not.
        portal::db::directory::set_sso_only(&mut *env.conn().await, ada)
            .await
            .expect("sso only");
        let r = b.call::<api::StartPasskey>(&[("purpose", "SignIn")]).await;
        let (ceremony, answer) = signed_alone(env, challenge(&r), &mut key, "Laptop").await;
        let sessions = env.scalar("SELECT COUNT(*) FROM sessions").await;
        let r = b
            .call::<api::FinishPasskey>(&[
                ("purpose", "SignIn"),
                ("ceremony", &ceremony),
                ("answer", &answer),
            ])
            .await;
        assert!(
            r.status == 422 && r.body.contains("directory"),
            "{} {}",
            r.status,
            r.body
        );
        assert_eq!(env.scalar("SELECT COUNT(*) FROM sessions").await, sessions);
        portal.db.close().await;
    }
);

both_backends!(removing_a_passkey_can_sign_out_the_other_sessions, |env| {
    let ada = env.user("ada@example.com", "Ada Lovelace").await;
    let (portal, mut c) = confirmed_at_localhost(env).await;
    let mut key = SoftPasskey::new(true);
    let mut lost = SoftPasskey::new(true);
    add_through(&mut c, &mut key, "Laptop").await;
    confirm_with_passkey(&mut c, &mut key).await;
    add_through(&mut c, &mut lost, "Lost phone").await;
    // The lost phone signed in somewhere.
    let mut thief = Client::for_state(portal.clone());
    let r = thief
        .call::<api::StartPasskey>(&[("purpose", "SignIn")])
        .await;
    let (ceremony, answer) = signed_alone(env, challenge(&r), &mut lost, "Lost phone").await;
    thief
        .call::<api::FinishPasskey>(&[
            ("purpose", "SignIn"),
            ("ceremony", &ceremony),
            ("answer", &answer),
        ])
        .await;
    let live = format!("SELECT COUNT(*) FROM sessions WHERE user_id = {ada} AND ended_at IS NULL");
    assert!(thief.cookie.is_some());
    assert_eq!(env.scalar(&live).await, 2);
    let id = env
        .scalar("SELECT id FROM passkeys WHERE name = 'Lost phone'")
        .await
        .to_string();
    let r = c
        .post_form(
            app::format::PASSKEY_FORM_PATH,
            &[("op", "remove"), ("id", &id), ("sign_out_others", "on")],
        )
        .await;
    assert_eq!(
        r.header("location"),
        Some("/profile/security?done=passkey_removed")
    );
    assert_eq!(
        env.scalar(&live).await,
        1,
        "only the session that removed it is left"
    );
    portal.db.close().await;
});

both_backends!(an_app_added_to_passkeys_keeps_the_recovery_codes, |env| {
    let ada = env.user("ada@example.com", "Ada Lovelace").await;
    let (portal, mut c) = confirmed_at_localhost(env).await;
    let mut key = SoftPasskey::new(true);
    let codes = add_through(&mut c, &mut key, "Laptop")
        .await
        .expect("MFA came on with the passkey");
    // A session that did not pass her passkey can neither add an app (a new, phishable
    // way in) nor replace her recovery codes.
    for r in [
        c.call::<api::StartMfaEnrolment>(&[]).await,
        c.call::<api::RegenerateRecoveryCodes>(&[("code", "")])
            .await,
    ] {
        assert!(
            r.status == 403 && r.body.contains("\"only_passkey\":true"),
            "{} {}",
            r.status,
            r.body
        );
    }
    // Later she sets up an authenticator app too (MFA is on already).
    confirm_with_passkey(&mut c, &mut key).await;
    let r = c.call::<api::StartMfaEnrolment>(&[]).await;
    let e: app::models::MfaEnrolment = crate::mfa::json(&r);
    let secret = crate::mfa::secret_of(&e);
    let r = c
        .call::<api::EnableMfa>(&[("code", &crate::mfa::code_at_time(&secret, env.now()))])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body, "null", "no new recovery codes");
    // The codes she saved still work: one of them confirms it's her.
    env.clock.advance(std::time::Duration::from_secs(600));
    let r = c
        .call::<api::StepUp>(&[
            ("current_password", PASSWORD),
            ("code", &codes[0]),
            ("recovery", "on"),
        ])
        .await;
    assert!(r.status < 400, "{} {}", r.status, r.body);
    let kinds = |kind: &'static str| {
        let env = &*env;
        async move {
            env.scalar(&format!(
                "SELECT COUNT(*) FROM security_events WHERE user_id = {ada} AND kind = '{kind}'"
            ))
            .await
        }
    };
    assert_eq!(kinds("totp_added").await, 1);
    assert_eq!(kinds("mfa_enabled").await, 1, "only when the passkey came");
    assert_eq!(
        env.scalar(
            "SELECT COUNT(*) FROM mail_outbox WHERE subject = 'An authenticator app was added'"
        )
        .await,
        1
    );
    portal.db.close().await;
});

both_backends!(
    a_registration_started_before_the_first_passkey_needs_it_to_finish,
    |env| {
        env.user("ada@example.com", "Ada Lovelace").await;
        let (portal, mut c) = confirmed_at_localhost(env).await;
        // Started while she had no passkey (say, in one tab)...
        let started = challenge(
            &c.call::<api::StartPasskey>(&[("purpose", "Register")])
                .await,
        );
        // ...then a first passkey is added (another tab).
        add_through(&mut c, &mut SoftPasskey::new(true), "First").await;
        let options: CreationChallengeResponse =
            serde_json::from_str(&started.options).expect("options");
        let answer = SoftPasskey::new(true)
            .do_registration(origin(), options)
            .expect("authenticator");
        let r = c
            .call::<api::FinishPasskey>(&[
                ("purpose", "Register"),
                ("ceremony", &started.ceremony),
                ("answer", &serde_json::to_string(&answer).expect("json")),
                ("name", "Second"),
            ])
            .await;
        assert!(
            r.status == 403 && r.body.contains("\"only_passkey\":true"),
            "{} {}",
            r.status,
            r.body
        );
        assert_eq!(env.scalar("SELECT COUNT(*) FROM passkeys").await, 1);
        portal.db.close().await;
    }
);
