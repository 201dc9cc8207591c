// Starts a TypeScript worker entry when sabcache runs from source (npm start, npm test):
// Node 20 workers do not inherit tsx's loader hooks, so register them here, then import
// the entry named in argv. Built JavaScript entries never go through this file.
import { register } from 'tsx/esm/api';

register();
await import(process.argv[2]);
