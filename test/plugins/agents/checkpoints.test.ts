// Checkpoints: a turn that changed the worktree records a git commit under
// refs/claudette/checkpoints/ without moving HEAD, the branch or the index; a turn that changed
// nothing records a checkpoint without a commit. Completed turns carry the tool activities.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { agentWorld, git, turn } from './_helpers.js'

t.test('checkpoint commits of the worktree state, branch untouched', async t => {
  const { client, chatId, worktree, workspace } = await agentWorld(t)
  const head = git(worktree, 'rev-parse', 'HEAD')
  const branch = git(worktree, 'rev-parse', '--abbrev-ref', 'HEAD')

  // Turn 0: nothing changes.
  await turn(client, chatId, 'hello')
  const cp0 = client.frames.map(f => f.json).filter(j => j?.event === 'checkpoint-created').at(-1).payload
  t.same(Object.keys(cp0), ['chat_session_id', 'checkpoint', 'seq', 'session_id', 'workspace_id'])
  t.equal(cp0.session_id, chatId)
  t.match(cp0.checkpoint, { chat_session_id: chatId, workspace_id: workspace.id, turn_index: 0, commit_hash: null, has_file_state: false, message_count: 2 })

  // Turn 1: the agent writes a file (and an ignored one).
  await turn(client, chatId, 'write: notes.txt some notes')
  const cp1 = client.frames.map(f => f.json).filter(j => j?.event === 'checkpoint-created').at(-1).payload.checkpoint
  t.equal(cp1.turn_index, 1)
  t.match(cp1.commit_hash, /^[0-9a-f]{40}$/)
  t.equal(cp1.has_file_state, true)
  t.equal(git(worktree, 'rev-parse', `refs/claudette/checkpoints/${chatId}/1`), cp1.commit_hash)
  t.equal(git(worktree, 'show', `${cp1.commit_hash}:notes.txt`), 'some notes')
  t.equal(git(worktree, 'rev-parse', `${cp1.commit_hash}^`), head, 'parent is HEAD for the first commit')
  t.equal(git(worktree, 'rev-parse', 'HEAD'), head, 'HEAD did not move')
  t.equal(git(worktree, 'rev-parse', '--abbrev-ref', 'HEAD'), branch)
  t.equal(git(worktree, 'status', '--porcelain'), '?? notes.txt', 'the real index is untouched')
  t.equal(readFileSync(join(worktree, 'notes.txt'), 'utf8'), 'some notes\n')

  // Turn 2: nothing new; turn 3: another change chains onto the previous checkpoint.
  await turn(client, chatId, 'nothing')
  const cp2 = client.frames.map(f => f.json).filter(j => j?.event === 'checkpoint-created').at(-1).payload.checkpoint
  t.equal(cp2.commit_hash, null)
  await turn(client, chatId, 'write: more.txt x')
  const cp3 = client.frames.map(f => f.json).filter(j => j?.event === 'checkpoint-created').at(-1).payload.checkpoint
  t.equal(git(worktree, 'rev-parse', `${cp3.commit_hash}^`), cp1.commit_hash)

  const turns = await client.call('load_completed_turns', { chat_session_id: chatId })
  t.same(turns.map((x: any) => x.turn_index), [1, 3], 'only turns with tool activity')
  const act = turns[0].activities[0]
  t.match(act, { tool_name: 'Write', summary: 'notes.txt', result_text: 'wrote notes.txt', checkpoint_id: turns[0].checkpoint_id, sort_order: 0 })
  t.same(JSON.parse(act.input_json), { file_path: 'notes.txt', content: 'some notes' })
  t.same(Object.keys(act).sort(), ['agent_description', 'agent_last_tool_name', 'agent_result_text', 'agent_status', 'agent_task_id',
    'agent_thinking_blocks_json', 'agent_tool_calls_json', 'agent_tool_use_count', 'assistant_message_ordinal', 'checkpoint_id', 'id',
    'input_json', 'result_text', 'sort_order', 'summary', 'tool_name', 'tool_use_id', 'workflow_progress_json'])
  t.same((await client.call('get_chat_snapshot', { chat_session_id: chatId })).completed_turns, turns)
})
