//! "Manage Your Profile": the overview and its four sections.

mod accounts;
mod general;
mod mfa;
mod passkeys;
mod security;
mod sessions;

pub use accounts::AccountsSection;
pub use general::GeneralSection;
pub use security::SecuritySection;
pub use sessions::SessionsSection;

use crate::components::WithViewer;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{Outlet, A};

/// The frame of every profile page: heading and section navigation.
#[component]
pub fn ProfileLayout() -> impl IntoView {
    view! {
        <Title text="Manage Your Profile" />
        <h1>"Manage Your Profile"</h1>
        <nav class="section-nav" aria-label="Profile sections">
            <A href="/profile/general">"General"</A>
            <A href="/profile/accounts">"Accounts"</A>
            <A href="/profile/security">"Security"</A>
            <A href="/profile/sessions">"Sessions"</A>
        </nav>
        <Outlet />
    }
}

/// `/profile`: who you are, and where to manage what.
#[component]
pub fn ProfileOverview() -> impl IntoView {
    view! {
        <WithViewer children=|v| {
            view! {
                <section class="card" aria-labelledby="identity-heading">
                    <h2 id="identity-heading">"Your identity"</h2>
                    <dl class="facts">
                        <dt>"Name"</dt><dd data-testid="profile-name">{v.name.clone()}</dd>
                        <dt>"Email"</dt><dd data-testid="profile-email">{v.email.clone()}</dd>
                        <dt>"Accounts"</dt><dd>{v.memberships.len()}</dd>
                    </dl>
                </section>
                <ul class="section-cards">
                    <li><a href="/profile/general"><strong>"General"</strong><span>"Name, email, time zone, date and time format, news"</span></a></li>
                    <li><a href="/profile/accounts"><strong>"Accounts"</strong><span>"The partner accounts you belong to and your group in each"</span></a></li>
                    <li><a href="/profile/security"><strong>"Security"</strong><span>"Password, multi-factor authentication and account deletion"</span></a></li>
                    <li><a href="/profile/sessions"><strong>"Sessions"</strong><span>"Where you are signed in, and recent security activity"</span></a></li>
                </ul>
            }
        } />
    }
}
