/**
 * Applying a fix through the VPC API, with an undo entry in the home (docs/why-rejected.md §5.3), and undoing it.
 */
import {join} from 'node:path'

import {type Home, readJsonFile, writeJsonFile} from '../config/home.js'
import {errorMessage, FlowlogError, PartialFailureError} from '../errors.js'
import {isNotFound} from '../ibmcloud/http.js'
import type {NetworkAclRulePrototype, SecurityGroupRulePrototype, VpcClient} from '../ibmcloud/vpc.js'
import type {FixEntry} from './fix.js'

export interface UndoRule {
  kind: 'sg' | 'acl'
  parent_id: string
  rule_id: string
  name?: string
}

export interface UndoEntry {
  created_at: string
  description: string
  rules: UndoRule[]
}

export interface UndoState {
  entries: UndoEntry[]
}

export function undoPath(home: Pick<Home, 'root'>): string {
  return join(home.root, 'why-rejected-undo.json')
}

export async function readUndoState(home: Pick<Home, 'root'>): Promise<UndoState> {
  const state = await readJsonFile<UndoState>(undoPath(home))
  if (!state || !Array.isArray(state.entries)) return {entries: []}
  return state
}

async function writeUndoState(home: Pick<Home, 'root'>, state: UndoState): Promise<void> {
  await writeJsonFile(undoPath(home), state)
}

export interface ApplyResult {
  created: UndoRule[]
  undo_entry: UndoEntry
  undo_file: string
}

/**
 * Create every rule of the fix, in order (so a `before` anchor exists when needed). The undo entry is written even
 * when a later rule fails, so `--undo` can remove what was created.
 */
export async function applyFix(client: VpcClient, home: Pick<Home, 'root'>, fix: FixEntry[], description: string, now: () => Date = () => new Date()): Promise<ApplyResult> {
  const created: UndoRule[] = []
  const entry: UndoEntry = {created_at: now().toISOString(), description, rules: created}
  let failure: unknown
  for (const f of fix) {
    try {
      if (f.resource === 'security_group') {
        const rule = await client.createSecurityGroupRule(f.id, f.rule as SecurityGroupRulePrototype)
        created.push({kind: 'sg', parent_id: f.id, rule_id: rule.id, name: rule.name ?? (f.rule as SecurityGroupRulePrototype).name})
      } else {
        const rule = await client.createNetworkAclRule(f.id, f.rule as NetworkAclRulePrototype)
        created.push({kind: 'acl', parent_id: f.id, rule_id: rule.id, name: rule.name ?? (f.rule as NetworkAclRulePrototype).name})
      }
    } catch (error) {
      failure = error
      break
    }
  }
  if (created.length) {
    const state = await readUndoState(home)
    state.entries.push(entry)
    await writeUndoState(home, state)
  }
  const result: ApplyResult = {created, undo_entry: entry, undo_file: undoPath(home)}
  if (failure !== undefined) {
    if (created.length === 0) throw failure
    throw new PartialFailureError(`created ${created.length} of ${fix.length} rules, then: ${errorMessage(failure)}`, result, {
      suggestions: ['Run `flowlog why-rejected --undo` to remove the rules that were created'],
    })
  }
  return result
}

export interface UndoResult {
  entry: UndoEntry | null
  removed: UndoRule[]
  already_gone: UndoRule[]
  remaining_entries: number
}

/** Delete exactly the rules of the latest undo entry (404 = already gone), then drop the entry. */
export async function undoLast(client: VpcClient, home: Pick<Home, 'root'>): Promise<UndoResult> {
  const state = await readUndoState(home)
  const entry = state.entries.at(-1)
  if (!entry) return {entry: null, removed: [], already_gone: [], remaining_entries: 0}
  const removed: UndoRule[] = []
  const gone: UndoRule[] = []
  // Reverse order: a rule created later may be anchored before an earlier one.
  for (const r of [...entry.rules].reverse()) {
    try {
      if (r.kind === 'sg') await client.deleteSecurityGroupRule(r.parent_id, r.rule_id)
      else await client.deleteNetworkAclRule(r.parent_id, r.rule_id)
      removed.push(r)
    } catch (error) {
      if (isNotFound(error)) gone.push(r)
      else {
        // Keep the entry, minus what was removed, so the undo can be retried.
        entry.rules = entry.rules.filter((x) => !removed.includes(x))
        await writeUndoState(home, state)
        if (error instanceof FlowlogError) throw error
        throw error
      }
    }
  }
  state.entries.pop()
  await writeUndoState(home, state)
  return {entry, removed, already_gone: gone, remaining_entries: state.entries.length}
}
