@passkeys
Feature: Passkeys: WebAuthn sign-in
  A signed-in user registers a passkey (POST /passkeys/registration/options, then .../verify with the
  authenticator's answer) and later signs in with it on any device through a discoverable ceremony
  (POST /passkeys/authentication/options, then .../verify). Challenges are stored, single use, bound
  to their ceremony and expire; origin, RP ID, signature and sign counter are checked. The suite
  answers with its own virtual authenticator, which signs for real.

  @PK-001 @must
  Scenario: A passkey signs its user in on another device
    After registering a passkey, a client that holds nothing but the authenticator MUST be able to
    sign in with it: the session MUST be the same user's, at aal1, with amr `passkey`.

    Given a registered user "Dana" who has signed in
    And "Dana" has registered a passkey on their authenticator
    When someone signs in with the passkey on the authenticator of "Dana"
    Then the response is a session
    And the session belongs to "Dana"
    And the access token claim "aal" is "aal1"
    And the access token's amr methods are "passkey"

  @PK-002 @must
  Scenario: A challenge answers once
    A sign-in challenge that has been answered MUST be refused the second time with 400
    `webauthn_challenge_not_found`.

    Given a registered user "Dana" who has signed in
    And "Dana" has registered a passkey on their authenticator
    And someone has signed in with the passkey on the authenticator of "Dana"
    When the same sign-in challenge is answered again
    Then the request is refused with 400 "webauthn_challenge_not_found"

  @PK-003 @must
  Scenario: A challenge belongs to its ceremony
    A registration challenge answered at the sign-in endpoint, and a sign-in challenge answered at the
    registration endpoint, MUST be refused with 400 `webauthn_challenge_not_found`.

    Given a registered user "Dana" who has signed in
    And "Dana" has registered a passkey on their authenticator
    When the passkey of "Dana" answers a registration challenge at the sign-in endpoint
    Then the request is refused with 400 "webauthn_challenge_not_found"
    When "Dana" answers a sign-in challenge at the registration endpoint
    Then the request is refused with 400 "webauthn_challenge_not_found"

  @PK-004 @must
  Scenario: An expired challenge is refused
    A sign-in challenge answered after its expiry MUST be refused with 400 `webauthn_challenge_expired`.

    Given a registered user "Dana" who has signed in
    And "Dana" has registered a passkey on their authenticator
    When the passkey of "Dana" answers a sign-in challenge after it expired
    Then the request is refused with 400 "webauthn_challenge_expired"

  @PK-005 @must
  Scenario: An answer from another origin is refused
    A sign-in answer whose client data names another origin MUST be refused with 400
    `webauthn_verification_failed`.

    Given a registered user "Dana" who has signed in
    And "Dana" has registered a passkey on their authenticator
    When the passkey of "Dana" signs in from the origin "https://evil.example"
    Then the request is refused with 400 "webauthn_verification_failed"

  @PK-006 @must
  Scenario: An answer for another relying party is refused
    A sign-in answer whose authenticator data hashes another RP ID MUST be refused with 400
    `webauthn_verification_failed`.

    Given a registered user "Dana" who has signed in
    And "Dana" has registered a passkey on their authenticator
    When the passkey of "Dana" signs in for the RP ID "evil.example"
    Then the request is refused with 400 "webauthn_verification_failed"

  @PK-007 @must
  Scenario: A bad signature is refused
    A sign-in answer with a signature that does not verify MUST be refused with 400
    `webauthn_verification_failed`.

    Given a registered user "Dana" who has signed in
    And "Dana" has registered a passkey on their authenticator
    When the passkey of "Dana" signs in with a tampered signature
    Then the request is refused with 400 "webauthn_verification_failed"

  @PK-008 @must
  Scenario: A cloned key's sign-in never lowers the stored sign counter
    A sign-in whose non-zero counter is not greater than the stored one (a cloned key) may be
    accepted or refused (WebAuthn §7.2 step 22 leaves that to the relying party; GoTrue accepts it),
    but a refusal MUST be 400 `webauthn_verification_failed`, and the stored counter MUST NOT go
    down: a second sign-in by the clone, its counter still not above the genuine key's, MUST be
    answered as the first, and the genuine key MUST still sign in with its next count.

    Given a registered user "Dana" who has signed in
    And "Dana" has registered a passkey on their authenticator
    And a clone of the authenticator of "Dana" was kept
    And someone has signed in 2 times with the passkey on the authenticator of "Dana"
    When the kept clone of the authenticator of "Dana" signs in twice
    Then each clone sign-in is a session or refused with 400 "webauthn_verification_failed"
    And the second clone sign-in is answered as the first
    When someone signs in with the passkey on the authenticator of "Dana"
    Then the response is a session

  @PK-009 @must
  Scenario: A credential is registered once
    Registering a credential that is already registered MUST be refused with 422
    `webauthn_credential_exists`.

    Given a registered user "Dana" who has signed in
    And "Dana" has registered a passkey on their authenticator
    When "Dana" registers the same credential again
    Then the request is refused with 422 "webauthn_credential_exists"

  @PK-010 @must
  Scenario: Nobody can rename or delete another user's passkey
    PATCH and DELETE on another user's passkey MUST answer 404 `webauthn_credential_not_found` or
    `validation_failed` (GoTrue's answer), and the passkey MUST keep working.

    Given a registered user "Dana" who has signed in
    And "Dana" has registered a passkey on their authenticator
    And a registered user "Eve" who has signed in
    When "Eve" deletes the passkey of "Dana"
    Then the request is refused with 404 "webauthn_credential_not_found" or "validation_failed"
    When "Eve" renames the passkey of "Dana"
    Then the request is refused with 404 "webauthn_credential_not_found" or "validation_failed"
    When someone signs in with the passkey on the authenticator of "Dana"
    Then the response is a session

  @PK-011 @must
  Scenario: The owner lists, renames and deletes their passkeys
    GET /passkeys MUST list the caller's passkeys; PATCH MUST rename one; DELETE MUST answer 204, after
    which that passkey no longer signs in (400 `webauthn_verification_failed`).

    Given a registered user "Dana" who has signed in
    And "Dana" has registered a passkey on their authenticator
    When "Dana" renames their passkey to "work laptop"
    Then the response JSON field "friendly_name" is "work laptop"
    And "Dana" lists exactly 1 passkey named "work laptop"
    When "Dana" deletes their passkey
    Then the response status is 204
    When someone signs in with the passkey on the authenticator of "Dana"
    Then the request is refused with 400 "webauthn_verification_failed"

  @PK-012 @must
  Scenario: One challenge, answered in parallel, signs in once
    The same sign-in answer sent by 5 parallel requests MUST produce exactly one session, even from an
    authenticator that always reports a zero sign counter (so only the spent challenge stops a replay).

    Given a registered user "Dana" who has signed in
    And "Dana" has registered a passkey on an authenticator that always reports a zero sign counter
    When the passkey of "Dana" answers one sign-in challenge 5 times in parallel
    Then exactly one passkey sign-in succeeded

  @PK-013 @must
  Scenario: Too many passkeys are refused
    Registering more passkeys than the server's per-user limit MUST be refused with 422
    `too_many_passkeys`.

    Given a registered user "Dana" who has signed in
    And "Dana" has registered as many passkeys as the target allows
    When "Dana" registers one more passkey
    Then the request is refused with 422 "too_many_passkeys"

  @PK-014 @must
  Scenario: Signing in with a passkey carries an anonymous session's rows over
    A passkey sign-in carrying `anonymous_refresh_token` MUST merge the anonymous user into the
    passkey's user exactly as the password grant does.

    Given the target claims the "merge" and "owned-data" capabilities
    And a registered user "Dana" who has signed in
    And "Dana" has registered a passkey on their authenticator
    And a visitor "Ann" signed in anonymously
    And "Ann" has contributed 2 items
    When someone signs in with the passkey on the authenticator of "Dana" carrying the anonymous refresh token of "Ann"
    Then the response JSON field "anonymous_merge.status" is "merged"
    And "Dana" owns exactly 2 items

  @PK-015 @must
  Scenario: One registration answer, sent in parallel, registers one passkey
    The same registration answer sent by 5 parallel requests MUST register exactly one passkey; the
    other requests MUST be refused with 400 `webauthn_challenge_not_found` (the challenge is spent).

    Given a registered user "Dana" who has signed in
    When "Dana" sends one registration answer 5 times in parallel
    Then exactly one registration succeeded
    And "Dana" lists exactly 1 passkey named "Passkey"

  @PK-016 @must
  Scenario: Without user verification, a server that requires it refuses the passkey
    If the target requires user verification, a sign-in answer whose authenticator did not verify
    the user MUST be refused with 400 `webauthn_verification_failed`.

    Given the target requires user verification for passkeys
    And a registered user "Dana" who has signed in
    And "Dana" has registered a passkey on their authenticator
    When the passkey of "Dana" signs in without verifying the user
    Then the request is refused with 400 "webauthn_verification_failed"

  @PK-017 @must
  Scenario: Without passkey upgrade, anonymous users cannot register passkeys
    On a server that does not make anonymous users permanent by passkey, an anonymous user's request
    for registration options MUST be refused with 403 `no_authorization`.

    Given a target where anonymous users cannot register passkeys
    And a visitor "Ann" signed in anonymously
    When "Ann" registers a passkey on their authenticator
    Then the request is refused with 403 "no_authorization"

  @PK-018 @must
  Scenario: Without user verification, a server that requires it refuses the registration
    If the target requires user verification, a registration answer whose authenticator did not
    verify the user MUST be refused with 400 `webauthn_verification_failed`, and no passkey is kept.

    Given the target requires user verification for passkeys
    And a registered user "Dana" who has signed in
    When "Dana" registers a passkey on an authenticator that does not verify the user
    Then the request is refused with 400 "webauthn_verification_failed"
    And "Dana" lists exactly 0 passkey named "Passkey"

  @PK-019 @should
  Scenario: A sign counter that goes backwards is refused
    A sign-in whose non-zero counter is not greater than the stored one SHOULD be refused with 400
    `webauthn_verification_failed`: a counter that fails to move on is the one sign a server gets
    that a key was cloned, and signing the clone in hands its holder the account. (go-webauthn
    only raises CloneWarning, and GoTrue signs the clone in.)

    Given a registered user "Dana" who has signed in
    And "Dana" has registered a passkey on their authenticator
    And someone has signed in with the passkey on the authenticator of "Dana"
    When a clone of the authenticator of "Dana" from before that sign-in signs in
    Then the request is refused with 400 "webauthn_verification_failed"

  @PK-020 @should
  Scenario: Another user's passkey is not found, with the code for that case
    PATCH and DELETE on another user's passkey SHOULD answer 404 `webauthn_credential_not_found`:
    GoTrue defines that code for exactly this case but answers `validation_failed`, the code of a
    malformed request, so a client cannot tell a passkey that is gone from a request it got wrong.

    Given a registered user "Dana" who has signed in
    And "Dana" has registered a passkey on their authenticator
    And a registered user "Eve" who has signed in
    When "Eve" deletes the passkey of "Dana"
    Then the request is refused with 404 "webauthn_credential_not_found"
    When "Eve" renames the passkey of "Dana"
    Then the request is refused with 404 "webauthn_credential_not_found"

  @PK-021 @must
  Scenario: The service role lists and deletes a user's passkey
    GET /admin/users/{id}/passkeys with the service-role key MUST answer 200 with the user's passkeys;
    DELETE /admin/users/{id}/passkeys/{passkey_id} MUST answer 204, after which the user has none.

    Given a registered user "Dana" who has signed in
    And "Dana" has registered a passkey on their authenticator
    When the service role lists the passkeys of "Dana"
    Then the response lists 1 passkey
    When the service role deletes the passkey of "Dana"
    Then the response status is 204
    And "Dana" has no passkeys

  @PK-022 @must
  Scenario: The service role deleting a passkey the user does not have is refused
    DELETE /admin/users/{id}/passkeys/{passkey_id} naming no passkey of that user MUST answer 404
    with GoTrue's code for it, `validation_failed`.

    Given a registered user "Dana" who has signed in
    When the service role deletes a passkey id that "Dana" does not have
    Then the request is refused with 404 "validation_failed"
