/** An ARI error response: the status code and the exact JSON body Asterisk sends. */
export class AriError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, string>,
  ) {
    super(body.message ?? body.error ?? `HTTP ${status}`);
  }
}

export const badRequest = (message: string) => new AriError(400, { message });
export const notFound = (message: string) => new AriError(404, { message });
export const conflict = (message: string) => new AriError(409, { message });
export const invalidState = (message = 'Channel in invalid state') => new AriError(412, { message });
export const unprocessable = (message: string) => new AriError(422, { message });
/** Originate/create to an unknown technology or endpoint: the key is `error`, not `message`. */
export const allocationFailed = () => new AriError(500, { error: 'Allocation failed' });
export const notInStasis = () => conflict('Channel not in Stasis application');
