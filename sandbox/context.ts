/** What an action handler is given: the emulated world and the call, RPC (ENS, VPC, ECS) or ROA (ACK). */
import type { World } from './world.js';

export interface RpcContext {
  world: World;
  requestId: string;
  params: Record<string, string>;
}

export interface RoaContext {
  world: World;
  requestId: string;
  method: string;
  /** Decoded path segments after the leading slash. */
  segments: string[];
  query: Record<string, string>;
  body: unknown;
}
