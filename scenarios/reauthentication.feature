@reauthentication
Feature: Reauthentication before a password change
  GET /reauthenticate mails the signed-in user a six-digit code (GoTrue's reauthenticate.go). A server
  that requires reauthentication for password changes (GoTrue's
  SECURITY_UPDATE_PASSWORD_REQUIRE_REAUTHENTICATION) takes that code as `nonce` in PUT /user with the
  new password. The nonce scenarios run on the target's password_reauthentication variant, whose
  sessions all count as old enough to need a nonce (GoTrue asks only when the session began more than
  24 hours ago).

  @REAUTH-001 @must
  Scenario: A signed-in user with a confirmed email is mailed a reauthentication code
    GET /reauthenticate by a user with a confirmed email MUST answer 200 `{}` and mail that address a
    six-digit code.

    Given a user "Dana" who signed up and confirmed the address from the mail
    When "Dana" asks for a reauthentication code
    Then the response is 200 with an empty object
    And "Dana" receives a reauthentication mail with a six-digit code

  @REAUTH-002 @must
  Scenario: A user without an email cannot ask for a reauthentication code
    GET /reauthenticate by an anonymous user, who has no address to mail, MUST be refused with 400
    `validation_failed`.

    Given a visitor "Ann" signed in anonymously
    When "Ann" asks for a reauthentication code
    Then the request is refused with 400 "validation_failed"

  @REAUTH-003 @must
  Scenario: A password change needs the mailed nonce, once
    On a server that requires reauthentication, PUT /user with a password MUST be refused with 400
    `reauthentication_needed` without a nonce and with 422 `reauthentication_not_valid` with a wrong
    one; with the mailed nonce it MUST succeed, and the same nonce MUST NOT work a second time.

    Given a target that requires reauthentication for password changes
    And a user "Dana" who signed up and confirmed the address from the mail
    And "Dana" has received a reauthentication code
    When "Dana" changes their password without a nonce
    Then the request is refused with 400 "reauthentication_needed"
    When "Dana" changes their password with a nonce that was not mailed
    Then the request is refused with 422 "reauthentication_not_valid"
    When "Dana" changes their password with the mailed nonce
    Then the response status is 200
    And "Dana" can sign in with the new password
    When "Dana" changes their password with the mailed nonce
    Then the request is refused with 422 "reauthentication_not_valid"

  @REAUTH-004 @must
  Scenario: An expired nonce is refused
    On a server that requires reauthentication, a nonce used after the mailed codes' lifetime MUST be
    refused with 422 `reauthentication_not_valid`.

    Given a target that requires reauthentication for password changes
    And a user "Dana" who signed up and confirmed the address from the mail
    And "Dana" has received a reauthentication code
    When the mailed nonce has expired
    And "Dana" changes their password with the mailed nonce
    Then the request is refused with 422 "reauthentication_not_valid"
