// Long outputs and @-mentioned files: big streams arrive whole and in order; mentioned files are
// expanded into the prompt only when they lie inside the workspace.
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { agentWorld, streamOf, turn } from './_helpers.js'

t.test('a long output arrives complete, in order, and is saved', async t => {
  const { client, chatId } = await agentWorld(t)
  const r = await turn(client, chatId, 'long: 3000 200')
  const deltas = streamOf(client, chatId).filter(p => p.event.Stream?.event?.type === 'content_block_delta').map(p => p.event.Stream.event.delta.text)
  t.equal(deltas.length, 3000)
  t.ok(deltas.every((d: string, i: number) => d === String(i % 10).repeat(200)))
  t.equal(r.event.Stream.result.length, 600_000)
  const history = await client.call('load_chat_history', { chat_session_id: chatId })
  t.equal(history[1].content.length, 600_000)
  // One huge line (2 MB in a single delta) is fine too.
  const big = await turn(client, chatId, 'long: 1 2000000')
  t.equal(big.event.Stream.result.length, 2_000_000)
})

t.test('mentioned files are expanded, confined to the workspace', async t => {
  const { client, chatId, worktree } = await agentWorld(t)
  writeFileSync(join(worktree, 'notes.md'), 'remember <this> & that\n')
  writeFileSync(join(worktree, 'bin.dat'), Buffer.from([1, 0, 2]))
  // A symlink inside the worktree that points out of it is refused like a path that does.
  const secret = join(t.testdir(), 'secret.txt')
  writeFileSync(secret, 'outside the workspace\n')
  symlinkSync(secret, join(worktree, 'escape.txt'))
  mkdirSync(join(worktree, 'sub'))
  symlinkSync(t.testdir(), join(worktree, 'sub', 'up'))
  const r = await turn(client, chatId, 'what is in the notes?', {
    mentioned_files: ['notes.md', 'bin.dat', '../../../../../../etc/hostname', '/etc/hostname', 'missing.txt', 'escape.txt', 'sub/up/secret.txt', 'sub'],
  })
  t.equal(r.event.Stream.result, 'Echo: <referenced-file path="notes.md">\nremember <this> & that\n\n</referenced-file>\n\nwhat is in the notes?')
  const history = await client.call('load_chat_history', { chat_session_id: chatId })
  t.equal(history[0].content, 'what is in the notes?', 'the saved message is what the user typed')
})
