// Runs the built CLIs (dist/, built by `npm test`'s pretest) as real child processes.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const SERVER_BIN = fileURLToPath(new URL('../../dist/bin/claudette-server.js', import.meta.url))
export const CLIENT_BIN = fileURLToPath(new URL('../../dist/bin/claudette.js', import.meta.url))
/** The bundled CLIs (tools/bundle-cli.mjs): what package.json `bin` and `npm start` run. */
export const BUNDLED_SERVER_BIN = fileURLToPath(new URL('../../dist/cli/claudette-server.js', import.meta.url))
export const BUNDLED_CLIENT_BIN = fileURLToPath(new URL('../../dist/cli/claudette.js', import.meta.url))

export interface CliResult { code: number | null, signal: NodeJS.Signals | null, stdout: string, stderr: string }

/** Runs a CLI to completion (killed after timeoutMs). */
export function runCli (bin: string, args: string[], opts: { env?: NodeJS.ProcessEnv, timeoutMs?: number, input?: string } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', d => { stdout += d })
    child.stderr.on('data', d => { stderr += d })
    child.stdin.end(opts.input ?? '')
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000)
    child.on('error', reject)
    child.on('exit', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr }) })
  })
}

/** Starts a long-running CLI process and resolves once `ready` matches its stdout. */
export async function startCli (bin: string, args: string[], ready: RegExp, opts: { env?: NodeJS.ProcessEnv, timeoutMs?: number } = {}): Promise<{ child: ChildProcessWithoutNullStreams, stdout: () => string, stderr: () => string, exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }> }> {
  const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', d => { stdout += d })
  child.stderr.on('data', d => { stderr += d })
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>(resolve => child.on('exit', (code, signal) => resolve({ code, signal })))
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${ready}; stdout=${stdout} stderr=${stderr}`)), opts.timeoutMs ?? 20_000)
    const check = (): void => { if (ready.test(stdout)) { clearTimeout(timer); resolve() } }
    child.stdout.on('data', check)
    void exited.then(() => { clearTimeout(timer); reject(new Error(`exited before ready; stdout=${stdout} stderr=${stderr}`)) })
  })
  return { child, stdout: () => stdout, stderr: () => stderr, exited }
}
