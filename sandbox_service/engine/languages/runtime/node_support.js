'use strict';
// Shared by the Node.js runner files: how an error or a result is reported on fd 3, the
// sandbox's result pipe, as one JSON line. Frames of Node's own code and of these files are
// left out; the trusted side maps the candidate's frames to its lines.
const fs = require('fs');
const path = require('path');

const FRAME = /^\s*at (?:(.*?) \()?(.+?):(\d+):(\d+)\)?$/;
const OWN = new Set(['node_support.js', 'node_fault.js', 'node_driver.js']);

function frames(error) {
  const stack = error && typeof error.stack === 'string' ? error.stack : '';
  const out = [];
  for (const line of stack.split('\n')) {
    const found = FRAME.exec(line);
    if (!found || found[2].startsWith('node:') || OWN.has(path.basename(found[2]))) continue;
    out.push([found[2], Number(found[3]), found[1] || '']);
  }
  return out;
}

function typeName(error) {
  if (error === null || typeof error !== 'object') return typeof error;
  return (error.constructor && error.constructor.name) || error.name || 'Error';
}

function report(record) {
  fs.writeSync(3, JSON.stringify(record) + '\n');
}

function fail(error) {
  let message;
  try {
    message = error instanceof Error ? String(error.message) : String(error);
  } catch (unprintable) {
    message = '<unprintable>';
  }
  try {
    process.stderr.write(`${error instanceof Error ? error.stack : 'Uncaught ' + message}\n`);
  } catch (ignored) {
    // stderr closed by the program: the record below still carries the error
  }
  report({ outcome: 'exception', type: typeName(error), message, frames: frames(error) });
  process.exit(1);
}

function install() {
  process.on('uncaughtException', fail);
  process.on('unhandledRejection', fail);
}

module.exports = { fail, install, report };
