// TasksGenerateReport, the minimal way, with the real idempotency: the report's id is derived from
// (user, window); a stored one is done after one strongly consistent GetItem (the path the benchmark
// repeats). Otherwise the report is built (two Queries), leased with a conditional Put, written to S3 and
// marked stored with a conditional Update on the lease.
import { createHash, randomUUID } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { doc, TABLE } from './shared.js';
import { BUCKET, buildReport, EXTERNAL_ID, instant, keys, marks, s3Client } from './tasks-shared.js';

interface SqsRecord {
  messageId: string;
  body: string;
}

/** reports.ts `reportIdFor`: a name-based UUID (v8) of (user, window). */
function reportIdFor(userId: string, start: string, end: string): string {
  const bytes = createHash('sha256')
    .update(JSON.stringify(['tasks-report-v1', userId, start, end]))
    .digest()
    .subarray(0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x80;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function parseJob(body: string): { userId: string; start: string; end: string } | undefined {
  try {
    const job = JSON.parse(body) as { userId?: unknown; start?: unknown; end?: unknown };
    const start = instant(job.start);
    const end = instant(job.end);
    if (typeof job.userId !== 'string' || !EXTERNAL_ID.test(job.userId) || !start || !end) return undefined;
    return { userId: job.userId, start, end };
  } catch {
    return undefined;
  }
}

const isConditionFailure = (error: unknown) =>
  (error as { name?: string }).name === 'ConditionalCheckFailedException';

async function generate(record: SqsRecord): Promise<void> {
  const job = parseJob(record.body);
  if (!job) return; // can never succeed: dropped, as the real one does
  const { userId, start, end } = job;
  const reportId = reportIdFor(userId, start, end);
  const key = keys.report(reportId);
  const { Item: existing } = await doc.send(
    new GetCommand({ TableName: TABLE, Key: key, ConsistentRead: true }),
  );
  if (existing?.status === 'stored') return;

  const document = await buildReport(userId, start, end);
  const size =
    document.newIncompleteTasks.length + document.completedTasks.length + document.oldIncompleteTasks.length;
  if (size === 0 && !existing) return;

  const leaseId = randomUUID();
  const objectKey = `task_report_${userId}_${start}_${end}.json`;
  const sortKey = `$report_1#periodEnd_${end}#reportId_${reportId}`;
  try {
    await doc.send(
      new PutCommand({
        TableName: TABLE,
        Item: {
          reportId,
          userId,
          periodStart: start,
          periodEnd: end,
          status: 'pending',
          leaseId,
          leaseUntil: Date.now() + 60_000,
          objectKey,
          everyone: 'all',
          ...key,
          gsi1pk: `$tasks#userId_${userId}`,
          gsi1sk: sortKey,
          gsi2pk: '$tasks#everyone_all',
          gsi2sk: sortKey,
          ...marks('report'),
        },
        ConditionExpression: 'attribute_not_exists(#reportId) OR (#status = :pending AND #leaseUntil < :now)',
        ExpressionAttributeNames: {
          '#reportId': 'reportId',
          '#status': 'status',
          '#leaseUntil': 'leaseUntil',
        },
        ExpressionAttributeValues: { ':pending': 'pending', ':now': Date.now() },
      }),
    );
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    const { Item: other } = await doc.send(
      new GetCommand({ TableName: TABLE, Key: key, ConsistentRead: true }),
    );
    if (other?.status === 'stored') return;
    throw new Error('Another worker holds this report');
  }

  await s3Client().send(
    new PutObjectCommand({
      Bucket: BUCKET,
      Key: objectKey,
      Body: JSON.stringify(document),
      ContentType: 'application/json; charset=utf-8',
    }),
  );
  await doc.send(
    new UpdateCommand({
      TableName: TABLE,
      Key: key,
      UpdateExpression:
        'SET #status = :stored, #storedAt = :at, #newIncomplete = :n, #completed = :c, #oldIncomplete = :o, #reportId = :id, #e = :e, #v = :v REMOVE #leaseId, #leaseUntil',
      ConditionExpression: 'attribute_exists(#pk) AND attribute_exists(#sk) AND #leaseId = :lease',
      ExpressionAttributeNames: {
        '#pk': 'pk',
        '#sk': 'sk',
        '#status': 'status',
        '#storedAt': 'storedAt',
        '#newIncomplete': 'newIncomplete',
        '#completed': 'completed',
        '#oldIncomplete': 'oldIncomplete',
        '#reportId': 'reportId',
        '#leaseId': 'leaseId',
        '#leaseUntil': 'leaseUntil',
        '#e': '__edb_e__',
        '#v': '__edb_v__',
      },
      ExpressionAttributeValues: {
        ':stored': 'stored',
        ':at': new Date().toISOString(),
        ':n': document.newIncompleteTasks.length,
        ':c': document.completedTasks.length,
        ':o': document.oldIncompleteTasks.length,
        ':id': reportId,
        ':e': 'report',
        ':v': '1',
        ':lease': leaseId,
      },
    }),
  );
}

/** Partial batch response: a failed record comes back after the visibility timeout, then the DLQ. */
export const handler = async (event: { Records?: SqsRecord[] }) => {
  const records = event.Records ?? [];
  const outcomes = await Promise.allSettled(records.map(generate));
  return {
    batchItemFailures: records
      .filter((_, i) => outcomes[i]?.status === 'rejected')
      .map((r) => ({ itemIdentifier: r.messageId })),
  };
};
