import {Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {readConfig} from '../lib/config/settings.js'
import {InterruptedError, UsageError} from '../lib/errors.js'
import {parseDuration} from '../lib/records/time.js'
import {type ForwardResult, runForward} from '../lib/sinks/index.js'
import {compileForwardQuery} from '../lib/sinks/query.js'
import {sourceFlags, windowFlags} from '../lib/sources/flags.js'
import {formatBytes, plural} from '../lib/ui/format.js'

export default class Forward extends BaseCommand {
  // Ctrl-C / SIGTERM (Code Engine stopping the job): finish the batches in flight, save the ledger, exit 130.
  static gracefulInterrupt = true

  static summary = 'Send flow-log records to IBM Cloud Logs (default) or Mezmo / LogDNA, each exactly once per run history'

  static description = [
    "Reads flow-log objects (a folder laid out like the bucket, or cos://BUCKET) and sends one line per record. The line is the compact JSON of the flattened record (header fields, record fields, then the COS key), so the blog's searches (target_ip:10.240.0.4 action:rejected -target_port:67) work on its top-level fields. Each line carries the record's own time, app (vpc-flowlogs), level (INFO, or WARN for rejected with --level-by-action) and meta.record_id.",
    'Sinks: --sink cloud-logs (the default) posts to {URL}/logs/v1/singles with an IAM token for IBMCLOUD_API_KEY (FLOWLOG_IAM_URL overrides the IAM host); the URL comes from --cloud-logs-url, FLOWLOG_CLOUD_LOGS_URL or --cloud-logs-instance ID --region REGION, and keeps any path it has. --sink logdna is for Mezmo SaaS and self-hosted LogDNA: it posts to {URL}/logs/ingest with the ingestion key from FLOWLOG_LOGDNA_INGESTION_KEY or the config file (never a flag); the URL comes from --logdna-url (or "mezmo") or FLOWLOG_LOGDNA_URL, and is Mezmo\'s public endpoint when none is given. IBM Log Analysis (*.logging.cloud.ibm.com) was retired in March 2025: such a URL, given or derived from --region, is refused (exit 3).',
    'Delivery: batches of about 2 MB or 5,000 lines, --concurrency requests in flight, retries with backoff on 429, 5xx and network errors, a too-large batch is split, 401/403 stop at once (exit 3). A ledger in the flowlog home records every object whose lines were all acknowledged: a re-run sends nothing twice, and a crash re-sends at most the batches in flight. Objects that could not be delivered are listed and the exit code is 5; the next run retries them.',
    'Code Engine: when CE_DATA holds a COS event, exactly that object is forwarded (a delete event is ignored). With --follow the bucket is polled every --interval (a daemon job).',
    "Log Analysis replaces a timestamp more than 24 hours old with the arrival time: a backfill (--since 3d) lands at ingest time, and the record's own times stay searchable in the line (start_time, capture_start_time).",
  ].join('\n\n')

  static examples = [
    {
      description: 'Forward the last hour from the configured bucket to IBM Cloud Logs in us-south',
      command: 'IBMCLOUD_API_KEY=… <%= config.bin %> forward --cloud-logs-instance <INSTANCE_ID> --region us-south --since 1h',
    },
    {
      description: 'Forward a folder to Mezmo, rejected flows as WARN',
      command: 'FLOWLOG_LOGDNA_INGESTION_KEY=… <%= config.bin %> forward --source ./flowlogs --sink logdna --logdna-url mezmo --level-by-action',
    },
    {
      description: 'Only rejected inbound traffic, to IBM Cloud Logs',
      command:
        'IBMCLOUD_API_KEY=… <%= config.bin %> forward --sink cloud-logs --cloud-logs-url https://<INSTANCE_ID>.ingress.us-south.logs.cloud.ibm.com --query "action:rejected direction:I"',
    },
    {description: 'See what would be sent, send nothing', command: '<%= config.bin %> forward --source ./flowlogs --dry-run'},
    {description: 'A Code Engine daemon job: poll the bucket every minute', command: '<%= config.bin %> forward --follow --interval 60s'},
    {
      description: 'Keep the ledger in the bucket too (a job whose home is ephemeral): a restarted job sends nothing twice',
      command: '<%= config.bin %> forward --source cos://my-flowlogs --ledger remote',
    },
  ]

  static flags = {
    ...sourceFlags,
    ...windowFlags,
    object: Flags.string({description: 'forward this one object (its raw COS key, or its path relative to a --source folder)', helpValue: 'KEY'}),
    follow: Flags.boolean({description: 'keep polling for new objects every --interval until interrupted (Code Engine daemon job)'}),
    interval: Flags.string({description: 'poll interval for --follow: a duration (30s, 5m) or seconds', default: '60s', helpValue: 'DURATION'}),
    query: Flags.string({char: 'q', description: 'forward only records matching this Log Analysis query, e.g. "action:rejected -target_port:67"', helpValue: 'QUERY'}),
    sink: Flags.string({description: 'where to send: cloud-logs (IBM Cloud Logs, the default unless the config file\'s "sink" says otherwise) or logdna (Mezmo SaaS / self-hosted LogDNA)', options: ['logdna', 'cloud-logs']}),
    'logdna-url': Flags.string({
      description: 'Mezmo / LogDNA ingestion host without /logs/ingest (or FLOWLOG_LOGDNA_URL), or "mezmo" (the default); IBM Log Analysis hosts are refused (retired March 2025)',
      helpValue: 'URL|mezmo',
    }),
    private: Flags.boolean({description: 'with --region: use the private (service) endpoint of that region'}),
    auth: Flags.string({description: 'how the ingestion key is sent: apikey header (default) or HTTP basic', options: ['apikey', 'basic']}),
    'cloud-logs-url': Flags.string({description: 'IBM Cloud Logs ingress host without the path (or FLOWLOG_CLOUD_LOGS_URL)', helpValue: 'URL'}),
    'cloud-logs-instance': Flags.string({description: 'IBM Cloud Logs instance ID; with --region it gives the ingress URL', helpValue: 'GUID'}),
    app: Flags.string({description: 'app name of every line (Cloud Logs applicationName) [default: vpc-flowlogs]'}),
    level: Flags.string({description: 'level of every line [default: INFO]'}),
    'level-by-action': Flags.boolean({description: 'level WARN for rejected records, INFO for accepted'}),
    hostname: Flags.string({description: 'hostname of the lines (Cloud Logs subsystemName) [default: flowlog]'}),
    tags: Flags.string({description: 'comma-separated tags added to every line', helpValue: 'a,b'}),
    concurrency: Flags.integer({description: 'requests in flight', default: 4, min: 1, max: 64}),
    'max-attempts': Flags.integer({description: 'attempts per batch on 429, 5xx and network errors', default: 8, min: 1, max: 100}),
    'dry-run': Flags.boolean({description: 'show what would be sent (counts and a sample line); send nothing, record nothing'}),
    'retry-base': Flags.integer({description: 'backoff base, ms', default: 1000, min: 0, hidden: true}),
    'retry-cap': Flags.integer({description: 'backoff cap, ms', default: 30_000, min: 0, hidden: true}),
    'request-timeout': Flags.integer({description: 'request timeout, ms', default: 30_000, min: 1, hidden: true}),
    'batch-lines': Flags.integer({description: 'flush a batch at this many lines', min: 1, max: 5000, hidden: true}),
    'batch-bytes': Flags.integer({description: 'flush a batch at this many bytes', min: 1024, max: 10 * 1024 * 1024, hidden: true}),
    ledger: Flags.string({
      description:
        'where the ledger lives: local (the flowlog home), remote (also in the cos:// bucket under flowlog/ledger/, for a job whose home is ephemeral) or auto (remote in Code Engine) [default: FLOWLOG_LEDGER, else local]',
      options: ['local', 'remote', 'auto'],
    }),
    'ledger-upload-interval': Flags.integer({description: 'remote ledger: upload at most every this many seconds while running', default: 30, min: 0, hidden: true}),
    'max-passes': Flags.integer({description: 'with --follow: stop after this many passes', min: 1, hidden: true}),
  }

  async run(): Promise<ForwardResult> {
    const {flags} = await this.parse(Forward)
    const intervalMs = parseInterval(flags.interval)
    const config = await readConfig(this.home)
    const t = this.term
    t.startSpinner('forwarding')
    let result: ForwardResult
    try {
      result = await runForward(
        {
          source: flags.source,
          cosEndpoint: flags['cos-endpoint'],
          region: flags.region,
          endpointType: flags['endpoint-type'] as 'public' | 'private' | 'direct' | undefined,
          since: flags.since,
          until: flags.until,
          object: flags.object,
          follow: flags.follow,
          intervalMs,
          query: flags.query,
          sink: flags.sink,
          logdnaUrl: flags['logdna-url'],
          private: flags.private,
          auth: flags.auth,
          cloudLogsUrl: flags['cloud-logs-url'],
          cloudLogsInstance: flags['cloud-logs-instance'],
          app: flags.app,
          level: flags.level,
          levelByAction: flags['level-by-action'],
          hostname: flags.hostname,
          tags: flags.tags === undefined ? undefined : flags.tags.split(','),
          concurrency: flags.concurrency,
          maxAttempts: flags['max-attempts'],
          dryRun: flags['dry-run'],
          retryBaseMs: flags['retry-base'],
          retryCapMs: flags['retry-cap'],
          timeoutMs: flags['request-timeout'],
          batchLines: flags['batch-lines'],
          batchBytes: flags['batch-bytes'],
          maxPasses: flags['max-passes'],
          ledger: flags.ledger,
          ledgerUploadIntervalMs: flags['ledger-upload-interval'] * 1000,
        },
        {
          home: this.home,
          config,
          env: process.env,
          userAgent: `flowlog/${this.config.version}`,
          signal: this.interrupted,
          compileQuery: compileForwardQuery,
          onWarning: (m) => t.warn(m),
          onNotice: (m) => t.info(m),
          onProgress: (p) =>
            t.progress(`${p.listed} objects listed, ${p.skipped} already sent, ${p.sent} sent, ${p.failed} failed; ${p.lines} lines (${p.retries} retries)`),
          onPass: (r) => {
            t.stopSpinner()
            // --follow --json: one summary per pass, as a JSON line (the run never ends on its own).
            if (this.jsonEnabled()) t.out(JSON.stringify(r))
            this.render(r)
            t.startSpinner('waiting for new objects')
          },
        },
      )
    } finally {
      t.stopSpinner()
      if (process.env.FLOWLOG_REPORT_RSS === '1') {
        const u = process.resourceUsage()
        process.stderr.write(`flowlog-max-rss-kb: ${u.maxRSS} cpu-ms: ${Math.round((u.userCPUTime + u.systemCPUTime) / 1000)}\n`)
      }
    }
    if (result.mode !== 'follow') this.render(result)
    // --follow ends only by a signal: what was in flight is saved, and the exit code says it was interrupted.
    if (this.interrupted.aborted) throw new InterruptedError()
    if (result.objects.failed > 0) {
      this.partial(`${plural(result.objects.failed, 'object')} could not be delivered; the next run retries them`)
    }
    return result
  }

  private render(r: ForwardResult): void {
    const t = this.term
    if (r.dryRun && !this.jsonEnabled()) {
      t.out(
        `dry run: would send ${plural(r.lines, 'line')} in ${plural(r.batches, 'batch', 'batches')} (${formatBytes(r.bytes)}) ` +
          `from ${plural(r.objects.sent, 'object')} to ${r.destination}; ${r.objects.skipped} already sent, ${r.objects.empty} empty`,
      )
      if (r.sample !== undefined) t.out(`sample line:\n${JSON.stringify(r.sample, null, 2)}`)
    }
    for (const w of r.warnings) t.warn(w)
    if (r.stoppedEarly) t.warn(`stopped early, the service kept failing: ${r.stoppedEarly}; the next run goes on from here`)
    if (r.outsideWindow > 0) {
      t.warn(
        `${plural(r.outsideWindow, 'line')} carry a time more than 24 hours from now: Log Analysis shows them at their arrival time ` +
          `(the record's own times stay searchable in the line)`,
      )
    }
    if (r.noTimestamp > 0) t.warn(`${plural(r.noTimestamp, 'line')} had no parsable record time and were sent without a timestamp (arrival time)`)
    if (r.oversized > 0) t.warn(`${plural(r.oversized, 'line')} are longer than 16 KB; Log Analysis truncates them`)
    if (r.skipData > 0) t.warn(`${plural(r.skipData, 'object')} say "skip data": the collector lost data there`)
    for (const f of r.failures.slice(0, 20)) t.err(`  ${t.ce.red('✗')} ${f.key}: ${f.error}`)
    if (r.failures.length > 20) t.err(`  … and ${r.failures.length - 20} more (see --json)`)
    if (r.retryFile) t.hint(`the objects that could not be delivered are listed in ${r.retryFile}`)
    t.info(summaryLine(r))
  }
}

/** The one-line summary per run (Code Engine keeps job logs about an hour; this line is what is left to read). */
export function summaryLine(r: ForwardResult): string {
  const verb = r.dryRun ? 'dry run' : 'forward'
  if (r.event) {
    return (
      `${verb}: event ${r.event.type} key=${r.event.key} result=${r.event.result} records=${r.records} lines=${r.lines} ` +
      `retries=${r.retries}${r.failures.length ? ` error=${JSON.stringify(r.failures[0].error)}` : ''}`
    )
  }
  const o = r.objects
  return (
    `${verb}${r.passes ? ` pass ${r.passes}` : ''}: ${plural(o.listed, 'object')} listed, ${o.sent} sent, ${o.skipped} already sent, ` +
    `${o.empty} empty, ${o.failed} failed${o.outOfWindow ? `, ${o.outOfWindow} outside the time window` : ''}; ${plural(r.records, 'record')}, ${plural(r.lines, 'line')}` +
    `${r.filtered ? ` (${r.filtered} filtered out)` : ''}${r.resumed ? ` (${r.resumed} sent before an interruption)` : ''} ` +
    `in ${plural(r.batches, 'batch', 'batches')}, ${plural(r.retries, 'retry', 'retries')}, to ${r.destination} in ${r.seconds.toFixed(1)} s`
  )
}

function parseInterval(text: string): number {
  const trimmed = text.trim()
  const ms = /^\d+(\.\d+)?$/.test(trimmed) ? Number(trimmed) * 1000 : parseDuration(trimmed)
  if (ms === undefined || !(ms >= 1000)) {
    throw new UsageError(`--interval ${JSON.stringify(text)} is not a duration of at least 1 s`, {suggestions: ['Use e.g. 30s, 5m or 60']})
  }
  return ms
}
