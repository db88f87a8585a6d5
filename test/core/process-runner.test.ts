// ProcessRunner: short-lived children spawned by a helper process, with execFile's result and
// error shapes, a concurrency cap, a timeout always applied, dispose, and recovery when the
// helper dies. Real processes (sh, sleep, git, node), no mocks.
import { spawn } from 'node:child_process'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import type { Test } from 'tap'
import {
  ProcessError, ProcessRunner, ProcessRunnerBusyError, ProcessRunnerClosedError, ProcessRunnerCrashedError,
} from '../../src/core/process-runner.js'
import { CORE, resolve } from '../../src/core/tokens.js'
import { startServer } from '../helpers/server.js'
import { eventually, isAlive, waitFor } from '../helpers/wait.js'

const runner = (t: Test, opts: ConstructorParameters<typeof ProcessRunner>[0] = {}): ProcessRunner => {
  const r = new ProcessRunner(opts)
  t.teardown(() => r.dispose())
  return r
}

const failure = async (p: Promise<unknown>): Promise<Error> => {
  try { await p } catch (err) { return err as Error }
  throw new Error('expected a rejection')
}

t.test('stdout, stderr and exit code 0', async t => {
  const r = runner(t)
  const res = await r.run('sh', ['-c', 'echo out; echo err >&2'], { cwd: t.testdir() })
  t.same(res, { stdout: 'out\n', stderr: 'err\n', code: 0, signal: null })
})

t.test('a non-zero exit rejects with the numeric code and the output; okCodes resolve', async t => {
  const r = runner(t)
  const cwd = t.testdir()
  const err = await failure(r.run('sh', ['-c', 'echo partial; echo boom >&2; exit 3'], { cwd }))
  t.ok(err instanceof ProcessError)
  const e = err as ProcessError
  t.equal(e.code, 3)
  t.equal(e.killed, false)
  t.equal(e.signal, null)
  t.equal(e.timedOut, false)
  t.equal(e.stdout, 'partial\n')
  t.equal(e.stderr, 'boom\n')
  t.match(e.message, /^Command failed: sh -c/)
  t.same(await r.run('sh', ['-c', 'echo x; exit 1'], { cwd, okCodes: [1] }), { stdout: 'x\n', stderr: '', code: 1, signal: null })
  const other = await failure(r.run('sh', ['-c', 'exit 2'], { cwd, okCodes: [1] }))
  t.equal((other as ProcessError).code, 2, 'a code outside okCodes still rejects')
  // git's own non-zero exit, as the repos plugin sees it
  const g = await failure(r.run('git', ['rev-parse', '--verify', 'no-such-ref'], { cwd }))
  t.equal((g as ProcessError).code, 128)
  t.match((g as ProcessError).stderr, /^fatal: /)
})

t.test('the timeout kills the child (SIGTERM by default) and says so', async t => {
  const r = runner(t)
  const started = Date.now()
  const e = await failure(r.run('sleep', ['30'], { cwd: t.testdir(), timeoutMs: 200 })) as ProcessError
  t.ok(e instanceof ProcessError)
  t.equal(e.killed, true)
  t.equal(e.signal, 'SIGTERM')
  t.equal(e.timedOut, true)
  t.equal(e.code, null)
  t.ok(Date.now() - started < 5_000, `rejected after ${Date.now() - started} ms`)
  const stubborn = 'process.on("SIGTERM", () => {}); setTimeout(() => {}, 30000)'
  const k = await failure(r.run(process.execPath, ['-e', stubborn], { cwd: t.testdir(), timeoutMs: 300, killSignal: 'SIGKILL' })) as ProcessError
  t.equal(k.signal, 'SIGKILL')
  t.equal(k.timedOut, true)
})

t.test('a call with no timeout gets the default one', async t => {
  const r = runner(t, { defaultTimeoutMs: 200 })
  const e = await failure(r.run('sleep', ['30'], { cwd: t.testdir() })) as ProcessError
  t.equal(e.timedOut, true)
})

