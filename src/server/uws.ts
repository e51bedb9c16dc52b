// The one place that names the WebSocket server library. package.json maps `uWebSockets.js` to a build of it that
// is published on the npm registry and runs on this machine's glibc; to use another build, change that mapping
// (or this import) and nothing else.
import uWS from 'uWebSockets.js';

export default uWS;
export type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket, WebSocket } from 'uWebSockets.js';
