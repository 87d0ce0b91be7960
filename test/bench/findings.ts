// What the benchmark's figures mean, written down once they were read: BENCHMARKS.md quotes these beside
// the numbers, so a reader sees why a function is above its twin without rerunning the investigation.

/**
 * Why a function makes more DynamoDB calls than its twin (the minimum), by function name. Empty since every
 * gap the twins showed was closed (see GAP_NOTES); a new one shows up in BENCHMARKS.md without a reason.
 */
export const CALL_REASONS: Record<string, string> = {};

/** Paragraphs after the table of misses: where the gaps go, for all functions at once. */
export const GAP_NOTES: string[] = [
  '**Calls.** No function makes more DynamoDB calls than its twin. Where the twins showed that one could, the ' +
    'product was changed: the visits routes that act on one visit (get, cancel, complete, record) read the ' +
    "caller's account and the visit in one BatchGetItem instead of an account GetItem first (2 → 1, 3 → 2, " +
    '5 → 3), GET /api/user answers from the account its authenticator just read (2 → 1), deleting an account ' +
    'that holds no reservation is one transaction (4 → 2), a completion reads both balances in one BatchGetItem, ' +
    'a repeated delivery callback is answered from its first read (3 → 1), and a refused send claim reads the old ' +
    'item from the condition failure (ReturnValuesOnConditionCheckFailure, 2 → 1).',
  '',
  '**Warm.** Our code costs 0.3–1.5 ms of CPU per call over the bare SDK on most routes (the CPU columns of ' +
    'section 2), more where ElectroDB builds a transaction or formats a page of items (the visits transfers and ' +
    "lists, the planner). The 10 % target is tighter than that wherever the twin's own call takes under 5–10 ms, " +
    'which against DynamoDB Local on loopback is most of them (a consistent GetItem answers in about 1.5 ms here). ' +
    'A V8 profile of StatsGetSession timed in turn with its twin for 1,500 rounds (`BENCH_PROFILE_DIR=/tmp/prof ' +
    'BENCH_COUNT=1500 BENCH_WARM_MS=100000 pnpm bench --no-synth --only StatsGetSession`: 1.79 against 1.51 ms) ' +
    'puts about 0.13 ms of each call in ElectroDB (building the request, validating and formatting the response, ' +
    'and 0.035 ms for the stack trace it captures on every `go()`) and about 0.1 ms in the HTTP stack (middy, ' +
    'valibot, the access log line through Powertools Logger, the error envelope); everything else, the SDK, ' +
    'signing, HTTP and JSON, is the same work in both. The stack-only rows above, timed in turn with the others, ' +
    'put the whole HTTP stack at 0.3 ms for stats and 0.9 ms for POST /messages (which also normalises the number ' +
    "and counts segments); the visits one includes its authenticator's account read. Where a wall-clock gap is " +
    'larger than its CPU gap, the rest is noise in DynamoDB Local, a Java process on the same 2 cores. Against ' +
    'DynamoDB itself, which answers in single-digit milliseconds over the network, the same fixed cost is a smaller ' +
    'share of each call. ElectroDB, middy and valibot are fixed by the design card, so this is where the gap is left.',
  '',
  '**Cold.** Cold start is dominated by code size, and the twins are now bundled exactly like the functions ' +
    '(identifiers and line breaks kept), so section 1 compares like with like: the real bundles are about twice ' +
    'the twins, and importing them costs the difference (the import columns of section 3). A V8 profile of the ' +
    'import (VisitsGetUser) puts most of it in reading, decoding and compiling the file, not in running any one ' +
    "package's top level; by package (each cold miss above, priced by the group table) the extra size is " +
    "ElectroDB (~390 KiB as deployed), Powertools' X-Ray tracer (~285 KiB with aws-xray-sdk-core and semver: " +
    'parsed at every cold start, run only when tracing is on in Lambda), Powertools Logger/Metrics/Parameters ' +
    "(~130 KiB), valibot, middy and our own code, and in DispatchSendMessage and DispatchListMessages libphonenumber's " +
    'full metadata (247 KiB; SPEC §5 needs the full set; GET /messages/{id} and the delivery callback no longer ' +
    'load it since each dispatch route has its own module). Issue 20 took out what a first request does not need and ' +
    "did not change behaviour: ElectroDB's per-entity jsonschema walk (a stand-in, README Decisions). What remains " +
    'is fixed by the design card (ElectroDB, middy, valibot, Powertools); the "before" columns of section 3 show ' +
    'the change per function. The stack-only rows above show where it goes: for stats and dispatch the HTTP stack ' +
    'on its own starts about as fast as the twin, and the gap is ElectroDB; the visits stack-only variant already ' +
    'includes ElectroDB, for the account lookup of its authenticator. On Lambda the import is paid once per ' +
    'container; provisioned concurrency would hide it, and is not configured.',
];
