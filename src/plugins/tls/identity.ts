import { X509Certificate, createHash, createPrivateKey, generateKeyPair, randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { hostname as osHostname } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import forge from 'node-forge'
import { writeFileAtomic } from '../../core/files.js'
import { TlsIdentityError } from './errors.js'
import type { TlsIdentity } from './types.js'

export const KEY_FILE = 'key.pem'
export const CERT_FILE = 'cert.pem'
/** Long enough to never bother a home user, short enough to be a real expiry (the reference uses year 4096). */
export const CERT_VALIDITY_YEARS = 5

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
  const [keyPem, certPem] = await Promise.all([readOptional(keyFile), readOptional(certFile)])
  if (keyPem === null && certPem === null) return createIdentity(keyFile, certFile, host)
  if (keyPem === null) throw new TlsIdentityError(keyFile, `missing, but ${CERT_FILE} exists; restore the key or remove both files to create a new identity (clients will need to re-pair)`)
  if (certPem === null) throw new TlsIdentityError(certFile, `missing, but ${KEY_FILE} exists; restore the certificate or remove both files to create a new identity (clients will need to re-pair)`)

  let key
  try { key = createPrivateKey(keyPem) } catch (err) {
    throw new TlsIdentityError(keyFile, 'is not a valid PEM private key', { cause: err })
  }
  let cert
  try { cert = new X509Certificate(certPem) } catch (err) {
    throw new TlsIdentityError(certFile, 'is not a valid PEM certificate', { cause: err })
  }
  if (!cert.checkPrivateKey(key)) throw new TlsIdentityError(certFile, `does not match the private key in ${KEY_FILE}`)
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

  // Key first: a crash between the two writes leaves a key without a certificate, which the
  // next start reports instead of silently replacing.
  await writeFileAtomic(keyFile, keyPem, 0o600)
  await writeFileAtomic(certFile, certPem, 0o644)
  return {
    keyPem, certPem, keyFile, certFile,
    fingerprint: fingerprintOf(certPem),
    notAfter: cert.validity.notAfter,
    created: true,
  }
}
