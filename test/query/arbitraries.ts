/**
 * fast-check generators for the query tests: queries from the grammar (docs/query-language.md §12) over small pools of
 * fields and values, so that matches happen, and flow-log objects whose rows draw from the same pools.
 */
import fc from 'fast-check'

import type {EnvelopeOptions} from '../../src/lib/records/envelope.js'
import type {JsonObject} from '../../src/lib/records/object.js'
import {HEADER_FIELDS, RECORD_FIELDS, ROW_FIELDS} from '../../src/lib/records/schema.js'
import type {TestObject} from './helpers.js'

// ---- values shared by rows and queries -------------------------------------------------------------------------------

/** String values of rows: IPs, actions, CRNs, numbers as text, tricky case mappings (İ, K KELVIN SIGN, ſ, é, ß). */
export const STRING_POOL = [
  '10.240.0.4',
  '10.240.0.45',
  '10.240.64.4',
  '161.26.0.10',
  '203.0.113.9',
  '0.0.0.0',
  '255.255.255.255',
  '010.240.0.4',
  '10.240.0.4x',
  '1.2.3',
  '10.240.0.256',
  'accepted',
  'rejected',
  'Accepted',
  'REJECTED',
  'I',
  'O',
  'inbound',
  'outbound',
  'ok',
  'skip data',
  'IPv4',
  '',
  '2020-06-04T13:43:10Z',
  'crn:v1:bluemix:public:is:us-south-2:a/713c::instance:0727_7ccd',
  'Job Failed: SyntaxError in worker',
  'job failed',
  'a-b',
  'x.y',
  'x_y',
  '123',
  '-12',
  '1.5',
  '007',
  '99999999999999999999999',
  'true',
  'false',
  'İstanbul',
  'İ',
  '\u212Aelvin',
  'ſtop',
  'été',
  'ÉTÉ',
  'straße',
  'a/b',
  'with space',
  '{x}',
  'a,b',
  'ok:ok',
  '@x',
  '12abc',
  'i\u0307x',
  'k',
  'AND',
]

export const INT_POOL = [0, 1, 2, 6, 17, 22, 67, 68, 120, 300, 443, 1024, 3389, 5120, 51234, 65535, 1000000, -5, 9007199254740991]

/** Literals for queries: prefixes and pieces of the row values, plus values that never occur. */
export const VALUE_POOL = [
  '10.240',
  '10.240.0.4',
  '10.240.0.45',
  '10',
  '240',
  '0.4',
  '203.0.113.9',
  '161',
  'acc',
  'ACC',
  'accepted',
  'rej',
  'Rej',
  'rejected',
  '2',
  '22',
  '6',
  '17',
  '-5',
  '-12',
  '1.5',
  '007',
  '7',
  '0',
  '1024',
  'true',
  'tr',
  'fa',
  'false',
  'in',
  'inbound',
  'out',
  'i',
  'I',
  'O',
  'k',
  'K',
  'kelvin',
  'İ',
  'i\u0307',
  '\u0307',
  'istanbul',
  'ſ',
  's',
  'stop',
  'é',
  'É',
  'été',
  'strasse',
  'straße',
  'ok',
  'skip',
  'skip data',
  'crn',
  'crn:v1',
  'us-south',
  'us-south-2',
  'a-b',
  'a',
  'b',
  'x.y',
  'x',
  'x_y',
  'job',
  'failed',
  'Failed',
  'job failed',
  'syntaxerror',
  'flowlog',
  'vpc',
  'vpc-flowlogs',
  'prod',
  'INFO',
  'WARN',
  'info',
  'warn',
  'ERROR',
  '_',
  '.',
  '-',
  '/',
  'a/b',
  '713c',
  'ibm',
  '0727_7ccd',
  'data',
  'gz',
  'with space',
  '{x}',
  'a,b',
  ':',
  ':22',
  ':2',
  ':-5',
  ':true',
  ':t',
  ':f',
  'T13:43',
  '10Z',
  '"',
  '%3A',
  'record_id',
  'target_ip',
  'AND',
  'OR',
  'NOT',
  'and',
  '2020-06-04',
  'T13',
  'ipv4',
  '12abc',
  '99999999999999999999999',
  'nothing-here',
]

