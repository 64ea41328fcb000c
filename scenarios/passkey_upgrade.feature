@passkey-upgrade
Feature: An anonymous account made permanent by a passkey
  An anonymous user may register a passkey; the account then becomes permanent with the same id, an
  account with no email at all that its owner recovers on any device with the passkey.

  @PKU-001 @must
  Scenario: A passkey makes an anonymous user permanent, and brings it back elsewhere
    After an anonymous user registers a passkey, the user MUST be permanent with the same id and its
    rows intact; signing in with the passkey on another device MUST answer that same user.

    Given a visitor "Ann" signed in anonymously
    And "Ann" has contributed 2 items
    When "Ann" registers a passkey on their authenticator
    Then the response status is 200
    And "Ann" is permanent with the same user id
    When someone signs in with the passkey on the authenticator of "Ann"
    Then the session's user id is the user id of "Ann"
    And the access token claim "is_anonymous" is false
    And "Ann" owns exactly 2 items
