// Pairing with a Nearby server (`claudette pair … --nearby`, two-namespace rig, built dist/): the
// client checks the certificate against the fingerprint prefix advertised for that address
// before it sends the pairing token.
// - A: the real server (advertised by ciao), an impostor server with the same pairing token but
//   its own certificate (not advertised), and avahi-daemon publishing a spoofed advertisement of
//   the impostor's port that copies the real server's TXT record.
// - B: the client CLI.
// The spoofed entry is refused with a fingerprint mismatch and the impostor gets no session; the
// same pairing without --nearby (trust on first use) does reach it, so the refusal is the check.
import { execFileSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { avahiUnavailable, createRig, distUnavailable, json, Lines, NODE, netnsUnavailable, ROOT, type Rig, type Side } from '../../helpers/netns.js'

const SERVER_BIN = join(ROOT, 'dist/bin/claudette-server.js')
const CLIENT_BIN = join(ROOT, 'dist/bin/claudette.js')
const skip = netnsUnavailable() ?? avahiUnavailable() ?? distUnavailable() ?? (existsSync(CLIENT_BIN) ? null : 'dist/bin/claudette.js is not built')
if (skip) t.comment(`skipped: ${skip}`)

const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version

/** Runs a command in a namespace to completion. */
function run (rig: Rig, side: Side, argv: string[]): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const child = rig.spawn(side, argv)
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (d: Buffer) => { stdout += d })
  child.stderr!.on('data', (d: Buffer) => { stderr += d })
  return new Promise(resolve => child.once('exit', code => resolve({ code, stdout, stderr })))
}

