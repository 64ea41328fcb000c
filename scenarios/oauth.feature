@oauth
Feature: Sign-in and identity linking through an OpenID Connect provider
  The target has a provider slot pointed at the suite's own OpenID provider (oidc-provider, run on
  loopback). A browser goes to GET /authorize?provider=…&redirect_to=…, signs in at the provider and
  comes back through the target's callback, which redirects to the site: with the session in the URL
  fragment (implicit flow), or with `?code=` when the client began with a code_challenge, exchanged by
  POST /token?grant_type=pkce. That exchange accepts `anonymous_refresh_token` and runs the merge
  step, so an anonymous visitor whose provider account already belongs to a user ends up in that
  user with their rows. Linking (GET /user/identities/authorize) attaches an identity to the caller:
  an anonymous caller becomes permanent with the same id. Errors after the callback travel in the
  redirect (`error`, `error_code`, `error_description`). The suite plays the browser with plain HTTP.
  A provider slot that reads the user from the userinfo endpoint (target file: `[oauth]
  checks_id_token = false`) never looks at the ID token: the scenarios about wrong ID tokens are not
  applicable to it.

  @OAUTH-001 @must
  Scenario: A new user signs in through the provider and the session arrives in the fragment
    The callback of an implicit flow MUST redirect to the site with `access_token`, `refresh_token`,
    `expires_in`, `expires_at` and `token_type=bearer` in the URL fragment and no token in the
    query; the session MUST be a permanent user with the provider's verified email, an identity of
    the provider, and `oauth` among the amr methods.

    Given the target signs in through the suite's OpenID provider
    When "Olga" signs in through the provider
    Then the site receives a session in the URL fragment
    And "Olga"'s access token has the amr method "oauth"
    And "Olga" is a permanent user with the provider's email and an identity of the provider

  @OAUTH-002 @must
  Scenario: With PKCE the site receives a code, and the verifier exchanges it for a session
    If /authorize carried an S256 `code_challenge`, the callback MUST redirect with `?code=` and no
    token anywhere in the URL; POST /token?grant_type=pkce with that `auth_code` and the
    `code_verifier` MUST answer a session with `oauth` among the amr methods.

    Given the target signs in through the suite's OpenID provider
    When "Olga" signs in through the provider with PKCE
    Then the site receives an auth code and no token
    When "Olga" exchanges the auth code with their code verifier
    Then the response status is 200
    And the response is a session
    And the access token's amr methods include "oauth"

  @OAUTH-003 @must
  Scenario: A returning user is the same user
    Signing in again with the same provider account MUST answer a session of the same user id.

    Given the target signs in through the suite's OpenID provider
    And "Olga" has signed in through the provider
    When "Olga" signs in through the provider
    Then the site receives a session in the URL fragment
    And "Olga" has the user id they had before

  @OAUTH-004 @must
  Scenario: An anonymous user who links an identity becomes permanent with the same id
    GET /user/identities/authorize by an anonymous caller, completed at the provider, MUST leave the
    caller permanent with the SAME user id, the provider's verified email and an identity of the
    provider; no second user is created. (OAUTH-016 checks that the caller's rows stay too.)

    Given the target signs in through the suite's OpenID provider
    And a visitor "Ann" signed in anonymously
    When "Ann" links their provider account
    Then the site receives a session in the URL fragment
    And "Ann" is permanent with the same user id
    And "Ann" is a permanent user with the provider's email and an identity of the provider

  @OAUTH-005 @must
  Scenario: Linking an identity that belongs to another user is refused and changes nobody
    Linking a provider account that is already another user's identity MUST redirect with
    `error_code` `identity_already_exists` and no token; the caller MUST stay anonymous without an
    identity of the provider, and the identity MUST stay with its user. (OAUTH-017 checks that the
    caller's rows stay too.)

    Given the target signs in through the suite's OpenID provider
    And "Dana" has signed in through the provider
    And a visitor "Ann" signed in anonymously
    When "Ann" links the provider account of "Dana"
    Then the site receives the error "identity_already_exists"
    And "Ann" is still anonymous
    And "Ann" has no identity of the provider
    When "Dana" signs in through the provider
    Then "Dana" has the user id they had before

  @OAUTH-006 @must
  Scenario: An anonymous visitor signing in to an existing account with PKCE brings their rows
    The pkce grant MUST accept `anonymous_refresh_token` and run the merge step: the session is the
    existing user's, `anonymous_merge.status` is "merged", and the anonymous user's rows belong to
    the existing user.

    Given the target signs in through the suite's OpenID provider
    And "Dana" has signed in through the provider
    And a visitor "Ann" signed in anonymously
    And "Ann" has contributed 2 items
    When someone signs in through the provider as "Dana" with PKCE carrying the anonymous refresh token of "Ann"
    Then the response status is 200
    And the response JSON field "anonymous_merge.status" is "merged"
    And the merge came from "Ann" and moved 2 items
    And "Dana" has the user id they had before
    And "Dana" owns exactly 2 items

  @OAUTH-007 @must
  Scenario: A callback whose state the target did not issue is refused
    A callback with a `state` that no flow of the target carries MUST be refused with `bad_oauth_state`:
    either answered 400 `bad_oauth_state`, or redirected (to the site) with `error_code=bad_oauth_state`
    and no token or code anywhere in the redirect. Nobody is signed in.

    Given the target signs in through the suite's OpenID provider
    When "Olga" comes back from the provider with a forged state
    Then the callback is refused with 400 "bad_oauth_state" or a redirect carrying it

  @OAUTH-008 @must
  Scenario: A callback works once
    Replaying a callback URL (state and code) that has already been used MUST be refused with
    `bad_oauth_state`: either answered 400 `bad_oauth_state`, or redirected with
    `error_code=bad_oauth_state` and no token or code anywhere in the redirect.

    Given the target signs in through the suite's OpenID provider
    And "Olga" has signed in through the provider
    When the callback of "Olga" is replayed
    Then the callback is refused with 400 "bad_oauth_state" or a redirect carrying it

  @OAUTH-009 @must
  Scenario: A wrong code verifier is refused, and an auth code buys one session
    The pkce grant with a `code_verifier` that does not match the flow's challenge MUST answer 400
    `bad_code_verifier` (whether that failure also uses the code up is the server's choice). Once an
    auth code has bought a session, exchanging it again MUST answer 404 `flow_state_not_found`.

    Given the target signs in through the suite's OpenID provider
    When "Olga" signs in through the provider with PKCE
    And "Olga" exchanges the auth code with a wrong code verifier
    Then the request is refused with 400 "bad_code_verifier"
    When "Olga" signs in through the provider with PKCE
    And "Olga" exchanges the auth code with their code verifier
    Then the response status is 200
    When "Olga" exchanges the auth code with their code verifier
    Then the request is refused with 404 "flow_state_not_found"

  @OAUTH-010 @must
  Scenario: An auth code past the flow's lifetime is refused
    Exchanging an auth code after the flow's lifetime MUST answer 422 `flow_state_expired`.

    Given the target's OAuth flows expire within 30 seconds
    And the target signs in through the suite's OpenID provider
    When "Olga" signs in through the provider with PKCE
    And the OAuth flow's lifetime has passed
    And "Olga" exchanges the auth code with their code verifier
    Then the request is refused with 422 "flow_state_expired"

  @OAUTH-011 @must
  Scenario: A redirect_to outside the allow-list never receives the session
    If `redirect_to` is not on the target's allow-list, the session MUST NOT be sent there: the
    callback redirects to the site instead.

    Given the target signs in through the suite's OpenID provider
    When "Olga" signs in through the provider asking to come back to "https://evil.example/steal"
    Then the site receives a session in the URL fragment
    And the browser is not sent to "https://evil.example"

  @OAUTH-012 @must
  Scenario: An ID token issued for another audience is refused
    If the provider's ID token names another client as its audience, the callback MUST redirect with
    `error_code` `bad_oauth_callback` and no token. Not applicable to a provider slot that reads the
    user from the userinfo endpoint and never looks at the ID token.

    Given the target signs in through the suite's OpenID provider
    And the provider issues the ID tokens of "Olga" for another audience
    When "Olga" signs in through the provider
    Then the site receives the error "bad_oauth_callback"

  @OAUTH-013 @must
  Scenario: An ID token with another nonce than the one sent is refused
    If the target sent a `nonce` with its authorization request and the ID token's `nonce` is not
    that one (a replayed or injected token), the callback MUST redirect with `error_code`
    `bad_oauth_callback` and no token (OpenID Connect Core 3.1.3.7). A nonce is OPTIONAL in the code
    flow: a target that sends none, or never looks at the ID token, is not bound here (see OAUTH-018).

    Given the target signs in through the suite's OpenID provider
    And the provider issues the ID tokens of "Olga" with another nonce
    And the target sends the provider a nonce
    When "Olga" signs in through the provider
    Then the site receives the error "bad_oauth_callback"

  @OAUTH-014 @must
  Scenario: The last identity cannot be unlinked
    DELETE /user/identities/{id} of a user's only identity MUST answer 422
    `single_identity_not_deletable`.

    Given the target signs in through the suite's OpenID provider
    And "Olga" has signed in through the provider
    When "Olga" unlinks their provider identity
    Then the request is refused with 422 "single_identity_not_deletable"

  @OAUTH-015 @should
  Scenario: The settings name the provider
    GET /settings SHOULD list the provider under `external` as enabled.

    Given the target signs in through the suite's OpenID provider
    When a client requests "GET /settings"
    Then the settings enable the provider

  @OAUTH-016 @must
  Scenario: An anonymous user who links an identity keeps their rows
    An anonymous caller that links a provider account (GET /user/identities/authorize, completed at
    the provider) MUST still own every row it owned before, under the same user id.

    Given the target also claims the "owned-data" capability
    And the target signs in through the suite's OpenID provider
    And a visitor "Ann" signed in anonymously
    And "Ann" has contributed 2 items
    When "Ann" links their provider account
    Then the site receives a session in the URL fragment
    And "Ann" is permanent with the same user id
    And "Ann" owns exactly 2 items

  @OAUTH-017 @must
  Scenario: A refused link leaves the caller's rows alone
    A link refused because the provider account is another user's identity
    (`identity_already_exists`) MUST leave the anonymous caller owning every row it owned before.

    Given the target also claims the "owned-data" capability
    And the target signs in through the suite's OpenID provider
    And "Dana" has signed in through the provider
    And a visitor "Ann" signed in anonymously
    And "Ann" has contributed 1 item
    When "Ann" links the provider account of "Dana"
    Then the site receives the error "identity_already_exists"
    And "Ann" is still anonymous
    And "Ann" owns exactly 1 item

  @OAUTH-018 @should
  Scenario: Every sign-in sends a nonce, and an ID token with another is refused
    The target SHOULD send a fresh `nonce` with every authorization request and refuse (redirect with
    `error_code` `bad_oauth_callback`, no token) an ID token that does not carry it, although OpenID
    Connect makes the nonce OPTIONAL in the code flow: guestpass keeps it because the nonce binds the
    ID token to this sign-in, which RFC 9700 (2.1.1) accepts in place of PKCE against authorization
    code injection when the target does not use PKCE toward the provider. Not applicable to a slot that
    never looks at the ID token.

    Given the target signs in through the suite's OpenID provider
    And the provider issues the ID tokens of "Olga" with another nonce
    When "Olga" signs in through the provider
    Then the target sent the provider a nonce
    And the site receives the error "bad_oauth_callback"

  @OAUTH-019 @should
  Scenario: A link started by one client cannot be completed in another browser
    The callback of a link SHOULD attach the identity only in the browser that started the link (for
    one, by a cookie set with the link URL that the callback requires), and otherwise refuse with
    `bad_oauth_state` (400, or a redirect carrying it) and change nobody: RFC 6749 (10.12) and RFC 9700
    (4.7) require the callback to be bound to the user agent that began the flow. Otherwise anyone, even
    an anonymous visitor, can start a link and get a victim to open the provider URL: the victim's
    provider account and verified address then belong to the attacker's user, and every later sign-in
    of the victim through the provider lands there. GoTrue binds the link to the user only.

    Given the target signs in through the suite's OpenID provider
    And a visitor "Mallory" signed in anonymously
    When "Mallory" starts linking a provider account
    And "Vera" opens that link in their own browser and signs in at the provider
    Then the callback is refused with 400 "bad_oauth_state" or a redirect carrying it
    And "Mallory" is still anonymous
    And "Mallory" has no identity of the provider
    When "Vera" signs in through the provider
    Then the site receives a session in the URL fragment
    And "Vera" is another user than "Mallory"

  @OAUTH-020 @should
  Scenario: A link started with PKCE is not completed in another browser either
    PKCE binds the auth code to the client that started the flow, but a link that is attached at the
    callback is attached before any code is exchanged. In a browser that did not start the link, the
    callback SHOULD attach nothing: it refuses (`bad_oauth_state`), or gives that browser no more than an
    auth code that only the starting client's verifier exchanges, and the link happens only then
    (RFC 6749 10.12, RFC 9700 4.7, as OAUTH-019).

    Given the target signs in through the suite's OpenID provider
    And a visitor "Mallory" signed in anonymously
    When "Mallory" starts linking a provider account with PKCE
    And "Vera" opens that link in their own browser and signs in at the provider
    Then that browser gets no session, and any error it gets is "bad_oauth_state"
    And "Mallory" is still anonymous
    And "Mallory" has no identity of the provider
    When "Vera" signs in through the provider
    Then the site receives a session in the URL fragment
    And "Vera" is another user than "Mallory"

  @OAUTH-021 @must
  Scenario: A provider sign-in that claims an unconfirmed account drops the password set before it
    On a target that confirms addresses by mail, when a provider that verified an address signs in to
    the unconfirmed account of that address, the account MUST become the signer's: confirmed, with the
    provider's identity only, and the password set before MUST stop working (400
    `invalid_credentials`); whoever typed the address first may not own it, and would otherwise hold
    the account once it is confirmed (pre-account takeover; GoTrue's RemoveUnconfirmedIdentities).

    Given the target also claims the "email-confirmation" capability
    And a target that confirms email addresses by mail
    And the target signs in through the suite's OpenID provider
    And "Mallory" signed up with the provider address of "Vera" and a password, unconfirmed
    When "Vera" signs in through the provider
    Then the site receives a session in the URL fragment
    And "Vera" is a permanent user with the provider's email and an identity of the provider
    And "Vera" has a confirmed address and only the identity of the provider
    And "Mallory"'s password is refused with 400 "invalid_credentials"

  @OAUTH-022 @must
  Scenario: With manual linking off, linking and unlinking identities are refused
    On a server whose manual identity linking is off (GoTrue's default,
    `SECURITY_MANUAL_LINKING_ENABLED=false`), GET /user/identities/authorize and DELETE
    /user/identities/{id} by a signed-in user MUST answer 404 `manual_linking_disabled`, and the
    identity MUST stay.

    Given a variant of the target with manual identity linking disabled
    And a user "Dana" who signed up there with a password
    When "Dana" asks to link an identity of the provider
    Then the request is refused with 404 "manual_linking_disabled"
    When "Dana" unlinks their email identity
    Then the request is refused with 404 "manual_linking_disabled"
    When "Dana" requests "GET /user"
    Then the response user has exactly the identities "email"

  @OAUTH-023 @must
  Scenario: With manual linking on, a signed-in user can begin linking an identity
    On a server whose manual identity linking is on, GET /user/identities/authorize with
    `skip_http_redirect=true` by a signed-in user MUST answer 200 with the provider's authorization
    URL.

    Given the target signs in through the suite's OpenID provider
    And a registered user "Dana" who has signed in
    When "Dana" asks to link an identity of the provider
    Then the response carries the provider's authorization URL
