// Every client path is confined: file paths stay inside the workspace, worktree paths must be
// workspaces of this server, plan files and directory lookups stay inside repositories/worktrees.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { resolve } from '../../../src/core/tokens.js'
import { REPOS } from '../../../src/plugins/repos/types.js'
import { addRepo, errorOf, tempDir, gitIn, makeRepo, setup, writeFile } from './_helpers.js'

const SECRET = 'TOP-SECRET-CONTENT'

t.test('load_file_diff refuses every escape and reads nothing outside the workspace', async t => {
  const repoPath = makeRepo(t)
  const otherPath = makeRepo(t, 'other')
  const outside = tempDir(t)
  writeFileSync(join(outside, 'secret.txt'), SECRET + '\n')
  const { client } = await setup(t)
  const repo = await addRepo(client, repoPath)
  const other = await addRepo(client, otherPath)
  const { workspace: ws } = await client.call('create_workspace', { repository_id: repo.id, name: 'safe' })
  const { workspace: otherWs } = await client.call('create_workspace', { repository_id: other.id, name: 'neighbour' })
  writeFileSync(join(otherWs.worktree_path, 'neighbour.txt'), SECRET + '\n')
  const wt = ws.worktree_path as string
  symlinkSync(outside, join(wt, 'escape-dir'))
  symlinkSync(join(outside, 'secret.txt'), join(wt, 'escape.txt'))
  symlinkSync('/etc', join(wt, 'etc'))
  // into another repository's workspace (a workspace of this server, but not this one)
  symlinkSync(join(otherWs.worktree_path, 'neighbour.txt'), join(wt, 'neighbour.txt'))
  symlinkSync(otherWs.worktree_path, join(wt, 'neighbour-dir'))
  symlinkSync('loop', join(wt, 'loop'))
  const foreignWt = join(tempDir(t), 'foreign')
  gitIn(repoPath, 'worktree', 'add', '-q', '-b', 'foreign', foreignWt)
  const otherForeignWt = join(tempDir(t), 'other-foreign')
  gitIn(otherPath, 'worktree', 'add', '-q', '-b', 'foreign', otherForeignWt)

  const fileCases: Array<[string, string]> = [
    ['/etc/passwd', 'Invalid file path: absolute paths are not allowed'],
    [join(outside, 'secret.txt'), 'Invalid file path: absolute paths are not allowed'],
    ['~/.ssh/id_rsa', 'Invalid file path: absolute paths are not allowed'],
    ['../../../../etc/passwd', 'Invalid file path: path traversal is not allowed'],
    ['src/../../x', 'Invalid file path: path traversal is not allowed'],
    ['..', 'Invalid file path: path traversal is not allowed'],
    ['src\\..\\..\\x', 'Invalid file path: path traversal is not allowed'],
    ['a\0b', 'Invalid file path: contains null byte'],
    ['%2e%2e/%2e%2e/etc/passwd', 'Invalid file path: path traversal is not allowed'],
    ['..%2F..%2Fetc%2Fpasswd', 'Invalid file path: path traversal is not allowed'],
    ['%252e%252e/etc', 'Invalid file path: path traversal is not allowed'],
    ['%2Fetc%2Fpasswd', 'Invalid file path: absolute paths are not allowed'],
    ['x%00y', 'Invalid file path: contains null byte'],
    ['escape-dir/secret.txt', 'Invalid file path: resolves outside the workspace'],
    ['escape.txt', 'Invalid file path: resolves outside the workspace'],
    ['etc/passwd', 'Invalid file path: resolves outside the workspace'],
    ['neighbour.txt', 'Invalid file path: resolves outside the workspace'],
    ['neighbour-dir/neighbour.txt', 'Invalid file path: resolves outside the workspace'],
    ['loop', 'Invalid file path: too many levels of symbolic links'],
    ['loop/x', 'Invalid file path: too many levels of symbolic links'],
    ['x'.repeat(300), 'Invalid file path: name too long'],
    ['', 'Invalid file path: empty path'],
    ['src', 'Invalid file path: is a directory'],
    ['.', 'Invalid file path: is a directory'],
  ]
  for (const [file_path, msg] of fileCases) {
    for (const diff_layer of ['untracked', 'committed', null]) {
      t.equal(await errorOf(client, 'load_file_diff', { worktree_path: wt, file_path, merge_base: 'HEAD', diff_layer }), msg, `${JSON.stringify(file_path)} (${diff_layer})`)
    }
  }

  const worktreeCases: Array<[string, string]> = [
    ['/etc', 'Invalid worktree path: not a workspace of this server'],
    ['/', 'Invalid worktree path: not a workspace of this server'],
    [repoPath, 'Invalid worktree path: not a workspace of this server'],
    [otherPath, 'Invalid worktree path: not a workspace of this server'],
    [foreignWt, 'Invalid worktree path: not a workspace of this server'],
    [otherForeignWt, 'Invalid worktree path: not a workspace of this server'],
    [join(wt, 'loop'), 'Invalid worktree path: not a workspace of this server'],
    [join(wt, 'src'), 'Invalid worktree path: not a workspace of this server'],
    [join(wt, '..', '..'), 'Invalid worktree path: not a workspace of this server'],
    [join(wt, 'escape-dir'), 'Invalid worktree path: not a workspace of this server'],
    ['relative/path', 'Invalid worktree path: must be an absolute path'],
    [wt + '\0', 'Invalid worktree path: contains null byte'],
    ['', 'Invalid worktree path: empty path'],
  ]
  for (const [worktree_path, msg] of worktreeCases) {
    t.equal(await errorOf(client, 'load_file_diff', { worktree_path, file_path: 'README.md', merge_base: 'HEAD' }), msg, JSON.stringify(worktree_path))
  }
  // a path that reaches the workspace through `..` is the same workspace
  const same = await client.call('load_file_diff', { worktree_path: join(wt, 'src', '..'), file_path: 'README.md', merge_base: 'HEAD' })
  t.same(same.hunks, [])

  // git option and pathspec-magic lookalikes are plain (missing) paths: no effect, nothing written
  const pwned = join(outside, 'pwned')
  for (const file_path of [`--output=${pwned}`, ':(top)README.md', ':/', '*', '-x', '--upload-pack=touch ' + pwned]) {
    const r = await client.request('load_file_diff', { worktree_path: wt, file_path, merge_base: 'HEAD', diff_layer: 'unstaged' })
    t.same(r.result, { hunks: [], is_binary: false, path: file_path }, `${file_path} is a literal path`)
  }
  t.notOk(existsSync(pwned), 'no option was executed')
  for (const merge_base of ['--output=' + pwned, '-p', 'HEAD;touch x', 'a b', 'HEAD..main', '$(id)']) {
    t.match(await errorOf(client, 'load_file_diff', { worktree_path: wt, file_path: 'README.md', merge_base }), /^Invalid merge base: /, merge_base)
  }
  t.notOk(existsSync(pwned))
  // the other repository's workspace itself is a workspace of this server: its own files are fine
  t.same((await client.call('load_file_diff', { worktree_path: otherWs.worktree_path, file_path: 'README.md', merge_base: 'HEAD' })).hunks, [])
  const all = client.frames.map(f => f.text ?? '').join('\n')
  t.notMatch(all, SECRET, 'the secret never reached the client')
  t.notMatch(all, /root:x:0:0/, '/etc/passwd never reached the client')
})

