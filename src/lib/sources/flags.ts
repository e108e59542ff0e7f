import {Flags} from '@oclif/core'

/** Flags shared by every command that reads flow-log objects (pull, search, forward, why-rejected, top, stats). */
export const sourceFlags = {
  source: Flags.string({
    description: 'where flow-log objects are: a folder laid out like the bucket, or cos://BUCKET[/PREFIX] (default: the configured bucket)',
    helpValue: 'DIR|cos://BUCKET',
  }),
  'cos-endpoint': Flags.string({
    description: 'COS endpoint URL (or FLOWLOG_COS_ENDPOINT); default from --region and --endpoint-type',
    helpValue: 'URL',
  }),
  region: Flags.string({description: 'IBM Cloud region of the bucket, e.g. us-south'}),
  'endpoint-type': Flags.string({description: 'COS endpoint type', options: ['public', 'private', 'direct']}),
}

export const windowFlags = {
  since: Flags.string({description: 'only records at or after this time: ISO 8601 or a duration before now (90m, 1h, 7d)', helpValue: 'TIME|DURATION'}),
  until: Flags.string({description: 'only records before this time: ISO 8601 or a duration before now', helpValue: 'TIME|DURATION'}),
}
