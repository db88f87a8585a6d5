// What the two CLIs print and how they end, shared: exit codes, escaped output, tables, and the
// last-resort report of an error.
import { CommanderError, type Command } from 'commander'
import { AppError, escapeControls, escapeControlsInJson } from '../src/client/cli-support.js'

export const EXIT_OK = 0
export const EXIT_RUNTIME = 1
export const EXIT_USAGE = 2

/** A mistake in how the command was called (or a lookup that found nothing): printed as `error: …`. */
export class UsageError extends Error {
  constructor (message: string, readonly exitCode = EXIT_USAGE) { super(message) }
}

// Names come from devices and servers (and rows stored by older versions may hold control
// characters): every line printed is escaped, so nothing a remote party sets can drive the
// operator's terminal.
export const printable = (s: string): string => s.split('\n').map(escapeControls).join('\n')
export const out = (s: string): void => { process.stdout.write(printable(s) + '\n') }
/** JSON.stringify, with the characters it leaves raw (DEL, C1, bidi controls) as `\uXXXX` escapes. */
export const json = (value: unknown, replacer?: null, space?: number): string => escapeControlsInJson(JSON.stringify(value, replacer, space))

/** Columns padded to their widest cell, two spaces apart. */
export function printTable (head: string[], raw: string[][]): void {
  const rows = raw.map(r => r.map(escapeControls)) // a newline in a cell would make a row of its own
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map(r => r[i]!.length)))
  const line = (r: string[]): string => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()
  out(line(head))
  for (const r of rows) out(line(r))
}

/**
 * Sets the exit code for an error that reached the top of a CLI and prints it: commander's own
 * (already printed), usage errors, errors meant for people (`expose`), and anything else by its
 * message (`describe` may word a system error better).
 */
export function reportFatal (err: unknown, opts: { usageCodes?: ReadonlySet<string>, describe?: (e: NodeJS.ErrnoException) => string | undefined } = {}): void {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode === 0 ? EXIT_OK : EXIT_USAGE
  } else if (err instanceof UsageError) {
    process.stderr.write(`error: ${printable(err.message)}\n`)
    process.exitCode = err.exitCode
  } else if (err instanceof AppError && err.expose) {
    process.stderr.write(`error: ${printable(err.message)}\n`)
    process.exitCode = opts.usageCodes?.has(err.code) === true ? EXIT_USAGE : EXIT_RUNTIME
  } else {
    const e = err as NodeJS.ErrnoException
    process.stderr.write(`error: ${opts.describe?.(e) ?? printable(e.message ?? String(err))}\n`)
    process.exitCode = EXIT_RUNTIME
  }
}

/** The width help is wrapped to: the terminal's, else $COLUMNS, else 80. */
export const helpWidth = (): number => {
  const cols = process.stdout.isTTY === true ? process.stdout.columns : Number(process.env.COLUMNS)
  return Number.isInteger(cols) && cols >= 40 ? Math.min(cols, 200) : 80
}

/** Help layout: the terminal's width, and descriptions still wrapped beside long option names. */
export const helpLayout = (): { helpWidth: number, minWidthToWrap: number } => ({ helpWidth: helpWidth(), minWidthToWrap: 24 })

/** Wraps a program's help (its commands inherit it) to helpWidth(). */
export function configureHelpWidth (program: Command): void {
  program.configureHelp(helpLayout())
}

/**
 * Re-flows the prose paragraphs of a help text to helpWidth(); indented lines (examples, lists)
 * and lines ending with ':' (headings) stay as written.
 */
export function wrapHelp (text: string): string {
  const width = helpWidth()
  const lines = text.split('\n')
  const result: string[] = []
  let para: string[] = []
  const flush = (): void => {
    if (para.length === 0) return
    let line = ''
    for (const word of para.join(' ').split(/\s+/)) {
      if (line !== '' && line.length + 1 + word.length > width) { result.push(line); line = word } else line = line === '' ? word : `${line} ${word}`
    }
    result.push(line)
    para = []
  }
  for (const l of lines) {
    if (l.trim() === '' || /^\s/.test(l) || l.endsWith(':')) { flush(); result.push(l) } else para.push(l.trim())
  }
  flush()
  return result.join('\n')
}

/** A word as the shell reads it back: bare when safe, else in single quotes. */
export const shellQuote = (s: string): string => /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`
