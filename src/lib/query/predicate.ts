import type {JsonObject} from '../records/object.js'
import {DEFAULT_APP, DEFAULT_HOSTNAME, type EnvelopeOptions, envelopeLevel} from '../records/envelope.js'
import {recordId} from '../records/row.js'
import type {QueryNode, ValueTest} from './ast.js'
import {type Needle, NUMERIC_RE, findIn, findInRaw, ipv4ToInt, makeNeedle, numericLiteral, textMatches} from './match.js'

/**
 * Back end 1: the query as a JavaScript predicate over one record (docs/query-language.md §9, §10). The AST is compiled
 * once into closures; per record, the line, its lowered form and the meta JSON are computed only when a clause needs
 * them (a field clause never serialises the row; the record id is hashed only for terms that could occur in it).
 */

/** A record with an explicit envelope (any meta): what Log Analysis would hold for one line. */
export interface QueryRecord {
  /** The parsed line. */
  row: JsonObject
  /** The exact line text; JSON.stringify(row) when absent. */
  line?: string
  host: string
  app: string
  /** The envelope level (the line's own JSON `level`, when present, overrides it as in Log Analysis). */
  level: string
  tags: string[]
  meta?: JsonObject | null
}

/** Predicate over a flattened row; `line`, when the caller has it, must be JSON.stringify(row). */
export type RowPredicate = (row: JsonObject, key: string, index: number, line?: string) => boolean

/** Several candidate values of one field (tags, dotted paths through arrays): any may satisfy the clause. */
class Many {
  constructor(readonly values: unknown[]) {}
}

/** What a compiled clause reads from a record. */
interface Ctx {
  readonly row: JsonObject
  host(): string
  app(): string
  tags(): string[]
  /** The level the envelope gives, before the line's own `level`. */
  envLevel(): string
  line(): string
  lineLower(): string
  metaObject(): JsonObject | null
  metaJson(): string
  metaJsonLower(): string
}

function hasOwn(o: object, k: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, k)
}

function isPlainObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Many)
}

class RowCtx implements Ctx {
  private lowered?: string
  private meta?: JsonObject
  private mjson?: string
  private mjsonLower?: string

  constructor(
    readonly row: JsonObject,
    private readonly key: string,
    private readonly index: number,
    private text: string | undefined,
    private readonly env: ResolvedEnv,
  ) {}

  host(): string {
    return this.env.host
  }
  app(): string {
    return this.env.app
  }
  tags(): string[] {
    return this.env.tags
  }
  envLevel(): string {
    return envelopeLevel(this.row, this.env.options)
  }
  line(): string {
    if (this.text === undefined) this.text = JSON.stringify(this.row)
    return this.text
  }
  lineLower(): string {
    if (this.lowered === undefined) this.lowered = this.line().toLowerCase()
    return this.lowered
  }
  metaObject(): JsonObject {
    if (this.meta === undefined) this.meta = {record_id: recordId(this.key, this.index)}
    return this.meta
  }
  metaJson(): string {
    if (this.mjson === undefined) this.mjson = JSON.stringify(this.metaObject())
    return this.mjson
  }
  metaJsonLower(): string {
    if (this.mjsonLower === undefined) this.mjsonLower = this.metaJson().toLowerCase()
    return this.mjsonLower
  }
}

class RecordCtx implements Ctx {
  private text?: string
  private lowered?: string
  private mjson?: string
  private mjsonLower?: string
  readonly row: JsonObject

  constructor(private readonly rec: QueryRecord) {
    this.row = rec.row
    this.text = rec.line
  }

  host(): string {
    return this.rec.host
  }
  app(): string {
    return this.rec.app
  }
  tags(): string[] {
    return this.rec.tags
  }
  envLevel(): string {
    return this.rec.level
  }
  line(): string {
    if (this.text === undefined) this.text = JSON.stringify(this.row)
    return this.text
  }
  lineLower(): string {
    if (this.lowered === undefined) this.lowered = this.line().toLowerCase()
    return this.lowered
  }
  metaObject(): JsonObject | null {
    return this.rec.meta ?? null
  }
  metaJson(): string {
    if (this.mjson === undefined) this.mjson = this.rec.meta ? JSON.stringify(this.rec.meta) : ''
    return this.mjson
  }
  metaJsonLower(): string {
    if (this.mjsonLower === undefined) this.mjsonLower = this.metaJson().toLowerCase()
    return this.mjsonLower
  }
}

interface ResolvedEnv {
  host: string
  app: string
  tags: string[]
  options: EnvelopeOptions
}

