/**
 * The IBM blog's scenario ("How to use Flow Logs for VPC to monitor network traffic and troubleshoot connectivity
 * using Log Analysis"), as ids and addresses shared by the demo's flow logs and its VPC snapshot.
 */
export const DEMO_ACCOUNT = '713c783d9a507a53135fe6793c37cc74'
export const DEMO_REGION = 'us-south'

const crn = (location: string, type: string, id: string) => `crn:v1:bluemix:public:is:${location}:a/${DEMO_ACCOUNT}::${type}:${id}`

export const DEMO_VPC = {
  id: 'r006-f6045065-8a82-44fc-ae1e-4817f499c9c6',
  name: 'flowlogs-vpc',
  crn: crn('us-south', 'vpc', 'r006-f6045065-8a82-44fc-ae1e-4817f499c9c6'),
}

export const DEMO_COLLECTOR_CRN = crn('us-south', 'flow-log-collector', 'r006-789fce8c-4f9d-4c6f-9bfe-1c1a6d3f3a10')

export const DEMO_ACL = {id: 'r006-3a5c9e1b-7c1d-4f0e-9a4b-2d6e8f0a1b2c', name: 'flowlogs-acl'}

export const DEMO_SUBNETS = {
  subnet1: {
    id: '0717-b3eda4c5-63a5-430e-a2e0-26f22e0d1fdb',
    name: 'flowlogs-subnet1',
    zone: 'us-south-1',
    cidr: '10.240.0.0/24',
    crn: crn('us-south-1', 'subnet', '0717-b3eda4c5-63a5-430e-a2e0-26f22e0d1fdb'),
  },
  subnet2: {
    id: '0727-dd02b849-a804-4b5b-8456-7df33e311686',
    name: 'flowlogs-subnet2',
    zone: 'us-south-2',
    cidr: '10.240.64.0/24',
    crn: crn('us-south-2', 'subnet', '0727-dd02b849-a804-4b5b-8456-7df33e311686'),
  },
} as const

export const DEMO_SECURITY_GROUPS = {
  /** vsi1's group: inbound TCP 3000 from anywhere only (the blog's app port), all outbound. */
  vsi1: {id: 'r006-1d9b1c52-0e2a-4e07-8f47-0f2a5c3b9e11', name: 'flowlogs-sg-vsi1'},
  /** vsi2's group: inbound TCP 3000 from vsi1's group, all outbound. */
  vsi2: {id: 'r006-6b7e4f1a-2c8d-4e5f-9a0b-3c4d5e6f7a22', name: 'flowlogs-sg-vsi2'},
  /** Both: outbound DNS, NTP, HTTP and HTTPS to IBM services and mirrors (161.26.0.0/16). */
  install: {id: 'r006-9c0d1e2f-3a4b-4c5d-8e6f-7a8b9c0d1e33', name: 'flowlogs-sg-install-software'},
} as const

export const DEMO_INSTANCES = {
  vsi1: {
    id: '0717_2c984e95-b391-4a09-8e92-80feada442a3',
    name: 'flowlogs-vsi1',
    crn: crn('us-south-1', 'instance', '0717_2c984e95-b391-4a09-8e92-80feada442a3'),
    vnic: '0717-83c09614-8ba2-4911-bada-66cb04f004f5',
    vnicName: 'eth0',
    ip: '10.240.0.4',
    subnet: 'subnet1',
    floatingIp: '169.48.96.10',
    floatingIpId: 'r006-5e1f0a9b-8c7d-4e6f-a5b4-c3d2e1f0a944',
    securityGroups: ['vsi1', 'install'],
  },
  vsi2: {
    id: '0727_8a0f4f09-7b4a-4399-b7af-e96225f6ad4a',
    name: 'flowlogs-vsi2',
    crn: crn('us-south-2', 'instance', '0727_8a0f4f09-7b4a-4399-b7af-e96225f6ad4a'),
    vnic: '0727-c9ce1904-48ef-4c94-b41f-51c48ccfbee4',
    vnicName: 'eth0',
    ip: '10.240.64.4',
    subnet: 'subnet2',
    floatingIp: undefined,
    floatingIpId: undefined,
    securityGroups: ['vsi2', 'install'],
  },
} as const

/** The laptop of the blog: SSH (22) rejected, the app (3000) accepted. */
export const DEMO_LAPTOP_IP = '24.22.68.94'
/** Internet scanners, rejected on many ports. 92.63.197.61 is the blog's. */
export const DEMO_SCANNERS = ['92.63.197.61', '45.146.164.110', '89.248.165.52', '193.163.125.174', '162.142.125.221']
/** IBM service and mirror addresses vsi2 talks to. */
export const DEMO_IBM_DNS = ['161.26.0.10', '161.26.0.11']
export const DEMO_IBM_NTP = '161.26.0.6'
export const DEMO_IBM_MIRROR = '161.26.0.6'
export const DEMO_APP_PORT = 3000
