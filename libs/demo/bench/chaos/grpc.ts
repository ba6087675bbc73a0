import * as grpc from '@grpc/grpc-js';

type Callback<T> = (error: grpc.ServiceError | null, response: T) => void;

const withToken = (token: string) => {
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  return metadata;
};

/** One unary call with a bearer token (the services' gRPC APIs), rejected with the gRPC error. */
export function unary<T>(token: string, invoke: (metadata: grpc.Metadata, done: Callback<T>) => unknown): Promise<T> {
  return new Promise((resolve, reject) =>
    invoke(withToken(token), (error, response) => (error ? reject(error) : resolve(response))),
  );
}

/** Every message of a server stream, with a bearer token. */
export function collect<T>(
  token: string,
  open: (metadata: grpc.Metadata) => grpc.ClientReadableStream<T>,
): Promise<T[]> {
  const items: T[] = [];
  return new Promise((resolve, reject) => {
    const stream = open(withToken(token));
    stream.on('data', (item: T) => items.push(item));
    stream.on('end', () => resolve(items));
    stream.on('error', reject);
  });
}

export const insecure = grpc.credentials.createInsecure();
