/**
 * A hand-written client of the IBM Cloud VPC API v1 (IBM/vpc-node-sdk vpc/v1.ts), on the shared IbmService base.
 * Every call carries `version` and `generation=2`; collections are paged with `limit`/`start`/`next.href`.
 * Shapes follow IBM/vpc-node-sdk `vpc/v1.ts`.
 */
import type {FlowlogConfig} from '../config/settings.js'
import {UsageError} from '../errors.js'
import {createAuthenticator, IbmService, type IbmServiceOptions, type Query, type RetryConfig, seg} from './http.js'

/** The pinned API version date (the SDK's default at the time of writing; `icmp_tcp_udp` spelling, SG rule `name`/`local`). */
export const VPC_API_VERSION = '2026-03-24'
export const VPC_GENERATION = 2
export const VPC_URL_ENV = 'FLOWLOG_VPC_URL'
export const DEFAULT_REGION = 'us-south'
/** Page size for list calls (the API's maximum). */
export const VPC_PAGE_LIMIT = 100

// ---------------------------------------------------------------------------------------------------------------
// Resource shapes (the fields flowlog reads; every object may carry more)
// ---------------------------------------------------------------------------------------------------------------

export interface Reference {
  id: string
  crn?: string
  href?: string
  name?: string
  resource_type?: string
  [k: string]: unknown
}

export interface ReservedIpReference extends Partial<Reference> {
  address: string
}

export interface Vpc extends Reference {
  created_at?: string
  status?: string
  default_network_acl?: Reference
  default_security_group?: Reference
  resource_group?: Reference
}

export interface Subnet extends Reference {
  ipv4_cidr_block: string
  network_acl: Reference
  vpc?: Reference
  zone?: {name: string; href?: string}
  status?: string
  total_ipv4_address_count?: number
  available_ipv4_address_count?: number
  ip_version?: string
  public_gateway?: Reference
  routing_table?: Reference
}

export interface NetworkInterface extends Reference {
  primary_ip: ReservedIpReference
  subnet: Reference
  security_groups?: Reference[]
  floating_ips?: ({address: string} & Partial<Reference>)[]
  allow_ip_spoofing?: boolean
  port_speed?: number
  status?: string
  type?: 'primary' | 'secondary'
  created_at?: string
}

export interface NetworkAttachment extends Reference {
  primary_ip?: ReservedIpReference
  subnet?: Reference
  virtual_network_interface: Reference
  type?: string
}

export interface Instance extends Reference {
  primary_network_interface?: NetworkInterface
  network_interfaces?: NetworkInterface[]
  primary_network_attachment?: NetworkAttachment
  network_attachments?: NetworkAttachment[]
  vpc?: Reference
  zone?: {name: string; href?: string}
  status?: string
  created_at?: string
}

export interface VirtualNetworkInterface extends Reference {
  primary_ip: ReservedIpReference
  ips?: ReservedIpReference[]
  security_groups?: Reference[]
  subnet: Reference
  vpc?: Reference
  target?: Reference
}

export interface SecurityGroupRuleRemote {
  cidr_block?: string
  address?: string
  id?: string
  crn?: string
  href?: string
  name?: string
}

export interface SecurityGroupRuleLocal {
  cidr_block?: string
  address?: string
}

export interface SecurityGroupRule {
  id: string
  href?: string
  name?: string
  direction: 'inbound' | 'outbound'
  ip_version?: string
  protocol: string
  port_min?: number
  port_max?: number
  type?: number
  code?: number
  remote?: SecurityGroupRuleRemote
  local?: SecurityGroupRuleLocal
  resource_type?: string
  created_at?: string
  [k: string]: unknown
}

/** The body of `POST /security_groups/{id}/rules`. */
export interface SecurityGroupRulePrototype {
  direction: 'inbound' | 'outbound'
  protocol: string
  ip_version?: 'ipv4'
  port_min?: number
  port_max?: number
  type?: number
  code?: number
  remote?: SecurityGroupRuleRemote
  local?: SecurityGroupRuleLocal
  name?: string
}

export interface SecurityGroupTarget extends Reference {}

export interface SecurityGroup extends Reference {
  rules: SecurityGroupRule[]
  targets?: SecurityGroupTarget[]
  vpc?: Reference
  resource_group?: Reference
  created_at?: string
}

