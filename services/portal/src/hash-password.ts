#!/usr/bin/env node
import { hashPassword } from './auth/passwords.js';

/**
 * Prints the scrypt hash of the password read from standard input (one line; a trailing newline is
 * not part of it) for an account in PORTAL_ACCOUNTS_FILE: `node services/portal/dist/hash-password.js`.
 * Reading stdin keeps the password out of the process list and the shell history.
 */
const chunks: Buffer[] = [];
for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
const password = Buffer.concat(chunks)
  .toString('utf8')
  .replace(/\r?\n$/, '');
if (!password) {
  process.stderr.write('hash-password: give the password on standard input\n');
  process.exit(2);
}
process.stdout.write(`${await hashPassword(password)}\n`);
