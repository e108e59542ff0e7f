/**
 * The repository documents itself: every citation of a doc section in the code resolves to a heading under docs/,
 * nothing points outside the repository, every relative link in the Markdown files resolves, and the query-language
 * reference names every operator the parser accepts (docs/architecture.md §6, rule 7).
 */
import {expect} from 'chai'
import {existsSync, readdirSync, readFileSync, statSync} from 'node:fs'
import {dirname, join, relative, resolve, sep} from 'node:path'
import {fileURLToPath} from 'node:url'

import {parseQuery} from '../src/lib/query/index.js'
import {runCli, tempHome} from './support/cli.js'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const SELF = fileURLToPath(import.meta.url)
const TEXT_FILE = /\.(ts|js|mjs|cjs|md|json)$/

/** Every text file under `dir` (relative to the repository), skipping build output and dependencies. */
function walk(dir: string): string[] {
  const abs = join(ROOT, dir)
  if (!existsSync(abs)) return []
  const out: string[] = []
  for (const name of readdirSync(abs)) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue
    const path = join(abs, name)
    if (statSync(path).isDirectory()) out.push(...walk(relative(ROOT, path)))
    else if (TEXT_FILE.test(name)) out.push(path)
  }
  return out
}

const TOP_DOCS = ['README.md', 'CONTRIBUTING.md', 'CHANGELOG.md'].map((f) => join(ROOT, f)).filter((f) => existsSync(f))
const DOCS = walk('docs').filter((f) => f.endsWith('.md'))
/** Everything that may cite a doc section: the code, the tests, the bench, the top-level docs and docs/ itself. */
const CITING = [...walk('src'), ...walk('test'), ...walk('bench'), ...TOP_DOCS, ...DOCS].filter((f) => f !== SELF)
const rel = (f: string) => relative(ROOT, f).split(sep).join('/')
const read = (f: string) => readFileSync(f, 'utf8')

/** The section numbers and the heading texts of a Markdown file: `## 8.3 Remote search` → 8.3; `## §2 Export` → 2. */
function headings(file: string): {numbers: Set<string>; texts: string[]} {
  const numbers = new Set<string>()
  const texts: string[] = []
  let fenced = false
  for (const line of read(file).split('\n')) {
    if (/^\s*```/.test(line)) fenced = !fenced
    if (fenced) continue
    const h = /^#{1,6}\s+(.*)$/.exec(line)
    if (!h) continue
    texts.push(h[1].trim())
    const n = /^(?:§\s?)?(\d+(?:\.\d+)*)\.?(?:\s|$)/.exec(h[1])
    if (n) numbers.add(n[1])
  }
  return {numbers, texts}
}

/** The Markdown file a citation names: a bare `NAME.md` or `docs/NAME.md` is docs/NAME.md; another path is from the root. */
function citedFile(prefix: string, name: string): string {
  return prefix === '' || prefix === 'docs/' ? join(ROOT, 'docs', `${name}.md`) : join(ROOT, prefix, `${name}.md`)
}

interface Citation {
  from: string
  line: number
  file: string
  /** A section number, or the quoted heading text. */
  section: string
  named: boolean
}

const NUMBER = String.raw`\d+(?:\.\d+)*`
const SECTION = new RegExp(String.raw`§\s?(${NUMBER})(?:\s*[–-]\s*§?(${NUMBER}))?`, 'g')

/** `docs/x.md §3.1`, `docs/x.md (§11, §13)`, `docs/x.md §1–§4`, `docs/x.md, "Heading"`, `docs/x.md §2.1, §2.2, §3`. */
export function citationsIn(text: string, from = '(text)'): Citation[] {
  const out: Citation[] = []
  const lineOf = (at: number) => text.slice(0, at).split('\n').length
  const mention = /((?:[\w.-]+\/)*)([\w-]+)\.md\b/g
  for (const m of text.matchAll(mention)) {
    const end = m.index + m[0].length
    const file = citedFile(m[1], m[2])
    // Numbered: the § references right after the name (optionally in parentheses), up to the end of the clause.
    let tail = text.slice(end, end + 300).replace(/^\s*\(/, ' ')
    const stop = tail.search(/[;)\]\n"'`]|\.md\b/)
    if (stop >= 0) tail = tail.slice(0, stop)
    for (const s of tail.matchAll(SECTION)) {
      const [first, last] = [s[1], s[2]]
      const numbers = [first]
      if (last !== undefined) {
        numbers.push(last)
        // §1–§4: the sections between the ends too.
        if (/^\d+$/.test(first) && /^\d+$/.test(last)) for (let n = Number(first) + 1; n < Number(last); n++) numbers.push(String(n))
      }
      for (const n of numbers) out.push({from, line: lineOf(m.index), file, section: n, named: false})
    }
    // Named: `x.md, "Stopping forward", "One sink, one ledger"`.
    const named = /^,\s*((?:"[^"\n]+"(?:,\s*)?)+)/.exec(text.slice(end, end + 300))
    if (named) for (const q of named[1].matchAll(/"([^"\n]+)"/g)) out.push({from, line: lineOf(m.index), file, section: q[1], named: true})
  }
  return out
}

