@email-confirmation
Feature: Addresses confirmed by mail
  On a server that does not confirm addresses automatically (`mailer_autoconfirm` false), a signup
  answers the user without a session and mails a confirmation; an anonymous user who adds an email
  stays anonymous until the new address confirms, then becomes permanent with the same id.

  @ECF-001 @must
  Scenario: A signup must be confirmed before the password signs in
    POST /signup MUST answer the user without a session; a password sign-in before confirmation MUST
    be refused with 400 `email_not_confirmed`; verifying the mailed code MUST answer a session, after
    which the password signs in.

    Given a target that confirms email addresses by mail
    When "Dana" signs up with a new email and a password
    Then the response status is 200
    And the response is a user without a session
    And "Dana"'s password is refused with 400 "email_not_confirmed"
    When "Dana" verifies the signup code from the mail
    Then the response is a session
    And "Dana" can sign in with their password

  @ECF-002 @must
  Scenario: An anonymous user becomes permanent only when the new address confirms
    PUT /user with an email by an anonymous user MUST leave it anonymous and mail the address;
    verifying that mail MUST answer a session of the same user id, now permanent with that email.

    Given a target that confirms email addresses by mail
    And a visitor "Ann" signed in anonymously
    When "Ann" adds a new email address
    Then the response status is 200
    And the response JSON field "is_anonymous" is true
    When "Ann" confirms the email change from the new address
    Then the response is a session
    And the session's user is permanent with the email of "Ann"
    And the session's user id is the user id of "Ann"

  @ECF-008 @must
  Scenario Outline: A signup confirmation mail works once, whichever form redeems it
    A signup confirmation mail's code MUST work once, whichever of the forms the dialect accepts redeems
    it first (POST /verify with the code and its address, POST /verify with the link's token_hash, GET
    on the mailed link): afterwards every form MUST refuse it, POST /verify with 403 `otp_expired`, the
    link with a redirect carrying `error_code=otp_expired` in its fragment.

    Given a target that confirms email addresses by mail
    And "Dana" has signed up and received the signup mail
    When "Dana" redeems the signup mail by <form>
    Then the redemption succeeded
    And "Dana"'s signup mail is refused with 403 "otp_expired" by every form (by the link: in the redirect's fragment)

    Examples:
      | form                             |
      | POST /verify with the code       |
      | POST /verify with the token_hash |
      | GET on the mailed link           |

  @ECF-009 @must
  Scenario Outline: A signup confirmation mail works once even when redeemed in parallel
    A signup confirmation mail's code redeemed by 5 parallel requests of one form MUST succeed exactly
    once, whichever the form; every other request MUST be refused, POST /verify with 403 `otp_expired`,
    the link with a redirect carrying `error_code=otp_expired` in its fragment.

    Given a target that confirms email addresses by mail
    And "Dana" has signed up and received the signup mail
    When "Dana" redeems the signup mail by <form> 5 times in parallel
    Then exactly one redemption succeeded and the others were refused with 403 "otp_expired" (by the link: in the redirect's fragment)

    Examples:
      | form                             |
      | POST /verify with the code       |
      | POST /verify with the token_hash |
      | GET on the mailed link           |

  @ECF-010 @must
  Scenario: Signing up with a registered address does not reveal the account
    With confirmation by mail, POST /signup with the address of a confirmed account MUST answer 200
    with a user and no session, as it does for a new address, under an id that is not the account's
    (GoTrue's sanitizeUser); the account MUST stay as it was: its password signs in, the new one does
    not.

    Given a target that confirms email addresses by mail
    And a user "Dana" who signed up and confirmed the address from the mail
    When "Eve" signs up with the email of "Dana" and a password of their own
    Then the response status is 200
    And the response is a user without a session
    And the response's user id is not the user id of "Dana"
    And "Dana" can sign in with their password
    And "Eve"'s password is refused with 400 "invalid_credentials"

  @ECF-011 @should
  Scenario: The answer for a registered address has the shape of a new signup's
    With confirmation by mail, the user POST /signup answers for the address of a confirmed account
    SHOULD have the same fields, of the same JSON types, as the one it answers for a new address,
    email identity included: clients are told that an empty `identities` list means the address is
    taken, so a stand-in without one reveals the account all the same.

    Given a target that confirms email addresses by mail
    And a user "Dana" who signed up and confirmed the address from the mail
    When "Nina" signs up with a new email and a password
    And "Eve" signs up with the email of "Dana" and a password of their own
    Then the last two answers have the same fields of the same types

  @ECF-012 @should
  Scenario: A signup takes as long for a registered address as for a new one
    With confirmation by mail, POST /signup SHOULD take as long for the address of a confirmed account
    as for a new address (OWASP Authentication Cheat Sheet, "Authentication and Error Messages"): over
    50 requests of each kind in random order, the time of one answer SHOULD NOT tell which kind it was
    for (a rank test's AUC within 0.5 ± 0.25, or p ≥ 0.001).

    Given a target that confirms email addresses by mail
    And 50 registered users
    When each of their addresses and 50 new ones are signed up, in random order
    Then the answer times do not tell registered addresses from unregistered ones

  @ECF-003 @must
  Scenario: A resent signup confirmation carries a new code, and the first code stops working
    POST /resend with type "signup" for an address that is not yet confirmed MUST answer 200 `{}` and
    mail a new code (GoTrue's resend.go); the new code MUST confirm the address, and the code of the
    first mail MUST be refused with 403 `otp_expired`.

    Given a target that confirms email addresses by mail
    When "Dana" signs up with a new email and a password
    And "Dana" receives the signup mail
    And "Dana" asks again for the signup confirmation once the send interval has passed
    Then the response is 200 with an empty object
    And "Dana" receives a second signup mail with another code
    When "Dana" verifies the code of the first signup mail
    Then the request is refused with 403 "otp_expired"
    When "Dana" verifies the code of the latest signup mail
    Then the response is a session
    And "Dana" can sign in with their password

  @ECF-004 @must
  Scenario: Resending honours the per-address send interval
    A second POST /resend for one address within the send interval MUST be refused with 429
    `over_email_send_rate_limit`.

    Given a target that confirms email addresses by mail
    When "Dana" signs up with a new email and a password
    And "Dana" asks again for the signup confirmation once the send interval has passed
    Then the response is 200 with an empty object
    When "Dana" asks again for the signup confirmation right away
    Then the resend is refused with 429 "over_email_send_rate_limit"

  @ECF-005 @must
  Scenario: A resend with nothing to confirm answers the same and mails nothing
    POST /resend with type "signup" MUST answer 200 `{}` and mail nothing both for an address
    nobody registered and for an address already confirmed, so it reveals no account.

    Given a target that confirms email addresses by mail
    And a user "Dana" who signed up and confirmed the address from the mail
    When "Dana" asks again for the signup confirmation once the send interval has passed
    Then the response is 200 with an empty object
    And the resend mails nothing to the address of "Dana"
    When a client asks for the signup confirmation of the unregistered address "Nobody"
    Then the response is 200 with an empty object
    And the resend mails nothing to the address of "Nobody"

  @ECF-006 @must
  Scenario: A resend of an unknown type is refused
    POST /resend with a type other than signup, email_change, sms or phone_change MUST be refused
    with 400 `validation_failed`.

    When a client sends "POST /resend" with JSON
      """
      {"type": "invitation", "email": "someone@guestpass.test"}
      """
    Then the request is refused with 400 "validation_failed"

  @ECF-007 @must
  Scenario: The email identity is unverified until the address confirms
    After a signup that still needs confirmation, the email identity's `identity_data.email_verified`
    MUST be false; once the mailed code confirms the address it MUST be true (GoTrue's verify.go).

    Given a target that confirms email addresses by mail
    When "Dana" signs up with a new email and a password
    Then the response is a user without a session
    And the email identity of the response says email_verified is false
    When "Dana" verifies the signup code from the mail
    Then the response is a session
    And the email identity of "Dana" says email_verified is true

  @ECF-013 @should
  Scenario: A resent confirmation takes as long for an unknown address as for a pending signup
    POST /resend with type "signup" SHOULD take as long for an address whose signup awaits
    confirmation (where it mails a new code) as for an unregistered one (where it mails nothing), both
    answered 200 `{}` (OWASP Authentication Cheat Sheet, "Authentication and Error Messages"): over 50
    requests of each kind in random order, the time of one answer SHOULD NOT tell which kind it was
    for (a rank test's AUC within 0.5 ± 0.25, or p ≥ 0.001).

    Given a target that confirms email addresses by mail
    And 50 users who signed up and have not confirmed their address
    When the signup confirmation is resent for each of them and for 50 unregistered addresses, in random order
    Then the answer times do not tell registered addresses from unregistered ones
