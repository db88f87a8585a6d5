// The server's metrics, all in one registry per server (never prom-client's global default), fed
// by the events core and the plugins already fire, and by gauges read at scrape time.
import { collectDefaultMetrics, Counter, Gauge, Histogram, type Registry } from 'prom-client'
import { DisposableStore, type Disposable } from '../../core/lifecycle.js'
import type { ConnectionHub, RpcRegistry } from '../../core/rpc/types.js'
import type { ChatAgents } from '../agents/types.js'
import type { DeviceAuth } from '../auth/types.js'
import type { TerminalRegistry } from '../terminals/types.js'

/** The `method` label of calls to a name no plugin registered (never the name itself: clients choose it). */
export const UNKNOWN_METHOD = '(unknown)'

/** RPC latency buckets, in seconds: most calls take well under 10 ms; git and agent starts take longer. */
export const RPC_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

export interface MetricSources {
  readonly rpc: RpcRegistry
  readonly hub: ConnectionHub
  readonly auth: DeviceAuth | null
  readonly terminals: TerminalRegistry | null
  readonly agents: ChatAgents | null
}

/** Registers every metric in `registry`; the returned disposable unsubscribes from the sources. */
export function registerServerMetrics (registry: Registry, s: MetricSources): Disposable {
  const subs = new DisposableStore()
  const registers = [registry]
  // Process memory, CPU, file descriptors, event-loop lag (monitorEventLoopDelay), GC, heap.
  collectDefaultMetrics({ register: registry })

  const { hub } = s
  new Gauge({
    name: 'claudette_connections',
    help: 'Open WebSocket connections, by state (authenticated or not yet)',
    labelNames: ['state'] as const,
    registers,
    collect () {
      const authenticated = hub.authenticated().length
      this.set({ state: 'authenticated' }, authenticated)
      this.set({ state: 'unauthenticated' }, Math.max(0, hub.size - authenticated))
    },
  })
  const accepted = new Counter({ name: 'claudette_connections_accepted_total', help: 'WebSocket connections admitted', registers })
  const refused = new Counter({
    name: 'claudette_connections_refused_total',
    help: 'WebSocket connections refused at admission, by cause (limit: a connection cap; authenticator: the address is locked out)',
    labelNames: ['cause'] as const,
    registers,
  })
  const closed = new Counter({
    name: 'claudette_connections_closed_total',
    help: 'WebSocket connections closed, by whether they had authenticated',
    labelNames: ['authenticated'] as const,
    registers,
  })
  for (const cause of ['limit', 'authenticator']) refused.inc({ cause }, 0)
  for (const a of ['true', 'false']) closed.inc({ authenticated: a }, 0)
  subs.add(hub.onOpened(() => { accepted.inc() }))
  subs.add(hub.onRefused(e => { refused.inc({ cause: e.cause }) }))
  subs.add(hub.onClosed(c => { closed.inc({ authenticated: c.session !== null ? 'true' : 'false' }) }))

  if (s.auth) {
    const failures = new Counter({ name: 'claudette_auth_failures_total', help: 'Failed authentication attempts (wrong token, deadline missed, parse-error floods)', registers })
    const lockouts = new Counter({ name: 'claudette_auth_lockouts_total', help: 'Addresses locked out after too many failed attempts', registers })
    subs.add(s.auth.onDidFail(() => { failures.inc() }))
    subs.add(s.auth.onDidLockOut(() => { lockouts.inc() }))
  }

  const calls = new Counter({
    name: 'claudette_rpc_calls_total',
    help: `RPC requests answered after authentication, by method and outcome (ok, error: an error for the client, internal: a server fault); unregistered names count as method="${UNKNOWN_METHOD}"`,
    labelNames: ['method', 'outcome'] as const,
    registers,
  })
  const duration = new Histogram({
    name: 'claudette_rpc_duration_seconds',
    help: 'Time from a request\'s arrival to its answer, by method',
    labelNames: ['method'] as const,
    buckets: RPC_BUCKETS,
    registers,
  })
  subs.add(s.rpc.onDidHandle(e => {
    const method = e.method ?? UNKNOWN_METHOD
    calls.inc({ method, outcome: e.outcome })
    duration.observe({ method }, e.ms / 1000)
  }))

  if (s.terminals) {
    const terminals = s.terminals
    new Gauge({ name: 'claudette_terminals', help: 'Terminals the server holds (running, or exited and not closed yet)', registers, collect () { this.set(terminals.size) } })
    const opened = new Counter({ name: 'claudette_terminals_opened_total', help: 'Terminals started', registers })
    subs.add(terminals.onDidOpen(() => { opened.inc() }))
  }
  if (s.agents) {
    const agents = s.agents
    new Gauge({ name: 'claudette_agents_running', help: 'Chat sessions with a live agent process (running a turn, idle between turns, or starting)', registers, collect () { this.set(agents.size) } })
    const started = new Counter({ name: 'claudette_agents_started_total', help: 'Agent processes started', registers })
    subs.add(agents.onDidStart(() => { started.inc() }))
  }
  return subs
}