export const CIDR_POOL = [
  '10.240.0.0/16',
  '10.0.0.0/8',
  '0.0.0.0/0',
  '10.240.0.4/32',
  '10.240.0.4/16',
  '203.0.113.0/24',
  '255.255.255.255/32',
  '161.26.0.0/20',
  '010.240.0.0/16',
]

export const NUMBER_POOL = ['-5', '0', '1.5', '2', '22', '67', '68', '300', '1000', '1024', '65535', '1000000', '2.5', '007', '-0', '99999999999999999999999']

export const FIELD_POOL = [
  ...ROW_FIELDS.map((f) => f.name),
  'host',
  'app',
  'level',
  'tag',
  'meta.record_id',
  'meta.x',
  'status',
  '_status',
  'a.b',
  'unknown',
  'direction.x',
  'message',
]

export const KEY_POOL = [
  'ibm_vpc_flowlogs_v1/account=713c/region=us-south/vpc-id=crn%3Av1%3Abluemix/record-type=ingress/00000001.gz',
  'logs/a.json',
  'x y/k',
  'K/İ',
  'rejected/accepted',
]

// ---- rows ------------------------------------------------------------------------------------------------------------

function fieldValue(type: string): fc.Arbitrary<JsonObject[string]> {
  if (type === 'integer') return fc.constantFrom(...INT_POOL)
  if (type === 'boolean') return fc.boolean()
  return fc.constantFrom(...STRING_POOL)
}

function someFields(fields: typeof ROW_FIELDS, maxFields: number): fc.Arbitrary<JsonObject> {
  return fc.subarray(fields, {maxLength: maxFields}).chain((chosen) =>
    fc.tuple(...chosen.map((f) => fieldValue(f.type))).map((values) => {
      const o: JsonObject = {}
      chosen.forEach((f, i) => (o[f.name] = values[i]))
      return o
    }),
  )
}

/** Occasionally make a record irregular (unknown field, null, wrong type, a string that needs escaping). */
const irregularity: fc.Arbitrary<JsonObject> = fc.oneof(
  {weight: 12, arbitrary: fc.constant<JsonObject>({})},
  {weight: 1, arbitrary: fc.constant<JsonObject>({message: 'Job Failed: rejected'})},
  {weight: 1, arbitrary: fc.constant<JsonObject>({action: null})},
  {weight: 1, arbitrary: fc.constant<JsonObject>({target_port: '22'})},
  {weight: 1, arbitrary: fc.constant<JsonObject>({direction: 'say "hi"'})},
  {weight: 1, arbitrary: fc.constant<JsonObject>({user: {id: 22, tags: ['a', 'b']}})},
)

const recordArb: fc.Arbitrary<JsonObject> = fc
  .tuple(someFields(RECORD_FIELDS, 12), irregularity)
  .map(([r, extra]) => ({...r, ...extra}))

const headerArb: fc.Arbitrary<JsonObject> = someFields(HEADER_FIELDS, 5)

export const objectsArb: fc.Arbitrary<TestObject[]> = fc
  .array(fc.tuple(fc.constantFrom(...KEY_POOL), headerArb, fc.array(recordArb, {minLength: 1, maxLength: 6}), fc.boolean()), {
    minLength: 1,
    maxLength: 8,
  })
  .map((objects) =>
    objects.map(([key, header, records, raw], i) => ({key: `${key}#${i}`, header, records, raw}) as TestObject),
  )

export const envelopeArb: fc.Arbitrary<EnvelopeOptions> = fc.record(
  {
    hostname: fc.constantFrom('flowlog', 'web-1', 'İhost'),
    app: fc.constantFrom('vpc-flowlogs', 'api'),
    level: fc.constantFrom('INFO', 'WARN', 'debug'),
    levelByAction: fc.boolean(),
    tags: fc.subarray(['us-south', 'prod', 'k', 'a,b']),
  },
  {requiredKeys: []},
)

// ---- queries ---------------------------------------------------------------------------------------------------------

const KEYWORDS = new Set(['AND', 'OR', 'NOT', '&&', '||'])