function resolveEnv(options: EnvelopeOptions): ResolvedEnv {
  return {host: options.hostname ?? DEFAULT_HOSTNAME, app: options.app ?? DEFAULT_APP, tags: options.tags ?? [], options}
}

type Compiled = (ctx: Ctx) => boolean

/**
 * Back end 1 for flattened rows (search of irregular rows, forward, follow, alerts): the envelope is the one
 * records/envelope.ts builds for `key`/`index` under `envelope`.
 */
export function toPredicate(ast: QueryNode, envelope: EnvelopeOptions = {}): RowPredicate {
  if (ast.type === 'all') return () => true
  const env = resolveEnv(envelope)
  const fn = compile(ast, env)
  return (row, key, index, line) => fn(new RowCtx(row, key, index, line, env))
}

/** Back end 1 for records that carry their own envelope (any host/app/level/tags/meta). */
export function toRecordPredicate(ast: QueryNode): (record: QueryRecord) => boolean {
  if (ast.type === 'all') return () => true
  const fn = compile(ast, undefined)
  return (record) => fn(new RecordCtx(record))
}

function compile(node: QueryNode, env: ResolvedEnv | undefined): Compiled {
  switch (node.type) {
    case 'all':
      return () => true
    case 'not': {
      const f = compile(node.child, env)
      return (ctx) => !f(ctx)
    }
    case 'and': {
      const fs = node.children.map((c) => compile(c, env))
      return (ctx) => {
        for (const f of fs) if (!f(ctx)) return false
        return true
      }
    }
    case 'or': {
      const fs = node.children.map((c) => compile(c, env))
      return (ctx) => {
        for (const f of fs) if (f(ctx)) return true
        return false
      }
    }
    case 'term':
      return compileTerm(makeNeedle(node.value, node.op), env)
    case 'field':
      return compileField(node.field, node.test, env)
  }
}

// ---- bare terms over the haystack (§10, D9) ------------------------------------------------------------------------

/** The characters of `{"record_id":"<32 lowercase hex>"}`: a needle with any other character cannot occur in it. */
const RECORD_ID_META_CHARS = new Set('{"record_id":}0123456789abcdef')

function couldOccurInRecordIdMeta(n: Needle): boolean {
  for (const ch of n.text) if (!RECORD_ID_META_CHARS.has(ch)) return false
  return true
}

function levelText(ctx: Ctx): string {
  const own = hasOwn(ctx.row, 'level') ? ctx.row.level : undefined
  return typeof own === 'string' ? own : ctx.envLevel()
}

/** The whole haystack H = line \n host \n app \n level \n tags… \n meta. */
function haystack(ctx: Ctx, cs: boolean): string {
  const h = [ctx.line(), ctx.host(), ctx.app(), levelText(ctx), ctx.tags().join('\n'), ctx.metaJson()].join('\n')
  return cs ? h : h.toLowerCase()
}

function compileTerm(n: Needle, env: ResolvedEnv | undefined): Compiled {
  if (n.text.includes('\n')) return (ctx) => findIn(haystack(ctx, n.cs), n)
  // Without a newline in the needle, H can be searched piece by piece: each piece is bounded by '\n' (a non-word
  // character), exactly like the start and end of a string.
  const envHit = (host: string, app: string, tags: string[]): boolean =>
    textMatches(host, n) || textMatches(app, n) || tags.some((t) => textMatches(t, n))
  if (env && envHit(env.host, env.app, env.tags)) return () => true
  const meta = env ? couldOccurInRecordIdMeta(n) : true
  return (ctx) =>
    (n.cs ? findIn(ctx.line(), n) : n.raw ? findInRaw(ctx.line(), n) : findIn(ctx.lineLower(), n)) ||
    (!env && envHit(ctx.host(), ctx.app(), ctx.tags())) ||
    textMatches(levelText(ctx), n) ||
    (meta && findIn(n.cs ? ctx.metaJson() : ctx.metaJsonLower(), n))
}

// ---- field clauses (§9, §10) -----------------------------------------------------------------------------------------

type Resolver = (ctx: Ctx) => unknown

function walkPath(v: unknown, parts: string[], i: number): unknown {
  if (i === parts.length) return v
  if (Array.isArray(v)) {
    const out: unknown[] = []
    for (const el of v) {
      const r = walkPath(el, parts, i)
      if (r instanceof Many) out.push(...r.values)
      else if (r !== undefined && r !== null) out.push(r)
    }
    return out.length === 0 ? undefined : out.length === 1 ? out[0] : new Many(out)
  }
  if (isPlainObject(v) && hasOwn(v, parts[i])) return walkPath(v[parts[i]], parts, i + 1)
  return undefined
}

