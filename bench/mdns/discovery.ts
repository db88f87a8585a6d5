// Time to discovery in the two-namespace rig: a Nearby browser runs in namespace B; a server
// (built dist/) starts in namespace A, ten times. For each start we measure from "listening" to
// the browser's first sight of it, and from goodbye (SIGTERM) to its removal. Prints the median.
// Needs root and `ip netns` (nothing is sent on the host's interfaces); run `npm run build` first.
//   node --import @tapjs/typescript/import bench/mdns/discovery.ts [runs=10]
import { createRig, distUnavailable, json, Lines, NODE, netnsUnavailable } from '../../test/helpers/netns.js'

const runs = Number(process.argv[2] ?? 10)
const skip = netnsUnavailable() ?? distUnavailable()
if (skip) {
  console.log(`mdns bench skipped: ${skip}`)
  process.exit(0)
}

const cleanups: Array<() => unknown> = []
const rig = await createRig({ teardown: (fn: () => unknown) => { cleanups.push(fn) } } as never)
// Ctrl-C or a kill: remove the namespaces (and the processes in them) before exiting.
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => { void (async () => { for (const fn of cleanups) await fn(); process.exit(130) })() })
}
const percentile = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!
}
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

try {
  const watch = new Lines(rig.spawn(rig.b, [NODE, 'test/plugins/mdns/fixtures/browse.mjs', 'watch', '1000']).stdout!)
  await watch.wait(l => json(l)?.event === 'started', 30_000, 'browser')
  const discovery: number[] = []
  const fromSpawn: number[] = []
  const removal: number[] = []
  for (let i = 1; i <= runs; i++) {
    const name = `Bench ${i}`
    const spawnedAt = Date.now()
    const server = rig.spawn(rig.a, [NODE, 'test/plugins/mdns/fixtures/serve.mjs', JSON.stringify({ name, logLevel: 'warn' })])
    const listening = json(await new Lines(server.stdout!).wait(l => json(l)?.event === 'listening', 60_000, 'listening'))!
    const isMine = (kind: string) => (l: string): boolean => { const j = json(l); return j?.event === kind && (j.server as { name: string }).name === name }
    const up = json(await watch.wait(isMine('up'), 10_000, `${name} up`))!
    discovery.push(Number(up.t) - Number(listening.t))
    fromSpawn.push(Number(up.t) - spawnedAt)
    const killedAt = Date.now()
    server.kill('SIGTERM')
    const down = json(await watch.wait(isMine('down'), 10_000, `${name} down`))!
    removal.push(Number(down.t) - killedAt)
    await new Promise(resolve => server.exitCode !== null ? resolve(null) : server.once('exit', resolve))
    console.log(`run ${i}: discovered ${discovery.at(-1)} ms after listening (${fromSpawn.at(-1)} ms after spawn), removed ${removal.at(-1)} ms after SIGTERM`)
  }
  console.log(`time-to-discovery (listening → first seen), ${runs} starts: median ${median(discovery)} ms, min ${Math.min(...discovery)} ms, p90 ${percentile(discovery, 0.9)} ms, max ${Math.max(...discovery)} ms`)
  console.log(`process spawn → first seen: median ${median(fromSpawn)} ms`)
  console.log(`SIGTERM → removed (goodbye): median ${median(removal)} ms, max ${Math.max(...removal)} ms`)
} finally {
  for (const fn of cleanups) await fn()
}
