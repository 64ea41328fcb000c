// Drives a guestpass server with the official JavaScript auth client, @supabase/auth-js, unmodified:
// anonymous sign-in, sign-up, password sign-in, reauthentication, resend, refresh, TOTP MFA up to aal2,
// sign-out, and (given an ID token of a configured provider) native sign-in with that ID token.
//
//   node auth_js_check.mjs --base-url http://127.0.0.1:9999/auth/v1 --anon-key eyJ... \
//     [--provider guestpass --id-token eyJ... --nonce RAW]
//
// Prints one line per step and exits non-zero on the first failure.

import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { parseArgs } from 'node:util'

import { GoTrueClient, isAuthSessionMissingError } from '@supabase/auth-js'
import * as OTPAuth from 'otpauth'

const PASSWORD = 'correct-horse-1'

function options() {
  const { values } = parseArgs({
    options: {
      'base-url': { type: 'string' },
      'anon-key': { type: 'string' },
      provider: { type: 'string' },
      'id-token': { type: 'string' },
      nonce: { type: 'string' },
    },
  })
  if (!values['base-url'] || !values['anon-key']) {
    console.error('usage: node auth_js_check.mjs --base-url URL --anon-key KEY [--provider P --id-token T --nonce N]')
    process.exit(2)
  }
  return {
    baseUrl: values['base-url'],
    anonKey: values['anon-key'],
    idToken: values['id-token'] && { provider: values.provider, token: values['id-token'], nonce: values.nonce },
  }
}

function client({ baseUrl, anonKey }) {
  return new GoTrueClient({
    url: baseUrl,
    headers: { apikey: anonKey },
    persistSession: false,
    autoRefreshToken: false,
    detectSessionInUrl: false,
  })
}

// auth-js answers { data, error } instead of throwing: make an error fail the step.
function unwrap({ data, error }) {
  assert.ifError(error)
  return data
}

async function anonymousSignIn(auth) {
  const { user, session } = unwrap(await auth.signInAnonymously({ options: { data: { dog: 'Bentley' } } }))
  assert.ok(session?.access_token && session.refresh_token)
  assert.equal(user.is_anonymous, true)
  assert.deepEqual(user.user_metadata, { dog: 'Bentley' })
  assert.deepEqual(user.identities, [])
  return `anonymous user ${user.id}`
}

async function signUp(auth, email) {
  const { user, session } = unwrap(await auth.signUp({ email, password: PASSWORD }))
  assert.equal(user.email, email)
  assert.equal(user.is_anonymous, false)
  assert.ok(session?.access_token, 'the test profile autoconfirms, so sign-up returns a session')
  return `user ${user.id}`
}

async function passwordSignIn(auth, email) {
  const { user, session } = unwrap(await auth.signInWithPassword({ email, password: PASSWORD }))
  assert.equal(user.email, email)
  assert.equal(session.token_type, 'bearer')
  assert.deepEqual(user.identities.map(({ provider }) => provider), ['email'])
  return `session for ${user.id}`
}

async function reauthenticate(auth) {
  unwrap(await auth.reauthenticate())
  return 'a reauthentication code was mailed'
}

async function resend(auth) {
  // an address nobody registered: answered like any other, with nothing sent
  const email = `auth-js-nobody-${randomUUID().slice(0, 8)}@guestpass.test`
  unwrap(await auth.resend({ type: 'signup', email }))
  return 'resend answered'
}

async function idTokenSignIn(auth, credentials) {
  const { user, session } = unwrap(await auth.signInWithIdToken(credentials))
  assert.ok(session?.access_token && session.refresh_token)
  assert.ok(user.identities.some(({ provider }) => provider === credentials.provider))
  return `user ${user.id} (${user.email}) signed in with an ID token`
}

async function refresh(auth) {
  const { session: before } = unwrap(await auth.getSession())
  const { user, session } = unwrap(await auth.refreshSession())
  assert.equal(user.id, before.user.id)
  assert.notEqual(session.refresh_token, before.refresh_token, 'refresh tokens rotate')
  assert.ok(session.expires_at > Date.now() / 1000)
  return 'the refresh token rotated'
}

async function mfa(auth) {
  const { session } = unwrap(await auth.getSession())
  const enroll = { factorType: 'totp', friendlyName: 'phone', issuer: 'guestpass' }
  const enrolled = unwrap(await auth.mfa.enroll(enroll))
  assert.equal(enrolled.type, 'totp')
  assert.equal(enrolled.friendly_name, 'phone')
  assert.match(enrolled.totp.qr_code, /^data:image\/svg\+xml;utf-8,<svg/)
  const totp = OTPAuth.URI.parse(enrolled.totp.uri)
  assert.equal(totp.secret.base32, enrolled.totp.secret)
  assert.equal(unwrap(await auth.mfa.getAuthenticatorAssuranceLevel()).currentLevel, 'aal1')

  const challenge = unwrap(await auth.mfa.challenge({ factorId: enrolled.id }))
  assert.equal(challenge.type, 'totp')
  const code = totp.generate()
  const verified = unwrap(await auth.mfa.verify({ factorId: enrolled.id, challengeId: challenge.id, code }))
  assert.ok(verified.access_token)
  assert.equal(verified.user.id, session.user.id)

  const level = unwrap(await auth.mfa.getAuthenticatorAssuranceLevel())
  assert.equal(level.currentLevel, 'aal2')
  assert.equal(level.nextLevel, 'aal2')
  assert.ok(level.currentAuthenticationMethods.some(({ method }) => method === 'totp'))
  const factors = unwrap(await auth.mfa.listFactors())
  assert.deepEqual(factors.totp.map(({ id }) => id), [enrolled.id])
  return `factor ${enrolled.id} verified, aal2`
}

async function signOut(auth) {
  const { session } = unwrap(await auth.getSession())
  unwrap(await auth.signOut())
  assert.equal(unwrap(await auth.getSession()).session, null)
  // auth-js reports the server's 403 session_not_found as AuthSessionMissingError.
  const { error } = await auth.getUser(session.access_token)
  assert.ok(isAuthSessionMissingError(error), `expected a missing session, got ${error}`)
  const { error: refused } = await auth.refreshSession({ refresh_token: session.refresh_token })
  assert.equal(refused?.status, 400)
  assert.equal(refused.code, 'refresh_token_not_found')
  return 'the old access and refresh tokens are refused'
}

async function main() {
  const settings = options()
  const auth = client(settings)
  const email = `auth-js-${randomUUID().slice(0, 8)}@guestpass.test`
  const steps = [
    ['anonymous sign-in', () => anonymousSignIn(auth)],
    ['sign-up', () => signUp(auth, email)],
    ['password sign-in', () => passwordSignIn(auth, email)],
    ['reauthenticate', () => reauthenticate(auth)],
    ['resend', () => resend(auth)],
    ['refresh', () => refresh(auth)],
    ['mfa totp', () => mfa(auth)],
    ['sign-out', () => signOut(auth)],
  ]
  if (settings.idToken) steps.push(['id token sign-in', () => idTokenSignIn(client(settings), settings.idToken)])
  for (const [name, step] of steps) {
    try {
      console.log(`ok ${name}: ${await step()}`)
    } catch (error) {
      console.log(`FAILED ${name}`)
      console.error(error)
      process.exitCode = 1
      return
    }
  }
  console.log(`all ${steps.length} steps passed`)
}

await main()
