import { callControlV1 } from '@switchboard/proto';

const { CollectEnd } = callControlV1;

export interface CollectSettings {
  maxDigits: number;
  terminator: string;
  firstDigitTimeoutMs: number;
  interDigitTimeoutMs: number;
  bargeIn: boolean;
}

export interface CollectResult {
  digits: string;
  endedBy: callControlV1.CollectEnd;
  promptsFailed: boolean;
}

/**
 * Collects the digits of one play-and-collect command. The first-digit timer starts when the
 * prompts have finished, also when they failed: the caller still gets the menu's no-input path,
 * never an endless wait. With barge-in a key press during the prompts counts and stops them.
 */
export class DigitCollector {
  readonly result: Promise<CollectResult>;
  private digits = '';
  private promptsPlaying: boolean;
  private timer: NodeJS.Timeout | undefined;
  private resolve!: (result: CollectResult) => void;
  private done = false;
  private promptsFailed = false;

  constructor(
    private readonly settings: CollectSettings,
    promptsPlaying: boolean,
    private readonly stopPrompts: () => void,
  ) {
    this.promptsPlaying = promptsPlaying;
    this.result = new Promise((resolve) => (this.resolve = resolve));
    if (!promptsPlaying) this.arm(settings.firstDigitTimeoutMs);
  }

  get finished(): boolean {
    return this.done;
  }

  promptsFinished(): void {
    if (!this.promptsPlaying || this.done) return;
    this.promptsPlaying = false;
    if (this.digits === '') this.arm(this.settings.firstDigitTimeoutMs);
  }

  /** Asterisk could not play a prompt: the result says so. */
  promptFailed(): void {
    this.promptsFailed = true;
  }

  digit(digit: string): void {
    if (this.done) return;
    if (this.promptsPlaying) {
      if (!this.settings.bargeIn) return;
      this.promptsPlaying = false;
      this.stopPrompts();
    }
    if (this.settings.terminator && digit === this.settings.terminator) {
      return this.finish(callControlV1.CollectEnd.COLLECT_END_TERMINATOR);
    }
    this.digits += digit;
    if (this.digits.length >= this.settings.maxDigits) return this.finish(CollectEnd.COLLECT_END_MAX_DIGITS);
    this.arm(this.settings.interDigitTimeoutMs);
  }

  hangup(): void {
    this.finish(CollectEnd.COLLECT_END_HANGUP);
  }

  private arm(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.finish(CollectEnd.COLLECT_END_TIMEOUT), ms);
  }

  private finish(endedBy: callControlV1.CollectEnd): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.timer);
    this.resolve({ digits: this.digits, endedBy, promptsFailed: this.promptsFailed });
  }
}
