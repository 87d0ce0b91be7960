import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A Parameter Store stand-in speaking the SSM JSON 1.1 protocol for the calls the services make
 * (GetParameter/GetParameters, plus Put/Delete for tooling). Values are kept in memory; SecureStrings
 * are stored as given (there is nothing to decrypt locally).
 */
export interface RunningSsm {
  endpoint: string;
  parameters: Map<string, StoredParameter>;
  put(name: string, value: string, type?: StoredParameter['type']): void;
  delete(name: string): void;
  /** Fault injection: while true, every call is answered 500 (Parameter Store unavailable). */
  failing: boolean;
  /** How many calls were received (cache tests). */
  readonly calls: number;
  stop(): Promise<void>;
}

export interface StoredParameter {
  value: string;
  type: 'String' | 'SecureString' | 'StringList';
  version: number;
  lastModified: Date;
}

class SsmFault extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

export async function startLocalSsm(initial: Record<string, string> = {}): Promise<RunningSsm> {
  const parameters = new Map<string, StoredParameter>();
  const put = (name: string, value: string, type: StoredParameter['type'] = 'SecureString') => {
    const version = (parameters.get(name)?.version ?? 0) + 1;
    parameters.set(name, { value, type, version, lastModified: new Date() });
  };
  for (const [name, value] of Object.entries(initial)) put(name, value);

  const view = (name: string, stored: StoredParameter) => ({
    Name: name,
    Type: stored.type,
    Value: stored.value,
    Version: stored.version,
    LastModifiedDate: stored.lastModified.getTime() / 1000,
    ARN: `arn:aws:ssm:us-east-1:000000000000:parameter${name.startsWith('/') ? '' : '/'}${name}`,
    DataType: 'text',
  });

  const operations: Record<string, (input: Record<string, unknown>) => unknown> = {
    GetParameter: (input) => {
      const name = String(input.Name ?? '');
      const stored = parameters.get(name);
      if (!stored) throw new SsmFault('ParameterNotFound', `Parameter ${name} not found.`);
      return { Parameter: view(name, stored) };
    },
    GetParameters: (input) => {
      const names = Array.isArray(input.Names) ? input.Names.map(String) : [];
      const found = names.filter((n) => parameters.has(n));
      return {
        Parameters: found.map((n) => view(n, parameters.get(n) as StoredParameter)),
        InvalidParameters: names.filter((n) => !parameters.has(n)),
      };
    },
    PutParameter: (input) => {
      const name = String(input.Name ?? '');
      if (parameters.has(name) && input.Overwrite !== true)
        throw new SsmFault('ParameterAlreadyExists', `Parameter ${name} already exists.`);
      put(name, String(input.Value ?? ''), (input.Type as StoredParameter['type']) ?? 'String');
      return { Version: parameters.get(name)?.version, Tier: 'Standard' };
    },
    DeleteParameter: (input) => {
      const name = String(input.Name ?? '');
      if (!parameters.delete(name)) throw new SsmFault('ParameterNotFound', `Parameter ${name} not found.`);
      return {};
    },
  };

  const state = { failing: false, calls: 0 };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      state.calls++;
      if (state.failing) {
        res.writeHead(500, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify({ __type: 'InternalServerError', message: 'injected failure' }));
        return;
      }
      const target = String(req.headers['x-amz-target'] ?? '');
      const operation = operations[target.replace(/^AmazonSSM\./, '')];
      const reply = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify(body));
      };
      try {
        if (!operation) throw new SsmFault('InvalidAction', `Operation ${target} is not supported locally.`);
        const text = Buffer.concat(chunks).toString('utf8');
        reply(200, operation(text ? (JSON.parse(text) as Record<string, unknown>) : {}));
      } catch (error) {
        const fault = error instanceof SsmFault ? error : new SsmFault('InternalServerError', String(error));
        reply(400, { __type: fault.type, message: fault.message });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    parameters,
    put,
    get failing() {
      return state.failing;
    },
    set failing(value: boolean) {
      state.failing = value;
    },
    get calls() {
      return state.calls;
    },
    delete: (name) => {
      parameters.delete(name);
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
