@rate-limits
Feature: Rate limits
  Limits answer 429 with the code `over_request_rate_limit`, counted per client as the server
  identifies it (the configured forwarding header, else the address).

  @RATE-001 @must
  Scenario: Anonymous sign-ins beyond the per-client limit are refused
    Once one client has used its anonymous sign-ins for the window, the next MUST be answered 429
    with code `over_request_rate_limit`.

    Given the target's anonymous sign-in limit per client is known
    When one client makes one anonymous sign-in more than the limit allows
    Then the request is refused with 429 "over_request_rate_limit"

  @RATE-002 @must
  Scenario: One client's limit does not stop another client
    After one client reaches the anonymous sign-in limit, a different client MUST still be able to
    sign in anonymously.

    Given the target's anonymous sign-in limit per client is known
    And one client has used up its anonymous sign-ins
    When another client signs in anonymously
    Then the response status is 200
    And the response is a session
