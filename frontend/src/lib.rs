//! The browser entry point. The portal renders its pages on the server and only its
//! interactive parts (the `#[island]` components of `app`) are compiled to wasm and
//! hydrated: `hydrate` starts the reactive runtime, then Leptos' island loader hydrates
//! each island in document order.

// Links the app crate, whose islands export their hydration functions to the loader.
#[cfg(feature = "hydrate")]
#[allow(unused_imports)]
use app::*;

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    // Panic messages in the console for development builds; the release build leaves the
    // hook out (about 1 KB of the payload budget) and a panic aborts.
    #[cfg(debug_assertions)]
    console_error_panic_hook::set_once();
    app::components::follow_server_redirects();
    leptos::mount::hydrate_islands();
}
