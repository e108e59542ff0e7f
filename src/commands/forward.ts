import {BaseCommand} from '../base-command.js'
import {readConfig} from '../lib/config/settings.js'
import {InterruptedError} from '../lib/errors.js'
import {forwardFlags, forwardRequest} from '../lib/sinks/forward-flags.js'
import {type ForwardResult, runForward} from '../lib/sinks/index.js'
import {compileForwardQuery} from '../lib/sinks/query.js'
import {plural} from '../lib/ui/format.js'
import {forwardProgressText, renderForward, resourceUsageLine} from '../lib/ui/forward.js'

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
    {description: 'See what would be sent (counts and a sample line), send nothing', command: '<%= config.bin %> forward --source ./flowlogs --dry-run'},
    {description: 'Forward the last hour of a folder to IBM Cloud Logs: the instance setup created or FLOWLOG_CLOUD_LOGS_URL (or --cloud-logs-instance ID --region REGION), IBMCLOUD_API_KEY in the environment', command: '<%= config.bin %> forward --source ./flowlogs --since 1h'},
    {description: 'Only rejected inbound traffic', command: `<%= config.bin %> forward --source ./flowlogs --query 'action:rejected direction:I'`},
    {description: 'To Mezmo / LogDNA (the ingestion key in FLOWLOG_LOGDNA_INGESTION_KEY), rejected flows as WARN', command: '<%= config.bin %> forward --source ./flowlogs --sink logdna --level-by-action'},
    {description: 'A Code Engine daemon job: poll the configured bucket every minute until stopped', command: '<%= config.bin %> forward --follow --interval 60s'},
    {description: 'Keep the ledger in the bucket too (a job whose home is ephemeral): a restarted job sends nothing twice', command: '<%= config.bin %> forward --ledger remote'},
  ]

  static flags = forwardFlags


  async run(): Promise<ForwardResult> {
    const {flags} = await this.parse(Forward)
    const request = forwardRequest(flags)
    const config = await readConfig(this.home)
    const t = this.term
    const render = (r: ForwardResult) => this.emit(renderForward(r, t, {json: this.jsonEnabled()}))
    t.startSpinner('forwarding')
    let result: ForwardResult
    try {
      result = await runForward(request, {
        home: this.home,
        config,
        env: process.env,
        userAgent: `flowlog/${this.config.version}`,
        signal: this.interrupted,
        compileQuery: compileForwardQuery,
        onWarning: (m) => t.warn(m),
        onNotice: (m) => t.info(m),
        onProgress: (p) => t.progress(forwardProgressText(p)),
        onPass: (r) => {
          t.stopSpinner()
          // --follow --json: one summary per pass, as a JSON line (the run never ends on its own).
          if (this.jsonEnabled()) t.out(JSON.stringify(r))
          render(r)
          t.startSpinner('waiting for new objects')
        },
      })
    } finally {
      t.stopSpinner()
      if (process.env.FLOWLOG_REPORT_RSS === '1') process.stderr.write(`${resourceUsageLine()}\n`)
    }
    if (result.mode !== 'follow') render(result)
    // --follow ends only by a signal: what was in flight is saved, and the exit code says it was interrupted.
    if (this.interrupted.aborted) throw new InterruptedError()
    if (result.objects.failed > 0) this.partial(`${plural(result.objects.failed, 'object')} could not be delivered; the next run retries them`)
    return result
  }
}
