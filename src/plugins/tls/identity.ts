import { X509Certificate, createHash, createPrivateKey, generateKeyPair, randomBytes } from 'node:crypto'
import { open, readFile, rename, rm } from 'node:fs/promises'
import { hostname as osHostname } from 'node:os'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import forge from 'node-forge'
import { writeFileAtomic } from '../../core/files.js'
import { TlsIdentityError } from './errors.js'
import type { TlsIdentity } from './types.js'

export const KEY_FILE = 'key.pem'
export const CERT_FILE = 'cert.pem'
/** Long enough to never bother a home user, short enough to be a real expiry (the reference uses year 4096). */
export const CERT_VALIDITY_YEARS = 5
/** Suffix of a staged identity during rotation (`key.pem.next`, `cert.pem.next`). */
const STAGED = '.next'

const generateKeyPairAsync = promisify(generateKeyPair)

export const fingerprintOf = (certPem: string): string =>
  createHash('sha256').update(new X509Certificate(certPem).raw).digest('hex')

/**
 * Loads the key and certificate from `dir`, or creates both when both are missing.
 * One file without the other, or a file that does not parse, is an error naming the file:
 * we never overwrite an identity that clients may have pinned.
 */
export async function loadOrCreateTlsIdentity (dir: string, host = osHostname()): Promise<TlsIdentity> {
  const keyFile = join(dir, KEY_FILE)
  const certFile = join(dir, CERT_FILE)
  await finishInterruptedRotation(keyFile, certFile)
  const [keyPem, certPem] = await Promise.all([readOptional(keyFile), readOptional(certFile)])
  if (keyPem === null && certPem === null) return createIdentity(keyFile, certFile, host)
  return parseIdentity(keyFile, certFile, keyPem, certPem)
}

/** Checks that the two PEM texts parse and belong together. */
export function parseIdentity (keyFile: string, certFile: string, keyPem: string | null, certPem: string | null): TlsIdentity {
  if (keyPem === null) throw new TlsIdentityError(keyFile, `missing, but ${CERT_FILE} exists; restore the key or remove both files to create a new identity (clients will need to re-pair)`)
  if (certPem === null) throw new TlsIdentityError(certFile, `missing, but ${KEY_FILE} exists; restore the certificate or remove both files to create a new identity (clients will need to re-pair)`)

  // Never replaced automatically: clients pinned this identity, so the operator decides.
  const fix = `restore it from a backup, or remove both ${KEY_FILE} and ${CERT_FILE} to create a new identity (clients will need to re-pair)`
  let key
  try { key = createPrivateKey(keyPem) } catch (err) {
    throw new TlsIdentityError(keyFile, `is not a valid PEM private key; ${fix}`, { cause: err })
  }
  let cert
  try { cert = new X509Certificate(certPem) } catch (err) {
    throw new TlsIdentityError(certFile, `is not a valid PEM certificate; ${fix}`, { cause: err })
  }
  if (!cert.checkPrivateKey(key)) throw new TlsIdentityError(certFile, `does not match the private key in ${KEY_FILE}; ${fix}`)
  return {
    keyPem, certPem, keyFile, certFile,
    fingerprint: createHash('sha256').update(cert.raw).digest('hex'),
    notAfter: new Date(cert.validTo),
    created: false,
  }
}

async function readOptional (file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw new TlsIdentityError(file, `cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { cause: err })
  }
}

async function createIdentity (keyFile: string, certFile: string, host: string): Promise<TlsIdentity> {
  const { keyPem, certPem, notAfter } = await generateIdentity(host)
  // Staged like a rotation, so a crash (or Ctrl-C) at any point of the first start leaves
  // either nothing (a new identity next time) or a complete pair, never a key without its
  // certificate, which the next start would refuse.
  await writeFileAtomic(keyFile + STAGED, keyPem, 0o600)
  await writeFileAtomic(certFile + STAGED, certPem, 0o644)
  await commitStaged(keyFile, certFile)
  return { keyPem, certPem, keyFile, certFile, fingerprint: fingerprintOf(certPem), notAfter, created: true }
}

/**
 * Replaces the identity with a new key and certificate (`rotate-certificate`). Both are first
 * written completely as `key.pem.next`/`cert.pem.next`, then renamed over the old ones; a
 * crash between the two renames is finished by the next load, so the pair never ends up
 * mismatched. A running server picks the new identity up by watching the files.
 */
export async function rotateTlsIdentity (dir: string, host = osHostname()): Promise<{ previous: TlsIdentity, current: TlsIdentity }> {
  const previous = await loadOrCreateTlsIdentity(dir, host)
  const { keyPem, certPem, notAfter } = await generateIdentity(host)
  await writeFileAtomic(previous.keyFile + STAGED, keyPem, 0o600)
  await writeFileAtomic(previous.certFile + STAGED, certPem, 0o644)
  await commitStaged(previous.keyFile, previous.certFile)
  return {
    previous,
    current: { keyPem, certPem, keyFile: previous.keyFile, certFile: previous.certFile, fingerprint: fingerprintOf(certPem), notAfter, created: true },
  }
}

async function commitStaged (keyFile: string, certFile: string): Promise<void> {
  await rename(keyFile + STAGED, keyFile)
  await rename(certFile + STAGED, certFile)
  try {
    const dh = await open(dirname(keyFile), 'r')
    try { await dh.sync() } finally { await dh.close() }
  } catch { /* directory fsync is not supported everywhere */ }
}

/**
 * Completes or discards a rotation a crash interrupted: a staged certificate means both
 * staged files were complete (they are written key first), so the rotation rolls forward;
 * a staged key alone was never committed and is removed.
 */
async function finishInterruptedRotation (keyFile: string, certFile: string): Promise<void> {
  const [key, cert] = await Promise.all([readOptional(keyFile + STAGED), readOptional(certFile + STAGED)])
  if (cert !== null) {
    if (key !== null) await rename(keyFile + STAGED, keyFile)
    await rename(certFile + STAGED, certFile)
  } else if (key !== null) {
    await rm(keyFile + STAGED, { force: true })
  }
}

async function generateIdentity (host: string): Promise<{ keyPem: string, certPem: string, notAfter: Date }> {
  // The key is generated natively (fast); node-forge only builds and signs the certificate,
  // since node:crypto cannot issue X.509 certificates.
  const { privateKey, publicKey } = await generateKeyPairAsync('rsa', { modulusLength: 2048 })
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
  const pkcs1 = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString()
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString()

  const cert = forge.pki.createCertificate()
  cert.publicKey = forge.pki.publicKeyFromPem(publicPem)
  cert.serialNumber = '01' + randomBytes(15).toString('hex') // positive, 128 bits of randomness
  const now = Date.now()
  cert.validity.notBefore = new Date(now - 5 * 60_000) // tolerate small clock skew
  cert.validity.notAfter = new Date(now + CERT_VALIDITY_YEARS * 365.25 * 24 * 3600_000)
  const subject = [{ name: 'commonName', value: host }, { name: 'organizationName', value: 'claudette-server' }]
  cert.setSubject(subject)
  cert.setIssuer(subject)
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: [
        { type: 2, value: host },
        { type: 2, value: `${host}.local` },
        { type: 2, value: 'localhost' },
        { type: 7, ip: '127.0.0.1' },
        { type: 7, ip: '::1' },
      ],
    },
    { name: 'subjectKeyIdentifier' },
  ])
  cert.sign(forge.pki.privateKeyFromPem(pkcs1), forge.md.sha256.create())
  const certPem = forge.pki.certificateToPem(cert)
  return { keyPem, certPem, notAfter: cert.validity.notAfter }
}
