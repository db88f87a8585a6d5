// The pairing window: by default the pairing token is reusable (reference behaviour); with
// singleUsePairing it is replaced after each pairing, with pairingTtlMs after it expires.
// The replacement is saved to server.toml so `show-connection-string`/`qr` show it.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { AUTH } from '../../src/plugins/auth/types.js'
import { resolve } from '../../src/index.js'
import { pairingToken, tempHome } from '../helpers/server.js'
import { connectFrom, pairDevice, resume, runCli, spawnServer, processTarget, startSecureServer } from './security-support.js'
import { elapse, waitFor } from '../helpers/wait.js'

const tokenOnDisk = async (home: string): Promise<string> =>
  /pairing_token = "([^"]+)"/.exec(await readFile(join(home, 'server.toml'), 'utf8'))![1]!

t.test('default: the pairing token pairs any number of devices until regenerated', async t => {
  const { server, logs } = await startSecureServer(t)
  const token = pairingToken(server)
  for (const name of ['one', 'two', 'three']) await pairDevice(t, server, logs, name)
  t.equal(pairingToken(server), token)
  t.equal(await tokenOnDisk(server.home), token)
  logs.check(t)
})

t.test('single-use pairing: the token is replaced after one pairing, sessions stay valid', async t => {
  const { server, logs } = await startSecureServer(t, { auth: { singleUsePairing: true } })
  const first = pairingToken(server)
  const a = await pairDevice(t, server, logs, 'first')
  const second = pairingToken(server)
  logs.secrets.add(second)
  t.not(second, first, 'a new token right after pairing')
  await resolve(server.app.di, AUTH.Service).flush()
  t.equal(await tokenOnDisk(server.home), second, 'saved to server.toml')

  const reuse = await connectFrom(t, server)
  t.equal((await reuse.request('authenticate', { pairing_token: first })).error?.code, -2, 'the used token no longer pairs')
  const b = await pairDevice(t, server, logs, 'second')
  t.ok(b.sessionToken)
  logs.secrets.add(pairingToken(server))
  t.ok((await resume(t, server, a.sessionToken)).res.result, 'earlier sessions are not affected')

  // Two pairings racing for one token: exactly one wins.
  const token = pairingToken(server)
  const [x, y] = await Promise.all([connectFrom(t, server), connectFrom(t, server)])
  const results = await Promise.all([x, y].map(c => c.request('authenticate', { pairing_token: token, client_name: 'racer' })))
  t.equal(results.filter(r => r.result?.session_token).length, 1, 'one of two concurrent pairings succeeds')
  for (const r of results) if (r.result?.session_token) logs.secrets.add(r.result.session_token)
  logs.secrets.add(pairingToken(server))
  await resolve(server.app.di, AUTH.Service).flush()
  logs.check(t)
})

t.test('pairing TTL: an expired token stops pairing and is replaced', async t => {
  // A window long enough that a loaded machine cannot see the replacement token expire too
  // between reading it and pairing with it.
  const { server, logs } = await startSecureServer(t, { auth: { pairingTtlMs: 3000, reloadIntervalMs: 100 } })
  const first = pairingToken(server)
  await pairDevice(t, server, logs, 'in-time')
  t.equal(pairingToken(server), first, 'pairing within the window does not rotate')
  // The server replaces the token on its own once the window has passed.
  await waitFor(() => pairingToken(server) !== first, { what: 'the token to expire and be replaced' })
  const late = await connectFrom(t, server)
  t.equal((await late.request('authenticate', { pairing_token: first })).error?.code, -2, 'the expired token fails')
  const next = pairingToken(server)
  logs.secrets.add(next)
  t.not(next, first, 'replaced after expiry')
  await resolve(server.app.di, AUTH.Service).flush()
  const onDisk = await tokenOnDisk(server.home)
  logs.secrets.add(onDisk)
  t.equal(onDisk, pairingToken(server), 'server.toml holds the current token')
  const ok = await connectFrom(t, server)
  const res = await ok.request('authenticate', { pairing_token: pairingToken(server) })
  t.ok(res.result?.session_token, 'the new token pairs')
  logs.secrets.add(res.result.session_token)
  logs.check(t)
})

t.test('CLI: --single-use-pairing, and show-connection-string follows the rotation', async t => {
  const home = tempHome(t)
  const proc = await spawnServer(t, home, ['--single-use-pairing'])
  const target = processTarget(home, proc)
  const first = proc.connectionString.split('/').pop()!
  const c = await connectFrom(t, target)
  const res = await c.request('authenticate', { pairing_token: first, client_name: 'cli' })
  t.ok(res.result?.session_token, 'first pairing works')
  const again = await connectFrom(t, target)
  t.equal((await again.request('authenticate', { pairing_token: first })).error?.code, -2, 'second pairing with the same token fails')
  const shown = await waitFor(async () => {
    const s = (await runCli(['--home', home, 'show-connection-string'])).stdout.trim()
    return s !== '' && !s.endsWith(first) && s
  }, { timeout: 30_000, interval: 100, what: 'show-connection-string to show another token' })
  t.match(shown, /^claudette:\/\/\S+:\d+\/[A-Za-z0-9_-]{43}$/)
  t.not(shown.split('/').pop(), first, 'show-connection-string shows the replacement')
  const third = await connectFrom(t, target)
  t.ok((await third.request('authenticate', { pairing_token: shown.split('/').pop() })).result?.session_token, 'and it pairs')
  const secrets = [first, shown.split('/').pop()!, res.result.session_token]
  t.same(secrets.filter(s => proc.stderr.includes(s)), [], 'no token in the server process logs')
})

