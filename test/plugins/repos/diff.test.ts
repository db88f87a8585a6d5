// load_diff_files / load_file_diff on a real worktree with committed, staged, unstaged and untracked edits.
import { existsSync, writeFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { addRepo, gitIn, makeRepo, setup, writeFile } from './_helpers.js'

t.test('a workspace diff reflects every layer, with the reference shapes', async t => {
  const repoPath = makeRepo(t)
  const { client } = await setup(t)
  const repo = await addRepo(client, repoPath)
  const { workspace: ws } = await client.call('create_workspace', { repository_id: repo.id, name: 'diffs' })
  const wt = ws.worktree_path as string

  // clean workspace: nothing to show
  const clean = await client.call('load_diff_files', { workspace_id: ws.id })
  t.same(Object.keys(clean), ['files', 'merge_base', 'staged_files'])
  t.same(clean.files, [])
  t.equal(clean.merge_base, gitIn(repoPath, 'rev-parse', 'main').trim())

  // committed: modify a.txt, delete b.txt, rename README.md, add c.txt
  writeFile(wt, 'src/a.txt', 'one\nTWO\nthree\nfour\nfive\n')
  rmSync(join(wt, 'src/b.txt'))
  gitIn(wt, 'mv', 'README.md', 'READ.md')
  writeFile(wt, 'src/c.txt', 'new file\n')
  gitIn(wt, 'add', '-A')
  gitIn(wt, 'commit', '-q', '-m', 'work')
  // staged
  writeFile(wt, 'staged.txt', 's1\ns2\n')
  gitIn(wt, 'add', 'staged.txt')
  // unstaged
  writeFile(wt, 'src/c.txt', 'new file\nmore\n')
  // untracked (one text, one binary) and an ignored file
  writeFile(wt, 'notes/todo.md', 'a\nb\nc\n')
  writeFileSync(join(wt, 'blob.bin'), Buffer.from([0, 1, 2, 3, 0, 255]))
  writeFile(wt, '.gitignore', 'ignored.log\n')
  writeFile(wt, 'ignored.log', 'x\n')

  const res = await client.call('load_diff_files', { workspace_id: ws.id })
  t.equal(res.merge_base, clean.merge_base)
  const sf = res.staged_files
  t.same(Object.keys(sf), ['committed', 'staged', 'unstaged', 'untracked'])
  t.same(sf.committed, [
    { additions: 0, deletions: 0, path: 'READ.md', status: { Renamed: { from: 'README.md' } } },
    { additions: 2, deletions: 1, path: 'src/a.txt', status: 'Modified' },
    { additions: 0, deletions: 1, path: 'src/b.txt', status: 'Deleted' },
    { additions: 1, deletions: 0, path: 'src/c.txt', status: 'Added' },
  ])
  t.same(sf.staged, [{ additions: 2, deletions: 0, path: 'staged.txt', status: 'Added' }])
  t.same(sf.unstaged, [{ additions: 1, deletions: 0, path: 'src/c.txt', status: 'Modified' }])
  t.same(sf.untracked, [
    { additions: 1, deletions: 0, path: '.gitignore', status: 'Added' },
    { additions: null, deletions: 0, path: 'blob.bin', status: 'Added' },
    { additions: 3, deletions: 0, path: 'notes/todo.md', status: 'Added' },
  ])
  t.same(res.files.map((f: any) => f.path), ['.gitignore', 'READ.md', 'blob.bin', 'notes/todo.md', 'src/a.txt', 'src/b.txt', 'src/c.txt', 'staged.txt'])
  t.same(res.files.find((f: any) => f.path === 'src/c.txt'), { additions: 2, deletions: 0, path: 'src/c.txt', status: 'Added' }, 'combined = merge-base → working tree')

  // one file, per layer
  const committed = await client.call('load_file_diff', { worktree_path: wt, file_path: 'src/a.txt', merge_base: res.merge_base, diff_layer: 'committed' })
  t.same(Object.keys(committed), ['hunks', 'is_binary', 'path'])
  t.equal(committed.path, 'src/a.txt')
  t.equal(committed.is_binary, false)
  t.equal(committed.hunks.length, 1)
  const h = committed.hunks[0]
  t.same(Object.keys(h), ['header', 'lines', 'new_start', 'old_start'])
  t.match(h.header, /^@@ -1,4 \+1,5 @@/)
  t.equal(h.old_start, 1)
  t.equal(h.new_start, 1)
  t.same(h.lines, [
    { content: 'one', line_type: 'Context', new_line_number: 1, old_line_number: 1 },
    { content: 'two', line_type: 'Removed', new_line_number: null, old_line_number: 2 },
    { content: 'TWO', line_type: 'Added', new_line_number: 2, old_line_number: null },
    { content: 'three', line_type: 'Context', new_line_number: 3, old_line_number: 3 },
    { content: 'four', line_type: 'Context', new_line_number: 4, old_line_number: 4 },
    { content: 'five', line_type: 'Added', new_line_number: 5, old_line_number: null },
  ])

  const staged = await client.call('load_file_diff', { worktree_path: wt, file_path: 'staged.txt', merge_base: res.merge_base, diff_layer: 'staged' })
  t.same(staged.hunks[0].lines.map((l: any) => [l.line_type, l.content]), [['Added', 's1'], ['Added', 's2']])
  const unstaged = await client.call('load_file_diff', { worktree_path: wt, file_path: 'src/c.txt', merge_base: '', diff_layer: 'unstaged' })
  t.same(unstaged.hunks[0].lines.map((l: any) => [l.line_type, l.content]), [['Context', 'new file'], ['Added', 'more']])
  const untracked = await client.call('load_file_diff', { worktree_path: wt, file_path: 'notes/todo.md', merge_base: '', diff_layer: 'untracked' })
  t.same(untracked.hunks[0].lines.map((l: any) => l.content), ['a', 'b', 'c'])
  const combined = await client.call('load_file_diff', { worktree_path: wt, file_path: 'notes/todo.md', merge_base: res.merge_base })
  t.same(combined, untracked, 'no layer: an untracked file shows as added')
  const whole = await client.call('load_file_diff', { worktree_path: wt, file_path: 'src/c.txt', merge_base: res.merge_base, diff_layer: null })
  t.same(whole.hunks[0].lines.map((l: any) => l.content), ['new file', 'more'])
  const binary = await client.call('load_file_diff', { worktree_path: wt, file_path: 'blob.bin', merge_base: res.merge_base, diff_layer: 'untracked' })
  t.equal(binary.is_binary, true)
  t.same(binary.hunks, [])
  const deleted = await client.call('load_file_diff', { worktree_path: wt, file_path: 'src/b.txt', merge_base: res.merge_base, diff_layer: 'committed' })
  t.same(deleted.hunks[0].lines, [{ content: 'bee', line_type: 'Removed', new_line_number: null, old_line_number: 1 }])
  // shell and option characters in a file name are just a name
  const odd = '-n; $(touch pwned) `id` a b.txt'
  writeFile(wt, odd, 'odd\n')
  const oddDiff = await client.call('load_file_diff', { worktree_path: wt, file_path: odd, merge_base: res.merge_base })
  t.equal(oddDiff.path, odd)
  t.same(oddDiff.hunks[0].lines.map((l: any) => [l.line_type, l.content]), [['Added', 'odd']])
  t.ok((await client.call('load_diff_files', { workspace_id: ws.id })).staged_files.untracked.some((f: any) => f.path === odd))
  t.notOk(existsSync(join(wt, 'pwned')), 'nothing was run')
  writeFile(wt, 'src/a.txt', 'x')
  const noNewline = await client.call('load_file_diff', { worktree_path: wt, file_path: 'src/a.txt', merge_base: '', diff_layer: 'unstaged' })
  t.notOk(noNewline.hunks[0].lines.some((l: any) => l.content.includes('No newline')), '"\\ No newline" markers are not lines')
})

t.test('load_diff_files errors: unknown and archived workspaces', async t => {
  const repoPath = makeRepo(t)
  const { client } = await setup(t)
  const repo = await addRepo(client, repoPath)
  const { workspace: ws } = await client.call('create_workspace', { repository_id: repo.id, name: 'gone' })
  t.equal((await client.request('load_diff_files', { workspace_id: 'x' })).error.message, 'Workspace not found')
  await client.call('archive_workspace', { workspace_id: ws.id })
  t.equal((await client.request('load_diff_files', { workspace_id: ws.id })).error.message, 'Workspace has no worktree')
  t.equal((await client.request('load_file_diff', { worktree_path: ws.worktree_path, file_path: 'README.md', merge_base: '' })).error.message,
    'Invalid worktree path: not a workspace of this server', 'an archived worktree is no longer accepted')
})
