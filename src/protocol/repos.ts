// Repositories, workspaces, diffs and settings: the [R] and [S] methods of claudette-wire.md §6
// (shapes §6.1–§6.2), plus add_repository, remove_repository and read_plan_file (ours).
import { Type, type Static } from 'typebox'
import { ChatMessage } from './agents.js'
import { AgentStatus, Defaulted, NoParams, Nullable, NullResult, WorkspaceStatus } from './common.js'

const inputCommon = {
  key: Type.String(),
  label: Type.String(),
  description: Type.Optional(Type.String()),
  required: Type.Boolean(),
}
/** A repository's declared workspace input (`required_inputs`), tagged by `type`. Unset optionals are left out. */
export const InputField = Type.Union([
  Type.Object({ type: Type.Literal('boolean'), ...inputCommon, default: Type.Optional(Type.Boolean()) }),
  Type.Object({ type: Type.Literal('string'), ...inputCommon, default: Type.Optional(Type.String()), placeholder: Type.Optional(Type.String()) }),
  Type.Object({
    type: Type.Literal('number'), ...inputCommon, default: Type.Optional(Type.Number()),
    min: Type.Optional(Type.Number()), max: Type.Optional(Type.Number()), step: Type.Optional(Type.Number()), unit: Type.Optional(Type.String()),
  }),
])
export type InputField = Static<typeof InputField>

export const Repository = Type.Object({
  archive_script: Nullable(Type.String()),
  archive_script_auto_run: Type.Boolean(),
  base_branch: Nullable(Type.String()),
  branch_rename_preferences: Nullable(Type.String()),
  created_at: Type.String(),
  custom_instructions: Nullable(Type.String()),
  default_remote: Nullable(Type.String()),
  icon: Nullable(Type.String()),
  id: Type.String(),
  name: Type.String(),
  path: Type.String(),
  path_slug: Type.String(),
  path_valid: Type.Boolean(),
  required_inputs: Nullable(Type.Array(InputField)),
  setup_script: Nullable(Type.String()),
  setup_script_auto_run: Type.Boolean(),
  sort_order: Type.Integer(),
})
export type Repository = Static<typeof Repository>

export const Workspace = Type.Object({
  agent_status: AgentStatus,
  branch_name: Type.String(),
  created_at: Type.String(),
  id: Type.String(),
  input_values: Nullable(Type.Record(Type.String(), Type.String())),
  name: Type.String(),
  repository_id: Type.String(),
  sort_order: Type.Integer(),
  status: WorkspaceStatus,
  status_line: Type.String(),
  worktree_path: Nullable(Type.String()),
})
export type Workspace = Static<typeof Workspace>

export const SetupResult = Type.Object({
  exit_code: Nullable(Type.Integer()),
  output: Type.String(),
  script: Type.String(),
  source: Type.Union([Type.Literal('repo'), Type.Literal('settings')]),
  success: Type.Boolean(),
  timed_out: Type.Boolean(),
})
export type SetupResult = Static<typeof SetupResult>

export const CreateWorkspaceResult = Type.Object({
  default_session_id: Type.String(),
  setup_result: Nullable(SetupResult),
  workspace: Workspace,
})
export type CreateWorkspaceResult = Static<typeof CreateWorkspaceResult>

export const RestoreWorkspaceResult = Type.Object({
  workspace: Workspace,
  worktree_path: Type.String(),
})
export type RestoreWorkspaceResult = Static<typeof RestoreWorkspaceResult>

export const DiffFileStatus = Type.Union([
  Type.Literal('Added'), Type.Literal('Modified'), Type.Literal('Deleted'),
  Type.Object({ Renamed: Type.Object({ from: Type.String() }) }),
])
export type DiffFileStatus = Static<typeof DiffFileStatus>

export const DiffFile = Type.Object({
  additions: Nullable(Type.Integer({ minimum: 0 })),
  deletions: Nullable(Type.Integer({ minimum: 0 })),
  path: Type.String(),
  status: DiffFileStatus,
})
export type DiffFile = Static<typeof DiffFile>

export const StagedDiffFiles = Type.Object({
  committed: Type.Array(DiffFile),
  staged: Type.Array(DiffFile),
  unstaged: Type.Array(DiffFile),
  untracked: Type.Array(DiffFile),
})
export type StagedDiffFiles = Static<typeof StagedDiffFiles>

