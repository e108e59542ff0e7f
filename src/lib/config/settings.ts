import {ConfigError, registerSecret} from '../errors.js'
import {type Home, readJsonFile, writeJsonFile} from './home.js'

/**
 * The config file written by `flowlog setup` (0600, it may hold secrets) and read by every command.
 * Precedence everywhere: flag > environment > config file > default.
 */
export interface FlowlogConfig {
  region?: string
  resourceGroup?: string
  /** COS */
  bucket?: string
  cosEndpoint?: string
  cosEndpointType?: 'public' | 'private' | 'direct'
  cosInstanceId?: string
  /** IAM API key (secret). */
  apiKey?: string
  /** HMAC credentials (secret). */
  cosHmacAccessKeyId?: string
  cosHmacSecretAccessKey?: string
  /** Sinks */
  sink?: 'logdna' | 'cloud-logs' | 'none'
  logdnaUrl?: string
  /** Log Analysis / Mezmo ingestion key (secret). */
  logdnaIngestionKey?: string
  cloudLogsUrl?: string
  /** Slack Incoming Webhook of `watch` and `alert create` (secret; FLOWLOG_SLACK_WEBHOOK wins). */
  slackWebhook?: string
  /** Other values other commands keep. */
  [key: string]: unknown
}

export const SECRET_CONFIG_KEYS = ['apiKey', 'cosHmacAccessKeyId', 'cosHmacSecretAccessKey', 'logdnaIngestionKey', 'logdnaServiceKey', 'slackWebhook'] as const

export async function readConfig(home: Home): Promise<FlowlogConfig> {
  const config = (await readJsonFile<FlowlogConfig>(home.configPath)) ?? {}
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new ConfigError(`${home.configPath} must hold a JSON object`)
  }
  for (const key of SECRET_CONFIG_KEYS) registerSecret(config[key] as string | undefined)
  return config
}

/** Merge `patch` into the config file and write it back 0600. */
export async function updateConfig(home: Home, patch: Partial<FlowlogConfig>): Promise<FlowlogConfig> {
  const current = await readConfig(home)
  const next = {...current, ...patch}
  for (const [k, v] of Object.entries(next)) if (v === undefined) delete next[k]
  await writeJsonFile(home.configPath, next, true)
  return next
}

export interface ResolvedValue<T> {
  value: T | undefined
  source: 'flag' | 'env' | 'config' | 'default' | 'unset'
}

/** flag > env > config > default, with where the value came from (for `doctor` and error messages). */
export function resolveSetting<T>(
  flag: T | undefined,
  envValue: string | undefined,
  configValue: T | undefined,
  defaultValue?: T,
  parseEnv: (s: string) => T = (s) => s as unknown as T,
): ResolvedValue<T> {
  if (flag !== undefined) return {value: flag, source: 'flag'}
  if (envValue !== undefined && envValue !== '') return {value: parseEnv(envValue), source: 'env'}
  if (configValue !== undefined) return {value: configValue, source: 'config'}
  if (defaultValue !== undefined) return {value: defaultValue, source: 'default'}
  return {value: undefined, source: 'unset'}
}
