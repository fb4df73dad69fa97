//! What only the browser knows: its time zone and the current moment in another zone,
//! both through `Intl` (so the wasm carries no time zone database). On the server these
//! return `None` and the server-rendered values stand.

use crate::models::{DateFormat, TimeFormat};

/// The browser's IANA time zone, e.g. "Europe/Paris".
#[cfg(any(feature = "hydrate", feature = "csr"))]
pub fn browser_time_zone() -> Option<String> {
    let format = js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &js_sys::Object::new());
    let options = format.resolved_options();
    js_sys::Reflect::get(&options, &"timeZone".into())
        .ok()
        .and_then(|v| v.as_string())
}

#[cfg(not(any(feature = "hydrate", feature = "csr")))]
pub fn browser_time_zone() -> Option<String> {
    None
}

/// The current moment in `time_zone`, formatted with the given formats. `Some(Err)` when
/// the browser does not know the zone.
#[cfg(any(feature = "hydrate", feature = "csr"))]
pub fn preview_now(
    time_zone: &str,
    date: DateFormat,
    time: TimeFormat,
) -> Option<Result<String, ()>> {
    use crate::format::{format_datetime, LocalParts};
    use js_sys::{Array, Intl, Object, Reflect};
    use wasm_bindgen::{JsCast, JsValue};
    let options = Object::new();
    let set = |k: &str, v: &str| Reflect::set(&options, &k.into(), &v.into()).is_ok();
    let ok = set("timeZone", time_zone)
        && set("year", "numeric")
        && set("month", "numeric")
        && set("day", "numeric")
        && set("hour", "numeric")
        && set("minute", "numeric")
        && set("hourCycle", "h23");
    if !ok {
        return Some(Err(()));
    }
    // An unknown zone makes the constructor throw: catch it instead of panicking.
    let ctor = Reflect::get(&js_sys::global(), &"Intl".into())
        .and_then(|intl| Reflect::get(&intl, &"DateTimeFormat".into()))
        .ok()?;
    let args = Array::of2(&JsValue::from_str("en-US"), &options);
    let format: Intl::DateTimeFormat =
        match Reflect::construct(ctor.unchecked_ref::<js_sys::Function>(), &args) {
            Ok(f) => f.unchecked_into(),
            Err(_) => return Some(Err(())),
        };
    let parts = format.format_to_parts(&js_sys::Date::new_0());
    let mut p = LocalParts {
        year: 0,
        month: 0,
        day: 0,
        hour: 0,
        minute: 0,
    };
    for part in parts.iter() {
        let kind = Reflect::get(&part, &"type".into())
            .ok()
            .and_then(|v| v.as_string());
        let value = Reflect::get(&part, &"value".into())
            .ok()
            .and_then(|v| v.as_string());
        let (Some(kind), Some(value)) = (kind, value) else {
            continue;
        };
        let n: u32 = value.parse().unwrap_or(0);
        match kind.as_str() {
            "year" => p.year = i32::try_from(n).unwrap_or(0),
            "month" => p.month = n,
            "day" => p.day = n,
            "hour" => p.hour = n % 24,
            "minute" => p.minute = n,
            _ => {}
        }
    }
    Some(Ok(format_datetime(&p, date, time)))
}

#[cfg(not(any(feature = "hydrate", feature = "csr")))]
pub fn preview_now(
    _time_zone: &str,
    _date: DateFormat,
    _time: TimeFormat,
) -> Option<Result<String, ()>> {
    None
}

/// The id of the page's `<datalist>` of time zones (rendered by the server).
pub const TIME_ZONE_LIST_ID: &str = "time-zones";

/// Whether `name` is one of the time zones: in the browser, an option of the page's
/// `<datalist>` (so the wasm carries no copy of the list); on the server, the list.
#[cfg(any(feature = "hydrate", feature = "csr"))]
pub fn known_time_zone(name: &str) -> bool {
    if name.is_empty() || !crate::time_zones::has_zone_characters(name) {
        return false;
    }
    leptos::prelude::document()
        .query_selector(&format!("#{TIME_ZONE_LIST_ID} option[value=\"{name}\"]"))
        .ok()
        .flatten()
        .is_some()
}

#[cfg(not(any(feature = "hydrate", feature = "csr")))]
pub fn known_time_zone(name: &str) -> bool {
    crate::time_zones::is_time_zone(name)
}

/// Copies text with the Clipboard API. Returns whether the browser accepted the request.
#[cfg(any(feature = "hydrate", feature = "csr"))]
pub fn copy_to_clipboard(text: &str) -> bool {
    match web_sys::window() {
        Some(w) => {
            let _promise = w.navigator().clipboard().write_text(text);
            true
        }
        None => false,
    }
}

#[cfg(not(any(feature = "hydrate", feature = "csr")))]
pub fn copy_to_clipboard(_text: &str) -> bool {
    false
}

/// Seconds left in the current 30-second TOTP window, updated every second in the browser
/// (gloo-timers); on the server it stays at its initial value.
pub fn totp_countdown() -> leptos::prelude::RwSignal<u32> {
    use leptos::prelude::*;
    let secs = RwSignal::new(30u32);
    #[cfg(any(feature = "hydrate", feature = "csr"))]
    {
        let left = || {
            let now = (js_sys::Date::now() / 1000.0) as u64;
            u32::try_from(30 - now % 30).unwrap_or(30)
        };
        Effect::new(move |_| {
            secs.set(left());
            let interval = gloo_timers::callback::Interval::new(1000, move || secs.set(left()));
            let handle = send_wrapper::SendWrapper::new(interval);
            on_cleanup(move || drop(handle));
        });
    }
    secs
}

