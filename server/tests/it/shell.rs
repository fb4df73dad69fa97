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
        // The groups are on the Accounts section, rendered on the server (not only in
        // data for the browser: islands mode sends no page data but the islands' props).
        let accounts = c.get("/profile/accounts").await;
        assert_eq!(accounts.status, 200);
        for text in [">Administrators<", ">Users<", ">Vendor<", ">Distributor<"] {
            assert!(accounts.body.contains(text), "{text} missing");
        }

        let missing = c.get("/no-such-page").await;
        assert_eq!(missing.status, 404);
        assert!(missing.body.contains("Page not found"));
    }
);

both_backends!(
    only_the_interactive_parts_are_islands_and_their_props_are_escaped,
    |env| {
        // A name a person may choose (any printable text) that would break out of an
        // attribute or start a script if it were not escaped.
        let name = r#"Eve "><script>alert(1)</script> O'Hara"#;
        env.user("eve@example.com", name).await;
        let acme = env.account("Acme Networks", AccountKind::Vendor).await;
        env.member(acme, "eve@example.com", "Users").await;
        let mut c = env.client();
        c.sign_in("eve@example.com", PASSWORD).await;

        let home = c.get("/").await;
        assert_eq!(home.status, 200);
        assert!(!home.body.contains("<script>alert(1)"), "name not escaped");
        // The header's menus are islands, with the name in their props (escaped JSON).
        assert!(home
            .body
            .contains("<leptos-island data-component=\"UserMenu_"));
        assert!(home
            .body
            .contains("<leptos-island data-component=\"AccountSwitcher_"));
        assert!(home.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        // The page's data is not sent a second time for hydration: only islands' props.
        assert!(home.body.contains("__RESOLVED_RESOURCES=[];"));
        // The last island marks the page live.
        let last = home.body.rfind("<leptos-island").expect("an island");
        assert!(home.body[last..].starts_with("<leptos-island data-component=\"HydrationMark_"));
    }
);

both_backends!(
    the_client_bundle_is_content_addressed_and_cached_for_good,
    |env| {
        let site = tempfile::tempdir().expect("tempdir");
        let pkg = site.path().join("pkg");
        std::fs::create_dir_all(&pkg).expect("pkg");
        for (file, body) in [
            ("portal.css", "body{}"),
            ("portal.js", "export{}"),
            ("portal.wasm", "\0asm"),
        ] {
            std::fs::write(pkg.join(file), body).expect("write");
        }
        let mut config = (*env.state.config).clone();
        config.site = portal::web::site::Site::Folder(site.path().to_path_buf());
        let state = env.instance_with(config).await;
        let version = state.asset_version.to_string();
        assert_eq!(
            version,
            portal::state::asset_version(&portal::web::site::Site::Folder(
                site.path().to_path_buf()
            ))
        );
        let mut c = Client::for_state(state);

        // Pages link the bundle under the build's hash.
        let page = c.get("/login").await;
        assert!(page.body.contains(&format!("/assets/{version}/portal.css")));
        assert!(page.body.contains(&format!("/assets/{version}/portal.js")));
        let css = c.get(&format!("/assets/{version}/portal.css")).await;
        assert_eq!(css.status, 200);
        assert_eq!(
            css.header("cache-control"),
            Some("public, max-age=31536000, immutable")
        );
        // A missing file is not cached; another build's address is not served.
        let missing = c.get(&format!("/assets/{version}/nothing.js")).await;
        assert_eq!(
            (missing.status, missing.header("cache-control")),
            (404, Some("no-store"))
        );
        assert_eq!(
            c.get("/assets/0000000000000000/portal.css").await.status,
            404
        );
        // The plain names stay, revalidated; the service worker precaches this build's.
        let plain = c.get("/pkg/portal.css").await;
        assert_eq!(
            (plain.status, plain.header("cache-control")),
            (200, Some("no-cache"))
        );
        let sw = c.get("/sw.js").await;
        assert!(sw
            .body
            .contains(&format!("const ASSETS = \"/assets/{version}\";")));
        // Any change to a file gives a new address.
        std::fs::write(pkg.join("portal.css"), "body{color:red}").expect("write");
        assert_ne!(
            portal::state::asset_version(&portal::web::site::Site::Folder(
                site.path().to_path_buf()
            )),
            version
        );
    }
);
