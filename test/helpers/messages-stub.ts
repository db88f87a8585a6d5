// A stub of the Anthropic Messages API on 127.0.0.1 for tests that run the real Claude Code CLI
// (ANTHROPIC_BASE_URL points at it). It streams replies as server-sent events in the API's event
// format, scripted per test, and records every request the CLI sent.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'

/** One content block of a scripted reply. */
export type StubBlock =
  | { readonly type: 'text', readonly text: string }
  | { readonly type: 'tool_use', readonly name: string, readonly input: Record<string, unknown>, readonly id?: string }

export interface StubReply {
  readonly blocks: readonly StubBlock[]
  /** Waits this long after the first event before the rest (a slow model). */
  readonly delayMs?: number
}

export interface StubRequest {
  readonly path: string
  readonly headers: IncomingMessage['headers']
  readonly body: any
}

/** Decides the reply to a request the CLI sent for a conversation turn. */
export type StubScript = (req: StubRequest, stub: MessagesStub) => StubReply

let toolIds = 0

const text = (t: string): StubReply => ({ blocks: [{ type: 'text', text: t }] })

/** The text of every block of every message of a request (what the model was shown). */
export function transcript (body: any): string {
  const parts: string[] = []
  const walk = (c: unknown): void => {
    if (typeof c === 'string') { parts.push(c); return }
    if (Array.isArray(c)) { for (const x of c) walk(x); return }
    if (c && typeof c === 'object') {
      const o = c as Record<string, unknown>
      if (typeof o.text === 'string') parts.push(o.text)
      if (o.type === 'tool_use') parts.push(JSON.stringify(o.input))
      if (o.content !== undefined) walk(o.content)
    }
  }
  for (const m of body?.messages ?? []) walk(m.content)
  return parts.join('\n')
}

/** The text of the last user message of a request. */
export function lastUserText (body: any): string {
  const last = [...(body?.messages ?? [])].reverse().find((m: any) => m.role === 'user')
  return last ? transcript({ messages: [last] }) : ''
}

/** tool_result blocks of the last user message: [{ tool_use_id, content, is_error }]. */
export function toolResults (body: any): Array<{ tool_use_id: string, text: string, is_error: boolean }> {
  const last = [...(body?.messages ?? [])].reverse().find((m: any) => m.role === 'user')
  if (!last || !Array.isArray(last.content)) return []
  return last.content.filter((b: any) => b?.type === 'tool_result')
    .map((b: any) => ({ tool_use_id: b.tool_use_id, text: transcript({ messages: [{ content: b.content }] }), is_error: b.is_error === true }))
}

export class MessagesStub {
  /** Every request, in arrival order. */
  readonly requests: StubRequest[] = []
  /**
   * Traffic for anywhere else: the CLI gets this stub as its HTTP(S) proxy, so each connection
   * it tries to another host lands here (a CONNECT, or a request for an absolute URL).
   */
  readonly foreign: string[] = []
  #script: StubScript
  readonly #server: Server
  readonly #open = new Set<ServerResponse>()

