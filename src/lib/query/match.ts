import type {CidrBlock, MatchOp} from './ast.js'

/**
 * The matching functions of docs/query-language.md §10 and the IPv4 helpers of §13, shared by the parser and both back
 * ends so that they cannot drift apart.
 */

/** Word characters are `[A-Za-z0-9_.]` (§10). */
const WORD = new Uint8Array(128)
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c)
  WORD[c] = /[A-Za-z0-9_.]/.test(ch) ? 1 : 0
}

export function isWordCode(code: number): boolean {
  return code < 128 && WORD[code] === 1
}

export function isWordChar(ch: string): boolean {
  return ch.length > 0 && isWordCode(ch.charCodeAt(0))
}

/** What an operator means: case-sensitive (`=`, `===`) and whole word (`==`, `===`). */
export function opFlags(op: MatchOp): {cs: boolean; whole: boolean} {
  return {cs: op === '=' || op === '===', whole: op === '==' || op === '==='}
}

/** A needle prepared once: the text to look for (lowered when case-insensitive) and which word edges it needs. */
export interface Needle {
  text: string
  cs: boolean
  whole: boolean
  /** The occurrence must start at a word start (the needle's first character is a word character). */
  needStart: boolean
  /** The occurrence must end at a word end (whole word, and the needle's last character is a word character). */
  needEnd: boolean
  /**
   * Case-insensitive, but the needle is ASCII without letters: no character lower-cases to those, so the raw text
   * holds the same occurrences and only the word edges need the lowered view (see findInRaw).
   */
  raw: boolean
}

export function makeNeedle(value: string, op: MatchOp): Needle {
  const {cs, whole} = opFlags(op)
  const text = cs ? value : value.toLowerCase()
  return {
    text,
    cs,
    whole,
    needStart: text.length > 0 && isWordCode(text.charCodeAt(0)),
    needEnd: whole && text.length > 0 && isWordCode(text.charCodeAt(text.length - 1)),
    raw: !cs && /^[\x00-\x60\x7b-\x7f]*$/.test(text),
  }
}

/**
 * wp / ww over an already case-folded haystack: true when some occurrence of the needle satisfies the word edges.
 * Every occurrence is tried, not only the first.
 */
export function findIn(h: string, n: Needle): boolean {
  const t = n.text
  const len = t.length
  if (len === 0) return true
  let i = h.indexOf(t)
  if (!n.needStart && !n.needEnd) return i !== -1
  while (i !== -1) {
    if (
      (!n.needStart || i === 0 || !isWordCode(h.charCodeAt(i - 1))) &&
      (!n.needEnd || i + len === h.length || !isWordCode(h.charCodeAt(i + len)))
    ) {
      return true
    }
    i = h.indexOf(t, i + 1)
  }
  return false
}

/** U+212A KELVIN SIGN lower-cases to "k", U+0130 to "i" + U+0307: word characters once lowered. */
const KELVIN = 0x212a
const I_DOT = 0x130

/**
 * wp / ww of a `raw` needle on the unlowered haystack: the same occurrences as in the lowered text; a character before
 * the occurrence is a word character once lowered when it is one or U+212A, a character after it when it is one,
 * U+212A or U+0130.
 */
export function findInRaw(h: string, n: Needle): boolean {
  const t = n.text
  const len = t.length
  if (len === 0) return true
  let i = h.indexOf(t)
  if (!n.needStart && !n.needEnd) return i !== -1
  while (i !== -1) {
    let ok = true
    if (n.needStart && i > 0) {
      const c = h.charCodeAt(i - 1)
      ok = !isWordCode(c) && c !== KELVIN
    }
    if (ok && n.needEnd && i + len < h.length) {
      const c = h.charCodeAt(i + len)
      ok = !isWordCode(c) && c !== KELVIN && c !== I_DOT
    }
    if (ok) return true
    i = h.indexOf(t, i + 1)
  }
  return false
}

/** wp / ww of §10 on a raw string (lowered here when the needle is case-insensitive). */
export function textMatches(h: string, n: Needle): boolean {
  if (n.cs) return findIn(h, n)
  if (n.raw) return findInRaw(h, n)
  return findIn(h.toLowerCase(), n)
}

/** `-?digits(.digits)?`: the number syntax (§5). */
export const NUMERIC_RE = /^-?[0-9]+(?:\.[0-9]+)?$/

/** The number a literal stands for, when it has the number syntax. */
export function numericLiteral(text: string): number | undefined {
  return NUMERIC_RE.test(text) ? Number(text) : undefined
}

/** One decimal octet 0–255, leading zeros allowed (1–3 digits). Same text in JS and RE2. */
export const OCTET_RE_SRC = '(?:25[0-5]|2[0-4][0-9]|[01]?[0-9]?[0-9])'
/** A dotted-quad IPv4 address, the whole string. */
export const IPV4_RE_SRC = `${OCTET_RE_SRC}\\.${OCTET_RE_SRC}\\.${OCTET_RE_SRC}\\.${OCTET_RE_SRC}`
const IPV4_RE = new RegExp(`^${IPV4_RE_SRC}$`)
const CIDR_RE = /^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\/([0-9]{1,2})$/

