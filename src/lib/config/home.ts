import {existsSync, readFileSync} from 'node:fs'
import {chmod, mkdir, readFile, rename, rm, writeFile} from 'node:fs/promises'
import {homedir} from 'node:os'
import {dirname, join} from 'node:path'

import {ConfigError} from '../errors.js'

/**
 * The one place flowlog keeps everything: the index, caches, checkpoints, state and config.
 * `$FLOWLOG_HOME` when set; otherwise the data directory oclif gives (passed in by the command as `dataDir`),
 * falling back to XDG conventions.
 */
export interface HomeOptions {
  env?: NodeJS.ProcessEnv
  /** oclif's `this.config.dataDir`, when running inside a command. */
  dataDir?: string
  /** oclif's `this.config.configDir`, when running inside a command. */
  configDir?: string
}

export interface Home {
  root: string
  /** The DuckDB index in use: your own, or the demo's after `flowlog demo` (until the next pull). */
  indexPath: string
  /** Lock file guarding the index in use against two writers. */
  lockPath: string
  /** Which index is in use. */
  index: IndexName
  /** Settings (may hold secrets: 0600). */
  configPath: string
  /** Resumable setup state (ids of created resources). */
  statePath: string
  /** Forward ledger and checkpoints. */
  checkpointsDir: string
  /** Downloaded objects, COS prefix cache, etc. */
  cacheDir: string
  /** Default folder for `flowlog demo`. */
  demoDir: string
}

/** Your own index (what pull loads) or the demo's (what `flowlog demo` writes): docs/cli.md, "Indexes". */
export type IndexName = 'own' | 'demo'

/** The file that says the demo's index is in use (written by `flowlog demo`, removed by pull and index reset). */
export const indexInUsePath = (root: string): string => join(root, 'index-in-use')

/** The same home with `name`'s index in use (its path and its lock). */
export function withIndex(home: Home, name: IndexName): Home {
  return name === 'demo'
    ? {...home, index: 'demo', indexPath: join(home.root, 'demo.duckdb'), lockPath: join(home.root, 'demo.lock')}
    : {...home, index: 'own', indexPath: join(home.root, 'index.duckdb'), lockPath: join(home.root, 'index.lock')}
}

function indexInUse(root: string): IndexName {
  const path = indexInUsePath(root)
  if (!existsSync(path)) return 'own'
  try {
    return readFileSync(path, 'utf8').trim() === 'demo' ? 'demo' : 'own'
  } catch {
    return 'own'
  }
}

/** Make `name`'s index the one commands read; returns the home with it in use. */
export async function useIndex(home: Home, name: IndexName): Promise<Home> {
  if (name === 'demo') await writeFileAtomic(indexInUsePath(home.root), 'demo\n')
  else await rm(indexInUsePath(home.root), {force: true})
  return withIndex(home, name)
}

export function resolveHome(options: HomeOptions = {}): Home {
  const env = options.env ?? process.env
  let root: string
  let configPath: string
  if (env.FLOWLOG_HOME && env.FLOWLOG_HOME.trim() !== '') {
    root = env.FLOWLOG_HOME
    configPath = join(root, 'config.json')
  } else {
    root = options.dataDir ?? join(env.XDG_DATA_HOME || join(homedir(), '.local', 'share'), 'flowlog')
    const configDir = options.configDir ?? join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'flowlog')
    configPath = join(configDir, 'config.json')
  }
  const home: Home = {
    root,
    indexPath: join(root, 'index.duckdb'),
    lockPath: join(root, 'index.lock'),
    index: 'own',
    configPath,
    statePath: join(root, 'state.json'),
    checkpointsDir: join(root, 'checkpoints'),
    cacheDir: join(root, 'cache'),
    demoDir: join(root, 'demo'),
  }
  return withIndex(home, indexInUse(root))
}

export async function ensureDir(path: string): Promise<void> {
  await mkdir(path, {recursive: true})
}

/** Write a file atomically (temp + rename). `secret` files are created 0600. */
export async function writeFileAtomic(path: string, data: string | Uint8Array, secret = false): Promise<void> {
  await ensureDir(dirname(path))
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`
  await writeFile(tmp, data, {mode: secret ? 0o600 : 0o644})
  if (secret) await chmod(tmp, 0o600)
  await rename(tmp, path)
}

export async function readJsonFile<T>(path: string): Promise<T | undefined> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
  try {
    return JSON.parse(text) as T
  } catch (error) {
    throw new ConfigError(`${path} is not valid JSON: ${(error as Error).message}`, {
      suggestions: [`Fix or remove ${path}`],
    })
  }
}

export async function writeJsonFile(path: string, value: unknown, secret = false): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n', secret)
}