/** Starts claudette-server in a namespace; resolves with its port, fingerprint and pairing token. */
async function serve (rig: Rig, side: Side, home: string, args: string[], hostname?: string) {
  const child = rig.spawn(side, [NODE, SERVER_BIN, '--home', home, '--port', '0', '--log-level', 'info', ...args], hostname ? { hostname } : {})
  const out = new Lines(child.stdout!)
  const err = new Lines(child.stderr!)
  const cs = (await out.wait(l => /claudette:\/\//.test(l), 60_000, 'connection string')).trim()
  const fingerprint = /\b[0-9a-f]{64}\b/.exec(await out.wait(l => /^Certificate fingerprint:/.test(l), 10_000, 'fingerprint'))![0]
  const port = Number(/:(\d+)\//.exec(cs)![1])
  return { child, out, err, port, fingerprint, token: cs.slice(cs.lastIndexOf('/') + 1) }
}

const sessions = (home: string): unknown[] =>
  JSON.parse(execFileSync(NODE, [SERVER_BIN, '--home', home, '--json', 'sessions', 'list'], { encoding: 'utf8' })) as unknown[]

t.test('pair --nearby checks the advertised fingerprint before the token is sent', { skip: skip ?? false }, async t => {
  const tempDir = (prefix: string): string => {
    const dir = mkdtempSync(join(tmpdir(), prefix))
    t.teardown(() => rmSync(dir, { recursive: true, force: true }))
    return dir
  }
  const rig = await createRig(t)
  const avahiEnv = await rig.avahi(rig.a) // answers for host-vA.local (10.99.0.1)

  const legitHome = tempDir('claudette-np-legit-')
  const legit = await serve(rig, rig.a, legitHome, ['--name', 'Legit'], 'legit-host')
  await legit.err.wait(l => json(l)?.msg === 'mdns advertised', 20_000, 'legit advertised')
  const prefix = legit.fingerprint.slice(0, 16)

  // The impostor knows the pairing token (it copies server.toml) but not the real key.
  const impostorHome = tempDir('claudette-np-impostor-')
  copyFileSync(join(legitHome, 'server.toml'), join(impostorHome, 'server.toml'))
  const impostor = await serve(rig, rig.a, impostorHome, ['--name', 'Legit', '--no-mdns'])
  t.equal(impostor.token, legit.token, 'the impostor accepts the same pairing token')
  t.not(impostor.fingerprint, legit.fingerprint, 'with another certificate')

  // A spoofed advertisement of the impostor's port with the real server's TXT record.
  const spoof = rig.spawn(rig.a, ['avahi-publish', '--service', 'Legit (spoof)', '_claudette._tcp', String(impostor.port),
    `version=${VERSION}`, 'name=Legit', `fingerprint=${prefix}`], { env: avahiEnv })
  await new Lines(spoof.stderr!).wait(l => /Established/.test(l), 10_000, 'avahi-publish established')

  const clientHome = tempDir('claudette-np-client-')
  const cli = (...args: string[]) => run(rig, rig.b, [NODE, CLIENT_BIN, '--home', clientHome, ...args])
  const address = rig.a.address

  // 1. The spoofed entry: refused in the TLS handshake, nothing stored, no session on the impostor.
  const refused = await cli('pair', `claudette://${address}:${impostor.port}/${legit.token}`, '--nearby')
  t.equal(refused.code, 1, 'exit 1')
  t.match(refused.stderr, /fingerprint mismatch/i)
  t.ok(refused.stderr.includes(`expected ${prefix}, got ${impostor.fingerprint}`), 'names the advertised prefix and the presented fingerprint')
  t.match(refused.stderr, /advertised on the local network/)
  t.notOk(refused.stderr.includes(legit.token), 'the token is not printed')
  t.same(sessions(impostorHome), [], 'the impostor got no pairing token: no session')
  t.notOk(existsSync(join(clientHome, 'servers.json')), 'nothing stored')

  // 2. The real server: verified against its advertisement and pinned.
  const ok = await cli('pair', `claudette://${address}:${legit.port}/${legit.token}`, '--nearby', '--json')
  t.equal(ok.code, 0, ok.stderr)
  const res = JSON.parse(ok.stdout) as Record<string, any>
  t.equal(res.trust, 'advertised-fingerprint')
  t.equal(res.fingerprint, legit.fingerprint, 'the full fingerprint is pinned')
  t.same(res.advertised, { instance_name: 'Legit (legit-host)', host: 'legit-host.local', fingerprint_prefix: prefix })
  t.equal(sessions(legitHome).length, 1, 'paired on the real server')

  // 3. An address nobody advertises: a clear error, nothing sent.
  const none = await cli('pair', `claudette://${address}:1/${legit.token}`, '--nearby', '--timeout', '1.5')
  t.equal(none.code, 1)
  t.match(none.stderr, new RegExp(`No server advertises ${address.replace(/\./g, '\\.')}:1 on the local network`))

  // 4. --fingerprint that contradicts the advertisement: refused before connecting.
  const contra = await cli('pair', `claudette://${address}:${legit.port}/${legit.token}`, '--nearby', '--fingerprint', 'f'.repeat(16))
  t.equal(contra.code, 1)
  t.match(contra.stderr, new RegExp(`advertises fingerprint ${prefix}, which contradicts --fingerprint f{16}`))

  // 5. Two advertisements of one address that disagree: one of them lies, so neither is trusted.
  const rival = rig.spawn(rig.a, ['avahi-publish', '--service', 'Legit (rival)', '_claudette._tcp', String(legit.port),
    'name=Legit', `fingerprint=${impostor.fingerprint.slice(0, 16)}`], { env: avahiEnv })
  await new Lines(rival.stderr!).wait(l => /Established/.test(l), 10_000, 'rival published')
  const torn = await run(rig, rig.b, [NODE, CLIENT_BIN, '--home', tempDir('claudette-np-torn-'), 'pair', `claudette://${address}:${legit.port}/${legit.token}`, '--nearby'])
  t.equal(torn.code, 1)
  t.match(torn.stderr, /2 advertisements of this address carry different fingerprints/)
  t.equal(sessions(legitHome).length, 1, 'no new session')

  // Control: without --nearby (trust on first use) the same token does reach the impostor.
  const tofu = await run(rig, rig.b, [NODE, CLIENT_BIN, '--home', tempDir('claudette-np-tofu-'), 'pair', `claudette://${address}:${impostor.port}/${legit.token}`])
  t.equal(tofu.code, 0, tofu.stderr)
  t.equal(sessions(impostorHome).length, 1, 'control: an unchecked pairing hands the token to the impostor')
})
