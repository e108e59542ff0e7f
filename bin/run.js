#!/usr/bin/env node
import {execute} from '@oclif/core'

// `flowlog search … | head`: a closed pipe ends the output quietly, like other Unix tools.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(0)
  throw error
})

await execute({dir: import.meta.url})
