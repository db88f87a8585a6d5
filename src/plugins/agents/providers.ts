// The two built-in providers: Claude Code (the `claude` CLI in stream-json mode, kept alive per
// chat session as the reference does) and a generic command provider for any CLI that speaks
// the same stream-json protocol, configured by the operator.
import type { FastifyBaseLogger } from 'fastify'
import { AgentBypassAsRootError } from './errors.js'
import { StreamJsonSession, redactedCommandLine } from './process.js'
import type { CommandProviderOptions } from './options.js'
import type { AgentProvider, AgentSession, AgentStartRequest, PermissionLevel } from './types.js'

/** Tools pre-approved per level. Everything else is asked through `can_use_tool`. */
const TOOLS_STANDARD = ['Agent', 'Read', 'Write', 'Edit', 'Glob', 'Grep', 'WebSearch', 'WebFetch', 'AskUserQuestion', 'ExitPlanMode']
const TOOLS_READONLY = ['Agent', 'Read', 'Glob', 'Grep', 'WebSearch', 'WebFetch', 'AskUserQuestion', 'ExitPlanMode']
const EFFORTS = new Set(['low', 'medium', 'high', 'xhigh', 'max'])

/**
 * Environment variables of the server that must not leak into a nested agent. IS_SANDBOX tells
 * Claude Code it runs in a sandbox, which lets it skip permission checks as root: agents run
 * unsandboxed, so that signal is never passed on.
 */
const STRIPPED_ENV = ['CLAUDECODE', 'CLAUDE_CODE_ENTRYPOINT', 'CLAUDE_CODE_DISABLE_1M_CONTEXT', 'IS_SANDBOX']

export interface ProviderDeps {
  readonly log: FastifyBaseLogger
  readonly stopTimeoutMs: number
  readonly maxLineBytes: number
  /**
   * The user id Claude Code runs as (the server's effective uid unless the operator's claudePath
   * drops privileges); null where there are no uids. Claude Code refuses bypassPermissions as root.
   */
  readonly agentUid?: number | null
}

/** The argv of a persistent `claude` process for one chat session (no prompt: turns come on stdin). */
export function claudeArgs (req: AgentStartRequest, extra: readonly string[] = []): string[] {
  const args = [...extra,
    '--print', '--output-format', 'stream-json', '--input-format', 'stream-json', '--verbose',
    '--include-partial-messages', '--permission-prompt-tool', 'stdio',
    req.resume ? '--resume' : '--session-id', req.agentSessionId]
  // One argv value: a model name starting with '-' is never read as a flag of its own.
  if (req.model) args.push(`--model=${req.model}`)
  if (!req.resume && req.chromeEnabled) args.push('--chrome')
  if (req.planMode) args.push('--permission-mode', 'plan')
  else if (req.permissionLevel === 'bypass') args.push('--permission-mode', 'bypassPermissions')
  const settings: Record<string, boolean> = {}
  if (req.fastMode) settings.fastMode = true
  if (req.thinkingEnabled) settings.alwaysThinkingEnabled = true
  if (Object.keys(settings).length > 0) args.push('--settings', JSON.stringify(settings))
  if (req.effort && EFFORTS.has(req.effort)) args.push('--effort', req.effort)
  if (req.permissionLevel !== 'bypass') args.push('--allowedTools', toolsFor(req.permissionLevel).join(','))
  if (!req.resume && req.customInstructions?.trim()) args.push('--append-system-prompt', req.customInstructions)
  return args
}

export const toolsFor = (level: PermissionLevel): string[] => level === 'readonly' ? TOOLS_READONLY : TOOLS_STANDARD

function baseEnv (extra: Readonly<Record<string, string>>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env }
  for (const k of STRIPPED_ENV) delete env[k]
  return Object.assign(env, extra)
}

/** Runs the Claude Code CLI (`claudePath`, default `claude` from PATH). */
export class ClaudeCodeProvider implements AgentProvider {
  readonly kind = 'claude-code'
  constructor (private readonly claudePath: string, private readonly extraArgs: readonly string[], private readonly deps: ProviderDeps) {}

  start (req: AgentStartRequest): Promise<AgentSession> {
    const uid = this.deps.agentUid === undefined ? process.geteuid?.() ?? null : this.deps.agentUid
    // Plan mode replaces the level's permission mode, so only a real bypass is refused.
    if (req.permissionLevel === 'bypass' && !req.planMode && uid === 0) {
      const err = new AgentBypassAsRootError()
      this.deps.log.warn({ chatSessionId: req.chatSessionId, workspaceId: req.workspaceId }, err.message)
      return Promise.reject(err)
    }
    const args = claudeArgs(req, this.extraArgs)
    const env = baseEnv(req.env)
    if (req.disable1mContext) env.CLAUDE_CODE_DISABLE_1M_CONTEXT = '1'
    return StreamJsonSession.start({
      kind: this.kind,
      command: this.claudePath,
      args,
      cwd: req.cwd,
      env,
      commandLine: redactedCommandLine(this.claudePath, args),
      stopTimeoutMs: this.deps.stopTimeoutMs,
      maxLineBytes: this.deps.maxLineBytes,
      log: this.deps.log,
    })
  }
}

/**
 * Runs an operator-configured command that speaks stream-json on stdin/stdout. The turn settings
 * reach it as environment variables (CLAUDETTE_AGENT_*), since its flags are its own.
 */
export class CommandProvider implements AgentProvider {
  readonly kind: string
  constructor (private readonly cfg: CommandProviderOptions, private readonly deps: ProviderDeps) { this.kind = cfg.kind }

  start (req: AgentStartRequest): Promise<AgentSession> {
    const env = baseEnv({
      ...this.cfg.env ?? {},
      ...req.env,
      CLAUDETTE_AGENT_SESSION_ID: req.agentSessionId,
      CLAUDETTE_AGENT_RESUME: req.resume ? '1' : '0',
      CLAUDETTE_AGENT_PERMISSION_LEVEL: req.permissionLevel,
      CLAUDETTE_AGENT_ALLOWED_TOOLS: req.permissionLevel === 'bypass' ? '*' : toolsFor(req.permissionLevel).join(','),
      CLAUDETTE_AGENT_PLAN_MODE: req.planMode ? '1' : '0',
      CLAUDETTE_AGENT_MODEL: req.model ?? '',
      CLAUDETTE_AGENT_EFFORT: req.effort ?? '',
    })
    return StreamJsonSession.start({
      kind: this.kind,
      command: this.cfg.command,
      args: this.cfg.args ?? [],
      cwd: req.cwd,
      env,
      commandLine: redactedCommandLine(this.cfg.command, this.cfg.args ?? []),
      stopTimeoutMs: this.deps.stopTimeoutMs,
      maxLineBytes: this.deps.maxLineBytes,
      log: this.deps.log,
    })
  }
}
