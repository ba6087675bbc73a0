import { readFile } from 'node:fs/promises';
import { compileMenuSet, evaluateStep } from '@switchboard/ivr-menus';
import { ivrServiceV1 } from '@switchboard/proto';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { demoMenus } from '../test/menus.js';
import { validateMenuSet } from './menu-validation.js';

const { ActionKind, OpenState, StepInput, StepReason, TargetKind } = ivrServiceV1;
const TENANT_FILE = new URL('../../directory/demo/amt-kropp.yaml', import.meta.url);

async function demoDepartments(): Promise<string[]> {
  const tenant = parse(await readFile(TENANT_FILE, 'utf8')) as { departments: { departmentId: string }[] };
  return tenant.departments.map((department) => department.departmentId);
}

function step(
  menus: ivrServiceV1.Menu[],
  request: Partial<ivrServiceV1.EvaluateStepRequest>,
): ivrServiceV1.EvaluateStepResponse {
  return evaluateStep(
    compileMenuSet(1, menus),
    ivrServiceV1.EvaluateStepRequest.fromPartial({ tenantId: 't-kropp', callId: 'c1', ...request }),
  );
}

describe('the demo tenant menus', () => {
  it('pass the IVR validation', async () => {
    validateMenuSet(await demoMenus());
  });

  it('reach every department of the demo tenant, and only departments it has', async () => {
    const menus = await demoMenus();
    const departments = await demoDepartments();
    const targets = menus.flatMap((menu) => [
      ...menu.options.map((option) => option.target!),
      menu.fallback!,
      ...(menu.hours?.closed ? [menu.hours.closed] : []),
    ]);
    const reached = targets.filter((target) => target.kind === TargetKind.TARGET_KIND_DEPARTMENT).map((t) => t.ref);
    expect(new Set(reached)).toEqual(new Set(departments));
    const mailboxes = targets.filter((target) => target.kind === TargetKind.TARGET_KIND_VOICEMAIL).map((t) => t.ref);
    for (const mailbox of mailboxes) expect(departments).toContain(mailbox);
  });

  it('lead a caller pressing 2 then 2 to the civil registry, and closed hours to the after-hours menu', async () => {
    const menus = await demoMenus();
    const entered = step(menus, { menuId: 'main-menu', input: StepInput.STEP_INPUT_ENTER });
    expect(entered.action).toBe(ActionKind.ACTION_KIND_PLAY_AND_COLLECT);
    const submenu = step(menus, { menuId: 'main-menu', input: StepInput.STEP_INPUT_DIGITS, digits: '2' });
    expect(submenu.menuId).toBe('standesamt-menu');
    const chosen = step(menus, { menuId: submenu.menuId, input: StepInput.STEP_INPUT_DIGITS, digits: '2' });
    expect(chosen.target).toEqual({ kind: TargetKind.TARGET_KIND_DEPARTMENT, ref: 'standesamt' });
    const closed = step(menus, {
      menuId: 'main-menu',
      input: StepInput.STEP_INPUT_ENTER,
      openState: OpenState.OPEN_STATE_CLOSED,
    });
    expect([closed.menuId, closed.reason]).toEqual(['after-hours', StepReason.STEP_REASON_CLOSED]);
    const holiday = step(menus, {
      menuId: 'main-menu',
      input: StepInput.STEP_INPUT_ENTER,
      openState: OpenState.OPEN_STATE_HOLIDAY,
    });
    expect(holiday.target).toEqual({ kind: TargetKind.TARGET_KIND_VOICEMAIL, ref: 'zentrale' });
  });
});
