// Fuzz, manual variant: 100,000 malformed frames through every registered method.
// It runs the security suite's fuzzer (test/e2e/security-fuzz.test.ts: random text and bytes,
// deep nesting, huge numbers, wrong types for every parameter of every method, before and after
// authenticating) scaled up with FUZZ_FRAMES, so there is one fuzzer, not two. Its CI variant
// (5,200 frames) is part of `npm test`. The run fails on a crash, a hang (a frame without
// exactly one reply within 60 s), an error-level log line or a token in the logs.
//   node --import @tapjs/typescript/import bench/fuzz/fuzz.ts
// Knobs (env): FUZZ_FRAMES=100000, FUZZ_SEED=<n> (printed by each run, to replay it).
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { ROOT } from '../../test/reliability/support.js'

const frames = Number(process.env.FUZZ_FRAMES ?? 100_000)
const started = performance.now()
const child = spawn(process.execPath, ['--import', '@tapjs/typescript/import', join(ROOT, 'test/e2e/security-fuzz.test.ts')], {
  cwd: ROOT,
  // TAP_TIMEOUT=0: no per-test timeout when the file runs on its own (100,000 frames take minutes).
  env: { ...process.env, FUZZ_FRAMES: String(frames), TAP_TIMEOUT: '0' },
  stdio: ['ignore', 'pipe', 'inherit'],
})
let out = ''
child.stdout.on('data', (d: Buffer) => { out += d.toString() })
const code: number = await new Promise(resolve => child.once('exit', c => resolve(c ?? 1)))
const seconds = (performance.now() - started) / 1000
const failures = out.split('\n').filter(l => /^\s*not ok /.test(l))
const sent = /(\d+) malformed frames in (\d+) ms/.exec(out)
const seed = /FUZZ_SEED=(\d+)/.exec(out)?.[1]
const methods = /(\d+) registered methods probed \((\d+) typed frames/.exec(out)
console.log(`fuzz: ${sent ? sent[1] : '?'} malformed frames in ${sent ? (Number(sent[2]) / 1000).toFixed(1) : '?'} s` +
  ` (${sent ? Math.round(Number(sent[1]) / (Number(sent[2]) / 1000)) : '?'} frames/s), ${methods ? `${methods[1]} methods, ${methods[2]} typed frames` : ''}, seed ${seed ?? '?'}`)
console.log(`  run: ${seconds.toFixed(1)} s in total, exit code ${code}, ${failures.length} failed assertions`)
for (const f of failures.slice(0, 10)) console.log('  ' + f.trim())
console.log(code === 0 && failures.length === 0 ? 'fuzz: the server stayed up and correct' : 'fuzz: FAILED (see above; replay with FUZZ_SEED)')
process.exitCode = code === 0 && failures.length === 0 ? 0 : 1
