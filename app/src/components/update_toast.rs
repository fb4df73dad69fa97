use leptos::prelude::*;

/// "A new version is available — Reload", when `/pwa.js` reports a waiting service
/// worker. Reload activates it; the page then reloads with the new version.
#[island]
pub fn UpdateToast() -> impl IntoView {
    let ready = RwSignal::new(false);
    #[cfg(any(feature = "hydrate", feature = "csr"))]
    {
        Effect::new(move |_| {
            let flagged = js_sys::Reflect::get(&window(), &"portalUpdateReady".into())
                .ok()
                .and_then(|v| v.as_bool())
                .unwrap_or(false);
            if flagged {
                ready.set(true);
            }
        });
        let handle = window_event_listener(
            leptos::ev::Custom::<leptos::ev::Event>::new("portal-update-ready"),
            move |_| ready.set(true),
        );
        on_cleanup(move || handle.remove());
    }
    let reload = move |_| {
        #[cfg(any(feature = "hydrate", feature = "csr"))]
        {
            use wasm_bindgen::JsCast;
            if let Some(f) = js_sys::Reflect::get(&window(), &"portalActivateUpdate".into())
                .ok()
                .and_then(|v| v.dyn_into::<js_sys::Function>().ok())
            {
                let _ = f.call0(&wasm_bindgen::JsValue::NULL);
            }
        }
    };
    view! {
        <div class="toast-region" role="status" aria-live="polite">
            {move || ready.get().then(|| view! {
                <div class="toast">
                    <span>"A new version is available"</span>
                    <button type="button" class="secondary" on:click=reload>"Reload"</button>
                </div>
            })}
        </div>
    }
}
