//! Security notices: what a person is told by mail when their sign-in changes. Each is
//! rendered for the person (their name, times in their zone and formats, the device and
//! address the change came from) and written to the outbox on the use case's transaction,
//! so it is sent exactly when the change commits. They cannot be turned off.

use crate::{
    db::{directory::Person, outbox},
    display::{describe_device, TimeDisplay},
    mail,
};
use app::ssr::{Fail, Outcome, RequestInfo};
use sqlx::AnyConnection;

/// "Chrome on Linux (203.0.113.9)": where a change came from.
fn origin(req: &RequestInfo) -> String {
    let device = describe_device(req.user_agent.as_deref());
    match req.ip.as_deref() {
        Some(ip) => format!("{device} ({ip})"),
        None => device,
    }
}

/// The person's password was changed (in the Security section).
pub async fn password_changed(
    tx: &mut AnyConnection,
    person: &Person,
    req: &RequestInfo,
    now: i64,
) -> Outcome<()> {
    let mail = mail::render(
        "password_changed",
        &person.email,
        "Your password was changed",
        minijinja::context! {
            name => &person.name,
            email => &person.email,
            when => TimeDisplay::new(&person.preferences).format(now),
            from => origin(req),
        },
    )
    .map_err(|e| Fail::internal(format!("the password notice did not render: {e}")))?;
    outbox::enqueue(tx, &mail, now).await?;
    Ok(())
}
