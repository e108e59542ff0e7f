import {existsSync} from 'node:fs'
import {mkdir, readdir, rm, writeFile} from 'node:fs/promises'
import {dirname, join, resolve} from 'node:path'

import type {Home} from '../config/home.js'
import {useIndex, withIndex, writeJsonFile} from '../config/home.js'
import {UsageError} from '../errors.js'
import {FolderSource} from '../sources/folder.js'
import {type PullSummary, pullObjects} from '../sources/pull.js'
import {openStore} from '../store/store.js'
import {type DemoOptions, generateDemo} from './generate.js'
import {DEMO_INSTANCES, DEMO_LAPTOP_IP} from './scenario.js'

export {generateDemo} from './generate.js'

const MARKER = '.flowlog-demo'

export interface DemoResult {
  dir: string
  objects: number
  records: number
  pull: PullSummary
  /** The VPC snapshot matching the scenario, for why-rejected (undefined when unavailable). */
  snapshot?: string
  nextSteps: {command: string; why: string}[]
}

/** Write the demo objects into `dir` (a fresh folder, or one an earlier demo wrote). */
export async function writeDemoFolder(dir: string, options: DemoOptions = {}): Promise<{objects: number; records: number}> {
  const abs = resolve(dir)
  if (existsSync(abs)) {
    const entries = await readdir(abs)
    if (entries.length > 0 && !entries.includes(MARKER)) {
      throw new UsageError(`${abs} is not empty and was not written by flowlog demo`, {
        suggestions: ['Pass --dir with a new or empty folder'],
      })
    }
    await rm(join(abs, 'ibm_vpc_flowlogs_v1'), {recursive: true, force: true})
  }
  await mkdir(abs, {recursive: true})
  await writeFile(join(abs, MARKER), 'written by flowlog demo\n')
  const objects = generateDemo(options)
  let records = 0
  const dirs = new Set<string>()
  for (const o of objects) dirs.add(dirname(join(abs, ...o.key.split('/'))))
  for (const d of dirs) await mkdir(d, {recursive: true})
  await Promise.all(
    objects.map(async (o) => {
      records += o.records
      await writeFile(join(abs, ...o.key.split('/')), o.body)
    }),
  )
  return {objects: objects.length, records}
}

export const DEMO_NEXT_STEPS: {command: string; why: string}[] = [
  {command: `flowlog search 'target_ip:${DEMO_INSTANCES.vsi1.ip} action:rejected'`, why: 'what is rejected on vsi1, the public server'},
  {command: `flowlog search 'target_ip:${DEMO_INSTANCES.vsi1.ip} action:rejected -target_port:67'`, why: "the blog's query, DHCP noise removed"},
  {
    command: `flowlog search 'initiator_ip:${DEMO_INSTANCES.vsi2.ip} -target_port:67 -target_port:123 -target_port:53'`,
    why: 'what vsi2, the private server, talks to besides DHCP, NTP and DNS',
  },
  {command: `flowlog search 'target_ip:${DEMO_INSTANCES.vsi1.ip} target_port:22 initiator_ip:${DEMO_LAPTOP_IP}'`, why: "why SSH from the laptop hangs: it is rejected"},
  {command: `flowlog why-rejected --ip ${DEMO_LAPTOP_IP} --port 22`, why: 'which rule is missing, and the narrowest fix'},
  {command: `flowlog top --by initiator_ip --query 'action:rejected'`, why: 'who is knocking'},
]

export interface RunDemoOptions extends DemoOptions {
  home: Home
  dir?: string
  /** Writes the VPC snapshot for why-rejected; injected so this module does not depend on analysis. */
  writeSnapshot?: (home: Home) => Promise<string | undefined>
  onProgress?: (text: string) => void
}

/** Generate the blog's scenario, load it into the index, and say what to try next. */
export async function runDemo(options: RunDemoOptions): Promise<DemoResult> {
  const dir = resolve(options.dir ?? options.home.demoDir)
  options.onProgress?.(`writing demo flow logs to ${dir}`)
  const written = await writeDemoFolder(dir, options)
  options.onProgress?.(`loading ${written.objects} objects into the index`)
  // The demo has an index of its own, made afresh: it never mixes with pulled data (docs/cli.md, "Indexes").
  const home = withIndex(options.home, 'demo')
  for (const suffix of ['', '.wal']) await rm(home.indexPath + suffix, {force: true})
  const store = await openStore(home)
  let pull: PullSummary
  try {
    pull = await pullObjects(new FolderSource(dir), store, {})
  } finally {
    await store.close()
  }
  await useIndex(home, 'demo')
  const snapshot = options.writeSnapshot ? await options.writeSnapshot(options.home) : undefined
  await writeJsonFile(join(options.home.root, 'demo.json'), {dir, objects: written.objects, records: written.records, at: new Date().toISOString()})
  return {dir, objects: written.objects, records: written.records, pull, snapshot, nextSteps: DEMO_NEXT_STEPS}
}