/** A literal as query text: bare when that reads back the same, else double-quoted with escapes. */
function literal(value: string, allowColon: boolean, bare: boolean): string {
  const bareOk =
    bare &&
    value !== '' &&
    !KEYWORDS.has(value) &&
    /^[^\s()"'\\[<>=*-][^\s()"'\\]*$/u.test(value) &&
    !value.endsWith('*') &&
    (allowColon || !value.includes(':'))
  return bareOk ? value : `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`
}

const opArb = fc.constantFrom('', '', '=', '==', '===')
const valueArb = fc.oneof({weight: 6, arbitrary: fc.constantFrom(...VALUE_POOL)}, {weight: 1, arbitrary: fc.constantFrom(...CIDR_POOL)})
const cmpArb = fc.constantFrom('>', '>=', '<', '<=')

function listText(items: string[]): string {
  return `[${items.map((v) => v.replace(/[\\,\]]/g, (c) => `\\${c}`)).join(',')}]`
}

const listArb = fc.array(valueArb, {minLength: 1, maxLength: 3}).map(listText)

/** An atom inside a field group. */
const groupAtom: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(cmpArb, fc.constantFrom('', ' '), fc.constantFrom(...NUMBER_POOL)).map(([c, s, n]) => `${c}${s}${n}`),
  fc.constant('*'),
  fc.tuple(opArb, valueArb, fc.boolean()).map(([op, v, bare]) => `${op}${literal(v, true, bare)}`),
  fc.tuple(opArb, listArb).map(([op, l]) => `${op}${l}`),
)

function combine(atom: fc.Arbitrary<string>, depth: number): fc.Arbitrary<string> {
  if (depth === 0) return atom
  const sub = combine(atom, depth - 1)
  return fc.oneof(
    {weight: 4, arbitrary: atom},
    {weight: 1, arbitrary: fc.tuple(sub, fc.constantFrom(' ', ' AND ', ' && ', ' OR ', ' || ', '  '), sub).map(([a, op, b]) => `${a}${op}${b}`)},
    {weight: 1, arbitrary: fc.tuple(fc.constantFrom('-', 'NOT '), sub).map(([n, a]) => `${n}${a}`)},
    {weight: 1, arbitrary: sub.map((a) => `(${a})`)},
  )
}

const groupExpr = combine(groupAtom, 2)

const fieldClause: fc.Arbitrary<string> = fc.tuple(fc.constantFrom(...FIELD_POOL), fc.nat(5)).chain(([field, kind]) => {
  switch (kind) {
    case 0:
      return fc.constant(`${field}:*`)
    case 1:
      return fc.tuple(cmpArb, fc.constantFrom(...NUMBER_POOL)).map(([c, n]) => `${field}:${c}${n}`)
    case 2:
      return fc.tuple(opArb, listArb).map(([op, l]) => `${field}:${op}${l}`)
    case 3:
      return groupExpr.map((g) => `${field}:(${g})`)
    default:
      return fc.tuple(opArb, valueArb, fc.boolean()).map(([op, v, bare]) => `${field}:${op}${literal(v, true, bare)}`)
  }
})

const termArb: fc.Arbitrary<string> = fc.tuple(opArb, valueArb, fc.boolean()).map(([op, v, bare]) => `${op}${literal(v, false, bare)}`)

/** Queries from the grammar: terms, field clauses, groups, lists, comparators, CIDR, operators and parentheses. */
export const queryArb: fc.Arbitrary<string> = combine(fc.oneof({weight: 2, arbitrary: fieldClause}, {weight: 1, arbitrary: termArb}), 3)

/** Strings made of the language's interesting characters (and a few others): mostly syntax errors. */
export const noiseArb: fc.Arbitrary<string> = fc.oneof(
  fc.string({
    unit: fc.constantFrom(...'ab:()[],"\'\\-=<>*. \t\nANDORNOT&|!01/İ'.split(''), 'AND', 'OR', 'NOT', '&&', '||', 'f:', 'target_ip:'),
    maxLength: 30,
  }),
  fc.string({unit: 'binary', maxLength: 20}),
  fc.string({unit: 'grapheme-ascii', maxLength: 40}),
)