t.test('output over maxBuffer kills the child with ERR_CHILD_PROCESS_STDIO_MAXBUFFER', async t => {
  const r = runner(t)
  const e = await failure(r.run('sh', ['-c', 'yes | head -c 1000000'], { cwd: t.testdir(), maxBuffer: 1000 })) as ProcessError
  t.ok(e instanceof ProcessError)
  t.equal(e.code, 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER')
  t.ok(e.stdout.length <= 1000)
})

t.test('a missing binary and a missing cwd are ENOENT; a file as cwd is ENOTDIR or ENOENT', async t => {
  const r = runner(t)
  const dir = t.testdir({ file: 'x' })
  const bin = await failure(r.run('no-such-binary-claudette', [], { cwd: dir })) as ProcessError
  t.equal(bin.code, 'ENOENT')
  t.equal(bin.syscall, 'spawn no-such-binary-claudette')
  const cwd = await failure(r.run('git', ['--version'], { cwd: join(dir, 'missing') })) as ProcessError
  t.equal(cwd.code, 'ENOENT')
  const notDir = await failure(r.run('git', ['--version'], { cwd: join(dir, 'file') })) as ProcessError
  t.match(notDir.code, /^(ENOTDIR|ENOENT)$/)
  const nul = await failure(r.run('git', ['a\0b'], { cwd: dir })) as ProcessError
  t.equal(nul.code, 'ERR_INVALID_ARG_VALUE', 'arguments execFile refuses reject, nothing crashes')
  t.same(await r.run('echo', ['still fine'], { cwd: dir }), { stdout: 'still fine\n', stderr: '', code: 0, signal: null })
})

t.test('env is passed as given; without one the child gets this process\'s environment', async t => {
  const r = runner(t)
  const cwd = t.testdir()
  const given = await r.run('sh', ['-c', 'echo "$CLAUDETTE_PR_A|$CLAUDETTE_PR_B"'], { cwd, env: { PATH: process.env.PATH, CLAUDETTE_PR_A: 'given' } })
  t.equal(given.stdout, 'given|\n')
  process.env.CLAUDETTE_PR_B = 'inherited'
  t.teardown(() => { delete process.env.CLAUDETTE_PR_B })
  const inherited = await r.run('sh', ['-c', 'echo "$CLAUDETTE_PR_B"'], { cwd })
  t.equal(inherited.stdout, 'inherited\n', 'read at call time, not when the helper started')
  // the runner posts an environment only when it changed: each call still gets its own
  const echo = (v: string): Promise<string> => r.run('sh', ['-c', 'echo "$CLAUDETTE_PR_A"'], { cwd, env: { PATH: process.env.PATH, CLAUDETTE_PR_A: v } }).then(x => x.stdout)
  t.same(await Promise.all(['1', '1', '2', '1', '1'].map(echo)), ['1\n', '1\n', '2\n', '1\n', '1\n'])
})

t.test('at most maxConcurrent children run at once', async t => {
  const r = runner(t, { maxConcurrent: 2 })
  const cwd = t.testdir()
  const log = join(cwd, 'log')
  writeFileSync(log, '')
  const calls = Array.from({ length: 6 }, (_, i) => r.run('sh', ['-c', `echo "+ ${i}" >> log; sleep 0.1; echo "- ${i}" >> log`], { cwd }))
  t.equal(r.running, 2)
  t.equal(r.queued, 4)
  await Promise.all(calls)
  let now = 0
  let max = 0
  let started = 0
  for (const line of readFileSync(log, 'utf8').trim().split('\n')) {
    if (line.startsWith('+')) { now++; started++ } else now--
    max = Math.max(max, now)
  }
  t.equal(max, 2, 'never more than 2 children alive')
  t.equal(started, 6, 'every queued call ran')
  t.equal(r.running, 0)
  t.equal(r.queued, 0)
})

t.test('queued calls start in the order they were made', async t => {
  // One slot: a child starts only after the one before it has exited, so the log's order is the
  // runner's start order. (With two slots the order in the log would also depend on how fast
  // each shell boots, which a loaded machine reorders.)
  const r = runner(t, { maxConcurrent: 1 })
  const cwd = t.testdir()
  writeFileSync(join(cwd, 'log'), '')
  const calls = Array.from({ length: 8 }, (_, i) => r.run('sh', ['-c', `echo ${i} >> log`], { cwd }))
  t.equal(r.running, 1)
  t.equal(r.queued, 7)
  await Promise.all(calls)
  t.same(readFileSync(join(cwd, 'log'), 'utf8').trim().split('\n').map(Number), [0, 1, 2, 3, 4, 5, 6, 7])
})

t.test('a full queue refuses with a clear error', async t => {
  const r = runner(t, { maxConcurrent: 1, maxQueued: 1 })
  const cwd = t.testdir()
  const a = r.run('sleep', ['0.2'], { cwd })
  const b = r.run('true', [], { cwd })
  const c = await failure(r.run('true', [], { cwd }))
  t.ok(c instanceof ProcessRunnerBusyError)
  t.equal(c.message, 'too many processes waiting to run (limit 1)')
  await Promise.all([a, b])
})

t.test('dispose rejects queued calls and later calls; children past the grace are killed', async t => {
  const r = new ProcessRunner({ maxConcurrent: 1, closeGraceMs: 0 })
  const cwd = t.testdir()
  const running = failure(r.run('sleep', ['30'], { cwd }))
  const queued = failure(r.run('true', [], { cwd }))
  await childRunning(r)
  const started = Date.now()
  await r.dispose()
  t.ok(Date.now() - started < 3_000, `dispose took ${Date.now() - started} ms`)
  const q = await queued
  t.ok(q instanceof ProcessRunnerClosedError)
  t.equal(q.message, 'process runner is closed (server shutting down)')
  t.equal((q as ProcessRunnerClosedError).code, 'ERR_PROCESS_RUNNER_CLOSED')
  t.ok(await running instanceof ProcessRunnerClosedError, 'the child in flight was killed and its call rejected')
  t.ok(await failure(r.run('true', [], { cwd })) instanceof ProcessRunnerClosedError)
  t.equal(r.closed, true)
  await r.dispose() // idempotent
})

t.test('dispose lets children in flight finish within the grace period', async t => {
  const r = new ProcessRunner({ closeGraceMs: 5_000 })
  const cwd = t.testdir()
  const call = r.run('sh', ['-c', 'sleep 0.2; echo finished'], { cwd })
  await childRunning(r)
  await r.dispose()
  t.equal((await call).stdout, 'finished\n')
})

t.test('a helper that dies rejects its calls and the next call starts a new helper', async t => {
  // An honest crash: the helper is SIGKILLed from outside (as the OOM killer would) mid-call.
  const exits: Error[] = []
  const r = runner(t, { onHelperExit: e => exits.push(e) })
  const cwd = t.testdir()
  t.equal(r.helperPid, null, 'started on first use only')
  t.equal((await r.run('echo', ['before'], { cwd })).stdout, 'before\n')
  t.equal(r.helpersStarted, 1)
  const pid = r.helperPid!
  t.ok(pid > 0 && pid !== process.pid)
  const call = failure(r.run('sleep', ['30'], { cwd }))
  await childRunning(r)
  process.kill(pid, 'SIGKILL')
  const e = await call
  t.ok(e instanceof ProcessRunnerCrashedError)
  t.equal(e.message, 'process runner helper exited unexpectedly: killed by SIGKILL')
  t.equal((e as ProcessRunnerCrashedError).code, 'ERR_PROCESS_RUNNER_CRASHED')
  t.equal(exits.length, 1)
  t.equal((await r.run('echo', ['after'], { cwd })).stdout, 'after\n')
  t.equal(r.helpersStarted, 2)
  t.not(r.helperPid, pid)
})

t.test('dispose ends the helper process', async t => {
  const r = new ProcessRunner()
  await r.run('true', [], { cwd: t.testdir() })
  const pid = r.helperPid!
  await r.dispose()
  t.equal(r.helperPid, null)
  t.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, 'the helper has exited')
})