t.test('read_plan_file also reads plans/*.md of the Claude config directory, and nothing else there', async t => {
  const claude = tempDir(t)
  const plans = join(claude, 'plans')
  const outside = tempDir(t)
  writeFileSync(join(outside, 'secret.md'), SECRET)
  writeFile(claude, 'settings.json', SECRET)
  writeFile(claude, 'other.md', SECRET)
  writeFile(plans, 'plan.md', '# Plan from Claude Code\n')
  writeFile(plans, 'notes.txt', SECRET)
  writeFile(plans, 'sub/inner.md', SECRET)
  writeFile(plans, 'big.md', 'x'.repeat(65))
  mkdirSync(join(plans, 'dir.md'))
  symlinkSync(join(outside, 'secret.md'), join(plans, 'escape.md'))
  symlinkSync(outside, join(plans, 'outdir'))
  symlinkSync('plan.md', join(plans, 'alias.md'))
  symlinkSync('notes.txt', join(plans, 'notes.md'))
  const { client } = await setup(t, { repos: { claudePlansDir: plans, maxPlanFileBytes: 64 } })

  t.equal(await client.call('read_plan_file', { path: join(plans, 'plan.md') }), '# Plan from Claude Code\n', 'a plan file is returned')
  t.equal(await client.call('read_plan_file', { path: join(plans, 'alias.md') }), '# Plan from Claude Code\n', 'a symlink to a plan in the same directory too')
  const refused = 'Plan file must be inside an active workspace of this server'
  for (const [path, why] of [
    [join(plans, '..', 'settings.json'), '../ out of the plans directory'],
    [join(plans, '..', 'other.md'), '../ to a .md file next to it'],
    [join(plans, 'escape.md'), 'a symlink in plans pointing outside'],
    [join(plans, 'outdir', 'secret.md'), 'through a symlinked directory pointing outside'],
    [join(plans, 'notes.txt'), 'a file that is not .md'],
    [join(plans, 'notes.md'), 'a .md symlink to a file that is not .md'],
    [join(plans, 'sub', 'inner.md'), 'a subdirectory (Claude Code writes plans/*.md)'],
    [plans, 'the directory itself'],
  ] as const) t.equal(await errorOf(client, 'read_plan_file', { path }), refused, why)
  t.equal(await errorOf(client, 'read_plan_file', { path: join(plans, 'dir.md') }), 'Plan file is not a regular file', 'a directory named .md')
  t.equal(await errorOf(client, 'read_plan_file', { path: join(plans, 'missing.md') }), 'Plan file not found')
  t.equal(await errorOf(client, 'read_plan_file', { path: join(plans, 'big.md') }), 'Plan file too large (65 bytes; at most 64)', 'the size cap applies')
  t.notMatch(client.frames.map(f => f.text ?? '').join('\n'), SECRET)
})

