// The TLS identity: created once (RSA key 0600 whatever the umask, certificate 0644, SANs,
// years of validity, not a CA), then loaded unchanged on every start (same fingerprint, files not
// rewritten); any state a crash during the first start can leave loads or regenerates cleanly;
// unreadable or half-present files are errors naming the file, and nothing is overwritten.
import { X509Certificate, createPrivateKey } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { TlsIdentityError } from '../../../src/index.js'
import { fingerprintOf, loadOrCreateTlsIdentity } from '../../../src/plugins/tls/index.js'
import { tempHome } from '../../helpers/server.js'

const mode = (p: string): number => statSync(p).mode & 0o777

t.test('created once, then loaded unchanged', async t => {
  const home = tempHome(t)
  const old = process.umask(0o000)
  let first
  try { first = await loadOrCreateTlsIdentity(home, 'box') } finally { process.umask(old) }
  t.equal(first.created, true)
  t.equal(mode(join(home, 'key.pem')), 0o600, 'key 0600 even with umask 000')
  t.equal(mode(join(home, 'cert.pem')), 0o644)
  t.same(readdirSync(home).sort(), ['cert.pem', 'key.pem'], 'no staged files left')

  const x = new X509Certificate(first.certPem)
  t.equal(x.subjectAltName, 'DNS:box, DNS:box.local, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1')
  t.equal(x.ca, false)
  t.equal(createPrivateKey(first.keyPem).asymmetricKeyDetails?.modulusLength, 2048)
  const years = (Date.parse(x.validTo) - Date.now()) / (365.25 * 86_400_000)
  t.ok(years > 4.9 && years < 5.1, `valid ${years.toFixed(2)} years, not millennia`)
  t.equal(first.fingerprint, fingerprintOf(first.certPem))
  t.match(first.fingerprint, /^[0-9a-f]{64}$/)

  const stamp = (f: string): string => { const st = statSync(join(home, f)); return `${st.ino}:${st.mtimeMs}` }
  const before = [stamp('key.pem'), stamp('cert.pem')]
  const again = await loadOrCreateTlsIdentity(home, 'other-host-name')
  t.equal(again.created, false)
  t.equal(again.fingerprint, first.fingerprint, 'stable across restarts (and host name changes)')
  t.same([stamp('key.pem'), stamp('cert.pem')], before, 'files are not rewritten')
})

t.test('every state a crash during the first start can leave is recovered', async t => {
  const donor = await loadOrCreateTlsIdentity(tempHome(t), 'box')
  const states: Record<string, Record<string, string>> = {
    'staged key only': { 'key.pem.next': donor.keyPem },
    'both staged': { 'key.pem.next': donor.keyPem, 'cert.pem.next': donor.certPem },
    'key renamed, certificate staged': { 'key.pem': donor.keyPem, 'cert.pem.next': donor.certPem },
  }
  for (const [name, files] of Object.entries(states)) {
    const home = tempHome(t)
    for (const [f, text] of Object.entries(files)) writeFileSync(join(home, f), text)
    const id = await loadOrCreateTlsIdentity(home, 'box')
    t.ok(new X509Certificate(id.certPem).checkPrivateKey(createPrivateKey(id.keyPem)), `${name}: a matching pair`)
    if ('cert.pem.next' in files) t.equal(id.fingerprint, donor.fingerprint, `${name}: rolled forward`)
    else t.equal(id.created, true, `${name}: a fresh identity`)
    t.same(readdirSync(home).sort(), ['cert.pem', 'key.pem'], `${name}: nothing staged is left`)
  }
})

t.test('unreadable or half-present files are errors naming the file; nothing is overwritten', async t => {
  const home = tempHome(t)
  const id = await loadOrCreateTlsIdentity(home, 'box')
  const key = join(home, 'key.pem')
  const cert = join(home, 'cert.pem')

  rmSync(key)
  mkdirSync(key)
  let err = await loadOrCreateTlsIdentity(home, 'box').catch(e => e)
  t.type(err, TlsIdentityError)
  t.equal(err.code, 'ERR_TLS_IDENTITY')
  t.equal(err.message, `${key}: cannot be read (EISDIR)`)
  t.equal(readFileSync(cert, 'utf8'), id.certPem, 'the certificate is untouched')
  rmSync(key, { recursive: true })

  err = await loadOrCreateTlsIdentity(home, 'box').catch(e => e)
  t.match(err.message, `${key}: missing, but cert.pem exists`)
  t.notOk(existsSync(key), 'no key was generated next to a certificate clients may have pinned')
  t.equal(readFileSync(cert, 'utf8'), id.certPem)

  writeFileSync(key, '')
  err = await loadOrCreateTlsIdentity(home, 'box').catch(e => e)
  t.match(err.message, `${key}: is not a valid PEM private key; restore it from a backup, or remove both key.pem and cert.pem`)
  t.equal(readFileSync(key, 'utf8'), '', 'the empty key file is kept as it is')
})
