@recovery
Feature: Password recovery by mail
  A user who forgot their password asks for a recovery mail (POST /recover), which carries a
  one-time code and a link. Verifying either (POST /verify with type "recovery", or opening the link)
  signs them in; they then set a new password with PUT /user, which ends their other sessions.
  Nothing in the answers reveals whether an address has an account.

  @REC-001 @must
  Scenario: The whole recovery flow through real mail
    POST /recover MUST answer 200 and mail a code; verifying it MUST answer a session with amr
    `otp`; a new password set with PUT /user MUST then be the only one that works, and the user's
    other sessions MUST end.

    Given a registered user "Dana" who is signed in on "laptop" and on "phone"
    When "Dana" asks for password recovery
    Then the response status is 200
    And "Dana" receives a recovery mail with a code and a link
    When "Dana" verifies the recovery code from the mail
    Then the response is a session
    And the access token's amr methods are "otp"
    When "Dana" sets a new password in the recovered session
    Then the response status is 200
    And "Dana"'s old password is refused with 400 "invalid_credentials"
    And "Dana" can sign in with their new password
    And "Dana"'s access token on "phone" is refused with 403 "session_not_found"

  @REC-002 @must
  Scenario: Recovery does not reveal which addresses have accounts
    POST /recover MUST answer an unknown address with exactly the status and body it gives a known
    one (200 `{}`), and MUST NOT mail the unknown address.

    Given a registered user "Dana"
    When "Dana" asks for password recovery
    And a client asks for password recovery of an unregistered address "Nobody"
    Then both recovery answers are identical and are 200 with an empty object
    And no mail reaches the address of "Nobody"

  @REC-003 @must
  Scenario: A recovery code works once
    A recovery code that has been verified MUST be refused the second time with 403 `otp_expired`.

    Given a registered user "Dana" who has received a recovery mail
    And "Dana" has verified the recovery code from the mail
    When "Dana" verifies the recovery code from the mail
    Then the request is refused with 403 "otp_expired"

  @REC-004 @must
  Scenario: An expired recovery code is refused
    A recovery code verified after its expiry MUST be refused with 403 `otp_expired`.

    Given a registered user "Dana" who has received a recovery mail
    When the mailed codes of the target have expired
    And "Dana" verifies the recovery code from the mail
    Then the request is refused with 403 "otp_expired"

  @REC-005 @must
  Scenario: A wrong code is refused and leaves the right one working
    POST /verify with a code that was not mailed MUST answer 403 `otp_expired`, and the mailed code
    MUST still work afterwards.

    Given a registered user "Dana" who has received a recovery mail
    When "Dana" verifies a recovery code that was not mailed
    Then the request is refused with 403 "otp_expired"
    When "Dana" verifies the recovery code from the mail
    Then the response is a session

  @REC-006 @must
  Scenario: The recovery link signs the user in through a redirect
    GET on the mailed link MUST answer 303 to the redirect URL with the session (access_token,
    refresh_token, expires_in, type "recovery") in the fragment; opening it again MUST redirect with
    `error_code=otp_expired` in the fragment instead.

    Given a registered user "Dana" who has received a recovery mail
    When "Dana" opens the link from the mail
    Then the response redirects with a session of "Dana" in the fragment
    When "Dana" opens the link from the mail
    Then the response redirects with the error code "otp_expired" in the fragment

  @REC-007 @must
  Scenario: The link's token_hash verifies too
    POST /verify with `type` "recovery" and the `token_hash` from the mailed link MUST answer a
    session of the user.

    Given a registered user "Dana" who has received a recovery mail
    When "Dana" verifies the token_hash from the mailed link
    Then the response is a session
    And the session belongs to "Dana"

  @REC-008 @must
  Scenario: A code only verifies with the address it was mailed to
    POST /verify with the mailed code and another user's email MUST answer 403 `otp_expired`.

    Given a registered user "Dana" who has received a recovery mail
    And a registered user "Eve"
    When "Eve" verifies the recovery code mailed to "Dana"
    Then the request is refused with 403 "otp_expired"

  @REC-009 @should
  Scenario: Recovery mail is rate limited per address, known or not
    A second POST /recover for the same address within the send interval SHOULD answer 429
    `over_email_send_rate_limit`, for unknown addresses exactly as for known ones.

    Given a registered user "Dana"
    When "Dana" asks for password recovery twice in a row
    And a client asks twice in a row for password recovery of an unregistered address "Nobody"
    Then both second answers are refused with 429 "over_email_send_rate_limit"

  @REC-010 @must
  Scenario: Guessing a recovery code from one client is stopped, and then even the right code is refused
    Wrong recovery codes on POST /verify from one client MUST be answered 403 `otp_expired` until the
    attempts the target allows (its [mail] verify_attempts, 30 unless it says otherwise) are used up,
    then 429 `over_request_rate_limit`; while the limit lasts the mailed code MUST be refused the same
    way. GoTrue limits /verify per client (GOTRUE_RATE_LIMIT_VERIFY, burst 30); a recovery code
    guessed is an account taken over.

    Given a registered user "Dana" who has received a recovery mail
    When "Dana" enters wrong recovery codes until refused, past the target's verify attempts
    Then the request is refused with 429 "over_request_rate_limit"
    And every earlier attempt was refused with 403 "otp_expired"
    When "Dana" verifies the recovery code from the mail
    Then the request is refused with 429 "over_request_rate_limit"

  @REC-011 @should
  Scenario: Guessing a recovery code from many addresses uses the code up
    Wrong guesses at one recovery code SHOULD be counted per code, not only per client: after as
    many wrong codes as the target's verify attempts, each from another client address, the mailed
    code SHOULD be refused with 403 `otp_expired`, and so SHOULD its link. A per-client limit alone
    lets a guesser with many addresses walk the million codes within the code's lifetime; GoTrue
    counts nothing per code, which is why this is a SHOULD.

    Given a registered user "Dana" who has received a recovery mail
    When "Dana" enters wrong recovery codes from a new client address each time, as many as the target's verify attempts
    And "Dana" verifies the token_hash from the mailed link
    Then the request is refused with 403 "otp_expired"
    When "Dana" verifies the recovery code from the mail
    Then the request is refused with 403 "otp_expired"

  @REC-012 @must
  Scenario Outline: A recovery mail works once, whichever form redeems it
    A recovery mail's code MUST work once, whichever of the forms the dialect accepts redeems it first
    (POST /verify with the code and its address, POST /verify with the link's token_hash, GET on the
    mailed link): afterwards every form MUST refuse it, POST /verify with 403 `otp_expired`, the link
    with a redirect carrying `error_code=otp_expired` in its fragment.

    Given a registered user "Dana" who has received a recovery mail
    When "Dana" redeems the recovery mail by <form>
    Then the redemption succeeded
    And "Dana"'s recovery mail is refused with 403 "otp_expired" by every form (by the link: in the redirect's fragment)

    Examples:
      | form                             |
      | POST /verify with the code       |
      | POST /verify with the token_hash |
      | GET on the mailed link           |

  @REC-013 @must
  Scenario Outline: A recovery mail works once even when redeemed in parallel
    A recovery mail's code redeemed by 5 parallel requests of one form MUST succeed exactly once,
    whichever the form; every other request MUST be refused, POST /verify with 403 `otp_expired`, the
    link with a redirect carrying `error_code=otp_expired` in its fragment.

    Given a registered user "Dana" who has received a recovery mail
    When "Dana" redeems the recovery mail by <form> 5 times in parallel
    Then exactly one redemption succeeded and the others were refused with 403 "otp_expired" (by the link: in the redirect's fragment)

    Examples:
      | form                             |
      | POST /verify with the code       |
      | POST /verify with the token_hash |
      | GET on the mailed link           |

  @REC-014 @should
  Scenario: Recovery takes as long for an unknown address as for a registered one
    POST /recover SHOULD take as long whether the address has an account or not (OWASP Authentication
    Cheat Sheet, "Authentication and Error Messages"): over 50 requests of each kind in random order,
    the time of one answer SHOULD NOT tell which kind it was for (a rank test's AUC within 0.5 ± 0.25,
    or p ≥ 0.001). Sending the mail before answering is the usual cause.

    Given 50 registered users
    When recovery is asked for each of them and for 50 unregistered addresses, in random order
    Then the answer times do not tell registered addresses from unregistered ones

  @REC-015 @should
  Scenario: Recovery neither fails nor loses the mail while the mail server refuses it
    While the mail server refuses mail, POST /recover for a registered address SHOULD still answer
    200 `{}` (a 5xx, or an error naming the mail server, tells the caller the address has an account
    and loses the mail), and the recovery mail SHOULD arrive once the mail server accepts mail again.

    Given a registered user "Dana"
    And the mail server refuses mail for "Dana"
    When "Dana" asks for password recovery
    Then the response status is 200
    And the response JSON is an empty object
    And the mail server turns away a message for "Dana"
    When the mail server accepts mail for "Dana" again
    Then "Dana" receives a recovery mail with a code and a link
    When "Dana" verifies the recovery code from the mail
    Then the response is a session
