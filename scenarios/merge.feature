@merge
Feature: Merging an anonymous user into an existing account
  A visitor contributes while anonymous, then signs in to an account they already have. The
  sign-in request carries the anonymous session's refresh token as `anonymous_refresh_token`: that
  is both the proof of possession and the consent. In one transaction the account receives every
  row the anonymous user owned and the metadata keys it lacks, and the anonymous user is deleted
  with its sessions. Credentials never move. A merge that cannot happen never blocks the sign-in
  and never moves anything; `anonymous_merge` in the session response says what happened.

  @MERGE-001 @must
  Scenario: Signing in with the anonymous refresh token moves the rows to the account
    A sign-in carrying a live anonymous refresh token MUST answer a session with
    `anonymous_merge.status` "merged" and the anonymous user's id; every row the anonymous user
    owned MUST then belong to the account.

    Given a registered user "Dana"
    And a visitor "Ann" signed in anonymously
    And "Ann" has contributed 3 items
    When "Dana" signs in with their password carrying the anonymous refresh token of "Ann"
    Then the response status is 200
    And the response is a session
    And the response JSON field "anonymous_merge.status" is "merged"
    And the merge came from "Ann" and moved 3 items
    And "Dana" owns exactly 3 items

  @MERGE-002 @must
  Scenario: The merged anonymous user's session is gone (fixation guard)
    After a merge the anonymous user's access token MUST be refused with 403 `session_not_found`
    and its refresh token MUST be refused, so the old anonymous session cannot be replayed.

    Given a registered user "Dana"
    And a visitor "Ann" signed in anonymously
    And "Ann" has contributed 1 item
    When "Dana" signs in with their password carrying the anonymous refresh token of "Ann"
    Then the response JSON field "anonymous_merge.status" is "merged"
    And "Ann"'s access token is refused with 403 "session_not_found"
    And "Ann"'s refresh token is refused with 400 "refresh_token_not_found"

  @MERGE-003 @must
  Scenario: Without the token, signing in leaves the anonymous user alone
    A sign-in that carries no anonymous refresh token MUST NOT touch any anonymous user: its rows and
    its session stay as they were, and the response carries no merge outcome.

    Given a registered user "Dana"
    And a visitor "Ann" signed in anonymously
    And "Ann" has contributed 2 items
    When "Dana" signs in with their password
    Then the response status is 200
    And the response has no "anonymous_merge"
    And "Ann" owns exactly 2 items
    And "Dana" owns exactly 0 items
    And "Ann"'s access token works

  @MERGE-004 @must
  Scenario: Metadata keys only the anonymous user had are copied; the account's own values win
    A merge MUST copy into the account's user_metadata the keys it lacks and MUST keep the account's
    value where both have a key.

    Given a registered user "Dana" who has signed in
    And "Dana" has set their user metadata to
      """
      {"theme": "dark", "locale": "fr"}
      """
    And a visitor "Ann" signed in anonymously with data
      """
      {"theme": "light", "dog": "Bentley"}
      """
    When "Dana" signs in with their password carrying the anonymous refresh token of "Ann"
    Then the response JSON field "anonymous_merge.status" is "merged"
    And "Dana"'s user metadata is
      """
      {"theme": "dark", "locale": "fr", "dog": "Bentley"}
      """

  @MERGE-005 @must
  Scenario: A permanent user's refresh token is refused as a merge source
    A sign-in carrying the refresh token of a permanent user MUST still sign in, report
    `anonymous_merge.status` "rejected", and move nothing: a permanent account is never merged.

    Given a registered user "Dana"
    And a registered user "Eve" who has signed in
    And "Eve" has contributed 2 items
    When "Dana" signs in with their password carrying the refresh token of "Eve"
    Then the response status is 200
    And the response is a session
    And the response JSON field "anonymous_merge.status" is "rejected"
    And "Eve" owns exactly 2 items
    And "Dana" owns exactly 0 items
    And "Eve"'s access token works

  @MERGE-006 @must
  Scenario: An unknown token is refused as a merge source
    A sign-in carrying an anonymous refresh token the server never issued MUST still sign in and
    report `anonymous_merge.status` "rejected".

    Given a registered user "Dana"
    When "Dana" signs in with their password carrying the anonymous refresh token "guestpass-never-issued"
    Then the response status is 200
    And the response is a session
    And the response JSON field "anonymous_merge.status" is "rejected"

  @MERGE-007 @must
  Scenario: A rotated anonymous refresh token is refused as a merge source
    A refresh token that was already rotated is no longer proof of possession: the sign-in MUST
    succeed with `anonymous_merge.status` "rejected", and the anonymous user keeps its rows and its
    current session.

    Given a registered user "Dana"
    And a visitor "Ann" signed in anonymously
    And "Ann" has contributed 2 items
    And "Ann" has refreshed their session
    When "Dana" signs in with their password carrying the previous anonymous refresh token of "Ann"
    Then the response status is 200
    And the response JSON field "anonymous_merge.status" is "rejected"
    And "Ann" owns exactly 2 items
    And "Ann"'s access token works

  @MERGE-008 @must
  Scenario: A merge token works once
    Replaying an anonymous refresh token that a merge already consumed MUST sign in with
    `anonymous_merge.status` "rejected" and move nothing a second time.

    Given a registered user "Dana"
    And a registered user "Eve"
    And a visitor "Ann" signed in anonymously
    And "Ann" has contributed 2 items
    And "Dana" has signed in carrying the anonymous refresh token of "Ann"
    When "Eve" signs in with their password carrying the anonymous refresh token of "Ann"
    Then the response status is 200
    And the response JSON field "anonymous_merge.status" is "rejected"
    And "Dana" owns exactly 2 items
    And "Eve" owns exactly 0 items

  @MERGE-009 @must
  Scenario: The signed-in user's own token is refused as a merge source
    A sign-in carrying a refresh token of the very user signing in MUST succeed with
    `anonymous_merge.status` "rejected" and leave that user's rows and sessions alone.

    Given a registered user "Dana" who is signed in on "laptop" and on "phone"
    And "Dana" on "laptop" has contributed 2 items
    When "Dana" signs in with their password carrying their refresh token from "laptop"
    Then the response status is 200
    And the response JSON field "anonymous_merge.status" is "rejected"
    And "Dana" owns exactly 2 items
    And "Dana"'s access token on "laptop" works

  @MERGE-010 @must
  Scenario: Concurrent merges of one anonymous user into several accounts never split its rows
    Sign-ins into different accounts carrying the same anonymous refresh token at the same moment
    MUST give every row to exactly one of them: one reports "merged", the others move nothing. The
    race is run several times, each with a new anonymous contributor, to expose unsafe merges.

    Given 4 registered users "Racer"
    When the 4 "Racer" users race 5 times to merge a new anonymous contributor owning 3 items
    Then every sign-in succeeded
    And in every race exactly one racer reported "merged" and received all 3 items

  @MERGE-011 @must
  Scenario: The anonymous user's credentials do not travel with the merge
    After a merge, the anonymous user's access token MUST NOT act on the account: the data API
    refuses it, and its refresh token does not yield a session.

    Given a registered user "Dana"
    And a visitor "Ann" signed in anonymously
    And "Ann" has contributed 1 item
    When "Dana" signs in with their password carrying the anonymous refresh token of "Ann"
    Then the response JSON field "anonymous_merge.status" is "merged"
    And "Ann"'s access token is refused by the data endpoint "GET /items" with 403 "session_not_found"
    And "Ann"'s refresh token is refused with 400 "refresh_token_not_found"

  @MERGE-012 @must
  Scenario: Naming an anonymous user's id is not proof of possession
    A sign-in that names an anonymous user by id, without that user's live refresh token, MUST NOT
    merge it: the anonymous user keeps its rows and its session.

    Given a registered user "Dana"
    And a visitor "Ann" signed in anonymously
    And "Ann" has contributed 2 items
    When "Dana" signs in with their password naming the user id of "Ann" as the merge source
    Then the response status is 200
    And the response JSON field "anonymous_merge.status" is "rejected"
    And "Ann" owns exactly 2 items
    And "Ann"'s access token works

  @MERGE-013 @must
  Scenario: A sign-in with an ID token merges like every other sign-in
    POST /token?grant_type=id_token carrying a live anonymous refresh token MUST merge the anonymous
    user into the signed-in account, as the password grant does.

    Given the target claims the "merge" and "id-token" capabilities
    And a visitor "Ann" signed in anonymously
    And "Ann" has contributed 2 items
    And "Pat" holds an ID token from the OpenID provider
    When "Pat" signs in with the ID token and its nonce carrying the anonymous refresh token of "Ann"
    Then the response is a session
    And the response JSON field "anonymous_merge.status" is "merged"
    And the merge came from "Ann" and moved 2 items
    And "Pat" owns exactly 2 items
