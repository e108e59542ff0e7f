/**
 * `flowlog alert create | list | delete` (docs/sinks.md §8.4): one function per command, for IBM Cloud Logs (the
 * default) and Mezmo / LogDNA. They return what happened; messages that belong to the flow go through callbacks.
 */
import {type AlertReplay, compileQuery, replayPresenceAlert} from '../analysis/aggregate.js'
import type {Home} from '../config/home.js'
import {type FlowlogConfig, readConfig} from '../config/settings.js'
import {UsageError} from '../errors.js'
import {openStore} from '../store/store.js'
import {plural} from '../ui/format.js'
import {alertView, findView, LogdnaConfigClient, parseTriggerInterval, resolveConfigApi, summariseView, triggerIntervalMs, type AlertSummary, type TriggerInterval} from './alerts.js'
import {planCloudLogsAlert} from './cloud-logs-alert.js'
import {
  alertApiFlags,
  CloudLogsApiClient,
  type CloudLogsAlertBody,
  type CloudLogsAlertFlags,
  findCloudLogsAlert,
  resolveAlertSink,
  resolveCloudLogsApi,
  summariseCloudLogsAlert,
} from './cloud-logs-api.js'
import {maskWebhookUrl, resolveSlackWebhook, SLACK_WEBHOOK_ENV} from './slack.js'

export interface AlertCreateResult extends AlertSummary {
  category_created: boolean
  replay: AlertReplay
  warnings: string[]
  dry_run: boolean
  sink: 'cloud-logs' | 'logdna'
  /** --sink cloud-logs: the POST /v1/alerts body (sent, or with --dry-run only shown). */
  body?: CloudLogsAlertBody
}

export interface AlertContext {
  home: Home
  env: NodeJS.ProcessEnv
  userAgent: string
  onWarning?: (message: string) => void
  onInfo?: (message: string) => void
}

/** Where the alerts live: --sink and the API flags of both sinks. */
export interface AlertTarget extends CloudLogsAlertFlags {
  sink?: string
  /** --sink logdna: the configuration API (--api-url). */
  'api-url'?: string
}

export interface AlertCreateRequest extends AlertTarget {
  name: string
  query: string
  'integration-id'?: number
  severity: string
  /** Refused (a webhook URL is a secret); present only to say so. */
  'slack-webhook'?: string
  'trigger-limit': number
  'trigger-interval': string
  category: string
  app: string
  'dry-run'?: boolean
}

/** The result, and what the command tells a person about it (never in --json). */
export interface AlertCreated {
  result: AlertCreateResult
  /** --sink logdna: the masked webhook the alert posts to. */
  webhook?: string
  /** --sink cloud-logs: the Lucene filter. */
  lucene?: string
  /** --sink logdna: the view category. */
  category?: string
}

const SLACK_FLAG_REFUSED = () =>
  new UsageError('--slack-webhook is not taken: a webhook URL is a secret, and a flag shows it in `ps` and the shell history', {
    suggestions: [`Set ${SLACK_WEBHOOK_ENV}=https://hooks.slack.com/services/… in the environment, or "slackWebhook" in the config file`],
  })

/**
 * The Slack webhook of `watch` and `alert create --sink logdna`: FLOWLOG_SLACK_WEBHOOK, else `slackWebhook` in the
 * config file (slack.ts), validated; never the flag, which is refused.
 */
export function slackWebhookOf(flag: string | undefined, env: NodeJS.ProcessEnv, config: FlowlogConfig, configPath: string): string {
  if (flag !== undefined) throw SLACK_FLAG_REFUSED()
  return resolveSlackWebhook(env, config, configPath)
}

