/**
 * All the IBM Cloud clients setup, teardown and doctor use, built from one API key, one region and the endpoint
 * variables (endpoints.ts). The API key comes from IBMCLOUD_API_KEY or the config file, never a flag.
 */
import type {IamAuthenticator} from 'ibm-cloud-sdk-core'

import {iamTokenUrl} from '../cos/config.js'
import type {FlowlogConfig} from '../config/settings.js'
import {CodeEngineClient} from './code-engine.js'
import {BucketAdmin, type CosAuthOptions} from './cos-buckets.js'
import {type Endpoints, resolveEndpoints} from './endpoints.js'
import {createAuthenticator, resolveApiKey, resolveRetry, type RetryConfig} from './http.js'
import {IamIdentityClient} from './iam-identity.js'
import {PlatformClients} from './platform.js'
import {RegistryClient} from './registry.js'
import {VpcClient} from './vpc.js'

export interface CloudClients {
  region: string
  endpoints: Endpoints
  apiKey: string
  authenticator: IamAuthenticator
  platform: PlatformClients
  vpc: VpcClient
  ce: CodeEngineClient
  identity: IamIdentityClient
  registry: RegistryClient
  /** A bucket admin authenticated with the API key for one COS instance (IAM), or with HMAC keys. */
  buckets(auth?: {instanceId?: string} | {hmac: {accessKeyId: string; secretAccessKey: string}}): BucketAdmin
  close(): void
}

export interface CloudClientOptions {
  region: string
  env?: NodeJS.ProcessEnv
  config?: FlowlogConfig
  retry?: RetryConfig
}

export function createCloudClients(options: CloudClientOptions): CloudClients {
  const env = options.env ?? process.env
  const endpoints = resolveEndpoints(options.region, env)
  const apiKey = resolveApiKey({env, config: options.config})
  const authenticator = createAuthenticator({apiKey, iamUrl: endpoints.iam})
  const platform = new PlatformClients({
    authenticator,
    iamUrl: endpoints.iam,
    resourceControllerUrl: endpoints.resourceController,
    resourceManagerUrl: endpoints.resourceManager,
    globalCatalogUrl: endpoints.globalCatalog,
    iamPolicyUrl: endpoints.iamPolicy,
    retry: options.retry,
    env,
  })
  const vpc = new VpcClient({serviceUrl: endpoints.vpc, authenticator, retry: options.retry, env})
  const ce = new CodeEngineClient({serviceUrl: endpoints.codeEngine, authenticator, retry: options.retry, env})
  const identity = new IamIdentityClient({serviceUrl: endpoints.iamIdentity, authenticator, retry: options.retry, env})
  const registry = new RegistryClient({serviceUrl: endpoints.containerRegistry, authenticator, retry: options.retry, env})
  const admins: BucketAdmin[] = []
  return {
    region: options.region,
    endpoints,
    apiKey,
    authenticator,
    platform,
    vpc,
    ce,
    identity,
    registry,
    buckets(auth) {
      let cosAuth: CosAuthOptions
      if (auth && 'hmac' in auth) cosAuth = {kind: 'hmac', ...auth.hmac}
      else cosAuth = {kind: 'iam', apiKey, instanceId: auth?.instanceId, tokenUrl: iamTokenUrl(endpoints.iam)}
      const admin = new BucketAdmin({endpoint: endpoints.cos, auth: cosAuth, maxRetries: Math.min(3, resolveRetry(options.retry, env).maxRetries)})
      admins.push(admin)
      return admin
    },
    close() {
      for (const a of admins) a.close()
    },
  }
}
