import { readFile } from 'node:fs/promises';
import { ivrServiceV1 } from '@switchboard/proto';
import { parse } from 'yaml';

// The builders and the Amt example are the evaluator's (shared with its own tests); the demo
// tenant's menus and the exhaustive step list are the service's.
export {
  amtMenus,
  department,
  extension,
  external,
  menu,
  repeat,
  submenu,
  voicemail,
} from '@switchboard/ivr-menus/testing';

const { OpenState, StepInput } = ivrServiceV1;

/** The demo tenant's menus (demo/amt-kropp-menus.yaml), as the stack saves them. */
export async function demoMenus(): Promise<ivrServiceV1.Menu[]> {
  const file = new URL('../demo/amt-kropp-menus.yaml', import.meta.url);
  const document = parse(await readFile(file, 'utf8')) as { menus: unknown[] };
  return document.menus.map((each) => ivrServiceV1.Menu.fromJSON(each));
}

/**
 * Steps through every menu of a set: entering it in each opening state, each of its options, a key
 * it lacks and no input at every retry count, and a menu that does not exist.
 */
export function everyStep(menus: readonly ivrServiceV1.Menu[]): Array<Partial<ivrServiceV1.EvaluateStepRequest>> {
  const openStates = [
    OpenState.OPEN_STATE_UNSPECIFIED,
    OpenState.OPEN_STATE_OPEN,
    OpenState.OPEN_STATE_CLOSED,
    OpenState.OPEN_STATE_HOLIDAY,
  ];
  return [
    ...menus.flatMap(({ menuId, options, maxRetries }) => {
      const retries = Array.from({ length: maxRetries + 1 }, (_, retryCount) => retryCount);
      return [
        ...openStates.map((openState) => ({ menuId, input: StepInput.STEP_INPUT_ENTER, openState })),
        ...options.map(({ digits }) => ({ menuId, input: StepInput.STEP_INPUT_DIGITS, digits })),
        ...retries.flatMap((retryCount) => [
          { menuId, input: StepInput.STEP_INPUT_DIGITS, digits: '*#*', retryCount },
          { menuId, input: StepInput.STEP_INPUT_TIMEOUT, retryCount },
        ]),
      ];
    }),
    { menuId: 'no-such-menu', input: StepInput.STEP_INPUT_ENTER },
  ];
}
