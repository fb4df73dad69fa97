//! The error type every server function returns.
//!
//! Each variant's message is safe to show to a person: internals never travel to the
//! browser. Unexpected failures carry only a request id that the server also logs, so a
//! person can quote it and an operator can find the details.

use serde::{Deserialize, Serialize};
use server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// No valid session: the person must sign in (again).
    #[error("Your session has ended. Please sign in again.")]
    Unauthenticated,
    /// Wrong email or password. One message for every cause, so it reveals nothing.
    #[error("Incorrect email or password")]
    BadCredentials,
    /// Too many failed attempts; try again after the given number of seconds.
    #[error("Too many failed sign-in attempts. Try again in {}.", crate::format::wait_duration(*retry_after_secs))]
    Throttled { retry_after_secs: u64 },
    /// Too many attempts are being checked at this moment (not failures): try again soon.
    #[error("Too many sign-in attempts right now. Try again in {}.", crate::format::wait_duration(*retry_after_secs))]
    Busy { retry_after_secs: u64 },
    /// The person may not act on the object they named.
    #[error("You do not have access to that.")]
    Forbidden,
    /// The action needs a recent "Confirm it's you" in this session (what it must
    /// include, as in [`StepUpNeeds`]); then it can be repeated.
    #[error("Confirm it's you to continue.")]
    StepUpRequired {
        code: bool,
        passkey: bool,
        only_passkey: bool,
    },
    /// A specific, user-facing validation message.
    #[error("{0}")]
    Invalid(String),
    /// Something failed on the server; details are in the server log under this id.
    #[error(
        "Something went wrong on our side. If it keeps happening, quote reference {request_id}."
    )]
    Internal { request_id: String },
    /// The request did not reach the server or its answer could not be read.
    #[error("The portal could not be reached. Check your connection and try again.")]
    Transport,
}

/// What a "Confirm it's you" must include: always the person's own password, and:
/// (a plain value for the prompt; on the wire its fields travel in the error itself,
/// which keeps the client small).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StepUpNeeds {
    /// A second factor (MFA is on): a code from the app, a recovery code or a passkey.
    pub code: bool,
    /// The person has a passkey: "Confirm with a passkey" is offered.
    pub passkey: bool,
    /// Only a passkey will do (phishing-resistant): no code is asked for.
    pub only_passkey: bool,
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Request(_) | ServerFnErrorErr::Response(_) => AppError::Transport,
            // Bad arguments (e.g. a crafted request): report without echoing internals.
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) => {
                AppError::Invalid("The request was malformed.".into())
            }
            _ => AppError::Transport,
        }
    }
}
