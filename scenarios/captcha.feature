@captcha
Feature: Captcha on the unauthenticated entry points
  A server with captcha on (GoTrue's SECURITY_CAPTCHA_ENABLED) asks every request that could create a
  user, start a session or send mail for `gotrue_meta_security.captcha_token`, checks it with its
  provider's siteverify API (hCaptcha or Cloudflare Turnstile) before anything is looked up or
  written, and refuses the request with 400 `captcha_failed` unless the provider accepts the token.
  The scenarios run on the target's captcha variant, which asks the suite's stand-in verifier
  (`guestpass.fixtures.captcha`): its tokens are valid once, for one site key, for a short time. The
  entry points are those GoTrue protects (internal/api/api.go, `verifyCaptcha`): sign-up, anonymous
  included, the password grant, /otp, /recover, /resend and the passkey sign-in options.

  @CAPTCHA-001 @must
  Scenario Outline: A request without a captcha token is refused and changes nothing
    On a server with captcha on, each unauthenticated entry point MUST answer a request that carries
    no captcha token with 400 `captcha_failed`, and MUST NOT create a user, sign anyone in or send
    mail for it (GoTrue internal/api/middleware.go, verifyCaptcha).

    Given a variant of the target with captcha on
    And what <entry point> acts on is ready
    When a client asks for <entry point> without a captcha token
    Then the request is refused with 400 "captcha_failed"
    And that request changed nothing

    Examples:
      | entry point       |
      | anonymous sign-in |
      | email sign-up     |
      | password sign-in  |
      | sign-in by mail   |
      | recovery          |
      | resend            |

  @CAPTCHA-002 @must
  Scenario Outline: A token the verifier never issued is refused and changes nothing
    On a server with captcha on, each unauthenticated entry point MUST answer a request whose captcha
    token the provider does not accept with 400 `captcha_failed`, and MUST NOT create a user, sign
    anyone in or send mail for it.

    Given a variant of the target with captcha on
    And what <entry point> acts on is ready
    When a client asks for <entry point> with a captcha token the verifier never issued
    Then the request is refused with 400 "captcha_failed"
    And that request changed nothing

    Examples:
      | entry point       |
      | anonymous sign-in |
      | email sign-up     |
      | password sign-in  |
      | sign-in by mail   |
      | recovery          |
      | resend            |

  @CAPTCHA-003 @must
  Scenario Outline: A valid captcha token works once
    On a server with captcha on, a request with a valid captcha token MUST be served as it would be
    without captcha; the same token presented again MUST be refused with 400 `captcha_failed`, and the
    second request MUST NOT create a user, sign anyone in or send mail (the provider answers a token
    once: a server that remembers tokens it accepted lets one solved captcha through many times).

    Given a variant of the target with captcha on
    And what <entry point> acts on is ready
    When a client asks for <entry point> with a valid captcha token
    Then the request was served and took effect
    When a client asks for <entry point> again with the same captcha token
    Then the request is refused with 400 "captcha_failed"
    And that request changed nothing

    Examples:
      | entry point       |
      | anonymous sign-in |
      | email sign-up     |
      | password sign-in  |
      | sign-in by mail   |
      | recovery          |
      | resend            |

  @CAPTCHA-004 @must
  Scenario Outline: An expired captcha token is refused and changes nothing
    On a server with captcha on, a request whose captcha token has expired at the provider MUST be
    answered 400 `captcha_failed`, and MUST NOT create a user, sign anyone in or send mail.

    Given a variant of the target with captcha on
    And what <entry point> acts on is ready
    When a client asks for <entry point> with a captcha token that has expired
    Then the request is refused with 400 "captcha_failed"
    And that request changed nothing

    Examples:
      | entry point       |
      | anonymous sign-in |
      | email sign-up     |
      | password sign-in  |
      | sign-in by mail   |
      | recovery          |
      | resend            |

  @CAPTCHA-005 @must
  Scenario Outline: While the verifier is down, requests are refused
    A server whose captcha verifier cannot be reached, or answers with an error page instead of its
    verdict, MUST refuse the request (fail closed) with 500 `unexpected_failure`, as GoTrue answers
    "captcha verification process failed" (internal/api/middleware.go, verifyCaptcha), and MUST NOT
    create a user, sign anyone in or send mail.

    Given a variant of the target with captcha on
    And what <entry point> acts on is ready
    When a client asks for <entry point> with a captcha token whose verification meets <outage>
    Then the request is refused with 500 "unexpected_failure"
    And that request changed nothing

    Examples:
      | entry point       | outage                                  |
      | anonymous sign-in | an error page                           |
      | anonymous sign-in | a connection closed without an answer   |
      | email sign-up     | an error page                           |
      | password sign-in  | an error page                           |
      | sign-in by mail   | a connection closed without an answer   |
      | recovery          | an error page                           |
      | resend            | an error page                           |

  @CAPTCHA-006 @must
  Scenario: A valid captcha token does not lift the anonymous sign-in limit
    The per-client anonymous sign-in limit and the captcha MUST both apply: once a client has used
    its anonymous sign-ins for the window, another one MUST be answered 429
    `over_request_rate_limit` even with a valid captcha token.

    Given a variant of the target with captcha on
    And the target's anonymous sign-in limit per client is known
    And one client has used up its anonymous sign-ins there, each with a valid captcha token
    When that client signs in anonymously once more with a valid captcha token
    Then the request is refused with 429 "over_request_rate_limit"

  @CAPTCHA-007 @must
  Scenario: A request refused for its captcha does not use up the client's anonymous sign-ins
    A client under the anonymous sign-in limit that sends no captcha token MUST be answered 400
    `captcha_failed` (not 429), and that refusal MUST NOT count against its limit: GoTrue checks the
    captcha of POST /signup before its limiter (internal/api/api.go), so a client with one sign-in
    left still gets it with a valid token afterwards.

    Given a variant of the target with captcha on
    And the target's anonymous sign-in limit per client is known
    And one client has used all but one of its anonymous sign-ins there, each with a valid captcha token
    When that client signs in anonymously without a captcha token
    Then the request is refused with 400 "captcha_failed"
    When that client signs in anonymously once more with a valid captcha token
    Then the response status is 200
    And the response is a session

  @CAPTCHA-008 @must
  Scenario: Refreshing a session needs no captcha token
    Captcha guards the way in, not a session already granted: on a server with captcha on, the
    refresh_token grant MUST work without a captcha token (GoTrue internal/api/middleware.go,
    isIgnoreCaptchaRoute; supabase-js refreshes without one).

    Given a variant of the target with captcha on
    And a visitor "Ann" signed in anonymously there with a valid captcha token
    When "Ann" refreshes the session without a captcha token
    Then the response status is 200
    And the response is a session

  @CAPTCHA-009 @must
  Scenario: A request made with an admin key needs no captcha token
    A request authorized by the service-role key comes from the operator's own backend, not a bot: on
    a server with captcha on it MUST be served without a captcha token (GoTrue internal/api/middleware.go,
    verifyCaptcha skips admin credentials).

    Given a variant of the target with captcha on
    When the service role signs up a new address there without a captcha token
    Then the response status is 200

  @CAPTCHA-010 @must
  Scenario: Passkey sign-in options need a captcha token
    On a server with captcha on and passkeys, POST /passkeys/authentication/options MUST answer a
    request without a captcha token with 400 `captcha_failed`, and one with a valid token with its
    options (GoTrue internal/api/api.go protects it with verifyCaptcha).

    Given a variant of the target with captcha on
    And the target claims the passkeys capability
    When a client sends "POST /passkeys/authentication/options" without a captcha token
    Then the request is refused with 400 "captcha_failed"
    When a client sends "POST /passkeys/authentication/options" with a valid captcha token
    Then the response status is 200
    And the response JSON field "challenge_id" is a non-empty string

  @CAPTCHA-011 @should
  Scenario: The settings say captcha is on, and with which provider
    GET /settings of a server with captcha on SHOULD say so (`captcha_enabled: true`) and name the
    provider whose widget a client must show (`captcha_provider`), so that a client can tell why it
    is refused before it is; GoTrue's settings do not say (internal/api/settings.go).

    Given a variant of the target with captcha on
    When a client requests "GET /settings"
    Then the response status is 200
    And the response JSON field "captcha_enabled" is true
    And the response JSON field "captcha_provider" names the target's captcha provider
