export { marketStream, valueStream, T0, SECOND } from '../../src/synthetic.js';