/** Rules 3–4 of §9 on one object: the literal (dotted) key, then the dotted path. */
function lookupFn(name: string): (obj: JsonObject | null) => unknown {
  const parts = name.includes('.') ? name.split('.') : undefined
  return (obj) => {
    if (obj === null) return undefined
    if (hasOwn(obj, name)) {
      const v = obj[name]
      if (v !== null && v !== undefined) return v
    }
    if (parts) {
      const v = walkPath(obj, parts, 0)
      if (v !== null && v !== undefined) return v
    }
    return undefined
  }
}

function compileResolver(name: string, env: ResolvedEnv | undefined): {resolve: Resolver; constant?: unknown} {
  switch (name) {
    case 'host':
      return env ? {resolve: () => env.host, constant: env.host} : {resolve: (ctx) => ctx.host()}
    case 'app':
      return env ? {resolve: () => env.app, constant: env.app} : {resolve: (ctx) => ctx.app()}
    case 'tag': {
      const many = (tags: string[]) => (tags.length === 0 ? undefined : new Many(tags))
      return env ? {resolve: () => many(env.tags), constant: many(env.tags)} : {resolve: (ctx) => many(ctx.tags())}
    }
    case 'level':
      return {
        resolve: (ctx) => {
          const own = hasOwn(ctx.row, 'level') ? ctx.row.level : undefined
          return own !== undefined && own !== null ? own : ctx.envLevel()
        },
      }
  }
  if (name.startsWith('meta.')) {
    const lookup = lookupFn(name.slice(5))
    return {resolve: (ctx) => lookup(ctx.metaObject())}
  }
  const direct = lookupFn(name)
  const underscored = lookupFn(`_${name}`)
  return {
    resolve: (ctx) => {
      const v = direct(ctx.row)
      return v !== undefined ? v : underscored(ctx.row)
    },
  }
}

/** The test on one scalar (string, number, boolean); arrays and candidates are spread by `anyValue`. */
function scalarTest(test: ValueTest): (v: unknown) => boolean {
  switch (test.kind) {
    case 'exists':
      return () => true
    case 'cmp': {
      const n = test.value
      const cmps: Record<string, (x: number) => boolean> = {
        '>': (x) => x > n,
        '>=': (x) => x >= n,
        '<': (x) => x < n,
        '<=': (x) => x <= n,
      }
      const cmp = cmps[test.op]
      return (v) => {
        if (typeof v === 'number') return cmp(v)
        if (typeof v === 'string' && NUMERIC_RE.test(v)) return cmp(Number(v))
        return false
      }
    }
    case 'match': {
      const needle = makeNeedle(test.value, test.op)
      const num = numericLiteral(test.value)
      const onTrue = textMatches('true', needle)
      const onFalse = textMatches('false', needle)
      const cidr = test.cidr
      return (v) => {
        switch (typeof v) {
          case 'string':
            if (cidr) {
              const ip = ipv4ToInt(v)
              if (ip !== undefined) return ip >= cidr.first && ip <= cidr.last
            }
            return textMatches(v, needle)
          case 'number':
            return num !== undefined && v === num
          case 'boolean':
            return v ? onTrue : onFalse
          default:
            return false
        }
      }
    }
  }
}

function anyValue(v: unknown, test: (v: unknown) => boolean): boolean {
  if (v === undefined || v === null) return false
  if (v instanceof Many) return v.values.some((x) => anyValue(x, test))
  if (Array.isArray(v)) return v.some((x) => anyValue(x, test))
  if (typeof v === 'object') return false
  return test(v)
}

function compileField(name: string, test: ValueTest, env: ResolvedEnv | undefined): Compiled {
  const {resolve, constant} = compileResolver(name, env)
  let evaluate: (v: unknown) => boolean
  if (test.kind === 'exists') {
    evaluate = (v) => v !== undefined && v !== null
  } else {
    const t = scalarTest(test)
    evaluate = (v) => anyValue(v, t)
  }
  if (constant !== undefined || (env && name === 'tag')) {
    const result = evaluate(constant)
    return () => result
  }
  return (ctx) => evaluate(resolve(ctx))
}

/** Whether one resolved value satisfies a field test (for constant folding of envelope fields elsewhere). */
export function valueSatisfies(test: ValueTest, value: unknown): boolean {
  if (test.kind === 'exists') return value !== undefined && value !== null
  return anyValue(value, scalarTest(test))
}
