// Restart keeps the identity and sessions; file modes; no raw token at rest; corrupt files.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { createServer, ConfigFileError, TlsIdentityError } from '../../src/index.js'
import { TestClient } from '../helpers/client.js'
import { pairingToken, startServer, tempHome } from '../helpers/server.js'

const mode = (p: string): number => statSync(p).mode & 0o777

function allFiles (dir: string): string[] {
  // Regular files only: the running server's control socket holds nothing at rest.
  return readdirSync(dir, { withFileTypes: true }).flatMap(e => e.isDirectory() ? allFiles(join(dir, e.name)) : e.isFile() ? [join(dir, e.name)] : [])
}

t.test('restart keeps fingerprint, pairing token and sessions; modes; no raw session token at rest', async t => {
  const home = join(tempHome(t), 'nested', 'home')
  const first = await startServer(t, { home })
  const c = await TestClient.paired(t, first, 'tablet')
  const { fingerprint } = first
  const token = pairingToken(first)
  await first.close()

  const second = await startServer(t, { home })
  t.equal(second.fingerprint, fingerprint)
  t.equal(pairingToken(second), token)
  const c2 = await TestClient.connect(t, second)
  const res = await c2.request('authenticate', { session_token: c.sessionToken })
  t.same(res.result, { server_name: second.name })
  const sessions = await c2.call('list_sessions')
  t.equal(sessions.length, 1)
  t.equal(sessions[0].name, 'tablet')
  t.notOk(JSON.stringify(sessions).includes(c.sessionToken))

  t.equal(mode(home), 0o700, 'home 0700')
  t.equal(mode(join(home, 'server.toml')), 0o600)
  t.equal(mode(join(home, 'key.pem')), 0o600)
  t.equal(mode(join(home, 'claudette.db')), 0o600)
  for (const f of allFiles(home)) {
    if (f.endsWith('.db') || f.includes('.db-')) t.equal(mode(f) & 0o077, 0, `${f} not readable by others`)
    t.notOk(readFileSync(f).includes(Buffer.from(c.sessionToken)), `no raw session token in ${f}`)
  }
})

t.test('a corrupt server.toml is a clear error with line and column; the file is untouched', async t => {
  const home = tempHome(t)
  const bad = '[server]\nname = "x"\nport = = 3\n'
  writeFileSync(join(home, 'server.toml'), bad)
  const err = await createServer({ home, mdns: false, logLevel: 'silent' }).catch(e => e)
  t.type(err, ConfigFileError)
  t.equal(err.code, 'ERR_CONFIG_FILE')
  t.match(err.message, /server\.toml: invalid TOML at line 3, column \d+/)
  t.equal(readFileSync(join(home, 'server.toml'), 'utf8'), bad)

  writeFileSync(join(home, 'server.toml'), '[server]\nport = 99999\n[auth]\npairing_token = "abcdefghijklmnopqrstuvwxyz"\n')
  const err2 = await createServer({ home, mdns: false, logLevel: 'silent' }).catch(e => e)
  t.match(err2.message, /port must be an integer/)
  writeFileSync(join(home, 'server.toml'), '[server]\nname = "x"\n')
  const err3 = await createServer({ home, mdns: false, logLevel: 'silent' }).catch(e => e)
  t.match(err3.message, /pairing_token is missing/)
})

t.test('corrupt or mismatched key/cert files are errors naming the file and are never overwritten', async t => {
  const home = tempHome(t)
  const s = await startServer(t, { home })
  await s.close()
  const keyFile = join(home, 'key.pem')
  const certFile = join(home, 'cert.pem')
  const key = readFileSync(keyFile, 'utf8')
  const cert = readFileSync(certFile, 'utf8')

  writeFileSync(keyFile, 'garbage')
  let err = await createServer({ home, mdns: false, logLevel: 'silent' }).catch(e => e)
  t.type(err, TlsIdentityError)
  t.equal(err.code, 'ERR_TLS_IDENTITY')
  t.match(err.message, `${keyFile}: is not a valid PEM private key`)
  t.equal(readFileSync(keyFile, 'utf8'), 'garbage')
  writeFileSync(keyFile, key)

  writeFileSync(certFile, cert.slice(0, 200))
  err = await createServer({ home, mdns: false, logLevel: 'silent' }).catch(e => e)
  t.match(err.message, `${certFile}: is not a valid PEM certificate`)

  // a certificate from another identity
  const other = tempHome(t)
  const s2 = await startServer(t, { home: other })
  await s2.close()
  writeFileSync(certFile, readFileSync(join(other, 'cert.pem')))
  err = await createServer({ home, mdns: false, logLevel: 'silent' }).catch(e => e)
  t.match(err.message, /does not match the private key/)

  writeFileSync(certFile, cert)
  const { rmSync } = await import('node:fs')
  rmSync(certFile)
  err = await createServer({ home, mdns: false, logLevel: 'silent' }).catch(e => e)
  t.match(err.message, `${certFile}: missing, but key.pem exists`)
})

t.test('certificate: SANs, validity of years, TLS 1.2 minimum', async t => {
  const server = await startServer(t)
  const { X509Certificate } = await import('node:crypto')
  const x = new X509Certificate(readFileSync(join(server.home, 'cert.pem')))
  const { hostname } = await import('node:os')
  t.match(x.subjectAltName, `DNS:${hostname()}`)
  t.match(x.subjectAltName, `DNS:${hostname()}.local`)
  t.match(x.subjectAltName, 'DNS:localhost')
  t.match(x.subjectAltName, 'IP Address:127.0.0.1')
  const years = (Date.parse(x.validTo) - Date.now()) / (365 * 86400_000)
  t.ok(years > 4 && years < 6, `valid for ~5 years (${years.toFixed(1)})`)

  const tls = await import('node:tls')
  const err = await new Promise<Error | null>(resolve => {
    const sock = tls.connect({ host: '127.0.0.1', port: server.port, rejectUnauthorized: false, maxVersion: 'TLSv1.1', minVersion: 'TLSv1' })
    sock.on('secureConnect', () => { sock.destroy(); resolve(null) })
    sock.on('error', e => resolve(e))
  })
  t.ok(err, 'TLS 1.1 handshake refused')
})
