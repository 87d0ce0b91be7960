// What the benchmark's figures mean, written down once they were read: BENCHMARKS.md quotes these beside
// the numbers, so a reader sees why a function is above its twin without rerunning the investigation.

/** Why a function makes more DynamoDB calls than its twin (the minimum), by function name. */
export const CALL_REASONS: Record<string, string> = {};

/** Paragraphs after the table of misses: where the gaps go, for all functions at once. */
export const GAP_NOTES: string[] = [];
