// Nearby: finds claudette servers on the local network by mDNS/DNS-SD (`_claudette._tcp`).
// bonjour-service owns the multicast socket and the PTR queries; the records themselves are read
// here from the raw responses, because its Browser cuts instance names at the first dot, only
// takes addresses from the same packet and never notices a server that simply went away.
import { networkInterfaces } from 'node:os'
import type { EventEmitter } from 'node:events'
import { Bonjour, type Browser } from 'bonjour-service'
import { NearbyInterfaceError, NearbySocketError } from './errors.js'
import { Emitter, type Disposable, type Event } from '../core/lifecycle.js'

export { NearbyInterfaceError, NearbySocketError }

/** The DNS-SD service type the server advertises (wire doc §8.4). */
export const SERVICE_TYPE = '_claudette._tcp.local'

/** A server seen on the local network. */
export interface NearbyServer {
  /** The DNS-SD instance name, e.g. `Build box (buildhost)` (dots kept). */
  instanceName: string
  /** TXT `name` (the server's display name); the instance name when the TXT record has none. */
  name: string
  /** SRV target without the trailing dot, e.g. `buildhost.local`. */
  host: string
  /** IPv4/IPv6 addresses seen for `host` (A/AAAA records), IPv4 first. */
  addresses: string[]
  port: number
  /** TXT `fingerprint`: the first 16 lowercase hex chars of the certificate's SHA-256; '' when absent. */
  fingerprintPrefix: string
  /** TXT `version`, when the server publishes it. */
  version?: string
  firstSeen: Date
  lastSeen: Date
}

/** What changed in a browser's list. `reason` says why an entry went away. */
export type NearbyChange =
  | { kind: 'up' | 'update', server: NearbyServer }
  | { kind: 'down', server: NearbyServer, reason: 'goodbye' | 'expired' }

export interface NearbyBrowserOptions {
  /** Browse on this interface only: a name (`eth0`) or one of its IPv4 addresses. Default: all. */
  interface?: string
  /** How often the browser asks again (PTR query). Default 5000 ms. */
  queryIntervalMs?: number
  /** An entry not heard of for this long is dropped. Default: 3 × queryIntervalMs. */
  staleAfterMs?: number
  /**
   * At most this many service instances are tracked (default 256); more are ignored, with one
   * warning on `onError`, so a flood of fake advertisements on the LAN cannot grow the list
   * (and the memory) without bound.
   */
  maxEntries?: number
}

interface Answer { name: string, type: string, ttl?: number, data: unknown }
interface ResponsePacket { answers?: Answer[], additionals?: Answer[] }
/** The multicast-dns instance behind bonjour-service (its documented API, reached through the Browser). */
interface Mdns extends EventEmitter {
  query (q: Array<{ name: string, type: string }>, cb?: (err: Error | null) => void): void
}

interface Entry {
  fqdn: string
  instanceName: string
  host?: string
  port?: number
  txt?: Record<string, string>
  addresses: Set<string>
  firstSeen: Date
  lastSeen: Date
  up: boolean
  signature?: string
  addressQueries: number
}

/** Addresses kept per entry (a host has a few; a hostile responder could send thousands). */
const MAX_ADDRESSES = 16
const lower = (s: string): string => s.toLowerCase()
const stripDot = (s: string): string => s.endsWith('.') ? s.slice(0, -1) : s
/** dns-packet escapes dots inside a label as `\.`; this undoes that (and `\\`). */
const unescapeLabel = (s: string): string => s.replace(/\\(.)/g, '$1')

interface Ipv4Net { address: string, netmask: string }

/** Resolves an interface name or address to its IPv4 address and netmask. */
function interfaceAddress (iface: string): Ipv4Net {
  const all = networkInterfaces()
  const byName = all[iface]
  if (byName) {
    const v4 = byName.find(a => a.family === 'IPv4')
    if (v4) return v4
    throw new NearbyInterfaceError(iface)
  }
  for (const addrs of Object.values(all)) {
    const v4 = addrs?.find(a => a.family === 'IPv4' && a.address === iface)
    if (v4) return v4
  }
  throw new NearbyInterfaceError(iface)
}

