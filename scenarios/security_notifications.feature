@security-notifications
Feature: Security notifications
  A server can mail the user when something that lets someone into their account changes: a new
  password, a new email address, an identity linked or unlinked, an MFA factor added or removed
  (GoTrue's MAILER_NOTIFICATIONS_*_ENABLED settings, each off by default there). In an
  anonymous-first app such a mail is often the owner's only warning that someone linked a sign-in
  method to the account. A notice goes out once the change has happened, to the address that can
  still warn the owner (for an email change, the old one), and it carries no code and no link that
  signs in: anyone who reads the mail could use one. A change that is refused mails nothing.

  @NOTIFY-001 @must
  Scenario: A new password is notified to the user's address
    After PUT /user sets a new password for a user with an email, the server MUST mail that address a
    notice about the password that carries no code and no link that signs in.

    Given a registered user "Dana" who has signed in
    When "Dana" changes their password to a new one
    Then the response status is 200
    And "Dana" is mailed a notice that their password was changed

  @NOTIFY-002 @must
  Scenario: A changed email address is notified to the old address
    After an email change completes, the server MUST mail the OLD address (the one that can still warn
    the owner) a notice that names the new address and carries no code and no link that signs in.

    Given a target that confirms email addresses by mail
    And a user "Dana" who signed up and confirmed the address from the mail
    When "Dana" changes their email to a new address
    And "Dana" confirms the email change from the current address
    And "Dana" confirms the email change from the new address
    Then "Dana"'s email is the new one
    And the old address of "Dana" is mailed a notice that names the new address

  @NOTIFY-003 @must
  Scenario: An identity linked to an account is notified to the account's address
    After a user with an email links a provider's identity (GET /user/identities/authorize completed
    at the provider), the server MUST mail the user's address a notice that names the provider and
    carries no code and no link that signs in.

    Given the target signs in through the suite's OpenID provider
    And a registered user "Dana" who has signed in
    When "Dana" links their provider account
    Then the site receives a session in the URL fragment
    And "Dana" is mailed a notice that names the provider

  @NOTIFY-004 @must
  Scenario: An anonymous user made permanent by a linked identity is notified at the identity's address
    If an anonymous user links a provider's identity with a verified email and becomes permanent with
    that address, the server MUST mail that address a notice that names the provider and carries no
    code and no link that signs in (GoTrue's linkIdentityToUser notifies the address the user has
    after the link).

    Given the target signs in through the suite's OpenID provider
    And a visitor "Ann" signed in anonymously
    When "Ann" links their provider account
    Then "Ann" is a permanent user with the provider's email and an identity of the provider
    And the provider address of "Ann" is mailed a notice that names the provider

  @NOTIFY-005 @must
  Scenario: An unlinked identity is notified to the account's address
    After DELETE /user/identities/{id} removes an identity, the server MUST mail the address the user
    had before a notice that names the provider and carries no code and no link that signs in.

    Given the target signs in through the suite's OpenID provider
    And a registered user "Dana" who has signed in
    And "Dana" has linked their provider account and been told so by mail
    When "Dana" unlinks their provider identity
    Then the response status is 200
    And "Dana" is mailed a notice that names the provider

  @NOTIFY-006 @must
  Scenario: An MFA factor is notified once it is verified, not before
    Enrolling a factor and answering its challenge wrongly MUST mail nothing; once the factor is
    verified, the server MUST mail the user's address a notice that names the factor type and carries
    no code and no link that signs in.

    Given a registered user "Dana" who has signed in
    And "Dana" has enrolled a TOTP factor
    And "Dana" has created a challenge for their factor
    When "Dana" verifies the challenge with a wrong code
    Then the request is refused with 422 "mfa_verification_failed"
    And no further mail reaches "Dana"
    When "Dana" verifies a new challenge with the current code
    Then the response status is 200
    And "Dana" is mailed a notice that names the factor type "totp"

  @NOTIFY-007 @must
  Scenario: A removed MFA factor is notified to the user's address
    After DELETE /factors/{id} removes a factor, the server MUST mail the user's address a notice that
    names the factor type and carries no code and no link that signs in.

    Given a registered user "Dana" who has signed in
    And "Dana" has verified a TOTP factor
    And "Dana" has been told by mail that a "totp" factor was added
    When "Dana" unenrolls their factor
    Then the response status is 200
    And "Dana" is mailed a notice that names the factor type "totp"

  @NOTIFY-008 @must
  Scenario: A password change refused for a wrong nonce mails nothing
    On a server that requires reauthentication, a password change with a nonce the server never mailed
    MUST be refused with 422 `reauthentication_not_valid` and MUST mail no notice; the change with a
    mailed nonce then MUST be notified.

    Given a target that requires reauthentication for password changes
    And a user "Dana" who signed up and confirmed the address from the mail
    When "Dana" changes their password with a made-up nonce before asking for one
    Then the request is refused with 422 "reauthentication_not_valid"
    And no further mail reaches "Dana"
    When "Dana" asks for a reauthentication code
    Then "Dana" receives a reauthentication mail with a six-digit code
    When "Dana" changes their password with the mailed nonce
    Then the response status is 200
    And "Dana" is mailed a notice that their password was changed

  @NOTIFY-009 @must
  Scenario: A refused password mails nothing
    PUT /user with a password the server refuses (too short: 422 `weak_password`; the current one:
    422 `same_password`) MUST mail no notice.

    Given a registered user "Dana" who has signed in
    When "Dana" changes their password to a one-character password
    Then the request is refused with 422 "weak_password"
    When "Dana" changes their password to the one they have
    Then the request is refused with 422 "same_password"
    And no further mail reaches "Dana"

  @NOTIFY-010 @must
  Scenario: An email change still waiting for a confirmation mails no notice
    While an email change waits for the confirmation of one of the two addresses, nothing has changed,
    and the server MUST NOT mail the notice of a changed address.

    Given a target that confirms email addresses by mail
    And a user "Dana" who signed up and confirmed the address from the mail
    When "Dana" changes their email to a new address
    And "Dana" confirms the email change from the current address
    Then "Dana"'s email is still the old one
    And no further mail reaches the old address of "Dana"
