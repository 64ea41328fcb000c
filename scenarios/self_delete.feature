@self-delete
Feature: Self-delete
  A user can delete their own account with DELETE /user. The request names no user, so nobody can
  use it to delete someone else. The account's sessions end and its rows go with it.

  @DEL-001 @must
  Scenario: A user deletes their own account
    DELETE /user MUST answer 204; afterwards the user's access token is refused with 403, its refresh
    token is refused, and its password no longer signs in.

    Given a registered user "Dana" who has signed in
    When "Dana" sends "DELETE /user"
    Then the response status is 204
    And "Dana"'s access token is refused with 403 "session_not_found" or "user_not_found"
    And "Dana"'s refresh token is refused with 400 "refresh_token_not_found"
    And "Dana"'s password is refused with 400 "invalid_credentials"

  @DEL-002 @must
  Scenario: An anonymous user can delete themselves
    DELETE /user by an anonymous user MUST answer 204 and end the anonymous account.

    Given a visitor "Ann" signed in anonymously
    And "Ann" has contributed 1 item
    When "Ann" sends "DELETE /user"
    Then the response status is 204
    And "Ann"'s access token is refused with 403 "session_not_found" or "user_not_found"

  @DEL-003 @must
  Scenario: Self-delete cannot name another user
    DELETE /user MUST act on the token's own user only, whatever user id the request body or query
    carries.

    Given a registered user "Dana" who has signed in
    And a registered user "Eve" who has signed in
    When "Eve" deletes their account naming the user id of "Dana"
    Then the response status is 204
    And "Eve"'s access token is refused with 403 "session_not_found" or "user_not_found"
    And "Dana"'s access token works

  @DEL-004 @must
  Scenario: Self-delete needs a bearer token
    DELETE /user without an Authorization header MUST answer 401 `no_authorization`.

    When a client requests "DELETE /user"
    Then the request is refused with 401 "no_authorization"

  @DEL-005 @must
  Scenario: A deleted user's other sessions end too
    After DELETE /user, every session of the user MUST be refused, not only the calling one.

    Given a registered user "Dana" who is signed in on "laptop" and on "phone"
    When "Dana" on "laptop" sends "DELETE /user"
    Then the response status is 204
    And "Dana"'s access token on "phone" is refused with 403 "session_not_found" or "user_not_found"

  @DEL-006 @must
  Scenario: Writes racing the owner's self-delete are refused cleanly or go with the account
    While a user deletes their account, 40 of their clients keep contributing to the data API until the
    deletion is answered: every contribution MUST answer 201 or 403 `session_not_found`/`user_not_found`,
    never a 5xx (PROTOCOL §1: a 5xx is never a conforming answer); the deletion MUST answer 204 and end
    the account, rows stored before it included (PROTOCOL §8: owned rows go with it).

    Given a visitor "Ann" signed in anonymously
    And "Ann" has contributed 1 item
    When "Ann" deletes their account while 40 of their clients keep contributing
    Then no parallel response is a server error
    And every parallel contribution was stored, or refused with 403 "session_not_found" or "user_not_found"
    And the response status is 204
    And "Ann"'s access token is refused with 403 "session_not_found" or "user_not_found"
