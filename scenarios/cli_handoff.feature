@cli-handoff
Feature: CLI login through a browser, with anonymous carry-over
  A command-line tool creates a login attempt (POST /cli) and polls it (POST /cli/poll) while a
  person opens the login URL in a browser where they are signed in and completes it
  (POST /cli/complete). The CLI then receives a session of its own, exactly once. If the CLI had an
  anonymous session, the browser may merge it into the account (with consent) or adopt it and
  upgrade it in place. Codes are high-entropy; expiry wins over every other state.

  @CLI-001 @must
  Scenario: Creating an attempt returns two high-entropy codes, an expiry and an interval
    POST /cli MUST answer 200 with distinct `polling_code` and `login_code` of at least 128 bits of
    entropy (22 base64url characters), `expires_at`, and a positive `interval` in seconds.

    When a CLI creates a login attempt
    Then the response status is 200
    And the attempt has two distinct high-entropy codes, an expiry and a positive interval

  @CLI-002 @must
  Scenario: The poll goes from waiting to success to used
    Polling MUST answer "waiting" until the browser completes the attempt, then "success" with a
    session once, then "used".

    Given a registered user "Dana" who has signed in
    And a CLI has created a login attempt
    When the CLI polls
    Then the poll status is "waiting"
    When "Dana" completes the attempt in the browser
    And the CLI polls after the interval
    Then the poll status is "success"
    And the response is a session
    And the session belongs to "Dana"
    When the CLI polls after the interval
    Then the poll status is "used"

  @CLI-003 @must
  Scenario: Expiry wins over every other state
    Once an attempt has expired, polling MUST answer "expired", even if the browser completed it
    and the CLI never collected its session.

    Given a registered user "Dana" who has signed in
    And a CLI has created a login attempt that expires in 2 seconds
    And "Dana" has completed the attempt in the browser
    When the attempt's lifetime has passed
    And the CLI polls
    Then the poll status is "expired"

  @CLI-004 @must
  Scenario: An unknown polling code is refused
    POST /cli/poll with a polling code the server never issued MUST answer 400 `cli_code_invalid`.

    When a CLI polls with the polling code "guestpass-never-issued-polling-code"
    Then the request is refused with 400 "cli_code_invalid"

  @CLI-005 @should
  Scenario: Polling faster than the interval is told to slow down
    A poll that comes sooner than `interval` after the previous one SHOULD answer "slow_down".

    Given a CLI has created a login attempt
    When the CLI polls twice without waiting
    Then the poll status is "slow_down"

  @CLI-006 @must
  Scenario: Checking an attempt changes nothing
    POST /cli/complete with mode "check" MUST report the CLI's session state and have no side
    effect: checking twice answers the same, and the attempt can still be completed.

    Given a registered user "Dana" who has signed in
    And a CLI has created a login attempt
    When the browser checks the attempt
    Then the response JSON field "cli_session_state" is "none"
    When the browser checks the attempt
    Then the response JSON field "cli_session_state" is "none"
    When "Dana" completes the attempt in the browser
    Then the response status is 200
    And the response JSON field "success" is true

  @CLI-007 @must
  Scenario: The CLI's anonymous session can be claimed once
    With mode "claim-anon-session" the browser MUST receive a session of the CLI's anonymous user,
    once; a second claim MUST answer 400 `cli_code_invalid`.

    Given a visitor "Cli" signed in anonymously
    And "Cli" has created a login attempt carrying its anonymous refresh token
    When the browser checks the attempt
    Then the response JSON field "cli_session_state" is "anonymous"
    When "Browser" claims the CLI's anonymous session
    Then the response status is 200
    And the session belongs to "Cli"
    When "Browser" claims the CLI's anonymous session
    Then the request is refused with 400 "cli_code_invalid"

  @CLI-008 @must
  Scenario: An attempt can be completed once
    A second POST /cli/complete in mode "complete" MUST answer 400 `cli_code_invalid`.

    Given a registered user "Dana" who has signed in
    And a CLI has created a login attempt
    And "Dana" has completed the attempt in the browser
    When "Dana" completes the attempt in the browser
    Then the request is refused with 400 "cli_code_invalid"

  @CLI-009 @must
  Scenario: Every mode refuses an expired login code
    After an attempt expires, each of "check", "claim-anon-session" and "complete" MUST answer 400
    `cli_code_invalid`.

    Given a registered user "Dana" who has signed in
    And a visitor "Cli" signed in anonymously
    And "Cli" has created a login attempt carrying its anonymous refresh token that expires in 2 seconds
    When the attempt's lifetime has passed
    Then every mode of "Dana" on the attempt is refused with 400 "cli_code_invalid"

  @CLI-010 @must
  Scenario: Every mode refuses a used login code
    After an attempt was completed, each of "check", "claim-anon-session" and "complete" MUST answer
    400 `cli_code_invalid`.

    Given a registered user "Dana" who has signed in
    And a visitor "Cli" signed in anonymously
    And "Cli" has created a login attempt carrying its anonymous refresh token
    And "Dana" has completed the attempt in the browser
    Then every mode of "Dana" on the attempt is refused with 400 "cli_code_invalid"

  @CLI-011 @must
  Scenario: Completing needs the browser's valid refresh token
    POST /cli/complete in mode "complete" without a refresh token MUST answer 400
    `validation_failed`; with one the server never issued it MUST answer 400
    `refresh_token_not_found`; the attempt stays pending either way.

    Given a registered user "Dana" who has signed in
    And a CLI has created a login attempt
    When the browser completes the attempt without a refresh token
    Then the request is refused with 400 "validation_failed"
    When the browser completes the attempt with the refresh token "guestpass-never-issued"
    Then the request is refused with 400 "refresh_token_not_found"
    When "Dana" completes the attempt in the browser
    Then the response status is 200

  @CLI-012 @must
  Scenario: Only an anonymous user's live refresh token can ride along
    POST /cli with an `anon_refresh_token` that belongs to a permanent user, or that the server never
    issued, MUST answer 400 `anonymous_token_invalid`.

    Given a registered user "Dana" who has signed in
    When "Dana" creates a login attempt carrying their refresh token as the anonymous one
    Then the request is refused with 400 "anonymous_token_invalid"
    When a CLI creates a login attempt carrying the anonymous refresh token "guestpass-never-issued"
    Then the request is refused with 400 "anonymous_token_invalid"

  @CLI-013 @must
  Scenario: The CLI's session is its own
    The session the CLI receives MUST be a new session (its own session_id and refresh token, never
    the browser's): refreshing it leaves the browser's session working, and logging the CLI out
    (scope local) leaves the browser signed in.

    Given a registered user "Dana" who has signed in
    And "Dana" has signed the CLI "Terminal" in through the browser
    Then "Terminal" has a session of its own, not the browser's
    When "Terminal" refreshes their session
    Then the response status is 200
    And "Dana"'s access token works
    And "Dana"'s refresh token still refreshes
    When "Terminal" sends "POST /logout?scope=local"
    Then "Dana"'s access token works

  @CLI-021 @must
  Scenario: Logging the browser out leaves the CLI signed in
    After the browser logs out with scope local, the CLI's session MUST keep working, and refreshing
    the browser's session before that MUST NOT break the CLI's.

    Given a registered user "Dana" who has signed in
    And "Dana" has signed the CLI "Terminal" in through the browser
    And "Dana" has refreshed their session
    When "Dana" sends "POST /logout?scope=local"
    Then the response status is 204
    And "Terminal"'s access token works
    And "Terminal"'s refresh token still refreshes

  @CLI-014 @must
  Scenario: The browser sees the CLI's session and can end it
    The browser MUST see the CLI's session in GET /sessions and, after DELETE /sessions/{id} on it,
    the CLI's access token MUST be refused with 403 `session_not_found`.

    Given the target also claims the "sessions" capability
    And a registered user "Dana" who has signed in
    And "Dana" has signed the CLI "Terminal" in through the browser
    When "Dana" ends the session of "Terminal" from their list of sessions
    Then the response status is 204
    And "Terminal"'s access token is refused with 403 "session_not_found"
    And "Dana"'s access token works

  @CLI-015 @must
  Scenario: Parallel polls after completion deliver the session once
    20 polls at the same moment after the browser completed the attempt MUST produce exactly one
    "success".

    Given a registered user "Dana" who has signed in
    And a CLI has created a login attempt
    And "Dana" has completed the attempt in the browser
    When the CLI polls 20 times in parallel
    Then exactly 1 parallel poll reports "success"

  @CLI-016 @must
  Scenario: Parallel completes succeed once
    20 completes of one attempt at the same moment MUST produce exactly one success; the others MUST
    answer 400 `cli_code_invalid`.

    Given a registered user "Dana" who has signed in
    And a CLI has created a login attempt
    When "Dana" completes the attempt 20 times in parallel
    Then exactly 1 parallel response has status 200
    And every other parallel response is refused with 400 "cli_code_invalid"

  @CLI-017 @must
  Scenario: Parallel claims of the anonymous session succeed once
    10 claims of the CLI's anonymous session at the same moment MUST produce exactly one session.

    Given a visitor "Cli" signed in anonymously
    And "Cli" has created a login attempt carrying its anonymous refresh token
    When the browser claims the CLI's anonymous session 10 times in parallel
    Then exactly 1 parallel response has status 200
    And every other parallel response is refused with 400 "cli_code_invalid"

  @CLI-018 @must
  Scenario: With consent, the CLI's anonymous user is merged into the browser's account
    Completing with `anonymous_merge: true` MUST merge the CLI's anonymous user into the browser's
    user: its rows move, it is gone, and the CLI receives a session of the browser's user.

    Given a registered user "Dana" who has signed in
    And a visitor "Cli" signed in anonymously
    And "Cli" has contributed 2 items
    And "Cli" has created a login attempt carrying its anonymous refresh token
    When "Dana" completes the attempt in the browser merging the anonymous session
    Then the response JSON field "anonymous_merge.status" is "merged"
    And "Dana" owns exactly 2 items
    And "Cli"'s access token is refused with 403 "session_not_found"
    When the CLI polls after the interval
    Then the poll status is "success"
    And the session belongs to "Dana"

  @CLI-019 @must
  Scenario: The browser can adopt the CLI's anonymous user and upgrade it in place
    After claiming the CLI's anonymous session, the browser can give that user an email and password
    and complete the attempt with it; the CLI MUST then receive a session of the same user id, now
    permanent.

    Given the target confirms email sign-ups automatically
    And a visitor "Cli" signed in anonymously
    And "Cli" has created a login attempt carrying its anonymous refresh token
    And "Browser" has claimed the CLI's anonymous session
    And "Browser" has made their account permanent with an email and a password
    When "Browser" completes the attempt in the browser
    And the CLI polls after the interval
    Then the poll status is "success"
    And the session belongs to "Cli"
    And the response JSON field "user.is_anonymous" is false

  @CLI-020 @must
  Scenario: Without consent, the CLI's anonymous user is not merged
    Completing without `anonymous_merge` MUST leave the CLI's anonymous user, its rows and its
    session untouched.

    Given a registered user "Dana" who has signed in
    And a visitor "Cli" signed in anonymously
    And "Cli" has contributed 2 items
    And "Cli" has created a login attempt carrying its anonymous refresh token
    When "Dana" completes the attempt in the browser
    Then the response status is 200
    And the response has no "anonymous_merge"
    And "Cli" owns exactly 2 items
    And "Dana" owns exactly 0 items

  @CLI-022 @must
  Scenario: After the anonymous user logs out everywhere, the attempt hands out nothing of it
    An attempt created with an anonymous refresh token MUST hold that anonymous session only while it
    is live (PROTOCOL §3: a merge needs a live token; OWASP Session Management: a logout ends the
    session on the server, and nothing issued from it may outlive it). After a global logout of the
    anonymous user, claiming its session MUST answer 400 `anonymous_token_invalid` (the code POST /cli
    gives a token that is not live), and completing with `anonymous_merge` MUST move none of its rows.

    Given a registered user "Dana" who has signed in
    And a visitor "Cli" signed in anonymously
    And "Cli" has contributed 2 items
    And "Cli" has created a login attempt carrying its anonymous refresh token
    When "Cli" sends "POST /logout?scope=global"
    Then the response status is 204
    When "Browser" claims the CLI's anonymous session
    Then the request is refused with 400 "anonymous_token_invalid"
    When "Dana" completes the attempt in the browser merging the anonymous session
    Then the response status is 200
    And the CLI's anonymous user was not merged
    And "Dana" owns exactly 0 items

  @CLI-023 @must
  Scenario: After the anonymous user deletes itself, the attempt hands out nothing of it
    After the anonymous user deletes its account, claiming its session through an attempt created with
    its refresh token MUST answer 400 `anonymous_token_invalid`, and completing with `anonymous_merge`
    MUST merge nothing (PROTOCOL §3: a merge needs a live token; §8: all sessions end).

    Given the target also claims the "self-delete" capability
    And a registered user "Dana" who has signed in
    And a visitor "Cli" signed in anonymously
    And "Cli" has contributed 2 items
    And "Cli" has created a login attempt carrying its anonymous refresh token
    When "Cli" sends "DELETE /user"
    Then the response status is 204
    When "Browser" claims the CLI's anonymous session
    Then the request is refused with 400 "anonymous_token_invalid"
    When "Dana" completes the attempt in the browser merging the anonymous session
    Then the response status is 200
    And the CLI's anonymous user was not merged
    And "Dana" owns exactly 0 items

  @CLI-024 @must
  Scenario: A detected reuse of the anonymous refresh token ends the attempt's hold on its session
    Rotating the anonymous refresh token MUST NOT end the attempt's hold on the session (the CLI
    refreshes while the person signs in), but once a reuse of an old token has revoked the token
    family (PROTOCOL §1), claiming the session MUST answer 400 `anonymous_token_invalid` and
    completing with `anonymous_merge` MUST move none of its rows (§3: a merge needs a live token).

    Given a registered user "Dana" who has signed in
    And a visitor "Cli" signed in anonymously
    And "Cli" has contributed 2 items
    And "Cli" has created a login attempt carrying its anonymous refresh token
    And "Cli" has refreshed their session
    And "Cli" has refreshed their session
    When the browser checks the attempt
    Then the response JSON field "cli_session_state" is "anonymous"
    When "Cli" refreshes with their first refresh token after the reuse interval
    Then the request is refused with 400 "refresh_token_already_used"
    When the reuse interval has passed
    And "Browser" claims the CLI's anonymous session
    Then the request is refused with 400 "anonymous_token_invalid"
    When "Dana" completes the attempt in the browser merging the anonymous session
    Then the response status is 200
    And the CLI's anonymous user was not merged
    And "Dana" owns exactly 0 items
