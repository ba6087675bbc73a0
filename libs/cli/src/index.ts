export { createProgram } from './program.js';
export { bearerToken, type CredentialOptions } from './credentials.js';