t.test('read_plan_file: the plans directory defaults to $CLAUDE_CONFIG_DIR/plans', async t => {
  const claude = tempDir(t)
  writeFile(claude, 'plans/from-env.md', '# env\n')
  const saved = process.env.CLAUDE_CONFIG_DIR
  process.env.CLAUDE_CONFIG_DIR = claude
  t.teardown(() => { if (saved === undefined) delete process.env.CLAUDE_CONFIG_DIR; else process.env.CLAUDE_CONFIG_DIR = saved })
  const { client } = await setup(t)
  t.equal(await client.call('read_plan_file', { path: join(claude, 'plans', 'from-env.md') }), '# env\n')
})

t.test('read_plan_file reads plan files inside active workspaces only', async t => {
  const repoPath = makeRepo(t)
  const outside = tempDir(t)
  writeFileSync(join(outside, 'plan.md'), SECRET)
  const { client } = await setup(t, { repos: { maxPlanFileBytes: 64 } })
  const repo = await addRepo(client, repoPath)
  const { workspace: ws } = await client.call('create_workspace', { repository_id: repo.id, name: 'plans' })
  const wt = ws.worktree_path as string
  writeFile(wt, '.claude/plans/plan.md', '# Plan\n\n1. do it\n')
  symlinkSync(join(outside, 'plan.md'), join(wt, 'link.md'))
  mkdirSync(join(wt, 'dir.md'))
  writeFile(wt, 'big.md', 'x'.repeat(65))
  symlinkSync('loop.md', join(wt, 'loop.md'))
  symlinkSync('loop.md', join(outside, 'loop.md'))
  execFileSync('mkfifo', [join(wt, 'fifo.md')])

  t.equal(await client.call('read_plan_file', { path: join(wt, '.claude/plans/plan.md') }), '# Plan\n\n1. do it\n')
  t.equal(await errorOf(client, 'read_plan_file', { path: '/etc/passwd' }), 'Plan file must be inside an active workspace of this server')
  t.equal(await errorOf(client, 'read_plan_file', { path: join(outside, 'plan.md') }), 'Plan file must be inside an active workspace of this server')
  t.equal(await errorOf(client, 'read_plan_file', { path: join(wt, 'link.md') }), 'Plan file must be inside an active workspace of this server')
  t.equal(await errorOf(client, 'read_plan_file', { path: join(wt, '..', '..', '..', 'etc', 'passwd') }), 'Plan file must be inside an active workspace of this server')
  t.equal(await errorOf(client, 'read_plan_file', { path: join(repoPath, 'README.md') }), 'Plan file must be inside an active workspace of this server', 'the main checkout is not a workspace')
  t.equal(await errorOf(client, 'read_plan_file', { path: join(wt, 'missing.md') }), 'Plan file not found')
  t.equal(await errorOf(client, 'read_plan_file', { path: join(wt, 'dir.md') }), 'Plan file is not a regular file')
  t.equal(await errorOf(client, 'read_plan_file', { path: join(wt, 'big.md') }), 'Plan file too large (65 bytes; at most 64)')
  t.equal(await errorOf(client, 'read_plan_file', { path: join(wt, 'fifo.md') }), 'Plan file is not a regular file', 'a FIFO is not opened (nothing blocks)')
  t.equal(await errorOf(client, 'read_plan_file', { path: join(wt, 'loop.md') }), 'Invalid path: too many levels of symbolic links')
  t.equal(await errorOf(client, 'read_plan_file', { path: join(outside, 'loop.md') }), 'Plan file must be inside an active workspace of this server',
    'a symlink loop elsewhere answers like any outside path (no probing)')
  t.equal(await errorOf(client, 'read_plan_file', { path: 'plan.md' }), 'Invalid path: must be an absolute path')
  t.equal(await errorOf(client, 'read_plan_file', { path: wt + '/a\0b' }), 'Invalid path: contains null byte')
  t.notMatch(client.frames.map(f => f.text ?? '').join('\n'), SECRET)
})

