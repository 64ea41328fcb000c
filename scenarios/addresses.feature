@core
Feature: One account per mailbox, and passwords that cannot be guessed
  A mailbox can be spelled several ways: a domain in Unicode or in punycode, a local part with
  composed or decomposed accents. Each spelling must reach the one account of the mailbox, never a
  second one, or the owner of the mailbox ends up with two accounts and a squatter with one of them.
  Sign-in secrets a client can try are limited per client.

  @CORE-060 @must
  Scenario: A domain in punycode and in Unicode is one mailbox
    A domain in punycode and the same domain in Unicode are one domain (RFC 5890 §2.3.2.1: an
    A-label and its U-label are the same label). Once the punycode spelling is registered, signing up
    the Unicode spelling MUST NOT create a second account: it MUST be refused with 422
    `user_already_exists`, or with 400 `validation_failed` by a server that takes only ASCII addresses
    (GoTrue).

    Given the target confirms email sign-ups automatically
    When "Dana" signs up with a new address whose domain is written in punycode
    Then the response status is 200
    When "Eve" signs up with the address of "Dana" written in Unicode
    Then at most one of the sign-ups succeeded and the others were refused with 422 "user_already_exists" or 400 "validation_failed"

  @CORE-061 @must
  Scenario: A local part composed and decomposed is one mailbox
    A local part with composed accents (NFC) and the same local part decomposed (NFD) are one
    mailbox (RFC 6532 §3.1 keeps addresses in NFC). Signing up both spellings MUST NOT create two
    accounts: one of them MUST be refused with 422 `user_already_exists`, or with 400
    `validation_failed` by a server that takes only ASCII addresses (GoTrue).

    Given the target confirms email sign-ups automatically
    When "Dana" signs up with a new address whose local part is composed
    And "Eve" signs up with the address of "Dana" written decomposed
    Then at most one of the sign-ups succeeded and the others were refused with 422 "user_already_exists" or 400 "validation_failed"

  @CORE-062 @should
  Scenario: Either spelling of an internationalised domain reaches the one account
    A server SHOULD take an address whose domain is in Unicode and keep it in one spelling (IDNA
    2008 with the UTS 46 mapping, lowercase punycode), so that a user reaches their account however
    they type the domain: signing up the punycode spelling of a registered Unicode address is then
    refused with 422 `user_already_exists`, and the password grant works with both spellings.
    GoTrue refuses every address that is not ASCII (400 `validation_failed`): safe, but it shuts
    internationalised addresses out, which is why this is a SHOULD.

    Given the target confirms email sign-ups automatically
    When "Dana" signs up with a new address whose domain is written in Unicode
    Then the response status is 200
    When "Eve" signs up with the address of "Dana" written in punycode
    Then the request is refused with 422 "user_already_exists"
    And "Dana" can sign in with their address written in punycode
    And "Dana" can sign in with their address written in Unicode

  @CORE-063 @should
  Scenario: Either normalisation form of a local part reaches the one account
    A server SHOULD take a local part that is not ASCII and keep it in NFC (RFC 6532 §3.1), so that
    a user reaches their account whichever form their keyboard sends: signing up the composed
    spelling of a registered decomposed address is then refused with 422 `user_already_exists`, and
    the password grant works with both spellings. GoTrue refuses every address that is not ASCII,
    which is why this is a SHOULD.

    Given the target confirms email sign-ups automatically
    When "Dana" signs up with a new address whose local part is decomposed
    Then the response status is 200
    When "Eve" signs up with the address of "Dana" written composed
    Then the request is refused with 422 "user_already_exists"
    And "Dana" can sign in with their address written composed
    And "Dana" can sign in with their address written decomposed

  @CORE-064 @must
  Scenario: Guessing a password from one client is stopped
    Wrong passwords from one client MUST be answered 400 `invalid_credentials` until the attempts the
    target allows (its [mail] verify_attempts, 30 unless it says otherwise) are used up, then 429
    `over_request_rate_limit`. GoTrue limits every /token grant per client
    (GOTRUE_RATE_LIMIT_TOKEN_REFRESH, burst 30). The guesses are sent at once: a limit counted only
    after each guess has failed lets parallel guesses through.

    Given a registered user "Dana"
    When one client sends "Dana" wrong passwords at once, one more than the target's verify attempts
    Then the wrong passwords were refused with 400 "invalid_credentials" until one got 429 "over_request_rate_limit"
