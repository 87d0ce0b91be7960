import { startFauxqs } from 'fauxqs';

export interface RunningS3 {
  /** Path-style endpoint for `AWS_ENDPOINT_URL_S3` (clients set `forcePathStyle`). */
  endpoint: string;
  stop(): Promise<void>;
}

/**
 * An S3-compatible server in this process (fauxqs: in-memory, speaks SigV4 and the SDK v3 default
 * checksums), on a free loopback port: fauxqs 2.4.1 always listened on all interfaces, so
 * packages/local/patches/fauxqs@2.4.1.patch binds it to 127.0.0.1 (runtime.test.ts checks every local
 * server). Only its S3 API is used; SQS stays on the local SQS server.
 * Buckets are created by the caller (CreateBucket) or listed in `buckets`.
 */
export async function startLocalS3(options: { port?: number; buckets?: string[] } = {}): Promise<RunningS3> {
  const server = await startFauxqs({ port: options.port ?? 0, logger: false });
  for (const bucket of options.buckets ?? []) server.createBucket(bucket);
  return {
    endpoint: `http://127.0.0.1:${server.port}`,
    stop: () => server.stop(),
  };
}
