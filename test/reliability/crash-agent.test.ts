// Crash (agent turns): the server process is SIGKILLed at random moments while fake agents
// (test/fixtures/fake-claude first in PATH) stream turns in several chat sessions. Every restart
// succeeds, every message whose send was acknowledged and every turn whose result arrived is
// still in the history, no chat session stays stuck "Running", new turns work, an SDK client
// reconnects by itself, and no agent process outlives the server that started it.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs'
import { delimiter, join } from 'node:path'
import t from 'tap'
import { ClaudetteClient } from '../../src/client/index.js'
import { tempHome } from '../helpers/server.js'
import { crashRounds, waitForState } from './crash-support.js'
import { addRepository, makeGitRepo } from './scenarios.js'
import { FAKE_CLAUDE_DIR, freePort, pairDevice, resumeDevice, ServerProcess, type WireClient } from './support.js'
import { eventually } from '../helpers/wait.js'

const ROUNDS = 4
const CHATS = 3

const isResult = (p: any, chatId: string): boolean => p.chat_session_id === chatId && p.event?.Stream?.type === 'result'

/** Sends one message and waits for its turn's result. */
async function runTurn (c: WireClient, chatId: string, content: string, onAck: () => void): Promise<void> {
  const result = c.event('agent-stream', p => isResult(p, chatId), 30_000)
  result.catch(() => {})
  const res = await c.request('send_chat_message', { chat_session_id: chatId, content }, 30_000)
  if (res.error) throw new Error(`send_chat_message: ${res.error.message}`)
  onAck()
  await result
}

/** Fake-claude processes running in a directory under `root` (this test's worktrees) whose parent is not `serverPid`. */
function orphanAgents (root: string, serverPid: number): number[] {
  const pids: number[] = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      if (!readFileSync(`/proc/${name}/cmdline`, 'utf8').includes('fake-claude')) continue
      if (!readlinkSync(`/proc/${name}/cwd`).startsWith(root)) continue
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      if (ppid !== serverPid) pids.push(Number(name))
    } catch { /* gone meanwhile */ }
  }
  return pids
}

t.test('SIGKILL during agent turns loses no committed message and every restart succeeds', async t => {
  const root = tempHome(t)
  const home = join(root, 'home')
  const repo = makeGitRepo(join(root, 'repo'))
  const port = await freePort()
  const env = {
    PATH: `${FAKE_CLAUDE_DIR}${delimiter}${process.env.PATH ?? ''}`,
    CLAUDETTE_HOME: join(root, 'claudette'),
    // Slow enough that kills land inside turns, not only between them.
    FAKE_CLAUDE_DELTA_MS: '20',
  }
  let server = await ServerProcess.start(home, { port, env })
  t.teardown(() => server.kill('SIGKILL'))
  const { client: setup, sessionToken } = await pairDevice(server, 'setup')
  const repositoryId = await addRepository(setup, repo)
  const chats: string[] = []
  for (let i = 0; i < CHATS; i++) {
    chats.push((await setup.call('create_workspace', { name: `agent-${i}`, repository_id: repositoryId })).default_session_id)
  }
  setup.terminate()
  const sdk = new ClaudetteClient({ host: '127.0.0.1', port, sessionToken, pingIntervalMs: 0, reconnect: { initialDelayMs: 50, maxDelayMs: 400 } })
  t.teardown(() => sdk.close())
  await sdk.connect()

  const acked: Array<{ chat: string, content: string }> = []
  const finished: Array<{ chat: string, content: string }> = []
  let n = 0
  // One finished turn per chat before the first kill, so finished turns are always checked
  // (on a loaded machine the random kills can land before any later turn finishes).
  const first = await resumeDevice(server, sessionToken)
  for (const chat of chats) {
    const content = `first turn ${chat}`
    await runTurn(first, chat, content, () => acked.push({ chat, content }))
    finished.push({ chat, content })
  }
  first.terminate()
  await crashRounds(t, ROUNDS, {
    current: () => server,
    restart: async () => { server = await ServerProcess.start(home, { port, env }); return server },
    killAfterMs: [500, 3000],
    // Odd rounds: the kill delay starts once connected; even rounds: at the round's first
    // acknowledged message, so even a loaded machine has messages to lose in every other round.
    armsKill: true,
    work: async (stopped, round, arm) => {
      const c = await resumeDevice(server, sessionToken)
      if (round % 2 === 1) arm()
      await Promise.all(chats.map(async chat => {
        while (!stopped()) {
          const content = `long: 10 40 turn-${n++}`
          try {
            await runTurn(c, chat, content, () => { acked.push({ chat, content }); arm() })
            finished.push({ chat, content })
          } catch (err) {
            if (!stopped() && c.isOpen) throw err
            return
          }
        }
      }))
    },
    check: async (round) => {
      await waitForState(sdk, 'open', 15_000)
      const missing: string[] = []
      const stuck: string[] = []
      for (const chat of chats) {
        const history = await sdk.request('load_chat_history', { chat_session_id: chat }) as Array<{ role: string, content: string }>
        const users = new Set(history.filter(m => m.role === 'User').map(m => m.content))
        for (const a of acked.filter(a => a.chat === chat)) if (!users.has(a.content)) missing.push(a.content)
        const answered = history.filter(m => m.role === 'Assistant').length
        const done = finished.filter(f => f.chat === chat).length
        if (answered < done) missing.push(`${chat}: ${answered} answers < ${done} finished turns`)
        const snap = await sdk.request('get_chat_snapshot', { chat_session_id: chat }) as { session: { agent_status: string } }
        if (snap.session.agent_status === 'Running') stuck.push(chat)
      }
      t.same(missing, [], `round ${round}: ${acked.length} acknowledged messages and ${finished.length} finished turns all in the history (SDK reconnected)`)
      t.same(stuck, [], `round ${round}: no chat session stuck Running`)
    },
  })

  // New turns work in every chat after the crashes.
  const c = await resumeDevice(server, sessionToken)
  for (const chat of chats) await runTurn(c, chat, 'after the crashes', () => {})
  t.pass('a new turn completes in every chat session after the crashes')
  c.terminate()
  t.ok(acked.length >= CHATS + ROUNDS / 2, `${acked.length} messages acknowledged, ${finished.length} turns finished across ${ROUNDS} kills`)

  // Agents of killed servers see their stdin close and exit, a moment later.
  await eventually(() => orphanAgents(root, server.pid).length === 0, { timeout: 5000, interval: 100 })
  t.same(orphanAgents(root, server.pid), [], 'no agent process outlived the server that started it')
})
