/**
 * What must be stopped when the user interrupts (Ctrl-C, SIGTERM, `timeout`): running DuckDB queries register a hook
 * (connection.interrupt()) and the command's signal handler runs them before it exits, so a long search ends at once
 * instead of after its query (docs/query-language.md, "Bounds").
 */
const hooks = new Set<() => void>()

/** Register a hook; returns its removal. */
export function onInterrupt(hook: () => void): () => void {
  hooks.add(hook)
  return () => hooks.delete(hook)
}

/** Run every hook (their errors are ignored: the process is going away). */
export function runInterruptHooks(): void {
  for (const hook of hooks) {
    try {
      hook()
    } catch {
      // nothing to do
    }
  }
}
