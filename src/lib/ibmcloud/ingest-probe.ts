/**
 * One test line to a sink, for `flowlog doctor`: Log Analysis / Mezmo `POST /logs/ingest` with the ingestion key in
 * the `apikey` header, or IBM Cloud Logs `POST /logs/v1/singles` with an IAM bearer token (docs/sinks.md).
 * Failures go through the one HTTP error mapper (keys and tokens redacted).
 */
import type {IamAuthenticator} from 'ibm-cloud-sdk-core'

import {registerSecret} from '../errors.js'
import {isRetiredLogAnalysisUrl, joinUrl, retiredLogAnalysisError} from './endpoints.js'
import {mapHttpError, mapIamError} from './http.js'

export interface ProbeResult {
  status: number
  /** What the line said, so people can find it. */
  text: string
}

async function post(service: string, url: URL, headers: Record<string, string>, body: unknown, timeoutMs: number): Promise<number> {
  let response: Response
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: {'Content-Type': 'application/json; charset=UTF-8', 'User-Agent': 'flowlog-doctor', ...headers},
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    })
  } catch (error) {
    throw mapHttpError({message: (error as Error)?.message ?? String(error)}, {service, method: 'POST', path: url.pathname, serviceUrl: url.href})
  }
  const text = await response.text()
  if (!response.ok) {
    let result: unknown = text
    try {
      result = JSON.parse(text)
    } catch {
      result = {message: text.slice(0, 500)}
    }
    throw mapHttpError({status: response.status, message: response.statusText, result}, {service, method: 'POST', path: url.pathname, serviceUrl: url.href})
  }
  return response.status
}

export interface LogdnaProbeOptions {
  /** Ingestion base URL (FLOWLOG_LOGDNA_URL); its path is kept. IBM's retired Log Analysis hosts are refused (exit 3). */
  url: string
  ingestionKey: string
  hostname?: string
  now?: () => number
  timeoutMs?: number
}

export async function probeLogdna(options: LogdnaProbeOptions): Promise<ProbeResult> {
  registerSecret(options.ingestionKey)
  if (isRetiredLogAnalysisUrl(options.url)) throw retiredLogAnalysisError(options.url)
  const now = (options.now ?? Date.now)()
  const url = joinUrl(options.url, '/logs/ingest')
  url.searchParams.set('hostname', options.hostname ?? 'flowlog')
  url.searchParams.set('now', String(now))
  url.searchParams.set('tags', 'flowlog-doctor')
  const text = `flowlog doctor test line ${new Date(now).toISOString()}`
  const line = JSON.stringify({flowlog: 'doctor', message_text: text})
  const status = await post(
    'Log Analysis ingestion',
    url,
    {apikey: options.ingestionKey},
    {lines: [{line, timestamp: now, app: 'flowlog-doctor', level: 'INFO'}]},
    options.timeoutMs ?? 30_000,
  )
  return {status, text}
}

export interface CloudLogsProbeOptions {
  /** Ingress base URL of the instance (FLOWLOG_CLOUD_LOGS_URL or https://<id>.ingress.<region>.logs.cloud.ibm.com); its path is kept. */
  url: string
  authenticator: IamAuthenticator
  iamUrl?: string
  hostname?: string
  now?: () => number
  timeoutMs?: number
}

export async function probeCloudLogs(options: CloudLogsProbeOptions): Promise<ProbeResult> {
  const auth: {headers: Record<string, string>} = {headers: {}}
  try {
    await options.authenticator.authenticate(auth)
  } catch (error) {
    throw mapIamError(error, options.iamUrl)
  }
  const now = (options.now ?? Date.now)()
  const text = `flowlog doctor test line ${new Date(now).toISOString()}`
  const status = await post(
    'Cloud Logs ingestion',
    joinUrl(options.url, '/logs/v1/singles'),
    {Authorization: auth.headers.Authorization ?? ''},
    [{applicationName: 'flowlog-doctor', subsystemName: options.hostname ?? 'flowlog', severity: 3, timestamp: now, text: {flowlog: 'doctor', message_text: text}}],
    options.timeoutMs ?? 30_000,
  )
  return {status, text}
}
