// Twin of VisitsCompleteVisit (functions/visits/complete-visit.ts): see completeVisit in visits-b-shared.ts.
import type { Event } from './shared.js';
import { completeVisit } from './visits-b-shared.js';
import type { Context } from './visits-shared.js';

export const handler = (event: Event, _context?: Context) => completeVisit(event);
