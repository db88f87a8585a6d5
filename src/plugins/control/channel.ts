// The server's side of the control channel: node:http on the home's Unix socket (or named pipe).
import { chmod, lstat, unlink } from 'node:fs/promises'
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { FastifyBaseLogger } from 'fastify'
import type { Disposable } from '../../core/lifecycle.js'
import { askServer } from './client.js'
import { ControlHomeInUseError, ControlSocketError } from './errors.js'
import { checkPrivateDir, controlLocation, type ControlLocation } from './paths.js'
import type { ControlChannel, ServedConnection, ServerStatus } from './types.js'

/**
 * What the channel answers with: read from the live objects at each request. Null while the
 * main listener is not bound yet (the socket is claimed just before): answered 503.
 */
export interface ControlFacts {
  status (): ServerStatus | null
  connection (): ServedConnection | null
}

/** How often a claim retries after removing a stale socket (another server may race us for it). */
const CLAIM_ATTEMPTS = 3

/**
 * One home's control socket: claims it (taking over a stale one, refusing a live one), answers
 * `GET /status` and `GET /connection` with JSON, and on dispose closes and removes it.
 */
export class ControlSocket implements ControlChannel, Disposable {
  readonly #home: string
  readonly #facts: ControlFacts
  readonly #log: FastifyBaseLogger
  readonly #http: Server
  #location: ControlLocation | null = null
  /** The socket file's inode once we listen: dispose removes the file only if it is still ours. */
  #inode: number | null = null
  #claiming: Promise<void> | null = null
  #disposed = false

  constructor (home: string, facts: ControlFacts, log: FastifyBaseLogger) {
    this.#home = home
    this.#facts = facts
    this.#log = log
    this.#http = createHttpServer((req, res) => { this.#answer(req, res) })
    // Requests are one line and answered at once: a peer that dawdles is dropped.
    this.#http.headersTimeout = 5000
    this.#http.requestTimeout = 5000
    this.#http.keepAliveTimeout = 1000
  }

  get path (): string | null { return this.#http.listening ? this.#location?.path ?? null : null }

  claim (): Promise<void> {
    // A failed claim (the home in use) may be retried by a later listen().
    this.#claiming ??= this.#claim().catch((err: unknown) => { this.#claiming = null; throw err })
    return this.#claiming
  }

  async #claim (): Promise<void> {
    const loc = controlLocation(this.#home)
    this.#location = loc
    if (loc.privateDir !== null) await checkPrivateDir(loc.privateDir, { create: true })
    for (let attempt = 1; ; attempt++) {
      if (this.#disposed) return
      try {
        await this.#listen(loc.path)
        break
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code
        if (code !== 'EADDRINUSE' || attempt >= CLAIM_ATTEMPTS) {
          throw new ControlSocketError(`cannot listen on the control socket ${loc.path}: ${(err as Error).message}`, { cause: err })
        }
      }
      // Someone holds the path: a live server answers; a socket whose server was killed refuses.
      // The file is looked at before asking and removed only if it is still that same file: a
      // server that took it over meanwhile (racing us for the same stale socket) keeps its own.
      const before = process.platform === 'win32' ? null : await lstat(loc.path).catch(() => null)
      if (before !== null && !before.isSocket()) throw new ControlSocketError(`${loc.path} exists and is not a socket; remove it`)
      let owner: ServerStatus | null
      try {
        owner = await askServer(this.#home, 'status', { timeoutMs: 2000 })
      } catch (err) {
        if (err instanceof ControlSocketError) throw err // e.g. a socket another user owns: say so
        throw new ControlHomeInUseError(this.#home, null, { cause: err })
      }
      if (owner !== null) throw new ControlHomeInUseError(this.#home, typeof owner.pid === 'number' ? owner.pid : null)
      if (process.platform === 'win32' || before === null) continue // a pipe goes away with its process
      const now = await lstat(loc.path).catch(() => null)
      if (now === null || now.ino !== before.ino || now.dev !== before.dev) continue
      await unlink(loc.path).catch(() => {})
      this.#log.info({ path: loc.path }, 'removed a stale control socket (its server is gone)')
    }
    if (process.platform !== 'win32') {
      // The home (or the private fallback directory) is 0700 already; the socket itself is 0600 too.
      await chmod(loc.path, 0o600)
      this.#inode = (await lstat(loc.path)).ino
    }
    this.#log.debug({ path: loc.path }, 'control socket listening')
  }

  #listen (path: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => { this.#http.off('listening', onListening); reject(err) }
      const onListening = (): void => { this.#http.off('error', onError); resolve() }
      this.#http.once('error', onError)
      this.#http.once('listening', onListening)
      this.#http.listen({ path, exclusive: true })
    })
  }

  #answer (req: IncomingMessage, res: ServerResponse): void {
    const send = (status: number, body: unknown): void => {
      const text = JSON.stringify(body)
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' })
      res.end(text)
    }
    try {
      if (req.method !== 'GET') { send(405, { error: 'method not allowed' }); return }
      const path = (req.url ?? '').split('?')[0]
      const answer = path === '/status' ? this.#facts.status() : path === '/connection' ? this.#facts.connection() : undefined
      if (answer === undefined) send(404, { error: 'not found', requests: ['/status', '/connection'] })
      else if (answer === null) send(503, { error: 'starting' })
      else send(200, answer)
    } catch (err) {
      this.#log.warn({ err }, 'control request failed')
      send(500, { error: 'internal error' })
    }
  }

  async dispose (): Promise<void> {
    if (this.#disposed) return
    this.#disposed = true
    await this.#claiming?.catch(() => {})
    if (!this.#http.listening) return
    await new Promise<void>(resolve => {
      this.#http.close(() => resolve())
      this.#http.closeAllConnections()
    })
    const path = this.#location?.path
    if (path === undefined || this.#inode === null) return
    // libuv removes the path when the listener closes; where it did not, the file goes here, and
    // only if it is still the one we created.
    const st = await lstat(path).catch(() => null)
    if (st !== null && st.ino === this.#inode) await unlink(path).catch(() => {})
  }
}
