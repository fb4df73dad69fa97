//! MFA policy notices: when an account's policy starts to require MFA of a member who
//! has not turned it on (or passkeys, of a member who has none), they are told (naming
//! the account and the deadline), then reminded 3 days and 1 day before the deadline;
//! nothing once they comply. A sweep finds
//! who is due ([`send_due`], every minute in `serve`); each notice is claimed in the
//! database with its mail, so it is sent once whatever the number of replicas. Policy
//! notices are not news: "Receive news & announcements" does not turn them off.

use crate::{db, state::AppState};
use app::{models::DAY_MS, ssr::Outcome};

/// Which notice of a deadline is due now, after the first one (`required`) was sent:
/// the 3-day reminder within 3 days of the deadline, the 1-day one within a day, each
/// only when the grace period is longer than its lead (a 2-day grace period gets the
/// first notice and the 1-day reminder).
pub fn reminder_due(deadline: i64, grace_days: i64, now: i64) -> Option<&'static str> {
    let left = deadline - now;
    if left <= 0 {
        None
    } else if left <= DAY_MS {
        (grace_days > 1).then_some("1d")
    } else if left <= 3 * DAY_MS {
        (grace_days > 3).then_some("3d")
    } else {
        None
    }
}

/// Sends the policy notices due now; how many.
pub async fn send_due(state: &AppState) -> Outcome<usize> {
    let now = state.now();
    let members = db::policy::uncompliant(&mut *state.db.acquire().await?).await?;
    let mut sent = 0;
    for m in members {
        // A deadline long past: they were told (or the policy predates the notices);
        // the portal itself now asks them at sign-in. Requiring passkeys does not move
        // the deadline, so a member whose deadline had passed is told of it once, at once.
        let late = m.deadline < now - DAY_MS;
        if late && !m.passkeys {
            continue;
        }
        // Which notice is due, read first: the sweep writes only when it sends. Those
        // about passkeys are their own (a person told to set up MFA, who did with an app,
        // is told again when the account comes to require passkeys).
        let named = |stage: &str| {
            if m.passkeys {
                format!("{stage}-passkey")
            } else {
                stage.to_string()
            }
        };
        let mut conn = state.db.acquire().await?;
        let required = named("required");
        let stage =
            if !db::policy_notices::sent(&mut conn, m.account_id, m.user_id, m.deadline, &required)
                .await?
            {
                required
            } else if late {
                continue;
            } else {
                match reminder_due(m.deadline, m.grace.days(), now).map(named) {
                    Some(stage)
                        if !db::policy_notices::sent(
                            &mut conn,
                            m.account_id,
                            m.user_id,
                            m.deadline,
                            &stage,
                        )
                        .await? =>
                    {
                        stage
                    }
                    _ => continue,
                }
            };
        drop(conn);
        // Claimed with the mail: a replica sweeping at once finds it taken.
        let mut tx = state.db.begin().await?;
        let claimed =
            db::policy_notices::claim(&mut tx, m.account_id, m.user_id, m.deadline, &stage, now)
                .await?;
        if claimed {
            let reminder = !stage.starts_with("required");
            let Some(person) = db::directory::person(&mut tx, m.user_id).await? else {
                continue;
            };
            state
                .mfa_policy_mail(&mut tx, &person, &m, reminder)
                .await?;
            tx.commit().await?;
            sent += 1;
        }
    }
    Ok(sent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reminders_come_three_days_and_one_day_before_when_the_grace_period_allows() {
        let deadline = 100 * DAY_MS;
        assert_eq!(reminder_due(deadline, 7, deadline - 4 * DAY_MS), None);
        assert_eq!(reminder_due(deadline, 7, deadline - 3 * DAY_MS), Some("3d"));
        assert_eq!(reminder_due(deadline, 7, deadline - 2 * DAY_MS), Some("3d"));
        assert_eq!(reminder_due(deadline, 7, deadline - DAY_MS), Some("1d"));
        assert_eq!(reminder_due(deadline, 7, deadline - 1), Some("1d"));
        assert_eq!(reminder_due(deadline, 7, deadline), None);
        // A short grace period has no reminder that would come with the first notice.
        assert_eq!(reminder_due(deadline, 3, deadline - 2 * DAY_MS), None);
        assert_eq!(reminder_due(deadline, 2, deadline - DAY_MS / 2), Some("1d"));
        assert_eq!(reminder_due(deadline, 1, deadline - DAY_MS / 2), None);
    }
}