  private constructor (script: StubScript) {
    this.#script = script
    this.#server = createServer((req, res) => { void this.#onRequest(req, res) })
    this.#server.on('connect', (req: IncomingMessage, socket: Duplex) => {
      this.foreign.push(`CONNECT ${req.url ?? ''}`)
      socket.end('HTTP/1.1 403 Forbidden\r\n\r\n')
    })
  }

  static async start (script: StubScript = () => text('ok')): Promise<MessagesStub> {
    const stub = new MessagesStub(script)
    await new Promise<void>((resolve, reject) => {
      stub.#server.once('error', reject)
      stub.#server.listen(0, '127.0.0.1', () => resolve())
    })
    return stub
  }

  get url (): string { return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}` }

  setScript (script: StubScript): void { this.#script = script }

  /** Requests for conversation turns (those that offer tools), in arrival order. */
  get turns (): StubRequest[] { return this.requests.filter(r => r.path.startsWith('/v1/messages') && !r.path.includes('count_tokens') && Array.isArray(r.body?.tools) && r.body.tools.length > 0) }

  async #onRequest (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    let body: any = null
    try { body = JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null') } catch { body = null }
    const path = req.url ?? '/'
    if (!path.startsWith('/')) {
      this.foreign.push(`${req.method ?? ''} ${path}`)
      res.writeHead(403).end()
      return
    }
    const record: StubRequest = { path, headers: req.headers, body }
    this.requests.push(record)
    if (req.method !== 'POST' || !path.startsWith('/v1/messages')) {
      res.writeHead(404, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ type: 'error', error: { type: 'not_found_error', message: `stub: no ${req.method} ${path}` } }))
      return
    }
    if (path.includes('count_tokens')) {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ input_tokens: 10 }))
      return
    }
    // Side requests (titles, summaries: no tools offered) get a plain short text.
    const isTurn = Array.isArray(body?.tools) && body.tools.length > 0
    let reply: StubReply
    try { reply = isTurn ? this.#script(record, this) : text('stub') } catch (err) { reply = text(`stub script failed: ${(err as Error).message}`) }
    if (body?.stream !== true) { this.#json(res, body, reply); return }
    await this.#sse(res, body, reply)
  }

  #blocks (reply: StubReply): any[] {
    return reply.blocks.map(b => b.type === 'text' ? { type: 'text', text: b.text } : { type: 'tool_use', id: b.id ?? `toolu_stub${++toolIds}`, name: b.name, input: b.input })
  }

  #json (res: ServerResponse, body: any, reply: StubReply): void {
    const content = this.#blocks(reply)
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify({
      id: `msg_stub${++toolIds}`, type: 'message', role: 'assistant', model: body?.model ?? 'stub', content,
      stop_reason: content.some(b => b.type === 'tool_use') ? 'tool_use' : 'end_turn', stop_sequence: null,
      usage: { input_tokens: 10, output_tokens: 5, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
    }))
  }

  async #sse (res: ServerResponse, body: any, reply: StubReply): Promise<void> {
    this.#open.add(res)
    res.on('close', () => this.#open.delete(res))
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' })
    const send = (event: string, data: unknown): void => { if (!res.destroyed) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`) }
    const content = this.#blocks(reply)
    send('message_start', {
      type: 'message_start',
      message: {
        id: `msg_stub${++toolIds}`, type: 'message', role: 'assistant', model: body?.model ?? 'stub', content: [], stop_reason: null, stop_sequence: null,
        usage: { input_tokens: 10, output_tokens: 1, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
      },
    })
    send('ping', { type: 'ping' })
    if (reply.delayMs) {
      await new Promise<void>(resolve => {
        const timer = setTimeout(resolve, reply.delayMs)
        res.once('close', () => { clearTimeout(timer); resolve() })
      })
    }
    content.forEach((b, index) => {
      if (b.type === 'text') {
        send('content_block_start', { type: 'content_block_start', index, content_block: { type: 'text', text: '' } })
        send('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'text_delta', text: b.text } })
      } else {
        send('content_block_start', { type: 'content_block_start', index, content_block: { type: 'tool_use', id: b.id, name: b.name, input: {} } })
        send('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: JSON.stringify(b.input) } })
      }
      send('content_block_stop', { type: 'content_block_stop', index })
    })
    send('message_delta', {
      type: 'message_delta',
      delta: { stop_reason: content.some(b => b.type === 'tool_use') ? 'tool_use' : 'end_turn', stop_sequence: null },
      usage: { output_tokens: 5 },
    })
    send('message_stop', { type: 'message_stop' })
    res.end()
  }

  async close (): Promise<void> {
    for (const res of this.#open) res.destroy()
    this.#server.closeAllConnections()
    await new Promise<void>(resolve => this.#server.close(() => resolve()))
  }
}

export const stubText = text
