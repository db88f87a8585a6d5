// Fake systemctl and launchctl: small shell scripts first in PATH that record every call (one
// line of arguments per call, in <dir>/calls) and keep the state a real manager would (enabled,
// active/loaded) in files of <dir>. FAKE_FAIL=<subcommand> makes that subcommand fail with a
// message on stderr, as a manager without a session bus does.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'

const SYSTEMCTL = `#!/bin/sh
d="$(dirname "$0")"
printf '%s\\n' "$*" >> "$d/calls"
[ "$1" = "--user" ] && shift
if [ -n "$FAKE_FAIL" ] && [ "$1" = "$FAKE_FAIL" ]; then echo "Failed to connect to bus: No medium found" >&2; exit 1; fi
case "$1" in
  is-active) s=$(cat "$d/active" 2>/dev/null || echo inactive); echo "$s"; [ "$s" = active ] ;;
  is-enabled) s=$(cat "$d/enabled" 2>/dev/null || echo disabled); echo "$s"; [ "$s" = enabled ] ;;
  show) if [ "$(cat "$d/active" 2>/dev/null)" = active ]; then echo 4242; else echo 0; fi ;;
  enable) echo enabled > "$d/enabled"; [ "$2" = "--now" ] && echo active > "$d/active"; exit 0 ;;
  disable) echo disabled > "$d/enabled"; [ "$2" = "--now" ] && echo inactive > "$d/active"; exit 0 ;;
  restart) echo active > "$d/active" ;;
  daemon-reload|reset-failed|--version) exit 0 ;;
  *) echo "Unknown command verb $1." >&2; exit 1 ;;
esac
`

const LAUNCHCTL = `#!/bin/sh
d="$(dirname "$0")"
printf '%s\\n' "$*" >> "$d/calls"
if [ -n "$FAKE_FAIL" ] && [ "$1" = "$FAKE_FAIL" ]; then echo "$1 failed: 5: Input/output error" >&2; exit 5; fi
case "$1" in
  print) if [ -f "$d/loaded" ]; then printf '%s = {\\n\\tstate = running\\n\\tpid = 4343\\n}\\n' "$2"; else echo "Could not find service in domain" >&2; exit 113; fi ;;
  print-disabled) printf 'disabled services = {\\n%s}\\n' "$(cat "$d/disabled" 2>/dev/null)" ;;
  bootstrap|load) touch "$d/loaded" ;;
  bootout|unload) if [ -f "$d/loaded" ]; then rm "$d/loaded"; else echo "Boot-out failed: 3: No such process" >&2; exit 3; fi ;;
  enable) exit 0 ;;
  *) echo "Unrecognized subcommand: $1" >&2; exit 1 ;;
esac
`

export interface FakeManager {
  /** The directory to put first in PATH. */
  readonly bin: string
  /** The calls so far, one string of arguments each. */
  calls (): string[]
  /** Sets the fake's state, e.g. set('disabled', '"dev.claudette.server" => disabled\\n'). */
  set (name: string, value: string): void
}

export function fakeServiceManager (t: Test, tool: 'systemctl' | 'launchctl'): FakeManager {
  const bin = mkdtempSync(join(tmpdir(), 'claudette-fake-'))
  t.teardown(() => rmSync(bin, { recursive: true, force: true }))
  const file = join(bin, tool)
  writeFileSync(file, tool === 'systemctl' ? SYSTEMCTL : LAUNCHCTL)
  chmodSync(file, 0o755)
  return {
    bin,
    calls: () => { try { return readFileSync(join(bin, 'calls'), 'utf8').split('\n').filter(l => l !== '') } catch { return [] } },
    set: (name, value) => { writeFileSync(join(bin, name), value) },
  }
}
