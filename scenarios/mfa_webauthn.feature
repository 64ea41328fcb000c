@mfa-webauthn
Feature: WebAuthn second factor
  A permanent user enrolls a security key as a factor (POST /factors with `factor_type: webauthn`).
  Its first challenge carries credential creation options (`webauthn.type: create`); answering it
  with the new credential verifies the factor. Later challenges carry request options naming that
  credential (`webauthn.type: request`). A correct answer raises the caller's own session to aal2
  with `mfa/webauthn` among the amr methods, exactly as a TOTP code does. The suite answers with its
  own virtual authenticator, from the origin the target file names under [passkeys].

  @MFAW-001 @must
  Scenario: Creating the factor's credential raises the same session to aal2
    The first challenge of a webauthn factor MUST carry `webauthn.type: create` and credential
    creation options with a challenge; verifying it with the authenticator's new credential MUST
    answer a session for the SAME session_id with `aal: aal2`, `mfa/webauthn` among the amr
    methods, and the factor MUST be listed as verified.

    Given a registered user "Dana" who has signed in
    And "Dana" has enrolled a WebAuthn factor
    When "Dana" creates a challenge for their factor
    Then the response status is 200
    And the challenge of "Dana" asks the authenticator to create a credential
    When "Dana" answers the challenge with their security key
    Then the response status is 200
    And the response is a session
    And the access token claim "aal" is "aal2"
    And the access token's amr methods include "mfa/webauthn"
    And the new access token has the same session_id as the previous one
    And "Dana"'s user lists their factor as "verified"

  @MFAW-002 @must
  Scenario: A later sign-in reaches aal2 with the same security key
    After a password sign-in, a challenge of the verified factor MUST carry `webauthn.type: request`
    naming the factor's credential, and the security key's signature MUST raise that session to
    aal2 with `mfa/webauthn`.

    Given a registered user "Dana" who has signed in
    And "Dana" has verified a WebAuthn factor
    And "Dana" has signed in again with their password
    When "Dana" creates a challenge for their factor
    Then the response status is 200
    And the challenge of "Dana" asks for a signature by the factor's credential
    When "Dana" answers the challenge with their security key
    Then the response status is 200
    And the access token claim "aal" is "aal2"
    And the access token's amr methods include "mfa/webauthn"

  @MFAW-003 @must
  Scenario: Another user's security key cannot answer for the factor
    A signature by a credential that is not the challenged factor's, even one registered as another
    user's factor, MUST answer 422 `mfa_verification_failed` and leave the session at aal1: someone
    who has the password and a security key of their own must not pass the second factor.

    Given a registered user "Dana" who has signed in
    And "Dana" has verified a WebAuthn factor
    And a registered user "Eve" who has signed in
    And "Eve" has verified a WebAuthn factor
    And "Dana" has signed in again with their password
    And "Dana" has created a challenge for their factor
    When "Dana" answers the challenge with the security key of "Eve"
    Then the request is refused with 422 "mfa_verification_failed"
    When "Dana" refreshes their session
    Then the access token claim "aal" is "aal1"

  @MFAW-004 @must
  Scenario: An answer made for another origin is refused
    An assertion whose client data names an origin the target does not allow MUST answer 422
    `mfa_verification_failed`.

    Given a registered user "Dana" who has signed in
    And "Dana" has verified a WebAuthn factor
    And "Dana" has signed in again with their password
    And "Dana" has created a challenge for their factor
    When "Dana" answers the challenge with their security key from the origin "https://evil.example"
    Then the request is refused with 422 "mfa_verification_failed"

  @MFAW-005 @should
  Scenario: A cloned security key whose counter went backwards is refused
    An assertion whose signature counter is not above the one stored at the last use SHOULD answer
    422 `mfa_verification_failed`: the key has been cloned, and the second factor is only worth
    something if a copy of it cannot pass. (WebAuthn §7.2 step 22 leaves the decision to the relying
    party; GoTrue never updates the stored counter after enrollment, so it cannot tell.)

    Given a registered user "Dana" who has signed in
    And "Dana" has verified a WebAuthn factor
    And "Dana" has signed in again with their password
    And "Dana" has answered a challenge with their security key, a clone of which was kept
    And "Dana" has signed in again with their password
    And "Dana" has created a challenge for their factor
    When "Dana" answers the challenge with the clone of their security key
    Then the request is refused with 422 "mfa_verification_failed"

  @MFAW-006 @must
  Scenario: A challenge is answered only once
    Answering a challenge that was already answered MUST answer 422, even with a correct signature:
    `mfa_ip_address_mismatch` (as for a used TOTP challenge) or `mfa_factor_not_found` (GoTrue,
    which deletes a used WebAuthn challenge).

    Given a registered user "Dana" who has signed in
    And "Dana" has verified a WebAuthn factor
    When "Dana" answers the same challenge again with their security key
    Then the request is refused with 422 "mfa_ip_address_mismatch" or "mfa_factor_not_found"

  @MFAW-007 @must
  Scenario: Parallel answers to one challenge succeed once
    10 verifications of one challenge with the same correct answer at the same moment MUST produce
    exactly one session; the others MUST answer 422 `mfa_ip_address_mismatch` or
    `mfa_factor_not_found`, as a challenge answered again does.

    Given a registered user "Dana" who has signed in
    And "Dana" has verified a WebAuthn factor
    And "Dana" has signed in again with their password
    And "Dana" has created a challenge for their factor
    When "Dana" answers the challenge with their security key 10 times in parallel
    Then exactly 1 parallel response has status 200
    And every other parallel response is refused with 422 "mfa_ip_address_mismatch" or "mfa_factor_not_found"

  @MFAW-008 @must
  Scenario: An expired challenge is refused
    Answering a challenge after its lifetime MUST answer 422 `mfa_challenge_expired`, even with a
    correct signature.

    Given the target's MFA challenges expire within 30 seconds
    And a registered user "Dana" who has signed in
    And "Dana" has verified a WebAuthn factor
    And "Dana" has signed in again with their password
    And "Dana" has created a challenge for their factor
    When the challenge's lifetime has passed
    And "Dana" answers the challenge with their security key
    Then the request is refused with 422 "mfa_challenge_expired"

  @MFAW-009 @must
  Scenario: A security key that did not verify the user is refused when verification is required
    If the target requires user verification, an assertion without the UV flag MUST answer 422
    `mfa_verification_failed`.

    Given the target requires user verification for passkeys
    And a registered user "Dana" who has signed in
    And "Dana" has verified a WebAuthn factor
    And "Dana" has signed in again with their password
    And "Dana" has created a challenge for their factor
    When "Dana" answers the challenge with their security key without verifying the user
    Then the request is refused with 422 "mfa_verification_failed"

  @MFAW-010 @must
  Scenario: A WebAuthn factor is not verified by a code
    Verifying a webauthn factor with a `code` instead of a `webauthn` answer MUST answer 400
    `validation_failed`: the factor is never checked as if it were a TOTP factor.

    Given a registered user "Dana" who has signed in
    And "Dana" has enrolled a WebAuthn factor
    And "Dana" has created a challenge for their factor
    When "Dana" verifies the challenge with the code "123456"
    Then the request is refused with 400 "validation_failed"
