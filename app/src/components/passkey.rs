//! The browser's half of a passkey ceremony: `navigator.credentials` with the options the
//! server gave (WebAuthn's JSON, read by the browser's own
//! `PublicKeyCredential.parse…OptionsFromJSON`) and the authenticator's answer as JSON
//! (`toJSON()`). No WebAuthn types are compiled into the client: it only passes JSON
//! between the server and the browser, which keeps the islands small.

use crate::{
    models::{PasskeyChallenge, PasskeyPurpose, RecoveryCodes},
    AppError, Secret,
};

/// Fields of a ceremony's second half besides the answer.
#[derive(Clone, Default)]
pub struct Finish {
    pub name: Option<String>,
    pub current_password: Option<Secret>,
    pub next: Option<String>,
}

/// A whole ceremony: the server's challenge, the authenticator's answer, and the
/// server's verdict (the recovery codes when a first passkey turned MFA on).
pub async fn ceremony(
    purpose: PasskeyPurpose,
    finish: Finish,
) -> Result<Option<RecoveryCodes>, AppError> {
    let challenge = crate::api::start_passkey(purpose).await?;
    let answer = answer(&challenge, purpose == PasskeyPurpose::Register)
        .await
        .map_err(AppError::Invalid)?;
    crate::api::finish_passkey(
        purpose,
        challenge.ceremony,
        answer,
        finish.name,
        finish.current_password,
        finish.next,
    )
    .await
}

/// A whole ceremony as an action (its value: the server's verdict). One function for
/// every button that runs one, so the client carries this code once.
pub type CeremonyAction = leptos::prelude::Action<(), Result<Option<RecoveryCodes>, AppError>>;

pub fn ceremony_action(
    purpose: PasskeyPurpose,
    finish: impl Fn() -> Finish + Send + Sync + 'static,
) -> CeremonyAction {
    let finish: std::sync::Arc<dyn Fn() -> Finish + Send + Sync> = std::sync::Arc::new(finish);
    leptos::prelude::Action::new(move |_: &()| {
        let run = ceremony(purpose, finish());
        // The browser's promises are not `Send`; the action runs on the page's one thread.
        #[cfg(feature = "hydrate")]
        let run = send_wrapper::SendWrapper::new(run);
        run
    })
}

/// What went wrong on the browser's side, in words for the person.
fn browser_error(name: &str) -> String {
    if name == "NotAllowedError" {
        "The passkey request was cancelled or timed out. Try again when you are ready.".into()
    } else {
        "Your browser could not use a passkey here. Try again, or use another way.".into()
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
