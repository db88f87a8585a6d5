// `claudette workspaces <server> [list|create|archive|restore]` and `claudette repos <server>`:
// the server's repositories and workspaces through the wire methods (list_repositories,
// list_workspaces, create_workspace, archive_workspace, restore_workspace).
import { Argument } from 'commander'
import type { MethodResult } from '../../src/client/index.js'
import { UsageError, json, out, printTable } from '../cli-output.js'
import { findOne, shortTime, withServer, type ClientCli } from './context.js'

type Workspace = MethodResult<'list_workspaces'>[number]
type Repository = MethodResult<'list_repositories'>[number]

const agentStatus = (w: Workspace): string => typeof w.agent_status === 'string' ? w.agent_status : 'Error'

export function workspaceRows (list: readonly Workspace[], repos: readonly Repository[]): string[][] {
  const repoName = new Map(repos.map(r => [r.id, r.name]))
  return list.map(w => [w.id, w.name, repoName.get(w.repository_id) ?? w.repository_id, w.branch_name, w.status, agentStatus(w), shortTime(w.created_at)])
}
export const WORKSPACE_HEAD = ['ID', 'NAME', 'REPOSITORY', 'BRANCH', 'STATUS', 'AGENT', 'CREATED']

interface WorkspacesOptions { json?: boolean, repo?: string, name?: string, timeout: number }

export function registerWorkspaces (cli: ClientCli, timeoutOption: () => import('commander').Option): void {
  cli.program.command('workspaces')
    .description('list, create, archive or restore the workspaces (git worktrees) of a paired server')
    .argument('<server>', 'paired server name or id')
    .addArgument(new Argument('[action]', 'what to do').choices(['list', 'create', 'archive', 'restore']).default('list'))
    .argument('[workspace]', 'with archive or restore: workspace id, unique id prefix (4+) or name')
    .option('--repo <repo>', 'with create: repository id, unique id prefix or name (see `claudette repos <server>`)')
    .option('--name <name>', 'with create: workspace name (default: the server picks one)')
    .option('--json', 'machine-readable output (the wire result)')
    .addOption(timeoutOption())
    .addHelpText('after', `
Examples:
  claudette workspaces work-laptop                       every workspace, active and archived
  claudette workspaces work-laptop create --repo app --name fix-login
  claudette workspaces work-laptop archive fix-login     removes the worktree, keeps the branch
  claudette workspaces work-laptop restore 3f2a          by a unique id prefix`)
    .action(async (name: string, action: string, wsQuery: string | undefined, o: WorkspacesOptions) => {
      if (action === 'create' && o.repo === undefined) throw new UsageError("'workspaces create' needs --repo <id|name> (see `claudette repos <server>`)")
      if (action !== 'create' && (o.repo !== undefined || o.name !== undefined)) throw new UsageError(`--repo and --name apply to 'workspaces create' only`)
      if ((action === 'archive' || action === 'restore') && wsQuery === undefined) throw new UsageError(`'workspaces ${action}' needs the workspace (id, unique id prefix or name)`)
      if ((action === 'list' || action === 'create') && wsQuery !== undefined) throw new UsageError(`too many arguments for 'workspaces ${action}'`)
      await withServer(cli, name, async client => {
        const list = await client.request('list_workspaces')
        const repos = await client.request('list_repositories')
        const hint = `claudette workspaces ${name}`
        if (action === 'list') {
          if (o.json) { out(json(list, null, 2)); return }
          if (list.length === 0) { out(`No workspaces. Create one with: claudette workspaces ${name} create --repo <repo>`); return }
          printTable(WORKSPACE_HEAD, workspaceRows(list, repos))
        } else if (action === 'create') {
          const repo = findOne('repository', o.repo!, repos, `claudette repos ${name}`)
          const res = await client.request('create_workspace', { repository_id: repo.id, ...(o.name !== undefined ? { name: o.name } : {}) })
          if (o.json) { out(json(res, null, 2)); return }
          const w = res.workspace
          out(`Created workspace ${w.name} (${w.id}) of ${repo.name} on branch ${w.branch_name}${w.worktree_path ? ` at ${w.worktree_path}` : ''}.`)
          const setup = res.setup_result
          if (setup) out(setup.success ? 'Setup script succeeded.' : `Setup script failed (${setup.timed_out ? 'timed out' : `exit code ${setup.exit_code ?? '?'}`}); see --json for its output.`)
          out(`Open a terminal in it: claudette term ${name} --workspace ${w.id}`)
        } else if (action === 'archive') {
          const w = findOne('workspace', wsQuery!, list, hint)
          await client.request('archive_workspace', { workspace_id: w.id })
          out(o.json ? json({ archived: w.id }) : `Archived workspace ${w.name} (${w.id}); its branch ${w.branch_name} is kept.`)
        } else {
          const w = findOne('workspace', wsQuery!, list, hint)
          const res = await client.request('restore_workspace', { workspace_id: w.id })
          out(o.json ? json(res, null, 2) : `Restored workspace ${res.workspace.name} (${w.id}) at ${res.worktree_path}.`)
        }
      }, { timeoutMs: o.timeout * 1000 })
    })
}

export function registerRepos (cli: ClientCli, timeoutOption: () => import('commander').Option): void {
  cli.program.command('repos')
    .description('list the git repositories a paired server shares')
    .argument('<server>', 'paired server name or id')
    .option('--json', 'machine-readable output (the wire result)')
    .addOption(timeoutOption())
    .action(async (name: string, o: { json?: boolean, timeout: number }) => {
      await withServer(cli, name, async client => {
        const repos = await client.request('list_repositories')
        if (o.json) { out(json(repos, null, 2)); return }
        if (repos.length === 0) { out('No repositories. Register one on the server: claudette-server repo add <path>'); return }
        printTable(['ID', 'NAME', 'PATH', 'VALID', 'BASE BRANCH'], repos.map(r => [r.id, r.name, r.path, r.path_valid ? 'yes' : 'no', r.base_branch ?? '-']))
      }, { timeoutMs: o.timeout * 1000 })
    })
}
