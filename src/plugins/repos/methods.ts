import { Type } from 'typebox'
import { defineMethod, type AnyRpcMethod } from '../../core/rpc/registry.js'
import type { Confinement } from './confinement.js'
import type { WorkspaceDiffs } from './diff.js'
import type { InitialDataLoader } from './initial-data.js'
import type { RegisteredRepositories } from './registered-repositories.js'
import type { AppSettings } from './settings.js'
import type { Workspaces } from './workspaces.js'

/** The parts of the repos plugin its methods call. */
export interface ReposParts {
  readonly workspaces: Workspaces
  readonly repositories: RegisteredRepositories
  readonly diffs: WorkspaceDiffs
  readonly initialData: InitialDataLoader
  readonly confinement: Confinement
  readonly settings: AppSettings
}

// String params default to "" as in the reference server, so a missing id answers its
// reference message (`Repository not found`, `Workspace not found`) rather than a schema error.
const Id = Type.String({ maxLength: 200, default: '' })
const Path = Type.String({ maxLength: 4096, default: '' })

/** The [R] and [S] methods of claudette-wire.md §6, plus add_repository, remove_repository and read_plan_file. */
export function reposMethods ({ workspaces, repositories, diffs, initialData, confinement, settings }: ReposParts): AnyRpcMethod[] {
  return [
    defineMethod({ name: 'load_initial_data', params: Type.Object({}), handler: () => initialData.load() }),
    defineMethod({ name: 'list_repositories', params: Type.Object({}), handler: () => repositories.list() }),
    defineMethod({ name: 'list_workspaces', params: Type.Object({}), handler: () => workspaces.listWorkspaces() }),
    defineMethod({
      name: 'create_workspace',
      params: Type.Object({
        repository_id: Id,
        // Longer than any valid name (≤ 100), so overlong names still get the reference message.
        name: Type.String({ maxLength: 1000, default: '' }),
        preserve_name: Type.Boolean({ default: false }),
        /** Values for the repository's `required_inputs` (our addition; the reference never sends them). */
        input_values: Type.Optional(Type.Record(Type.String({ maxLength: 200 }), Type.String({ maxLength: 10_000 }))),
      }),
      handler: (p) => workspaces.createWorkspace(p),
    }),
    defineMethod({ name: 'archive_workspace', params: Type.Object({ workspace_id: Id }), handler: (p) => workspaces.archiveWorkspace(p.workspace_id) }),
    defineMethod({ name: 'restore_workspace', params: Type.Object({ workspace_id: Id }), handler: (p) => workspaces.restoreWorkspace(p.workspace_id) }),
    defineMethod({ name: 'load_diff_files', params: Type.Object({ workspace_id: Id }), handler: (p) => diffs.loadDiffFiles(p.workspace_id) }),
    defineMethod({
      name: 'load_file_diff',
      params: Type.Object({
        worktree_path: Path,
        file_path: Path,
        merge_base: Type.String({ maxLength: 200, default: '' }),
        diff_layer: Type.Optional(Type.Union([Type.String({ maxLength: 50 }), Type.Null()])),
      }),
      handler: (p) => diffs.loadFileDiff(p),
    }),
    defineMethod({
      name: 'get_app_setting',
      params: Type.Object({ key: Type.String({ maxLength: 200, default: '' }) }),
      handler: (p) => settings.get(p.key),
    }),
    defineMethod({
      name: 'set_app_setting',
      params: Type.Object({ key: Type.String({ maxLength: 200, default: '' }), value: Type.String({ default: '' }) }),
      handler: (p) => { settings.setFromClient(p.key, p.value); return null },
    }),
    defineMethod({
      name: 'add_repository',
      params: Type.Object({ path: Type.String({ minLength: 1, maxLength: 4096 }), name: Type.Optional(Type.String({ maxLength: 100 })) }),
      handler: (p) => repositories.add(p.path, p.name),
    }),
    defineMethod({
      name: 'remove_repository',
      params: Type.Object({ repository_id: Id }),
      handler: async (p) => { await repositories.remove(p.repository_id); return null },
    }),
    defineMethod({ name: 'read_plan_file', params: Type.Object({ path: Path }), handler: (p) => confinement.readPlanFile(p.path) }),
  ]
}
