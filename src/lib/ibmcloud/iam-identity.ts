/**
 * IAM Identity: service IDs and their API keys, with the REST shapes of platform-services-node-sdk
 * `iam-identity/v1.ts` (createServiceId, listServiceIds, getServiceId, deleteServiceId, createApiKey, listApiKeys,
 * deleteApiKey) on the shared IbmService base (one error mapping, secrets redacted). An API key's value is only in
 * the create answer (store_value false): callers hand it straight to where it must live.
 */
import {registerSecret} from '../errors.js'
import {isNotFound, IbmService, type IbmServiceOptions, type RetryConfig, seg} from './http.js'

export interface ServiceId {
  id: string
  iam_id: string
  account_id: string
  name: string
  description?: string
  crn?: string
  entity_tag?: string
  [k: string]: unknown
}

export interface IdentityApiKey {
  id: string
  iam_id: string
  account_id?: string
  name: string
  description?: string
  crn?: string
  /** Only in the create answer. */
  apikey?: string
  [k: string]: unknown
}

export interface IamIdentityOptions {
  /** Base URL (https://iam.cloud.ibm.com); its path is kept. */
  serviceUrl: string
  authenticator: IbmServiceOptions['authenticator']
  retry?: RetryConfig
  env?: NodeJS.ProcessEnv
}

export class IamIdentityClient extends IbmService {
  constructor(options: IamIdentityOptions) {
    super({serviceName: 'IAM Identity', serviceUrl: options.serviceUrl, authenticator: options.authenticator, retry: options.retry, env: options.env})
  }

  async findServiceId(accountId: string, name: string): Promise<ServiceId | undefined> {
    const body = await this.request<{serviceids?: ServiceId[]}>('GET', '/v1/serviceids', {query: {account_id: accountId, name, pagesize: 100}})
    return (body?.serviceids ?? []).find((s) => s.name === name)
  }

  async getServiceId(id: string): Promise<ServiceId | undefined> {
    try {
      return await this.request<ServiceId>('GET', `/v1/serviceids/${seg(id)}`)
    } catch (error) {
      if (isNotFound(error)) return undefined
      throw error
    }
  }

  createServiceId(body: {account_id: string; name: string; description?: string}): Promise<ServiceId> {
    return this.request('POST', '/v1/serviceids', {body})
  }

  async deleteServiceId(id: string): Promise<void> {
    await this.request('DELETE', `/v1/serviceids/${seg(id)}`)
  }

  async listApiKeys(accountId: string, iamId: string): Promise<IdentityApiKey[]> {
    const body = await this.request<{apikeys?: IdentityApiKey[]}>('GET', '/v1/apikeys', {query: {account_id: accountId, iam_id: iamId, pagesize: 100}})
    return body?.apikeys ?? []
  }

  async createApiKey(body: {name: string; iam_id: string; account_id: string; description?: string}): Promise<IdentityApiKey & {apikey: string}> {
    const key = await this.request<IdentityApiKey>('POST', '/v1/apikeys', {body: {...body, store_value: false}})
    if (typeof key.apikey === 'string') registerSecret(key.apikey)
    return key as IdentityApiKey & {apikey: string}
  }

  async deleteApiKey(id: string): Promise<void> {
    await this.request('DELETE', `/v1/apikeys/${seg(id)}`)
  }
}
