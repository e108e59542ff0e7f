/**
 * IBM Cloud Container Registry (ICR): the namespace setup builds the forwarder image into. REST shapes of the
 * Container Registry API v1 (`PUT|DELETE /api/v1/namespaces/{name}`, `GET /api/v1/namespaces` → array of names),
 * with the `Account` header, on the shared IbmService base. ICR namespaces are unique per registry region.
 */
import {isNotFound, IbmService, type IbmServiceOptions, type RetryConfig, seg} from './http.js'

/** The registry host of a region (us-south and us-east share us.icr.io). */
export function registryServer(region: string): string {
  const map: Record<string, string> = {
    'us-south': 'us.icr.io',
    'us-east': 'us.icr.io',
    'eu-de': 'de.icr.io',
    'eu-gb': 'uk.icr.io',
    'eu-es': 'es.icr.io',
    'jp-tok': 'jp.icr.io',
    'jp-osa': 'jp2.icr.io',
    'au-syd': 'au.icr.io',
    'ca-tor': 'ca.icr.io',
    'br-sao': 'br.icr.io',
  }
  return map[region] ?? 'icr.io'
}

export interface RegistryClientOptions {
  serviceUrl: string
  authenticator: IbmServiceOptions['authenticator']
  accountId?: string
  retry?: RetryConfig
  env?: NodeJS.ProcessEnv
}

export class RegistryClient extends IbmService {
  constructor(options: RegistryClientOptions) {
    super({serviceName: 'Container Registry', serviceUrl: options.serviceUrl, authenticator: options.authenticator, retry: options.retry, env: options.env})
  }

  async listNamespaces(accountId: string): Promise<string[]> {
    const body = await this.request<unknown>('GET', '/api/v1/namespaces', {headers: {Account: accountId}})
    return Array.isArray(body) ? body.filter((x): x is string => typeof x === 'string') : []
  }

  /** Create (or confirm) a namespace of the account; 200 means it was already there. */
  async ensureNamespace(accountId: string, name: string, resourceGroupId?: string): Promise<'created' | 'exists'> {
    const r = await this.requestRaw('PUT', `/api/v1/namespaces/${seg(name)}`, {headers: {Account: accountId, ...(resourceGroupId ? {'X-Auth-Resource-Group': resourceGroupId} : {})}})
    return r.status === 201 ? 'created' : 'exists'
  }

  async deleteNamespace(accountId: string, name: string): Promise<boolean> {
    try {
      await this.request('DELETE', `/api/v1/namespaces/${seg(name)}`, {headers: {Account: accountId}})
      return true
    } catch (error) {
      if (isNotFound(error)) return false
      throw error
    }
  }
}
