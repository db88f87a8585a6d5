// The public entry of the package: the server, its options, errors and provider interfaces.
export { createServer, type ClaudetteServer, type ReloadReport } from './server.js'
export { ServerOptions, type ServerOptionsInput } from './server-options.js'
export {
  AppError, ClientError, ConfigError, ConfigFileError, RpcInvalidParamsError, RpcUnknownMethodError, createError, toWireError,
  type AppErrorClass, type ErrorSpec, type WireError,
} from './core/errors.js'
export type { RpcContext, RpcMethod, RpcHandler } from './core/rpc/registry.js'
export type { RpcConnection } from './core/rpc/hub.js'
export { WireFrame } from './core/rpc/ws-frame.js'
export { serializeEvent, sortKeys } from './core/rpc/serialize.js'
export type { ConnectionHub, RpcRegistry } from './core/rpc/types.js'
export type { AuthSession } from './core/rpc/auth.js'
export type { Disposable, Event } from './core/lifecycle.js'
export { DisposableStore, Emitter, toDisposable } from './core/lifecycle.js'
export { CORE, token, resolve, type Token } from './core/tokens.js'
export { TlsIdentityError } from './plugins/tls/errors.js'
export { StoreOpenError } from './plugins/store/errors.js'
export { SessionNotFoundError } from './plugins/auth/errors.js'
export type { TerminalProvider, TerminalSession, TerminalExit, SpawnRequest, PtyEncoding, PtyInfo } from './plugins/terminals/types.js'
export { TerminalsOptions, NodePtyProvider } from './plugins/terminals/index.js'
export {
  PtyNotFoundError, PtyExitedError, PtyLimitError, PtyInputTooLargeError, PtyFrameMalformedError,
  PtyCwdRequiredError, PtySpawnError, PtyWorkspaceNotFoundError, TerminalsClosedError,
} from './plugins/terminals/errors.js'
export {
  RepoNotFoundError, WorkspaceNotFoundError, WorkspaceNoWorktreeError, InvalidWorkspaceNameError, WorkspaceExistsError,
  WorkspaceStateError, MissingInputError, PathNotAllowedError, NotAGitRepositoryError, RepoExistsError, RepoInUseError,
  RepoOperationUnsupportedError, InvalidRefError, GitCommandError, SettingNotAllowedError, PlanFileError,
} from './plugins/repos/errors.js'
export {
  REPOS, WORKSPACE_CHANGED_EVENT, Repository, Workspace, SetupResult, DiffFile, FileDiff,
  type RepoProvider, type RepoInfo, type AddRepositoryRequest, type WorkspaceDirectory, type WorkspaceChangedPayload,
  type WorkspaceLifecycle, type WorkspaceInsertedEvent, type WorkspaceArchivingEvent, type InitialDataContributor,
} from './plugins/repos/types.js'
export { ReposOptions } from './plugins/repos/options.js'
export { SqliteRepoProvider } from './plugins/repos/repositories.js'
export type { RepoAdmin } from './plugins/repos/admin.js'
export type {
  AgentProvider, AgentSession, AgentStartRequest, AgentInput, AgentAnswer, AgentEvent, AgentSnapshot, PermissionLevel, ChatSnapshot, LiveEvent,
} from './plugins/agents/types.js'
export {
  AGENTS, AGENT_STREAM_EVENT, AGENT_PERMISSION_PROMPT_EVENT, CHECKPOINT_CREATED_EVENT, ConversationCheckpoint, CompletedTurnData, TurnToolActivity,
  WssAttachment, PendingControl, ChatSession, ChatMessage, InitialData,
} from './plugins/agents/types.js'
export { AgentsOptions, AgentRegistry, ClaudeCodeProvider, CommandProvider, StreamJsonSession, AGENT_PERMISSION_RESOLVED_EVENT } from './plugins/agents/index.js'
export {
  ChatSessionNotFoundError, AgentSessionNotFoundError, AgentWorkspaceNotFoundError, AgentNoWorktreeError, AgentNotActiveError,
  AgentNoPendingRequestError, AgentWrongToolError, AgentEmptySteerError, AgentQueueFullError, ChatSessionNameEmptyError, AgentSpawnError,
  AgentStdinError, AgentProviderConfigError,
} from './plugins/agents/errors.js'
export { VERSION } from './core/version.js'
export { MetricsOptions, parseMetricsBind } from './plugins/metrics/options.js'
export { MetricsBindError } from './plugins/metrics/errors.js'
export type { MetricsEndpoint } from './plugins/metrics/types.js'
// TypeBox, which RPC methods' params are written in: from here an embedder's `Type` is the copy
// the server validates with, whatever its package manager hoists.
export { Type, type Static, type TSchema } from 'typebox'
export { escapeControls, escapeControlsInJson, stripControls } from './core/text.js'
export { openAdmin, serverStatus, type Admin, type ConfigEntry, type OpenAdminOptions } from './admin.js'
export { CONFIG_KEYS, ServerTomlSchema, configValueFromText, closestKnown as closestConfigKey, type ConfigKey } from './plugins/store/index.js'
export type { ServerConfig, ConfigWarning } from './plugins/store/types.js'
export { isHostAddress } from './core/host.js'
export { resolveServerHome } from './core/home.js'
export { connectHostProblem } from './core/connect-host.js'
export type { ServerStatus, ServedConnection } from './plugins/control/types.js'
export { ControlHomeInUseError, ControlNoAnswerError, ControlSocketError } from './plugins/control/errors.js'
// The wire protocol: TypeBox schemas of every method's params and result and every event's payload.
export * as protocol from './protocol/index.js'
// The client SDK (ClaudetteClient, pair, TrustStore, parseConnectionString, client errors).
export * from './client/index.js'
// Running the server as a systemd or launchd service (`claudette-server service …`).
export * from './service/index.js'
