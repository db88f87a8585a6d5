import { isIP } from 'node:net'
import { hostname as osHostname, networkInterfaces } from 'node:os'
import type { CiaoService, Responder } from '@homebridge/ciao'
import type { FastifyBaseLogger } from 'fastify'
import { inject, injectable } from '../../core/di.js'
import type { Disposable } from '../../core/lifecycle.js'
import { CORE, token, type ServerFacts } from '../../core/tokens.js'
import { TLS, type TlsIdentity, type TlsRotations } from '../tls/types.js'
import { MdnsAdvertiseError } from './errors.js'
import type { MdnsOptions } from './options.js'
import { SERVICE_TYPE, type MdnsAdvertisement, type MdnsState, type MdnsStatus } from './types.js'

export const MDNS_OPTIONS = token<MdnsOptions>('MdnsOptions')

/** A DNS label holds at most 63 bytes; we keep room for a conflict suffix such as ` (2)`. */
const MAX_INSTANCE_BYTES = 58
/** Characters of the certificate fingerprint that go out in TXT `fingerprint` (wire doc §1.2). */
export const FINGERPRINT_PREFIX_LENGTH = 16

/** The machine's host name as one DNS label (`build.example.com` → `build`). */
export const shortHostname = (name = osHostname()): string => {
  const label = name.split('.')[0]!.replace(/[^A-Za-z0-9-]/g, '-').replace(/^-+|-+$/g, '')
  return label === '' ? 'claudette' : label.slice(0, 63)
}

/** U+2024 ONE DOT LEADER: stands in for `.` in the instance name (see instanceName). */
const DOT_STAND_IN = '\u2024'

/**
 * `<server name> (<hostname>)` (wire doc §8.4). A `.` in the server name is advertised as
 * U+2024 (`․`): ciao splits names at dots, which would turn `Lab v2.1` into two labels that
 * no browser accepts. TXT `name` keeps the exact name. The server-name part is shortened, on
 * a character boundary, when the whole would not fit one DNS label.
 */
export function instanceName (serverName: string, host: string): string {
  const tail = ` (${host})`
  let name = serverName.replaceAll('.', DOT_STAND_IN)
  while (name.length > 0 && Buffer.byteLength(name + tail) > MAX_INSTANCE_BYTES) name = [...name].slice(0, -1).join('')
  return name.trimEnd() + tail
}

/** TXT record (wire doc §8.4): `version` (unless turned off), `name`, `fingerprint` (first 16 hex). */
export function txtRecord (facts: { name: string, version: string }, fingerprint: string, includeVersion: boolean): Record<string, string> {
  const txt: Record<string, string> = {}
  if (includeVersion) txt.version = facts.version
  txt.name = facts.name
  txt.fingerprint = fingerprint.slice(0, FINGERPRINT_PREFIX_LENGTH).toLowerCase()
  return txt
}

/**
 * Interfaces with an address that are not loopback. We hand ciao this list instead of letting it
 * run `ip -o link show` itself: it reads names such as `eth0@if5` (veth pairs, containers, VLANs)
 * literally and then finds no such interface. Interfaces that appear later need a restart.
 */
export const externalInterfaces = (): string[] =>
  Object.entries(networkInterfaces()).filter(([, addrs]) => addrs?.some(a => !a.internal)).map(([name]) => name).sort()

/** True when `iface` names an interface that has an address, or is one of our addresses. */
const interfaceExists = (iface: string): boolean => {
  const all = networkInterfaces()
  if ((all[iface]?.length ?? 0) > 0) return true
  const bare = iface.replace(/^\[|\]$/g, '')
  return Object.values(all).some(addrs => addrs?.some(a => a.address === bare))
}

/** True when `address` is one of this machine's addresses. */
const isOwnAddress = (address: string): boolean =>
  Object.values(networkInterfaces()).some(addrs => addrs?.some(a => a.address === address))

const isLoopback = (address: string): boolean =>
  address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.') || address === 'localhost'
const isWildcard = (address: string): boolean => address === '0.0.0.0' || address === '::' || address === ''

/**
 * Advertises the server as `_claudette._tcp` with @homebridge/ciao. Started once the server
 * listens (so the real port is known), stopped with goodbye packets before it closes.
 * Nothing here throws into the server: a failure is logged and recorded in `status()`.
 */
@injectable()
export class MdnsAdvertiser implements MdnsAdvertisement, Disposable {
  #status: MdnsStatus = { state: 'idle' }
  #responder: Responder | null = null
  #service: CiaoService | null = null
  #starting: Promise<void> | null = null
  #ciao: Promise<typeof import('@homebridge/ciao')> | null = null
  #stopping: Promise<void> | null = null
  #renaming: Promise<void> = Promise.resolve()
  /** Where the service is advertised, once start() got that far (a rename reuses it). */
  #advertised: { host: string, port: number, interfaces: string | string[], restrictedAddresses: string[] | undefined } | null = null
  readonly #log: FastifyBaseLogger

