// What starting agent processes costs the server's event loop: ten children started at once from
// a process holding a ~250 MiB heap (like a loaded server), with child_process.spawn from the
// main thread versus ProcessRunner.spawnChild (the helper spawns, the pipes come back over IPC).
// Prints the event-loop delay while the children start, for each way, alternating rounds.
//   node --import @tapjs/typescript/import bench/agents/spawn-stall.ts
// Env: SPAWN_ROUNDS (default 4), SPAWN_CHILDREN (default 10), SPAWN_HOGS (CPU-bound processes
// running meanwhile, as on a loaded machine; default 2).
import { spawn } from 'node:child_process'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { ProcessRunner } from '../../src/core/process-runner.js'

const ROUNDS = Number(process.env.SPAWN_ROUNDS ?? 4)
const CHILDREN = Number(process.env.SPAWN_CHILDREN ?? 10)
const HOGS = Number(process.env.SPAWN_HOGS ?? 2)
// A heap like a busy server's: many small live objects (page tables to copy on fork).
const heap: unknown[] = []
for (let i = 0; i < 2_500_000; i++) heap.push({ i, s: `object ${i}` })
const CHILD = ['-e', 'process.stdin.resume(); process.stdin.on("end", () => process.exit(0))']

async function round (how: 'main thread' | 'helper', runner: ProcessRunner): Promise<{ p99: number, max: number, ms: number }> {
  const h = monitorEventLoopDelay({ resolution: 1 })
  // A busy loop like a server's: a timer every millisecond touching the heap.
  let k = 0
  const tick = setInterval(() => { for (let j = 0; j < 2000; j++) (heap[(k++ * 7919) % heap.length] as { i: number }).i++ }, 1)
  h.enable()
  const t0 = performance.now()
  const kids = await Promise.all(Array.from({ length: CHILDREN }, () => new Promise<{ end (): void, closed: Promise<void> }>((resolve, reject) => {
    const c = how === 'helper'
      ? runner.spawnChild(process.execPath, CHILD, { cwd: process.cwd(), detached: true })
      : spawn(process.execPath, CHILD, { stdio: ['pipe', 'pipe', 'pipe'], detached: true })
    c.once('error', reject)
    c.once('spawn', () => resolve({ end: () => c.stdin!.end(), closed: new Promise(r => c.once('close', () => r())) }))
  })))
  const ms = performance.now() - t0
  await new Promise(resolve => setTimeout(resolve, 300))
  h.disable()
  clearInterval(tick)
  for (const c of kids) c.end()
  await Promise.all(kids.map(c => c.closed))
  return { p99: h.percentile(99) / 1e6, max: h.max / 1e6, ms }
}

// Busy neighbours, bounded: they end with this process (stdin closes) or after 10 minutes.
const hogs = Array.from({ length: HOGS }, () => spawn(process.execPath, ['-e', 'const end = Date.now() + 600000; process.stdin.on("end", () => process.exit(0)); (function spin () { const t = Date.now() + 20; while (Date.now() < t && Date.now() < end); if (Date.now() < end) setImmediate(spin); else process.exit(0) })()'], { stdio: ['pipe', 'ignore', 'inherit'] }))
const runner = new ProcessRunner()
await runner.run('true', [], { cwd: process.cwd() }) // the helper is up before the first round
const rows: Record<string, Array<{ p99: number, max: number, ms: number }>> = { 'main thread': [], helper: [] }
for (let r = 0; r < ROUNDS; r++) {
  for (const how of (r % 2 === 0 ? ['main thread', 'helper'] : ['helper', 'main thread']) as Array<'main thread' | 'helper'>) rows[how]!.push(await round(how, runner))
}
await runner.dispose()
for (const h of hogs) h.kill()
console.log(`# ${CHILDREN} children started at once, ${ROUNDS} rounds each, heap ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)} MiB, ${HOGS} CPU-bound neighbours`)
for (const [how, xs] of Object.entries(rows)) {
  console.log(`${how.padEnd(12)} event-loop delay p99 ${xs.map(x => x.p99.toFixed(1)).join('/')} ms, max ${xs.map(x => x.max.toFixed(1)).join('/')} ms; all started in ${xs.map(x => x.ms.toFixed(0)).join('/')} ms`)
}
