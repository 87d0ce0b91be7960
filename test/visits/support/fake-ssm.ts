import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A tiny SSM stand-in speaking the GetParameter JSON protocol, so the handlers' real SSM adapter
 * (Powertools → SSMClient) runs unchanged in tests that do not start the whole local stack.
 */
export interface FakeSsm {
  endpoint: string;
  parameters: Map<string, string>;
  /** When set, every call fails with a 500 (SSM unavailable). */
  failing: boolean;
  calls: number;
  stop(): Promise<void>;
}

export async function startFakeSsm(parameters: Record<string, string>): Promise<FakeSsm> {
  const state = { failing: false, calls: 0 };
  const store = new Map(Object.entries(parameters));
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => {
      raw += chunk.toString();
    });
    req.on('end', () => {
      state.calls++;
      const reply = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify(body));
      };
      if (state.failing) return reply(500, { __type: 'InternalServerError', message: 'down' });
      if (req.headers['x-amz-target'] !== 'AmazonSSM.GetParameter') {
        return reply(400, { __type: 'InvalidAction', message: String(req.headers['x-amz-target']) });
      }
      const { Name } = JSON.parse(raw || '{}') as { Name?: string };
      const value = Name ? store.get(Name) : undefined;
      if (value === undefined) return reply(400, { __type: 'ParameterNotFound', message: 'not found' });
      return reply(200, {
        Parameter: { Name, Type: 'SecureString', Value: value, Version: 1, DataType: 'text' },
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    parameters: store,
    get failing() {
      return state.failing;
    },
    set failing(value: boolean) {
      state.failing = value;
    },
    get calls() {
      return state.calls;
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
