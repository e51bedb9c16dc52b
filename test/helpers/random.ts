export { mulberry32, gaussian } from '../../src/random.js';