t.test('two servers have separate runners; closing one leaves the other working', async t => {
  const a = await startServer(t)
  const b = await startServer(t)
  const ra = resolve(a.app.di, CORE.ProcessRunner)
  const rb = resolve(b.app.di, CORE.ProcessRunner)
  t.not(ra, rb)
  const cwd = t.testdir()
  t.equal((await ra.run('echo', ['a'], { cwd })).stdout, 'a\n')
  t.equal((await rb.run('echo', ['b'], { cwd })).stdout, 'b\n')
  await a.close()
  t.ok(await failure(ra.run('echo', ['a'], { cwd })) instanceof ProcessRunnerClosedError)
  t.equal((await rb.run('echo', ['b'], { cwd })).stdout, 'b\n')
})

t.test('a script that uses a runner (disposed or not) exits by itself; a killed server takes its helper along', async t => {
  const dir = t.testdir()
  const runScript = (name: string, body: string): Promise<{ code: number | null, out: string }> => runOwnerScript(dir, name, body)
  const cwd = JSON.stringify(dir)
  const used = await runScript('use.ts', `
    const kept = new ProcessRunner()
    const disposed = new ProcessRunner()
    const [a, b] = await Promise.all([kept.run('echo', ['kept'], { cwd: ${cwd} }), disposed.run('echo', ['disposed'], { cwd: ${cwd} })])
    await disposed.dispose()
    console.log(a.stdout.trim(), b.stdout.trim())
  `)
  t.equal(used.code, 0, `exited by itself (${used.out.trim()})`)
  t.match(used.out, /kept disposed/)
  // The owner dies without closing anything: its helper sees the channel close and exits too.
  const killed = await runScript('killed.ts', `
    const r = new ProcessRunner()
    await r.run('true', [], { cwd: ${cwd} })
    console.log('helper', r.helperPid)
    process.kill(process.pid, 'SIGKILL')
  `)
  const helper = Number(/helper (\d+)/.exec(killed.out)?.[1])
  t.ok(helper > 0, killed.out)
  t.ok(await eventually(() => !isAlive(helper), { interval: 50 }), 'the helper of a SIGKILLed owner exits')
})

