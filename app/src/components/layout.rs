use super::{AccountSwitcher, UserMenu};
use crate::{
    api::{get_viewer, SwitchAccount},
    error::AppError,
    models::Viewer,
};
use leptos::prelude::*;
use leptos_router::components::Outlet;

/// The signed-in person, loaded once per page and refreshed after an account switch.
pub type ViewerResource = Resource<Result<Viewer, AppError>>;

#[derive(Clone, Copy)]
struct ViewerContext {
    viewer: ViewerResource,
    switch: ServerAction<SwitchAccount>,
}

/// The viewer resource provided by [`PortalLayout`].
pub fn use_viewer() -> Option<ViewerResource> {
    use_context::<ViewerContext>().map(|c| c.viewer)
}

/// The shell's "switch account" action, so other places can switch and the header follows.
pub fn use_switch_account() -> Option<ServerAction<SwitchAccount>> {
    use_context::<ViewerContext>().map(|c| c.switch)
}

/// The portal shell: header with product name, account switcher and user menu, then the
/// page. Every route inside it needs a session (the server redirects to `/login`
/// otherwise).
#[component]
pub fn PortalLayout() -> impl IntoView {
    let switch = ServerAction::<SwitchAccount>::new();
    let viewer = Resource::new(move || switch.version().get(), |_| get_viewer());
    provide_context(ViewerContext { viewer, switch });
    // An account that requires MFA the person has not set up: set-up comes first.
    let navigate = leptos_router::hooks::use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(Some(setup))) = switch.value().get() {
            navigate(&setup, Default::default());
        }
    });

    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <header class="topbar">
            <a class="product" href="/">"Connect Portal"</a>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    viewer.await.ok().map(|v| {
                        view! {
                            <nav class="topbar-actions" aria-label="Account and user">
                                <AccountSwitcher viewer=v.clone() action=switch />
                                <UserMenu viewer=v />
                            </nav>
                        }
                    })
                })}
            </Transition>
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
    let Some(ctx) = use_context::<ViewerContext>() else {
        return view! { <p role="alert">"This page must be shown inside the portal."</p> }
            .into_any();
    };
    let viewer = ctx.viewer;
    view! {
        <Transition fallback=|| view! { <p class="loading" aria-live="polite">"Loading…"</p> }>
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
        </Transition>
    }
    .into_any()
}
