@email-change
Feature: Secure email change
  A user with an email changes it with PUT /user. On a server that confirms addresses by mail,
  nothing changes until the change is confirmed from both the current and the new address (GoTrue's
  secure email change); the user then signs in with the new address only.

  @EMC-001 @must
  Scenario: An email change needs both confirmations
    On a server that confirms addresses by mail, PUT /user with a new email MUST leave the email
    unchanged and mail both addresses; after the current address confirms, the email MUST still be
    the old one; after the new one confirms too, it MUST be the new one. (A server that confirms
    addresses automatically may complete the change on one confirmation, as GoTrue does.)

    Given a target that confirms email addresses by mail
    And a user "Dana" who signed up and confirmed the address from the mail
    When "Dana" changes their email to a new address
    Then the response status is 200
    And "Dana"'s email is still the old one
    When "Dana" confirms the email change from the current address
    Then the response status is 200
    And "Dana"'s email is still the old one
    When "Dana" confirms the email change from the new address
    Then the response is a session
    And "Dana"'s email is the new one
    And "Dana" can sign in with the new address but not the old one

  @EMC-002 @must
  Scenario: Confirming from the new address alone changes nothing
    On a server that confirms addresses by mail, if only the new address has confirmed, the email
    MUST stay the old one and the old address MUST still sign in.

    Given a target that confirms email addresses by mail
    And a user "Dana" who signed up and confirmed the address from the mail
    When "Dana" changes their email to a new address
    And "Dana" confirms the email change from the new address
    Then "Dana"'s email is still the old one
    And "Dana" can sign in with their password

  @EMC-003 @must
  Scenario: The new address cannot belong to someone else
    PUT /user with the email of another account MUST answer 422 `email_exists` and mail nothing.

    Given a registered user "Dana" who has signed in
    And a registered user "Eve"
    When "Dana" changes their email to the email of "Eve"
    Then the request is refused with 422 "email_exists"
    And no mail reaches the address of "Eve"

  @EMC-006 @must
  Scenario Outline: Each email change confirmation works once, whichever form redeems it
    The code mailed to either address in an email change (current or new) MUST work once, whichever of
    the forms the dialect accepts redeems it first (POST /verify with the code and its address, POST
    /verify with the link's token_hash, GET on the mailed link): afterwards every form MUST refuse it,
    POST /verify with 403 `otp_expired`, the link with a redirect carrying `error_code=otp_expired` in
    its fragment.

    Given a target that confirms email addresses by mail
    And a user "Dana" who signed up and confirmed the address from the mail
    And "Dana" has changed their email and received both confirmation mails
    When "Dana" redeems the email change (<side>) mail by <form>
    Then the redemption succeeded
    And "Dana"'s email change (<side>) mail is refused with 403 "otp_expired" by every form (by the link: in the redirect's fragment)

    Examples:
      | side    | form                             |
      | current | POST /verify with the code       |
      | current | POST /verify with the token_hash |
      | current | GET on the mailed link           |
      | new     | POST /verify with the code       |
      | new     | POST /verify with the token_hash |
      | new     | GET on the mailed link           |

  @EMC-007 @must
  Scenario Outline: Each email change confirmation works once even when redeemed in parallel
    The code mailed to either address in an email change (current or new) redeemed by 5 parallel
    requests of one form MUST succeed exactly once, whichever the form; every other request MUST be
    refused, POST /verify with 403 `otp_expired`, the link with a redirect carrying
    `error_code=otp_expired` in its fragment.

    Given a target that confirms email addresses by mail
    And a user "Dana" who signed up and confirmed the address from the mail
    And "Dana" has changed their email and received both confirmation mails
    When "Dana" redeems the email change (<side>) mail by <form> 5 times in parallel
    Then exactly one redemption succeeded and the others were refused with 403 "otp_expired" (by the link: in the redirect's fragment)

    Examples:
      | side    | form                             |
      | current | POST /verify with the code       |
      | current | POST /verify with the token_hash |
      | current | GET on the mailed link           |
      | new     | POST /verify with the code       |
      | new     | POST /verify with the token_hash |
      | new     | GET on the mailed link           |

  @EMC-004 @must
  Scenario: A pending email change can be mailed again
    POST /resend with type "email_change" and the user's current email MUST answer 200 `{}` and mail
    the pending change again; the resent codes MUST complete the change.

    Given a target that confirms email addresses by mail
    And a user "Dana" who signed up and confirmed the address from the mail
    When "Dana" changes their email to a new address
    And "Dana" asks again for the email change mails once the send interval has passed
    Then the response is 200 with an empty object
    And the resend mails the new address of "Dana" again
    When "Dana" confirms the email change from the current address
    And "Dana" confirms the email change from the new address
    Then the response is a session
    And "Dana"'s email is the new one

  @EMC-005 @must
  Scenario: A resend without a pending email change mails nothing
    POST /resend with type "email_change" for a user with no pending change MUST answer 200 `{}`
    and mail nothing.

    Given a target that confirms email addresses by mail
    And a user "Dana" who signed up and confirmed the address from the mail
    When "Dana" asks again for the email change mails once the send interval has passed
    Then the response is 200 with an empty object
    And the resend mails nothing to the address of "Dana"
