import {chmod, mkdir, readFile, rename, writeFile} from 'node:fs/promises'
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
  /** The DuckDB index. */
  indexPath: string
  /** Lock file guarding the index against two writers. */
  lockPath: string
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
  return {
    root,
    indexPath: join(root, 'index.duckdb'),
    lockPath: join(root, 'index.lock'),
    configPath,
    statePath: join(root, 'state.json'),
    checkpointsDir: join(root, 'checkpoints'),
    cacheDir: join(root, 'cache'),
    demoDir: join(root, 'demo'),
  }
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
