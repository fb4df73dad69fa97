use crate::AppError;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

/// The `account_id` of an `/accounts/{account_id}/…` page, if it is a number.
pub fn use_account_id(
) -> impl Fn() -> Option<crate::models::AccountId> + Copy + Send + Sync + 'static {
    let params = use_params_map();
    move || params.read().get("account_id").and_then(|v| v.parse().ok())
}

/// What an account settings page shows when its data could not be loaded: the heading,
/// and for a refusal the page's own explanation, else the error's message.
#[component]
pub fn AccountPageError(
    title: &'static str,
    forbidden: &'static str,
    error: AppError,
) -> impl IntoView {
    let message = match error {
        AppError::Forbidden => forbidden.to_string(),
        e => e.to_string(),
    };
    view! {
        <h1>{title}</h1>
        <div role="alert" class="notice error"><p>{message}</p></div>
        <p><a href="/">"Back to the portal"</a></p>
    }
}
