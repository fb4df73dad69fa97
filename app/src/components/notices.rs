//! What an action says when it ends: a confirmation or its error.

use crate::AppError;
use leptos::prelude::*;

/// Shows an action's outcome: a confirmation on success, the error otherwise.
pub fn outcome<T, S, F>(value: S, success: F) -> impl IntoView
where
    T: Clone + Send + Sync + 'static,
    S: Get<Value = Option<Result<T, AppError>>> + Send + Sync + 'static,
    F: Fn(&T) -> String + Send + Sync + 'static,
{
    move || {
        value.get().map(|r| match r {
            Ok(v) => view! { <p class="ok" role="status">{success(&v)}</p> }.into_any(),
            Err(e) => {
                view! { <p class="form-error-text" role="alert">{e.to_string()}</p> }.into_any()
            }
        })
    }
}

/// Shows an action's error, once it has one.
pub fn failure<T, S>(value: S) -> impl IntoView
where
    T: Clone + Send + Sync + 'static,
    S: Get<Value = Option<Result<T, AppError>>> + Send + Sync + 'static,
{
    move || {
        value
            .get()
            .and_then(|r| r.err())
            .map(|e| view! { <p class="form-error-text" role="alert">{e.to_string()}</p> })
    }
}

/// The confirmation of an action that loaded the page again to show its result (`shown`
/// comes from `?done=`). It takes focus, so keyboard and screen-reader users learn the
/// outcome where the form was; it goes away once the action runs again.
pub fn confirmation<T, S>(shown: bool, value: S, text: &'static str) -> impl IntoView
where
    T: Send + Sync + 'static,
    S: Get<Value = Option<T>> + Send + Sync + 'static,
{
    move || {
        (shown && value.get().is_none())
            .then(|| view! { <p class="ok" role="status" tabindex="-1" autofocus>{text}</p> })
    }
}
