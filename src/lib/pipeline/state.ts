/**
 * The resumable setup state (home.statePath, 0600): per deployment (account / region / basename) the answers and the
 * ids of every resource setup created or adopted, saved as soon as they are known. A create is announced first
 * (`pending: true`), so a re-run that finds the resource by name after a lost response knows it is ours and teardown
 * removes it. Secrets never go here (they live in the config file).
 */
import type {Home} from '../config/home.js'
import {readJsonFile, writeJsonFile} from '../config/home.js'
import {ConfigError} from '../errors.js'
import type {SinkKind, TriggerKind} from './answers.js'

export interface ResourceRecord {
  id?: string
  name?: string
  crn?: string
  /** Setup created it (teardown removes only these). */
  created?: boolean
  /** A create was sent and its answer not (yet) seen. */
  pending?: boolean
  [k: string]: unknown
}

export interface SavedAnswers {
  resourceGroup: string
  vpc?: string
  target: string
  bucket: string
  sink: SinkKind
  trigger: TriggerKind
  image?: string
  sourceRepo?: string
  registryNamespace?: string
}

export interface Deployment {
  key: string
  accountId: string
  region: string
  basename: string
  answers: SavedAnswers
  resources: Record<string, ResourceRecord>
  createdAt: string
  updatedAt: string
}

export interface StateFile {
  version: 1
  deployments: Record<string, Deployment>
}

export function deploymentKey(accountId: string, region: string, basename: string): string {
  return `${accountId}/${region}/${basename}`
}

/** Reads and writes the state file. In dry-run mode nothing is ever written. */
export class StateStore {
  private data: StateFile = {version: 1, deployments: {}}

  constructor(
    private readonly home: Home,
    private readonly dryRun = false,
  ) {}

  async load(): Promise<StateFile> {
    const raw = await readJsonFile<StateFile>(this.home.statePath)
    if (raw === undefined) return this.data
    if (typeof raw !== 'object' || raw === null || typeof raw.deployments !== 'object' || raw.deployments === null) {
      throw new ConfigError(`${this.home.statePath} is not a flowlog state file`, {suggestions: [`Move ${this.home.statePath} aside and run setup again`]})
    }
    this.data = {version: 1, deployments: raw.deployments}
    return this.data
  }

  get deployments(): Deployment[] {
    return Object.values(this.data.deployments)
  }

  get(key: string): Deployment | undefined {
    return this.data.deployments[key]
  }

  async save(dep: Deployment): Promise<void> {
    dep.updatedAt = new Date().toISOString()
    this.data.deployments[dep.key] = dep
    if (!this.dryRun) await writeJsonFile(this.home.statePath, this.data, true)
  }

  async remove(key: string): Promise<void> {
    delete this.data.deployments[key]
    if (!this.dryRun) await writeJsonFile(this.home.statePath, this.data, true)
  }
}
