@admin
Feature: Admin API for setup
  The service-role admin API that the suite uses to create users. It is for the service role
  only; any other caller is refused with 403 `not_admin`.

  @ADMIN-001 @must
  Scenario: The service role creates a confirmed user who can sign in
    POST /admin/users with the service-role key, an email, a password and `email_confirm: true`
    MUST answer 200 with the user, who can then sign in with that password.

    When the service role creates the confirmed user "Dana"
    Then the response status is 200
    And the response JSON field "email_confirmed_at" is a non-empty string
    When "Dana" signs in with their password
    Then the response status is 200

  @ADMIN-002 @must
  Scenario: The anon key cannot use the admin API
    POST /admin/users with the anon key as bearer token MUST answer 403 `not_admin`.

    When the anon key is used to create a user through the admin API
    Then the request is refused with 403 "not_admin"

  @ADMIN-003 @must
  Scenario: A signed-in user cannot use the admin API
    POST /admin/users with a user's own access token MUST answer 403 `not_admin`.

    Given a registered user "Dana" who has signed in
    When "Dana" sends "POST /admin/users" with JSON
      """
      {"email": "intruder@guestpass.test", "password": "intruder-password"}
      """
    Then the request is refused with 403 "not_admin"

  @ADMIN-004 @must
  Scenario: The service role deletes a user
    DELETE /admin/users/{id} with the service-role key MUST answer 200, and the user's sessions MUST
    be refused afterwards.

    Given a registered user "Dana" who has signed in
    When the service role deletes the user "Dana"
    Then the response status is 200
    And "Dana"'s access token is refused with 403 "session_not_found" or "user_not_found"

  @ADMIN-005 @must
  Scenario: A signed-in user cannot delete users through the admin API
    DELETE /admin/users/{id} with a user's own access token MUST answer 403 `not_admin` and delete
    nobody.

    Given a registered user "Dana" who has signed in
    And a registered user "Eve" who has signed in
    When "Eve" deletes the user "Dana" through the admin API
    Then the request is refused with 403 "not_admin"
    And "Dana"'s access token works
