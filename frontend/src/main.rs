//! Client-side-rendered entry used by Trunk (`trunk serve`): the same `App`, mounted
//! without server rendering. Server functions are proxied to a running `portal serve`.

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(app::CsrApp);
}
