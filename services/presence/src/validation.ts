import * as grpc from '@grpc/grpc-js';
import type { presenceV1 } from '@switchboard/proto';
import { GrpcStatusError } from '@switchboard/service-kit';
import { z } from 'zod';

const id = z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, 'must be 1–128 letters, digits, "-" or "_"');
const e164 = z.string().regex(/^\+[1-9]\d{4,14}$/, 'must be an E.164 number like +4946241234');

const upsertAgentSchema = z.object({
  tenantId: id,
  agentId: id,
  displayName: z.string().max(200),
  departments: z
    .array(
      z.object({
        departmentId: id,
        wrapUpSeconds: z.number().int().min(0).max(3_600),
        priority: z.number().int().min(0).max(100).optional(),
        tierDelaySeconds: z.number().int().min(0).max(3_600).optional(),
      }),
    )
    .refine((list) => new Set(list.map((m) => m.departmentId)).size === list.length, 'lists a department twice'),
  skills: z
    .array(z.object({ name: z.string().min(1).max(100), priority: z.number().int().min(1).max(100) }))
    .refine((list) => new Set(list.map((s) => s.name)).size === list.length, 'lists a skill twice'),
  devices: z.array(z.string().min(1).max(200)),
  homeOfficeNumber: z.union([z.literal(''), e164]),
});

/** Checks an agent profile; one INVALID_ARGUMENT naming every bad field. */
export function validateUpsert(request: presenceV1.UpsertAgentRequest): presenceV1.UpsertAgentRequest {
  const result = upsertAgentSchema.safeParse(request);
  if (result.success) return request;
  const problems = result.error.issues.map((issue) => `${issue.path.join('.') || 'request'}: ${issue.message}`);
  throw new GrpcStatusError(grpc.status.INVALID_ARGUMENT, problems.join('; '));
}

export function validateHomeOfficeNumber(number: string): void {
  if (number !== '' && !e164.safeParse(number).success) {
    throw new GrpcStatusError(grpc.status.INVALID_ARGUMENT, `home_office_number "${number}" is not an E.164 number`);
  }
}
