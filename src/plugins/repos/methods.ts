import { defineMethod, type AnyRpcMethod } from '../../core/rpc/registry.js'
import {
  AddRepositoryParams, CreateWorkspaceParams, GetAppSettingParams, LoadFileDiffParams, NoParams, ReadPlanFileParams, RepositoryIdParams,
  SetAppSettingParams, WorkspaceIdParams,
} from '../../protocol/index.js'
import type { WorkspaceService } from './service.js'

/** The [R] and [S] methods of claudette-wire.md §6, plus add_repository, remove_repository and read_plan_file. */
export function reposMethods (svc: WorkspaceService): AnyRpcMethod[] {
  return [
    defineMethod({ name: 'load_initial_data', params: NoParams, handler: () => svc.loadInitialData() }),
    defineMethod({ name: 'list_repositories', params: NoParams, handler: () => svc.listRepositories() }),
    defineMethod({ name: 'list_workspaces', params: NoParams, handler: () => svc.listWorkspaces() }),
    defineMethod({
      name: 'create_workspace',
      params: CreateWorkspaceParams,
      handler: (p) => svc.createWorkspace(p),
    }),
    defineMethod({ name: 'archive_workspace', params: WorkspaceIdParams, handler: (p) => svc.archiveWorkspace(p.workspace_id) }),
    defineMethod({ name: 'restore_workspace', params: WorkspaceIdParams, handler: (p) => svc.restoreWorkspace(p.workspace_id) }),
    defineMethod({ name: 'load_diff_files', params: WorkspaceIdParams, handler: (p) => svc.loadDiffFiles(p.workspace_id) }),
    defineMethod({
      name: 'load_file_diff',
      params: LoadFileDiffParams,
      handler: (p) => svc.loadFileDiff(p),
    }),
    defineMethod({
      name: 'get_app_setting',
      params: GetAppSettingParams,
      handler: (p) => svc.settings.get(p.key),
    }),
    defineMethod({
      name: 'set_app_setting',
      params: SetAppSettingParams,
      handler: (p) => { svc.settings.setFromClient(p.key, p.value); return null },
    }),
    defineMethod({
      name: 'add_repository',
      params: AddRepositoryParams,
      handler: (p) => svc.addRepository(p.path, p.name),
    }),
    defineMethod({
      name: 'remove_repository',
      params: RepositoryIdParams,
      handler: async (p) => { await svc.removeRepository(p.repository_id); return null },
    }),
    defineMethod({ name: 'read_plan_file', params: ReadPlanFileParams, handler: (p) => svc.readPlanFile(p.path) }),
  ]
}
