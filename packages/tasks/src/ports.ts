import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { sqsClient } from '@svc/platform/queues';
import { traceClient } from '@svc/platform/tracing';
import { bucketConfig, plannerConfig } from './config.js';
import type { ReportDocument } from './schemas.js';

/** Where report documents live (S3 in AWS and locally; memory in unit tests). */
export interface ReportStore {
  /** Stores the serialized document. */
  put(key: string, body: string): Promise<void>;
  get(key: string): Promise<ReportDocument | undefined>;
  /** A URL that GETs the object without credentials for `seconds`. */
  presign(key: string, seconds: number): Promise<string>;
}

/** One message per user and window for the report workers. */
export interface ReportJob {
  userId: string;
  start: string;
  end: string;
}

/** One shard of one window for the planner's shard jobs (same queue, told apart by `kind`). */
export interface ShardJob {
  kind: 'shard';
  schedule: string;
  shard: string;
  start: string;
  end: string;
}

export interface ReportQueue {
  enqueue(jobs: readonly (ReportJob | ShardJob)[]): Promise<void>;
}

let s3: S3Client | undefined;

/** One S3 client per container; path-style only against a local endpoint override. */
export function s3Client(): S3Client {
  if (!s3) {
    const { AWS_ENDPOINT_URL_S3 } = bucketConfig();
    s3 = traceClient(
      new S3Client({ maxAttempts: 3, ...(AWS_ENDPOINT_URL_S3 ? { forcePathStyle: true } : {}) }),
    );
  }
  return s3;
}

export function s3ReportStore(bucket = bucketConfig().REPORTS_BUCKET, client = s3Client()): ReportStore {
  return {
    async put(key, body) {
      await client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: body,
          ContentType: 'application/json; charset=utf-8',
        }),
      );
    },
    async get(key) {
      try {
        const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        const text = await out.Body?.transformToString('utf-8');
        return text ? (JSON.parse(text) as ReportDocument) : undefined;
      } catch (error) {
        if ((error as { name?: string }).name === 'NoSuchKey') return undefined;
        throw error;
      }
    },
    async presign(key, seconds) {
      return getSignedUrl(client, new GetObjectCommand({ Bucket: bucket, Key: key }), { expiresIn: seconds });
    },
  };
}

const BATCH = 10;

/** SQS adapter: SendMessageBatch in tens; entries SQS refused are sent again, then it gives up loudly. */
export function sqsReportQueue(queueUrl = plannerConfig().QUEUE_URL_TASK_REPORTS): ReportQueue {
  return {
    async enqueue(jobs) {
      const batches: (ReportJob | ShardJob)[][] = [];
      for (let i = 0; i < jobs.length; i += BATCH) batches.push(jobs.slice(i, i + BATCH));
      const sendBatch = async (batch: (ReportJob | ShardJob)[]) => {
        let pending = batch.map((job, i) => ({ Id: String(i), MessageBody: JSON.stringify(job) }));
        for (let attempt = 1; pending.length > 0; attempt++) {
          const out = await sqsClient().send(
            new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: pending }),
          );
          const failed = new Set((out.Failed ?? []).map((f) => f.Id));
          pending = pending.filter((e) => failed.has(e.Id));
          if (pending.length > 0 && attempt >= 3) {
            throw new Error(`SQS refused ${pending.length} report messages`);
          }
        }
      };
      // A few batches in flight at once: thousands of users enqueue in seconds without flooding SQS.
      for (let i = 0; i < batches.length; i += 5) await Promise.all(batches.slice(i, i + 5).map(sendBatch));
    },
  };
}
