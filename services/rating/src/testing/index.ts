export { serveTestDirectory, type TestDirectory } from './test-directory.js';
export { billableLegKeys, storedLegKeys } from './ledger.js';
