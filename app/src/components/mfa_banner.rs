use crate::{format::mfa_setup_href, models::MfaRequirement};
use leptos::prelude::*;

/// On an account's pages during its MFA grace period: the deadline, and a link to set up
/// MFA that comes back to `next`. Renders nothing when nothing is due.
#[component]
pub fn MfaDueBanner(
    account_id: crate::models::AccountId,
    account_name: String,
    requirement: MfaRequirement,
    next: String,
) -> impl IntoView {
    let MfaRequirement::Due { deadline } = requirement else {
        return ().into_any();
    };
    view! {
        <div class="notice caution" role="status" data-testid="mfa-grace-banner">
            <p>
                {format!("{account_name} requires multi-factor authentication from {deadline}. ")}
                "Until then you can keep working without it."
            </p>
            <p><a href=mfa_setup_href(account_id, &next)>"Set up multi-factor authentication"</a></p>
        </div>
    }
    .into_any()
}
