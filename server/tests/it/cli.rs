//! Operator commands: validation, transactions, and the demo.

use crate::both_backends;
use portal::{
    cli,
    config::{AccountCommand, GroupCommand, MemberCommand, UserCommand},
};

fn add_user(email: &str, name: &str) -> UserCommand {
    UserCommand::Add {
        email: email.into(),
        name: name.into(),
        password_stdin: true,
        sso_only: false,
    }
}

both_backends!(
    operator_commands_validate_and_write_nothing_on_error,
    |env| {
        let s = &env.state;
        let ok = cli::user(
            s,
            add_user("ada@example.com", "Ada"),
            &mut "correct horse battery\n".as_bytes(),
        )
        .await;
        assert!(ok.is_ok(), "{ok:?}");

        let cases: Vec<(UserCommand, &str, &str)> = vec![
            (
                add_user("ADA@example.com", "Ada again"),
                "correct horse battery\n",
                "already exists",
            ),
            (
                add_user("bad-email", "X"),
                "correct horse battery\n",
                "not a valid email",
            ),
            (
                add_user("x@example.com", "   "),
                "correct horse battery\n",
                "cannot be empty",
            ),
            (
                add_user("x@example.com", "X"),
                "short\n",
                "at least 8 characters",
            ),
            (
                add_user("x@example.com", "X"),
                "password123\n",
                "too common",
            ),
            (add_user("x@example.com", "X"), "\n", "no password"),
        ];
        for (cmd, stdin, expected) in cases {
            let e = cli::user(s, cmd, &mut stdin.as_bytes())
                .await
                .expect_err("must fail");
            assert!(e.contains(expected), "{e} should mention {expected}");
        }
        assert_eq!(env.scalar("SELECT COUNT(*) FROM users").await, 1);

        let e = cli::account(
            s,
            AccountCommand::Add {
                name: "Acme".into(),
                kind: "partner".into(),
            },
            &mut std::io::empty(),
        )
        .await
        .expect_err("kind");
        assert!(e.contains("unknown account kind"), "{e}");
        let e = cli::account(
            s,
            AccountCommand::Add {
                name: " ".into(),
                kind: "vendor".into(),
            },
            &mut std::io::empty(),
        )
        .await
        .expect_err("name");
        assert!(e.contains("cannot be empty"), "{e}");
        let out = cli::account(
            s,
            AccountCommand::Add {
                name: "Acme".into(),
                kind: "Vendor".into(),
            },
            &mut std::io::empty(),
        )
        .await
        .expect("account");
        let id: i64 = out
            .lines()
            .last()
            .expect("line")
            .parse()
            .expect("id is the last line");
        assert_eq!(env.scalar("SELECT COUNT(*) FROM accounts").await, 1);

        let e = cli::group(
            s,
            GroupCommand::Add {
                account: id + 100,
                name: "Admins".into(),
                admin: true,
            },
        )
        .await
        .expect_err("account");
        assert!(e.contains("no account with id"), "{e}");
        cli::group(
            s,
            GroupCommand::Add {
                account: id,
                name: "Admins".into(),
                admin: true,
            },
        )
        .await
        .expect("group");
        let e = cli::group(
            s,
            GroupCommand::Add {
                account: id,
                name: "Admins".into(),
                admin: false,
            },
        )
        .await
        .expect_err("dup");
        assert!(e.contains("already has a group"), "{e}");

        let member = |email: &str, group: &str, account: i64| MemberCommand::Add {
            account,
            email: email.into(),
            group: group.into(),
        };
        let e = cli::member(s, member("nobody@example.com", "Admins", id))
            .await
            .expect_err("user");
        assert!(e.contains("no person has the email"), "{e}");
        let e = cli::member(s, member("ada@example.com", "Admins", id + 100))
            .await
            .expect_err("account");
        assert!(e.contains("no account with id"), "{e}");
        let e = cli::member(s, member("ada@example.com", "Sales", id))
            .await
            .expect_err("group");
        assert!(e.contains("no group named"), "{e}");
        cli::member(s, member("ada@example.com", "Admins", id))
            .await
            .expect("member");
        let e = cli::member(s, member("ada@example.com", "Admins", id))
            .await
            .expect_err("again");
        assert!(e.contains("already a member"), "{e}");
        assert_eq!(env.scalar("SELECT COUNT(*) FROM memberships").await, 1);
    }
);

both_backends!(the_demo_is_realistic_and_idempotent, |env| {
    let out = cli::demo(&env.state).await.expect("demo");
    assert!(
        out.contains("ada@example.com") && out.contains(cli::DEMO_PASSWORD),
        "{out}"
    );
    assert_eq!(env.scalar("SELECT COUNT(*) FROM accounts").await, 3);
    assert_eq!(
        env.scalar("SELECT COUNT(DISTINCT kind) FROM accounts")
            .await,
        3
    );
    assert_eq!(env.scalar("SELECT COUNT(*) FROM account_groups").await, 6);
    assert_eq!(
        env.scalar("SELECT COUNT(*) FROM account_groups WHERE is_admin = 1")
            .await,
        3
    );
    assert_eq!(env.scalar("SELECT COUNT(*) FROM users").await, 4);
    let memberships = env.scalar("SELECT COUNT(*) FROM memberships").await;
    assert!(memberships >= 6);
    let again = cli::demo(&env.state).await.expect("demo again");
    assert!(again.contains("already present"));
    assert_eq!(env.scalar("SELECT COUNT(*) FROM users").await, 4);
    assert_eq!(
        env.scalar("SELECT COUNT(*) FROM memberships").await,
        memberships
    );

    let mut c = env.client();
    let r = c.sign_in("ada@example.com", cli::DEMO_PASSWORD).await;
    assert!(r.status < 400, "{}", r.body);
});
