use super::{AccountSwitcher, UserMenu, DONE_PARAM};
use crate::{api::get_viewer, error::AppError, models::Viewer};
use leptos::prelude::*;
use leptos_router::{components::Outlet, hooks::use_query_map};

/// The signed-in person, loaded once per page on the server (provided by
/// [`PortalLayout`], read by [`WithViewer`]).
type ViewerResource = Resource<Result<Viewer, AppError>>;

/// Which action just finished, when an island loaded the page again to show its result
/// (`?done=…`, see [`super::reload_done`]).
pub fn use_done() -> Option<String> {
    use_query_map().read_untracked().get(DONE_PARAM)
}

/// The page's `next` parameter (where to continue afterwards), when it is a safe
/// same-site path (`validation::safe_next_path`).
pub fn use_next() -> Option<String> {
    use_query_map()
        .read_untracked()
        .get("next")
        .filter(|n| crate::validation::safe_next_path(n).is_some())
}

/// The frame of the sign-in pages: the product's mark, the heading, and the content.
#[component]
pub fn AuthCard(
    /// The page's title and heading.
    title: &'static str,
    children: Children,
) -> impl IntoView {
    view! {
        <leptos_meta::Title text=title />
        <main id="main" class="auth-page">
            <section class="auth-card" aria-labelledby="auth-heading">
                <p class="brand-mark" aria-hidden="true">"Connect Portal"</p>
                <h1 id="auth-heading">{title}</h1>
                {children()}
            </section>
        </main>
    }
}

/// The portal shell: header with product name, account switcher and user menu, then the
/// page. Every route inside it needs a session (the server redirects to `/login`
/// otherwise).
#[component]
pub fn PortalLayout() -> impl IntoView {
    let viewer = Resource::new(|| (), |_| get_viewer());
    provide_context::<ViewerResource>(viewer);

    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <header class="topbar">
            <a class="product" href="/">"Connect Portal"</a>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    viewer.await.ok().map(|v| {
                        let (name, email) = (v.name.clone(), v.email.clone());
                        let initials = super::menus::initials(&name);
                        let (accounts, active) = super::menus::account_choices(&v);
                        view! {
                            <nav class="topbar-actions" aria-label="Account and user">
                                <AccountSwitcher accounts active />
                                <UserMenu name email initials />
                            </nav>
                        }
                    })
                })}
            </Suspense>
        </header>
        <main id="main" class="page" tabindex="-1">
            <Outlet />
        </main>
    }
}

/// Renders `children` with the signed-in person once loaded, or a clear message when
/// loading failed (an ended session links to sign-in; other errors show their reference).
#[component]
pub fn WithViewer<F, V>(children: F) -> impl IntoView
where
    F: Fn(Viewer) -> V + Send + Sync + Clone + 'static,
    V: IntoView + 'static,
{
    let Some(viewer) = use_context::<ViewerResource>() else {
        return view! { <p role="alert">"This page must be shown inside the portal."</p> }
            .into_any();
    };
    view! {
        <Suspense fallback=|| view! { <p class="loading" aria-live="polite">"Loading…"</p> }>
            {
                let children = children.clone();
                move || {
                    let children = children.clone();
                    Suspend::new(async move {
                        match viewer.await {
                            Ok(v) => children(v).into_any(),
                            Err(AppError::Unauthenticated) => view! {
                                <div role="alert" class="notice">
                                    <p>{AppError::Unauthenticated.to_string()}</p>
                                    <p><a href="/login">"Sign in"</a></p>
                                </div>
                            }
                            .into_any(),
                            Err(e) => view! {
                                <div role="alert" class="notice error">
                                    <p>{e.to_string()}</p>
                                </div>
                            }
                            .into_any(),
                        }
                    })
                }
            }
        </Suspense>
    }
    .into_any()
}
