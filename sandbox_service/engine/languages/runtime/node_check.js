'use strict';
// The Node.js "compile" step: parse each file as a script without running it. On the first
// syntax error, print {"file", "line", "type", "message"} as JSON and exit 1.
const fs = require('fs');
const vm = require('vm');

for (const file of process.argv.slice(2)) {
  try {
    new vm.Script(fs.readFileSync(file, 'utf8'), { filename: file });
  } catch (error) {
    const where = /^(.*):(\d+)$/m.exec(String(error.stack).split('\n')[0]) || [null, file, '0'];
    const type = (error && error.name) || 'SyntaxError';
    process.stdout.write(JSON.stringify({ file: where[1], line: Number(where[2]), type, message: String(error.message) }) + '\n');
    process.exit(1);
  }
}
