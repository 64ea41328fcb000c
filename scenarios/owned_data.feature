@owned-data
Feature: Owned data
  A minimal data API (its own base URL, `data_base_url` in the target file) whose rows belong to a
  user by foreign key. It is how the suite observes what merges and deletions do to a user's data.
  Anonymous users may contribute; syncing is for permanent users only.

  @DATA-001 @must
  Scenario: An anonymous user can contribute rows
    POST /items by an anonymous user MUST answer 201 with the row, owned by that user.

    Given a visitor "Ann" signed in anonymously
    When "Ann" contributes the item "Bentley judging a flat white"
    Then the response status is 201
    And the response JSON field "body" is "Bentley judging a flat white"
    And the item belongs to "Ann"

  @DATA-002 @must
  Scenario: Rows are visible to their owner only
    GET /items MUST list the caller's own rows and no one else's.

    Given a visitor "Ann" signed in anonymously
    And "Ann" has contributed 2 items
    And a visitor "Ben" signed in anonymously
    And "Ben" has contributed 1 item
    Then "Ann" owns exactly 2 items
    And "Ben" owns exactly 1 item

  @DATA-003 @must
  Scenario: Syncing refuses anonymous users with a code
    GET /sync by an anonymous user MUST answer 403 with the code `no_authorization`, so that the
    client stops instead of retrying.

    Given a visitor "Ann" signed in anonymously
    And "Ann" has contributed 1 item
    When "Ann" requests the data endpoint "GET /sync"
    Then the request is refused with 403 "no_authorization"

  @DATA-004 @must
  Scenario: A permanent user can sync their rows
    GET /sync by a permanent user MUST answer 200 with the caller's rows.

    Given a registered user "Dana" who has signed in
    And "Dana" has contributed 2 items
    When "Dana" requests the data endpoint "GET /sync"
    Then the response status is 200
    And the response lists exactly 2 items of "Dana"

  @DATA-005 @must
  Scenario: The data API needs a bearer token
    The data API MUST answer a request without an Authorization header with 401 `no_authorization`.

    When a client requests the data endpoint "GET /items"
    Then the request is refused with 401 "no_authorization"

  @DATA-006 @must
  Scenario: A row without a body is refused
    POST /items without a non-empty string `body` MUST answer 400 `validation_failed` and store nothing.

    Given a visitor "Ann" signed in anonymously
    When "Ann" sends the data endpoint "POST /items" with JSON
      """
      {"body": ""}
      """
    Then the request is refused with 400 "validation_failed"
    And "Ann" owns exactly 0 items

  @DATA-007 @must
  Scenario: Writes racing a merge of their owner move with it or are refused cleanly
    While a sign-in merges an anonymous user, 40 of that user's clients keep contributing until it is
    answered: every contribution MUST answer 201 or 403 `session_not_found`/`user_not_found`, never a
    5xx (PROTOCOL §1: a 5xx is never a conforming answer); the merge MUST happen, and every row stored
    before or during it MUST end up with the account: none lost, none left with the merged user.

    Given the target also claims the "merge" capability
    And a registered user "Dana"
    And a visitor "Ann" signed in anonymously
    And "Ann" has contributed 2 items
    When "Dana" signs in with their password carrying the anonymous refresh token of "Ann" while 40 of that visitor's clients keep contributing
    Then no parallel response is a server error
    And every parallel contribution was stored, or refused with 403 "session_not_found" or "user_not_found"
    And the response JSON field "anonymous_merge.status" is "merged"
    And "Dana" owns every item stored before and during the race
