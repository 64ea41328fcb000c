@mfa-totp
Feature: TOTP second factor
  A permanent user enrolls an authenticator app (POST /factors), and raises a session to aal2 by
  answering a challenge with a code (POST /factors/{id}/challenge, then /verify). The verification
  upgrades the caller's own session and ends the user's weaker sessions. Challenges and codes are
  single use, failed codes are limited, and a verified factor can only be removed at aal2. The
  suite computes codes from the secret the enrollment returns, as an authenticator app would.

  @MFA-001 @must
  Scenario: Verifying a challenge raises the same session to aal2
    POST /factors/{id}/verify with a correct code MUST answer a session for the SAME session_id with
    `aal: aal2`, `totp` among the amr methods and a new refresh token; refreshing it MUST keep aal2.

    Given a registered user "Dana" who has signed in
    And "Dana" has enrolled a TOTP factor
    And "Dana" has created a challenge for their factor
    When "Dana" verifies the challenge with the current code
    Then the response status is 200
    And the response is a session
    And the access token claim "aal" is "aal2"
    And the access token's amr methods include "totp"
    And the new access token has the same session_id as the previous one
    And the new refresh token differs from the previous one
    When "Dana" refreshes their session
    Then the response status is 200
    And the access token claim "aal" is "aal2"
    And the access token's amr methods include "totp"
    And the new access token has the same session_id as the previous one

  @MFA-002 @must
  Scenario: A later password sign-in is aal1 and the user lists the verified factor
    After a factor is verified, a password sign-in MUST still be aal1 (the second factor is asked for
    separately), and GET /user MUST list the factor with status `verified`.

    Given a registered user "Dana" who has signed in
    And "Dana" has verified a TOTP factor
    When "Dana" signs in with their password
    Then the response status is 200
    And the access token claim "aal" is "aal1"
    And "Dana"'s user lists their factor as "verified"

  @MFA-003 @must
  Scenario: Enrollment returns what an authenticator app needs
    POST /factors {factor_type: totp, friendly_name} MUST answer 200 with the factor's id, `type:
    totp`, the friendly name, and `totp` holding a base32 secret of at least 128 bits (RFC 4226), an
    otpauth URI carrying that secret, and the QR code as SVG markup (clients prefix `data:image/svg+xml;utf-8,`);
    the factor MUST then be listed as unverified.

    Given a registered user "Dana" who has signed in
    When "Dana" enrolls a TOTP factor named "phone"
    Then the response status is 200
    And the response describes a TOTP factor named "phone" that an authenticator app can use
    And "Dana"'s user lists their factor as "unverified"

  @MFA-004 @must
  Scenario: Verifying ends the user's other aal1 sessions
    A successful verification MUST end the user's other sessions that are still aal1: their access
    and refresh tokens MUST be refused afterwards.

    Given a registered user "Dana" who is signed in on "laptop" and on "phone"
    And "Dana" on "laptop" has enrolled a TOTP factor
    And "Dana" on "laptop" has created a challenge for their factor
    When "Dana" on "laptop" verifies the challenge with the current code
    Then the response status is 200
    And "Dana"'s access token on "phone" is refused with 403 "session_not_found"
    And "Dana"'s refresh token on "phone" is refused with 400 "refresh_token_not_found" or "refresh_token_already_used"
    And "Dana"'s access token on "laptop" works

  @MFA-005 @must
  Scenario: Nobody can challenge another user's factor
    POST /factors/{id}/challenge naming another user's factor MUST answer 404 `mfa_factor_not_found`.

    Given a registered user "Dana" who has signed in
    And "Dana" has enrolled a TOTP factor
    And a registered user "Eve" who has signed in
    When "Eve" creates a challenge for the factor of "Dana"
    Then the request is refused with 404 "mfa_factor_not_found"

  @MFA-006 @must
  Scenario: Nobody can verify another user's factor, even with a correct code
    POST /factors/{id}/verify naming another user's factor and challenge MUST answer 404
    `mfa_factor_not_found`, even with a correct code, and MUST NOT raise the caller's session.

    Given a registered user "Dana" who has signed in
    And "Dana" has enrolled a TOTP factor
    And "Dana" has created a challenge for their factor
    And a registered user "Eve" who has signed in
    When "Eve" verifies the challenge of "Dana" with its current code
    Then the request is refused with 404 "mfa_factor_not_found"
    When "Eve" refreshes their session
    Then the access token claim "aal" is "aal1"

  @MFA-007 @must
  Scenario: A wrong code is refused
    Verifying with a code the factor's secret does not produce MUST answer 422
    `mfa_verification_failed` and leave the session at aal1.

    Given a registered user "Dana" who has signed in
    And "Dana" has enrolled a TOTP factor
    And "Dana" has created a challenge for their factor
    When "Dana" verifies the challenge with a wrong code
    Then the request is refused with 422 "mfa_verification_failed"
    When "Dana" refreshes their session
    Then the access token claim "aal" is "aal1"

  @MFA-008 @must
  Scenario: An expired challenge is refused
    Verifying a challenge after its lifetime MUST answer 422 `mfa_challenge_expired`, even with a
    correct code.

    Given the target's MFA challenges expire within 30 seconds
    And a registered user "Dana" who has signed in
    And "Dana" has enrolled a TOTP factor
    And "Dana" has created a challenge for their factor
    When the challenge's lifetime has passed
    And "Dana" verifies the challenge with the current code
    Then the request is refused with 422 "mfa_challenge_expired"

  @MFA-009 @must
  Scenario: A challenge verifies only once
    A challenge that was verified MUST be refused when verified again, even with the next valid code,
    with GoTrue's 422 `mfa_ip_address_mismatch`.

    Given a registered user "Dana" who has signed in
    And "Dana" has enrolled a TOTP factor
    And "Dana" has created a challenge for their factor
    And "Dana" has verified the challenge
    When "Dana" verifies the challenge with the code of the next time step
    Then the request is refused with 422 "mfa_ip_address_mismatch"

  @MFA-010 @must
  Scenario: A code cannot be replayed on a new challenge
    A code that was accepted MUST NOT be accepted again (RFC 6238 §5.2), not even for a new
    challenge: the second use MUST answer 422 `mfa_verification_failed`.

    Given a registered user "Dana" who has signed in
    And "Dana" has verified a TOTP factor
    When "Dana" verifies a new challenge with the code they used last
    Then the request is refused with 422 "mfa_verification_failed"

  @MFA-011 @must
  Scenario: Guessing codes is stopped, and then even the right code is refused
    Repeated wrong codes from one client MUST be stopped with 429 `over_request_rate_limit` once the
    attempts the target allows (its [mfa] verify_attempts, 20 unless it says otherwise) are used up,
    and while the limit lasts a correct code MUST be refused the same way.

    Given a registered user "Dana" who has signed in
    And "Dana" has enrolled a TOTP factor
    And "Dana" has created a challenge for their factor
    When "Dana" enters wrong codes until refused, past the target's verify attempts
    Then the request is refused with 429 "over_request_rate_limit"
    And every earlier attempt was refused with 422 "mfa_verification_failed"
    When "Dana" verifies a new challenge with the current code
    Then the request is refused with 429 "over_request_rate_limit"

  @MFA-020 @should
  Scenario: Guessing codes from many addresses is stopped too
    Wrong codes for one factor SHOULD be limited per factor, not only per client: guesses that each
    come from another client address MUST still be stopped with 429 `over_request_rate_limit`
    within the attempts the target allows. A per-address limit alone lets a guesser with many
    addresses walk the code space of one factor.

    Given a registered user "Dana" who has signed in
    And "Dana" has enrolled a TOTP factor
    When "Dana" enters wrong codes from a new client address each time until refused, past the target's verify attempts
    Then the request is refused with 429 "over_request_rate_limit"
    And every earlier attempt was refused with 422 "mfa_verification_failed"

  @MFA-012 @must
  Scenario: A verified factor cannot be removed from an aal1 session
    DELETE /factors/{id} of a verified factor from an aal1 session MUST answer 422 `insufficient_aal`
    and keep the factor.

    Given a registered user "Dana" who has signed in
    And "Dana" has verified a TOTP factor
    And "Dana" has signed in again with their password
    When "Dana" unenrolls their factor
    Then the request is refused with 422 "insufficient_aal"
    And "Dana"'s user lists their factor as "verified"

  @MFA-013 @must
  Scenario: A verified factor is removed from an aal2 session, which falls back to aal1
    DELETE /factors/{id} from an aal2 session MUST answer 200 with the factor's id and remove it;
    sessions raised by it MUST then refresh as aal1 without `totp` in their amr.

    Given a registered user "Dana" who has signed in
    And "Dana" has verified a TOTP factor
    When "Dana" unenrolls their factor
    Then the response status is 200
    And the response names the factor of "Dana"
    And "Dana"'s user lists no factors
    When "Dana" refreshes their session
    Then the response status is 200
    And the access token claim "aal" is "aal1"
    And the access token's amr methods do not include "totp"

  @MFA-014 @must
  Scenario: A second factor cannot be enrolled from an aal1 session
    POST /factors by a user who has a verified factor, from an aal1 session, MUST answer 403
    `insufficient_aal`.

    Given a registered user "Dana" who has signed in
    And "Dana" has verified a TOTP factor
    And "Dana" has signed in again with their password
    When "Dana" enrolls a TOTP factor named "backup"
    Then the request is refused with 403 "insufficient_aal"

  @MFA-015 @must
  Scenario: Parallel verifications of one challenge succeed once
    10 verifications of the same challenge with a correct code at the same moment MUST produce
    exactly one session; the others MUST answer 422 `mfa_ip_address_mismatch`.

    Given a registered user "Dana" who has signed in
    And "Dana" has enrolled a TOTP factor
    And "Dana" has created a challenge for their factor
    When "Dana" verifies the challenge 10 times in parallel with the current code
    Then exactly 1 parallel response has status 200
    And every other parallel response is refused with 422 "mfa_ip_address_mismatch"

  @MFA-016 @must
  Scenario: Friendly names are unique per user
    Enrolling a second factor with a friendly name the user already uses MUST answer 422
    `mfa_factor_name_conflict`.

    Given a registered user "Dana" who has signed in
    And "Dana" has enrolled a TOTP factor named "phone"
    When "Dana" enrolls a TOTP factor named "phone"
    Then the request is refused with 422 "mfa_factor_name_conflict"

  @MFA-017 @must
  Scenario: The refresh token from before the verification stops working
    After a verification, the refresh token the session had at aal1 MUST be refused, so that only
    the client that answered the challenge continues the aal2 session.

    Given a registered user "Dana" who has signed in
    And "Dana" has verified a TOTP factor
    When "Dana" refreshes with the refresh token they had before the verification
    Then the request is refused with 400 "refresh_token_not_found" or "refresh_token_already_used"

  @MFA-018 @must
  Scenario: An ill-formed factor id is an unknown factor
    A factor id that is not a UUID MUST answer 404 with `mfa_factor_not_found`, or with
    `validation_failed` as GoTrue answers an ill-formed id, never a server error.

    Given a registered user "Dana" who has signed in
    When "Dana" sends "POST /factors/not-a-factor/challenge" with JSON
      """
      {}
      """
    Then the request is refused with 404 "mfa_factor_not_found" or "validation_failed"

  @MFA-019 @must
  Scenario: A verification without a code is refused as invalid
    POST /factors/{id}/verify without `code` MUST answer 400 `validation_failed`, never a server
    error.

    Given a registered user "Dana" who has signed in
    And "Dana" has enrolled a TOTP factor
    And "Dana" has created a challenge for their factor
    When "Dana" verifies the challenge without a code
    Then the request is refused with 400 "validation_failed"

  @MFA-021 @must
  Scenario: A password change from an aal1 session is refused once a factor is verified
    PUT /user with a new password from an aal1 session of a user who has a verified factor MUST answer
    401 `insufficient_aal`, as GoTrue does, and change nothing: the old password still signs in and the
    user's aal2 session keeps working. Otherwise the password alone takes over an account that MFA
    protects and signs its owner out.

    Given a registered user "Dana" who is signed in on "laptop" and on "phone"
    And "Dana" on "laptop" has verified a TOTP factor
    And "Dana" on "phone" has signed in again with their password
    When "Dana" on "phone" changes their password
    Then the request is refused with 401 "insufficient_aal"
    And "Dana" can still sign in with their old password
    And "Dana"'s access token on "laptop" works

  @MFA-022 @must
  Scenario: An email change from an aal1 session is refused once a factor is verified
    PUT /user with a new email from an aal1 session of a user who has a verified factor MUST answer 401
    `insufficient_aal`, as GoTrue does, and start no change: the email stays, with no change pending.
    A new address in the password thief's hands would otherwise receive the account's recovery mail.

    Given a registered user "Dana" who is signed in on "laptop" and on "phone"
    And "Dana" on "laptop" has verified a TOTP factor
    And "Dana" on "phone" has signed in again with their password
    When "Dana" on "phone" changes their email to a new address
    Then the request is refused with 401 "insufficient_aal"
    And "Dana"'s user on "laptop" still has the old email and no change pending
    And "Dana"'s access token on "laptop" works

  @MFA-023 @should
  Scenario: A factor enrolled at aal1 cannot raise a session once another factor is verified
    A factor left unverified, enrolled by whoever had the password while the user had no verified
    factor, SHOULD no longer be challenged or verified from an aal1 session once the user has verified
    another factor: the server SHOULD answer 403 `insufficient_aal`, as it does to enrolling at aal1.
    Otherwise the planted factor later lifts the thief's password sign-in to aal2. GoTrue asks for
    aal2 only to enroll, and drops the other unverified factors of the verified factor's type only.

    Given the target also claims the "mfa-webauthn" capability
    And a registered user "Dana" who has signed in
    And someone with the password of "Dana" has enrolled a TOTP factor from "elsewhere"
    And "Dana" has verified a WebAuthn factor
    When someone with the password of "Dana" signs in again from "elsewhere" and verifies the factor they enrolled
    Then the request is refused with 403 "insufficient_aal"

  @MFA-024 @must
  Scenario: Wrong codes sent at once are limited like wrong codes sent in turn
    Wrong codes sent at the same moment MUST be counted like codes sent one after another: of three
    times the target's verify attempts sent in parallel, at most that many may be answered 422
    `mfa_verification_failed`, every other one 429 `over_request_rate_limit`, and then even the right
    code MUST be refused with 429. A limit checked before it is counted lets a burst through.

    Given a registered user "Dana" who has signed in
    And "Dana" has enrolled a TOTP factor
    When "Dana" enters 3 times the target's verify attempts of wrong codes at once
    Then at most the target's verify attempts of the parallel answers were checked, every other one refused with 429 "over_request_rate_limit"
    When "Dana" verifies a new challenge with the current code
    Then the request is refused with 429 "over_request_rate_limit"

  @MFA-025 @must
  Scenario: A burst of guesses that holds the right code has no more of them checked than the limit
    Of three times the target's verify attempts sent at once, one of them the right code, at most
    the verify attempts MUST be checked against the factor (answered 200 or 422
    `mfa_verification_failed`); every other one MUST be refused with 429 `over_request_rate_limit`
    without being compared, so the right code wins only if it was among those the limit allowed. A
    server that refuses the surplus only after comparing it accepts a right code past its limit.

    Given a registered user "Dana" who has signed in
    And "Dana" has enrolled a TOTP factor
    When "Dana" enters 3 times the target's verify attempts of codes at once, one of them the current code
    Then at most the target's verify attempts of the parallel answers were checked, every other one refused with 429 "over_request_rate_limit"
    And unless one of them was accepted, "Dana" verifying a new challenge with the current code is refused with 429 "over_request_rate_limit"

  @MFA-028 @must
  Scenario: A step-up adds its method with a fresh timestamp and keeps the first
    Raising a session to aal2 MUST add the factor's method to amr stamped with the time of the
    step-up (Unix seconds), and MUST keep the sign-in's entry with its original timestamp, as
    GoTrue's amr claims do (one per method and session, most recent first).

    Given a registered user "Dana" who has signed in
    And "Dana" has enrolled a TOTP factor
    And 2 seconds have passed
    And "Dana" has created a challenge for their factor
    When "Dana" verifies the challenge with the current code
    Then the response is a session
    And the access token's amr adds "totp" stamped after the wait and keeps "password" as it was

  @MFA-026 @must
  Scenario: The service role lists and deletes a user's factor
    GET /admin/users/{id}/factors with the service-role key MUST answer 200 with the user's factors;
    DELETE /admin/users/{id}/factors/{factor_id} MUST answer 200 with the deleted factor, after which
    the user lists no factors.

    Given a registered user "Dana" who has signed in
    And "Dana" has verified a TOTP factor
    When the service role lists the factors of "Dana"
    Then the response lists exactly the factor of "Dana"
    When the service role deletes the factor of "Dana"
    Then the response status is 200
    And the response names the factor of "Dana"
    And "Dana"'s user lists no factors

  @MFA-027 @must
  Scenario: The service role deleting a factor the user does not have is refused
    DELETE /admin/users/{id}/factors/{factor_id} naming no factor of that user MUST answer 404
    `mfa_factor_not_found`.

    Given a registered user "Dana" who has signed in
    When the service role deletes a factor id that "Dana" does not have
    Then the request is refused with 404 "mfa_factor_not_found"
