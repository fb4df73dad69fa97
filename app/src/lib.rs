//! Connect Portal's user interface: pages, components, shared models and server
//! functions. Compiled for the server (`ssr`), the browser (`hydrate`) and Trunk (`csr`).
//!
//! Islands architecture: every page is rendered on the server, with its data, and only
//! the interactive parts (forms, menus, dialogs, toasts: the `#[island]` components) are
//! compiled into the browser's wasm and hydrated there. Links are ordinary page loads.

#![recursion_limit = "256"]

pub mod api;
pub mod components;
pub mod error;
pub mod format;
pub mod models;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod ssr;
pub mod time_zones;
pub mod validation;

pub use error::{AppError, StepUpNeeds};
pub use models::Secret;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Link, Meta, Title};
use leptos_router::{
    components::{ParentRoute, Route, Router, Routes},
    path, SsrMode,
};

/// The document around the app, rendered on the server for every page. It provides the
/// CSP nonce used by Leptos' inline hydration scripts and sends the matching policy.
#[cfg(feature = "ssr")]
pub fn shell(options: LeptosOptions) -> impl IntoView {
    use leptos::nonce::{provide_nonce, use_nonce};
    use leptos_meta::MetaTags;
    provide_nonce();
    if let (Some(nonce), Some(response)) =
        (use_nonce(), use_context::<leptos_axum::ResponseOptions>())
    {
        let policy = format!(
            "default-src 'self'; script-src 'nonce-{nonce}' 'strict-dynamic' 'wasm-unsafe-eval'; \
             style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
             manifest-src 'self'; worker-src 'self'; form-action 'self'; object-src 'none'; \
             base-uri 'none'; frame-ancestors 'none'"
        );
        if let Ok(value) = http::HeaderValue::from_str(&policy) {
            response.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
        }
    }
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                // The bundle's directory carries the build's content hash (the server sets
                // it), so these files may be cached for good.
                <link rel="stylesheet" href=format!("/{}/portal.css", options.site_pkg_dir) />
                <HydrationScripts options islands=true />
                <link rel="manifest" href="/manifest.webmanifest" />
                <link rel="apple-touch-icon" href="/icons/icon-192.png" />
                <script type="module" src="/pwa.js" nonce=use_nonce()></script>
                <MetaTags />
            </head>
            <body>
                <App />
                // Last, so it hydrates after every other island on the page.
                <components::HydrationMark />
            </body>
        </html>
    }
}

/// The whole application: routes for the sign-in page and the portal.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Title formatter=|page: String| {
            if page.is_empty() { "Connect Portal".to_string() } else { format!("{page} · Connect Portal") }
        } />
        <Meta name="description" content="Manage your identity, preferences, security and sessions across your partner accounts." />
        <Meta name="theme-color" content="#1d3f72" />
        <Link rel="icon" href="/favicon.svg" type_="image/svg+xml" />
        <components::UpdateToast />
        <Router>
            <Routes fallback=pages::NotFound>
                // Async everywhere: a page is sent once its data is loaded, complete, with
                // its status (a refusal answers 403), and its islands get that data as props.
                <Route path=path!("/login") view=pages::LoginPage ssr=SsrMode::Async />
                <Route path=path!("/login/code") view=pages::CodePage ssr=SsrMode::Async />
                <Route path=path!("/forgot-password") view=pages::ForgotPasswordPage ssr=SsrMode::Async />
                <Route path=path!("/reset-password") view=pages::ResetPasswordPage ssr=SsrMode::Async />
                <Route path=path!("/email/confirm") view=pages::EmailConfirmPage ssr=SsrMode::Async />
                <Route path=path!("/email/cancel") view=pages::EmailCancelPage ssr=SsrMode::Async />
                <Route path=path!("/invitation") view=pages::InvitationPage ssr=SsrMode::Async />
                <ParentRoute path=path!("") view=components::PortalLayout ssr=SsrMode::Async>
                    <Route path=path!("") view=pages::HomePage ssr=SsrMode::Async />
                    <Route path=path!("step-up") view=pages::StepUpPage ssr=SsrMode::Async />
                    <Route path=path!("accounts/:account_id/settings/mfa") view=pages::AccountMfaPage ssr=SsrMode::Async />
                    <Route path=path!("accounts/:account_id/settings/sso") view=pages::AccountSsoPage ssr=SsrMode::Async />
                    <Route path=path!("accounts/:account_id/settings/members") view=pages::AccountMembersPage ssr=SsrMode::Async />
                    <Route path=path!("accounts/:account_id/settings/groups") view=pages::AccountGroupsPage ssr=SsrMode::Async />
                    <Route path=path!("accounts/:account_id/settings/audit") view=pages::AccountAuditPage ssr=SsrMode::Async />
                    <ParentRoute path=path!("profile") view=pages::ProfileLayout ssr=SsrMode::Async>
                        <Route path=path!("") view=pages::ProfileOverview ssr=SsrMode::Async />
                        <Route path=path!("general") view=pages::GeneralSection ssr=SsrMode::Async />
                        <Route path=path!("accounts") view=pages::AccountsSection ssr=SsrMode::Async />
                        <Route path=path!("security") view=pages::SecuritySection ssr=SsrMode::Async />
                        <Route path=path!("sessions") view=pages::SessionsSection ssr=SsrMode::Async />
                    </ParentRoute>
                </ParentRoute>
            </Routes>
        </Router>
    }
}

/// The client-rendered build (Trunk): the same app, mounted whole in the browser.
#[component]
pub fn CsrApp() -> impl IntoView {
    view! {
        <App />
        <components::HydrationMark />
    }
}