export const DiffFilesResult = Type.Object({
  files: Type.Array(DiffFile),
  merge_base: Type.String(),
  staged_files: Nullable(StagedDiffFiles),
})
export type DiffFilesResult = Static<typeof DiffFilesResult>

export const DiffLine = Type.Object({
  content: Type.String(),
  line_type: Type.Union([Type.Literal('Context'), Type.Literal('Added'), Type.Literal('Removed')]),
  new_line_number: Nullable(Type.Integer()),
  old_line_number: Nullable(Type.Integer()),
})
export type DiffLine = Static<typeof DiffLine>

export const DiffHunk = Type.Object({
  header: Type.String(),
  lines: Type.Array(DiffLine),
  new_start: Type.Integer(),
  old_start: Type.Integer(),
})
export type DiffHunk = Static<typeof DiffHunk>

export const FileDiff = Type.Object({
  hunks: Type.Array(DiffHunk),
  is_binary: Type.Boolean(),
  path: Type.String(),
})
export type FileDiff = Static<typeof FileDiff>

export const InitialData = Type.Object({
  default_branches: Type.Record(Type.String(), Type.String()),
  last_messages: Type.Array(ChatMessage),
  repositories: Type.Array(Repository),
  workspaces: Type.Array(Workspace),
  worktree_base_dir: Type.String(),
})
export type InitialData = Static<typeof InitialData>

// ---------------------------------------------------------------------------------------------
// Parameters. String params default to "" as in the reference server, so a missing id answers
// its reference message (`Repository not found`, `Workspace not found`) rather than a schema error.
// ---------------------------------------------------------------------------------------------

const Id = Defaulted(Type.String({ maxLength: 200, default: '' }))
const Path = Defaulted(Type.String({ maxLength: 4096, default: '' }))
const SettingKey = Defaulted(Type.String({ maxLength: 200, default: '' }))

export const CreateWorkspaceParams = Type.Object({
  repository_id: Id,
  // Longer than any valid name (≤ 100), so overlong names still get the reference message.
  name: Defaulted(Type.String({ maxLength: 1000, default: '' })),
  preserve_name: Defaulted(Type.Boolean({ default: false })),
  /** Values for the repository's `required_inputs` (our addition; the reference never sends them). */
  input_values: Type.Optional(Type.Record(Type.String({ maxLength: 200 }), Type.String({ maxLength: 10_000 }))),
})
export const WorkspaceIdParams = Type.Object({ workspace_id: Id })
export const RepositoryIdParams = Type.Object({ repository_id: Id })

/** `diff_layer` of load_file_diff; anything else (or absent) means merge-base → working tree. */
export type DiffLayer = 'committed' | 'staged' | 'unstaged' | 'untracked'
export const LoadFileDiffParams = Type.Object({
  worktree_path: Path,
  file_path: Path,
  merge_base: Defaulted(Type.String({ maxLength: 200, default: '' })),
  diff_layer: Type.Optional(Type.Union([Type.String({ maxLength: 50 }), Type.Null()])),
})
export const GetAppSettingParams = Type.Object({ key: SettingKey })
export const SetAppSettingParams = Type.Object({ key: SettingKey, value: Defaulted(Type.String({ default: '' })) })
export const AddRepositoryParams = Type.Object({ path: Type.String({ minLength: 1, maxLength: 4096 }), name: Type.Optional(Type.String({ maxLength: 100 })) })
export const ReadPlanFileParams = Type.Object({ path: Path })

export const ReposMethods = {
  load_initial_data: { params: NoParams, result: InitialData },
  list_repositories: { params: NoParams, result: Type.Array(Repository) },
  list_workspaces: { params: NoParams, result: Type.Array(Workspace) },
  create_workspace: { params: CreateWorkspaceParams, result: CreateWorkspaceResult },
  archive_workspace: { params: WorkspaceIdParams, result: NullResult },
  restore_workspace: { params: WorkspaceIdParams, result: RestoreWorkspaceResult },
  load_diff_files: { params: WorkspaceIdParams, result: DiffFilesResult },
  load_file_diff: { params: LoadFileDiffParams, result: FileDiff },
  get_app_setting: { params: GetAppSettingParams, result: Nullable(Type.String()) },
  set_app_setting: { params: SetAppSettingParams, result: NullResult },
  add_repository: { params: AddRepositoryParams, result: Repository },
  remove_repository: { params: RepositoryIdParams, result: NullResult },
  read_plan_file: { params: ReadPlanFileParams, result: Type.String() },
} as const
