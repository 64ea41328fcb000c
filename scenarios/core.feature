@core
Feature: Core sessions, tokens, users and errors
  The part of the Supabase Auth v1 wire contract that unmodified supabase-js and supabase-py
  clients depend on: settings, email sign-up, the password and refresh grants, the user object,
  logout, the access token's claims and the error format.

  @CORE-001 @must
  Scenario: Settings describe the enabled providers
    GET /settings MUST answer 200 with an `external` map of provider switches and the
    `disable_signup` and `mailer_autoconfirm` flags that clients read at start-up.

    When a client requests "GET /settings"
    Then the response status is 200
    And the response JSON field "external.email" is a boolean
    And the response JSON field "disable_signup" is a boolean
    And the response JSON field "mailer_autoconfirm" is a boolean

  @CORE-002 @must
  Scenario: Email sign-up with automatic confirmation returns a complete session
    With automatic confirmation, POST /signup with an email and a password MUST answer 200 with a
    session whose user is permanent, carries that email and has exactly one `email` identity.

    Given the target confirms email sign-ups automatically
    When "Dana" signs up with a new email and a password
    Then the response status is 200
    And the response is a session
    And the session's user is permanent with the email of "Dana"
    And the session's user has exactly the identities "email"

  @CORE-003 @must
  Scenario: Password sign-in issues an access token with the full claim set
    The password grant MUST answer 200 with a session whose access token carries sub, aud, exp,
    iat, iss, email, phone, app_metadata, user_metadata, role, aal, amr, session_id and
    is_anonymous, with aal1, amr method `password` and is_anonymous false.

    Given a registered user "Dana"
    When "Dana" signs in with their password
    Then the response status is 200
    And the response is a session
    And the access token carries the full claim set
    And the access token claim "aal" is "aal1"
    And the access token claim "is_anonymous" is false
    And the access token claim "role" is "authenticated"
    And the access token's amr methods are "password"
    And the access token's subject is the user id of "Dana"

  @CORE-004 @must
  Scenario: A wrong password is refused as invalid credentials
    The password grant with a wrong password MUST answer 400 with code `invalid_credentials`.

    Given a registered user "Dana"
    When "Dana" signs in with the password "not-the-password-1"
    Then the request is refused with 400 "invalid_credentials"

  @CORE-005 @must
  Scenario: An unknown email is refused exactly like a wrong password
    The password grant for an email nobody registered MUST answer 400 `invalid_credentials`, the
    same answer as a wrong password, so that sign-in does not reveal which emails exist.

    When "Nobody" signs in with an unregistered email
    Then the request is refused with 400 "invalid_credentials"

  @CORE-006 @must
  Scenario: Signing up with a registered email is refused
    With automatic confirmation, POST /signup with an email that is already registered MUST
    answer 422 with code `user_already_exists` and MUST NOT sign anybody in.

    Given the target confirms email sign-ups automatically
    And a registered user "Dana"
    When "Eve" signs up with the email of "Dana"
    Then the request is refused with 422 "user_already_exists"

  @CORE-007 @must
  Scenario: A too-short password is refused as weak
    POST /signup with a password shorter than the server's minimum MUST answer 422 with code
    `weak_password` and a `weak_password.reasons` list.

    When "Dana" signs up with a new email and the password "abc"
    Then the request is refused with 422 "weak_password"
    And the response JSON field "weak_password.reasons" is a non-empty list

  @CORE-008 @must
  Scenario: A malformed email address is refused
    POST /signup with an email address that is not one MUST answer 400 with code
    `validation_failed`.

    When a client sends "POST /signup" with JSON
      """
      {"email": "not-an-email", "password": "a-long-enough-password"}
      """
    Then the request is refused with 400 "validation_failed"

  @CORE-009 @must
  Scenario: A body that is not JSON is refused with bad_json
    A request body that does not parse as a JSON object MUST be answered 400 with code
    `bad_json`, never with a server error.

    When a client sends "POST /signup" with the raw body "{not json"
    Then the request is refused with 400 "bad_json"

  @CORE-010 @must
  Scenario: A field of the wrong JSON type is refused with bad_json
    A JSON body whose field has the wrong type MUST be answered 400 with code `bad_json`, never
    with a server error.

    When a client sends "POST /token?grant_type=password" with JSON
      """
      {"email": 42, "password": ["not", "a", "string"]}
      """
    Then the request is refused with 400 "bad_json"

  @CORE-011 @must
  Scenario: Errors use the 2024-01-01 format when the client asks for it
    With the request header `X-Supabase-Api-Version: 2024-01-01` an error MUST be the object
    `{"code": <error code>, "message": <text>}` and the response MUST carry the same header.

    When a client sends "POST /token?grant_type=password" with JSON
      """
      {"email": "nobody@guestpass.test", "password": "whatever-password"}
      """
    Then the request is refused with 400 "invalid_credentials"
    And the response JSON field "message" is a non-empty string
    And the response header "X-Supabase-Api-Version" is "2024-01-01"

  @CORE-012 @must
  Scenario: Errors use the legacy format without the API version header
    Without the API version header an error MUST be the legacy object with the HTTP status as
    `code`, the error code as `error_code` and the text as `msg`.

    When a legacy client sends "POST /token?grant_type=password" with JSON
      """
      {"email": "nobody@guestpass.test", "password": "whatever-password"}
      """
    Then the response status is 400
    And the response JSON field "code" is 400
    And the response JSON field "error_code" is "invalid_credentials"
    And the response JSON field "msg" is a non-empty string

  @CORE-013 @must
  Scenario: An unsupported grant type is refused
    POST /token with a grant_type the server does not know MUST answer 400 with code
    `invalid_credentials` (GoTrue's code since error codes were introduced; its message names
    `unsupported_grant_type`).

    When a client sends "POST /token?grant_type=telepathy" with JSON
      """
      {}
      """
    Then the request is refused with 400 "invalid_credentials"

  @CORE-014 @must
  Scenario: A request without a bearer token is refused with no_authorization
    GET /user without an Authorization header MUST answer 401 with code `no_authorization`.

    When a client requests "GET /user"
    Then the request is refused with 401 "no_authorization"

  @CORE-015 @must
  Scenario: A tampered access token is refused
    An access token whose payload was altered after signing MUST be refused with 403 `bad_jwt`.

    Given a registered user "Dana" who has signed in
    When "Dana" requests "GET /user" with their access token tampered with
    Then the request is refused with 403 "bad_jwt"

  @CORE-016 @must
  Scenario: An unsigned access token (alg none) is refused
    An access token with `alg: none` and no signature MUST be refused with 403 `bad_jwt`.

    Given a registered user "Dana" who has signed in
    When "Dana" requests "GET /user" with their claims in an unsigned token
    Then the request is refused with 403 "bad_jwt"

  @CORE-017 @must
  Scenario: An access token signed with another key is refused
    An access token with valid claims signed by a key that is not the server's MUST be refused
    with 403 `bad_jwt`.

    Given a registered user "Dana" who has signed in
    When "Dana" requests "GET /user" with their claims signed by a foreign key
    Then the request is refused with 403 "bad_jwt"

  @CORE-018 @must
  Scenario: An expired access token is refused
    An access token signed with the server's key whose `exp` has passed MUST be refused with 403
    `bad_jwt`.

    Given a registered user "Dana" who has signed in
    When "Dana" requests "GET /user" with their claims re-signed by the server's key and expired
    Then the request is refused with 403 "bad_jwt"

  @CORE-019 @must
  Scenario: Refreshing rotates the refresh token within the same session
    The refresh grant MUST answer a session with a new refresh token, keep the session_id, and
    the new access token MUST work.

    Given a registered user "Dana" who has signed in
    When "Dana" refreshes their session
    Then the response status is 200
    And the response is a session
    And the new refresh token differs from the previous one
    And the new access token has the same session_id as the previous one
    And "Dana"'s access token works

  @CORE-020 @must
  Scenario: Reusing an old refresh token revokes the token family
    Presenting a refresh token two rotations old, after the reuse interval, MUST answer 400
    `refresh_token_already_used` and revoke the family: once the reuse interval has passed, the
    session's newest refresh token is refused too.

    Given a registered user "Dana" who has signed in
    And "Dana" has refreshed their session
    And "Dana" has refreshed their session
    When "Dana" refreshes with their first refresh token after the reuse interval
    Then the request is refused with 400 "refresh_token_already_used"
    When the reuse interval has passed
    Then "Dana"'s refresh token is refused with 400 "refresh_token_already_used" or "refresh_token_not_found"

  @CORE-041 @should
  Scenario: A detected reuse ends the session at once
    On detecting reuse of an old refresh token, the server SHOULD end the session at once: its access
    token gets 403 `session_not_found` and its newest refresh token is refused without waiting out the
    reuse interval. A detected theft should leave the thief neither a working access token nor a
    refresh token that works for another reuse interval.

    Given a registered user "Dana" who has signed in
    And "Dana" has refreshed their session
    And "Dana" has refreshed their session
    When "Dana" refreshes with their first refresh token after the reuse interval
    Then the request is refused with 400 "refresh_token_already_used"
    And "Dana"'s access token is refused with 403 "session_not_found"
    And "Dana"'s refresh token is refused with 400 "refresh_token_already_used" or "refresh_token_not_found"

  @CORE-042 @must
  Scenario: The parent of the active refresh token is answered with the active one
    A client that lost the answer to its refresh presents the rotated token again. While that token
    is the parent of the session's active refresh token, the server MUST answer 200 with the active
    refresh token, at any time, and mint no new one: the chain never forks.

    Given a registered user "Dana" who has signed in
    And "Dana" has refreshed their session
    When "Dana" refreshes with their previous refresh token after the reuse interval
    Then the response status is 200
    And the response carries "Dana"'s current refresh token
    And "Dana"'s access token works

  @CORE-021 @must
  Scenario: An unknown refresh token is refused
    The refresh grant with a well-formed refresh token the server never issued MUST answer 400
    `refresh_token_not_found` (the token has GoTrue's 12-character legacy form, which it looks up
    rather than refusing as malformed).

    When a client sends "POST /token?grant_type=refresh_token" with JSON
      """
      {"refresh_token": "gpneverissue"}
      """
    Then the request is refused with 400 "refresh_token_not_found"

  @CORE-022 @must
  Scenario: Concurrent refreshes of one token within the reuse interval all succeed
    Several clients refreshing the same refresh token at the same moment (tabs racing) MUST all
    get a session, and the session MUST stay alive.

    Given a registered user "Dana" who has signed in
    When "Dana" refreshes 4 times in parallel with the same refresh token
    Then every parallel response has status 200
    And "Dana"'s access token works

  @CORE-044 @must
  Scenario: A token two rotations old is still honoured within the reuse interval
    A tab that lags two refreshes behind presents its token within the reuse interval: the server
    MUST answer 200 with a working session, not treat it as theft.

    Given a registered user "Dana" who has signed in
    And "Dana" has refreshed their session
    And "Dana" has refreshed their session
    When "Dana" refreshes with their first refresh token
    Then the response status is 200
    And "Dana"'s access token works

  @CORE-043 @must
  Scenario: Concurrent refreshes of one token do not fork the session
    Clients refreshing the same refresh token at the same moment MUST all be answered with one and
    the same new refresh token: a second live token would be a second chain that reuse detection
    never sees.

    Given a registered user "Dana" who has signed in
    When "Dana" refreshes 6 times in parallel with the same refresh token
    Then every parallel response has status 200
    And every parallel response carries the same refresh token

  @CORE-023 @must
  Scenario: Logout answers 204 and ends the session
    POST /logout MUST answer 204 with no body; afterwards the session's access token gets 403
    `session_not_found` and its refresh token is refused with `refresh_token_not_found`.

    Given a registered user "Dana" who has signed in
    When "Dana" sends "POST /logout"
    Then the response status is 204
    And the response body is empty
    And "Dana"'s access token is refused with 403 "session_not_found"
    And "Dana"'s refresh token is refused with 400 "refresh_token_not_found"

  @CORE-024 @must
  Scenario: Logout with scope local ends only the current session
    POST /logout?scope=local MUST end the calling session only.

    Given a registered user "Dana" who is signed in on "laptop" and on "phone"
    When "Dana" on "laptop" sends "POST /logout?scope=local"
    Then the response status is 204
    And "Dana"'s access token on "laptop" is refused with 403 "session_not_found"
    And "Dana"'s access token on "phone" works

  @CORE-025 @must
  Scenario: Logout with scope others keeps only the current session
    POST /logout?scope=others MUST end every session of the user except the calling one.

    Given a registered user "Dana" who is signed in on "laptop" and on "phone"
    When "Dana" on "laptop" sends "POST /logout?scope=others"
    Then the response status is 204
    And "Dana"'s access token on "laptop" works
    And "Dana"'s access token on "phone" is refused with 403 "session_not_found"
    And "Dana"'s refresh token on "phone" is refused with 400 "refresh_token_not_found"

  @CORE-026 @must
  Scenario: Logout with scope global ends every session
    POST /logout?scope=global MUST end every session of the user.

    Given a registered user "Dana" who is signed in on "laptop" and on "phone"
    When "Dana" on "laptop" sends "POST /logout?scope=global"
    Then the response status is 204
    And "Dana"'s access token on "laptop" is refused with 403 "session_not_found"
    And "Dana"'s access token on "phone" is refused with 403 "session_not_found"

  @CORE-027 @must
  Scenario: Logout with an unknown scope is refused
    POST /logout with a scope other than global, local or others MUST answer 400 with code
    `validation_failed` and end no session.

    Given a registered user "Dana" who has signed in
    When "Dana" sends "POST /logout?scope=everywhere"
    Then the request is refused with 400 "validation_failed"
    And "Dana"'s access token works

  @CORE-028 @must
  Scenario: Logout without a bearer token is refused
    POST /logout without an Authorization header MUST answer 401 `no_authorization`.

    When a client requests "POST /logout"
    Then the request is refused with 401 "no_authorization"

  @CORE-029 @must
  Scenario: User metadata updates merge into the user
    PUT /user with `data` MUST set those keys in user_metadata, keep the others, and GET /user
    MUST show the result.

    Given a registered user "Dana" who has signed in
    And "Dana" has set their user metadata to
      """
      {"theme": "dark", "locale": "fr"}
      """
    When "Dana" sends "PUT /user" with JSON
      """
      {"data": {"locale": "de"}}
      """
    Then the response status is 200
    And "Dana"'s user metadata is the earlier one updated with
      """
      {"locale": "de"}
      """

  @CORE-030 @must
  Scenario: A password change takes effect at once
    PUT /user with a new password MUST answer 200; the new password then signs in and the old one
    is refused with `invalid_credentials`.

    Given a registered user "Dana" who has signed in
    When "Dana" changes their password
    Then the response status is 200
    And "Dana" can sign in with their new password
    And "Dana"'s old password is refused with 400 "invalid_credentials"

  @CORE-031 @should
  Scenario: A password change ends the user's other sessions
    After PUT /user with a new password, the user's other sessions SHOULD be ended while the
    calling session continues.

    Given a registered user "Dana" who is signed in on "laptop" and on "phone"
    When "Dana" on "laptop" changes their password
    Then the response status is 200
    And "Dana"'s access token on "laptop" works
    And "Dana"'s access token on "phone" is refused with 403 "session_not_found"

  @CORE-032 @must
  Scenario: Concurrent sign-ups of one email create one user
    Several simultaneous POST /signup calls with the same new email MUST create exactly one user:
    one answers 200, every other answers 422 `user_already_exists`, none answers 5xx.

    Given the target confirms email sign-ups automatically
    When 4 clients sign up with the same new email in parallel
    Then exactly 1 parallel response has status 200
    And every other parallel response is refused with 422 "user_already_exists"

  @CORE-033 @must
  Scenario: The access token is a bearer token with a consistent lifetime
    A session's `expires_at` MUST equal the access token's `exp`, and `expires_in` MUST be the
    seconds from issue to expiry.

    Given a registered user "Dana"
    When "Dana" signs in with their password
    Then the response status is 200
    And the session's expiry matches its access token

  @CORE-066 @must
  Scenario: A refresh answers the session values a sign-in answers
    A refresh grant MUST answer a session as complete as a sign-in's: `token_type` bearer, a new
    refresh token, the user, `expires_at` equal to the new access token's `exp` in Unix seconds (not
    milliseconds: supabase-js schedules its auto-refresh from it), `expires_in` its lifetime, and the
    session_id and amr of the session it refreshes. The suite checks these values on every session
    it receives, on every path; this scenario names them for the refresh grant.

    Given a registered user "Dana" who has signed in
    When "Dana" refreshes their session
    Then the response is a session
    And the session's expires_at is the access token's exp in Unix seconds
    And the access token keeps the session_id and the amr of "Dana"'s previous session

  @CORE-067 @must
  Scenario: amr names the sign-in method and its time in Unix seconds
    Each amr entry MUST name the method and the Unix time in seconds of that authentication, as
    GoTrue's do: a password sign-in MUST record `password` at the time of the request, and a refresh
    MUST keep that entry as it was (refreshing authenticates nobody).

    Given a registered user "Dana"
    When "Dana" signs in with their password
    Then the access token's amr records "password" at the time of the request
    When "Dana" refreshes their session
    Then the access token keeps the session_id and the amr of "Dana"'s previous session

  @CORE-068 @should
  Scenario: Answers that carry tokens forbid caching
    Every answer that carries tokens SHOULD say `Cache-Control: no-store` and `Pragma: no-cache`, as
    RFC 6749 §5.1 requires of token responses, so that no browser or proxy cache keeps a session.
    GoTrue sends neither, which is why this is a SHOULD.

    Given a registered user "Dana"
    When "Dana" signs in with their password
    And "Dana" refreshes their session
    Then every session answered in this scenario forbids caching

  @CORE-069 @should
  Scenario: A wrong password takes as long for an unknown address as for a registered one
    The password grant SHOULD refuse an unregistered address in the same time as a registered one with
    a wrong password, both with 400 `invalid_credentials` (OWASP Authentication Cheat Sheet,
    "Authentication and Error Messages"): over 50 requests of each kind in random order, the time of
    one answer SHOULD NOT tell which kind it was for (a rank test's AUC within 0.5 ± 0.25, or
    p ≥ 0.001). Skipping the password hash for unknown addresses is the usual cause.

    Given 50 registered users
    When each of them and 50 unregistered addresses sign in with a wrong password, in random order
    Then the answer times do not tell registered addresses from unregistered ones

  @CORE-065 @must
  Scenario: Settings carry every top-level field of the dialect
    GET /settings MUST answer 200 with every top-level field GoTrue's settings carry, each of its type:
    `external` (an object), `disable_signup`, `mailer_autoconfirm`, `phone_autoconfirm`,
    `saml_enabled`, `saml_private_key_next_configured` and `passkeys_enabled` (booleans) and
    `sms_provider` (a string). Clients decode the settings into a fixed shape.

    When a client requests "GET /settings"
    Then the response status is 200
    And the settings carry every top-level field of the dialect with its type

  @CORE-070 @must
  Scenario: An idle keep-alive connection stays open
    A connection kept alive between requests MUST still be open after 6 idle seconds: clients pool
    their connections, and one the server drops after a short pause (5 s by default in some servers,
    such as uvicorn) fails the client's next request (GoTrue's Go server sets no idle timeout).

    When a client reads the settings, leaves its connection idle for 6 seconds and reads them again
    Then both answers came on the one connection
