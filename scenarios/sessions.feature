@sessions
Feature: The caller's sessions
  A signed-in user can list their own sessions (GET /sessions) and end any one of them
  (DELETE /sessions/{id}), for example the session a CLI received. Nobody can list or end another
  user's sessions.

  @SESS-001 @must
  Scenario: A user lists their sessions and sees which one is current
    GET /sessions MUST list every session of the caller, each with its id, and mark exactly the
    calling one as current.

    Given a registered user "Dana" who is signed in on "laptop" and on "phone"
    When "Dana" on "laptop" requests "GET /sessions"
    Then the response status is 200
    And the response lists 2 sessions of "Dana", the current one being their session on "laptop"

  @SESS-002 @must
  Scenario: A user ends one of their sessions
    DELETE /sessions/{id} MUST answer 204 and end that session only.

    Given a registered user "Dana" who is signed in on "laptop" and on "phone"
    When "Dana" on "laptop" ends their session on "phone"
    Then the response status is 204
    And "Dana"'s access token on "phone" is refused with 403 "session_not_found"
    And "Dana"'s access token on "laptop" works

  @SESS-003 @must
  Scenario: Another user's session cannot be ended
    DELETE /sessions/{id} naming another user's session MUST answer 404 `session_not_found` and leave
    that session alone.

    Given a registered user "Dana" who has signed in
    And a registered user "Eve" who has signed in
    When "Eve" ends the session of "Dana"
    Then the request is refused with 404 "session_not_found"
    And "Dana"'s access token works

  @SESS-004 @must
  Scenario: Listing sessions needs a bearer token
    GET /sessions without an Authorization header MUST answer 401 `no_authorization`.

    When a client requests "GET /sessions"
    Then the request is refused with 401 "no_authorization"
