@core
Feature: Forged, misdirected and stale access tokens
  An access token is accepted only when every check behind it holds: the algorithm is the server's
  choice, the key it names is the server's, the server issued it for its own users, it is valid now,
  and its user and session still exist. Each scenario presents a token that fails one of those checks.

  @CORE-034 @must
  Scenario: An HS256 token keyed with the server's public key is refused
    If the target signs access tokens with a key pair, a token that declares `alg: HS256` and carries
    an HMAC keyed with the server's public key (as PEM or DER) MUST be refused with 403 `bad_jwt`:
    the server chooses the algorithm, never the token.

    Given a registered user "Dana" who has signed in
    And the public key that verifies "Dana"'s access token
    When "Dana" requests "GET /user" with their claims signed HS256 with that public key
    Then each of these requests is refused with 403 "bad_jwt"

  @CORE-035 @must
  Scenario: An access token naming an unknown key is refused
    If the target names the key of its access tokens (`kid`), a token signed with the server's key
    whose `kid` names no key of the server MUST be refused with 403 `bad_jwt`.

    Given a registered user "Dana" who has signed in
    And "Dana"'s access token names its signing key
    When "Dana" requests "GET /user" with their claims re-signed by the server's key under an unknown key id
    Then the request is refused with 403 "bad_jwt"

  @CORE-036 @should
  Scenario: An access token from a foreign issuer is refused
    A token signed with the server's key whose `iss` is not the server's issuer SHOULD be refused
    with 403 `bad_jwt`: a key shared with another service does not make its tokens the server's.

    Given a registered user "Dana" who has signed in
    When "Dana" requests "GET /user" with their claims re-signed by the server's key for a foreign issuer
    Then the request is refused with 403 "bad_jwt"

  @CORE-037 @should
  Scenario: An access token for a foreign audience is refused
    A token signed with the server's key whose `aud` does not name the server's users
    (`authenticated`) SHOULD be refused with 403 `bad_jwt`.

    Given a registered user "Dana" who has signed in
    When "Dana" requests "GET /user" with their claims re-signed by the server's key for a foreign audience
    Then the request is refused with 403 "bad_jwt"

  @CORE-038 @must
  Scenario: An access token that is not valid yet is refused
    A token signed with the server's key whose `nbf` and `iat` lie an hour ahead, beyond any
    clock-skew leeway, MUST be refused with 403 `bad_jwt`.

    Given a registered user "Dana" who has signed in
    When "Dana" requests "GET /user" with their claims re-signed by the server's key to be valid only from an hour ahead
    Then the request is refused with 403 "bad_jwt"

  @CORE-039 @must
  Scenario: A deleted user's access token is refused everywhere
    Once a user is deleted (by DELETE /user, or else by the admin API), the unexpired access token
    issued to them MUST be refused with 403 `session_not_found` (or GoTrue's `user_not_found`) by
    every endpoint that takes a bearer token.

    Given a registered user "Dana" who has signed in
    When "Dana"'s account is deleted
    Then "Dana"'s access token is refused with 403 "session_not_found" or "user_not_found" by "GET /user", "PUT /user" and "POST /logout"

  @CORE-040 @must
  Scenario: A revoked session's access token is refused everywhere
    After a global logout from another device, the unexpired access token of a revoked session MUST
    be refused with 403 `session_not_found` by every endpoint that takes a bearer token, not only by
    GET /user.

    Given a registered user "Dana" who is signed in on "laptop" and on "phone"
    When "Dana" on "phone" sends "POST /logout?scope=global"
    Then the response status is 204
    And "Dana"'s access token on "laptop" is refused with 403 "session_not_found" by "GET /user", "PUT /user" and "POST /logout"
