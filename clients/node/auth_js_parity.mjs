// Drives a guestpass server through the official JavaScript auth client, @supabase/auth-js, unmodified,
// over the ten calls that client makes and a Supabase Auth server answers: admin calls with a standard
// service key, resend, reauthenticate with a nonce for a password change, generateLink for email
// changes, signInWithIdToken, the admin API (users, invitations, a user's factors), a connection kept
// alive across a pause, identity_data.email_verified, manual identity linking and the settings fields,
// and a security notice.
//
// The server must confirm addresses by mail, require reauthentication for password changes, send
// security notices, sign in through --provider, and mail to a capture server that writes each message
// to --mail-spool as JSON (guestpass.fixtures.mail.MailCapture(spool=...) does):
//
//   node auth_js_parity.mjs --base-url http://127.0.0.1:9999/auth/v1 --anon-key eyJ... \
//     --service-key eyJ... --mail-spool /tmp/mail --provider keycloak --id-token eyJ... --nonce RAW
//
// Prints one line per item and exits non-zero if any failed.

import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'

import { GoTrueClient } from '@supabase/auth-js'

const PASSWORD = 'correct-horse-1'
const MAIL_WAIT_MS = 10_000
const KEEP_ALIVE_PAUSE_MS = 6_000 // longer than uvicorn's default idle timeout of 5 s
const CODE = /(?<![\w/=&#-])(\d{6,10})(?![\w/=&-])/
const LINK = /https?:\/\/[^\s"'<>]+/g
const OPTIONS = ['base-url', 'anon-key', 'service-key', 'mail-spool', 'provider', 'id-token', 'nonce']

function options() {
  const { values } = parseArgs({ options: Object.fromEntries(OPTIONS.map((name) => [name, { type: 'string' }])) })
  const missing = OPTIONS.filter((name) => !values[name])
  if (missing.length) {
    console.error(`usage: node auth_js_parity.mjs ${OPTIONS.map((name) => `--${name} ...`).join(' ')}`)
    process.exit(2)
  }
  return values
}

const args = options()

function client(key) {
  const headers = key ? { apikey: key, Authorization: `Bearer ${key}` } : { apikey: args['anon-key'] }
  return new GoTrueClient({
    url: args['base-url'],
    headers,
    persistSession: !key,
    autoRefreshToken: false,
    detectSessionInUrl: false,
    storageKey: `parity-${randomUUID()}`,
  })
}

const admin = () => client(args['service-key']).admin

// auth-js answers { data, error } instead of throwing: make an error fail the item.
function unwrap({ data, error }) {
  assert.ifError(error)
  return data
}

const address = (label) => `js-${label}-${randomUUID().slice(0, 10)}@guestpass.test`

async function mailsTo(to, count) {
  const deadline = Date.now() + MAIL_WAIT_MS
  for (;;) {
    const found = readdirSync(args['mail-spool'])
      .filter((name) => name.endsWith('.json'))
      .sort()
      .map((name) => JSON.parse(readFileSync(join(args['mail-spool'], name), 'utf8')))
      .filter((mail) => mail.recipients.includes(to.toLowerCase()))
    if (found.length >= count) return found
    assert.ok(Date.now() < deadline, `${found.length} mail(s) reached ${to}, expected ${count}`)
    await sleep(50)
  }
}

const codeOf = (mail) => mail.text.replace(LINK, ' ').match(CODE)?.[1]

async function confirmedUser(label) {
  const email = address(label)
  const { user } = unwrap(await admin().createUser({ email, password: PASSWORD, email_confirm: true }))
  return { email, id: user.id }
}

async function signedIn(email, password = PASSWORD) {
  const auth = client()
  unwrap(await auth.signInWithPassword({ email, password }))
  return auth
}

const state = {}

const ITEMS = [
  ['1 admin keys', async () => {
    const { users } = unwrap(await admin().listUsers({ page: 1, perPage: 1 }))
    assert.ok(Array.isArray(users))
    return 'a standard service key (no exp) lists users'
  }],
  ['2 resend', async () => {
    const email = address('resend')
    unwrap(await client().signUp({ email, password: PASSWORD }))
    await mailsTo(email, 1)
    await sleep(1100) // the send interval of the test profile
    unwrap(await client().resend({ type: 'signup', email }))
    assert.ok(codeOf((await mailsTo(email, 2)).at(-1)), 'the resent confirmation carries no code')
    return 'a confirmation mailed again'
  }],
  ['3 reauthenticate', async () => {
    const { email } = await confirmedUser('reauth')
    const auth = await signedIn(email)
    const refused = await auth.updateUser({ password: 'another-password-1' })
    assert.equal(refused.error?.code, 'reauthentication_needed')
    unwrap(await auth.reauthenticate())
    const nonce = codeOf((await mailsTo(email, 1)).at(-1))
    assert.ok(nonce, 'the reauthentication mail carries no code')
    unwrap(await auth.updateUser({ password: 'another-password-1', nonce }))
    await signedIn(email, 'another-password-1')
    state.noticeAddress = email
    return 'the mailed nonce changes the password'
  }],
  ['4 generateLink email change', async () => {
    const { email } = await confirmedUser('link')
    for (const type of ['email_change_current', 'email_change_new']) {
      const { properties } = unwrap(await admin().generateLink({ type, email, newEmail: address('new') }))
      assert.equal(properties.verification_type, type)
    }
    return 'email_change_current and email_change_new echoed'
  }],
  ['5 signInWithIdToken', async () => {
    const credentials = { provider: args.provider, token: args['id-token'], nonce: args.nonce }
    const { user, session } = unwrap(await client().signInWithIdToken(credentials))
    assert.ok(session?.access_token)
    assert.ok(user.identities.some((identity) => identity.provider === args.provider))
    return 'signInWithIdToken gives a session'
  }],
  ['6 admin API', async () => {
    const api = admin()
    const { email, id } = await confirmedUser('admin')
    assert.equal(unwrap(await api.getUserById(id)).user.email, email)
    const { user } = unwrap(await api.updateUserById(id, { app_metadata: { plan: 'pro' }, ban_duration: 'none' }))
    assert.equal(user.app_metadata.plan, 'pro')
    const auth = await signedIn(email)
    const factor = unwrap(await auth.mfa.enroll({ factorType: 'totp', friendlyName: 'phone' }))
    assert.deepEqual(unwrap(await api.mfa.listFactors({ userId: id })).factors.map((f) => f.id), [factor.id])
    unwrap(await api.mfa.deleteFactor({ id: factor.id, userId: id }))
    assert.deepEqual(unwrap(await api.mfa.listFactors({ userId: id })).factors, [])
    const invited = address('invited')
    const invitation = unwrap(await api.inviteUserByEmail(invited)).user
    assert.ok(invitation.invited_at, 'the invited user has no invited_at')
    await mailsTo(invited, 1)
    unwrap(await api.deleteUser(invitation.id))
    assert.equal((await api.getUserById(invitation.id)).error?.status, 404)
    return 'get, update, factors, invite and delete'
  }],
  ['7 keep-alive', async () => {
    const { email } = await confirmedUser('idle')
    const auth = await signedIn(email)
    unwrap(await auth.getUser())
    await sleep(KEEP_ALIVE_PAUSE_MS)
    assert.equal(unwrap(await auth.getUser()).user.email, email)
    return `a call after ${KEEP_ALIVE_PAUSE_MS / 1000} s idle`
  }],
  ['8 email_verified', async () => {
    const { user, session } = unwrap(await client().signUp({ email: address('verified'), password: PASSWORD }))
    assert.equal(session, null, 'a sign-up that needs confirmation answered a session')
    assert.equal(user.identities[0]?.identity_data?.email_verified, false)
    return 'false until the address is confirmed'
  }],
  ['9 manual linking and settings', async () => {
    const { email } = await confirmedUser('linking')
    const auth = await signedIn(email)
    const { url } = unwrap(await auth.linkIdentity({ provider: args.provider, options: { skipBrowserRedirect: true } }))
    assert.match(url, /^https?:\/\//)
    const settings = await (await fetch(`${args['base-url']}/settings`, { headers: { apikey: args['anon-key'] } })).json()
    for (const key of ['passkeys_enabled', 'saml_private_key_next_configured']) assert.ok(key in settings, `/settings lacks ${key}`)
    return 'linkIdentity answers a URL; /settings has GoTrue\'s fields'
  }],
  ['10 security notice', async () => {
    assert.ok(state.noticeAddress, 'the reauthentication item did not change a password')
    const notices = (await mailsTo(state.noticeAddress, 2))
      .filter((mail) => `${mail.subject}${mail.text}`.toLowerCase().includes('password') && !codeOf(mail))
    assert.ok(notices.length, 'no password notice without a code')
    return 'the password change is notified'
  }],
]

let failed = 0
for (const [name, item] of ITEMS) {
  try {
    console.log(`ok    ${name}: ${await item()}`)
  } catch (error) {
    failed += 1
    console.log(`FAIL  ${name}: ${error.message}`)
    console.error(error)
  }
}
console.log(failed ? `${failed} of ${ITEMS.length} items failed` : `all ${ITEMS.length} items passed`)
process.exit(failed ? 1 : 0)
