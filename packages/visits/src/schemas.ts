import { isoDate, pageQuery, uuid } from '@svc/platform';
import * as v from 'valibot';
import { VISIT_STATUSES } from './rules.js';

const text = (what: string, max: number) =>
  v.pipe(
    v.string(`${what} must be a string`),
    v.trim(),
    v.nonEmpty(`${what} is required`),
    v.maxLength(max, `${what} must be at most ${max} characters`),
  );

// ---- requests -------------------------------------------------------------------------------------

export const RegistrationInput = v.object({
  email: v.pipe(
    v.string('email must be a string'),
    v.trim(),
    v.nonEmpty('email is required'),
    v.maxLength(254, 'email must be at most 254 characters'),
    v.email('email must be a valid email address'),
  ),
  password: v.pipe(
    v.string('password must be a string'),
    v.minLength(8, 'password must be at least 8 characters'),
    v.maxLength(1024, 'password must be at most 1024 characters'),
  ),
  first_name: text('first_name', 100),
  last_name: text('last_name', 100),
});
export type RegistrationInput = v.InferOutput<typeof RegistrationInput>;

/** The same length limits as registration: no longer value can belong to an account (and keys are bounded). */
export const SessionInput = v.object({
  email: v.pipe(
    v.string('email must be a string'),
    v.trim(),
    v.nonEmpty('email is required'),
    v.maxLength(254, 'email must be at most 254 characters'),
  ),
  password: v.pipe(
    v.string('password must be a string'),
    v.nonEmpty('password is required'),
    v.maxLength(1024, 'password must be at most 1024 characters'),
  ),
});
export type SessionInput = v.InferOutput<typeof SessionInput>;

export const TaskInput = v.object({
  name: text('name', 200),
  description: v.optional(
    v.pipe(
      v.string('description must be a string'),
      v.maxLength(2000, 'description must be at most 2000 characters'),
    ),
  ),
});

export const VisitInput = v.object({
  date: isoDate,
  minutes: v.pipe(
    v.number('must be a number'),
    v.integer('must be an integer'),
    v.minValue(1, 'must be greater than 0'),
    v.maxValue(1_000_000, 'must be at most 1000000'),
  ),
  tasks: v.pipe(
    v.array(TaskInput, 'must be a list of tasks'),
    v.minLength(1, 'must have at least one task'),
    v.maxLength(50, 'must have at most 50 tasks'),
  ),
});
export type VisitInput = v.InferOutput<typeof VisitInput>;

export const VisitPath = v.object({ id: uuid('id') });

export const VisitListQuery = v.object({
  status: v.optional(v.picklist(VISIT_STATUSES, `status must be one of ${VISIT_STATUSES.join(', ')}`)),
  member_id: v.optional(uuid('member_id')),
  ...pageQuery,
});
export type VisitListQuery = v.InferOutput<typeof VisitListQuery>;

export const PageQuery = v.object({ ...pageQuery });

// ---- responses ------------------------------------------------------------------------------------

export const Token = v.object({ access_token: v.string(), expires_at: v.string() });
export type Token = v.InferOutput<typeof Token>;

export const User = v.object({
  id: v.string(),
  email: v.string(),
  first_name: v.string(),
  last_name: v.string(),
  minutes: v.number(),
  reserved_minutes: v.number(),
  available_minutes: v.number(),
});
export type User = v.InferOutput<typeof User>;

export const Task = v.object({ id: v.string(), name: v.string(), description: v.nullable(v.string()) });

export const Visit = v.object({
  id: v.string(),
  member_id: v.string(),
  date: v.string(),
  minutes: v.number(),
  status: v.picklist(VISIT_STATUSES),
  tasks: v.array(Task),
  created_at: v.string(),
  pal_id: v.optional(v.string()),
  completed_at: v.optional(v.string()),
  canceled_at: v.optional(v.string()),
});
export type Visit = v.InferOutput<typeof Visit>;

export const Transaction = v.object({
  id: v.string(),
  visit_id: v.string(),
  member_id: v.string(),
  pal_id: v.string(),
  minutes: v.number(),
  pal_credit: v.number(),
  fee: v.number(),
  created_at: v.string(),
});
export type Transaction = v.InferOutput<typeof Transaction>;

const Balance = v.object({ id: v.string(), minutes: v.number() });

export const Completion = v.object({
  transaction: Transaction,
  visit: Visit,
  member: Balance,
  pal: Balance,
});
export type Completion = v.InferOutput<typeof Completion>;

/** Every success body is wrapped in `{"data": ...}`; lists add `next_cursor`. */
export const data = <S extends v.GenericSchema>(schema: S) => v.object({ data: schema });
export const page = <S extends v.GenericSchema>(schema: S) =>
  v.object({ data: v.array(schema), next_cursor: v.nullable(v.string()) });
