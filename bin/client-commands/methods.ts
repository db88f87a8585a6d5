// `claudette methods <server> [method]`: the methods a server answers and their parameters, from
// its `list_methods` (so it shows what that server version and its plugins really accept).
import type { Command, Option } from 'commander'
import type { MethodResult } from '../../src/client/index.js'
import { UsageError, json, out, printTable } from '../cli-output.js'
import { withServer, type ClientCli } from './context.js'

type Schema = Record<string, unknown>
type MethodDescription = MethodResult<'list_methods'>[number]

/** A one-line type for a JSON Schema: string, integer, "a"|"b", string[], {…}. */
function typeOf (s: Schema): string {
  if (s.const !== undefined) return JSON.stringify(s.const)
  if (Array.isArray(s.enum)) return s.enum.map(v => JSON.stringify(v)).join('|')
  const alts = (s.anyOf ?? s.oneOf) as Schema[] | undefined
  if (Array.isArray(alts)) return alts.map(typeOf).join('|')
  if (s.type === 'array') return `${s.items ? typeOf(s.items as Schema) : 'any'}[]`
  if (s.type === 'object') return s.properties ? `{${paramsSummary(s)}}` : 'object'
  return typeof s.type === 'string' ? s.type : Array.isArray(s.type) ? s.type.join('|') : 'any'
}

/** `name: type, other?: type` for an object schema; `—` for none. */
export function paramsSummary (schema: Schema): string {
  const props = (schema.properties ?? {}) as Record<string, Schema>
  const required = new Set(Array.isArray(schema.required) ? schema.required as string[] : [])
  const keys = Object.keys(props)
  if (keys.length === 0) return '—'
  return keys.map(k => `${k}${required.has(k) && props[k]!.default === undefined ? '' : '?'}: ${typeOf(props[k]!)}`).join(', ')
}

export function registerMethods (cli: ClientCli, timeoutOption: () => Option): Command {
  return cli.program.command('methods')
    .description('list the methods a paired server answers, with their parameters (its list_methods)')
    .argument('<server>', 'paired server name or id')
    .argument('[method]', 'print this method\'s full parameter schema (JSON Schema)')
    .option('--json', 'machine-readable output: [{name, params}] with params as JSON Schema')
    .addOption(timeoutOption())
    .addHelpText('after', `
Parameters marked ? may be left out. Call one with: claudette call <server> <method> '<json params>'.`)
    .action(async (name: string, method: string | undefined, o: { json?: boolean, timeout: number }) => {
      await withServer(cli, name, async client => {
        const list = await client.request('list_methods') as MethodDescription[]
        if (method !== undefined) {
          const m = list.find(x => x.name === method)
          if (!m) throw new UsageError(`'${name}' has no method '${method}' (see 'claudette methods ${name}')`)
          out(json(o.json ? m : m.params, null, 2))
          return
        }
        if (o.json) { out(json(list, null, 2)); return }
        printTable(['METHOD', 'PARAMETERS'], list.map(m => [m.name, paramsSummary(m.params)]))
      }, { timeoutMs: o.timeout * 1000 })
    })
}
