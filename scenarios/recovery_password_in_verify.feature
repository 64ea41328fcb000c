@recovery-password-in-verify
Feature: A new password in the recovery verify call
  Some servers accept the new password in the recovery verify call itself. A server MAY; it MUST
  NOT require it, since supabase-js never sends it (the recovery scenarios verify without one).

  @RPV-001 @must
  Scenario: The password given with the recovery code is set at once
    POST /verify with type "recovery", the code and a `password` MUST answer a session and set that
    password; the old one MUST stop working and the user's other sessions MUST end.

    Given a registered user "Dana" who is signed in on "laptop" and on "phone"
    And "Dana" has received a recovery mail
    When "Dana" verifies the recovery code from the mail with a new password
    Then the response is a session
    And "Dana"'s old password is refused with 400 "invalid_credentials"
    And "Dana" can sign in with their new password
    And "Dana"'s access token on "phone" is refused with 403 "session_not_found"
