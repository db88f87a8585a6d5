// Questions asked on the operator's terminal: confirmation of destructive commands and a numbered
// choice. Only when both stdin and stdout are terminals: scripts and pipes never block on a
// question, and behave as they did before these prompts existed.
import { createInterface } from 'node:readline/promises'
import { EXIT_RUNTIME, UsageError, printable } from './cli-output.js'

/** Whether a person can answer: stdin and stdout are both terminals. */
export const isInteractive = (): boolean => process.stdin.isTTY === true && process.stdout.isTTY === true

async function ask (question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stdout })
  // Ctrl-D or Ctrl-C at the prompt is a "no", not a hang or a crash.
  const closed = new Promise<string>(resolve => rl.once('close', () => resolve('')))
  try {
    return (await Promise.race([rl.question(printable(question)), closed])).trim()
  } finally {
    rl.close()
  }
}

/**
 * Asks `question [y/N]` on a terminal unless `yes`; throws (exit 1, nothing changed) unless the
 * answer is y or yes. Without a terminal it does not ask: the command goes ahead.
 */
export async function confirmOrAbort (question: string, opts: { yes?: boolean }): Promise<void> {
  if (opts.yes === true || !isInteractive()) return
  const answer = (await ask(`${question} [y/N] `)).toLowerCase()
  if (answer !== 'y' && answer !== 'yes') throw new UsageError('aborted; nothing was changed', EXIT_RUNTIME)
}

/** A numbered list to pick from on a terminal; returns the chosen index (asks again on a bad answer). */
export async function chooseOne (title: string, labels: string[]): Promise<number> {
  process.stdout.write(`${printable(title)}\n`)
  for (const [i, label] of labels.entries()) process.stdout.write(`  ${String(i + 1).padStart(String(labels.length).length)}) ${printable(label)}\n`)
  for (;;) {
    const answer = await ask(`Number (1-${labels.length}, empty to cancel): `)
    if (answer === '') throw new UsageError('cancelled', EXIT_RUNTIME)
    const n = Number(answer)
    if (Number.isInteger(n) && n >= 1 && n <= labels.length) return n - 1
  }
}