export function isIpv4(text: string): boolean {
  return IPV4_RE.test(text)
}

/** The address as an unsigned 32-bit integer, or undefined when the text is not a dotted quad. */
export function ipv4ToInt(text: string): number | undefined {
  if (!IPV4_RE.test(text)) return undefined
  const p = text.split('.')
  return ((Number(p[0]) * 256 + Number(p[1])) * 256 + Number(p[2])) * 256 + Number(p[3])
}

export function intToIpv4(n: number): string {
  return [Math.floor(n / 16777216) % 256, Math.floor(n / 65536) % 256, Math.floor(n / 256) % 256, n % 256].join('.')
}

/**
 * A valid IPv4 block `a.b.c.d/len` (octets 0–255, len 0–32), normalised; `hostBits` tells whether the literal had
 * host bits set (a warning). Undefined for anything else (then the literal is an ordinary string).
 */
export function parseCidr(text: string): {block: CidrBlock; hostBits: boolean} | undefined {
  const m = CIDR_RE.exec(text)
  if (!m) return undefined
  const octets = m.slice(1, 5).map(Number)
  const len = Number(m[5])
  if (octets.some((o) => o > 255) || len > 32) return undefined
  const addr = ((octets[0] * 256 + octets[1]) * 256 + octets[2]) * 256 + octets[3]
  const size = 2 ** (32 - len)
  const first = Math.floor(addr / size) * size
  return {block: {text: `${intToIpv4(first)}/${len}`, first, last: first + size - 1}, hostBits: first !== addr}
}

/** Whether the literal has the shape of an IPv4 block (`d.d.d.d/d`, 1-3 digits per octet), valid or not. */
export function looksLikeCidr(text: string): boolean {
  return /^[0-9]{1,3}(?:\.[0-9]{1,3}){3}\/[0-9]+$/.test(text)
}

/** Whether the literal looks like one whole IPv4 address (for the prefix-match hint). */
export function looksLikeIpv4(text: string): boolean {
  return IPV4_RE.test(text)
}

/**
 * Characters X whose toLowerCase() is the single character c although X is neither c nor c.toUpperCase() (title-case
 * digraphs, Greek with ypogegrammeni, KELVIN SIGN, OHM SIGN, ANGSTROM SIGN, …): [c, X…]. test/query checks this table
 * against a scan of every code point under the running Node.
 */
const EXTRA_LOWER_SOURCES: ReadonlyMap<number, readonly number[]> = new Map(
  (
    [
      [0x6b, 0x212a],
      [0xdf, 0x1e9e],
      [0xe5, 0x212b],
      [0x1c6, 0x1c5],
      [0x1c9, 0x1c8],
      [0x1cc, 0x1cb],
      [0x1f3, 0x1f2],
      [0x3b8, 0x3f4],
      [0x3c9, 0x2126],
      [0x1f80, 0x1f88],
      [0x1f81, 0x1f89],
      [0x1f82, 0x1f8a],
      [0x1f83, 0x1f8b],
      [0x1f84, 0x1f8c],
      [0x1f85, 0x1f8d],
      [0x1f86, 0x1f8e],
      [0x1f87, 0x1f8f],
      [0x1f90, 0x1f98],
      [0x1f91, 0x1f99],
      [0x1f92, 0x1f9a],
      [0x1f93, 0x1f9b],
      [0x1f94, 0x1f9c],
      [0x1f95, 0x1f9d],
      [0x1f96, 0x1f9e],
      [0x1f97, 0x1f9f],
      [0x1fa0, 0x1fa8],
      [0x1fa1, 0x1fa9],
      [0x1fa2, 0x1faa],
      [0x1fa3, 0x1fab],
      [0x1fa4, 0x1fac],
      [0x1fa5, 0x1fad],
      [0x1fa6, 0x1fae],
      [0x1fa7, 0x1faf],
      [0x1fb3, 0x1fbc],
      [0x1fc3, 0x1fcc],
      [0x1ff3, 0x1ffc],
    ] as number[][]
  ).map(([c, ...xs]) => [c, xs]),
)

/**
 * The code points that lower-case (String.prototype.toLowerCase, one character at a time) to the single character
 * `c`. Context is ignored: Σ lower-cases to ς at the end of a word, so Σ is listed for ς as well as for σ. U+0130,
 * the one character whose lower case is two characters ("i" + U+0307), is not listed: callers handle it.
 */
export function lowerSources(c: string): number[] {
  const out: number[] = []
  const code = c.codePointAt(0) as number
  if (c.toLowerCase() === c) out.push(code)
  const upper = c.toUpperCase()
  if (upper !== c && upper.length === String.fromCodePoint(upper.codePointAt(0) as number).length && upper.toLowerCase() === c) {
    out.push(upper.codePointAt(0) as number)
  }
  out.push(...(EXTRA_LOWER_SOURCES.get(code) ?? []))
  if (c === 'ς') out.push(0x3a3)
  return out
}
