-- The MFA policy and single sign-on histories become views of the audit log: their
-- rows move there (those written before the audit log existed; later changes are in
-- both, written by the same person within five seconds of each other: the two writes took
-- the time separately), and their own tables go. From now on each change is written once.
INSERT INTO audit_log (account_id, actor_id, actor_label, action, subject, subject_user_id, detail, ip, user_agent, at)
SELECT c.account_id, c.changed_by, c.changed_by_label, 'policy_changed', a.name, NULL,
       (CASE c.from_policy WHEN 'optional' THEN 'Optional' WHEN 'admins' THEN 'Required for administrators' ELSE 'Required for all users' END)
       || ' → ' ||
       (CASE c.to_policy WHEN 'optional' THEN 'Optional' WHEN 'admins' THEN 'Required for administrators' ELSE 'Required for all users' END)
       || (CASE WHEN c.to_policy = 'optional' THEN ''
                WHEN c.grace_days = 1 THEN ', grace period 1 day'
                ELSE ', grace period ' || CAST(c.grace_days AS TEXT) || ' days' END),
       NULL, NULL, c.at
FROM mfa_policy_changes c JOIN accounts a ON a.id = c.account_id
WHERE NOT EXISTS (
    SELECT 1 FROM audit_log l
    WHERE l.account_id = c.account_id AND l.action = 'policy_changed'
      AND l.actor_id IS NOT DISTINCT FROM c.changed_by AND ABS(l.at - c.at) < 5000
);

INSERT INTO audit_log (account_id, actor_id, actor_label, action, subject, subject_user_id, detail, ip, user_agent, at)
SELECT c.account_id, c.changed_by, c.changed_by_label,
       CASE WHEN c.summary LIKE 'Domain % verified' THEN 'domain_proven' ELSE 'sso_changed' END,
       a.name, NULL,
       CASE WHEN c.summary LIKE 'Domain % verified'
            THEN SUBSTR(c.summary, 8, LENGTH(c.summary) - 16)
            ELSE c.summary END,
       NULL, NULL, c.at
FROM sso_changes c JOIN accounts a ON a.id = c.account_id
WHERE NOT EXISTS (
    SELECT 1 FROM audit_log l
    WHERE l.account_id = c.account_id AND l.action IN ('sso_changed', 'domain_proven')
      AND l.actor_id IS NOT DISTINCT FROM c.changed_by AND ABS(l.at - c.at) < 5000
);

DROP TABLE mfa_policy_changes;
DROP TABLE sso_changes;