/** Runs `body` as a TypeScript module (with ProcessRunner imported) in its own Node process. */
async function runOwnerScript (dir: string, name: string, body: string): Promise<{ code: number | null, out: string }> {
  const entry = new URL('../../src/core/process-runner.ts', import.meta.url).pathname
  const script = join(dir, name)
  writeFileSync(script, `import { ProcessRunner } from ${JSON.stringify(entry.replace(/\.ts$/, '.js'))}\n${body}`)
  const child = spawn(process.execPath, ['--import', '@tapjs/typescript/import', script], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', d => { out += d })
  child.stderr.on('data', d => { out += d })
  const code = await new Promise<number | null>(resolve => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); resolve(null) }, 60_000)
    child.on('exit', c => { clearTimeout(timer); resolve(c) })
  })
  return { code, out }
}

/** Waits until the runner's helper has a child process: a call is in flight, not just queued. */
async function childRunning (r: ProcessRunner): Promise<void> {
  await waitFor(() => r.helperPid !== null && readdirSync('/proc').some(e => /^\d+$/.test(e) && parentOf(Number(e)) === r.helperPid), { what: 'the helper to start the child' })
}

/** The parent pid of `pid` (0 if it is gone). */
function parentOf (pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1')
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
  } catch { return 0 }
}

/** Live (non-zombie) processes of session `sid`. */
function sessionPids (sid: number): number[] {
  const out: number[] = []
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'latin1')
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      if (f[0] !== 'Z' && Number(f[3]) === sid) out.push(Number(e))
    } catch { /* gone */ }
  }
  return out
}

