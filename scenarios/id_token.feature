@id-token
Feature: Native sign-in with an ID token
  A mobile or desktop app signs in at the provider itself (Sign in with Google or Apple) and hands the
  ID token to the server: POST /token?grant_type=id_token with the provider, the ID token and the raw
  nonce (`signInWithIdToken`). The server verifies the token against the provider's published keys,
  its issuer, its audience (the server's own client id), its expiry, and the nonce, whose SHA-256 (hex)
  the token must carry (GoTrue's token_oidc.go). The suite gets its ID tokens from its own OpenID
  provider, signing in there as the target's client.

  @IDT-001 @must
  Scenario: A verified ID token signs in
    An ID token of a configured provider, with the raw nonce whose hash it carries, MUST answer a
    session of the user with the provider's verified address.

    Given "Pat" holds an ID token from the OpenID provider
    When "Pat" signs in with the ID token and its nonce
    Then the response status is 200
    And the response is a session
    And the session's user has the address "Pat" signed in with at the provider

  @IDT-002 @must
  Scenario: An ID token with another nonce is refused
    An ID token whose nonce claim is not the hash of the nonce sent MUST be refused with 400 and no
    session (a replayed token does not sign in).

    Given "Pat" holds an ID token from the OpenID provider
    When "Pat" signs in with the ID token and another nonce
    Then the ID token is refused with 400 and no session

  @IDT-003 @must
  Scenario: An ID token for another client is refused
    An ID token whose audience is not the server's client id MUST be refused with 400 and no session.

    Given the OpenID provider signs the ID tokens of "Pat" for another audience
    And "Pat" holds an ID token from the OpenID provider
    When "Pat" signs in with the ID token and its nonce
    Then the ID token is refused with 400 and no session

  @IDT-004 @must
  Scenario: An expired ID token is refused
    An ID token past its expiry MUST be refused with 400 and no session.

    Given the OpenID provider signs the ID tokens of "Pat" that have expired
    And "Pat" holds an ID token from the OpenID provider
    When "Pat" signs in with the ID token and its nonce
    Then the ID token is refused with 400 and no session

  @IDT-005 @must
  Scenario: An unknown provider is a validation failure
    The id_token grant with a provider the server does not know MUST be refused with 400
    `validation_failed`, not as an unsupported grant.

    When a client sends "POST /token?grant_type=id_token" with JSON
      """
      {"provider": "no-such-provider", "id_token": "eyJhbGciOiJSUzI1NiJ9.e30.c2ln"}
      """
    Then the request is refused with 400 "validation_failed"

  @IDT-006 @must
  Scenario: A known provider that is not enabled is refused as disabled
    The id_token grant naming one of GoTrue's built-in provider slots that the server has not enabled
    MUST be refused with 400 `provider_disabled`.

    When a client sends "POST /token?grant_type=id_token" with JSON
      """
      {"provider": "snapchat", "id_token": "eyJhbGciOiJSUzI1NiJ9.e30.c2ln"}
      """
    Then the request is refused with 400 "provider_disabled"

  @IDT-007 @must
  Scenario: The web3 grant of a server without Web3 sign-in is refused as disabled
    POST /token?grant_type=web3 on a server with no Web3 provider enabled MUST be refused with 422
    `web3_provider_disabled`, not as an unsupported grant.

    When a client sends "POST /token?grant_type=web3" with JSON
      """
      {"chain": "ethereum", "message": "hello", "signature": "0x00"}
      """
    Then the request is refused with 422 "web3_provider_disabled"
