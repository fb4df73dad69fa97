use crate::components::WithViewer;
use leptos::prelude::*;
use leptos_meta::Title;

/// `/profile`: the person's name and email, and their memberships.
#[component]
pub fn ProfilePage() -> impl IntoView {
    view! {
        <Title text="Manage Your Profile" />
        <WithViewer children=|v| {
            let rows = v.memberships.iter().map(|m| {
                let active = v.active_account_id == Some(m.account_id);
                view! {
                    <tr>
                        <th scope="row">{m.account_name.clone()}</th>
                        <td>{m.kind.label()}</td>
                        <td>{m.group_name.clone()}</td>
                        <td>{if m.is_admin { "Yes" } else { "No" }}</td>
                        <td>{if active { "Active" } else { "" }}</td>
                    </tr>
                }
            }).collect_view();
            let empty = v.memberships.is_empty();
            view! {
                <h1>"Manage Your Profile"</h1>
                <section class="card" aria-labelledby="identity-heading">
                    <h2 id="identity-heading">"Your identity"</h2>
                    <dl class="facts">
                        <dt>"Name"</dt><dd data-testid="profile-name">{v.name.clone()}</dd>
                        <dt>"Email"</dt><dd data-testid="profile-email">{v.email.clone()}</dd>
                    </dl>
                </section>
                <section class="card" aria-labelledby="accounts-heading">
                    <h2 id="accounts-heading">"Accounts"</h2>
                    {if empty {
                        view! { <p>"You do not belong to any partner account yet."</p> }.into_any()
                    } else {
                        view! {
                            <table class="data">
                                <caption class="visually-hidden">"Accounts you belong to"</caption>
                                <thead><tr>
                                    <th scope="col">"Account"</th><th scope="col">"Type"</th>
                                    <th scope="col">"Group"</th><th scope="col">"Administrator"</th>
                                    <th scope="col">"Status"</th>
                                </tr></thead>
                                <tbody>{rows}</tbody>
                            </table>
                        }.into_any()
                    }}
                </section>
            }
        } />
    }
}
