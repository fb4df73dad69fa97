//! Single sign-on against a real OpenID Provider (the certified `oidc-provider`), on both
//! databases: settings, "Test connection", sign-in, precedence over the MFA policy, and
//! the ways a sign-in must fail.

use crate::mfa::{invalid, json};
use crate::{both_backends, harness::*};
use app::{
    models::{AccountKind, AccountSsoSettings, MfaPolicy, MfaRequirement, SsoTestReport, Viewer},
    AppError,
};

async fn save_sso(
    c: &mut Client,
    account: i64,
    issuer: &str,
    secret: &str,
    domains: &str,
) -> Response {
    let account = account.to_string();
    c.call::<api::SaveAccountSso>(&[
        ("account_id", account.as_str()),
        ("issuer", issuer),
        ("client_id", "connect-portal"),
        ("client_secret", secret),
        ("domains", domains),
        ("enabled", "on"),
    ])
    .await
}

/// An account with SSO on for partner.test, its administrator signed in.
async fn partner_account(env: &TestEnv) -> (i64, Client) {
    let op = oidc_provider();
    env.use_real_clock();
    env.user("admin@partner.test", "Pat Admin").await;
    let acme = env.account("Partner Co", AccountKind::Vendor).await;
    env.member(acme, "admin@partner.test", "Administrators")
        .await;
    let mut admin = env.client();
    admin.sign_in("admin@partner.test", PASSWORD).await;
    admin.step_up(None).await;
    connect(&mut admin, acme, op, "partner.test", "partner.test").await;
    (acme, admin)
}

/// As `admin` (stepped up): points `account` at the directory `op` for `domains` and
/// proves `proven`, one of them.
async fn connect(admin: &mut Client, account: i64, op: &Provider, domains: &str, proven: &str) {
    let r = save_sso(admin, account, &op.issuer, op.client_secret, domains).await;
    assert!(r.status < 400, "{} {}", r.status, r.body);
    prove_domain(admin, account, proven).await;
}

/// Publishes the account's TXT record for `domain` at the tests' DNS server and presses
/// "Verify".
pub async fn prove_domain(admin: &mut Client, account: i64, domain: &str) {
    let account_s = account.to_string();
    let s: AccountSsoSettings = json(
        &admin
            .call::<api::AccountSsoSettings>(&[("account_id", &account_s)])
            .await,
    );
    let claim = s
        .domains
        .iter()
        .find(|d| d.domain == domain)
        .expect("the domain is claimed");
    dns_server()
        .set_txt(&claim.record_name, &[&claim.record_value])
        .await;
    let r = admin
        .call::<api::VerifySsoDomain>(&[("account_id", &account_s), ("domain", domain)])
        .await;
    assert!(r.status < 400, "verify: {} {}", r.status, r.body);
}

/// Starts SSO for `email` with client `c` and plays the person at the provider; returns
/// the callback path with its query.
async fn through_directory(c: &mut Client, email: &str) -> String {
    let r = c.call::<api::StartSso>(&[("email", email)]).await;
    let location = r
        .header("location")
        .unwrap_or_else(|| panic!("no redirect: {} {}", r.status, r.body))
        .to_string();
    assert!(location.starts_with(&oidc_provider().issuer), "{location}");
    assert!(location.contains("code_challenge_method=S256"));
    let callback = directory_sign_in(&location, email).await;
    callback
        .strip_prefix(ORIGIN)
        .expect("our origin")
        .to_string()
}

