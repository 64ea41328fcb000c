@core
Feature: Hostile input sizes
  Every request body and every user metadata object is bounded, and input past a bound is refused
  with a clear 4xx and an error code before anything is written. GoTrue refuses a body over 1 MiB
  with 413 `request_entity_too_large` (internal/api/api.go limitRequestBody, helpers.go); it has no
  bound of its own on user metadata, which every access token and session answer repeats.

  @CORE-045 @must
  Scenario: An oversized request body is refused and writes nothing
    A request body over 1 MiB MUST be refused with 413 `request_entity_too_large` before anything
    is written: the sign-up it carried creates no user, and the server goes on answering.

    When "Olive" signs up with a new email and a password in a body of 2 MiB
    Then the request is refused with 413 "request_entity_too_large"
    And "Olive"'s password is refused with 400 "invalid_credentials"
    And the target still answers "GET /settings" with 200

  @CORE-046 @must
  Scenario: An oversized body sent without Content-Length is refused the same way
    A chunked request body (no Content-Length) over 1 MiB MUST be refused with 413
    `request_entity_too_large` as soon as it passes the bound, creating no user: a bound read from
    the Content-Length header alone is one the client turns off.

    When "Olive" signs up with a new email and a password in a chunked body of 2 MiB
    Then the request is refused with 413 "request_entity_too_large"
    And "Olive"'s password is refused with 400 "invalid_credentials"
    And the target still answers "GET /settings" with 200

  @CORE-047 @should
  Scenario: Oversized user metadata at anonymous sign-in is refused
    An anonymous sign-in whose `data` is 64 KiB of JSON SHOULD be refused with 400
    `validation_failed` (guestpass bounds metadata at 16 KiB): anyone may sign in anonymously, and
    every access token and session answer repeats the metadata. GoTrue accepts it up to its 1 MiB
    body bound, hence SHOULD.

    Given the target also claims the "anonymous" capability
    When a visitor signs in anonymously with 64 KiB of user metadata
    Then the request is refused with 400 "validation_failed"
    And the target still answers "GET /settings" with 200

  @CORE-048 @should
  Scenario: Oversized user metadata at sign-up is refused and creates no user
    An email sign-up whose `data` is 64 KiB of JSON SHOULD be refused with 400 `validation_failed`
    before the user is written (GoTrue has no metadata bound below its 1 MiB body bound, hence
    SHOULD).

    When "Olive" signs up with a new email, a password and 64 KiB of user metadata
    Then the request is refused with 400 "validation_failed"
    And "Olive"'s password is refused with 400 "invalid_credentials"

  @CORE-049 @should
  Scenario: Oversized user metadata at PUT /user is refused and changes nothing
    PUT /user whose `data` is 64 KiB of JSON SHOULD be refused with 400 `validation_failed`, and
    nothing the request carried is applied: neither the metadata nor the new password beside it
    (GoTrue has no metadata bound below its 1 MiB body bound, hence SHOULD).

    Given a registered user "Dana" who has signed in
    And "Dana" has set their user metadata to
      """
      {"theme": "dark"}
      """
    When "Dana" sends "PUT /user" with a new password and 64 KiB of user metadata
    Then the request is refused with 400 "validation_failed"
    And "Dana"'s user metadata is the earlier one updated with
      """
      {}
      """
    And "Dana"'s password is unchanged
