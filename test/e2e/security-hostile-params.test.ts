// A hostile-parameter pass over every registered RPC method (read from the server's registry,
// so methods added later are covered too). Each string parameter gets values an attacker would
// try: option-like values (`--upload-pack=…`), `..` paths, NUL, control characters, a 64 KiB
// string and prototype keys; object parameters and the params object itself get `__proto__`
// and `constructor` as keys. The other parameters hold real ids (a registered repository, a
// workspace, its chat), so the hostile value reaches the code behind validation.
// Expected: the server answers every request and a ping after each method, logs nothing at
// error level, pollutes no prototype, and creates no file outside its home, the repository and
// the worktree base (the marker HX7 is in every value that could end up as a file name).
// HOSTILE_VERBOSE=1 prints each probe with its answer.
import { mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { git } from '../plugins/agents/_helpers.js' // also puts the fake claude first in PATH
import { pairDevice, startSecureServer } from './security-support.js'

const M = 'HX7'
const HOSTILE_STRINGS = [
  `--upload-pack=touch ${M}-upload`, `--output=${M}-output`, `-${M}`, `--exec=touch ${M}-exec`, `-c core.fsmonitor=touch ${M}-fsmonitor`,
  `../../../../../../../../tmp/${M}-dotdot`, '..', `../${M}`, `/../../${M}`,
  `a\0${M}`, `${M}\x1b]0;title\x07\r\n\u202e\u0085\x7f`,
  M.repeat(21846).slice(0, 64 * 1024),
  '__proto__', 'constructor',
]
/** An object whose own keys are prototype names (as JSON text: JSON.stringify would drop `__proto__`). */
const PROTO_KEYS_JSON = '{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}},"toString":"x","valueOf":"y"}'

type Schema = Record<string, unknown>

const typesOf = (s: Schema): string[] => {
  if (Array.isArray(s.type)) return s.type as string[]
  if (typeof s.type === 'string') return [s.type]
  const any = (s.anyOf ?? s.oneOf) as Schema[] | undefined
  return any ? any.flatMap(typesOf) : []
}

/** Entries of a directory tree (relative paths), skipping git's own metadata. */
function walk (root: string, rel = ''): string[] {
  let names: string[]
  try { names = readdirSync(join(root, rel)) } catch { return [] }
  return names.flatMap(n => {
    const p = rel ? `${rel}/${n}` : n
    if (n === '.git') return [p]
    return [p, ...walk(root, p)]
  })
}

const stray = (names: string[]): string[] => names.filter(n => n.includes(M) || n.split('/').some(s => s.startsWith('-')))

t.test('every method survives hostile string parameters and prototype keys', async t => {
  const sandbox = realpathSync(mkdtempSync(join(tmpdir(), 'claudette-hostile-')))
  t.teardown(() => rmSync(sandbox, { recursive: true, force: true }))
  const home = join(sandbox, 'home')
  const trees = join(sandbox, 'trees')
  const plans = join(sandbox, 'claude', 'plans')
  mkdirSync(plans, { recursive: true })
  const makeRepo = (dir: string): string => {
    mkdirSync(dir)
    git(dir, 'init', '-q', '-b', 'main')
    writeFileSync(join(dir, 'README.md'), '# project\n')
    git(dir, 'add', '.')
    git(dir, 'commit', '-q', '-m', 'initial')
    return dir
  }
  const repoPath = makeRepo(join(sandbox, 'repo'))
  // Registered by the first add_repository probe whose hostile value is only its name.
  const otherRepo = makeRepo(join(sandbox, 'other'))

  writeFileSync(join(plans, 'plan.md'), '# plan\n')
  const { server, logs } = await startSecureServer(t, { home, repos: { worktreeBaseDir: trees, claudePlansDir: plans } })
  const device = await pairDevice(t, server, logs, 'hostile')
  const repo = await device.call('add_repository', { path: repoPath })
  const created = await device.call('create_workspace', { repository_id: repo.id, name: 'hostile' })
  const ws = created.workspace
  const chatId = created.default_session_id as string

  const before = {
    sandbox: readdirSync(sandbox).sort(),
    repo: walk(repoPath).sort(),
    cwd: readdirSync(process.cwd()).sort(),
    tmp: readdirSync(tmpdir()),
  }

  // Real values for the parameters that are not under attack, by name.
  const good: Record<string, unknown> = {
    repository_id: repo.id,
    workspace_id: ws.id,
    chat_session_id: chatId,
    session_id: chatId,
    worktree_path: ws.worktree_path,
    path: join(ws.worktree_path, 'README.md'),
    cwd: ws.worktree_path,
    file_path: 'README.md',
    key: 'theme',
    value: 'dark',
    name: 'hostile-name',
    content: 'hello',
  }
  const goodFor: Record<string, Record<string, unknown>> = {
    add_repository: { path: otherRepo },
    read_plan_file: { path: join(plans, 'plan.md') },
  }
  // Methods that destroy what later probes need get no real ids: the value under attack is then
  // what they see, and nothing real is archived or revoked.
  const DESTRUCTIVE = /^(archive_|remove_|revoke_|reset_|stop_|close_|delete_)/

  const names = server.app.rpc.names
  t.ok(names.length >= 30, `${names.length} methods registered`)
  let n = 0
  let sent = 0
  const pending: Array<{ method: string, label: string, id: string }> = []
  const send = (method: string, paramsText: string, label: string): void => {
    const id = `h-${n++}`
    device.sendText(`{"id":"${id}","method":${JSON.stringify(method)},"params":${paramsText}}`)
    pending.push({ method, label, id })
    sent++
  }
  const noReply: string[] = []

  for (const method of names) {
    const schema = (server.app.rpc.schemaOf(method) ?? {}) as Schema
    const props = (schema.properties ?? {}) as Record<string, Schema>
    const required = new Set((schema.required ?? []) as string[])
    const base: Record<string, unknown> = {}
    for (const [k, s] of Object.entries(props)) {
      if (Object.hasOwn(good, k) && !DESTRUCTIVE.test(method)) base[k] = (goodFor[method]?.[k]) ?? good[k]
      else if (required.has(k)) base[k] = 'default' in s ? s.default : typesOf(s).includes('string') ? 'x' : typesOf(s).includes('boolean') ? false : 1
    }
    const from = pending.length
    const stringProps = Object.entries(props).filter(([, s]) => typesOf(s).includes('string'))
    for (const [k] of stringProps) {
      for (const v of HOSTILE_STRINGS) send(method, JSON.stringify({ ...base, [k]: v }), `${k}=${JSON.stringify(v.slice(0, 40))}`)
    }
    for (const [k, s] of Object.entries(props)) {
      if (typesOf(s).includes('object')) {
        const rest = JSON.stringify({ ...base, [k]: undefined })
        send(method, rest === '{}' ? `{"${k}":${PROTO_KEYS_JSON}}` : `{"${k}":${PROTO_KEYS_JSON},${rest.slice(1)}`, `${k} with prototype keys`)
      }
    }
    // The params object itself with prototype keys, and an unknown parameter with a hostile value.
    const rest = JSON.stringify(base)
    send(method, rest === '{}' ? PROTO_KEYS_JSON : `${PROTO_KEYS_JSON.slice(0, -1)},${rest.slice(1)}`, 'params with prototype keys')
    send(method, JSON.stringify({ ...base, [`--${M}-junk`]: `--upload-pack=touch ${M}-junk` }), 'junk parameter')

    for (const p of pending.slice(from)) {
      try {
        const f = await device.waitFor(fr => fr.json?.id === p.id, 30_000)
        if (f.json.error?.message === 'Internal error') noReply.push(`${p.method} ${p.label}: Internal error`)
        if (process.env.HOSTILE_VERBOSE) t.comment(`${p.method} ${p.label} -> ${JSON.stringify(f.json.error?.message ?? f.json.result)?.slice(0, 120)}`)
      } catch {
        noReply.push(`${p.method} ${p.label}: no reply`)
      }
    }
    // Still serving after each method (a ping and a real call).
    const info = await device.request('server_info')
    if (info.result?.name !== server.name) noReply.push(`server_info after ${method}: ${JSON.stringify(info).slice(0, 200)}`)
    // A device's terminals belong to it: leave none running between methods.
    const ptys = await device.request('list_ptys')
    for (const p of (ptys.result ?? []) as Array<{ id?: number, pty_id?: number }>) await device.request('close_pty', { pty_id: p.pty_id ?? p.id })
  }
  t.same(noReply.slice(0, 10), [], `${sent} hostile requests over ${names.length} methods: each answered, none with Internal error`)
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype not polluted')

  // Stop the agents the probes started, so nothing runs on while files are compared.
  for (const c of (await device.call('list_chat_sessions', { workspace_id: ws.id })) as Array<{ id: string }>) await device.request('stop_agent', { chat_session_id: c.id })

  t.same(readdirSync(sandbox).sort(), before.sandbox, 'nothing new next to the home, the repository and the worktree base')
  t.same(walk(repoPath).filter(p => !before.repo.includes(p)), [], 'nothing new in the repository\'s work tree')
  t.same(stray(walk(sandbox)), [], 'no file named after a hostile value anywhere in the sandbox')
  t.same(stray(readdirSync(process.cwd()).filter(n => !before.cwd.includes(n))), [], 'none in the current directory')
  t.same(stray(readdirSync(tmpdir()).filter(n => !before.tmp.includes(n))), [], 'none in the temp directory')

  const errors = logs.text.split('\n').filter(l => /"level":(50|60)/.test(l))
  t.same(errors.slice(0, 3).map(l => l.slice(0, 600)), [], 'nothing was logged at error level')
  t.equal((await device.call('server_info')).name, server.name)
  logs.check(t)
})
