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

  @ADMIN-006 @must
  Scenario: A server-signed key whose only claim is an admin role is an admin key
    A token the server's key verifies whose role is one of the admin roles (by default
    `service_role` and `supabase_admin`) MUST be accepted by the admin API without an expiry, an
    issuer or an issue time, as Supabase's own API keys are: GET /admin/users answers 200.

    When a client lists the users with a server-signed key that carries only the role "service_role"
    Then the response status is 200

  @ADMIN-007 @must
  Scenario: The supabase_admin role from Supabase's own issuer is an admin key
    A server-signed token of role `supabase_admin` issued by "supabase-demo" (not the server's
    issuer) and without an expiry MUST be accepted by the admin API.

    When a client lists the users with a server-signed key of role "supabase_admin" from the issuer "supabase-demo"
    Then the response status is 200

  @ADMIN-008 @must
  Scenario: An expired admin key is refused
    An admin key whose `exp` has passed MUST be refused with 403 `bad_jwt`: a key need not expire,
    but one that says it has expired has.

    When a client lists the users with an expired server-signed key of role "service_role"
    Then the request is refused with 403 "bad_jwt"

  @ADMIN-009 @must
  Scenario: An admin role signed with another key is refused
    A token of role `service_role` signed by a key the server never saw MUST be refused with 403
    `bad_jwt`.

    When a client lists the users with a key of role "service_role" signed by a key the target never saw
    Then the request is refused with 403 "bad_jwt"

  @ADMIN-010 @must
  Scenario: The service role lists users a page at a time
    GET /admin/users with `page` and `per_page` MUST answer 200 with `users` holding at most
    `per_page` users, the header `X-Total-Count` with the number of matching users, and a `Link`
    header naming the next page (while there is one) and the last page; `filter` matches addresses.

    Given the service role has created 3 confirmed users whose addresses share a new tag
    When the service role lists the users with that tag, page 1 at 2 per page
    Then the response status is 200
    And the response lists 2 users with that tag
    And the response header "X-Total-Count" is "3"
    And the Link header names page 2 as "next"
    And the Link header names page 2 as "last"
    When the service role lists the users with that tag, page 2 at 2 per page
    Then the response lists 1 users with that tag
    And the Link header names no "next" page

  @ADMIN-011 @must
  Scenario: The service role reads a user by id
    GET /admin/users/{id} MUST answer 200 with the user; an id no user has MUST answer 404
    `user_not_found`.

    Given a registered user "Dana"
    When the service role reads the user "Dana"
    Then the response is the user "Dana"
    When the service role reads a user id that no user has
    Then the request is refused with 404 "user_not_found"

  @ADMIN-012 @must
  Scenario: A user deleted by the service role is gone
    After DELETE /admin/users/{id}, GET /admin/users/{id} MUST answer 404 `user_not_found` and the
    user MUST NOT be able to sign in.

    Given a registered user "Dana"
    When the service role deletes the user "Dana"
    Then the response status is 200
    When the service role reads the user "Dana"
    Then the request is refused with 404 "user_not_found"
    When "Dana" signs in with their password
    Then the request is refused with 400 "invalid_credentials"

  @ADMIN-013 @must
  Scenario: The service role sets a user's password
    PUT /admin/users/{id} with `password` MUST answer 200, and the user MUST then sign in with the new
    password.

    Given a registered user "Dana"
    When the service role sets a new password for "Dana"
    Then the response status is 200
    When "Dana" signs in with their password
    Then the response status is 200

  @ADMIN-014 @must
  Scenario: The service role merges metadata into a user
    PUT /admin/users/{id} with `user_metadata` and `app_metadata` MUST answer 200 with each merged
    key by key into what the user had: given keys are set, a null removes the key, other keys stay.

    Given a registered user "Dana"
    When the service role updates the user "Dana" with JSON
      """
      {"user_metadata": {"plan": "pro", "theme": "dark"}, "app_metadata": {"tier": "gold"}}
      """
    Then the response status is 200
    When the service role updates the user "Dana" with JSON
      """
      {"user_metadata": {"theme": null}}
      """
    Then the response status is 200
    And the response JSON field "user_metadata.plan" is "pro"
    And the response JSON field "user_metadata.theme" is missing
    And the response JSON field "app_metadata.tier" is "gold"
    And the response JSON field "app_metadata.provider" is "email"

  @ADMIN-015 @must
  Scenario: The service role confirms a user's address
    A user the service role created without `email_confirm` cannot sign in (400
    `email_not_confirmed`); PUT /admin/users/{id} with `email_confirm: true` MUST confirm the address,
    after which the user signs in.

    Given the service role has created the unconfirmed user "Dana"
    When "Dana" signs in with their password
    Then the request is refused with 400 "email_not_confirmed"
    When the service role updates the user "Dana" with JSON
      """
      {"email_confirm": true}
      """
    Then the response status is 200
    And the response JSON field "email_confirmed_at" is a non-empty string
    When "Dana" signs in with their password
    Then the response status is 200

  @ADMIN-016 @must
  Scenario: The service role changes a user's address
    PUT /admin/users/{id} with a new `email` and `email_confirm: true` MUST answer 200 with the new
    address, which the user then signs in with.

    Given a registered user "Dana"
    When the service role changes the email of "Dana" to a new confirmed address
    Then the response status is 200
    When "Dana" signs in with their password
    Then the response status is 200

  @ADMIN-017 @must
  Scenario: A banned user cannot sign in, refresh or use their token
    PUT /admin/users/{id} with `ban_duration` (a duration such as "24h") MUST answer 200 with
    `banned_until`; until then the password grant and the refresh grant MUST answer 400 `user_banned`
    and the user's access token 403 `user_banned`.

    Given a registered user "Dana" who has signed in
    When the service role bans "Dana" for "24h"
    Then the response status is 200
    And the response JSON field "banned_until" is a non-empty string
    When "Dana" signs in with their password
    Then the request is refused with 400 "user_banned"
    When "Dana" refreshes their session
    Then the request is refused with 400 "user_banned"
    When "Dana" requests "GET /user"
    Then the request is refused with 403 "user_banned"

  @ADMIN-018 @must
  Scenario: A lifted ban lets the user sign in again
    PUT /admin/users/{id} with `ban_duration: "none"` MUST lift the ban: the user signs in again.

    Given a registered user "Dana" who has signed in
    And the service role has banned "Dana" for "24h"
    When the service role lifts the ban on "Dana"
    Then the response status is 200
    When "Dana" signs in with their password
    Then the response status is 200

  @ADMIN-019 @must
  Scenario: A ban duration that is not a duration is refused
    PUT /admin/users/{id} with a `ban_duration` that is neither "none" nor a duration MUST answer 400
    `validation_failed` and change nothing: the user still signs in.

    Given a registered user "Dana"
    When the service role updates the user "Dana" with JSON
      """
      {"ban_duration": "forever", "user_metadata": {"plan": "pro"}}
      """
    Then the request is refused with 400 "validation_failed"
    When "Dana" signs in with their password
    Then the response status is 200
    And the response JSON field "user.user_metadata.plan" is missing

  @ADMIN-020 @must
  Scenario: The service role invites a new address by mail
    POST /invite with the service-role key and a new address MUST answer 200 with a user of that
    address who is not confirmed and has `invited_at`, and MUST mail the address an invitation with a
    link.

    When the service role invites a new address for "Ivy"
    Then the response status is 200
    And the response JSON field "invited_at" is a non-empty string
    And the response JSON field "email_confirmed_at" is missing
    And "Ivy" receives an invitation mail with a link

  @ADMIN-021 @must
  Scenario: Inviting a confirmed user's address is refused
    POST /invite with the address of a confirmed user MUST answer 422 `email_exists`.

    Given a registered user "Dana"
    When the service role invites the address of "Dana"
    Then the request is refused with 422 "email_exists"

  @ADMIN-022 @must
  Scenario: generate_link for an email change names the type asked for
    POST /admin/generate_link with type `email_change_current` or `email_change_new` MUST answer 200
    with `verification_type` equal to that type (supabase-py refuses any other answer).

    Given a registered user "Dana"
    When the service role generates an "email_change_current" link for "Dana" to a new address
    Then the response status is 200
    And the response JSON field "verification_type" is "email_change_current"
    When the service role generates an "email_change_new" link for "Dana" to a new address
    Then the response status is 200
    And the response JSON field "verification_type" is "email_change_new"

  @ADMIN-023 @must
  Scenario: A user's token is not an admin key
    GET /admin/users with a signed-in user's access token MUST answer 403 `not_admin`.

    Given a registered user "Dana" who has signed in
    When "Dana" requests "GET /admin/users"
    Then the request is refused with 403 "not_admin"

  @ADMIN-024 @must
  Scenario: An invited user accepts the invitation with the mailed code
    POST /verify with type `invite`, the invited address and the code of the invitation mail MUST
    answer a session of the invited user (the same user id), whose address is then confirmed.

    Given the service role has invited a new address for "Ivy"
    And "Ivy" has received the invitation mail
    When "Ivy" verifies the invitation code from the mail with type "invite"
    Then the response is a session
    And the session's user id is the user id of "Ivy"
    And the session's user has a confirmed email

  @ADMIN-025 @must
  Scenario: An invited user accepts the invitation by opening the mailed link
    GET on the invitation mail's link MUST redirect (303) with a session of the invited user in the
    fragment.

    Given the service role has invited a new address for "Ivy"
    And "Ivy" has received the invitation mail
    When "Ivy" opens the link from the mail
    Then the response redirects with a session of "Ivy" in the fragment

  @ADMIN-026 @must
  Scenario: An invitation code works once
    The invitation code MUST sign in once: a second POST /verify with it MUST be refused with 403
    `otp_expired`.

    Given the service role has invited a new address for "Ivy"
    And "Ivy" has received the invitation mail
    When "Ivy" verifies the invitation code from the mail with type "invite"
    Then the response is a session
    When "Ivy" verifies the invitation code from the mail with type "invite"
    Then the request is refused with 403 "otp_expired"

  @ADMIN-027 @must
  Scenario: generate_link with type invite hands out an invitation that can be accepted
    POST /admin/generate_link with type `invite` and a new address MUST answer 200 in GoTrue's shape
    (the user, invited and not confirmed, with `action_link` to /verify of type invite, `email_otp`,
    `hashed_token` and `verification_type: "invite"`); its code then MUST sign the user in with type
    `invite`, confirming the address.

    When the service role generates an invite link for a new address for "Ivy"
    Then the response is an invite link for "Ivy" in GoTrue's shape
    When "Ivy" verifies the invitation code from the mail with type "invite"
    Then the response is a session
    And the session's user id is the user id of "Ivy"
    And the session's user has a confirmed email

  @ADMIN-028 @must
  Scenario: generate_link does not invite a confirmed user's address
    POST /admin/generate_link with type `invite` and the address of a confirmed user MUST answer 422
    `email_exists`.

    Given a registered user "Dana"
    When the service role generates an invite link for the address of "Dana"
    Then the request is refused with 422 "email_exists"

  @ADMIN-029 @should
  Scenario: An invitation code is accepted with type signup too
    POST /verify with type `signup` and the invitation code SHOULD sign the invited user in, as
    GoTrue's does (an invitation confirms an address as a signup confirmation does, and GoTrue keeps
    both in one place); a client that treats an invitation as a signup then still works.

    Given the service role has invited a new address for "Ivy"
    And "Ivy" has received the invitation mail
    When "Ivy" verifies the invitation code from the mail with type "signup"
    Then the response is a session
    And the session's user id is the user id of "Ivy"
