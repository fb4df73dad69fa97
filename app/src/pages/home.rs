use crate::{
    components::{MfaDueBanner, WithViewer},
    format::{
        account_audit_href, account_groups_href, account_members_href, account_mfa_href,
        account_sso_href,
    },
};
use leptos::prelude::*;
use leptos_meta::Title;

/// The portal home: who is signed in and the active account.
#[component]
pub fn HomePage() -> impl IntoView {
    view! {
        <Title text="Home" />
        <WithViewer children=|v| {
            let active = v.active_membership().cloned();
            view! {
                <h1>{format!("Welcome, {}", v.name)}</h1>
                {match active {
                    Some(m) => view! {
                        <MfaDueBanner account_id=m.account_id account_name=m.account_name.clone()
                            requirement=m.mfa.clone() next="/".to_string() />
                        <section class="card" aria-labelledby="active-heading">
                            <h2 id="active-heading">"Active account"</h2>
                            <dl class="facts">
                                <dt>"Account"</dt><dd data-testid="active-account">{m.account_name}</dd>
                                <dt>"Type"</dt><dd>{m.kind.label()}</dd>
                                <dt>"Your group"</dt><dd>{m.group_name}</dd>
                                <dt>"Role"</dt><dd>{if m.is_admin { "Administrator" } else { "Member" }}</dd>
                            </dl>
                            <p class="hint">"Use “Switch account” at the top to work in another account."</p>
                        </section>
                        {m.is_admin.then(|| view! {
                            <section class="card" aria-labelledby="settings-heading">
                                <h2 id="settings-heading">"Settings"</h2>
                                <p class="hint">"You administer this account."</p>
                                <ul class="link-list">
                                    <li><a href=account_mfa_href(m.account_id)>"Multi-Factor Authentication"</a></li>
                                    <li><a href=account_sso_href(m.account_id)>"Single sign-on"</a></li>
                                    <li><a href=account_members_href(m.account_id)>"Members"</a></li>
                                    <li><a href=account_groups_href(m.account_id)>"Groups"</a></li>
                                    <li><a href=account_audit_href(m.account_id)>"Audit log"</a></li>
                                </ul>
                            </section>
                        })}
                    }.into_any(),
                    None => view! {
                        <section class="card">
                            <h2>"No account yet"</h2>
                            <p>"You do not belong to any partner account yet. An administrator of your organisation can add you."</p>
                        </section>
                    }.into_any(),
                }}
                <p><a href="/profile">"Manage Your Profile"</a></p>
            }
        } />
    }
}
