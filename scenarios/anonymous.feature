@anonymous
Feature: Anonymous sign-in and in-place conversion
  A visitor gets a real but anonymous account the moment they do something worth keeping, and
  later makes it permanent without changing its id. Anonymous users are refused permanent-only
  actions with a status and a machine-readable code, so that clients know not to retry.

  @ANON-001 @must
  Scenario: Anonymous sign-in returns a session for an anonymous user
    POST /signup with neither email nor phone MUST answer 200 with a session whose user has
    `is_anonymous: true`, an empty email and phone, and an empty identities list.

    When "Ann" signs in anonymously
    Then the response status is 200
    And the response is a session
    And the session's user is anonymous

  @ANON-002 @must
  Scenario: The anonymous access token says it is anonymous
    An anonymous session's access token MUST carry `is_anonymous: true`, `aal1`, role
    `authenticated`, and amr method `anonymous`.

    When "Ann" signs in anonymously
    Then the response status is 200
    And the access token carries the full claim set
    And the access token claim "is_anonymous" is true
    And the access token claim "aal" is "aal1"
    And the access token claim "role" is "authenticated"
    And the access token's amr methods are "anonymous"

  @ANON-003 @must
  Scenario: Sign-in data becomes the anonymous user's metadata
    The `data` object of an anonymous sign-in MUST become the user's user_metadata.

    When "Ann" signs in anonymously with data
      """
      {"display_name": "Bentley's human", "dogs": 1}
      """
    Then the response status is 200
    And the response JSON field "user.user_metadata.display_name" is "Bentley's human"
    And the response JSON field "user.user_metadata.dogs" is 1

  @ANON-004 @must
  Scenario: Each anonymous sign-in creates a distinct user
    Two anonymous sign-ins MUST create two different users.

    Given a visitor "Ann" signed in anonymously
    And a visitor "Ben" signed in anonymously
    Then "Ann" and "Ben" have different user ids

  @ANON-005 @must
  Scenario: Anonymous sign-in can be switched off
    A server with anonymous sign-ins disabled MUST answer POST /signup without email or phone
    with 422 `anonymous_provider_disabled`.

    Given a variant of the target with anonymous sign-ins disabled
    When "Ann" signs in anonymously
    Then the request is refused with 422 "anonymous_provider_disabled"

  @ANON-006 @must
  Scenario: A refreshed anonymous session stays anonymous
    Refreshing an anonymous session MUST keep the same user id and `is_anonymous: true`.

    Given a visitor "Ann" signed in anonymously
    When "Ann" refreshes their session
    Then the response status is 200
    And the session belongs to "Ann"
    And the access token claim "is_anonymous" is true

  @ANON-007 @must
  Scenario: Adding an email makes the anonymous user permanent in place
    PUT /user with an email, on a server that confirms emails automatically, MUST keep the user
    id, set `is_anonymous: false`, add an `email` identity, and the next refreshed token MUST say
    `is_anonymous: false`.

    Given the target confirms email sign-ups automatically
    And a visitor "Ann" signed in anonymously
    When "Ann" sends "PUT /user" with a new email
    Then the response status is 200
    And the response is the user of "Ann"
    And the response JSON field "is_anonymous" is false
    And the response user has exactly the identities "email"
    When "Ann" refreshes their session
    Then the access token claim "is_anonymous" is false
    And the session belongs to "Ann"

  @ANON-008 @must
  Scenario: A converted user signs in with email and password as the same user
    After an anonymous user sets an email and then a password, the password grant MUST sign in
    to that same user id.

    Given the target confirms email sign-ups automatically
    And a visitor "Ann" signed in anonymously
    When "Ann" sends "PUT /user" with a new email
    And "Ann" sends "PUT /user" with a new password
    Then the response status is 200
    When "Ann" signs in with their password
    Then the response status is 200
    And the session belongs to "Ann"
    And the access token claim "is_anonymous" is false

  @ANON-009 @must
  Scenario: Converting to an email that is taken is refused and changes nothing
    PUT /user by an anonymous user with an email another user has MUST answer 422 `email_exists`,
    and the anonymous user MUST stay anonymous.

    Given the target confirms email sign-ups automatically
    And a registered user "Dana"
    And a visitor "Ann" signed in anonymously
    When "Ann" sends "PUT /user" with the email of "Dana"
    Then the request is refused with 422 "email_exists"
    And "Ann" is still anonymous

  @ANON-010 @must
  Scenario: Concurrent conversions to one email make at most one user permanent
    Two anonymous users claiming the same new email at the same moment MUST end with exactly one
    of them permanent; the other gets 422 `email_exists` and no 5xx.

    Given the target confirms email sign-ups automatically
    And a visitor "Ann" signed in anonymously
    And a visitor "Ben" signed in anonymously
    When "Ann" and "Ben" claim the same new email in parallel
    Then exactly 1 parallel response has status 200
    And every other parallel response is refused with 422 "email_exists"

  @ANON-011 @must
  Scenario: Anonymous users are refused MFA enrollment with a code
    POST /factors by an anonymous user MUST be refused with 403 and the code `no_authorization`;
    a refusal without a code sends clients into a retry loop.

    Given a visitor "Ann" signed in anonymously
    When "Ann" sends "POST /factors" with JSON
      """
      {"factor_type": "totp", "friendly_name": "phone"}
      """
    Then the request is refused with 403 "no_authorization"