export interface NetworkAclRule {
  id: string
  href?: string
  name?: string
  action: 'allow' | 'deny'
  direction: 'inbound' | 'outbound'
  ip_version?: string
  protocol: string
  source: string
  destination: string
  source_port_min?: number
  source_port_max?: number
  destination_port_min?: number
  destination_port_max?: number
  type?: number
  code?: number
  before?: Reference
  created_at?: string
  [k: string]: unknown
}

/** The body of `POST /network_acls/{id}/rules`. */
export interface NetworkAclRulePrototype {
  action: 'allow' | 'deny'
  direction: 'inbound' | 'outbound'
  protocol: string
  source: string
  destination: string
  ip_version?: 'ipv4'
  source_port_min?: number
  source_port_max?: number
  destination_port_min?: number
  destination_port_max?: number
  type?: number
  code?: number
  name?: string
  before?: {id: string} | {href: string}
}

export interface NetworkAcl extends Reference {
  rules: NetworkAclRule[]
  subnets?: Reference[]
  vpc?: Reference
  resource_group?: Reference
  created_at?: string
}

export interface FloatingIp extends Reference {
  address: string
  target?: Reference & {primary_ip?: ReservedIpReference}
  status?: string
  zone?: {name: string}
}

export interface FlowLogCollector extends Reference {
  active: boolean
  auto_delete?: boolean
  created_at?: string
  lifecycle_state: 'pending' | 'stable' | 'updating' | 'waiting' | 'suspended' | 'deleting' | 'failed'
  resource_group?: Reference
  storage_bucket: {name: string}
  target: Reference
  vpc?: Reference
}

/** The body of `POST /flow_log_collectors`. */
export interface FlowLogCollectorPrototype {
  name?: string
  target: {id: string} | {crn: string} | {href: string}
  storage_bucket: {name: string}
  active?: boolean
  resource_group?: {id: string}
}

export interface FlowLogCollectorPatch {
  active?: boolean
  name?: string
}

/** A collection page of the VPC API. */
export interface VpcCollectionPage {
  first?: {href: string}
  next?: {href: string}
  limit?: number
  total_count?: number
  [items: string]: unknown
}

// ---------------------------------------------------------------------------------------------------------------
// Client
// ---------------------------------------------------------------------------------------------------------------

export interface VpcClientOptions {
  /** Base URL ending in /v1. */
  serviceUrl: string
  authenticator: IbmServiceOptions['authenticator']
  /** API version date (default VPC_API_VERSION). */
  version?: string
  retry?: RetryConfig
  env?: NodeJS.ProcessEnv
  /** Page size for list calls (default 100). */
  pageLimit?: number
}

/** `FLOWLOG_VPC_URL`, else `https://<region>.iaas.cloud.ibm.com/v1`. */
export function resolveVpcUrl(options: {env?: NodeJS.ProcessEnv; region?: string} = {}): string {
  const env = options.env ?? process.env
  const override = env[VPC_URL_ENV]
  if (override && override.trim() !== '') {
    const url = override.trim().replace(/\/+$/, '')
    if (!/\/v1$/.test(url)) {
      throw new UsageError(`${VPC_URL_ENV} must end in /v1 (got ${url})`, {
        suggestions: [`For example ${VPC_URL_ENV}=https://us-south.iaas.cloud.ibm.com/v1`],
      })
    }
    return url
  }
  const region = options.region ?? DEFAULT_REGION
  if (!/^[a-z]{2}-[a-z]+(-\d)?$/.test(region)) throw new UsageError(`not a region: ${JSON.stringify(region)}`, {suggestions: ['For example us-south, eu-de, jp-tok']})
  return `https://${region}.iaas.cloud.ibm.com/v1`
}

export class VpcClient extends IbmService {
  readonly version: string
  private readonly pageLimit: number

  constructor(options: VpcClientOptions) {
    const version = options.version ?? VPC_API_VERSION
    super({
      serviceName: 'VPC',
      serviceUrl: options.serviceUrl,
      authenticator: options.authenticator,
      defaultQuery: {version, generation: VPC_GENERATION},
      retry: options.retry,
      env: options.env,
    })
    this.version = version
    this.pageLimit = options.pageLimit ?? VPC_PAGE_LIMIT
  }

