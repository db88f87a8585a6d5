// A TCP relay for client tests: its links can be cut (RST), refused for a while, or stalled
// (bytes silently dropped, as on a dead Wi-Fi link). 127.0.0.1 only.
import { createServer as createTcpServer, connect, type Socket } from 'node:net'
import type { TestContext } from '../helpers/server.js'

export interface Relay {
  readonly port: number
  /** Connections accepted so far. */
  readonly accepted: number
  /** Cuts every link (RST) and refuses new ones for `ms`. */
  drop (ms: number): void
  /** Stops forwarding on the current links without closing them (new links work). */
  stall (): void
}

export async function tcpRelay (t: TestContext, targetPort: number): Promise<Relay> {
  const links = new Set<Socket>()
  const stalled = new WeakSet<Socket>()
  let down = false
  let accepted = 0
  const server = createTcpServer(sock => {
    if (down) { sock.destroy(); return }
    accepted++
    const up = connect(targetPort, '127.0.0.1')
    links.add(sock); links.add(up)
    const forward = (from: Socket, to: Socket): void => {
      from.on('data', (d: Buffer) => { if (!stalled.has(from)) to.write(d) })
    }
    forward(sock, up); forward(up, sock)
    const end = (): void => { sock.destroy(); up.destroy(); links.delete(sock); links.delete(up) }
    sock.on('error', end); up.on('error', end); sock.on('close', end); up.on('close', end)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { for (const s of links) s.destroy(); return new Promise<void>(resolve => server.close(() => resolve())) })
  return {
    port: (server.address() as { port: number }).port,
    get accepted () { return accepted },
    drop (ms: number): void {
      down = true
      for (const s of links) s.resetAndDestroy()
      setTimeout(() => { down = false }, ms).unref()
    },
    stall (): void { for (const s of links) stalled.add(s) },
  }
}
