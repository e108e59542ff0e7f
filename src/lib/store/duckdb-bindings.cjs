// Build-time shim (package.json "bundle-duckdb"): the bundle of @duckdb/node-api loads its native binding through this
// file instead of @duckdb/node-bindings, whose libc check loads child_process and reads files on every start
// (~10 ms of each command that opens the index). On glibc Linux the binding is required directly; anywhere else, or
// when that fails (a musl system has only the -musl package), the package decides as before.
const target = `${process.platform}-${process.arch}`
let binding
if (target === 'linux-x64' || target === 'linux-arm64') {
  try {
    binding = require(`@duckdb/node-bindings-${target}/duckdb.node`)
  } catch {
    binding = undefined
  }
}
// The name is built at run time: written out, the bundler would alias it back to this shim.
const bindingsPackage = ['@duckdb', 'node-bindings'].join('/')
module.exports = binding ?? require(bindingsPackage)
