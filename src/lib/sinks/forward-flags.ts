/**
 * The flags of `flowlog forward` and how they become a ForwardRequest (docs/sinks.md): the command parses, this
 * module assembles and validates, runForward (./index.ts) does the work.
 */
import {Flags, type Interfaces} from '@oclif/core'

import {UsageError} from '../errors.js'
import {parseDuration} from '../records/time.js'
import {sourceFlags, windowFlags} from '../sources/flags.js'
import type {ForwardRequest} from './index.js'

export const forwardFlags = {
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

export type ForwardFlagValues = Interfaces.InferredFlags<typeof forwardFlags>

/** --interval of forward: a duration (30s, 5m) or a bare number of seconds, at least 1 s. */
export function parseForwardInterval(text: string): number {
  const trimmed = text.trim()
  const ms = /^\d+(\.\d+)?$/.test(trimmed) ? Number(trimmed) * 1000 : parseDuration(trimmed)
  if (ms === undefined || !(ms >= 1000)) {
    throw new UsageError(`--interval ${JSON.stringify(text)} is not a duration of at least 1 s`, {suggestions: ['Use e.g. 30s, 5m or 60']})
  }
  return ms
}

/** The parsed flags as the request runForward takes (throws UsageError for a bad --interval). */
export function forwardRequest(flags: ForwardFlagValues): ForwardRequest {
  return {
    source: flags.source,
    cosEndpoint: flags['cos-endpoint'],
    region: flags.region,
    endpointType: flags['endpoint-type'] as ForwardRequest['endpointType'],
    since: flags.since,
    until: flags.until,
    object: flags.object,
    follow: flags.follow,
    intervalMs: parseForwardInterval(flags.interval),
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
  }
}
