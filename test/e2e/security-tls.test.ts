// TLS 1.0 and 1.1 clients are refused at the handshake; 1.2 and 1.3 are served. The refusal is
// the server's own setting, not Node's default: the same legacy client handshake succeeds
// against a permissive TLS server with our key and certificate, and our server still refuses
// it in a process whose defaults allow TLS 1.0 (--tls-min-v1.0), also after a live
// certificate rotation (setSecureContext builds a new context). TLS 1.2 is limited to ECDHE with
// AEAD suites (forward secrecy), checked with the openssl CLI and with Node clients.
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import tls from 'node:tls'
import t from 'tap'
import { SERVER_BIN, startCli } from '../helpers/cli.js'
import { tempHome } from '../helpers/server.js'
import { pairDevice, runCli, startSecureServer } from './security-support.js'
import { eventually } from '../helpers/wait.js'

type Outcome = { ok: true, protocol: string | null, fingerprint: string } | { ok: false, code: string }

function handshake (port: number, opts: tls.ConnectionOptions): Promise<Outcome> {
  return new Promise(resolve => {
    const sock = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...opts })
    sock.once('secureConnect', () => {
      resolve({ ok: true, protocol: sock.getProtocol(), fingerprint: createHash('sha256').update(sock.getPeerCertificate().raw).digest('hex') })
      sock.destroy()
    })
    sock.once('error', (err: NodeJS.ErrnoException) => resolve({ ok: false, code: err.code ?? err.message }))
  })
}

// SECLEVEL=0 lets the client actually offer the old versions (OpenSSL 3 hides them otherwise).
const legacy = (v: 'TLSv1' | 'TLSv1.1'): tls.ConnectionOptions => ({ ciphers: 'DEFAULT@SECLEVEL=0', minVersion: 'TLSv1', maxVersion: v })

