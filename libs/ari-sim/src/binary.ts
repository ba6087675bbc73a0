/** A binary answer (a stored recording's file), sent as is with its content type. */
export class Binary {
  constructor(
    readonly contentType: string,
    readonly data: Buffer,
  ) {}
}