t.test('WorkspaceDirectory: confinePath, resolveInWorkspace and workspaceEnv for other plugins', async t => {
  const repoPath = makeRepo(t)
  const { server, client } = await setup(t)
  const repo = await addRepo(client, repoPath)
  const { workspace: ws } = await client.call('create_workspace', { repository_id: repo.id, name: 'env' })
  const dir = resolve(server.app.di, REPOS.Directory)
  symlinkSync('/etc', join(repoPath, 'etc-link'))

  t.equal(await dir.confinePath(repoPath), repoPath)
  t.equal(await dir.confinePath(join(repoPath, 'src')), join(repoPath, 'src'))
  t.equal(await dir.confinePath(join(ws.worktree_path, 'src', '..')), ws.worktree_path)
  await t.rejects(dir.confinePath('/etc'), { message: 'Path not allowed: /etc is outside the registered repositories and workspaces', code: 'ERR_REPO_PATH_NOT_ALLOWED' })
  await t.rejects(dir.confinePath(join(repoPath, 'etc-link')), { code: 'ERR_REPO_PATH_NOT_ALLOWED' })
  await t.rejects(dir.confinePath(join(repoPath, '..')), { code: 'ERR_REPO_PATH_NOT_ALLOWED' })
  await t.rejects(dir.confinePath('src'), { message: 'Invalid path: must be an absolute path' })
  await t.rejects(dir.confinePath(repoPath + '\0'), { message: 'Invalid path: contains null byte' })
  await t.rejects(dir.confinePath(join(repoPath, 'nope')), { message: `Path does not exist: ${join(repoPath, 'nope')}` })
  const elsewhere = tempDir(t)
  symlinkSync('loop', join(elsewhere, 'loop'))
  symlinkSync('loop', join(repoPath, 'loop'))
  await t.rejects(dir.confinePath(join(elsewhere, 'loop')), { message: `Path not allowed: ${join(elsewhere, 'loop')} is outside the registered repositories and workspaces` })
  await t.rejects(dir.confinePath(join(repoPath, 'loop')), { message: 'Invalid path: too many levels of symbolic links', code: 'ERR_REPO_PATH_NOT_ALLOWED' })

  t.equal(await dir.resolveInWorkspace(ws.id, 'src/a.txt'), join(ws.worktree_path, 'src/a.txt'))
  await t.rejects(dir.resolveInWorkspace(ws.id, '../x'), { message: 'Invalid file path: path traversal is not allowed' })
  await t.rejects(dir.resolveInWorkspace('nope', 'x'), { message: 'Workspace not found' })

  t.same(await dir.workspaceEnv(ws.id), {
    CLAUDETTE_WORKSPACE_NAME: 'env',
    CLAUDETTE_WORKSPACE_ID: ws.id,
    CLAUDETTE_WORKSPACE_PATH: ws.worktree_path,
    CLAUDETTE_BRANCH_NAME: 'claudette/env',
    CLAUDETTE_ROOT_PATH: repoPath,
    CLAUDETTE_DEFAULT_BRANCH: 'main',
  })
  t.same(await dir.workspaceEnv('nope'), {})
  t.same(await dir.getWorkspace(ws.id), ws)
  t.equal(await dir.getWorkspace('nope'), null)
  t.equal((await dir.getRepository(repo.id))?.path, repoPath)
  t.equal(await dir.getRepository('nope'), null)

  // archiving makes the worktree unreachable
  await client.call('archive_workspace', { workspace_id: ws.id })
  await t.rejects(dir.resolveInWorkspace(ws.id, 'src/a.txt'), { message: 'Workspace has no worktree' })
})