both_backends!(
    sso_settings_are_for_administrators_validated_and_tested,
    |env| {
        let op = oidc_provider();
        let (acme, mut admin) = partner_account(env).await;
        env.user("user@partner.test", "Una User").await;
        env.member(acme, "user@partner.test", "Users").await;
        let acme_s = acme.to_string();

        // Not an administrator: refused everywhere, the page too.
        let mut user = env.client();
        user.sign_in("user@partner.test", PASSWORD).await;
        for endpoint in [api::AccountSsoSettings::PATH, api::TestAccountSso::PATH] {
            let r = user
                .call_path(
                    endpoint,
                    &[("account_id", &acme_s)],
                    Some("same-origin"),
                    Some(ORIGIN),
                )
                .await;
            assert_eq!(r.app_error(), Some(AppError::Forbidden), "{endpoint}");
        }
        let r = save_sso(&mut user, acme, &op.issuer, "x", "evil.test").await;
        assert_eq!(r.status, 403);
        assert_eq!(
            user.get(&format!("/accounts/{acme}/settings/sso"))
                .await
                .status,
            403
        );

        // Bad input is refused with a specific message and changes nothing.
        let m = invalid(
            &save_sso(
                &mut admin,
                acme,
                "ftp://login.partner.test",
                "s",
                "partner.test",
            )
            .await,
        );
        assert!(m.contains("issuer URL"), "{m}");
        let m = invalid(
            &save_sso(
                &mut admin,
                acme,
                "http://login.partner.test",
                "s",
                "partner.test",
            )
            .await,
        );
        assert!(m.contains("https://"), "plain http only on loopback: {m}");
        let m = invalid(&save_sso(&mut admin, acme, &op.issuer, "s", "not a domain").await);
        assert!(m.contains("not an email domain"), "{m}");
        // The save and the domain's proof, nothing from the refused attempts.
        let before = env
            .scalar(
                "SELECT COUNT(*) FROM audit_log WHERE action IN ('sso_changed', 'domain_proven')",
            )
            .await;
        assert_eq!(before, 2);

        // The settings never show the secret, and the database holds it encrypted.
        let r = admin
            .call::<api::AccountSsoSettings>(&[("account_id", &acme_s)])
            .await;
        assert!(!r.body.contains(op.client_secret));
        let s: AccountSsoSettings = json(&r);
        assert!(s.enabled && s.has_client_secret);
        assert_eq!(
            s.domains
                .iter()
                .map(|d| (d.domain.as_str(), d.verified))
                .collect::<Vec<_>>(),
            vec![("partner.test", true)]
        );
        assert_eq!(s.redirect_uri, format!("{ORIGIN}/sso/callback"));
        assert_eq!(s.history.len(), 2);
        assert_eq!(s.history[0].summary, "Domain partner.test verified");
        assert_eq!(s.history[1].by, "Pat Admin (admin@partner.test)");
        assert_eq!(
            env.scalar(&format!(
                "SELECT COUNT(*) FROM account_sso WHERE client_secret LIKE '%{}%'",
                op.client_secret
            ))
            .await,
            0
        );

        // The MFA policy page cautions that the directory takes precedence.
        let page = admin.get(&format!("/accounts/{acme}/settings/mfa")).await;
        assert!(page.body.contains("Single sign-on is on for this account."));
        let page = admin.get(&format!("/accounts/{acme}/settings/sso")).await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("partner.test") && !page.body.contains(op.client_secret));

        // "Test connection" reports what it found…
        let report: SsoTestReport = json(
            &admin
                .call::<api::TestAccountSso>(&[("account_id", &acme_s)])
                .await,
        );
        assert!(report.ok, "{report:?}");
        assert!(
            report.lines.iter().any(|l| l.contains("1 RS256 key")),
            "{report:?}"
        );
        // A new issuer needs the secret again: the stored one is only ever sent to the
        // provider it was issued for.
        let wrong = format!("{}/wrong", op.issuer);
        let m = invalid(&save_sso(&mut admin, acme, &wrong, "", "partner.test").await);
        assert!(m.contains("enter the client secret"), "{m}");
        // So does a new client ID at the same provider.
        let m = invalid(
            &admin
                .call::<api::SaveAccountSso>(&[
                    ("account_id", acme_s.as_str()),
                    ("issuer", op.issuer.as_str()),
                    ("client_id", "another-client"),
                    ("client_secret", ""),
                    ("domains", "partner.test"),
                    ("enabled", "on"),
                ])
                .await,
        );
        assert!(m.contains("enter the client secret"), "{m}");
        // An empty secret keeps the stored one while issuer and client stay.
        assert!(
            save_sso(&mut admin, acme, &op.issuer, "", "partner.test")
                .await
                .status
                < 400
        );
        // …and "Test connection" says exactly what failed with a wrong issuer.
        assert!(
            save_sso(&mut admin, acme, &wrong, "other-secret", "partner.test")
                .await
                .status
                < 400
        );
        let report: SsoTestReport = json(
            &admin
                .call::<api::TestAccountSso>(&[("account_id", &acme_s)])
                .await,
        );
        assert!(!report.ok);
        let last = report.lines.last().expect("a line");
        assert!(
            last.contains("Discovery failed") && last.contains("404"),
            "{last}"
        );
        // Each request to the provider is timed, by request and outcome.
        use crate::operations::{sample, scrape};
        let body = scrape(&env.state).await;
        for (series, least) in [
            (r#"{request="discovery",outcome="success"}"#, 1.0),
            (r#"{request="keys",outcome="success"}"#, 1.0),
            (r#"{request="discovery",outcome="http_error"}"#, 1.0),
        ] {
            let name = format!("portal_sso_provider_request_duration_seconds_count{series}");
            assert!(
                sample(&body, &name).is_some_and(|n| n >= least),
                "{name}: {body}"
            );
        }

        // A domain belongs to one account only.
        env.user("admin@other.test", "Oli Other").await;
        let other = env.account("Other Co", AccountKind::Reseller).await;
        env.member(other, "admin@other.test", "Administrators")
            .await;
        let mut other_admin = env.client();
        other_admin.sign_in("admin@other.test", PASSWORD).await;
        other_admin.step_up(None).await;
        let m = invalid(
            &save_sso(
                &mut other_admin,
                other,
                &op.issuer,
                "s",
                "other.test, partner.test",
            )
            .await,
        );
        assert!(m.contains("partner.test already belongs"), "{m}");
    }
);

both_backends!(
    a_hostile_directory_vouches_for_no_one_outside_its_proven_domains,
    |env| {
        // Alan administers only Globex and points it at a directory of his own, which
        // signs anyone in as whatever email is typed there.
        let evil = hostile_provider();
        env.use_real_clock();
        env.user("ada@acme.test", "Ada Lovelace").await;
        env.user("alan@globex.test", "Alan Turing").await;
        let acme = env.account("Acme Networks", AccountKind::Vendor).await;
        let globex = env.account("Globex", AccountKind::Reseller).await;
        env.member(acme, "ada@acme.test", "Administrators").await;
        env.member(globex, "ada@acme.test", "Users").await;
        env.member(globex, "alan@globex.test", "Administrators")
            .await;
        let mut alan = env.client();
        alan.sign_in("alan@globex.test", PASSWORD).await;
        alan.step_up(None).await;
        connect(
            &mut alan,
            globex,
            evil,
            "globex.test, acme.test",
            "globex.test",
        )
        .await;
        // Ada's domain, listed but unproven, sends nobody to Alan's directory…
        let m = invalid(
            &env.client()
                .call::<api::StartSso>(&[("email", "ada@acme.test")])
                .await,
        );
        assert!(m.contains("No account signs in"), "{m}");
        // …and when he starts as himself and has his directory answer "ada@acme.test",
        // the portal refuses the answer: that email is outside what Globex proved.
        let mut mallory = env.client();
        let r = mallory
            .call::<api::StartSso>(&[("email", "alan@globex.test")])
            .await;
        let location = r.header("location").expect("to the directory").to_string();
        assert!(location.starts_with(&evil.issuer), "{location}");
        let callback = directory_sign_in(&location, "ada@acme.test").await;
        let r = mallory
            .get(callback.strip_prefix(ORIGIN).expect("our origin"))
            .await;
        assert_eq!(r.status, 303);
        assert_eq!(r.header("location"), Some("/login?sso_error=not_member"));
        assert!(mallory.cookie.is_none(), "no session");
        assert_eq!(
            env.scalar("SELECT COUNT(*) FROM sessions WHERE user_id = (SELECT id FROM users WHERE email = 'ada@acme.test')")
                .await,
            0
        );
    }
);

both_backends!(proving_a_domain_needs_a_recent_step_up, |env| {
    env.use_real_clock();
    let (acme, mut admin) = partner_account(env).await;
    let acme_s = acme.to_string();
    let r = save_sso(
        &mut admin,
        acme,
        &oidc_provider().issuer,
        "",
        "partner.test, proof.partner.test",
    )
    .await;
    assert!(r.status < 400, "{} {}", r.status, r.body);
    let s: AccountSsoSettings = json(
        &admin
            .call::<api::AccountSsoSettings>(&[("account_id", &acme_s)])
            .await,
    );
    let claim = s
        .domains
        .iter()
        .find(|d| d.domain == "proof.partner.test")
        .expect("claimed");
    dns_server()
        .set_txt(&claim.record_name, &[&claim.record_value])
        .await;
    // Minutes later the elevation has run out: "Verify" asks for it again, proves
    // nothing meanwhile, and the plain form is sent to the step-up page.
    env.clock.advance(std::time::Duration::from_secs(600));
    let verify = [
        ("account_id", acme_s.as_str()),
        ("domain", "proof.partner.test"),
    ];
    let r = admin.call::<api::VerifySsoDomain>(&verify).await;
    assert_eq!(r.app_error(), Some(crate::harness::step_up(false)));
    let form = admin
        .post_form(
            &format!("/accounts/{acme}/settings/sso/verify"),
            &[("domain", "proof.partner.test")],
        )
        .await;
    assert_eq!(form.status, 303);
    assert_eq!(
        form.header("location"),
        Some(
            app::format::step_up_for_change_href(&format!("/accounts/{acme}/settings/sso"))
                .as_str()
        )
    );
    let s: AccountSsoSettings = json(
        &admin
            .call::<api::AccountSsoSettings>(&[("account_id", &acme_s)])
            .await,
    );
    assert!(s
        .domains
        .iter()
        .any(|d| d.domain == "proof.partner.test" && !d.verified));
    admin.step_up(None).await;
    let r = admin.call::<api::VerifySsoDomain>(&verify).await;
    assert!(r.status < 400, "{} {}", r.status, r.body);
});

both_backends!(
    a_directory_cannot_claim_or_speak_for_other_accounts,
    |env| {
        let op = oidc_provider();
        env.use_real_clock();
        // Ada administers Acme with MFA on, and is a plain member of Globex. Alan
        // administers only Globex and points its single sign-on at a provider he
        // controls (here the tests' provider, which knows Ada; the hostile one, which
        // vouches for anyone, has a test of its own).
        env.user("ada@globex.test", "Ada Lovelace").await;
        let (mut ada_at_work, secret, _) = crate::mfa::enrolled(env, "ada@globex.test").await;
        env.user("alan@globex.test", "Alan Turing").await;
        let acme = env.account("Acme Networks", AccountKind::Vendor).await;
        let globex = env.account("Globex", AccountKind::Reseller).await;
        env.member(acme, "ada@globex.test", "Administrators").await;
        env.member(globex, "ada@globex.test", "Users").await;
        env.member(globex, "alan@globex.test", "Administrators")
            .await;
        let mut alan = env.client();
        alan.sign_in("alan@globex.test", PASSWORD).await;
        alan.step_up(None).await;

        // Claiming someone else's domain routes nothing until it is proven.
        env.user("eve@example.org", "Eve Example").await;
        env.member(globex, "eve@example.org", "Users").await;
        let r = save_sso(
            &mut alan,
            globex,
            &op.issuer,
            op.client_secret,
            "example.org, globex.test",
        )
        .await;
        assert!(r.status < 400, "{} {}", r.status, r.body);
        let s: AccountSsoSettings = json(
            &alan
                .call::<api::AccountSsoSettings>(&[("account_id", &globex.to_string())])
                .await,
        );
        assert!(s.domains.iter().all(|d| !d.verified));
        let m = invalid(
            &env.client()
                .call::<api::StartSso>(&[("email", "eve@example.org")])
                .await,
        );
        assert!(m.contains("No account signs in"), "{m}");
        // "Verify" without the TXT record (or with another account's token) proves nothing.
        dns_server()
            .set_txt("_connect-portal.example.org", &["not-the-token"])
            .await;
        let m = invalid(
            &alan
                .call::<api::VerifySsoDomain>(&[
                    ("account_id", &globex.to_string()),
                    ("domain", "example.org"),
                ])
                .await,
        );
        assert!(m.contains("No TXT record"), "{m}");

        // Globex proves its own domain; its directory now signs Ada in, for Globex only.
        prove_domain(&mut alan, globex, "globex.test").await;
        let mut ada = env.client();
        let callback = through_directory(&mut ada, "ada@globex.test").await;
        assert_eq!(ada.get(&callback).await.status, 303);
        let v: Viewer = json(&ada.call::<api::GetViewer>(&[]).await);
        assert_eq!(v.active_account_id.map(|a| a.get()), Some(globex));
        // Nor can the directory's session see or end Ada's other sessions (her own
        // password sign-in, say), or read her security history.
        let own: app::models::SessionsPage = json(
            &ada_at_work
                .call::<api::ListSessions>(&[("page", "1")])
                .await,
        );
        let work_id = own.sessions.iter().find(|s| s.current).expect("current").id;
        let seen: app::models::SessionsPage =
            json(&ada.call::<api::ListSessions>(&[("page", "1")]).await);
        assert!(seen.only_directory);
        assert_eq!(seen.total, 1, "only the directory's own session");
        assert!(seen.sessions.iter().all(|s| s.id != work_id));
        let ended: u64 = json(&ada.call::<api::RevokeOtherSessions>(&[]).await);
        assert_eq!(ended, 0);
        let m = invalid(
            &ada.call::<api::RevokeSession>(&[("session_id", &work_id.to_string())])
                .await,
        );
        assert!(m.contains("not one of your active sessions"), "{m}");
        assert_eq!(
            ada_at_work.get("/profile").await.status,
            200,
            "still signed in"
        );
        let r = ada.call::<api::SecurityActivity>(&[]).await;
        assert_eq!(r.app_error(), Some(crate::harness::step_up(true)));
        // Acme, by every way in, asks for Ada's own sign-in first.
        let acme_s = acme.to_string();
        let next: Option<String> = json(
            &ada.call::<api::SwitchAccount>(&[("account_id", &acme_s)])
                .await,
        );
        assert_eq!(next.as_deref(), Some("/step-up?next=%2F"));
        let page = ada.get(&format!("/accounts/{acme}/settings/mfa")).await;
        assert_eq!(page.status, 303);
        assert!(page
            .header("location")
            .is_some_and(|l| l.starts_with("/step-up?next=")));
        for endpoint in [api::AccountMfaSettings::PATH, api::AccountSsoSettings::PATH] {
            let r = ada
                .call_path(
                    endpoint,
                    &[("account_id", &acme_s)],
                    Some("same-origin"),
                    Some(ORIGIN),
                )
                .await;
            assert_eq!(
                r.app_error(),
                Some(crate::harness::step_up(true)),
                "{endpoint}"
            );
        }
        let r = set_policy_for(&mut ada, acme).await;
        assert_eq!(r.app_error(), Some(crate::harness::step_up(true)));
        // The password alone is not her sign-in: MFA is on, so the code too.
        let r = ada
            .call::<api::StepUp>(&[("current_password", PASSWORD)])
            .await;
        assert_eq!(r.app_error(), Some(crate::harness::step_up(true)));
        let r = ada
            .call::<api::StepUp>(&[("current_password", "wrong password!"), ("code", "000000")])
            .await;
        assert_eq!(r.status, 422);
        assert_eq!(
            ada.get(&format!("/accounts/{acme}/settings/mfa"))
                .await
                .status,
            303
        );
        // With both, in the same session (under a new token), Acme opens.
        let before = ada.cookie.clone();
        env.clock.advance(std::time::Duration::from_secs(30));
        let code = crate::mfa::code_at_time(&secret, env.now());
        ada.step_up(Some(&code)).await;
        assert_ne!(ada.cookie, before, "the token is rotated");
        // The token before the step-up (copied, say) no longer opens anything.
        let mut copied = env.client();
        copied.cookie = before;
        let r = copied.get("/profile").await;
        assert_eq!(r.status, 303, "the old token is dead");
        assert_eq!(
            r.header("location").map(|l| l.starts_with("/login")),
            Some(true)
        );
        assert_eq!(
            ada.get(&format!("/accounts/{acme}/settings/mfa"))
                .await
                .status,
            200
        );
        let sessions: app::models::SessionsPage =
            json(&ada.call::<api::ListSessions>(&[("page", "1")]).await);
        let mine = sessions
            .sessions
            .iter()
            .find(|s| s.current)
            .expect("current");
        assert_eq!(
            mine.how,
            "Single sign-on through Globex, password and authentication code"
        );
        // With her own sign-in in it, the session sees all of hers again.
        assert!(!sessions.only_directory);
        assert!(sessions.sessions.iter().any(|s| s.id == work_id));
        assert!(ada.call::<api::SecurityActivity>(&[]).await.status < 400);
        // …and it is hers, not the directory's: a later session of the same directory
        // neither sees nor ends it.
        let stepped_up = mine.id;
        let mut again = env.client();
        let callback = through_directory(&mut again, "ada@globex.test").await;
        assert_eq!(again.get(&callback).await.status, 303);
        let seen: app::models::SessionsPage =
            json(&again.call::<api::ListSessions>(&[("page", "1")]).await);
        assert!(seen.only_directory);
        assert!(seen
            .sessions
            .iter()
            .all(|s| s.id != stepped_up && s.id != work_id));
        let ended: u64 = json(&again.call::<api::RevokeOtherSessions>(&[]).await);
        assert_eq!(ended, 0);
        assert_eq!(ada.get("/profile").await.status, 200, "still signed in");
    }
);

async fn set_policy_for(c: &mut Client, account: i64) -> Response {
    c.call::<api::SetAccountMfaPolicy>(&[
        ("account_id", &account.to_string()),
        ("policy", "optional"),
        ("grace_days", "0"),
    ])
    .await
}

both_backends!(
    people_sign_in_through_their_directory_and_it_takes_precedence_over_the_mfa_policy,
    |env| {
        let (acme, _admin) = partner_account(env).await;
        env.user("sso-member@partner.test", "Sam Member").await;
        env.member(acme, "sso-member@partner.test", "Users").await;
        let north = env.account("Northwind", AccountKind::Distributor).await;
        env.member(north, "sso-member@partner.test", "Users").await;
        for account in [acme, north] {
            portal::db::policy::set(
                &mut *env.conn().await,
                account,
                MfaPolicy::All,
                app::models::GraceDays::NONE,
                &portal::db::audit::Actor::Operator,
                env.now(),
            )
            .await
            .expect("policy");
        }

        let mut c = env.client();
        let callback = through_directory(&mut c, "sso-member@partner.test").await;
        let r = c.get(&callback).await;
        assert_eq!(
            (r.status, r.header("location")),
            (303, Some("/")),
            "{}",
            r.body
        );
        // Signed in, in the directory's account, and its MFA policy yields to the directory.
        let home = c.get("/").await;
        assert_eq!(
            home.status, 200,
            "no portal MFA for the directory's own account"
        );
        let v: Viewer = json(&c.call::<api::GetViewer>(&[]).await);
        assert_eq!(v.active_account_id.map(|a| a.get()), Some(acme));
        let m = v
            .memberships
            .iter()
            .find(|m| m.account_id.get() == acme)
            .expect("acme");
        assert_eq!(m.mfa, MfaRequirement::Directory);
        assert_eq!(
            env.scalar("SELECT COUNT(*) FROM sessions WHERE sso_account_id IS NOT NULL")
                .await,
            1
        );
        // The Sessions section says how this session signed in.
        let sessions: app::models::SessionsPage =
            json(&c.call::<api::ListSessions>(&[("page", "1")]).await);
        assert_eq!(
            sessions.sessions[0].how,
            "Single sign-on through Partner Co"
        );
        // Another account: the directory does not speak for it. The person's own sign-in
        // comes first (step-up), then that account's own policy applies.
        let r = c
            .call::<api::SwitchAccount>(&[("account_id", &north.to_string())])
            .await;
        let next: Option<String> = json(&r);
        assert_eq!(next.as_deref(), Some("/step-up?next=%2F"));
        assert_eq!(
            c.get("/").await.header("location"),
            Some("/step-up?next=%2F")
        );
    }
);

both_backends!(
    sso_refuses_wrong_state_replays_other_browsers_strangers_and_unknown_domains,
    |env| {
        let (acme, _admin) = partner_account(env).await;
        env.user("sso-member@partner.test", "Sam Member").await;
        env.member(acme, "sso-member@partner.test", "Users").await;
        env.user("sso-stranger@partner.test", "Stan Stranger").await; // not a member

        // Unknown domain: a clear message, no redirect.
        let mut c = env.client();
        let m = invalid(
            &c.call::<api::StartSso>(&[("email", "someone@nowhere.test")])
                .await,
        );
        assert!(m.contains("nowhere.test"), "{m}");

        // A tampered state.
        let callback = through_directory(&mut c, "sso-member@partner.test").await;
        let tampered = callback.replace("state=", "state=0");
        let r = c.get(&tampered).await;
        assert_eq!(r.header("location"), Some("/login?sso_error=state"));
        assert!(c.cookie.is_none());

        // The right answer, but in another browser (no state cookie there).
        let callback = through_directory(&mut c, "sso-member@partner.test").await;
        let mut other = env.client();
        let r = other.get(&callback).await;
        assert_eq!(r.header("location"), Some("/login?sso_error=state"));
        // In the right browser it works once; a replay is refused.
        let callback = through_directory(&mut c, "sso-member@partner.test").await;
        let cookie_before = c.cookie.clone();
        assert_eq!(c.get(&callback).await.header("location"), Some("/"));
        assert_ne!(c.cookie, cookie_before);
        let r = c.get(&callback).await;
        assert_eq!(r.header("location"), Some("/login?sso_error=state"));

        // Known to the directory and the portal, but not a member of the account.
        let mut s = env.client();
        let callback = through_directory(&mut s, "sso-stranger@partner.test").await;
        let r = s.get(&callback).await;
        assert_eq!(r.header("location"), Some("/login?sso_error=not_member"));
        assert!(s.cookie.is_none());

        // The sign-in page explains each code.
        let page = env.client().get("/login?sso_error=not_member").await;
        assert!(
            page.body.contains("not a member of its account"),
            "{}",
            page.body
        );
    }
);

both_backends!(
    the_operator_connects_and_disconnects_sso_from_the_cli,
    |env| {
        use portal::{cli, config::AccountCommand};
        let acme = env.account("Partner Co", AccountKind::Vendor).await;
        let set = |secret: bool, domains: &str| AccountCommand::SetSso {
            account: acme,
            issuer: Some("https://login.partner.test/".into()),
            client_id: Some("connect-portal".into()),
            client_secret_stdin: secret,
            domains: Some(domains.into()),
            disable: false,
        };
        let e = cli::account(
            &env.state,
            set(false, "partner.test"),
            &mut std::io::empty(),
        )
        .await
        .expect_err("first time needs a secret");
        assert!(e.contains("--client-secret-stdin"), "{e}");
        let e = cli::account(&env.state, set(true, "nope"), &mut "s3cret\n".as_bytes())
            .await
            .expect_err("domain");
        assert!(e.contains("not an email domain"), "{e}");
        let out = cli::account(
            &env.state,
            set(true, "partner.test"),
            &mut "s3cret\n".as_bytes(),
        )
        .await
        .expect("set");
        assert!(
            out.contains("https://login.partner.test") && out.contains("/sso/callback"),
            "{out}"
        );
        let secret =
            portal::db::sso::client_secret(&mut *env.conn().await, &env.state.secret_key, acme)
                .await
                .expect("q");
        assert_eq!(secret.as_deref(), Some("s3cret"));
        assert_eq!(
            portal::db::sso::account_for_domain(&mut *env.conn().await, "partner.test")
                .await
                .expect("q"),
            Some(acme)
        );
        let off = AccountCommand::SetSso {
            account: acme,
            issuer: None,
            client_id: None,
            client_secret_stdin: false,
            domains: None,
            disable: true,
        };
        let out = cli::account(&env.state, off, &mut std::io::empty())
            .await
            .expect("off");
        assert!(out.contains("off"), "{out}");
        assert_eq!(
            portal::db::sso::account_for_domain(&mut *env.conn().await, "partner.test")
                .await
                .expect("q"),
            None
        );
        assert_eq!(
            env.scalar(
                "SELECT COUNT(*) FROM audit_log WHERE action IN ('sso_changed', 'domain_proven')"
            )
            .await,
            2
        );
    }
);

both_backends!(
    a_member_without_a_portal_password_signs_in_through_the_directory,
    |env| {
        use portal::{cli, config::UserCommand};
        let (acme, _admin) = partner_account(env).await;
        let add = UserCommand::Add {
            email: "sso-member@partner.test".into(),
            name: "Sam Member".into(),
            password_stdin: false,
            sso_only: true,
        };
        cli::user(&env.state, add, &mut std::io::empty())
            .await
            .expect("sso-only person");
        env.member(acme, "sso-member@partner.test", "Users").await;
        // No password works for them…
        let mut c = env.client();
        assert_eq!(
            c.sign_in("sso-member@partner.test", PASSWORD).await.status,
            401
        );
        // …but their directory does, on the first sign-in.
        let callback = through_directory(&mut c, "sso-member@partner.test").await;
        assert_eq!(c.get(&callback).await.header("location"), Some("/"));
        assert_eq!(c.get("/").await.status, 200);
        // They belong to another account too, which the directory cannot open: without a
        // portal password of their own, no step-up can either.
        let other = env.account("Other Co", AccountKind::Reseller).await;
        env.member(other, "sso-member@partner.test", "Administrators")
            .await;
        let other_s = other.to_string();
        let next: Option<String> = json(
            &c.call::<api::SwitchAccount>(&[("account_id", &other_s)])
                .await,
        );
        assert_eq!(next.as_deref(), Some("/step-up?next=%2F"));
        let r = c
            .call::<api::AccountMfaSettings>(&[("account_id", &other_s)])
            .await;
        assert_eq!(r.app_error(), Some(crate::harness::step_up(false)));
        let m = invalid(
            &c.call::<api::StepUp>(&[("current_password", PASSWORD)])
                .await,
        );
        assert!(m.contains("incorrect"), "{m}");
        let page = c.get(&format!("/accounts/{other}/settings/mfa")).await;
        assert_eq!(page.status, 303);
        assert_eq!(
            c.get("/").await.status,
            303,
            "the other account stays closed"
        );
        // Their directory's own account still works.
        let next: Option<String> = json(
            &c.call::<api::SwitchAccount>(&[("account_id", &acme.to_string())])
                .await,
        );
        assert_eq!(next, None);
        let v: Viewer = json(&c.call::<api::GetViewer>(&[]).await);
        assert_eq!(v.active_account_id.map(|a| a.get()), Some(acme));
        assert_eq!(c.get("/").await.status, 200);
    }
);

/// "Test connection" as `admin` fails, and one line of its report contains `text`.
async fn connection_fails_with(admin: &mut Client, account: i64, text: &str) {
    let report: SsoTestReport = json(
        &admin
            .call::<api::TestAccountSso>(&[("account_id", &account.to_string())])
            .await,
    );
    assert!(!report.ok, "{report:?}");
    assert!(
        report.lines.iter().any(|l| l.contains(text)),
        "{text}: {report:?}"
    );
}

both_backends!(outbound_requests_reach_no_internal_address, |env| {
    // Settings saved where private issuers are allowed (the tests' provider is on
    // loopback), then a portal that does not allow them.
    let (acme, _) = partner_account(env).await;
    let mut config = (*env.state.config).clone();
    config.sso_allow_private_issuers = false;
    let strict = env.instance_with(config).await;
    let mut admin = Client::for_state(strict);
    admin.sign_in("admin@partner.test", PASSWORD).await;
    admin.step_up(None).await;
    // "Test connection" is no port scanner: the loopback issuer is refused unfetched.
    connection_fails_with(
        &mut admin,
        acme,
        "not an https address on the public internet",
    )
    .await;
    // Nor can it be saved, by IP, by name or by a private range.
    for issuer in [
        oidc_provider().issuer.clone(),
        "https://127.0.0.1:9".to_string(),
        "https://10.0.0.7".to_string(),
        "https://[::1]:8443".to_string(),
        "https://localhost".to_string(),
    ] {
        let m = invalid(&save_sso(&mut admin, acme, &issuer, "s", "partner.test").await);
        assert!(m.contains("public internet"), "{issuer}: {m}");
    }
    // A name is checked where the connection is made, after resolution: one that the
    // (real, local) DNS server answers with a loopback address is refused.
    dns_server()
        .set_a("idp.internal.partner.test", &["127.0.0.1"])
        .await;
    let r = save_sso(
        &mut admin,
        acme,
        "https://idp.internal.partner.test",
        "s",
        "partner.test",
    )
    .await;
    assert!(r.status < 400, "an https name is accepted: {}", r.body);
    connection_fails_with(&mut admin, acme, "resolves only to internal addresses").await;
    // Single sign-on through it fails closed, without reaching the provider.
    let m = invalid(
        &Client::for_state(
            env.instance_with({
                let mut c = (*env.state.config).clone();
                c.sso_allow_private_issuers = false;
                c
            })
            .await,
        )
        .call::<api::StartSso>(&[("email", "admin@partner.test")])
        .await,
    );
    assert!(m.contains("cannot be reached"), "{m}");
});

/// A hostile provider on loopback: one issuer whose discovery document names an
/// authorization endpoint with a control character, one that answers 2 MB, one that
/// answers chunked (no length) beyond the cap. Returns its base address.
async fn hostile_discovery_server() -> String {
    use axum::{extract::Path, routing::get, Router};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let issuer_base = base.clone();
    let app = Router::new().route(
        "/{which}/.well-known/openid-configuration",
        get(move |Path(which): Path<String>| {
            let issuer = format!("{issuer_base}/{which}");
            async move {
                match which.as_str() {
                    "control" => axum::response::Response::new(axum::body::Body::from(
                        serde_json::json!({
                            "issuer": issuer,
                            "authorization_endpoint": format!("{issuer}/auth\u{7}\r\nX: y"),
                            "token_endpoint": format!("{issuer}/token"),
                            "jwks_uri": format!("{issuer}/jwks"),
                        })
                        .to_string(),
                    )),
                    "big" => axum::response::Response::new(axum::body::Body::from(format!(
                        "{{\"issuer\": \"{}\"}}",
                        "x".repeat(2 * 1024 * 1024)
                    ))),
                    _ => {
                        // Streamed without a length: the cap is counted as it arrives.
                        let chunks =
                            (0..40).map(|_| Ok::<_, std::io::Error>(vec![b' '; 64 * 1024]));
                        axum::response::Response::new(axum::body::Body::from_stream(
                            futures_util::stream::iter(chunks),
                        ))
                    }
                }
            }
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    base
}

both_backends!(a_hostile_discovery_document_is_refused, |env| {
    let base = hostile_discovery_server().await;
    let (acme, mut admin) = partner_account(env).await;
    for (which, expected) in [
        ("control", "authorization endpoint"),
        ("big", "answered more than 1048576 bytes"),
        ("stream", "answered more than 1048576 bytes"),
    ] {
        let issuer = format!("{base}/{which}");
        let r = save_sso(&mut admin, acme, &issuer, "s", "partner.test").await;
        assert!(r.status < 400, "{which}: {} {}", r.status, r.body);
        let report: SsoTestReport = json(
            &admin
                .call::<api::TestAccountSso>(&[("account_id", &acme.to_string())])
                .await,
        );
        assert!(!report.ok, "{which}: {report:?}");
        let failed = report
            .lines
            .iter()
            .find(|l| l.starts_with("Discovery failed"))
            .unwrap_or_else(|| panic!("{which}: {report:?}"));
        assert!(failed.contains(expected), "{which}: {failed}");
        assert!(
            !failed.contains('\u{7}') && !failed.contains('\r'),
            "{which}: escaped: {failed:?}"
        );
        // Single sign-on through it fails closed with a clear message, no panic.
        let m = invalid(
            &env.client()
                .call::<api::StartSso>(&[("email", "admin@partner.test")])
                .await,
        );
        assert!(m.contains("cannot be reached"), "{which}: {m}");
    }
});
