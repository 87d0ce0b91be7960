// Twin of VisitsRecordTransaction (functions/visits/record-transaction.ts), the alias route of
// VisitsCompleteVisit: the same completion (completeVisit in visits-b-shared.ts), the same answer. The
// real route is `idempotent`; the benchmark sends no Idempotency-Key, so neither does any idempotency I/O.
import type { Event } from './shared.js';
import { completeVisit } from './visits-b-shared.js';
import type { Context } from './visits-shared.js';

export const handler = (event: Event, _context?: Context) => completeVisit(event);
