// node-pty-internals.ts reads node-pty's non-public master fd and write queue. These checks run
// against the installed node-pty with a real pty: they fail when an upgrade changes that shape.
import { fstatSync, writeSync } from 'node:fs'
import { isatty } from 'node:tty'
import * as pty from '@lydell/node-pty'
import t from 'tap'
import { ptyMaster } from '../../../src/plugins/terminals/node-pty-internals.js'

const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', TERM: 'xterm', HOME: '/tmp' }

/** Resolves once `pred` holds, checked after each output read of `proc` (or rejects after timeoutMs). */
function untilOutput (proc: pty.IPty, pred: (out: string) => boolean, timeoutMs = 10_000): Promise<string> {
  let out = ''
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { sub.dispose(); reject(new Error(`timed out; output so far: ${JSON.stringify(out.slice(-200))}`)) }, timeoutMs)
    const sub = proc.onData(d => {
      out += Buffer.from(d as unknown as Uint8Array).toString('latin1')
      if (pred(out)) { clearTimeout(timer); sub.dispose(); resolve(out) }
    })
  })
}

t.test('a real node-pty process has the master fd and the write queue the adapter reads', async t => {
  const proc = pty.spawn('/bin/sh', [], { cols: 80, rows: 24, cwd: '/tmp', env, encoding: null })
  const exited = new Promise<void>(resolve => proc.onExit(() => { resolve() }))
  t.teardown(async () => { proc.kill('SIGKILL'); await exited })

  const master = ptyMaster(proc)
  if (!master) { t.fail('ptyMaster found no fd or write queue: node-pty changed its internals'); return }
  t.ok(isatty(master.fd), 'fd is a terminal')
  t.ok(fstatSync(master.fd).isCharacterDevice(), 'fd is the pty master (a character device)')
  t.equal(master.writeQueue.length, 0, 'the queue starts empty')

  // A write straight to the fd reaches the shell.
  const ran = untilOutput(proc, s => s.includes('direct-ok'))
  writeSync(master.fd, 'echo direct-""ok\n')
  await ran

  // A write through node-pty's public path is queued, and the queue drains as it is written.
  const lines = 'echo queued-""ok\n'
  const done = untilOutput(proc, s => s.includes('queued-ok'))
  proc.write(Buffer.from(lines) as never)
  // A tty stream may write at once (writableLength 0 right away); a queue holds it until written.
  t.ok(master.writeQueue.length <= lines.length, 'the queue holds at most the public write')
  await done
  // The shell's echo can be read before fs.write's callback has run: wait for the queue itself.
  const deadline = Date.now() + 10_000
  while (master.writeQueue.length > 0 && Date.now() < deadline) await new Promise(resolve => setImmediate(resolve))
  t.equal(master.writeQueue.length, 0, 'the queue drains once the write was done')
})

t.test('another shape is reported as null, so the provider falls back to the public API', async t => {
  t.equal(ptyMaster({} as pty.IPty), null)
  t.equal(ptyMaster({ fd: 3 } as unknown as pty.IPty), null, 'no write queue')
  t.equal(ptyMaster({ fd: 'x', _writeStream: { _writeQueue: [] } } as unknown as pty.IPty), null, 'fd not a number')
  t.equal(ptyMaster({ fd: 3, _socket: {} } as unknown as pty.IPty), null, 'a socket without writableLength')
})

t.test('both write paths are recognised: a tty socket (installed) and a write queue (microsoft/node-pty 1.1.0)', async t => {
  const socket = { writableLength: 0 }
  const viaSocket = ptyMaster({ fd: 3, _socket: socket } as unknown as pty.IPty)
  t.equal(viaSocket?.fd, 3)
  socket.writableLength = 7
  t.equal(viaSocket?.writeQueue.length, 7, 'the socket\'s pending bytes, read live')
  const queue: unknown[] = []
  const viaQueue = ptyMaster({ fd: 4, _writeStream: { _writeQueue: queue } } as unknown as pty.IPty)
  queue.push({})
  t.equal(viaQueue?.writeQueue.length, 1, 'the queue itself')
})
