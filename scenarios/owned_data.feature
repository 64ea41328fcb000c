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
