@otp
Feature: Sign-in by mail: a code or a magic link
  POST /otp mails a one-time code and a magic link. Verifying the code (POST /verify with type
  "email") or opening the link signs the user in with amr `otp`. An unknown address gets an account
  unless the client sends `create_user: false`. Sessions issued by /verify go through the same merge
  step as the password grant.

  @OTP-001 @must
  Scenario: A mailed code signs a registered user in
    POST /otp MUST answer 200 and mail a code; POST /verify with type "email", the email and the code
    MUST answer a session of that user with amr `otp`.

    Given a registered user "Dana"
    When "Dana" asks for a sign-in code without creating a user
    Then the response status is 200
    And "Dana" receives a sign-in mail with a code and a link
    When "Dana" verifies the sign-in code from the mail
    Then the response is a session
    And the session belongs to "Dana"
    And the access token's amr methods are "otp"

  @OTP-002 @must
  Scenario: The magic link signs the user in through a redirect
    GET on the mailed link MUST answer 303 to the redirect URL with a session of the user in the
    fragment.

    Given a registered user "Dana" who has received a sign-in mail
    When "Dana" opens the link from the mail
    Then the response redirects with a session of "Dana" in the fragment

  @OTP-003 @must
  Scenario: create_user false refuses unknown addresses
    POST /otp for an unknown address with `create_user: false` MUST answer 422 `otp_disabled`, create
    no account and mail nothing.

    When a client asks for a sign-in code for the unregistered address "Nobody" without creating a user
    Then the request is refused with 422 "otp_disabled"
    And no mail reaches the address of "Nobody"

  @OTP-004 @must
  Scenario: An unknown address gets a confirmed account by its code
    POST /otp for an unknown address (create_user defaulting to true) MUST mail a code; verifying it
    MUST answer a session of a new permanent user with that email, confirmed.

    When "Nina" asks for a sign-in code for a new address
    Then the response status is 200
    And "Nina" receives a sign-in mail with a code and a link
    When "Nina" verifies the sign-in code from the mail
    Then the response is a session
    And the session's user is permanent with the email of "Nina"
    And the session's user has a confirmed email

  @OTP-005 @must
  Scenario: A mailed code works once, even when verified in parallel
    The same code verified by 5 parallel requests MUST succeed exactly once; every other request MUST
    be refused with 403 `otp_expired`.

    Given a registered user "Dana" who has received a sign-in mail
    When "Dana" verifies the sign-in code from the mail 5 times in parallel
    Then exactly one verify succeeded and the others were refused with 403 "otp_expired"

  @OTP-006 @must
  Scenario: Signing in by code carries an anonymous session's rows over
    A /verify request carrying `anonymous_refresh_token` MUST merge the anonymous user into the
    signed-in user exactly as the password grant does.

    Given the target claims the "merge" and "owned-data" capabilities
    And a registered user "Dana" who has received a sign-in mail
    And a visitor "Ann" signed in anonymously
    And "Ann" has contributed 2 items
    When "Dana" verifies the sign-in code from the mail carrying the anonymous refresh token of "Ann"
    Then the response JSON field "anonymous_merge.status" is "merged"
    And "Dana" owns exactly 2 items
    And "Ann"'s access token is refused with 403 "session_not_found"

  @OTP-007 @must
  Scenario: Verify refuses requests it cannot act on
    POST /verify without a known type MUST answer 400 `validation_failed`; with a token_hash the server
    never issued it MUST answer 403 `otp_expired`.

    When a client sends "POST /verify" with JSON
      """
      {"token_hash": "0123456789abcdef0123456789abcdef0123456789abcdef01234567"}
      """
    Then the request is refused with 400 "validation_failed"
    When a client sends "POST /verify" with JSON
      """
      {"type": "email", "token_hash": "0123456789abcdef0123456789abcdef0123456789abcdef01234567"}
      """
    Then the request is refused with 403 "otp_expired"

  @OTP-008 @must
  Scenario: Guessing a sign-in code from one client is stopped, and then even the right code is refused
    Wrong codes on POST /verify from one client MUST be answered 403 `otp_expired` until the attempts
    the target allows (its [mail] verify_attempts, 30 unless it says otherwise) are used up, then 429
    `over_request_rate_limit`; while the limit lasts the mailed code MUST be refused the same way.
    GoTrue limits /verify per client (GOTRUE_RATE_LIMIT_VERIFY, burst 30); without a limit, six
    digits fall to one client within the code's lifetime.

    Given a registered user "Dana" who has received a sign-in mail
    When "Dana" enters wrong sign-in codes until refused, past the target's verify attempts
    Then the request is refused with 429 "over_request_rate_limit"
    And every earlier attempt was refused with 403 "otp_expired"
    When "Dana" verifies the sign-in code from the mail
    Then the request is refused with 429 "over_request_rate_limit"

  @OTP-009 @should
  Scenario: Guessing a sign-in code from many addresses uses the code up
    Wrong guesses at one mailed code SHOULD be counted per code, not only per client: after as many
    wrong codes as the target's verify attempts, each from another client address, the mailed code
    SHOULD be refused with 403 `otp_expired`. A per-client limit alone lets a guesser with many
    addresses (one IPv6 /64 is enough) walk the million codes within the code's lifetime; GoTrue
    counts nothing per code, which is why this is a SHOULD.

    Given a registered user "Dana" who has received a sign-in mail
    When "Dana" enters wrong sign-in codes from a new client address each time, as many as the target's verify attempts
    And "Dana" verifies the sign-in code from the mail
    Then the request is refused with 403 "otp_expired"

  @OTP-010 @must
  Scenario Outline: A sign-in mail works once, whichever form redeems it
    A sign-in mail's code (magic link) MUST work once, whichever of the forms the dialect accepts
    redeems it first (POST /verify with the code and its address, POST /verify with the link's
    token_hash, GET on the mailed link): afterwards every form MUST refuse it, POST /verify with 403
    `otp_expired`, the link with a redirect carrying `error_code=otp_expired` in its fragment.

    Given a registered user "Dana" who has received a sign-in mail
    When "Dana" redeems the sign-in mail by <form>
    Then the redemption succeeded
    And "Dana"'s sign-in mail is refused with 403 "otp_expired" by every form (by the link: in the redirect's fragment)

    Examples:
      | form                             |
      | POST /verify with the code       |
      | POST /verify with the token_hash |
      | GET on the mailed link           |

  @OTP-011 @must
  Scenario Outline: A sign-in mail works once even when redeemed in parallel
    A sign-in mail's code (magic link) redeemed by 5 parallel requests of one form MUST succeed exactly
    once, whichever the form; every other request MUST be refused, POST /verify with 403 `otp_expired`,
    the link with a redirect carrying `error_code=otp_expired` in its fragment.

    Given a registered user "Dana" who has received a sign-in mail
    When "Dana" redeems the sign-in mail by <form> 5 times in parallel
    Then exactly one redemption succeeded and the others were refused with 403 "otp_expired" (by the link: in the redirect's fragment)

    Examples:
      | form                             |
      | POST /verify with the code       |
      | POST /verify with the token_hash |
      | GET on the mailed link           |

  @OTP-012 @should
  Scenario: A sign-in code takes as long for a new address as for a registered one
    POST /otp SHOULD take as long for a registered address as for a new one it makes an account for
    (OWASP Authentication Cheat Sheet, "Authentication and Error Messages"): over 50 requests of each
    kind in random order, the time of one answer SHOULD NOT tell which kind it was for (a rank test's
    AUC within 0.5 ± 0.25, or p ≥ 0.001).

    Given 50 registered users
    When a sign-in code is asked for each of them and for 50 new addresses, in random order
    Then the answer times do not tell registered addresses from unregistered ones
