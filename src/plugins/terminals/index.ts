import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { ConfigError } from '../../core/errors.js'
import { parseOptions } from '../../core/options.js'
import { CORE, resolve } from '../../core/tokens.js'
import { terminalMethods, ptyInputHandler } from './methods.js'
import { NodePtyProvider, loadNodePty } from './node-pty-provider.js'
import { TERM_OPTIONS, TerminalsOptions } from './options.js'
import { directoryPlacer } from './placement.js'
import { PtyRegistry } from './registry.js'
import { REPOS } from '../repos/types.js'
import { PtyFrame, TERM, TERM_PLACER } from './types.js'

/** Terminals: owned, persistent, replayable, multi-attach ptys with a binary fast path. */
const terminalsPlugin: FastifyPluginAsync<Partial<TerminalsOptions>> = async (app, raw) => {
  const opts = parseOptions(TerminalsOptions, raw, 'terminals')
  if (opts.lowWaterMark >= opts.highWaterMark) {
    throw new ConfigError('invalid terminals option lowWaterMark must be below highWaterMark')
  }
  const runner = resolve(app.di, CORE.ProcessRunner)
  const log = resolve(app.di, CORE.Log).child({ plugin: 'terminals' })
  // Without node-pty's binary the server still runs: the log says once why terminals do not, and
  // each spawn_pty answers the same line (PtySpawnError).
  if (!opts.provider) {
    try { loadNodePty() } catch (err) { log.error((err as Error).message) }
  }
  const provider = opts.provider ?? new NodePtyProvider({
    shell: opts.shell ?? process.env.SHELL ?? '/bin/sh',
    shellArgs: opts.shellArgs,
    exitBarrier: opts.exitBarrier,
    guardSession: sid => runner.guardSession(sid),
    warn: msg => { log.warn(msg) },
  })
  app.di.registerInstance(TERM_OPTIONS, opts)
  app.di.registerInstance(TERM.Provider, provider)
  app.di.registerInstance(TERM_PLACER, directoryPlacer(app.di))
  app.di.registerSingleton(TERM.Registry, PtyRegistry)
  const registry = resolve(app.di, TERM.Registry)

  const rpc = resolve(app.di, CORE.Rpc)
  rpc.registerAll(terminalMethods(registry, opts))
  rpc.registerBinary(PtyFrame.Input, ptyInputHandler(registry))
  rpc.addCapability('pty-binary')

  // A workspace's worktree is removed when it is archived: its shells go first.
  const archiveHook = resolve(app.di, REPOS.Directory).addArchiveHook(ws => { registry.closeWorkspace(ws.id) })

  app.addHook('preClose', async () => { registry.beginClose() })
  app.addHook('onClose', async () => { await archiveHook.dispose() })
  app.addHook('onClose', async () => { await registry.dispose() })
}

export default fp(terminalsPlugin, { name: 'terminals', fastify: '5.x', dependencies: ['auth', 'repos'], decorators: { fastify: ['di'] } })
export { TerminalsOptions } from './options.js'
export { NodePtyProvider } from './node-pty-provider.js'
