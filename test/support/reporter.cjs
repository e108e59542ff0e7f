// The spec reporter, plus the plain closing line CI reads: "tests: N passed, N failed, N skipped".
const Mocha = require('mocha')
const {Spec} = Mocha.reporters
const {EVENT_RUN_END} = Mocha.Runner.constants

class FlowlogReporter extends Spec {
  constructor(runner, options) {
    super(runner, options)
    runner.once(EVENT_RUN_END, () => {
      const s = this.stats
      process.stdout.write(`tests: ${s.passes} passed, ${s.failures} failed, ${s.pending} skipped\n`)
    })
  }
}
module.exports = FlowlogReporter
