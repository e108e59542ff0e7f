import {Flags} from '@oclif/core'

/** Flags of every command that prints tables or times for people (search, top, stats, setup, teardown). */
export const tableFlags = {
  wide: Flags.boolean({description: 'every column at full width, even wider than the terminal'}),
}

export const timeFlags = {
  utc: Flags.boolean({description: 'times in UTC (the default)', exclusive: ['local']}),
  local: Flags.boolean({description: 'times in local time, with their offset', exclusive: ['utc']}),
}
