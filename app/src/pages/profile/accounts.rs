use crate::components::{SwitchToButton, WithViewer};
use crate::format::{account_mfa_href, mfa_setup_href};
use leptos::prelude::*;
use leptos_meta::Title;

/// Every account the person belongs to, with "Switch to".
#[component]
pub fn AccountsSection() -> impl IntoView {
    view! {
        <Title text="Accounts · Manage Your Profile" />
        <section class="card" aria-labelledby="accounts-heading">
            <h2 id="accounts-heading">"Accounts"</h2>
            <WithViewer children=|v| {
                if v.memberships.is_empty() {
                    return view! {
                        <p class="empty">"You do not belong to any partner account yet. An administrator of your organisation can add you to their account."</p>
                    }.into_any();
                }
                let rows = v.memberships.iter().map(|m| {
                    let active = v.active_account_id == Some(m.account_id);
                    let id = m.account_id;
                    let name = m.account_name.clone();
                    view! {
                        <tr class:active-row=active>
                            <th scope="row" data-label="Account">{m.account_name.clone()}</th>
                            <td data-label="Type">{m.kind.label()}</td>
                            <td data-label="Group">{m.group_name.clone()}</td>
                            <td data-label="Administrator">
                                {if m.is_admin {
                                    view! {
                                        "Yes · "
                                        <a href=account_mfa_href(id) aria-label=format!("MFA settings of {name}")>"MFA settings"</a>
                                    }.into_any()
                                } else {
                                    "No".into_any()
                                }}
                            </td>
                            <td data-label="MFA">
                                {m.mfa.summary()}
                                {m.mfa.needs_setup().then(|| view! {
                                    " · "<a href=mfa_setup_href(id, "/profile/accounts")>"Set up"</a>
                                })}
                            </td>
                            <td data-label="Status">
                                {if active {
                                    view! { <span class="badge">"Active"</span> }.into_any()
                                } else {
                                    view! { <SwitchToButton account_id=id account_name=name.clone() /> }.into_any()
                                }}
                            </td>
                        </tr>
                    }
                }).collect_view();
                view! {
                    <table class="data stacked">
                        <caption class="visually-hidden">"Accounts you belong to"</caption>
                        <thead><tr>
                            <th scope="col">"Account"</th><th scope="col">"Type"</th>
                            <th scope="col">"Group"</th><th scope="col">"Administrator"</th>
                            <th scope="col">"MFA"</th>
                            <th scope="col">"Status"</th>
                        </tr></thead>
                        <tbody>{rows}</tbody>
                    </table>
                }.into_any()
            } />
        </section>
    }
}
