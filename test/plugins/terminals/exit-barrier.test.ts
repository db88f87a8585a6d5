// The exit barrier's marker (node-pty-provider.ts) is found even when the pty hands it out split
// across reads, and output that merely looks like its start still reaches the client intact.
import t from 'tap'
import { NodePtyProvider } from '../../../src/index.js'
import { markerPrefixAt } from '../../../src/plugins/terminals/node-pty-provider.js'

const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', TERM: 'xterm' }

/** Runs `script` in a fresh pty; resolves with its output and exit, or 'hung' after timeoutMs. */
function run (provider: NodePtyProvider, script: string, timeoutMs = 10_000, onData?: (soFar: Buffer) => void): Promise<{ out: Buffer, exit: unknown }> {
  const s = provider.spawn({ cwd: '/tmp', cols: 80, rows: 24, env, file: '/bin/sh', args: ['-c', script] })
  const parts: Buffer[] = []
  s.onData(d => { parts.push(Buffer.from(d)); onData?.(Buffer.concat(parts)) })
  return new Promise(resolve => {
    const timer = setTimeout(() => { s.kill('SIGKILL'); resolve({ out: Buffer.concat(parts), exit: 'hung' }) }, timeoutMs)
    s.onExit(e => { clearTimeout(timer); resolve({ out: Buffer.concat(parts), exit: e }) })
  })
}

t.test('markerPrefixAt: the longest proper prefix of the marker that ends the buffer', async t => {
  const m = Buffer.from('\x1b]7770;abc\x07')
  const at = (s: string): number => markerPrefixAt(Buffer.from(s, 'latin1'), m)
  t.equal(at('hello'), 5, 'none')
  t.equal(at(''), 0, 'empty buffer')
  t.equal(at('hello\x1b'), 5, 'a lone ESC')
  t.equal(at('hello\x1b]77'), 5)
  t.equal(at('\x1b]7770;ab'), 0, 'all of it')
  t.equal(at('x\x1b]7770;abc'), 1, 'one byte short of the whole marker')
  t.equal(at('\x1b]7\x1b]77'), 3, 'the later of two starts')
  t.equal(at('hello\x1b]78'), 9, 'a diverging start is not a prefix')
  t.equal(at(`${'a'.repeat(100)}\x1b`), 100, 'only the tail is looked at')
})

t.test('every exit is seen after output of any length (the marker split across reads)', async t => {
  const provider = new NodePtyProvider({ shell: '/bin/sh' })
  // Output ending near the pty's read boundaries (multiples of 4 KiB) puts the marker across two
  // reads in a good share of runs; without the carry across reads about 40 % of these hang.
  let hung = 0
  let wrong = 0
  for (let batch = 0; batch < 4; batch++) {
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => {
      const n = 4096 * (1 + ((batch * 40 + i) % 8)) - 40 + ((batch * 40 + i) % 41)
      return run(provider, `head -c ${n} /dev/zero | tr '\\0' a`).then(r => ({ n, ...r }))
    }))
    for (const r of results) {
      if (r.exit === 'hung') hung++
      else if (r.out.length !== r.n || r.out.some(b => b !== 0x61)) { wrong++; if (wrong < 3) t.comment(r.n, r.out.length, JSON.stringify(r.out.subarray(-50).toString('latin1'))) }
    }
  }
  t.equal(hung, 0, '160 terminals all reported their exit')
  t.equal(wrong, 0, 'and each delivered exactly its output, no marker bytes')
})

t.test('output that looks like the start of the marker is delivered, whole and in order', async t => {
  const provider = new NodePtyProvider({ shell: '/bin/sh' })
  // Ends a write with the marker's opening (ESC ] 7770;), waits, then goes on.
  const seen: string[] = []
  const r = await run(provider, "printf 'abc\\033]7770;'; sleep 0.2; printf 'xyz\\007def'; sleep 0.2; printf '\\033]77'", 10_000,
    soFar => { seen.push(soFar.toString('latin1')) })
  t.same(r.exit, { code: 0, signal: null })
  t.ok(seen.includes('abc\x1b]7770;'), 'the look-alike went out while the shell ran, not with the next output')
  t.equal(r.out.toString('latin1'), 'abc\x1b]7770;xyz\x07def\x1b]77', 'nothing lost, nothing added')
})
