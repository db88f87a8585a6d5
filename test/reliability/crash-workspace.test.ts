// Crash (workspaces): the server process is SIGKILLed at random moments while workspaces are
// created (git worktree add + database rows). Every restart succeeds, every workspace whose
// reply reached its client is still listed with its worktree on disk, an SDK client
// reconnects by itself, and a name whose creation was cut short can be created again.
import { execFileSync } from 'node:child_process'
import { existsSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import t from 'tap'
import { ClaudetteClient } from '../../src/client/index.js'
import { tempHome } from '../helpers/server.js'
import { crashRounds, waitForState } from './crash-support.js'
import { addRepository, makeGitRepo } from './scenarios.js'
import { freePort, pairDevice, resumeDevice, ServerProcess } from './support.js'

const ROUNDS = 5
const WORKERS = 3

t.test('SIGKILL during workspace creation loses no committed workspace and every restart succeeds', async t => {
  const root = tempHome(t)
  const home = join(root, 'home')
  const repo = makeGitRepo(join(root, 'repo'))
  const port = await freePort()
  const env = { CLAUDETTE_HOME: join(root, 'claudette') }
  let server = await ServerProcess.start(home, { port, env })
  t.teardown(() => server.kill('SIGKILL'))
  const { client: setup, sessionToken } = await pairDevice(server, 'setup')
  const repositoryId = await addRepository(setup, repo)
  t.ok(repositoryId, 'repository registered')
  setup.terminate()

  const sdk = new ClaudetteClient({ host: '127.0.0.1', port, sessionToken, pingIntervalMs: 0, reconnect: { initialDelayMs: 50, maxDelayMs: 400 } })
  t.teardown(() => sdk.close())
  await sdk.connect()

  const committed = new Map<string, { id: string, path: string }>()
  const interrupted: string[] = []
  let n = 0
  await crashRounds(t, ROUNDS, {
    current: () => server,
    restart: async () => { server = await ServerProcess.start(home, { port, env }); return server },
    killAfterMs: [100, 1200],
    // Odd rounds: the kill delay starts once connected, so it may cut the first creates short.
    // Even rounds: it starts after the round's first reply, so even a slow machine (where one
    // `git worktree add` can outlast the whole delay) commits workspaces that must survive.
    armsKill: true,
    work: async (stopped, round, arm) => {
      const c = await resumeDevice(server, sessionToken)
      if (round % 2 === 1) arm()
      await Promise.all(Array.from({ length: WORKERS }, async () => {
        while (!stopped()) {
          const name = `crash-${round}-${n++}`
          try {
            const res = await c.request('create_workspace', { name, repository_id: repositoryId }, 30_000)
            if (res.error) throw new Error(`create_workspace ${name}: ${res.error.message}`)
            committed.set(name, { id: res.result.workspace.id, path: res.result.workspace.worktree_path })
            arm()
          } catch (err) {
            if (!stopped() && c.isOpen) throw err
            interrupted.push(name)
            return
          }
        }
      }))
    },
    check: async (round) => {
      await waitForState(sdk, 'open', 15_000)
      const list = await sdk.request('list_workspaces') as Array<{ id: string, name: string }>
      const ids = new Set(list.map(w => w.id))
      const missing = [...committed].filter(([, w]) => !ids.has(w.id)).map(([name]) => name)
      t.same(missing, [], `round ${round}: all ${committed.size} committed workspaces listed after the restart (SDK reconnected)`)
    },
  })

  const gone = [...committed].filter(([, w]) => !existsSync(w.path)).map(([name]) => name)
  t.same(gone, [], 'every committed worktree is on disk')
  t.ok(committed.size >= Math.floor(ROUNDS / 2), `${committed.size} workspaces committed, ${interrupted.length} interrupted by a kill`)

  // The server keeps working: new names, and names whose creation a kill interrupted.
  const fresh = await sdk.request('create_workspace', { name: 'after-crashes', repository_id: repositoryId }) as { workspace: { id: string } }
  t.ok(fresh.workspace.id, 'a new workspace can be created after the crashes')
  // An interrupted create either committed its row before the kill (the reply was lost: the
  // workspace is listed and its name is taken) or left nothing that blocks a retry.
  const listed = new Set((await sdk.request('list_workspaces') as Array<{ name: string }>).map(w => w.name))
  const retried: Record<string, string> = {}
  for (const name of interrupted) {
    if (listed.has(name)) { retried[name] = 'listed'; continue }
    try {
      await sdk.request('create_workspace', { name, repository_id: repositoryId })
      retried[name] = 'created again'
    } catch (err) { retried[name] = (err as Error).message }
  }
  // The exact state a kill between `git worktree add` and the row insert leaves behind,
  // made on purpose (the random kills above hit that window only now and then).
  const sibling = dirname([...committed.values()][0]!.path)
  execFileSync('git', ['worktree', 'add', '--no-track', '-b', 'claudette/orphan', '--', join(sibling, 'orphan'), 'HEAD'], { cwd: repo, stdio: 'ignore' })
  try {
    await sdk.request('create_workspace', { name: 'orphan', repository_id: repositoryId })
    retried.orphan = 'created again'
  } catch (err) { retried.orphan = (err as Error).message }
  // And the state a `git worktree add` that died half-way leaves: locked "initializing", half
  // checked out.
  const half = join(sibling, 'half')
  execFileSync('git', ['worktree', 'add', '--no-track', '-b', 'claudette/half', '--', half, 'HEAD'], { cwd: repo, stdio: 'ignore' })
  execFileSync('git', ['worktree', 'lock', '--reason', 'initializing', '--', half], { cwd: repo, stdio: 'ignore' })
  rmSync(join(half, 'README.md'))
  try {
    await sdk.request('create_workspace', { name: 'half', repository_id: repositoryId })
    retried.half = 'created again'
  } catch (err) { retried.half = (err as Error).message }
  t.same(Object.entries(retried).filter(([, v]) => v !== 'listed' && v !== 'created again'), [], `every interrupted name is listed or can be created again: ${JSON.stringify(retried)}`)
})
