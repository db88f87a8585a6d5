// The CLI's side of the control channel: one small HTTP GET over the home's socket.
import { request } from 'node:http'
import { ControlNoAnswerError, ControlSocketError } from './errors.js'
import { checkPrivateDir, controlLocation } from './paths.js'
import type { ServedConnection, ServerStatus } from './types.js'

/** The channel's requests and their answers. */
export interface ControlAnswers {
  status: ServerStatus
  connection: ServedConnection
}

/** An answer is a small JSON object; anything larger is not our server's. */
const MAX_ANSWER_BYTES = 64 * 1024

/**
 * Asks the server running for `home`. Null when none runs (no socket, or a socket nobody
 * listens on: its server was killed). A server that does not answer within `timeoutMs` is an
 * error, not "none": something holds the home.
 */
export async function askServer<K extends keyof ControlAnswers> (home: string, what: K, { timeoutMs = 5000 } = {}): Promise<ControlAnswers[K] | null> {
  const loc = controlLocation(home)
  if (loc.privateDir !== null && !(await checkPrivateDir(loc.privateDir, { create: false }))) return null
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: loc.path, path: `/${what}`, method: 'GET', headers: { accept: 'application/json' } }, res => {
      const chunks: Buffer[] = []
      let size = 0
      res.on('data', (chunk: Buffer) => {
        size += chunk.length
        if (size > MAX_ANSWER_BYTES) { req.destroy(new Error('answer too large')); return }
        chunks.push(chunk)
      })
      res.on('end', () => {
        clearTimeout(timer)
        if (res.statusCode === 503) { reject(new ControlNoAnswerError(home, 'it is still starting; try again in a moment')); return }
        if (res.statusCode !== 200) { reject(new ControlNoAnswerError(home, `status ${res.statusCode}`)); return }
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as ControlAnswers[K])
        } catch {
          reject(new ControlNoAnswerError(home, 'the answer is not JSON'))
        }
      })
      res.on('error', () => {})
    })
    const timer = setTimeout(() => req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })), timeoutMs)
    req.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      // No socket, or a socket left behind by a server that was killed: no server runs.
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') { resolve(null); return }
      if (err.code === 'EACCES' || err.code === 'EPERM') { reject(new ControlSocketError(`cannot open the control socket ${loc.path}: permission denied (it belongs to the user the server runs as)`, { cause: err })); return }
      reject(new ControlNoAnswerError(home, err.message, { cause: err }))
    })
    req.end()
  })
}
