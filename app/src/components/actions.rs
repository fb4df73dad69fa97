//! How islands run server functions: every form (`ServerForm`) and button uses a plain
//! action.

use super::reload_done;
use crate::AppError;
use leptos::prelude::*;
use server_fn::ServerFn;

/// An action calling the server function `S` (see [`direct_action`]).
pub type DirectAction<S> = Action<S, Result<<S as ServerFn>::Output, AppError>>;

/// An action that calls the server function `S`. Not Leptos' `ServerAction`, which also
/// decodes a no-script form error from the address: the islands need scripts anyway, and
/// that decoder would cost every action's browser code.
pub fn direct_action<S>() -> DirectAction<S>
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Send + Sync + 'static,
{
    Action::new(|input: &S| S::run_on_client(input.clone()))
}

/// Once `value` holds a success, loads the page again from the server with `?done=`
/// what `done` says of the result, so the whole page shows the new state and its
/// confirmation (see [`reload_done`]).
pub fn reload_when_done<T, S, F>(value: S, done: F)
where
    T: 'static,
    S: Get<Value = Option<Result<T, AppError>>> + Send + Sync + 'static,
    F: Fn(&T) -> String + Send + Sync + 'static,
{
    Effect::new(move |_| {
        if let Some(Ok(result)) = value.get() {
            reload_done(&done(&result));
        }
    });
}
