// Drives a guestpass server that confirms addresses by mail with @supabase/auth-js, unmodified, in
// `flowType: "pkce"` (what @supabase/ssr uses) with a real storage: sign-up confirmation, magic link,
// password recovery and an anonymous user's conversion by email. Each mailed link is opened as a
// browser would (the redirect is not followed: the site is not running), the `code` it redirects with
// is handed to exchangeCodeForSession, and the verifier comes from the storage.
//
//   node auth_js_pkce_check.mjs --base-url http://127.0.0.1:9999/auth/v1 --anon-key eyJ... \
//     --mailbox http://127.0.0.1:8025 [--send-interval 60]
//
// The mailbox answers GET /links?to=ADDRESS&count=N with the verify links of the first N mails to
// ADDRESS (a JSON list), waiting for them. Two mails to one address are at least the server's send
// interval (seconds) apart. Prints one line per step and exits non-zero on a failure.

import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { parseArgs } from 'node:util'

import { GoTrueClient } from '@supabase/auth-js'

const PASSWORD = 'correct-horse-1'
const NEW_PASSWORD = 'battery-staple-2'

function options() {
  const { values } = parseArgs({
    options: {
      'base-url': { type: 'string' },
      'anon-key': { type: 'string' },
      mailbox: { type: 'string' },
      'send-interval': { type: 'string', default: '0' },
    },
  })
  if (!values['base-url'] || !values['anon-key'] || !values.mailbox) {
    console.error('usage: node auth_js_pkce_check.mjs --base-url URL --anon-key KEY --mailbox URL')
    process.exit(2)
  }
  return {
    baseUrl: values['base-url'],
    anonKey: values['anon-key'],
    mailbox: values.mailbox,
    sendInterval: Number(values['send-interval']),
  }
}

// What a browser's localStorage would be: the client keeps its session and its code verifier here.
class MemoryStorage {
  constructor() {
    this.items = new Map()
  }
  getItem(key) {
    return this.items.has(key) ? this.items.get(key) : null
  }
  setItem(key, value) {
    this.items.set(key, value)
  }
  removeItem(key) {
    this.items.delete(key)
  }
}

function client({ baseUrl, anonKey }) {
  return new GoTrueClient({
    url: baseUrl,
    headers: { apikey: anonKey },
    flowType: 'pkce',
    storage: new MemoryStorage(),
    persistSession: true,
    autoRefreshToken: false,
    detectSessionInUrl: false,
  })
}

function unwrap({ data, error }) {
  assert.ifError(error)
  return data
}

const sleep = (seconds) => new Promise((resolve) => setTimeout(resolve, seconds * 1000))

async function mailedLink(mailbox, address, count) {
  const response = await fetch(`${mailbox}/links?to=${encodeURIComponent(address)}&count=${count}`)
  assert.equal(response.status, 200, `no mail ${count} reached ${address}`)
  const links = await response.json()
  assert.equal(links.length, count)
  return links[count - 1]
}

// Opens the mailed link and returns the code the site receives; no session may travel in the URL.
async function codeFromLink(link) {
  assert.match(new URL(link).searchParams.get('token'), /^pkce_/, 'the link is not a PKCE link')
  const response = await fetch(link, { redirect: 'manual' })
  assert.ok([302, 303].includes(response.status), `the link answered ${response.status}`)
  const location = new URL(response.headers.get('location'))
  const fragment = new URLSearchParams(location.hash.slice(1))
  for (const values of [location.searchParams, fragment]) {
    assert.equal(values.get('access_token'), null, 'a session travelled in the redirect')
    assert.equal(values.get('error_code'), null, `the link failed: ${values.get('error_description')}`)
  }
  const code = location.searchParams.get('code')
  assert.ok(code, `the redirect carries no code: ${location}`)
  return code
}

async function exchange(auth, link) {
  const data = unwrap(await auth.exchangeCodeForSession(await codeFromLink(link)))
  assert.ok(data.session?.access_token && data.session.refresh_token)
  return data
}

async function signUpConfirmation(auth, mailbox, email) {
  const signedUp = unwrap(await auth.signUp({ email, password: PASSWORD }))
  assert.equal(signedUp.session, null, 'the server confirms addresses by mail: no session before')
  const { user, session } = await exchange(auth, await mailedLink(mailbox, email, 1))
  assert.equal(user.id, signedUp.user.id)
  assert.ok(user.email_confirmed_at, 'the address is not confirmed')
  assert.equal(unwrap(await auth.getSession()).session.access_token, session.access_token, 'not stored')
  return `user ${user.id} confirmed`
}

async function magicLink(auth, mailbox, email, sendInterval) {
  unwrap(await auth.signOut())
  await sleep(sendInterval)
  unwrap(await auth.signInWithOtp({ email, options: { shouldCreateUser: false } }))
  const { user } = await exchange(auth, await mailedLink(mailbox, email, 2))
  assert.equal(user.email, email)
  return `signed in as ${user.id}`
}

async function recovery(auth, mailbox, email, sendInterval) {
  unwrap(await auth.signOut())
  await sleep(sendInterval)
  unwrap(await auth.resetPasswordForEmail(email))
  const data = await exchange(auth, await mailedLink(mailbox, email, 3))
  assert.equal(data.redirectType, 'recovery', 'auth-js did not see a recovery')
  unwrap(await auth.updateUser({ password: NEW_PASSWORD }))
  unwrap(await auth.signOut())
  unwrap(await auth.signInWithPassword({ email, password: NEW_PASSWORD }))
  return `password of ${data.user.id} reset`
}

async function anonymousConversion(auth, mailbox, email) {
  unwrap(await auth.signOut())
  const anonymous = unwrap(await auth.signInAnonymously()).user
  assert.equal(anonymous.is_anonymous, true)
  const pending = unwrap(await auth.updateUser({ email })).user
  assert.equal(pending.is_anonymous, true, 'the address is not confirmed yet')
  const { user } = await exchange(auth, await mailedLink(mailbox, email, 1))
  assert.equal(user.id, anonymous.id, 'the conversion made another user')
  assert.equal(user.is_anonymous, false)
  assert.equal(user.email, email)
  return `anonymous ${user.id} is now ${email}`
}

async function main() {
  const settings = options()
  const auth = client(settings)
  const email = `auth-js-pkce-${randomUUID()}@guestpass.test`
  const steps = [
    ['sign-up confirmed by a PKCE link', () => signUpConfirmation(auth, settings.mailbox, email)],
    ['magic link with PKCE', () => magicLink(auth, settings.mailbox, email, settings.sendInterval)],
    ['password recovery with PKCE', () => recovery(auth, settings.mailbox, email, settings.sendInterval)],
    [
      'anonymous conversion by a PKCE email change',
      () => anonymousConversion(auth, settings.mailbox, `auth-js-convert-${randomUUID()}@guestpass.test`),
    ],
  ]
  for (const [name, run] of steps) {
    try {
      console.log(`ok   ${name}: ${await run()}`)
    } catch (error) {
      console.log(`FAIL ${name}: ${error.stack || error}`)
      process.exit(1)
    }
  }
  console.log(`all ${steps.length} steps passed`)
}

await main()
