import { defineMethod, type AnyRpcMethod } from '../../core/rpc/registry.js'
import {
  AddRepositoryParams, CreateWorkspaceParams, GetAppSettingParams, LoadFileDiffParams, NoParams, ReadPlanFileParams, RepositoryIdParams,
  SetAppSettingParams, WorkspaceIdParams,
} from '../../protocol/index.js'
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

/** The [R] and [S] methods of claudette-wire.md §6, plus add_repository, remove_repository and read_plan_file. */
export function reposMethods ({ workspaces, repositories, diffs, initialData, confinement, settings }: ReposParts): AnyRpcMethod[] {
  return [
    defineMethod({ name: 'load_initial_data', params: NoParams, handler: () => initialData.load() }),
    defineMethod({ name: 'list_repositories', params: NoParams, handler: () => repositories.list() }),
    defineMethod({ name: 'list_workspaces', params: NoParams, handler: () => workspaces.listWorkspaces() }),
    defineMethod({ name: 'create_workspace', params: CreateWorkspaceParams, handler: (p) => workspaces.createWorkspace(p) }),
    defineMethod({ name: 'archive_workspace', params: WorkspaceIdParams, handler: (p) => workspaces.archiveWorkspace(p.workspace_id) }),
    defineMethod({ name: 'restore_workspace', params: WorkspaceIdParams, handler: (p) => workspaces.restoreWorkspace(p.workspace_id) }),
    defineMethod({ name: 'load_diff_files', params: WorkspaceIdParams, handler: (p) => diffs.loadDiffFiles(p.workspace_id) }),
    defineMethod({ name: 'load_file_diff', params: LoadFileDiffParams, handler: (p) => diffs.loadFileDiff(p) }),
    defineMethod({ name: 'get_app_setting', params: GetAppSettingParams, handler: (p) => settings.get(p.key) }),
    defineMethod({
      name: 'set_app_setting',
      params: SetAppSettingParams,
      handler: (p) => { settings.setFromClient(p.key, p.value); return null },
    }),
    defineMethod({ name: 'add_repository', params: AddRepositoryParams, handler: (p) => repositories.add(p.path, p.name) }),
    defineMethod({
      name: 'remove_repository',
      params: RepositoryIdParams,
      handler: async (p) => { await repositories.remove(p.repository_id); return null },
    }),
    defineMethod({ name: 'read_plan_file', params: ReadPlanFileParams, handler: (p) => confinement.readPlanFile(p.path) }),
  ]
}
