import {join} from 'node:path'

import {type Home, readJsonFile, writeJsonFile} from '../../config/home.js'
import type {ExploreHistory} from './controller.js'
import {remember} from './line.js'

export const HISTORY_MAX = 50

export function historyFile(home: Pick<Home, 'root'>): string {
  return join(home.root, 'explore-history.json')
}

/** Query history in `<home>/explore-history.json`, newest first, without duplicates. */
export function fileHistory(path: string, max = HISTORY_MAX): ExploreHistory {
  const load = async () => {
    try {
      const v = await readJsonFile<unknown>(path)
      return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []
    } catch {
      return []
    }
  }
  return {
    load,
    async add(query) {
      await writeJsonFile(path, remember(await load(), query, max))
    },
  }
}
