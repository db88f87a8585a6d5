// Network-namespace rig for mDNS tests (after ../shared/tools/mdns-netns.sh): two namespaces
// joined by a veth pair that only ever exists inside them, so multicast never reaches the host's
// interfaces. Names are unique per process and test, and everything is torn down on teardown.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import { eventually, waitFor } from './wait.js'

export const ROOT = new URL('../../', import.meta.url).pathname
/** Node, for the .mjs fixtures that run the built dist/ (npm test builds it before tap). */
export const NODE = process.execPath

/** Why the built dist/ cannot be used (not built), or null. */
export function distUnavailable (): string | null {
  return existsSync(join(ROOT, 'dist/src/plugins/mdns/index.js')) && existsSync(join(ROOT, 'dist/src/client/nearby.js'))
    ? null
    : 'dist/ is not built (run npm run build, or npm test which builds it first)'
}

let counter = 0

const has = (cmd: string): boolean => {
  try { execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }); return true } catch { return false }
}

/** Why namespace tests cannot run here, or null when they can. */
export function netnsUnavailable (): string | null {
  if (process.platform !== 'linux') return 'network namespaces need Linux'
  if (process.getuid?.() !== 0) return 'network namespaces need root'
  if (!has('ip')) return "the 'ip' command (iproute2) is not installed"
  const probe = `clprobe${process.pid}`
  try {
    execFileSync('ip', ['netns', 'add', probe], { stdio: 'pipe' })
    execFileSync('ip', ['netns', 'del', probe], { stdio: 'pipe' })
    return null
  } catch (err) {
    return `ip netns add is not permitted here: ${(err as Error).message.split('\n')[0]}`
  }
}

/** Why the avahi interop tests cannot run, or null. */
export function avahiUnavailable (): string | null {
  for (const cmd of ['avahi-daemon', 'avahi-browse', 'avahi-publish', 'dbus-daemon', 'unshare']) {
    if (!has(cmd)) return `${cmd} is not installed (apt-get install avahi-daemon avahi-utils dbus)`
  }
  return null
}

export interface Side {
  /** Namespace name. */
  readonly ns: string
  /** The veth interface inside it. */
  readonly iface: string
  readonly address: string
}

export interface Rig {
  readonly a: Side
  readonly b: Side
  /** With `{ third: true }`: a namespace joined to A only, by a second veth pair (A's end: `vA2`, 10.98.0.1). */
  readonly c: Side
  /** With `{ bare: true }`: a namespace with loopback only (no other interface, no multicast route). */
  readonly d: Side
  /** Spawns a process inside a namespace (optionally with its own UTS namespace and host name). */
  spawn (side: Side, argv: string[], opts?: { hostname?: string, env?: NodeJS.ProcessEnv }): ChildProcess
  /** Starts avahi-daemon (with its own dbus) inside a namespace; returns the env avahi-* tools need. */
  avahi (side: Side): Promise<NodeJS.ProcessEnv>
  down (): Promise<void>
}

const ip = (...args: string[]): void => { execFileSync('ip', args, { stdio: 'pipe' }) }