t.test('CLI: --pairing-ttl parses durations and rejects bad ones', async t => {
  const bad = await runCli(['--home', tempHome(t), '--pairing-ttl', 'soon', 'show-connection-string'])
  t.equal(bad.code, 2)
  t.match(bad.stderr, /--pairing-ttl.*must be a duration/)
  const tooShort = await runCli(['--home', tempHome(t), '--pairing-ttl', '500ms', 'show-connection-string'])
  t.equal(tooShort.code, 2)
  const home = tempHome(t)
  const proc = await spawnServer(t, home, ['--pairing-ttl', '1s'])
  const first = proc.connectionString.split('/').pop()!
  // The server replaces the expired token on its own and saves the new one to server.toml.
  await waitFor(async () => await tokenOnDisk(home) !== first, { interval: 100, what: 'the token to expire and be replaced on disk' })
  const c = await connectFrom(t, processTarget(home, proc))
  t.equal((await c.request('authenticate', { pairing_token: first })).error?.code, -2, 'expired after 1 s')
  t.notMatch(proc.stderr, first)
})

t.test('single-use pairing: when the reply arrives, server.toml no longer holds the used token (a crash cannot revive it)', async t => {
  const home = tempHome(t)
  const proc = await spawnServer(t, home, ['--single-use-pairing'])
  const first = proc.connectionString.split('/').pop()!
  for (let i = 0; i < 5; i++) {
    const used = i === 0 ? first : await tokenOnDisk(home)
    const c = await connectFrom(t, processTarget(home, proc))
    const res = await c.request('authenticate', { pairing_token: used, client_name: `device ${i}` })
    t.ok(res.result?.session_token, `pairing ${i} works`)
    const onDisk = await tokenOnDisk(home) // read the moment the reply is in, before anything else
    t.not(onDisk, used, `pairing ${i}: the used token is gone from server.toml`)
  }
  // SIGKILL now, restart: the last used token stays dead, the one on disk pairs.
  const lastUsed = await tokenOnDisk(home)
  const c = await connectFrom(t, processTarget(home, proc))
  t.ok((await c.request('authenticate', { pairing_token: lastUsed, client_name: 'last' })).result?.session_token)
  proc.child.kill('SIGKILL')
  await proc.exited
  const next = await spawnServer(t, home, ['--single-use-pairing'])
  const again = await connectFrom(t, processTarget(home, next))
  t.equal((await again.request('authenticate', { pairing_token: lastUsed })).error?.code, -2, 'after SIGKILL and restart the used token still fails')
  t.not(next.connectionString.split('/').pop(), lastUsed)
})

t.test('pairing TTL counts from when the token was first seen, across restarts', async t => {
  const home = tempHome(t)
  const ttl = 10_000
  const first = await spawnServer(t, home, ['--pairing-ttl', '10s'])
  const firstSeen = Date.now() // the banner is out: the server has seen the token by now
  const token = first.connectionString.split('/').pop()!
  await elapse(2000, 'the token is 2 s old at the restart, so a window restarted by the restart would close 2 s after the real one')
  first.child.kill('SIGTERM')
  await first.exited
  const second = await spawnServer(t, home, ['--pairing-ttl', '10s'])
  const secondStart = Date.now()
  t.equal(second.connectionString.split('/').pop(), token, 'the same token after the restart')
  if (Date.now() - firstSeen < ttl - 1000) {
    const early = await connectFrom(t, processTarget(home, second))
    t.ok((await early.request('authenticate', { pairing_token: token, client_name: 'early' })).result?.session_token, 'still inside the window')
  }
  // The server replaces the token on its own once the window (counted from first seen) has passed.
  await waitFor(async () => await tokenOnDisk(home) !== token, { timeout: ttl + 10_000, interval: 100, what: 'the token to expire and be replaced on disk' })
  t.ok(Date.now() - secondStart < ttl, 'the second run is younger than the window (a new window would still be open)')
  const late = await connectFrom(t, processTarget(home, second))
  t.equal((await late.request('authenticate', { pairing_token: token })).error?.code, -2, 'expired 10 s after it was first seen, not 10 s after the restart')
})

t.test('single-use pairing: a config reload in flight during a pairing never brings the used token back', async t => {
  const { server, logs } = await startSecureServer(t, { auth: { singleUsePairing: true, reloadIntervalMs: 50 } })
  // A large comment makes each reload's read and parse take long, so pairings land inside it.
  const file = join(server.home, 'server.toml')
  const { writeFile } = await import('node:fs/promises')
  const body = await readFile(file, 'utf8')
  await writeFile(file, body + '# padding\n'.repeat(400_000))
  const used: string[] = []
  for (let i = 0; i < 12; i++) {
    const token = pairingToken(server)
    logs.secrets.add(token)
    const c = await connectFrom(t, server)
    const res = await c.request('authenticate', { pairing_token: token, client_name: `d${i}` })
    t.ok(res.result?.session_token, `pairing ${i}`)
    logs.secrets.add(res.result.session_token)
    used.push(token)
    await elapse(15 + 10 * (i % 4), 'jitter: the pairings land at different points of the 50 ms reload cycle')
  }
  // Reloads and token writes run on one chain: flush() waits for every reload in flight too.
  await resolve(server.app.di, AUTH.Service).flush()
  logs.secrets.add(pairingToken(server))
  for (const [i, token] of used.entries()) {
    const c = await connectFrom(t, server, `127.0.1.${i + 1}`) // one address each: the per-address failure limit

    t.equal((await c.request('authenticate', { pairing_token: token })).error?.code, -2, `used token ${i} stays dead`)
  }
  t.notOk(used.includes(pairingToken(server)), 'the current token is a new one')
  t.equal(await tokenOnDisk(server.home), pairingToken(server), 'and it is the one on disk')
  logs.check(t)
})