  private list<T>(path: string, key: string, query: Query = {}): Promise<T[]> {
    return this.listAll<T>(path, key, query, {limit: this.pageLimit})
  }

  // VPCs
  listVpcs(query: Query = {}): Promise<Vpc[]> {
    return this.list('/vpcs', 'vpcs', query)
  }
  getVpc(id: string): Promise<Vpc> {
    return this.request('GET', `/vpcs/${seg(id)}`)
  }

  // Subnets
  listSubnets(query: Query = {}): Promise<Subnet[]> {
    return this.list('/subnets', 'subnets', query)
  }
  getSubnet(id: string): Promise<Subnet> {
    return this.request('GET', `/subnets/${seg(id)}`)
  }
  getSubnetNetworkAcl(id: string): Promise<NetworkAcl> {
    return this.request('GET', `/subnets/${seg(id)}/network_acl`)
  }

  // Instances and interfaces
  listInstances(query: Query = {}): Promise<Instance[]> {
    return this.list('/instances', 'instances', query)
  }
  getInstance(id: string): Promise<Instance> {
    return this.request('GET', `/instances/${seg(id)}`)
  }
  /** Not paged. */
  async listInstanceNetworkInterfaces(instanceId: string): Promise<NetworkInterface[]> {
    const body = await this.request<{network_interfaces?: NetworkInterface[]}>('GET', `/instances/${seg(instanceId)}/network_interfaces`)
    return body?.network_interfaces ?? []
  }
  getInstanceNetworkInterface(instanceId: string, id: string): Promise<NetworkInterface> {
    return this.request('GET', `/instances/${seg(instanceId)}/network_interfaces/${seg(id)}`)
  }
  getInstanceNetworkAttachment(instanceId: string, id: string): Promise<NetworkAttachment> {
    return this.request('GET', `/instances/${seg(instanceId)}/network_attachments/${seg(id)}`)
  }
  listVirtualNetworkInterfaces(query: Query = {}): Promise<VirtualNetworkInterface[]> {
    return this.list('/virtual_network_interfaces', 'virtual_network_interfaces', query)
  }
  getVirtualNetworkInterface(id: string): Promise<VirtualNetworkInterface> {
    return this.request('GET', `/virtual_network_interfaces/${seg(id)}`)
  }

  // Security groups
  listSecurityGroups(query: Query = {}): Promise<SecurityGroup[]> {
    return this.list('/security_groups', 'security_groups', query)
  }
  getSecurityGroup(id: string): Promise<SecurityGroup> {
    return this.request('GET', `/security_groups/${seg(id)}`)
  }
  /** Not paged. */
  async listSecurityGroupRules(id: string): Promise<SecurityGroupRule[]> {
    const body = await this.request<{rules?: SecurityGroupRule[]}>('GET', `/security_groups/${seg(id)}/rules`)
    return body?.rules ?? []
  }
  getSecurityGroupRule(id: string, ruleId: string): Promise<SecurityGroupRule> {
    return this.request('GET', `/security_groups/${seg(id)}/rules/${seg(ruleId)}`)
  }
  listSecurityGroupTargets(id: string): Promise<SecurityGroupTarget[]> {
    return this.list(`/security_groups/${seg(id)}/targets`, 'targets')
  }
  createSecurityGroupRule(id: string, prototype: SecurityGroupRulePrototype): Promise<SecurityGroupRule> {
    return this.request('POST', `/security_groups/${seg(id)}/rules`, {body: prototype})
  }
  async deleteSecurityGroupRule(id: string, ruleId: string): Promise<void> {
    await this.request('DELETE', `/security_groups/${seg(id)}/rules/${seg(ruleId)}`)
  }

