'use strict';
// Preloaded (`node -r`) before a stdio program: uncaught errors, also asynchronous ones, are
// reported on the result pipe. The program itself runs as `node solution.js` would run it.
require('./node_support.js').install();
