import {ConfigError, errorMessage, redact, registerSecret, RemoteError, UsageError} from '../errors.js'
import {parseRetryAfter} from './retry.js'

/**
 * Slack Incoming Webhooks: `POST <webhook URL>` with `{"text": …}` (JSON), answered `200 ok`. Errors come back as a
 * status and a short plain-text reason (`invalid_payload`, `no_text`, `no_service`, `channel_is_archived`,
 * `action_prohibited`, …). The URL itself is the credential: it is registered as a secret and never printed whole.
 */
export const SLACK_WEBHOOK_ENV = 'FLOWLOG_SLACK_WEBHOOK'

export interface SlackMessage {
  text: string
  blocks?: unknown[]
}

export interface SlackOptions {
  fetch?: typeof fetch
  timeoutMs?: number
  /** Attempts for 429/5xx/network failures (default 3). */
  maxAttempts?: number
  sleep?: (ms: number) => Promise<void>
}

/** Check a webhook URL: http(s), no credentials inside; plain http only to this machine. Registers it as a secret. */
export function validateWebhookUrl(value: string, flag = '--slack-webhook'): string {
  let url: URL
  try {
    url = new URL(value.trim())
  } catch {
    throw new UsageError(`${flag} is not a URL`, {suggestions: ['Give the Slack Incoming Webhook URL, e.g. https://hooks.slack.com/services/T…/B…/…']})
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new UsageError(`${flag} must be an https URL`)
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname) || url.hostname.startsWith('127.')
  if (url.protocol === 'http:' && !loopback) throw new UsageError(`${flag} must be an https URL (the webhook URL is a credential)`)
  if (url.username || url.password) throw new UsageError(`${flag} must not carry a user name or password`)
  const text = url.toString()
  registerSecret(text)
  if (url.pathname.length > 1) registerSecret(url.pathname)
  return text
}

/**
 * The Slack webhook of `watch` and `alert create`: FLOWLOG_SLACK_WEBHOOK, else `slackWebhook` in the config file (0600,
 * like every secret there); never a flag, which `ps` and the shell history would show. Validated and registered as a
 * secret; throws UsageError (exit 2) naming where the value came from.
 */
export function resolveSlackWebhook(env: NodeJS.ProcessEnv, config: {slackWebhook?: unknown}, configPath = 'the config file'): string {
  const fromEnv = env[SLACK_WEBHOOK_ENV]?.trim()
  if (fromEnv) return validateWebhookUrl(fromEnv, SLACK_WEBHOOK_ENV)
  const fromConfig = config.slackWebhook
  if (fromConfig !== undefined && fromConfig !== null && fromConfig !== '') {
    if (typeof fromConfig !== 'string') throw new UsageError(`slackWebhook in ${configPath} must be a string (the Slack Incoming Webhook URL)`)
    return validateWebhookUrl(fromConfig, `slackWebhook in ${configPath}`)
  }
  throw new UsageError('no Slack webhook', {
    suggestions: [`Set ${SLACK_WEBHOOK_ENV} to the Slack Incoming Webhook URL`, `or put it in ${configPath} as "slackWebhook" (the file is 0600)`],
  })
}

/** `https://hooks.slack.com/services/…`: enough to recognise the webhook, not enough to use it. */
export function maskWebhookUrl(value: string): string {
  try {
    const url = new URL(value)
    const first = url.pathname.split('/').filter(Boolean)[0]
    return `${url.protocol}//${url.host}/${first ? `${first}/` : ''}…`
  } catch {
    return '…'
  }
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/** Post one message; retries 429 (honouring Retry-After), 5xx and network failures. */
export async function postSlack(url: string, message: SlackMessage, options: SlackOptions = {}): Promise<void> {
  const doFetch = options.fetch ?? fetch
  const attempts = Math.max(1, options.maxAttempts ?? 3)
  const sleep = options.sleep ?? defaultSleep
  const body = JSON.stringify(message)
  let last = ''
  for (let attempt = 1; attempt <= attempts; attempt++) {
    let status: number
    let text: string
    let retryAfter: number | undefined
    try {
      const res = await doFetch(url, {
        method: 'POST',
        headers: {'Content-Type': 'application/json; charset=utf-8'},
        body,
        signal: AbortSignal.timeout(options.timeoutMs ?? 15_000),
      })
      status = res.status
      text = (await res.text()).slice(0, 500)
      retryAfter = parseRetryAfter(res.headers.get('retry-after') ?? undefined)
    } catch (error) {
      last = `network error: ${errorMessage(error)}`
      if (attempt < attempts) await sleep(1000 * attempt)
      continue
    }
    if (status >= 200 && status < 300) return
    last = `${status} ${text.trim()}`
    if (status === 429 || status >= 500) {
      if (attempt < attempts) await sleep(Math.min(30_000, retryAfter ?? 1000 * attempt))
      continue
    }
    if (status === 403 || status === 404 || status === 410) {
      throw new ConfigError(`Slack refused the webhook ${maskWebhookUrl(url)}: ${redact(last)}`, {
        code: 'slack_webhook',
        suggestions: ['Check the webhook URL in Slack (Apps → Incoming Webhooks); it may have been revoked or its channel archived'],
      })
    }
    throw new RemoteError(`Slack rejected the message: ${redact(last)}`, {status, code: 'slack_rejected'})
  }
  throw new RemoteError(`could not post to Slack after ${attempts} attempts: ${redact(last)}`, {code: 'slack_unreachable'})
}
