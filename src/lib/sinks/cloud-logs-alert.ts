import {UsageError} from '../errors.js'
import {queryToLucene} from '../query/lucene.js'
import type {TriggerInterval} from './alerts.js'
import {type AlertSeverityName, CLOUD_LOGS_SEVERITIES, cloudLogsAlertBody, type CloudLogsAlertBody} from './cloud-logs-api.js'

/**
 * `flowlog alert create --sink cloud-logs` (docs/sinks.md §8.4): the flowlog query → its Lucene filter (a part Lucene
 * cannot express is a LuceneUnsupportedError, exit 2) → the `POST /v1/alerts` body. Cloud Logs notifies through an
 * outbound integration (IBM Event Notifications, which has a Slack destination), given by --integration-id; it
 * cannot post to a Slack Incoming Webhook itself, so --slack-webhook is refused with that explanation.
 */
export interface CloudLogsAlertPlanInput {
  name: string
  query: string
  app: string
  triggerLimit: number
  triggerInterval: TriggerInterval
  severity: string
  integrationId?: number
  slackWebhook?: string
}

export interface CloudLogsAlertPlan {
  body: CloudLogsAlertBody
  lucene: string
  /** Clauses that match more broadly in Cloud Logs than in flowlog, and a note when nothing is notified. */
  warnings: string[]
}

export function planCloudLogsAlert(input: CloudLogsAlertPlanInput): CloudLogsAlertPlan {
  if (input.slackWebhook !== undefined) {
    throw new UsageError('--slack-webhook is for --sink logdna: Cloud Logs alerts notify through an outbound integration', {
      suggestions: [
        'Create an IBM Event Notifications outbound integration with a Slack destination in Cloud Logs, then pass --integration-id ID',
        'or use flowlog watch with FLOWLOG_SLACK_WEBHOOK set, which posts to Slack from the local index',
      ],
    })
  }
  if (!(input.severity in CLOUD_LOGS_SEVERITIES)) {
    throw new UsageError(`--severity must be one of ${Object.keys(CLOUD_LOGS_SEVERITIES).join(', ')}, not ${JSON.stringify(input.severity)}`)
  }
  const t = queryToLucene(input.query)
  const body = cloudLogsAlertBody({
    name: input.name,
    query: input.query,
    lucene: t.lucene,
    app: input.app,
    triggerLimit: input.triggerLimit,
    triggerInterval: input.triggerInterval,
    severity: input.severity as AlertSeverityName,
    integrationId: input.integrationId,
  })
  const warnings = t.approximations.map((a) => `in Cloud Logs ${a}, so the alert may fire on more lines than flowlog search matches`)
  if (input.integrationId === undefined) warnings.push('no --integration-id: the alert raises incidents in Cloud Logs but notifies no one')
  return {body, lucene: t.lucene, warnings}
}