/// Opens a `<dialog>` as a modal (the rest of the page becomes inert, Escape cancels) and
/// focuses its checked radio button, or else its first control.
pub fn show_modal(dialog: leptos::prelude::NodeRef<leptos::html::Dialog>) {
    #[cfg(any(feature = "hydrate", feature = "csr"))]
    {
        use leptos::prelude::GetUntracked;
        use wasm_bindgen::JsCast;
        if let Some(d) = dialog.get_untracked() {
            if !d.open() {
                let _ = d.show_modal();
            }
            let target = d
                .query_selector("input:checked")
                .ok()
                .flatten()
                .or_else(|| d.query_selector("input, button").ok().flatten());
            if let Some(el) = target.and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok()) {
                let _ = el.focus();
            }
        }
    }
    #[cfg(not(any(feature = "hydrate", feature = "csr")))]
    let _ = dialog;
}

/// Closes a `<dialog>` opened by [`show_modal`].
pub fn close_modal(dialog: leptos::prelude::NodeRef<leptos::html::Dialog>) {
    #[cfg(any(feature = "hydrate", feature = "csr"))]
    {
        use leptos::prelude::GetUntracked;
        if let Some(d) = dialog.get_untracked() {
            d.close();
        }
    }
    #[cfg(not(any(feature = "hydrate", feature = "csr")))]
    let _ = dialog;
}

/// Moves keyboard focus to an element once it is in the page. For a step that replaces
/// the control that had focus (the button that started it), so keyboard and screen-reader
/// users continue where the new step begins instead of at the top of the page.
pub fn focus_on_load<E>(node: leptos::prelude::NodeRef<E>)
where
    E: leptos::html::ElementType + 'static,
    E::Output: leptos::wasm_bindgen::JsCast + Clone + 'static,
{
    #[cfg(any(feature = "hydrate", feature = "csr"))]
    node.on_load(|el| {
        use wasm_bindgen::JsCast;
        if let Ok(el) = el.dyn_into::<web_sys::HtmlElement>() {
            let _ = el.focus();
        }
    });
    #[cfg(not(any(feature = "hydrate", feature = "csr")))]
    let _ = node;
}

/// `path` and `search` (as `location.search` gives it) with `key` set to `value`, or
/// removed when `value` is `None`; the other parameters are kept in their order.
pub fn address_with(path: &str, search: &str, key: &str, value: Option<&str>) -> String {
    let mut parts: Vec<String> = search
        .trim_start_matches('?')
        .split('&')
        .filter(|p| !p.is_empty() && p.split('=').next() != Some(key))
        .map(str::to_string)
        .collect();
    if let Some(v) = value {
        parts.push(format!("{key}={v}"));
    }
    if parts.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", parts.join("&"))
    }
}

/// The query parameter that names an action which just finished (see [`reload_done`]).
pub const DONE_PARAM: &str = "done";

/// After an action that changes what the page shows: loads the page again, from the
/// server, with `?done=<what>` so it shows the confirmation. The history entry is
/// replaced, so Back does not return to the stale page.
pub fn reload_done(what: &str) {
    #[cfg(any(feature = "hydrate", feature = "csr"))]
    {
        let location = leptos::prelude::window().location();
        let path = location.pathname().unwrap_or_default();
        let search = location.search().unwrap_or_default();
        let _ = location.replace(&address_with(&path, &search, DONE_PARAM, Some(what)));
    }
    #[cfg(not(any(feature = "hydrate", feature = "csr")))]
    let _ = what;
}

/// Loads `href` as a new page (or the current page again when `None`).
pub fn go_to(href: Option<&str>) {
    #[cfg(any(feature = "hydrate", feature = "csr"))]
    {
        let location = leptos::prelude::window().location();
        let _ = match href {
            Some(h) => location.set_href(h),
            None => location.reload(),
        };
    }
    #[cfg(not(any(feature = "hydrate", feature = "csr")))]
    let _ = href;
}

/// Makes the browser follow a server function's redirect (sign-in, sign-out, the code
/// step, single sign-on): the page at the address it names loads. Called once, before
/// the islands hydrate.
pub fn follow_server_redirects() {
    #[cfg(any(feature = "hydrate", feature = "csr"))]
    let _ = server_fn::redirect::set_redirect_hook(|to: &str| go_to(Some(to)));
}

#[cfg(test)]
mod tests {
    use super::address_with;

    #[test]
    fn address_with_sets_replaces_and_removes_one_parameter() {
        assert_eq!(
            address_with("/p", "", "done", Some("saved")),
            "/p?done=saved"
        );
        assert_eq!(
            address_with("/p", "?page=2&done=x", "done", Some("y")),
            "/p?page=2&done=y"
        );
        assert_eq!(address_with("/p", "?done=x", "done", None), "/p");
        assert_eq!(
            address_with("/p", "?page=2&done=x&without_mfa=1", "done", None),
            "/p?page=2&without_mfa=1"
        );
        // A parameter that only starts with the key is another parameter.
        assert_eq!(
            address_with("/p", "?doneness=1", "done", None),
            "/p?doneness=1"
        );
    }
}
