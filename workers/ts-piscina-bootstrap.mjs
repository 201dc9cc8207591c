// A piscina task module for sabcache running from source (npm start, npm test): Node 20
// workers do not inherit tsx's loader hooks, so register them here, then re-export the
// TypeScript task named in piscina's workerData.entry. Built JavaScript task modules are
// given to piscina directly and never go through this file.
import { register } from 'tsx/esm/api';
import Piscina from 'piscina';

register();
const task = await import(Piscina.workerData.entry);
export default task.default;
