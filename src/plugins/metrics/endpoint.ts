import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { FastifyBaseLogger } from 'fastify'
import type { Registry } from 'prom-client'
import type { Disposable } from '../../core/lifecycle.js'
import type { MetricsAddress } from './options.js'
import type { MetricsEndpoint } from './types.js'

/**
 * `GET /metrics` on its own plain-HTTP listener (node:http: nothing else is served there, and the
 * TLS port stays the clients' only). Owns the listener and its sockets; dispose() closes both.
 */
export class MetricsHttpEndpoint implements MetricsEndpoint, Disposable {
  readonly #server: Server
  #address: MetricsAddress | null = null
  #listening: Promise<void> | null = null
  #disposed = false

  constructor (
    readonly registry: Registry,
    private readonly bind: MetricsAddress,
    private readonly log: FastifyBaseLogger,
  ) {
    this.#server = createServer((req, res) => { void this.#handle(req, res) })
    // A scraper keeps its connection; it must not hold the server open at close.
    this.#server.keepAliveTimeout = 5000
    // Reachable from the network with --metrics-bind-public: a scrape is one small request, so
    // slow or piled-up peers are cut off before they cost the server its file descriptors.
    this.#server.maxConnections = 16
    this.#server.headersTimeout = 10_000
    this.#server.requestTimeout = 10_000
  }

  get address (): MetricsAddress | null { return this.#address }
  get url (): string | null {
    if (!this.#address) return null
    const host = this.#address.host.includes(':') ? `[${this.#address.host}]` : this.#address.host
    return `http://${host}:${this.#address.port}/metrics`
  }

  listen (): Promise<void> {
    this.#listening ??= new Promise<void>((resolve, reject) => {
      if (this.#disposed) { reject(new Error('metrics endpoint closed')); return }
      const onError = (err: Error): void => { reject(err) }
      this.#server.once('error', onError)
      this.#server.listen({ host: this.bind.host, port: this.bind.port }, () => {
        this.#server.off('error', onError)
        this.#server.on('error', err => { this.log.warn({ err }, 'metrics listener error') })
        const a = this.#server.address() as AddressInfo
        this.#address = { host: this.bind.host, port: a.port }
        this.log.info({ url: this.url }, `metrics on ${this.url}`)
        resolve()
      })
    })
    return this.#listening
  }

  async #handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]
    if (path !== '/metrics') { res.writeHead(404, { 'content-type': 'text/plain' }).end('not found; metrics are at /metrics\n'); return }
    if (req.method !== 'GET' && req.method !== 'HEAD') { res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n'); return }
    try {
      const body = await this.registry.metrics()
      res.writeHead(200, { 'content-type': this.registry.contentType })
      res.end(req.method === 'HEAD' ? undefined : body)
    } catch (err) {
      this.log.error({ err }, 'collecting metrics failed')
      res.writeHead(500, { 'content-type': 'text/plain' }).end('collecting metrics failed\n')
    }
  }

  async dispose (): Promise<void> {
    if (this.#disposed) return
    this.#disposed = true
    // A listen still resolving its host finishes first, so that it is closed too.
    await this.#listening?.catch(() => {})
    if (!this.#server.listening) return
    await new Promise<void>(resolve => {
      this.#server.close(() => resolve())
      this.#server.closeAllConnections()
    })
  }
}
