import type {FlowlogConfig} from '../config/settings.js'
import type {Home} from '../config/home.js'
import {UsageError} from '../errors.js'
import {FolderSource} from './folder.js'
import type {Source} from './types.js'

export type {Source, SourceObject, SourceStats} from './types.js'

export interface OpenSourceOptions {
  home: Home
  config?: FlowlogConfig
  env?: NodeJS.ProcessEnv
  /** --cos-endpoint */
  cosEndpoint?: string
  region?: string
  endpointType?: 'public' | 'private' | 'direct'
}

/** `DIR` or `cos://BUCKET[/PREFIX]`; without a spec, the configured bucket (flowlog setup writes it). */
export async function openSource(spec: string | undefined, options: OpenSourceOptions): Promise<Source> {
  let s = spec
  if (s === undefined || s === '') {
    const bucket = options.config?.bucket
    if (!bucket) {
      throw new UsageError('no --source given and no bucket configured', {
        suggestions: ['Pass --source DIR or --source cos://BUCKET', 'or run `flowlog setup` to configure a bucket'],
      })
    }
    s = `cos://${bucket}`
  }
  if (s.startsWith('cos://')) {
    const {createCosSource} = await import('./cos.js')
    return createCosSource(s, {
      home: options.home,
      config: options.config,
      env: options.env,
      endpoint: options.cosEndpoint,
      region: options.region,
      endpointType: options.endpointType,
    })
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(s)) {
    throw new UsageError(`unsupported source ${JSON.stringify(s)}`, {suggestions: ['Use a folder path or cos://BUCKET[/PREFIX]']})
  }
  return new FolderSource(s)
}
