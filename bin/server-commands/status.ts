// `claudette-server status`: the figures of the server running for a home, asked over its
// local control socket.
import type { Command } from 'commander'
import { resolveServerHome, serverStatus, type ServerStatus } from '../../src/index.js'
import { EXIT_RUNTIME, UsageError, json, out } from '../cli-output.js'

const formatBytes = (n: number): string => {
  const units = ['B', 'KiB', 'MiB', 'GiB']
  let v = n
  let i = 0
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++ }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`
}

const formatUptime = (s: number): string => {
  const d = Math.floor(s / 86_400)
  const h = Math.floor((s % 86_400) / 3600)
  const m = Math.floor((s % 3600) / 60)
  const parts = [d > 0 ? `${d}d` : '', h > 0 ? `${h}h` : '', m > 0 ? `${m}m` : '', `${s % 60}s`].filter(p => p !== '')
  return parts.slice(0, 2).join(' ')
}

const listenText = (l: ServerStatus['listen']): string => `${l.address.includes(':') ? `[${l.address}]` : l.address}:${l.port}`

export function registerStatusCommand (program: Command, globals: () => { home?: string, json?: boolean }): void {
  program.command('status')
    .description('show the running server of this home: version, pid, uptime, address, fingerprint, devices online, connections, terminals, agents, memory (exit 1 when none runs)')
    .option('--json', 'machine-readable output: version, pid, uptime_s, listen {address, port}, fingerprint, devices_online, connections, terminals, agents_running, rss_bytes')
    .action(async (o: { json?: boolean }) => {
      const g = globals()
      const s = await serverStatus({ home: g.home })
      if (s === null) throw new UsageError(`no server is running for ${resolveServerHome(g.home)}`, EXIT_RUNTIME)
      if (o.json || g.json) { out(json(s, null, 2)); return }
      const rows = [
        ['version', s.version],
        ['pid', String(s.pid)],
        ['uptime', formatUptime(s.uptime_s)],
        ['listen', listenText(s.listen)],
        ['fingerprint', s.fingerprint],
        ['devices online', String(s.devices_online)],
        ['connections', String(s.connections)],
        ['terminals', String(s.terminals)],
        ['agents running', String(s.agents_running)],
        ['memory (rss)', formatBytes(s.rss_bytes)],
      ]
      const width = Math.max(...rows.map(([k]) => k!.length)) + 1
      for (const [k, v] of rows) out(`${`${k}:`.padEnd(width)}  ${v}`)
    })
}
