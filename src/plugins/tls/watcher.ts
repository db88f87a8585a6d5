import { readFile, stat } from 'node:fs/promises'
import type { FastifyBaseLogger } from 'fastify'
import { Emitter, type Disposable } from '../../core/lifecycle.js'
import { parseIdentity } from './identity.js'
import type { TlsIdentity, TlsRotations } from './types.js'

/**
 * Watches key.pem/cert.pem (stat polling, so it also works across processes and file
 * systems) and applies a new identity to the running server without a restart: new TLS
 * handshakes use it at once, established connections keep theirs.
 */
export class TlsIdentityWatcher implements TlsRotations, Disposable {
  readonly #onDidRotate = new Emitter<TlsIdentity>()
  /** Fires after a new identity is in use. */
  readonly onDidRotate = this.#onDidRotate.event
  #stamp = ''
  #timer: NodeJS.Timeout | undefined
  #busy = false

  constructor (
    /** Owned by the tls plugin: updated in place, so every holder sees the current identity. */
    private readonly identity: { -readonly [K in keyof TlsIdentity]: TlsIdentity[K] },
    private readonly apply: (identity: TlsIdentity) => void,
    private readonly log: FastifyBaseLogger,
  ) {}

  async start (intervalMs: number): Promise<void> {
    this.#stamp = (await this.#readStamp()) ?? ''
    this.#timer = setInterval(() => { void this.check() }, intervalMs).unref()
  }

  /** Looks at the files now (also runs on the timer). */
  async check (): Promise<void> {
    if (this.#busy) return
    this.#busy = true
    try {
      const stamp = await this.#readStamp()
      if (stamp === null || stamp === this.#stamp) return
      const [keyPem, certPem] = await Promise.all([readFile(this.identity.keyFile, 'utf8'), readFile(this.identity.certFile, 'utf8')])
      let next: TlsIdentity
      try {
        next = parseIdentity(this.identity.keyFile, this.identity.certFile, keyPem, certPem)
      } catch {
        return // mid-rotation (new key, old certificate) or being edited: look again next time
      }
      this.#stamp = stamp
      if (next.fingerprint === this.identity.fingerprint) return
      this.apply(next)
      const previous = this.identity.fingerprint
      Object.assign(this.identity, { keyPem: next.keyPem, certPem: next.certPem, fingerprint: next.fingerprint, notAfter: next.notAfter, created: false })
      this.log.info({ fingerprint: next.fingerprint, previous }, 'tls certificate rotated; clients must re-pin the new fingerprint')
      this.#onDidRotate.fire(this.identity)
    } catch (err) {
      this.log.warn({ err }, 'checking the tls identity files failed')
    } finally {
      this.#busy = false
    }
  }

  async #readStamp (): Promise<string | null> {
    try {
      const [k, c] = await Promise.all([stat(this.identity.keyFile), stat(this.identity.certFile)])
      return `${k.ino}:${k.size}:${k.mtimeMs}/${c.ino}:${c.size}:${c.mtimeMs}`
    } catch { return null }
  }

  dispose (): void {
    if (this.#timer) clearInterval(this.#timer)
    this.#timer = undefined
    this.#onDidRotate.dispose()
  }
}
