/**
 * The single table every service shares. The CDK platform construct and the local runtime both
 * create it from this definition, and ElectroDB entities map their indexes onto these attributes.
 */
export const TABLE = {
  partitionKey: 'pk',
  sortKey: 'sk',
  /** Epoch seconds; DynamoDB deletes expired items (idempotency keys, claims, caches). */
  ttlAttribute: 'expiresAt',
  globalIndexes: [
    { indexName: 'gsi1', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
    { indexName: 'gsi2', partitionKey: 'gsi2pk', sortKey: 'gsi2sk' },
    { indexName: 'gsi3', partitionKey: 'gsi3pk', sortKey: 'gsi3sk' },
  ],
} as const;

export type GlobalIndexName = (typeof TABLE.globalIndexes)[number]['indexName'];

/**
 * Partition-key prefixes: every item's `pk` (and every index's partition key) starts with one of these, so
 * IAM can confine a function to its own items (`dynamodb:LeadingKeys`). ElectroDB writes `$<service>#…`
 * for every entity of a service (model.service), in the table and in each index.
 */
export const serviceKeyPrefix = (service: string) => `$${service}#`;

/** Idempotency records (`$idem#<FunctionName>#<caller>#<key>`), so each route reaches only its own. */
export const IDEMPOTENCY_KEY_PREFIX = '$idem#';
export const idempotencyKeyPrefix = (functionName: string) => `${IDEMPOTENCY_KEY_PREFIX}${functionName}#`;
