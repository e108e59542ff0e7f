/** `flowlog vpc export` (docs/why-rejected.md): read the VPC configuration and save it as a snapshot file (or return it for stdout). */
import type {Home} from '../config/home.js'
import {writeJsonFile} from '../config/home.js'
import {readConfig} from '../config/settings.js'
import {createVpcClient} from '../ibmcloud/vpc.js'
import {exportVpcSnapshot} from './model.js'

export interface VpcExportResult {
  path: string | null
  region_url: string
  counts: Record<string, number>
}

export async function exportVpc(
  home: Home,
  flags: {out: string; vpc?: string; region?: string},
  onReading?: (serviceUrl: string) => void,
): Promise<{result: VpcExportResult; snapshot: Record<string, unknown>}> {
  const config = await readConfig(home)
  const client = createVpcClient({config, region: flags.region})
  onReading?.(client.serviceUrl)
  const snapshot = (await exportVpcSnapshot(client, {vpcId: flags.vpc})) as unknown as Record<string, unknown>
  const counts: Record<string, number> = {}
  for (const [k, v] of Object.entries(snapshot)) if (Array.isArray(v)) counts[k] = v.length
  if (flags.out !== '-') await writeJsonFile(flags.out, snapshot)
  return {result: {path: flags.out === '-' ? null : flags.out, region_url: client.serviceUrl, counts}, snapshot}
}
