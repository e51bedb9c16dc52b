// Types for serve.mjs.
export declare function serve(options: {
  root: string;
  /** URL prefix -> directory, served before the root ({ '/bench/': '/tmp/x' }). */
  mounts?: Record<string, string>;
  port?: number;
  host?: string;
}): Promise<{ url: string; close: () => Promise<void> }>;