  constructor (
    @inject(MDNS_OPTIONS) private readonly opts: MdnsOptions,
    @inject(CORE.Facts) private readonly facts: ServerFacts,
    @inject(TLS.Identity) private readonly identity: TlsIdentity,
    @inject(TLS.Watcher) watcher: TlsRotations,
    @inject(CORE.Log) log: FastifyBaseLogger,
  ) {
    this.#log = log.child({ plugin: 'mdns' })
    // `rotate-certificate` while running: browsers must see the new fingerprint prefix now, not
    // after a restart, or a client that checks TXT against its pin would reject the new key.
    this.#rotation = watcher.onDidRotate(() => { this.#refreshTxt() })
  }

  readonly #rotation: Disposable

  /** Re-announces the TXT record (the identity object is updated in place on rotation). */
  #refreshTxt (): void {
    const service = this.#service
    if (!service || service.isDestroyed() || this.#stopping) return
    const txt = txtRecord(this.facts, this.identity.fingerprint, this.opts.includeVersion)
    try {
      service.updateTxt(txt)
      this.#set(this.#status.state, { txt })
      this.#log.info({ instanceName: this.#status.instanceName, txt }, 'mdns TXT updated after a certificate rotation')
    } catch (err) {
      this.#log.warn({ err }, 'mdns TXT update after a certificate rotation failed')
    }
  }

