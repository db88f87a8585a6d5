// A small strict parser of the Prometheus text format (0.0.4), for the tests: every line must be
// a comment (HELP/TYPE), blank, or a sample of a family whose TYPE came first.

export interface Scrape {
  /** `name{a="x",b="y"}` (labels sorted) → value. */
  readonly samples: Map<string, number>
  /** family → type */
  readonly types: Map<string, string>
  /** The value of one sample (undefined when absent). */
  get (name: string, labels?: Record<string, string>): number | undefined
  /** Every sample of a metric name, with its labels. */
  all (name: string): Array<{ labels: Record<string, string>, value: number }>
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/y

const key = (name: string, labels: Record<string, string>): string =>
  `${name}{${Object.keys(labels).sort().map(k => `${k}=${JSON.stringify(labels[k])}`).join(',')}}`

function parseLabels (text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {}
  LABEL.lastIndex = 0
  while (LABEL.lastIndex < text.length) {
    const m = LABEL.exec(text)
    if (!m) throw new Error(`bad labels in: ${line}`)
    labels[m[1]!] = m[2]!.replace(/\\n/g, '\n').replace(/\\(["\\])/g, '$1')
  }
  return labels
}

// As Prometheus reads values (Go's ParseFloat): Inf and NaN in any case (prom-client writes `Nan`).
const VALUE = (s: string, line: string): number => {
  if (/^\+?inf(inity)?$/i.test(s)) return Infinity
  if (/^-inf(inity)?$/i.test(s)) return -Infinity
  if (/^nan$/i.test(s)) return NaN
  const n = Number(s)
  if (s === '' || Number.isNaN(n)) throw new Error(`bad value in: ${line}`)
  return n
}

/** The family a sample belongs to (histogram and summary samples carry suffixes). */
function familyOf (name: string, types: Map<string, string>): string | undefined {
  if (types.has(name)) return name
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (name.endsWith(suffix) && types.has(name.slice(0, -suffix.length))) return name.slice(0, -suffix.length)
  }
  return undefined
}

export function parsePrometheus (text: string): Scrape {
  const samples = new Map<string, number>()
  const types = new Map<string, string>()
  const byName = new Map<string, Array<{ labels: Record<string, string>, value: number }>>()
  for (const line of text.split('\n')) {
    if (line === '') continue
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line)
      if (!m || !NAME.test(m[2]!)) throw new Error(`bad comment: ${line}`)
      if (m[1] === 'TYPE') {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(m[3]!)) throw new Error(`bad type: ${line}`)
        types.set(m[2]!, m[3]!)
      }
      continue
    }
    const m = SAMPLE.exec(line)
    if (!m) throw new Error(`bad sample: ${line}`)
    const name = m[1]!
    if (familyOf(name, types) === undefined) throw new Error(`sample before its TYPE: ${line}`)
    const labels = m[2] !== undefined && m[2] !== '' ? parseLabels(m[2], line) : {}
    const value = VALUE(m[3]!, line)
    const k = key(name, labels)
    if (samples.has(k)) throw new Error(`duplicate sample: ${line}`)
    samples.set(k, value)
    const list = byName.get(name) ?? []
    list.push({ labels, value })
    byName.set(name, list)
  }
  return {
    samples,
    types,
    get: (name, labels = {}) => samples.get(key(name, labels)),
    all: name => byName.get(name) ?? [],
  }
}

export async function scrape (url: string): Promise<{ status: number, contentType: string | null, body: string, metrics: Scrape }> {
  const res = await fetch(url)
  const body = await res.text()
  return { status: res.status, contentType: res.headers.get('content-type'), body, metrics: parsePrometheus(body) }
}
