import {Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'
import {exportVpc, type VpcExportResult} from '../../lib/analysis/vpc-export.js'

export type {VpcExportResult} from '../../lib/analysis/vpc-export.js'

export default class VpcExport extends BaseCommand {
  static summary = 'Save the VPC configuration (instances, subnets, security groups, network ACLs) as a snapshot file'

  static description = `Reads the instances, subnets, security groups (with rules and targets), network ACLs (with ordered rules), floating IPs and virtual network interfaces from the VPC API and writes them as one JSON object whose keys are the API collection names and whose values are the items exactly as the API returns them. \`flowlog why-rejected --vpc-config FILE\` evaluates against such a file, offline. Needs IBMCLOUD_API_KEY (or the key stored by setup).`

  static examples = [
    {description: 'Save the VPC configuration for why-rejected --vpc-config', command: '<%= config.bin %> vpc export --out vpc.json'},
    {description: 'Another region', command: '<%= config.bin %> vpc export --region us-south --out vpc-us-south.json'},
    {description: 'To stdout', command: '<%= config.bin %> vpc export --out -'},
  ]

  static flags = {
    out: Flags.string({char: 'o', description: 'file to write (`-` for stdout)', required: true, helpValue: 'FILE'}),
    vpc: Flags.string({description: 'only this VPC (id)', helpValue: 'ID'}),
    region: Flags.string({description: 'IBM Cloud region, e.g. us-south (default: FLOWLOG_REGION, the config file, us-south)'}),
  }

  async run(): Promise<VpcExportResult> {
    const {flags} = await this.parse(VpcExport)
    const {result, snapshot} = await exportVpc(this.home, flags, (url) => this.term.startSpinner(`reading the VPC configuration from ${url}`))
    this.term.stopSpinner()
    if (flags.out === '-') {
      if (!this.jsonEnabled()) this.term.out(JSON.stringify(snapshot, null, 2))
    } else this.term.info(`wrote ${flags.out}: ${Object.entries(result.counts).map(([k, n]) => `${n} ${k}`).join(', ')}`)
    return result
  }
}