/** Creates two joined namespaces for this test; removed on teardown (also on failure). */
export async function createRig (t: Pick<Test, 'teardown'>, opts: { third?: boolean, bare?: boolean } = {}): Promise<Rig> {
  const id = `${process.pid}x${++counter}`
  const a: Side = { ns: `cla${id}`, iface: 'vA', address: '10.99.0.1' }
  const b: Side = { ns: `clb${id}`, iface: 'vB', address: '10.99.0.2' }
  const c: Side = { ns: `clc${id}`, iface: 'vC', address: '10.98.0.3' }
  const d: Side = { ns: `cld${id}`, iface: 'lo', address: '127.0.0.1' }
  const sides = [a, b, ...(opts.third ? [c] : []), ...(opts.bare ? [d] : [])]
  const base = join(tmpdir(), `claudette-netns-${id}`)
  mkdirSync(base, { recursive: true })
  const children = new Set<ChildProcess>()
  let isDown = false

  const down = async (): Promise<void> => {
    if (isDown) return
    isDown = true
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM')
    for (const side of sides) {
      for (const pidFile of [join(base, `run-${side.ns}`, 'avahi-daemon', 'pid'), join(base, `run-${side.ns}`, 'dbus', 'pid')]) {
        try { process.kill(Number(readFileSync(pidFile, 'utf8').trim()), 'SIGTERM') } catch { /* not running */ }
      }
    }
    const pidsIn = (ns: string): string[] => {
      try { return execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).split(/\s+/).filter(Boolean) } catch { return [] }
    }
    // A grace period for SIGTERM; whatever is still in a namespace after it is killed.
    await eventually(() => sides.every(side => pidsIn(side.ns).length === 0), { timeout: 2000, interval: 50 })
    for (const side of sides) {
      for (const pid of pidsIn(side.ns)) { try { process.kill(Number(pid), 'SIGKILL') } catch { /* gone */ } }
      try { ip('netns', 'del', side.ns) } catch { /* gone */ }
    }
    rmSync(base, { recursive: true, force: true })
  }
  t.teardown(down)

  try {
    for (const side of sides) ip('netns', 'add', side.ns)
    // Created directly inside the namespaces: the pairs never exist in the root namespace.
    ip('link', 'add', a.iface, 'netns', a.ns, 'type', 'veth', 'peer', 'name', b.iface, 'netns', b.ns)
    if (opts.third) {
      ip('link', 'add', 'vA2', 'netns', a.ns, 'type', 'veth', 'peer', 'name', c.iface, 'netns', c.ns)
      ip('netns', 'exec', a.ns, 'ip', 'addr', 'add', '10.98.0.1/24', 'dev', 'vA2')
      ip('netns', 'exec', a.ns, 'ip', 'link', 'set', 'vA2', 'multicast', 'on', 'up')
    }
    if (opts.bare) ip('netns', 'exec', d.ns, 'ip', 'link', 'set', 'lo', 'up')
    for (const side of [a, b, ...(opts.third ? [c] : [])]) {
      ip('netns', 'exec', side.ns, 'ip', 'link', 'set', 'lo', 'up')
      ip('netns', 'exec', side.ns, 'ip', 'addr', 'add', `${side.address}/24`, 'dev', side.iface)
      ip('netns', 'exec', side.ns, 'ip', 'link', 'set', side.iface, 'multicast', 'on', 'up')
      ip('netns', 'exec', side.ns, 'ip', 'route', 'add', '224.0.0.0/4', 'dev', side.iface)
    }
  } catch (err) {
    await down()
    throw err
  }

  const spawnIn = (side: Side, argv: string[], opts: { hostname?: string, env?: NodeJS.ProcessEnv } = {}): ChildProcess => {
    const cmd = opts.hostname
      ? ['ip', 'netns', 'exec', side.ns, 'unshare', '--uts', 'sh', '-c', 'hostname "$0" && exec "$@"', opts.hostname, ...argv]
      : ['ip', 'netns', 'exec', side.ns, ...argv]
    const child = spawn(cmd[0]!, cmd.slice(1), { cwd: ROOT, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] })
    children.add(child)
    child.once('exit', () => children.delete(child))
    return child
  }

  const avahi = async (side: Side): Promise<NodeJS.ProcessEnv> => {
    const run = join(base, `run-${side.ns}`)
    mkdirSync(run, { recursive: true })
    const conf = join(base, `avahi-${side.ns}.conf`)
    const log = join(base, `avahi-${side.ns}.log`)
    writeFileSync(conf, `[server]\nhost-name=host-${side.iface}\nuse-ipv4=yes\nuse-ipv6=no\nallow-interfaces=${side.iface}\nenable-dbus=yes\n[wide-area]\nenable-wide-area=no\n[publish]\npublish-hinfo=no\npublish-workstation=no\n`)
    // Own mount namespace with our directory over /run: its own dbus socket and pid files.
    const script = `mount --bind '${run}' /run && mkdir -p /run/dbus /run/avahi-daemon && dbus-daemon --system --fork && exec avahi-daemon --no-drop-root --no-chroot --no-rlimits -f '${conf}' > '${log}' 2>&1`
    const child = spawn('ip', ['netns', 'exec', side.ns, 'unshare', '-m', '--propagation', 'private', 'sh', '-c', script], { stdio: 'ignore' })
    children.add(child)
    child.once('exit', () => children.delete(child))
    await waitFor(() => existsSync(log) && readFileSync(log, 'utf8').includes('Server startup complete'), {
      interval: 100,
      what: () => `avahi-daemon to start in ${side.ns}: ${existsSync(log) ? readFileSync(log, 'utf8') : '(no log)'}`,
    })
    return { DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${join(run, 'dbus', 'system_bus_socket')}` }
  }

  return { a, b, c, d, spawn: spawnIn, avahi, down }
}

/** Collects a child's output line by line and waits for a line matching a predicate. */
export class Lines {
  readonly lines: string[] = []
  readonly #waiters = new Set<{ test: (l: string) => boolean, resolve: (l: string) => void }>()
  constructor (stream: NodeJS.ReadableStream) {
    let buf = ''
    stream.setEncoding('utf8')
    stream.on('data', (chunk: string) => {
      buf += chunk
      let i
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i)
        buf = buf.slice(i + 1)
        this.lines.push(line)
        for (const w of [...this.#waiters]) if (w.test(line)) { this.#waiters.delete(w); w.resolve(line) }
      }
    })
  }

  /** Resolves with the first line (already seen or future) that passes `test`; rejects after `ms`. */
  wait (test: (l: string) => boolean, ms: number, what = 'line'): Promise<string> {
    const seen = this.lines.find(test)
    if (seen !== undefined) return Promise.resolve(seen)
    return new Promise((resolve, reject) => {
      const w = { test, resolve: (l: string) => { clearTimeout(timer); resolve(l) } }
      const timer = setTimeout(() => { this.#waiters.delete(w); reject(new Error(`timed out after ${ms} ms waiting for ${what}; got:\n${this.lines.slice(-20).join('\n')}`)) }, ms)
      this.#waiters.add(w)
    })
  }
}

/** Parses JSON lines (ignores the rest). */
export const json = (line: string): Record<string, unknown> | null => {
  try { const v = JSON.parse(line) as unknown; return v && typeof v === 'object' ? v as Record<string, unknown> : null } catch { return null }
}
