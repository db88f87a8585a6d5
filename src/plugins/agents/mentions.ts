// @-mentioned files of send_chat_message, prepended to the prompt the agent reads.
import { readFile, stat } from 'node:fs/promises'
import type { FastifyBaseLogger } from 'fastify'
import type { WorkspaceDirectory } from '../repos/types.js'

const MENTION_MAX_BYTES = 100 * 1024

/** Prepends @-mentioned files (confined to the workspace, text only, 100 KiB each) to the prompt. */
export async function expandMentions (dir: WorkspaceDirectory, workspaceId: string, content: string, files: readonly string[], log: FastifyBaseLogger): Promise<string> {
  const blocks: string[] = []
  for (const rel of files) {
    try {
      const path = await dir.resolveInWorkspace(workspaceId, rel)
      const st = await stat(path)
      if (!st.isFile()) continue
      const buf = await readFile(path)
      const body = buf.subarray(0, MENTION_MAX_BYTES)
      if (body.includes(0)) continue // binary
      let block = `<referenced-file path="${escapeAttr(rel)}">\n${body.toString('utf8')}\n</referenced-file>`
      if (buf.length > MENTION_MAX_BYTES) block += `\n(Note: file truncated at 100KB, total size ${buf.length} bytes)`
      blocks.push(block)
    } catch (err) {
      log.debug({ err, file: rel }, 'mentioned file skipped')
    }
  }
  return blocks.length ? `${blocks.join('\n\n')}\n\n${content}` : content
}

const escapeAttr = (s: string): string => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
