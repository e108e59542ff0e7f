import {Flags} from '@oclif/core'

import type {CloudLogsApiFlags} from './cloud-logs-api.js'

/**
 * The environment variable of the Cloud Logs API URL (cloud-logs-api.ts reads it). Named here too, so that the flag
 * declarations, which every search and top loads, do not load the HTTP client.
 */
const CLOUD_LOGS_API_URL_ENV = 'FLOWLOG_CLOUD_LOGS_API_URL'

/** The flags of `--remote cloud-logs` (search, top): where the Cloud Logs API is (docs/sinks.md §8.3). */
export const remoteFlags = {
  remote: Flags.string({description: 'search where forward sent the records instead of the local index: cloud-logs (IBM Cloud Logs; the query is translated to Lucene, exit 2 when it cannot be)', options: ['cloud-logs'], exclusive: ['follow', 'source']}),
  'cloud-logs-instance': Flags.string({description: 'with --remote: the IBM Cloud Logs instance ID (with --region)', helpValue: 'GUID'}),
  'cloud-logs-url': Flags.string({description: 'with --remote: the Cloud Logs ingress URL forward uses (or FLOWLOG_CLOUD_LOGS_URL); the API URL is derived from it', helpValue: 'URL'}),
  'cloud-logs-api-url': Flags.string({description: `with --remote: the Cloud Logs API URL (or ${CLOUD_LOGS_API_URL_ENV})`, helpValue: 'URL'}),
}

export function remoteOptions(flags: {
  remote?: string
  region?: string
  'cloud-logs-instance'?: string
  'cloud-logs-url'?: string
  'cloud-logs-api-url'?: string
  hostname?: string
  app?: string
  tags?: string
  'level-by-action'?: boolean
}): {remote: string; api: CloudLogsApiFlags; envelope: {hostname?: string; app?: string; tags?: string[]; levelByAction?: boolean}} {
  return {
    remote: flags.remote ?? 'cloud-logs',
    api: {region: flags.region, cloudLogsInstance: flags['cloud-logs-instance'], cloudLogsUrl: flags['cloud-logs-url'], cloudLogsApiUrl: flags['cloud-logs-api-url']},
    envelope: {
      hostname: flags.hostname,
      app: flags.app,
      tags: flags.tags ? flags.tags.split(',').map((t) => t.trim()).filter(Boolean) : undefined,
      levelByAction: flags['level-by-action'],
    },
  }
}

/** `flowlog alert … --sink`: Cloud Logs (the default) or Mezmo / LogDNA, and where the Cloud Logs API is. */
export const alertSinkFlags = {
  sink: Flags.string({description: 'where the alert lives: cloud-logs (IBM Cloud Logs, the default unless the config file\'s "sink" says otherwise) or logdna (Mezmo SaaS / self-hosted LogDNA)', options: ['cloud-logs', 'logdna']}),
  region: Flags.string({description: 'with --sink cloud-logs and --cloud-logs-instance: the region of the instance', helpValue: 'REGION'}),
  'cloud-logs-instance': Flags.string({description: 'with --sink cloud-logs: the instance ID (with --region); the API is https://<ID>.api.<REGION>.logs.cloud.ibm.com', helpValue: 'GUID'}),
  'cloud-logs-url': Flags.string({description: 'with --sink cloud-logs: the ingress URL forward uses (or FLOWLOG_CLOUD_LOGS_URL); the API URL is derived from it', helpValue: 'URL'}),
  'cloud-logs-api-url': Flags.string({description: `with --sink cloud-logs: the Cloud Logs API URL (or ${CLOUD_LOGS_API_URL_ENV})`, helpValue: 'URL'}),
}