t.test('TLS 1.0/1.1 refused, TLS 1.2/1.3 accepted', async t => {
  const { server, logs } = await startSecureServer(t)
  // Control: a permissive server with the same identity completes these very handshakes.
  const control = tls.createServer({
    key: readFileSync(join(server.home, 'key.pem')), cert: readFileSync(join(server.home, 'cert.pem')),
    minVersion: 'TLSv1', ciphers: 'DEFAULT@SECLEVEL=0',
  }, s => s.end())
  control.listen(0, '127.0.0.1')
  await once(control, 'listening')
  t.teardown(() => { control.close() })
  const controlPort = (control.address() as { port: number }).port
  for (const v of ['TLSv1', 'TLSv1.1'] as const) {
    t.match(await handshake(controlPort, legacy(v)), { ok: true, protocol: v }, `control: the client does offer ${v}`)
    const r = await handshake(server.port, legacy(v))
    t.equal(r.ok, false, `${v} refused by our server`)
    if (!r.ok) t.match(r.code, /PROTOCOL_VERSION/, `${v}: ${r.code} (the server's protocol_version alert)`)
  }
  t.match(await handshake(server.port, { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' }), { ok: true, protocol: 'TLSv1.2' })
  t.match(await handshake(server.port, { minVersion: 'TLSv1.3' }), { ok: true, protocol: 'TLSv1.3' })

  // The server keeps serving after refusing.
  t.match(await handshake(server.port, {}), { ok: true })
  logs.check(t)
})

/** `openssl s_client` against the port: the negotiated protocol and cipher, or null when refused. */
function sClient (port: number, args: string[]): Promise<{ protocol: string, cipher: string } | null> {
  return new Promise(resolve => {
    const child = execFile('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'localhost', ...args], { timeout: 20_000 }, (err, stdout) => {
      // "New, <version>, Cipher is X": for TLS 1.2 suites the version the suite was defined in,
      // so the negotiated protocol is read from the session block (which TLS 1.3 prints later).
      const m = /New, (\S+), Cipher is (\S+)/.exec(stdout)
      const cipher = m?.[2]
      const protocol = m?.[1] === 'TLSv1.3' ? 'TLSv1.3' : /Protocol\s*:\s*(TLSv[\d.]+)/.exec(stdout)?.[1]
      resolve(err === null && cipher !== undefined && cipher !== '(NONE)' && protocol !== undefined ? { protocol, cipher } : null)
    })
    child.stdin?.end()
  })
}

t.test('TLS 1.2 only with ECDHE and AEAD suites; TLS 1.3 as Node has it', async t => {
  const { server, logs } = await startSecureServer(t)
  // Control: a server with Node's defaults and our key accepts the suites ours refuses.
  const control = tls.createServer({
    key: readFileSync(join(server.home, 'key.pem')), cert: readFileSync(join(server.home, 'cert.pem')), ciphers: 'ALL@SECLEVEL=0',
  }, s => s.end())
  control.listen(0, '127.0.0.1')
  await once(control, 'listening')
  t.teardown(() => { control.close() })
  const controlPort = (control.address() as { port: number }).port

  // Static RSA (no forward secrecy), with CBC and with GCM; ECDHE with CBC (not AEAD).
  for (const cipher of ['AES128-SHA', 'AES256-GCM-SHA384', 'AES128-GCM-SHA256', 'ECDHE-RSA-AES128-SHA', 'ECDHE-RSA-AES256-SHA384']) {
    t.match(await sClient(controlPort, ['-tls1_2', '-cipher', `${cipher}@SECLEVEL=0`]), { protocol: 'TLSv1.2', cipher }, `control: ${cipher} is offered and can be negotiated`)
    t.equal(await sClient(server.port, ['-tls1_2', '-cipher', `${cipher}@SECLEVEL=0`]), null, `${cipher} refused`)
  }
  // The server's key is RSA: the ECDHE-RSA AEAD suites, which rustls offers too.
  for (const cipher of ['ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES256-GCM-SHA384', 'ECDHE-RSA-CHACHA20-POLY1305']) {
    t.same(await sClient(server.port, ['-tls1_2', '-cipher', cipher]), { protocol: 'TLSv1.2', cipher }, `${cipher} accepted`)
  }
  for (const suite of ['TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256', 'TLS_AES_128_GCM_SHA256']) {
    t.same(await sClient(server.port, ['-tls1_3', '-ciphersuites', suite]), { protocol: 'TLSv1.3', cipher: suite }, `TLS 1.3 ${suite} accepted`)
  }
  t.match(await handshake(server.port, { maxVersion: 'TLSv1.2', ciphers: 'AES128-SHA@SECLEVEL=0' }), { ok: false }, 'a Node client offering only static RSA is refused')
  // Our own client (real WSS, pairing, a call) still connects.
  const device = await pairDevice(t, server, logs, 'tls-client')
  t.equal((await device.call('server_info')).name, server.name)
  logs.check(t)
})

t.test('refused even where Node defaults allow TLS 1.0, before and after rotate-certificate', async t => {
  const home = tempHome(t)
  const permissive = [process.env.NODE_OPTIONS, '--tls-min-v1.0', '--tls-cipher-list=DEFAULT@SECLEVEL=0'].filter(Boolean).join(' ')
  const srv = await startCli(SERVER_BIN, ['--home', home, '--bind', '127.0.0.1', '--port', '0', '--no-mdns', '--log-level', 'warn'], /Ready for connections/, {
    env: { NODE_OPTIONS: permissive },
    timeoutMs: 60_000,
  })
  t.teardown(() => { srv.child.kill('SIGKILL') })
  const port = Number(/listening on wss:\/\/127\.0\.0\.1:(\d+)/.exec(srv.stdout())![1])
  for (const v of ['TLSv1', 'TLSv1.1'] as const) t.match(await handshake(port, legacy(v)), { ok: false, code: /PROTOCOL_VERSION/ }, `${v} refused`)

  const rotated = await runCli(['--home', home, '--json', 'rotate-certificate'], { NODE_OPTIONS: permissive })
  t.equal(rotated.code, 0, rotated.stderr)
  const next = JSON.parse(rotated.stdout).fingerprint as string
  let seen: Outcome = await handshake(port, {})
  await eventually(async () => { seen = await handshake(port, {}); return seen.ok && seen.fingerprint === next }, { interval: 100 })
  t.match(seen, { ok: true, fingerprint: next }, 'the new certificate is in use')
  for (const v of ['TLSv1', 'TLSv1.1'] as const) t.match(await handshake(port, legacy(v)), { ok: false, code: /PROTOCOL_VERSION/ }, `${v} still refused after the rotation`)
  t.match(await handshake(port, { maxVersion: 'TLSv1.2' }), { ok: true, protocol: 'TLSv1.2' })
  t.match(await handshake(port, { maxVersion: 'TLSv1.2', ciphers: 'AES128-SHA@SECLEVEL=0' }), { ok: false }, 'static RSA still refused after the rotation')
  t.match(await handshake(port, { minVersion: 'TLSv1.3' }), { ok: true, protocol: 'TLSv1.3' }, 'TLS 1.3 still served after the rotation')
  srv.child.kill('SIGTERM')
  t.equal((await srv.exited).code, 0)
})
