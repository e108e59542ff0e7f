import type {TimeWindow} from '../records/time.js'

/** One object a source can hand over. */
export interface SourceObject {
  /** The raw key (relative path for folders), exactly as stored. */
  key: string
  /** ETag from COS (quotes stripped); undefined for folders. */
  etag?: string
  size?: number
  /** Last modified, epoch ms. */
  mtime?: number
}

/** Progress callbacks a source may call while listing or reading. */
export interface SourceProgress {
  onListRequest?(prefix: string): void
}

/**
 * Where flow-log objects come from: a folder laid out like a bucket, or `cos://BUCKET[/PREFIX]`.
 * Both prune by the key's hour directory when a window is given, and skip foreign keys (not under ibm_vpc_flowlogs_).
 */
export interface Source {
  /** `dir:/abs/path` or `cos://bucket/prefix`: the identity stored with each loaded object. */
  readonly id: string
  /**
   * Where keys are unique, which qualifies a key in the index (default: id): a folder's root, a bucket (a prefix only
   * filters it). Two folders holding the same relative key are two objects; one bucket under two prefixes is one.
   */
  readonly keySpace?: string
  /** Human description for messages. */
  readonly description: string
  /** List flow-log objects (foreign keys skipped and counted in `skippedForeign`). */
  list(window: TimeWindow, progress?: SourceProgress): AsyncIterable<SourceObject>
  /** The object's bytes exactly as stored (gzip or, for clients that decompress, JSON). */
  read(object: SourceObject, signal?: AbortSignal): Promise<Uint8Array>
  /** For a local source: the file that holds the object, so a parse worker can read it itself. */
  localPath?(object: SourceObject): string
  /** Counters filled while listing. */
  readonly stats: SourceStats
  close?(): Promise<void>
}

export interface SourceStats {
  listRequests: number
  listed: number
  skippedForeign: number
  prunedByTime: number
  /** Entries of a folder source left out, by path relative to it, with why (a symlink loop, a broken link). */
  skipped?: {path: string; reason: string}[]
}