const ipv4ToInt = (a: string): number => a.split('.').reduce((n, part) => ((n << 8) | Number(part)) >>> 0, 0)
/** True when `address` is in the subnet of `net` (IPv4). */
const inSubnet = (address: string, net: Ipv4Net): boolean => {
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(address)) return false
  const mask = ipv4ToInt(net.netmask)
  return ((ipv4ToInt(address) & mask) >>> 0) === ((ipv4ToInt(net.address) & mask) >>> 0)
}

/** Decodes TXT strings (`key=value`, split at the first `=`; dots and further `=` kept). */
export function decodeTxt (data: unknown): Record<string, string> {
  // No prototype: keys come from the network (`__proto__`, `constructor` are just keys here).
  const out: Record<string, string> = Object.create(null)
  const items = Array.isArray(data) ? data : [data]
  for (const item of items) {
    const s = Buffer.isBuffer(item) ? item.toString('utf8') : typeof item === 'string' ? item : ''
    if (s === '') continue
    const eq = s.indexOf('=')
    const key = lower(eq < 0 ? s : s.slice(0, eq))
    if (key === '' || key in out) continue // RFC 6763 §6.4: the first occurrence wins
    out[key] = eq < 0 ? '' : s.slice(eq + 1)
  }
  return out
}

/**
 * A long-lived Nearby browser. It asks every `queryIntervalMs`, keeps one entry per service
 * instance, drops an entry when its server says goodbye (TTL 0) or has not been heard of for
 * `staleAfterMs`, and never throws on socket errors (they go to `onError`).
 *
 * ```ts
 * const browser = new NearbyBrowser()
 * browser.onChange(c => console.log(c.kind, c.server.name))
 * browser.start()
 * …
 * await browser.dispose()
 * ```
 */
export class NearbyBrowser implements Disposable {
  readonly #opts: Required<Omit<NearbyBrowserOptions, 'interface'>> & { interface?: string }
  readonly #entries = new Map<string, Entry>()
  readonly #onChange = new Emitter<NearbyChange>()
  readonly #onError = new Emitter<Error>()
  #bonjour: Bonjour | null = null
  #browser: Browser | null = null
  #mdns: Mdns | null = null
  #timer: NodeJS.Timeout | null = null
  #disposed = false
  #capWarned = false

  /** Fires when an entry appears, changes (port, TXT, addresses) or goes away. */
  readonly onChange: Event<NearbyChange> = this.#onChange.event
  /** Socket errors and warnings. The browser keeps running after a warning. */
  readonly onError: Event<Error> = this.#onError.event

  constructor (opts: NearbyBrowserOptions = {}) {
    const queryIntervalMs = opts.queryIntervalMs ?? 5000
    this.#opts = { ...opts, queryIntervalMs, staleAfterMs: opts.staleAfterMs ?? queryIntervalMs * 3, maxEntries: opts.maxEntries ?? 256 }
  }