describe('docs: the repository documents itself', () => {
  it('the citation parser reads the forms the code uses', () => {
    const found = (t: string) => citationsIn(t).map((c) => `${rel(c.file)} ${c.named ? `"${c.section}"` : c.section}`)
    expect(found('(docs/sinks.md §2.1, §2.2, §3)')).to.deep.equal(['docs/sinks.md 2.1', 'docs/sinks.md 2.2', 'docs/sinks.md 3'])
    expect(found('rules of docs/query-language.md (§11, §13).')).to.deep.equal(['docs/query-language.md 11', 'docs/query-language.md 13'])
    expect(found('(docs/why-rejected.md §1–§4): x §9')).to.deep.equal(['docs/why-rejected.md 1', 'docs/why-rejected.md 4', 'docs/why-rejected.md 2', 'docs/why-rejected.md 3'])
    expect(found('(docs/sinks.md §5, docs/ibm-cloud-apis.md §7.7)')).to.deep.equal(['docs/sinks.md 5', 'docs/ibm-cloud-apis.md 7.7'])
    expect(found('(docs/sinks.md, "Stopping forward", "One sink, one ledger")')).to.deep.equal(['docs/sinks.md "Stopping forward"', 'docs/sinks.md "One sink, one ledger"'])
    expect(found('(ledger.md §5)')).to.deep.equal(['docs/ledger.md 5'])
    expect(found('see docs/setup.md. Then')).to.deep.equal([])
  })

  it('nothing in src/, test/, bench/ or the top-level docs points outside the repository', () => {
    // Spelled in pieces so that this file does not match itself.
    const outside = ['..' + '/shared', 'shared' + '/spec', 'shared' + '/samples', '/work' + '/', '..' + '/spec/']
    const offenders: string[] = []
    for (const f of [...walk('src'), ...walk('test'), ...walk('bench'), ...TOP_DOCS, ...DOCS]) {
      if (f === SELF) continue
      read(f)
        .split('\n')
        .forEach((line, i) => {
          for (const o of outside) if (line.includes(o)) offenders.push(`${rel(f)}:${i + 1}: ${o}`)
        })
    }
    expect(offenders).to.deep.equal([])
  })

  it('every cited NAME.md §N exists under docs/ with a heading numbered N (and every cited heading name exists)', () => {
    const cache = new Map<string, ReturnType<typeof headings>>()
    const missing: string[] = []
    let count = 0
    for (const f of CITING) {
      for (const c of citationsIn(read(f), rel(f))) {
        count++
        if (!existsSync(c.file)) {
          missing.push(`${c.from}:${c.line}: ${rel(c.file)} does not exist`)
          continue
        }
        if (!cache.has(c.file)) cache.set(c.file, headings(c.file))
        const h = cache.get(c.file)!
        const ok = c.named ? h.texts.some((t) => t.includes(c.section)) : h.numbers.has(c.section)
        if (!ok) missing.push(`${c.from}:${c.line}: ${rel(c.file)} has no heading ${c.named ? `"${c.section}"` : `§${c.section}`}`)
      }
    }
    expect(missing).to.deep.equal([])
    expect(count, 'citations found').to.be.greaterThan(50)
  })

  it('every relative link in the Markdown files resolves inside the repository', () => {
    const broken: string[] = []
    for (const f of [...DOCS, ...TOP_DOCS]) {
      let fenced = false
      read(f)
        .split('\n')
        .forEach((line, i) => {
          if (/^\s*```/.test(line)) fenced = !fenced
          if (fenced) return
          for (const m of line.matchAll(/\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
            const target = m[1]
            if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#')) continue
            const path = resolve(dirname(f), decodeURIComponent(target.replace(/#.*$/, '')))
            const inside = path === ROOT || path.startsWith(ROOT + sep)
            if (!inside || !existsSync(path)) broken.push(`${rel(f)}:${i + 1}: ${target}`)
          }
        })
    }
    expect(broken).to.deep.equal([])
  })

  it('docs/query-language.md names every operator the parser accepts', () => {
    const parser = read(join(ROOT, 'src/lib/query/parser.ts'))
    const ast = read(join(ROOT, 'src/lib/query/ast.ts'))
    const quoted = (source: string, re: RegExp): string[] => {
      const m = re.exec(source)
      expect(m, String(re)).to.not.equal(null)
      return [...m![1].matchAll(/'([^']*)'/g)].map((q) => q[1])
    }
    // The lists as the parser and the AST declare them, so a new operator there fails here until it is documented.
    const keywords = quoted(parser, /const KEYWORDS: Keyword\[\] = \[([^\]]*)\]/)
    const matchOps = quoted(ast, /export type MatchOp = ([^\n]*)/).filter((op) => op !== '')
    const cmpOps = quoted(ast, /export type CmpOp = ([^\n]*)/)
    expect(keywords).to.include.members(['AND', 'OR', 'NOT'])
    expect(matchOps).to.include.members(['==', '==='])
    expect(cmpOps).to.have.length(4)

    // What each form looks like in a query, and the proof that the parser takes it.
    const forms: {op: string; example: string}[] = [
      ...keywords.map((k) => ({op: k, example: k === 'NOT' ? 'NOT a' : `a ${k} b`})),
      ...matchOps.map((o) => ({op: `:${o}`, example: `f:${o}x`})),
      ...cmpOps.map((o) => ({op: o, example: `f:${o}5`})),
      {op: '-', example: '-a'},
      {op: ':*', example: 'f:*'},
      {op: '[', example: 'f:[a,b]'},
      {op: '(', example: 'f:(a OR b)'},
      {op: '"', example: '"a b"'},
      {op: '/', example: 'target_ip:10.240.0.0/16'},
    ]
    for (const {example} of forms) expect(() => parseQuery(example), example).not.to.throw()

    // Named in the reference: inside a code span or a grammar string (`\|` is a table's escaped `|`).
    const doc = read(join(ROOT, 'docs/query-language.md')).replace(/\\\|/g, '|')
    const spans = [...doc.matchAll(/`([^`\n]+)`/g), ...doc.matchAll(/"([^"\n]+)"/g)].map((m) => m[1])
    const named = (op: string) =>
      spans.some((s) => (/^[A-Z]+$/.test(op) ? new RegExp(String.raw`(^|[^A-Za-z])${op}([^A-Za-z]|$)`).test(s) : s.includes(op)))
    const unnamed = forms.map((f) => f.op).filter((op) => !named(op))
    expect(unnamed).to.deep.equal([])
  })

  it('the README installs shell completion with the lines `flowlog autocomplete` prints, and they work (real process)', async () => {
    const home = tempHome('flowlog-ac-')
    try {
      const env = {FLOWLOG_HOME: join(home.dir, 'home'), XDG_CACHE_HOME: join(home.dir, 'cache'), XDG_DATA_HOME: join(home.dir, 'data'), XDG_CONFIG_HOME: join(home.dir, 'config')}
      const readme = read(join(ROOT, 'README.md'))
      for (const shell of ['bash', 'zsh']) {
        const shown = await runCli(['autocomplete', shell], {env})
        expect(shown.code, shown.stderr).to.equal(0)
        const install = shown.stdout.split('\n').map((l) => l.trim()).filter((l) => l.startsWith(`printf "$(flowlog autocomplete script ${shell})"`))
        expect(install, shown.stdout).to.not.be.empty
        expect(readme).to.include(install[0])
        // What the install line appends: a setup file that the cache built by the command above holds.
        const script = await runCli(['autocomplete', 'script', shell], {env})
        expect(script.code, script.stderr).to.equal(0)
        const setup = /FLOWLOG_AC_\w+_SETUP_PATH=(\S+)/.exec(script.stdout)
        expect(setup, script.stdout).to.not.equal(null)
        expect(existsSync(setup![1]), setup![1]).to.equal(true)
      }
    } finally {
      home.cleanup()
    }
  })
})
