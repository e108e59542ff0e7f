/**
 * The IBM Cloud API key (`IBMCLOUD_API_KEY`, else the config file's `apiKey`; never a flag). Kept apart from http.ts so
 * that checking for a key (names, why-rejected) does not load ibm-cloud-sdk-core.
 */
import type {FlowlogConfig} from '../config/settings.js'
import {ConfigError, registerSecret} from '../errors.js'

export const API_KEY_ENV = 'IBMCLOUD_API_KEY'

export interface CredentialOptions {
  env?: NodeJS.ProcessEnv
  config?: FlowlogConfig
}

/** The IAM API key: `IBMCLOUD_API_KEY`, else the config file's `apiKey`. Never a flag. Throws ConfigError if none. */
export function resolveApiKey(options: CredentialOptions = {}): string {
  const env = options.env ?? process.env
  const fromEnv = env[API_KEY_ENV]
  const key = fromEnv && fromEnv.trim() !== '' ? fromEnv.trim() : (options.config?.apiKey as string | undefined)
  if (!key) {
    throw new ConfigError('no IBM Cloud API key', {
      code: 'no_api_key',
      suggestions: [`Set ${API_KEY_ENV}, or run \`flowlog setup\` to store one in the config file`],
    })
  }
  registerSecret(key)
  return key
}

/** Whether an API key is available (without throwing). */
export function hasApiKey(options: CredentialOptions = {}): boolean {
  const env = options.env ?? process.env
  return Boolean((env[API_KEY_ENV] && env[API_KEY_ENV]!.trim() !== '') || options.config?.apiKey)
}

