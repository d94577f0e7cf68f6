'use strict';
// Runs one assert or call test of a Node.js program. The job arrives on stdin as JSON:
// {"kind": "assert", "solution": FILE, "test": FILE} or
// {"kind": "call", "solution": FILE, "function": NAME, "args_json": JSON}.
// The candidate and the test run as scripts in one global scope (vm.runInThisContext), so
// the test sees the candidate's top-level functions, classes and constants by name.
const fs = require('fs');
const vm = require('vm');
const support = require('./node_support.js');

support.install();
const job = JSON.parse(fs.readFileSync(0, 'utf8'));
globalThis.require = require;
globalThis.module = { exports: {} };
globalThis.exports = globalThis.module.exports;
globalThis.assert = require('assert');

function resolve(name) {
  const [head, member] = name.split('.');
  let target;
  try {
    target = vm.runInThisContext(head);
  } catch (error) {
    if (!(error instanceof ReferenceError) || !(head in globalThis.module.exports)) throw error;
    target = globalThis.module.exports[head];
  }
  if (member === undefined) return target;
  const isClass = typeof target === 'function' && /^class\b/.test(Function.prototype.toString.call(target));
  const owner = isClass ? new target() : target;
  return owner[member].bind(owner);
}

async function main() {
  vm.runInThisContext(fs.readFileSync(job.solution, 'utf8'), { filename: job.solution });
  if (job.kind === 'assert') {
    vm.runInThisContext(fs.readFileSync(job.test, 'utf8'), { filename: job.test });
    support.report({ outcome: 'ok' });
    process.exit(0);
  }
  let value = resolve(job.function)(...JSON.parse(job.args_json));
  if (value !== null && typeof value === 'object' && typeof value.then === 'function') {
    value = await value;
  }
  let record;
  try {
    record = { outcome: 'ok', value_json: JSON.stringify(value === undefined ? null : value) };
  } catch (error) {
    record = { outcome: 'ok', unserialisable: String(error && error.message) };
  }
  support.report(record);
  process.exit(0);
}

main().catch(support.fail);
