import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { parseOptions } from '../../core/options.js'
import { CORE, resolve } from '../../core/tokens.js'
import { REPOS } from '../repos/types.js'
import { AgentProviderConfigError } from './errors.js'
import { agentMethods } from './methods.js'
import { AGENTS_OPTIONS, AgentsOptions } from './options.js'
import { ClaudeCodeProvider, CommandProvider } from './providers.js'
import { AgentRegistry } from './registry.js'
import { AgentStore } from './store.js'
import { AGENTS, type AgentProvider } from './types.js'

/** Coding agents: providers, chat sessions, prompts, checkpoints, broadcast and recovery. */
const agentsPlugin: FastifyPluginAsync<Partial<AgentsOptions>> = async (app, raw) => {
  const opts = parseOptions(AgentsOptions, raw, 'agents')
  const log = resolve(app.di, CORE.Log).child({ plugin: 'agents' })
  const deps = { log, stopTimeoutMs: opts.stopTimeoutMs, maxLineBytes: opts.maxLineBytes }
  const providers = new Map<string, AgentProvider>()
  const add = (p: AgentProvider): void => {
    if (typeof p?.kind !== 'string' || typeof p.start !== 'function') throw new AgentProviderConfigError('invalid agents option providers: each needs a kind and start()')
    if (providers.has(p.kind)) throw new AgentProviderConfigError(`invalid agents option: two agent providers have the kind '${p.kind}'`)
    providers.set(p.kind, p)
  }
  add(new ClaudeCodeProvider(opts.claudePath, opts.claudeArgs, { ...deps, ...(opts.agentUid !== undefined ? { agentUid: opts.agentUid } : {}) }))
  for (const c of opts.commands) add(new CommandProvider(c, deps))
  for (const p of opts.providers) add(p)
  if (!providers.has(opts.defaultProvider)) throw new AgentProviderConfigError(`invalid agents option defaultProvider: no provider '${opts.defaultProvider}'`)

  app.di.registerInstance(AGENTS_OPTIONS, opts)
  app.di.registerInstance(AGENTS.Providers, providers)
  app.di.registerSingleton(AGENTS.Store, AgentStore)
  app.di.registerSingleton(AGENTS.Registry, AgentRegistry)
  const store = resolve(app.di, AGENTS.Store)
  const registry = resolve(app.di, AGENTS.Registry)
  const directory = resolve(app.di, REPOS.Directory)

  const rpc = resolve(app.di, CORE.Rpc)
  rpc.registerAll(agentMethods(registry, opts, new Set(providers.keys())))
  // We keep no `claude --help` flag cache, so there is nothing to refresh; the method exists for clients.
  if (!rpc.has('refresh_claude_flags')) rpc.register({ name: 'refresh_claude_flags', handler: () => null })

  const hooks = [
    // Synchronous, inside the transaction that inserts the workspace: the workspace and its
    // first chat session commit together, and a failing insert here rolls the create back.
    directory.onDidInsertWorkspace(e => { store.insertFirstSession(e.defaultSessionId, e.workspace.id, e.workspace.created_at) }),
    // The archive waits until the workspace's agents have stopped, before its worktree goes.
    directory.onWillArchiveWorkspace(e => { e.waitUntil(registry.stopWorkspace(e.workspace.id)) }),
    directory.addInitialDataContributor(() => ({ last_messages: store.lastMessages() })),
  ]
  // onClose runs before the store's (LIFO): every agent is stopped while the database is open.
  app.addHook('onClose', async () => {
    for (const h of hooks) await h.dispose()
    await registry.dispose()
  })
}

export default fp(agentsPlugin, { name: 'agents', fastify: '5.x', dependencies: ['store', 'repos'], decorators: { fastify: ['di'] } })
export { AgentsOptions } from './options.js'
export { AgentRegistry, AGENT_PERMISSION_RESOLVED_EVENT } from './registry.js'
export { ClaudeCodeProvider, CommandProvider, claudeArgs } from './providers.js'
export { StreamJsonSession } from './process.js'
