// `rotate-certificate` against a running server: new handshakes present the new certificate
// within a second or two (setSecureContext, no restart), server_info reports the new
// fingerprint, established connections keep working, sessions stay valid. An interrupted
// rotation (crash between the two renames) is completed by the next load.
import { X509Certificate, createHash, createPrivateKey } from 'node:crypto'
import { stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import tls from 'node:tls'
import t from 'tap'
import { loadOrCreateTlsIdentity, rotateTlsIdentity } from '../../src/plugins/tls/index.js'
import { tempHome } from '../helpers/server.js'
import { pairDevice, resume, runCli, startSecureServer } from './security-support.js'
import { waitFor } from '../helpers/wait.js'

function presented (port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      const fp = createHash('sha256').update(s.getPeerCertificate().raw).digest('hex')
      s.destroy()
      resolve(fp)
    })
    s.once('error', reject)
  })
}

t.test('rotate-certificate takes effect in the running server', async t => {
  const { server, logs } = await startSecureServer(t)
  const before = server.fingerprint
  const device = await pairDevice(t, server, logs, 'phone')
  t.equal(await presented(server.port), before)

  const cli = await runCli(['--home', server.home, '--json', 'rotate-certificate'])
  t.equal(cli.code, 0, cli.stderr)
  const out = JSON.parse(cli.stdout)
  t.equal(out.previous_fingerprint, before)
  t.match(out.fingerprint, /^[0-9a-f]{64}$/)
  t.not(out.fingerprint, before)
  t.equal((await stat(join(server.home, 'key.pem'))).mode & 0o777, 0o600, 'the new key is 0600')

  const seen = await waitFor(async () => { const fp = await presented(server.port); return fp !== before && fp }, { interval: 100, what: 'new handshakes to present another certificate' })
  t.equal(seen, out.fingerprint, 'new handshakes present the new certificate')
  t.equal(server.fingerprint, out.fingerprint)
  t.equal((await device.call('server_info')).fingerprint, out.fingerprint, 'server_info follows; the old connection still works')

  // A client that trusts (pins) the new certificate reconnects with its existing session.
  const { res } = await resume(t, server, device.sessionToken)
  t.ok(res.result, 'sessions survive the rotation')
  t.match(logs.text, /tls certificate rotated/)
  logs.check(t)
})

t.test('a rotation interrupted between the two renames is completed on the next load', async t => {
  const home = tempHome(t)
  const a = await loadOrCreateTlsIdentity(home, 'box')
  const { current: b } = await rotateTlsIdentity(home, 'box')
  t.not(b.fingerprint, a.fingerprint)
  // The on-disk state of a crash right after `key.pem.next` was renamed over key.pem:
  // new key, old certificate, new certificate still staged.
  await writeFile(join(home, 'cert.pem.next'), b.certPem)
  await writeFile(join(home, 'cert.pem'), a.certPem)
  const loaded = await loadOrCreateTlsIdentity(home, 'box')
  t.equal(loaded.fingerprint, b.fingerprint, 'rolled forward to the staged certificate')
  t.ok(new X509Certificate(loaded.certPem).checkPrivateKey(createPrivateKey(loaded.keyPem)), 'key and certificate match')
  await t.rejects(stat(join(home, 'cert.pem.next')), 'the staged file is gone')

  // A crash before the certificate was staged: the staged key alone is discarded.
  await writeFile(join(home, 'key.pem.next'), a.keyPem)
  t.equal((await loadOrCreateTlsIdentity(home, 'box')).fingerprint, b.fingerprint, 'the current identity stays')
  await t.rejects(stat(join(home, 'key.pem.next')))
})
