//! The portal shell rendered on the server.

use crate::{both_backends, harness::*};
use app::models::AccountKind;

both_backends!(
    the_shell_shows_the_person_their_accounts_and_profile,
    |env| {
        env.user("ada@example.com", "Ada Lovelace").await;
        let acme = env.account("Acme Networks", AccountKind::Vendor).await;
        let north = env
            .account("Northwind Distribution", AccountKind::Distributor)
            .await;
        env.member(acme, "ada@example.com", "Administrators").await;
        env.member(north, "ada@example.com", "Users").await;
        let mut c = env.client();
        c.sign_in("ada@example.com", PASSWORD).await;

        let home = c.get("/").await;
        assert_eq!(home.status, 200);
        for text in [
            ">User menu: <",
            ">Switch account: <",
            "Acme Networks",
            "Northwind Distribution",
            "Manage Your Profile",
            "Sign out",
        ] {
            assert!(home.body.contains(text), "{text} missing");
        }
        let profile = c.get("/profile").await;
        assert_eq!(profile.status, 200);
        assert!(profile.body.contains("ada@example.com"));
        assert!(profile.body.contains("Administrators"));

        let missing = c.get("/no-such-page").await;
        assert_eq!(missing.status, 404);
        assert!(missing.body.contains("Page not found"));
    }
);
