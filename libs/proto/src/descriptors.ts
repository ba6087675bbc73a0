import { fileURLToPath } from 'node:url';
import { loadSync, type PackageDefinition } from '@grpc/proto-loader';

/**
 * The repository's `proto/` folder: the single source of the .proto files. Images copy it and
 * point `SWITCHBOARD_PROTO_ROOT` at the copy.
 */
export const PROTO_ROOT =
  process.env['SWITCHBOARD_PROTO_ROOT'] ?? fileURLToPath(new URL('../../../proto/', import.meta.url));

/**
 * Loads .proto files (paths relative to PROTO_ROOT) as a grpc-js package definition.
 * ts-proto's generated services carry no descriptors, so gRPC server reflection reads these.
 */
export function loadProtoPackageDefinition(files: readonly string[]): PackageDefinition {
  return loadSync([...files], {
    includeDirs: [PROTO_ROOT],
    keepCase: false,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
}
