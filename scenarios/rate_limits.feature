@rate-limits
Feature: Rate limits
  Limits answer 429 with the code `over_request_rate_limit`, counted per client as the server
  identifies it: by the one forwarding header its operator trusts (the target file's [rate_limits]
  header), else by the peer address. Every other forwarding header is the client's own claim.

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

  @RATE-003 @must
  Scenario: Made-up forwarding headers do not reset the anonymous sign-in limit
    A limit that anyone can reset is no limit. Forwarding headers the server does not trust
    (X-Forwarded-For, X-Real-IP, Forwarded, CF-Connecting-IP, True-Client-IP and Sb-Forwarded-For,
    except the one the target file names) MUST NOT choose the client's rate-limit key: sign-ins that
    carry a new made-up address in each of them on every request, while the trusted header keeps
    one value, MUST still be refused with 429 `over_request_rate_limit` past the limit (GoTrue keys
    by GOTRUE_RATE_LIMIT_HEADER alone, which is empty by default).

    Given the target's anonymous sign-in limit per client is known
    When one client makes one anonymous sign-in more than the limit allows, with made-up untrusted forwarding headers
    Then the request is refused with 429 "over_request_rate_limit"