  status (): MdnsStatus { return this.#status }

  /**
   * The server name changed (a reload): sends goodbye for the old instance name and announces
   * the new one (TXT `name` included) on the same responder. Resolves when done; never rejects.
   */
  rename (): Promise<void> {
    this.#renaming = this.#renaming.then(() => this.#rename()).catch((err: unknown) => {
      this.#log.warn({ err }, 'mdns re-advertisement under the new name failed')
    })
    return this.#renaming
  }

  async #rename (): Promise<void> {
    await this.#starting
    const responder = this.#responder
    const old = this.#service
    if (!responder || !old || old.isDestroyed() || this.#stopping || !this.#advertised) return
    const name = instanceName(this.facts.name, this.#advertised.host)
    if (name === this.#status.instanceName) return
    const txt = txtRecord(this.facts, this.identity.fingerprint, this.opts.includeVersion)
    this.#service = null
    await old.end().catch((err: unknown) => { this.#log.debug({ err }, 'mdns goodbye for the old name failed') })
    await old.destroy().catch((err: unknown) => { this.#log.debug({ err }, 'mdns service destroy failed') })
    if (this.#stopping) return
    await this.#advertise(responder, name, txt)
  }

  /**
   * Loads the mDNS library. Called at registration so that loading it is not on the path from
   * listen() to the first announcement; a server with mDNS off never loads it.
   */
  prepare (): Promise<typeof import('@homebridge/ciao')> {
    this.#ciao ??= import('@homebridge/ciao')
    return this.#ciao
  }

  /**
   * Starts advertising `port`. `bindAddress` is where the server listens: loopback is not
   * advertised, and a specific address restricts the advertisement to its interface (unless
   * the `interface` option says otherwise). Resolves when the first announcement is out or
   * advertising failed; never rejects.
   */
  start (port: number, bindAddress: string): Promise<void> {
    this.#starting ??= this.#start(port, bindAddress).catch((err: unknown) => {
      // Closing while probing cancels the probe: not a failure.
      if (this.#stopping) { this.#log.debug({ err }, 'mdns advertisement cancelled by close'); return }
      const error = err instanceof MdnsAdvertiseError ? err : new MdnsAdvertiseError(`mDNS advertisement failed: ${(err as Error)?.message ?? String(err)}`, { cause: err })
      this.#set('failed', { reason: error.message })
      this.#log.warn({ err: error }, 'mdns advertisement failed; the server keeps running without it')
      return this.#release()
    })
    return this.#starting
  }

  async #start (port: number, bindAddress: string): Promise<void> {
    if (this.#stopping) return
    if (isLoopback(bindAddress)) {
      this.#set('skipped', { reason: `the server listens on ${bindAddress} only` })
      this.#log.info({ bind: bindAddress }, 'mdns not advertised: the server listens on loopback only')
      return
    }
    const iface = this.opts.interface ?? (isWildcard(bindAddress) ? undefined : bindAddress)
    // ciao accepts an unknown interface and then advertises on loopback only: check it here.
    if (iface !== undefined && !interfaceExists(iface)) throw new MdnsAdvertiseError(`mDNS interface '${iface}' not found or has no address`)
    const interfaces = iface ?? externalInterfaces()
    if (interfaces.length === 0) throw new MdnsAdvertiseError('no network interface to advertise on (only loopback found)')
    // What the connection string gives out, mDNS gives out too: a connect host name becomes the
    // SRV target (its first label, `.local`), and a connect address of this machine is the only
    // address advertised. A loopback or foreign connect address (a port forward) changes nothing.
    const connectHost = this.facts.connectHost
    const connectIsAddress = isIP(connectHost) !== 0
    const host = this.opts.hostname ?? shortHostname(connectIsAddress ? undefined : connectHost)
    const restrictedAddresses = connectIsAddress && !isLoopback(connectHost) && isOwnAddress(connectHost) ? [connectHost] : undefined
    if (connectIsAddress && !isLoopback(connectHost) && restrictedAddresses === undefined) {
      this.#log.info({ connectHost }, 'mdns: the connect host is not an address of this machine; advertising its own addresses')
    }
    const name = instanceName(this.facts.name, host)
    const txt = txtRecord(this.facts, this.identity.fingerprint, this.opts.includeVersion)
    const ciao = await this.prepare()
    if (this.#stopping) return
    let responder: Responder
    try {
      responder = ciao.getResponder({ interface: interfaces })
    } catch (err) {
      throw new MdnsAdvertiseError(`mDNS responder could not start${iface ? ` on ${iface}` : ''}: ${(err as Error).message}`, { cause: err })
    }
    this.#responder = responder
    this.#advertised = { host, port, interfaces, restrictedAddresses }
    await this.#advertise(responder, name, txt)
  }

  /** Creates and announces the service on `responder` under `name`. */
  async #advertise (responder: Responder, name: string, txt: Record<string, string>): Promise<void> {
    const { host, port, interfaces, restrictedAddresses } = this.#advertised!
    const service = responder.createService({ name, type: SERVICE_TYPE, port, hostname: host, txt, ...(restrictedAddresses ? { restrictedAddresses } : {}) })
    this.#service = service
    service.on('name-change', (renamed: string) => {
      this.#log.warn({ from: this.#status.instanceName, to: renamed }, 'mdns name conflict on the network; advertising under a new name')
      this.#set(this.#status.state, { instanceName: renamed })
    })
    service.on('hostname-change', (renamed: string) => {
      const bare = renamed.replace(/\.$/, '')
      const newHost = bare.endsWith('.local') ? bare : `${bare}.local`
      this.#log.warn({ from: this.#status.host, to: newHost }, 'mdns host name conflict on the network; advertising under a new host name')
      this.#set(this.#status.state, { host: newHost })
    })
    this.#set('probing', { instanceName: name, host: `${host}.local`, port, txt })
    this.#log.debug({ instanceName: name, port, interfaces, restrictedAddresses }, 'mdns probing')
    await service.advertise()
    if (this.#stopping) return
    this.#set('announced', {})
    this.#log.info({ instanceName: this.#status.instanceName, host: this.#status.host, port, txt, interfaces }, 'mdns advertised')
  }

  /** Sends goodbye packets (bounded by `goodbyeTimeoutMs`) and closes the responder. Idempotent. */
  stop (): Promise<void> {
    this.#stopping ??= this.#stop()
    return this.#stopping
  }

  async #stop (): Promise<void> {
    const service = this.#service
    // Goodbye packets only go out for an announced service; ending a probe just cancels it.
    const ciaoState = service?.serviceState as string | undefined
    const wasUp = ciaoState === 'announcing' || ciaoState === 'announced'
    if (service && !service.isDestroyed()) {
      let timer: NodeJS.Timeout | undefined
      const deadline = new Promise<void>(resolve => { timer = setTimeout(resolve, this.opts.goodbyeTimeoutMs); timer.unref() })
      try {
        await Promise.race([service.end().catch((err: unknown) => { this.#log.debug({ err }, 'mdns goodbye failed') }), deadline])
      } finally {
        clearTimeout(timer)
      }
    }
    await this.#release()
    if (wasUp) this.#log.info({ instanceName: this.#status.instanceName }, 'mdns goodbye sent')
    if (this.#status.state !== 'failed' && this.#status.state !== 'skipped') this.#set('stopped', {})
  }

  async #release (): Promise<void> {
    const service = this.#service
    const responder = this.#responder
    this.#service = null
    this.#responder = null
    try { if (service && !service.isDestroyed()) await service.destroy() } catch (err) { this.#log.debug({ err }, 'mdns service destroy failed') }
    // The responder is shared per process and ref-counted: each server shuts it down exactly once.
    try { if (responder) await responder.shutdown() } catch (err) { this.#log.debug({ err }, 'mdns responder shutdown failed') }
  }

  dispose (): Promise<void> {
    this.#rotation.dispose()
    return this.stop()
  }

  #set (state: MdnsState, patch: Partial<MdnsStatus>): void {
    this.#status = { ...this.#status, ...patch, state }
  }
}