t.test('guarded sessions are hung up when their owner dies, also by a replaced helper; released ones and an orderly close leave them alone', async t => {
  const dir = t.testdir()
  const cwd = JSON.stringify(dir)
  // Three sessions (detached: setsid): one plain, one whose processes ignore SIGHUP (they need the
  // SIGKILL a second later), one guarded and then released. Then the owner is SIGKILLed.
  const owner = await runOwnerScript(dir, 'guard.ts', `
    import { spawn } from 'node:child_process'
    const r = new ProcessRunner()
    const start = (script: string): number => spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' }).pid!
    const plain = start('sleep 60 & sleep 60; wait')
    const stubborn = start('trap "" HUP; sleep 60 & sleep 60; wait')
    const released = start('sleep 60')
    r.guardSession(plain)
    r.guardSession(stubborn)
    r.guardSession(released).dispose()
    await r.run('true', [], { cwd: ${cwd} }) // the channel is ordered: the guards have arrived
    // The helper dies: its replacement, started without any call waiting, gets the guards again.
    const first = r.helperPid
    process.kill(first!, 'SIGKILL')
    const { waitFor } = await import(${JSON.stringify(new URL('../helpers/wait.ts', import.meta.url).pathname.replace(/\.ts$/, '.js'))})
    await waitFor(() => r.helperPid !== null && r.helperPid !== first, { what: 'the replacement helper' })
    await r.run('true', [], { cwd: ${cwd} })
    console.log('helpers', r.helpersStarted)
    console.log('sessions', plain, stubborn, released)
    process.kill(process.pid, 'SIGKILL')
  `)
  const [plain, stubborn, released] = (/sessions (\d+) (\d+) (\d+)/.exec(owner.out) ?? []).slice(1).map(Number)
  t.ok(plain && stubborn && released, owner.out)
  t.match(owner.out, /helpers 2/, 'the killed helper was replaced')
  t.teardown(() => { for (const sid of [plain!, stubborn!, released!]) for (const pid of sessionPids(sid)) try { process.kill(pid, 'SIGKILL') } catch { /* gone */ } })
  await eventually(() => sessionPids(plain!).length + sessionPids(stubborn!).length === 0, { interval: 50 })
  t.same([...sessionPids(plain!), ...sessionPids(stubborn!)], [], 'every process of both guarded sessions is gone, SIGHUP-proof ones included')
  t.ok(sessionPids(released!).length > 0, 'a released session is left alone')

  // An orderly dispose does not hang up what is still guarded: the owner ends its sessions itself.
  const r = runner(t)
  const child = spawn('sh', ['-c', 'sleep 60'], { detached: true, stdio: 'ignore' })
  t.teardown(() => { try { process.kill(-child.pid!, 'SIGKILL') } catch { /* gone */ } })
  r.guardSession(child.pid!)
  t.equal(r.guardedSessions, 1)
  await r.run('true', [], { cwd: dir })
  const helper = r.helperPid!
  await r.dispose()
  // Only the helper hangs up guarded sessions (SIGHUP, then SIGKILL a second later, then it
  // exits): once it is gone, nothing can.
  await waitFor(() => !isAlive(helper), { what: 'the helper to exit' })
  t.ok(sessionPids(child.pid!).length > 0, 'still running after dispose')
  t.equal(r.guardedSessions, 0)
  t.equal(r.guardSession(child.pid!).dispose(), undefined, 'guarding after dispose is a no-op')
  t.equal(r.guardedSessions, 0)
})

t.test('bad options are refused', async t => {
  t.throws(() => new ProcessRunner({ maxConcurrent: 0 }), /maxConcurrent must be an integer >= 1/)
  t.throws(() => new ProcessRunner({ defaultTimeoutMs: 1.5 }), /defaultTimeoutMs/)
})
