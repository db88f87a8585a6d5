// A raw protocol client for tests: real TLS (pinned to the server's certificate) and a real
// `ws` WebSocket. It records every frame so tests can assert exact bytes and ordering.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { once } from 'node:events'
import WebSocket from 'ws'
import type { ClaudetteServer } from '../../src/index.js'
import { pairingToken, recordSecret, type TestContext } from './server.js'

export interface Frame { text?: string, binary?: Buffer, json?: any }

export class TestClient {
  readonly frames: Frame[] = []
  #waiters: Array<{ pred: (f: Frame) => boolean, resolve: (f: Frame) => void }> = []
  #nextId = 1
  closed: Promise<{ code: number, reason: string }>

  constructor (readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      const f: Frame = isBinary ? { binary: data } : { text: data.toString('utf8') }
      if (f.text !== undefined) { try { f.json = JSON.parse(f.text) } catch { /* keep raw text */ } }
      recordSecret(f.json?.result?.session_token) // checked against server logs (helpers/server.ts)
      this.frames.push(f)
      for (const w of this.#waiters.slice()) {
        if (w.pred(f)) { this.#waiters.splice(this.#waiters.indexOf(w), 1); w.resolve(f) }
      }
    })
    this.closed = new Promise(resolve => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })))
  }

  static async connect (t: TestContext, server: ClaudetteServer, opts: { path?: string } = {}): Promise<TestClient> {
    const ws = new WebSocket(`wss://127.0.0.1:${server.port}${opts.path ?? '/'}`, {
      ca: readFileSync(join(server.home, 'cert.pem')),
    })
    const client = new TestClient(ws)
    t.teardown(() => { ws.terminate() })
    await once(ws, 'open')
    return client
  }

  /** Connects and pairs with the pairing token; returns the client and its session token. */
  static async paired (t: TestContext, server: ClaudetteServer, clientName = 'test-device'): Promise<TestClient & { sessionToken: string }> {
    const c = await TestClient.connect(t, server)
    const res = await c.request('authenticate', { pairing_token: pairingToken(server), client_name: clientName })
    if (!res.result?.session_token) throw new Error(`pairing failed: ${JSON.stringify(res)}`)
    return Object.assign(c, { sessionToken: res.result.session_token as string })
  }

  sendText (text: string): void {
    if (text.includes('_token')) {
      try { const p = JSON.parse(text)?.params; recordSecret(p?.session_token); recordSecret(p?.pairing_token) } catch { /* not JSON */ }
    }
    this.ws.send(text)
  }
  sendBinary (data: Buffer): void { this.ws.send(data, { binary: true }) }

  /** Waits for the next frame (already received ones included) matching pred. */
  waitFor (pred: (f: Frame) => boolean, timeoutMs = 5000, from = 0): Promise<Frame> {
    const have = this.frames.slice(from).find(pred)
    if (have) return Promise.resolve(have)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out waiting for a frame')), timeoutMs)
      this.#waiters.push({ pred, resolve: f => { clearTimeout(timer); resolve(f) } })
    })
  }

  /** Sends a request with a fresh numeric id and resolves with the full response object. */
  async request (method: string, params?: unknown, id: unknown = this.#nextId++): Promise<any> {
    const from = this.frames.length
    this.sendText(JSON.stringify(params === undefined ? { id, method } : { id, method, params }))
    const f = await this.waitFor(fr => fr.json !== undefined && 'id' in fr.json && JSON.stringify(fr.json.id) === JSON.stringify(id), 10_000, from)
    return f.json
  }

  /** Like request(), but returns `result` and throws on an error response. */
  async call (method: string, params?: unknown): Promise<any> {
    const res = await this.request(method, params)
    if (res.error) throw Object.assign(new Error(res.error.message), { rpc: res.error })
    return res.result
  }

  event (name: string, pred: (payload: any) => boolean = () => true, timeoutMs = 5000): Promise<any> {
    return this.waitFor(f => f.json?.event === name && pred(f.json.payload), timeoutMs).then(f => f.json.payload)
  }

  close (): void { this.ws.close() }
}
