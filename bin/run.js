#!/usr/bin/env node
// `flowlog search … | head`: a closed pipe ends the output quietly, like other Unix tools.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(0)
  throw error
})

// Start-up is part of every command: oclif's check of its own Node engine range loads semver (~50 files) on every
// run; npm already holds flowlog to its engines. (Set before oclif loads, hence the dynamic import.)
process.env.OCLIF_DISABLE_ENGINE_WARNING ??= '1'
const {execute} = await import('@oclif/core')
await execute({dir: import.meta.url})