  /** Opens the socket and sends the first query. Throws NearbyInterfaceError for an unknown interface. */
  start (): void {
    if (this.#disposed) throw new Error('NearbyBrowser is disposed')
    if (this.#bonjour) return
    const mdnsOpts: Record<string, unknown> = {}
    let net: Ipv4Net | null = null
    if (this.#opts.interface !== undefined) {
      net = interfaceAddress(this.#opts.interface)
      // Bound to 0.0.0.0: on Linux a socket bound to a unicast address never sees multicast.
      mdnsOpts.interface = net.address
      mdnsOpts.bind = '0.0.0.0'
    }
    const bonjour = new Bonjour(mdnsOpts as never, (err: Error) => this.#onError.fire(err))
    this.#bonjour = bonjour
    const browser = bonjour.find({ type: 'claudette' })
    this.#browser = browser
    // The Browser keeps its multicast-dns instance in a (TypeScript-)private field.
    const mdns = (browser as unknown as { mdns: Mdns }).mdns
    this.#mdns = mdns
    mdns.on('error', (err: Error) => this.#onError.fire(new NearbySocketError(err)))
    mdns.on('warning', (err: Error) => this.#onError.fire(err))
    mdns.on('response', (packet: ResponsePacket, rinfo: { address: string }) => {
      // Linux delivers multicast for groups joined on any interface (IP_MULTICAST_ALL), so
      // with an interface set, answers from outside its subnet are not ours to see.
      if (net && !inSubnet(rinfo.address, net)) return
      try { this.#onResponse(packet) } catch (err) { this.#onError.fire(err as Error) }
    })
    this.#timer = setInterval(() => this.refresh(), this.#opts.queryIntervalMs)
    this.#timer.unref()
  }

  /** Asks again now and drops entries not heard of for `staleAfterMs`. */
  refresh (): void {
    if (!this.#mdns || this.#disposed) return
    this.#sweep()
    this.#query([{ name: SERVICE_TYPE, type: 'PTR' }])
  }

  /** The current list, sorted by name then host. */
  servers (): NearbyServer[] {
    return [...this.#entries.values()].filter(e => e.up).map(e => this.#toServer(e))
      .sort((a, b) => a.name.localeCompare(b.name) || a.host.localeCompare(b.host) || a.port - b.port)
  }

  async dispose (): Promise<void> {
    if (this.#disposed) return
    this.#disposed = true
    if (this.#timer) clearInterval(this.#timer)
    this.#timer = null
    this.#browser?.stop()
    const bonjour = this.#bonjour
    this.#bonjour = null
    this.#browser = null
    this.#mdns = null
    this.#entries.clear()
    this.#onChange.dispose()
    if (bonjour) await new Promise<void>(resolve => { try { bonjour.destroy(() => resolve()) } catch { resolve() } })
    this.#onError.dispose()
  }

  #query (questions: Array<{ name: string, type: string }>): void {
    try {
      this.#mdns?.query(questions, err => { if (err && !this.#disposed) this.#onError.fire(err) })
    } catch (err) {
      this.#onError.fire(err as Error)
    }
  }

  #sweep (): void {
    const cutoff = Date.now() - this.#opts.staleAfterMs
    for (const [key, e] of this.#entries) {
      if (e.lastSeen.getTime() >= cutoff) continue
      this.#entries.delete(key)
      if (e.up) this.#onChange.fire({ kind: 'down', server: this.#toServer(e), reason: 'expired' })
    }
  }

  #entry (fqdn: string, now: Date): Entry | null {
    const key = lower(stripDot(fqdn))
    let e = this.#entries.get(key)
    if (!e) {
      if (this.#entries.size >= this.#opts.maxEntries) {
        if (!this.#capWarned) {
          this.#capWarned = true
          this.#onError.fire(new Error(`more than ${this.#opts.maxEntries} _claudette._tcp services on the network; ignoring the rest`))
        }
        return null
      }
      const bare = stripDot(fqdn)
      const instance = bare.slice(0, bare.length - SERVICE_TYPE.length - 1)
      e = { fqdn: bare, instanceName: unescapeLabel(instance), addresses: new Set(), firstSeen: now, lastSeen: now, up: false, addressQueries: 0 }
      this.#entries.set(key, e)
    }
    return e
  }

  #remove (fqdn: string): void {
    const key = lower(stripDot(fqdn))
    const e = this.#entries.get(key)
    if (!e) return
    this.#entries.delete(key)
    if (e.up) this.#onChange.fire({ kind: 'down', server: this.#toServer(e), reason: 'goodbye' })
  }

  #onResponse (packet: ResponsePacket): void {
    if (this.#disposed) return
    const records = [...(packet.answers ?? []), ...(packet.additionals ?? [])]
    const now = new Date()
    const touched = new Set<Entry>()
    const suffix = '.' + SERVICE_TYPE
    const isOurs = (name: string): boolean => lower(stripDot(name)).endsWith(suffix) && stripDot(name).length > suffix.length
    // Goodbyes first (TTL 0), then the live records.
    for (const rr of records) {
      if (rr.ttl !== 0) continue
      if (rr.type === 'PTR' && lower(stripDot(rr.name)) === SERVICE_TYPE && typeof rr.data === 'string') this.#remove(rr.data)
      else if (rr.type === 'SRV' && isOurs(rr.name)) this.#remove(rr.name)
    }
    for (const rr of records) {
      if (rr.ttl === 0) continue
      if (rr.type === 'PTR' && lower(stripDot(rr.name)) === SERVICE_TYPE && typeof rr.data === 'string' && isOurs(rr.data)) {
        const e = this.#entry(rr.data, now)
        if (!e) continue
        e.lastSeen = now
        touched.add(e)
      } else if (rr.type === 'SRV' && isOurs(rr.name)) {
        const e = this.#entry(rr.name, now)
        if (!e) continue
        const d = rr.data as { target: string, port: number }
        const host = stripDot(d.target)
        if (e.host !== undefined && lower(e.host) !== lower(host)) e.addresses.clear()
        e.host = host
        e.port = d.port
        e.lastSeen = now
        touched.add(e)
      } else if (rr.type === 'TXT' && isOurs(rr.name)) {
        const e = this.#entry(rr.name, now)
        if (!e) continue
        e.txt = decodeTxt(rr.data)
        e.lastSeen = now
        touched.add(e)
      }
    }
    // Addresses may come in this packet or in a later answer to our A/AAAA query.
    for (const rr of records) {
      if (rr.type !== 'A' && rr.type !== 'AAAA') continue
      if (typeof rr.data !== 'string') continue
      for (const e of this.#entries.values()) {
        if (e.host === undefined || lower(e.host) !== lower(stripDot(rr.name))) continue
        if (rr.ttl === 0) e.addresses.delete(rr.data)
        else if (!e.addresses.has(rr.data) && e.addresses.size < MAX_ADDRESSES) e.addresses.add(rr.data)
        else continue
        touched.add(e)
      }
    }
    for (const e of touched) this.#settle(e)
  }

  /** Announces or updates an entry once it has a SRV record; asks for what is still missing. */
  #settle (e: Entry): void {
    if (!this.#entries.has(lower(e.fqdn))) return
    if (e.host === undefined || e.port === undefined) {
      this.#query([{ name: e.fqdn, type: 'SRV' }, { name: e.fqdn, type: 'TXT' }])
      return
    }
    if (e.addresses.size === 0 && e.addressQueries < 3) {
      e.addressQueries++
      this.#query([{ name: e.host, type: 'A' }, { name: e.host, type: 'AAAA' }])
    }
    const server = this.#toServer(e)
    // lastSeen alone is not a change: a refresh that confirms an entry stays silent.
    const signature = JSON.stringify({ ...server, firstSeen: 0, lastSeen: 0 })
    if (e.up && signature === e.signature) return
    const kind = e.up ? 'update' : 'up'
    e.up = true
    e.signature = signature
    this.#onChange.fire({ kind, server })
  }

  #toServer (e: Entry): NearbyServer {
    const txt = e.txt ?? {}
    const addresses = [...e.addresses].sort((a, b) => Number(a.includes(':')) - Number(b.includes(':')) || a.localeCompare(b))
    const server: NearbyServer = {
      instanceName: e.instanceName,
      name: txt.name || e.instanceName,
      host: e.host ?? '',
      addresses,
      port: e.port ?? 0,
      fingerprintPrefix: lower(txt.fingerprint ?? ''),
      firstSeen: e.firstSeen,
      lastSeen: e.lastSeen,
    }
    if (txt.version) server.version = txt.version
    return server
  }
}

/**
 * Browses for `timeoutMs` (default 3000) and returns what was found. Rejects with
 * NearbyInterfaceError for an unknown interface and NearbySocketError when the multicast
 * socket cannot be opened; other socket trouble only means fewer results.
 */
export async function browseNearby (opts: { timeoutMs?: number, interface?: string } = {}): Promise<NearbyServer[]> {
  const timeoutMs = opts.timeoutMs ?? 3000
  // Ask once a second, so a responder that missed the first query (or started late) is heard.
  const browser = new NearbyBrowser({ interface: opts.interface, queryIntervalMs: 1000, staleAfterMs: Math.max(timeoutMs, 3000) * 2 })
  try {
    let fatal: Error | null = null
    let wake: (() => void) | null = null
    browser.onError(err => { if (err instanceof NearbySocketError) { fatal = err; wake?.() } })
    browser.start()
    await new Promise<void>(resolve => {
      const timer = setTimeout(resolve, timeoutMs)
      wake = () => { clearTimeout(timer); resolve() }
    })
    if (fatal) throw fatal
    return browser.servers()
  } finally {
    await browser.dispose()
  }
}

/**
 * Browses until `signal` aborts or the loop breaks, yielding every change of the list: `up`
 * when a server appears, `update` when its port, host, TXT or addresses change, `down` (with
 * `reason`) when it said goodbye or was not seen again. Refreshes every `queryIntervalMs`.
 * Socket warnings are skipped; a socket that cannot be opened ends the loop with
 * NearbySocketError.
 *
 * ```ts
 * for await (const change of browse({ signal: AbortSignal.timeout(30_000) })) {
 *   console.log(change.kind, change.server.name, change.server.addresses)
 * }
 * ```
 */
export async function * browse (opts: NearbyBrowserOptions & { signal?: AbortSignal } = {}): AsyncGenerator<NearbyChange, void, undefined> {
  const { signal, ...browserOpts } = opts
  if (signal?.aborted) return
  const browser = new NearbyBrowser(browserOpts)
  const queue: NearbyChange[] = []
  let fatal: Error | null = null
  let wake: (() => void) | null = null
  const poke = (): void => { const w = wake; wake = null; w?.() }
  browser.onChange(c => { queue.push(c); poke() })
  browser.onError(err => { if (err instanceof NearbySocketError) { fatal = err; poke() } })
  signal?.addEventListener('abort', poke, { once: true })
  try {
    browser.start()
    for (;;) {
      while (queue.length > 0) yield queue.shift()!
      if (fatal) throw fatal
      if (signal?.aborted) return
      await new Promise<void>(resolve => { wake = resolve })
    }
  } finally {
    signal?.removeEventListener('abort', poke)
    await browser.dispose()
  }
}

/**
 * Browses until a server passing `match` is seen, then `settleMs` longer (so that a second,
 * conflicting advertisement of the same address is noticed too), or until `timeoutMs`.
 * Returns every matching server (empty when none answered).
 */
export async function findNearby (match: (s: NearbyServer) => boolean, opts: { timeoutMs?: number, settleMs?: number, interface?: string } = {}): Promise<NearbyServer[]> {
  const timeoutMs = opts.timeoutMs ?? 3000
  const settleMs = opts.settleMs ?? 1000
  const browser = new NearbyBrowser({ interface: opts.interface, queryIntervalMs: 1000, staleAfterMs: Math.max(timeoutMs, 3000) * 2 })
  try {
    let fatal: Error | null = null
    let finish: (() => void) | null = null
    let settling = false
    const done = new Promise<void>(resolve => {
      const timer = setTimeout(resolve, timeoutMs)
      finish = () => { clearTimeout(timer); resolve() }
    })
    browser.onError(err => { if (err instanceof NearbySocketError) { fatal = err; finish?.() } })
    browser.onChange(c => {
      if (settling || c.kind === 'down' || !match(c.server)) return
      settling = true
      setTimeout(() => finish?.(), settleMs).unref()
    })
    browser.start()
    await done
    if (fatal) throw fatal
    return browser.servers().filter(match)
  } finally {
    await browser.dispose()
  }
}
