/**
 * `npm run bench`: the figures the issues ask for, on this machine.
 *   - index build (pull of 1,000,000 records in 2,000 objects): time, records/s, peak RSS, vs DuckDB's own read_json
 *   - search, warm and cold, for three queries, vs zcat | jq
 *   - start-up (`flowlog --version`)
 *   - COS pull from a loopback server, and forward to a loopback ingest server (when those modules are present)
 *   - interactive latency (#13): first page of four queries, top, stats, a 20,000-row table, each against --version
 *     (BENCH_ONLY=page); full NDJSON export into a pipe and a file, --fields, a streamed table (export); a fresh pull
 *     with records/s, peak RSS and index size (pull)
 *   - Parquet export (#14, BENCH_ONLY=parquet): flowlog export --format parquet of the index: time, peak RSS, read_parquet count
 * BENCH_RECORDS / BENCH_OBJECTS size the data set (default 2M = 2000000 and 4000; 10M = 10000000 and 20000);
 * BENCH_ONLY=page,export,parquet,pull,version,… picks the parts.
 */
import {existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {join, resolve} from 'node:path'

import {generateBenchData} from './generate.js'
import {median, runProc} from './proc.js'

const ROOT = resolve(import.meta.dirname, '..')
const DATA = join(ROOT, 'bench', '.data')
const BUCKET = join(DATA, 'bucket')
const OBJECTS = Number(process.env.BENCH_OBJECTS ?? 4000)
const RECORDS = Number(process.env.BENCH_RECORDS ?? 2_000_000)
const CLI = join(ROOT, 'bin', 'run.js')
const only = (process.env.BENCH_ONLY ?? '').split(',').filter(Boolean)
const want = (name: string) => only.length === 0 || only.includes(name)

const figures: Record<string, unknown> = {}
function report(name: string, value: string): void {
  process.stdout.write(`${name.padEnd(58)} ${value}\n`)
}

async function cli(args: string[], home: string, extraEnv: NodeJS.ProcessEnv = {}, keepStdout = false) {
  const r = await runProc(process.execPath, [CLI, ...args], {env: {FLOWLOG_HOME: home, NO_COLOR: '1', ...extraEnv}, keepStdout})
  if (r.code !== 0 && r.code !== 5) throw new Error(`flowlog ${args.join(' ')} exited ${r.code}: ${r.stderr.slice(0, 2000)}`)
  return r
}

const QUERIES = [
  {name: "blog query 'target_ip:10.240.0.4 action:rejected -target_port:67'", q: 'target_ip:10.240.0.4 action:rejected -target_port:67',
    jq: '(del(.flow_logs, .number_of_flow_logs)) as $h | .flow_logs[] | ($h + .) | select((.target_ip|tostring|test("(^|[^A-Za-z0-9_.])10\\\\.240\\\\.0\\\\.4")) and (.action|tostring|test("(^|[^a-z0-9_.])rejected";"i")) and (.target_port != 67))'},
  // A bare term matches the whole line (the row as JSON), starting at a word boundary.
  {name: "bare term '161.26.0.10'", q: '161.26.0.10',
    jq: '(del(.flow_logs, .number_of_flow_logs)) as $h | .flow_logs[] | ($h + .) | select(tojson | test("(^|[^A-Za-z0-9_.])161\\\\.26\\\\.0\\\\.10"))'},
  {name: "'target_port:(22 OR 3389)'", q: 'target_port:(22 OR 3389)',
    jq: '(del(.flow_logs, .number_of_flow_logs)) as $h | .flow_logs[] | ($h + .) | select(.target_port == 22 or .target_port == 3389)'},
]

async function main(): Promise<void> {
  mkdirSync(BUCKET, {recursive: true})
  const perObject = Math.round(RECORDS / OBJECTS)
  process.stdout.write(`flowlog benchmarks — ${OBJECTS} objects × ${perObject} records, ${new Date().toISOString()}\n\n`)
  const t0 = Date.now()
  const meta = generateBenchData({dir: BUCKET, objects: OBJECTS, perObject, end: Date.UTC(2026, 10, 29, 12)})
  report('data set', `${meta.records} records, ${(meta.bytes / 1e6).toFixed(1)} MB gzip (${Date.now() - t0} ms to prepare)`)

  const home = join(DATA, 'home-warm')
  if (want('version')) {
    const times: number[] = []
    for (let i = 0; i < 5; i++) times.push((await runProc(process.execPath, [CLI, '--version'])).ms)
    report('start-up: flowlog --version (median of 5)', `${median(times).toFixed(0)} ms   (target < 150 ms)`)
    figures.versionMs = median(times)
  }

  if (want('index')) {
    rmSync(home, {recursive: true, force: true})
    const r = await cli(['pull', '--source', BUCKET, '--json'], home)
    const s = r.ms / 1000
    report(`index build: flowlog pull (${meta.records} records)`, `${s.toFixed(2)} s, ${Math.round(meta.records / s).toLocaleString('en-US')} records/s, peak RSS ${r.peakRssMb} MB`)
    figures.index = {seconds: s, recordsPerSec: meta.records / s, peakRssMb: r.peakRssMb}
    const duck = join(DATA, 'duck.duckdb')
    rmSync(duck, {force: true})
    const script = `import {DuckDBInstance} from '@duckdb/node-api'
const i = await DuckDBInstance.create(${JSON.stringify(duck)}); const c = await i.connect()
await c.run("CREATE TABLE t AS SELECT unnest(flow_logs, recursive := true), * EXCLUDE (flow_logs) FROM read_json('${BUCKET}/ibm_vpc_flowlogs_v1/**/*.gz', format='auto', maximum_object_size=100000000, union_by_name=true)")
const r = await c.runAndReadAll('select count(*) from t'); console.log(String(r.getRows()[0][0]))`
    const scriptPath = join(ROOT, 'bench', '.duck-load.mjs')
    writeFileSync(scriptPath, script)
    const d = await runProc(process.execPath, [scriptPath], {keepStdout: true})
    rmSync(scriptPath, {force: true})
    if (d.code === 0) {
      report('  baseline: DuckDB read_json of the same files', `${(d.ms / 1000).toFixed(2)} s (${d.stdout.trim()} rows), peak RSS ${d.peakRssMb} MB`)
      figures.duckdbReadJson = d.ms / 1000
    } else report('  baseline: DuckDB read_json', `failed: ${d.stderr.slice(0, 300)}`)
    const again = await cli(['pull', '--source', BUCKET, '--json'], home)
    report('  incremental re-pull (nothing new)', `${(again.ms / 1000).toFixed(2)} s`)
  }

  if (want('search')) {
    if (!existsSync(join(home, 'index.duckdb'))) await cli(['pull', '--source', BUCKET], home)
    for (const q of QUERIES) {
      const warm: number[] = []
      // Measured like the jq pipeline below: the whole process, its NDJSON consumed by `wc -l`.
      const shellQuote = (x: string) => `'${x.replace(/'/g, `'\\''`)}'`
      const searchCmd = (h: string, extra = '') =>
        `FLOWLOG_HOME=${shellQuote(h)} ${shellQuote(process.execPath)} ${shellQuote(CLI)} search ${shellQuote(q.q)} ${extra} --output ndjson --limit 0 | wc -l`
      for (let i = 0; i < 5; i++) warm.push((await runProc('bash', ['-c', searchCmd(home)])).ms)
      const coldHome = join(DATA, 'home-cold')
      rmSync(coldHome, {recursive: true, force: true})
      const cold = await runProc('bash', ['-c', searchCmd(coldHome, `--source ${shellQuote(BUCKET)}`)])
      rmSync(coldHome, {recursive: true, force: true})
      report(`search ${q.name}`, `warm ${median(warm).toFixed(0)} ms (median of 5), cold ${(cold.ms / 1000).toFixed(2)} s`)
      ;(figures.search ??= {} as Record<string, unknown>)
      ;(figures.search as Record<string, unknown>)[q.q] = {warmMs: median(warm), coldMs: cold.ms}
      if (q.jq && !process.env.BENCH_NO_JQ) {
        const cmd = `find ${BUCKET}/ibm_vpc_flowlogs_v1 -name '*.gz' -print0 | xargs -0 zcat | jq -c '${q.jq}' | wc -l`
        const j = await runProc('bash', ['-c', cmd], {keepStdout: true})
        const count = await runProc(process.execPath, [CLI, 'search', q.q, '--limit', '0', '--output', 'ndjson'], {env: {FLOWLOG_HOME: home}, keepStdout: true})
        const n = count.stdout.split('\n').filter(Boolean).length
        report(`  zcat | jq (same query)`, `${(j.ms / 1000).toFixed(2)} s (${j.stdout.trim()} records; flowlog found ${n}) → warm ${(j.ms / median(warm)).toFixed(0)}×, cold ${(j.ms / cold.ms).toFixed(1)}× faster`)
        ;(figures.search as Record<string, Record<string, unknown>>)[q.q].jqMs = j.ms
        if (q === QUERIES[0]) figures.jqMs = j.ms
      }
    }
  }

  if (want('page')) {
    // Interactive latency (#13): whole process, median of 5, against --version on the same minute.
    if (!existsSync(join(home, 'index.duckdb'))) await cli(['pull', '--source', BUCKET], home)
    const med = async (args: string[]) => {
      const times: number[] = []
      const firsts: number[] = []
      let rss = 0
      for (let i = 0; i < 5; i++) {
        const r = await cli(args, home)
        times.push(r.ms)
        if (r.firstStdoutMs !== undefined) firsts.push(r.firstStdoutMs)
        rss = Math.max(rss, r.peakRssMb)
      }
      return {ms: median(times), firstMs: firsts.length ? median(firsts) : undefined, rss}
    }
    const version = (await med(['--version'])).ms
    report('  --version (same minute)', `${version.toFixed(0)} ms`)
    const page: Record<string, unknown> = {versionMs: version}
    const cases: [string, string[], number][] = [
      ['first page: field query', ['search', 'target_ip:==10.240.0.4 action:rejected -target_port:67'], 150],
      ['first page: CIDR query', ['search', 'initiator_ip:92.63.0.0/16'], 150],
      ['first page: bare term', ['search', '161.26.0.10'], 150],
      ['first page: negations', ['search', '-target_port:67 -target_port:53 -action:accepted -initiator_ip:10.240.0.0/16'], 150],
      ['top --by initiator_ip --query action:rejected', ['top', '--by', 'initiator_ip', '--query', 'action:rejected', '--limit', '5'], 250],
      ['top --raw (records, no merge)', ['top', '--by', 'initiator_ip', '--query', 'action:rejected', '--limit', '5', '--raw'], 250],
      ['stats --interval 5m', ['stats', '--interval', '5m'], 250],
      ['stats --interval 5m --raw (records, no merge)', ['stats', '--interval', '5m', '--raw'], 250],
      ['connections (first 100, newest first)', ['connections'], 250],
      ['connections --sort bytes --limit 5', ['connections', '--sort', 'bytes', '--limit', '5'], 250],
      ['table of 20,000 rows (search action:rejected)', ['search', 'action:rejected', '--limit', '20000'], 600],
    ]
    for (const [name, args, budget] of cases) {
      const r = await med(args)
      const first = r.firstMs === undefined ? '' : `; page out at --version + ${(r.firstMs - version).toFixed(0)} ms`
      report(`  ${name}`, `${r.ms.toFixed(0)} ms = --version + ${(r.ms - version).toFixed(0)} ms (target + ${budget})${first}, peak RSS ${r.rss} MB`)
      page[name] = {ms: r.ms, overVersionMs: r.ms - version, firstOutputMs: r.firstMs, peakRssMb: r.rss}
    }
    figures.page = page
  }

  if (want('export')) {
    // Full exports (#13): NDJSON of every match into a pipe and into a file, a --fields projection, a streamed table.
    if (!existsSync(join(home, 'index.duckdb'))) await cli(['pull', '--source', BUCKET], home)
    const q = process.env.BENCH_EXPORT_QUERY ?? 'action:rejected'
    const shellQuote = (x: string) => `'${x.replace(/'/g, `'\\''`)}'`
    const base = `FLOWLOG_HOME=${shellQuote(home)} NO_COLOR=1 ${shellQuote(process.execPath)} ${shellQuote(CLI)} search ${shellQuote(q)} --limit 0`
    const file = join(DATA, 'export.ndjson')
    const exportCases: [string, string, string][] = [
      ['NDJSON into a pipe', `${base} --output ndjson | wc -l`, ''],
      ['NDJSON into a file', `${base} --output ndjson > ${shellQuote(file)} && wc -l < ${shellQuote(file)}`, ''],
      ['--fields projection into a pipe', `${base} --output ndjson --fields start_time,initiator_ip,target_ip,target_port,action | wc -l`, ''],
      ['table (streamed) into a pipe', `${base} | wc -l`, ''],
    ]
    const exp: Record<string, unknown> = {query: q}
    for (const [name, cmd] of exportCases) {
      const times: number[] = []
      let rss = 0
      let lines = 0
      for (let i = 0; i < 3; i++) {
        // The shell's peak RSS is its biggest child's (flowlog): measured with /usr/bin/time when present.
        const r = await runProc('bash', ['-c', existsSync('/usr/bin/time') ? `/usr/bin/time -f '%M' -o ${shellQuote(join(DATA, 'rss.txt'))} bash -c ${shellQuote(cmd)}` : cmd], {keepStdout: true})
        times.push(r.ms)
        lines = Number(r.stdout.trim().split('\n').pop())
        try {
          rss = Math.max(rss, Math.round(Number((await import('node:fs')).readFileSync(join(DATA, 'rss.txt'), 'utf8').trim().split('\n').pop()) / 1024))
        } catch {
          rss = Math.max(rss, r.peakRssMb)
        }
      }
      const ms = median(times)
      const perSec = Math.round(lines / (ms / 1000))
      report(`  export '${q}': ${name}`, `${lines} lines in ${ms.toFixed(0)} ms = ${perSec.toLocaleString('en-US')} lines/s (target ≥ ${name.startsWith('table') ? '100,000' : '400,000'}), peak RSS ${rss} MB`)
      exp[name] = {lines, ms, linesPerSec: perSec, peakRssMb: rss}
    }
    rmSync(file, {force: true})
    figures.export = exp
  }

  if (want('pull')) {
    // A fresh index of the whole bucket (#13): records/s, peak RSS, index size.
    const pullHome = join(DATA, 'home-pull')
    rmSync(pullHome, {recursive: true, force: true})
    const r = await cli(['pull', '--source', BUCKET, '--json'], pullHome)
    const bytes = readdirSync(pullHome).filter((f) => f.startsWith('index.duckdb')).reduce((n, f) => n + statSync(join(pullHome, f)).size, 0)
    const s = r.ms / 1000
    report(`pull of ${meta.records.toLocaleString('en-US')} records (fresh index)`, `${s.toFixed(2)} s = ${Math.round(meta.records / s).toLocaleString('en-US')} records/s (target ≥ 300,000), peak RSS ${r.peakRssMb} MB (target < 600), index ${(bytes / 1e6).toFixed(0)} MB`)
    figures.pull = {seconds: s, recordsPerSec: meta.records / s, peakRssMb: r.peakRssMb, indexBytes: bytes}
    rmSync(pullHome, {recursive: true, force: true})
  }

  if (want('parquet')) {
    // docs/lakehouse.md §4: `flowlog export --out DIR --format parquet` of the bench index: time, peak RSS, and the
    // Parquet counted back by DuckDB's read_parquet(hive_partitioning).
    if (!existsSync(join(home, 'index.duckdb'))) await cli(['pull', '--source', BUCKET], home)
    const out = join(DATA, 'parquet')
    const r = await cli(['export', '--out', out, '--format', 'parquet', '--json'], home, {}, true)
    const s = JSON.parse(r.stdout || '{}') as {rows?: number; files?: number; bytes?: number}
    const script = `import {DuckDBInstance} from '@duckdb/node-api'
const c = await (await DuckDBInstance.create(':memory:')).connect()
const r = await c.runAndReadAll("SELECT count(*) FROM read_parquet('${out}/**/*.parquet', hive_partitioning = true)"); console.log(String(r.getRows()[0][0]))`
    const scriptPath = join(ROOT, 'bench', '.duck-count.mjs')
    writeFileSync(scriptPath, script)
    const d = await runProc(process.execPath, [scriptPath], {keepStdout: true})
    rmSync(scriptPath, {force: true})
    report(`export --out DIR --format parquet (${meta.records} records)`, `${(r.ms / 1000).toFixed(2)} s, ${s.files} files, ${((s.bytes ?? 0) / 1e6).toFixed(1)} MB, peak RSS ${r.peakRssMb} MB; read_parquet counts ${d.stdout.trim()}`)
    figures.parquet = {seconds: r.ms / 1000, peakRssMb: r.peakRssMb, files: s.files, bytes: s.bytes, rows: s.rows, readParquetCount: Number(d.stdout.trim())}
    rmSync(out, {recursive: true, force: true})
  }

  if (want('cos') && existsSync(join(ROOT, 'bench', 'cos.ts'))) {
    try {
      const mod = (await import(['.', 'cos.js'].join('/'))) as {benchCosPull?: (o: {objects: number; recordsPerObject: number}) => Promise<Record<string, number>>}
      if (mod.benchCosPull) {
        const r = await mod.benchCosPull({objects: OBJECTS, recordsPerObject: perObject})
        report('COS pull from a loopback server', Object.entries(r).map(([k, v]) => `${k} ${typeof v === 'number' ? v.toFixed(1) : v}`).join(', '))
        figures.cos = r
      }
    } catch (error) {
      report('COS pull', `failed: ${(error as Error).message}`)
    }
  }

  if (want('forward') && existsSync(join(ROOT, 'bench', 'forward.ts'))) {
    try {
      const mod = (await import(['.', 'forward.js'].join('/'))) as {benchForward?: (o: {dir: string; records: number}) => Promise<Record<string, number>>}
      if (mod.benchForward) {
        const r = await mod.benchForward({dir: BUCKET, records: meta.records})
        report('forward to a loopback ingest server', Object.entries(r).map(([k, v]) => `${k} ${typeof v === 'number' ? v.toFixed(1) : v}`).join(', '))
        figures.forward = r
      }
    } catch (error) {
      report('forward', `failed: ${(error as Error).message}`)
    }
  }
  writeFileSync(join(DATA, 'results.json'), JSON.stringify(figures, null, 2))
}

await main()
