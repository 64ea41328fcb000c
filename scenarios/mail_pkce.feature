@mail-pkce
Feature: Mailed links asked for with PKCE
  Server-rendered apps (`@supabase/ssr`) run the clients with `flowType: "pkce"`: a signup, a magic
  link (POST /otp), a recovery (POST /recover) and an email change (PUT /user, also the anonymous
  user who adds an email) carry `code_challenge` and `code_challenge_method`. The mailed link then
  redirects to the site with `?code=` and never with a session, and the app exchanges that code at
  POST /token?grant_type=pkce with its `code_verifier` (GoTrue's verify.go, pkce.go and the pkce
  grant of token.go). The mail is read from the suite's capture SMTP server; the flows that need
  confirmation by mail (signup, email change) run on a target that confirms addresses by mail. The
  flow-expiry scenario runs when `[mail] flow_ttl` is at most 30 seconds.

  @MPKCE-001 @must
  Scenario Outline: A link asked for with PKCE redirects with a code, and the code buys one session
    Opening a mailed link whose request carried an S256 `code_challenge` MUST redirect to the site
    with `code` in the query and no session anywhere in the URL; POST /token?grant_type=pkce with
    that `auth_code` and the `code_verifier` MUST answer a session of the user the mail went to, with
    the flow's authentication method among the amr methods; exchanging the code again MUST answer
    404 `flow_state_not_found`.

    When "Dana" asks for a <flow> mail with PKCE and opens its link
    Then the link redirects to the site with an auth code and no session
    When "Dana" exchanges the auth code of the link with their code verifier
    Then the response is a session
    And the session's user id is the user id of "Dana"
    And the access token's amr methods include "<method>"
    When "Dana" exchanges the auth code of the link with their code verifier again
    Then the request is refused with 404 "flow_state_not_found"

    Examples:
      | flow                 | method       |
      | signup confirmation  | email/signup |
      | magic link           | magiclink    |
      | recovery             | recovery     |
      | email change         | email_change |
      | anonymous conversion | email_change |

  @MPKCE-002 @must
  Scenario Outline: The code of a PKCE link is refused with a wrong code verifier
    POST /token?grant_type=pkce with the `auth_code` of an opened PKCE link and a `code_verifier`
    that does not match the request's challenge MUST answer 400 `bad_code_verifier` (whether that
    failure also uses the code up is the server's choice).

    When "Dana" asks for a <flow> mail with PKCE and opens its link
    And "Dana" exchanges the auth code of the link with a wrong code verifier
    Then the request is refused with 400 "bad_code_verifier"

    Examples:
      | flow                 |
      | signup confirmation  |
      | magic link           |
      | recovery             |
      | email change         |
      | anonymous conversion |

  @MPKCE-003 @must
  Scenario Outline: The code of a PKCE link is refused once the flow has expired
    Exchanging the `auth_code` of an opened PKCE link once the flow's lifetime has passed since the
    link was opened MUST answer 422 `flow_state_expired`.

    Given the target's PKCE flows expire within 30 seconds
    When "Dana" asks for a <flow> mail with PKCE and opens its link
    And the PKCE flow's lifetime has passed
    And "Dana" exchanges the auth code of the link with their code verifier
    Then the request is refused with 422 "flow_state_expired"

    Examples:
      | flow                 |
      | signup confirmation  |
      | magic link           |
      | recovery             |
      | email change         |
      | anonymous conversion |

  @MPKCE-004 @must
  Scenario: An anonymous user converted through a PKCE email change keeps its id and rows
    An anonymous user who adds an email with a `code_challenge`, opens the mailed link and exchanges
    its code MUST get a session of the SAME user id, now permanent with that email, and MUST still
    own the rows it contributed while anonymous.

    Given a target that confirms email addresses by mail, with its data API
    And a visitor "Ann" signed in anonymously
    And "Ann" has contributed 2 items
    When "Ann" adds a new email address with PKCE and opens the mailed link
    Then the link redirects to the site with an auth code and no session
    When "Ann" exchanges the auth code of the link with their code verifier
    Then the response is a session
    And the session's user id is the user id of "Ann"
    And the session's user is permanent with the email of "Ann"
    And "Ann" owns exactly 2 items

  @MPKCE-005 @must
  Scenario: The exchange of a PKCE link runs the merge step
    POST /token?grant_type=pkce for the code of a magic link MUST accept `anonymous_refresh_token`
    and run the merge step: the session is the mail's user, `anonymous_merge.status` is "merged", and
    the anonymous user's rows belong to that user.

    Given the target claims the "merge" and "owned-data" capabilities
    And a visitor "Ann" signed in anonymously
    And "Ann" has contributed 2 items
    When "Dana" asks for a magic link mail with PKCE and opens its link
    And "Dana" exchanges the auth code of the link carrying the anonymous refresh token of "Ann"
    Then the response status is 200
    And the response JSON field "anonymous_merge.status" is "merged"
    And the merge came from "Ann" and moved 2 items
    And the session's user id is the user id of "Dana"
    And "Dana" owns exactly 2 items

  @MPKCE-006 @must
  Scenario Outline: The code or token_hash of a PKCE mail posted to /verify answers a session
    A mail asked for with PKCE still works where the client types its code or posts its link's
    `token_hash` (supabase-js `verifyOtp`, the server-side confirmation route of `@supabase/ssr`):
    POST /verify MUST answer a session of the mail's user, as it does without PKCE (GoTrue's
    verifyPost issues the session whatever the flow).

    Given a registered user "Dana"
    When "Dana" asks for a recovery mail with PKCE
    And "Dana" posts the <form> to /verify
    Then the response is a session
    And the session's user id is the user id of "Dana"

    Examples:
      | form                              |
      | code of the PKCE mail             |
      | token_hash of the PKCE mail's link |

  @MPKCE-007 @must
  Scenario Outline: A code_challenge without its method is refused
    A mail request that carries `code_challenge` without `code_challenge_method` MUST be refused with
    400 `validation_failed` (GoTrue's validatePKCEParams), before anything is done.

    When a client asks for a <kind> mail with a code_challenge and no code_challenge_method
    Then the request is refused with 400 "validation_failed"

    Examples:
      | kind     |
      | signup   |
      | sign-in  |
      | recovery |

  @MPKCE-008 @should
  Scenario: A plain code challenge is refused
    A mail request whose `code_challenge_method` is "plain" SHOULD be refused with 400
    `validation_failed`: with plain the challenge is the verifier itself, so whoever sees the request
    can exchange the code (OAuth 2.1 and RFC 9700 2.1.1 ask for S256). GoTrue accepts plain.

    When a client asks for a recovery mail with the code_challenge_method "plain"
    Then the request is refused with 400 "validation_failed"
