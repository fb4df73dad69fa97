//! The browser's half of a passkey ceremony: `navigator.credentials` with the options the
//! server gave (WebAuthn's JSON, read by the browser's own
//! `PublicKeyCredential.parse…OptionsFromJSON`) and the authenticator's answer as JSON
//! (`toJSON()`). No WebAuthn types are compiled into the client: it only passes JSON
//! between the server and the browser, which keeps the islands small.

use crate::models::PasskeyChallenge;

/// What went wrong on the browser's side, in words for the person.
fn browser_error(name: &str) -> String {
    match name {
        "NotAllowedError" => {
            "The passkey request was cancelled or timed out. Try again when you are ready.".into()
        }
        "InvalidStateError" => "This authenticator already holds a passkey for you here.".into(),
        "SecurityError" => {
            "This browser refused passkeys for this address (it must be the portal's own).".into()
        }
        "NotSupportedError" => {
            "This authenticator cannot make a passkey of the kind needed.".into()
        }
        _ => "Your browser could not use a passkey here. Try again, or use another way.".into(),
    }
}

/// This browser can make and use passkeys with JSON options (a current browser).
pub fn supported() -> bool {
    #[cfg(feature = "hydrate")]
    {
        use js_sys::Reflect;
        let Some(window) = web_sys::window() else {
            return false;
        };
        Reflect::get(&window, &"PublicKeyCredential".into())
            .ok()
            .filter(|p| !p.is_undefined())
            .and_then(|p| Reflect::get(&p, &"parseRequestOptionsFromJSON".into()).ok())
            .is_some_and(|f| f.is_function())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        false
    }
}

/// Asks the authenticator to make a new passkey (`create`) or to sign a challenge
/// (`get`); the answer as WebAuthn's JSON.
pub async fn answer(challenge: &PasskeyChallenge, create: bool) -> Result<String, String> {
    #[cfg(feature = "hydrate")]
    {
        use js_sys::{Function, Object, Reflect, JSON};
        use wasm_bindgen::{JsCast, JsValue};
        let failed = |e: JsValue| {
            let name = Reflect::get(&e, &"name".into())
                .ok()
                .and_then(|n| n.as_string())
                .unwrap_or_default();
            browser_error(&name)
        };
        let window = web_sys::window().ok_or_else(|| browser_error(""))?;
        let class = Reflect::get(&window, &"PublicKeyCredential".into()).map_err(failed)?;
        let options = JSON::parse(&challenge.options).map_err(failed)?;
        let public_key = Reflect::get(&options, &"publicKey".into()).map_err(failed)?;
        let parse = if create {
            "parseCreationOptionsFromJSON"
        } else {
            "parseRequestOptionsFromJSON"
        };
        let parse: Function = Reflect::get(&class, &parse.into())
            .map_err(failed)?
            .dyn_into()
            .map_err(failed)?;
        let public_key = parse.call1(&class, &public_key).map_err(failed)?;
        let request = Object::new();
        Reflect::set(&request, &"publicKey".into(), &public_key).map_err(failed)?;
        let credentials =
            Reflect::get(&window.navigator(), &"credentials".into()).map_err(failed)?;
        let method: Function = Reflect::get(
            &credentials,
            &(if create { "create" } else { "get" }).into(),
        )
        .map_err(failed)?
        .dyn_into()
        .map_err(failed)?;
        let promise: js_sys::Promise = method
            .call1(&credentials, &request)
            .map_err(failed)?
            .dyn_into()
            .map_err(failed)?;
        let credential = wasm_bindgen_futures::JsFuture::from(promise)
            .await
            .map_err(failed)?;
        if credential.is_null() || credential.is_undefined() {
            return Err(browser_error("NotAllowedError"));
        }
        let to_json: Function = Reflect::get(&credential, &"toJSON".into())
            .map_err(failed)?
            .dyn_into()
            .map_err(failed)?;
        let json = to_json.call0(&credential).map_err(failed)?;
        JSON::stringify(&json)
            .map_err(failed)?
            .as_string()
            .ok_or_else(|| browser_error(""))
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (challenge, create);
        Err(browser_error(""))
    }
}