/** Check the query, replay it on the local index, and create the alert (or, with dry-run, only say what it would be). */
export async function createAlert(req: AlertCreateRequest, ctx: AlertContext): Promise<AlertCreated> {
  const compiled = compileQuery(req.query)
  const config = await readConfig(ctx.home)
  const interval = () => parseTriggerInterval(req['trigger-interval'])
  const dryRun = Boolean(req['dry-run'])
  if (resolveAlertSink(req.sink, config) === 'cloud-logs') {
    const triggerInterval = interval()
    const plan = planCloudLogsAlert({
      name: req.name,
      query: req.query,
      app: req.app,
      triggerLimit: req['trigger-limit'],
      triggerInterval,
      severity: req.severity,
      integrationId: req['integration-id'],
      slackWebhook: req['slack-webhook'],
    })
    const warnings = [...compiled.warnings, ...plan.warnings]
    for (const w of warnings) ctx.onWarning?.(w)
    const api = dryRun ? undefined : resolveCloudLogsApi(alertApiFlags(req), ctx.env, config)
    const replay = await replayAlert(ctx, compiled, triggerInterval, req['trigger-limit'])
    const result: AlertCreateResult = {...summariseCloudLogsAlert(plan.body), category_created: false, replay, warnings, dry_run: dryRun, sink: 'cloud-logs', body: plan.body}
    if (api) result.viewid = (await CloudLogsApiClient.fromSettings(api, ctx.userAgent).createAlert(plan.body)).id
    return {result, lucene: plan.lucene}
  }
  const warnings = [...compiled.warnings]
  if (compiled.hasCidr) {
    warnings.push('the query has a CIDR clause (e.g. 10.240.0.0/16): it works locally but matches nothing in Log Analysis / Mezmo, so this alert would never fire there')
  }
  for (const w of warnings) ctx.onWarning?.(w)
  const webhook = slackWebhookOf(req['slack-webhook'], ctx.env, config, ctx.home.configPath)
  const triggerInterval = interval()
  const view = alertView({
    name: req.name,
    query: req.query,
    webhookUrl: webhook,
    triggerLimit: req['trigger-limit'],
    triggerInterval,
    category: req.category,
    app: req.app,
  })
  const api = dryRun ? undefined : resolveConfigApi({apiUrl: req['api-url'], config})
  const replay = await replayAlert(ctx, compiled, triggerInterval, req['trigger-limit'])
  const result: AlertCreateResult = {
    ...summariseView({...view, viewid: '', channels: view.channels as unknown as Record<string, unknown>[]}),
    category_created: false,
    replay,
    warnings,
    dry_run: dryRun,
    sink: 'logdna',
  }
  if (api) {
    const client = new LogdnaConfigClient({...api, userAgent: ctx.userAgent})
    const {created} = await client.ensureCategory(req.category)
    if (created) ctx.onInfo?.(`created view category ${req.category}`)
    result.viewid = (await client.createView(view)).viewid
    result.category_created = created
  }
  return {result, webhook: maskWebhookUrl(webhook), category: req.category}
}

/** How often the alert would have fired on the local records (said through onInfo). */
async function replayAlert(ctx: AlertContext, compiled: ReturnType<typeof compileQuery>, interval: TriggerInterval, limit: number): Promise<AlertReplay> {
  const store = await openStore(ctx.home, {readOnly: true})
  const replay = await replayPresenceAlert(store, compiled.spec, {intervalMs: triggerIntervalMs(interval), limit}).finally(() => store.close())
  const fired = `would have fired ${plural(replay.fires, 'time')} (${plural(replay.matches, 'matching record')})`
  if (replay.basis === 'last-hour') ctx.onInfo?.(`replayed on local records: ${fired} in the last hour`)
  else if (replay.basis === 'latest-data') ctx.onInfo?.(`no local records in the last hour; on the newest hour of local data (${replay.window_start} → ${replay.window_end}) it ${fired}`)
  else ctx.onInfo?.('no local records to replay the alert on (flowlog pull loads them)')
  return replay
}

export interface AlertListRequest extends AlertTarget {
  all?: boolean
  category?: string
}

/** The alerts of the sink (with `all`, on Mezmo / LogDNA, every view). */
export async function listAlerts(req: AlertListRequest, ctx: AlertContext): Promise<AlertSummary[]> {
  const config = await readConfig(ctx.home)
  if (resolveAlertSink(req.sink, config) === 'cloud-logs') {
    const client = CloudLogsApiClient.fromSettings(resolveCloudLogsApi(alertApiFlags(req), ctx.env, config), ctx.userAgent)
    return (await client.listAlerts()).map(summariseCloudLogsAlert).filter((a) => !req.category || a.category.includes(req.category))
  }
  const client = new LogdnaConfigClient({...resolveConfigApi({apiUrl: req['api-url'], config}), userAgent: ctx.userAgent})
  return (await client.listViews())
    .filter((v) => req.all || v.channels.length > 0)
    .filter((v) => !req.category || (v.category ?? []).includes(req.category))
    .map(summariseView)
}

export interface AlertDeleted {
  sink: 'cloud-logs' | 'logdna'
  deleted: AlertSummary
}

/** Delete the alert (Mezmo / LogDNA: its view) with this id or name; a name several share is refused. */
export async function deleteAlert(req: AlertTarget & {alert: string}, ctx: AlertContext): Promise<AlertDeleted> {
  const config = await readConfig(ctx.home)
  if (resolveAlertSink(req.sink, config) === 'cloud-logs') {
    const client = CloudLogsApiClient.fromSettings(resolveCloudLogsApi(alertApiFlags(req), ctx.env, config), ctx.userAgent)
    const alert = findCloudLogsAlert(await client.listAlerts(), req.alert)
    await client.deleteAlert(alert.id)
    return {sink: 'cloud-logs', deleted: summariseCloudLogsAlert(alert)}
  }
  const client = new LogdnaConfigClient({...resolveConfigApi({apiUrl: req['api-url'], config}), userAgent: ctx.userAgent})
  const view = findView(await client.listViews(), req.alert)
  await client.deleteView(view.viewid)
  return {sink: 'logdna', deleted: summariseView(view)}
}