  // Network ACLs
  /**
   * `GET /network_acls` has no `vpc.id` filter (vpc-node-sdk vpc/v1.ts listNetworkAcls: start, limit,
   * resource_group.id). A `vpc.id` in `query` is therefore never sent: every ACL is listed (paged) and those
   * attached to a subnet of that VPC (or naming it as their VPC) are kept.
   */
  async listNetworkAcls(query: Query = {}): Promise<NetworkAcl[]> {
    const {'vpc.id': vpcId, ...rest} = query
    const all = await this.list<NetworkAcl>('/network_acls', 'network_acls', rest)
    if (vpcId === undefined || vpcId === null || vpcId === '') return all
    const subnets = new Set((await this.listSubnets({'vpc.id': vpcId})).map((s) => s.id))
    return all.filter((acl) => (acl.subnets ?? []).some((s) => subnets.has(s.id)) || acl.vpc?.id === String(vpcId))
  }
  getNetworkAcl(id: string): Promise<NetworkAcl> {
    return this.request('GET', `/network_acls/${seg(id)}`)
  }
  /** Paged, in priority order. */
  listNetworkAclRules(id: string, direction?: 'inbound' | 'outbound'): Promise<NetworkAclRule[]> {
    return this.list(`/network_acls/${seg(id)}/rules`, 'rules', {direction})
  }
  getNetworkAclRule(id: string, ruleId: string): Promise<NetworkAclRule> {
    return this.request('GET', `/network_acls/${seg(id)}/rules/${seg(ruleId)}`)
  }
  createNetworkAclRule(id: string, prototype: NetworkAclRulePrototype): Promise<NetworkAclRule> {
    return this.request('POST', `/network_acls/${seg(id)}/rules`, {body: prototype})
  }
  async deleteNetworkAclRule(id: string, ruleId: string): Promise<void> {
    await this.request('DELETE', `/network_acls/${seg(id)}/rules/${seg(ruleId)}`)
  }

  // Floating IPs
  listFloatingIps(query: Query = {}): Promise<FloatingIp[]> {
    return this.list('/floating_ips', 'floating_ips', query)
  }
  getFloatingIp(id: string): Promise<FloatingIp> {
    return this.request('GET', `/floating_ips/${seg(id)}`)
  }

  // Flow log collectors
  /** Filters: `name`, `vpc.id`, `target.id`, `target.resource_type`, `resource_group.id`, … */
  listFlowLogCollectors(query: Query = {}): Promise<FlowLogCollector[]> {
    return this.list('/flow_log_collectors', 'flow_log_collectors', query)
  }
  getFlowLogCollector(id: string): Promise<FlowLogCollector> {
    return this.request('GET', `/flow_log_collectors/${seg(id)}`)
  }
  createFlowLogCollector(prototype: FlowLogCollectorPrototype): Promise<FlowLogCollector> {
    return this.request('POST', '/flow_log_collectors', {body: {active: true, ...prototype}})
  }
  updateFlowLogCollector(id: string, patch: FlowLogCollectorPatch): Promise<FlowLogCollector> {
    return this.request('PATCH', `/flow_log_collectors/${seg(id)}`, {
      body: patch,
      headers: {'Content-Type': 'application/merge-patch+json'},
    })
  }
  async deleteFlowLogCollector(id: string): Promise<void> {
    await this.request('DELETE', `/flow_log_collectors/${seg(id)}`)
  }
}

export interface CreateVpcClientOptions {
  env?: NodeJS.ProcessEnv
  config?: FlowlogConfig
  /** Region (flag); else `FLOWLOG_REGION`/`IBMCLOUD_REGION`, the config file's region, `us-south`. */
  region?: string
  apiKey?: string
  version?: string
  retry?: RetryConfig
}

/** The region: flag > FLOWLOG_REGION > IBMCLOUD_REGION > config > us-south. */
export function resolveRegion(options: {env?: NodeJS.ProcessEnv; config?: FlowlogConfig; region?: string} = {}): string {
  const env = options.env ?? process.env
  return options.region || env.FLOWLOG_REGION || env.IBMCLOUD_REGION || (options.config?.region as string | undefined) || DEFAULT_REGION
}

/** A VPC client from the environment and config: API key, IAM URL, VPC URL or region. */
export function createVpcClient(options: CreateVpcClientOptions = {}): VpcClient {
  const env = options.env ?? process.env
  const authenticator = createAuthenticator({env, config: options.config, apiKey: options.apiKey})
  const serviceUrl = resolveVpcUrl({env, region: resolveRegion({...options, env})})
  return new VpcClient({serviceUrl, authenticator, version: options.version, retry: options.retry, env})
}
